//! Reading the text table back: what nccl-tests 2.19.x prints on stdout (`all_reduce_perf … | tee
//! out.txt`), and collbench's own text output, which is the same format after its first line. This
//! lets `compare` and `plot` take months of nccl-tests logs as baselines or runs.
//!
//! A file may hold several runs (`tee -a`, a job script running several `*_perf`), each starting
//! at its banner or `# Collective test starting:` line. Inside a run, every row of the table is
//! kept in order: `-d all`, `-o all`, `-r -1` give rows with other types, operators and roots, and
//! `-N` repeats the same keys, which become cycles 0, 1, … (as in a `-J` report).
//!
//! Lines that are no part of the table (NCCL INFO/WARN lines, srun and mpirun messages, blank
//! lines) are skipped and counted. A line that starts like a result row (size, count, type) but
//! does not parse is an error, unless nothing but noise follows it in its run: then it is the row
//! a killed run was writing, and it is dropped. A run without its footer (`# Out of bounds values`)
//! is kept with `complete: false` and the reason in `summary.interrupted`: its finished rows are
//! compared (a missing row of a truncated new run counts as MISSING, as for a killed `--jsonl`).
//!
//! What the text does not carry stays empty: no start time, no command line, no environment, no
//! rank spread (every rank's time is the printed time, so the run's own noise is 0 unless it ran
//! with `-I`, whose i_cv% is used, or `-N`). Times printed as 0.00 (below the table's resolution)

mod header;
mod reader;
mod rows;
mod run_end;

use super::imported::shortened;
use crate::error::{CollbenchError, Result};
use crate::report::Report;
use reader::Reader;

/// Lines that only the text table has; one of them must be present for a file to be read as one.
const MARKERS: [&str; 4] = [
    "# Collective test starting:",
    "# nccl-tests version",
    "# collbench version",
    "# nThread ",
];

const ACCEPTED: &str = "accepted: a -J JSON report, a --jsonl file, or the text output (stdout) \
     of nccl-tests 2.19.x or collbench, e.g. `all_reduce_perf -b 8 -e 1G -f 2 | tee out.txt`, or \
     nccl-tests' own -J JSON file";

/// Runs read from a text file, and what the reader had to leave out or assume.
#[derive(Clone, Debug, Default)]
pub struct TextRuns {
    pub runs: Vec<Report>,
    /// One line each, for the user (compare prints them as `# note:` lines).
    pub notes: Vec<String>,
}

/// Whether `text` holds a line only the nccl-tests/collbench text table has.
pub fn looks_like_text_table(text: &str) -> bool {
    text.lines().any(|l| MARKERS.iter().any(|m| l.contains(m)))
}

/// Reads every run in `text`; `origin` names the file in errors and notes.
pub fn parse_text_runs(text: &str, origin: &str) -> Result<TextRuns> {
    let usage = |what: String| CollbenchError::Usage(format!("{origin}: {what}; {ACCEPTED}"));
    if !looks_like_text_table(text) {
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .map(|l| shorten(l.trim()))
            .unwrap_or_default();
        return Err(usage(format!(
            "is neither collbench JSON nor an nccl-tests/collbench text table (no '# Collective \
             test starting: NAME_perf' or '# nThread …' line; first line: '{first}')"
        )));
    }
    let prefix = launcher_prefix(text);
    let mut reader = Reader {
        origin,
        prefix,
        runs: Vec::new(),
        current: None,
        pending_banner: None,
        noise_lines: 0,
        first_noise: None,
        notes: Vec::new(),
    };
    for (index, raw) in text.lines().enumerate() {
        reader.line(index + 1, raw.trim_end_matches('\r'))?;
    }
    reader.end_run(None)?;
    let Reader {
        runs,
        mut notes,
        noise_lines,
        first_noise,
        ..
    } = reader;
    if noise_lines > 0 {
        if let Some((line, text)) = first_noise {
            notes.push(format!(
                "{origin}: skipped {noise_lines} line{} outside the table (launcher or NCCL \
                 messages; the first, line {line}: '{text}')",
                if noise_lines == 1 { "" } else { "s" }
            ));
        }
    }
    if runs.is_empty() {
        return Err(usage(
            "holds no result row (the run ended, or was killed, before its first row)".into(),
        ));
    }
    Ok(TextRuns { runs, notes })
}

/// A usage error naming the file and line.
fn at_line(origin: &str, line: usize, what: String) -> CollbenchError {
    CollbenchError::Usage(format!("{origin}:{line}: {what}; {ACCEPTED}"))
}

/// The text before `#` on the first header line, when rank 0's lines carry a launcher's label
/// (`srun -l`: `0: `, mpirun `--tag-output`: `[1,0]<stdout>:`).
fn launcher_prefix(text: &str) -> Option<String> {
    let line = text
        .lines()
        .find(|l| MARKERS.iter().any(|m| l.contains(m)))?;
    let at = line.find('#')?;
    let prefix = &line[..at];
    (!prefix.trim().is_empty()).then(|| prefix.to_string())
}

/// A line quoted in a message: at most 80 characters.
fn shorten(text: &str) -> String {
    shortened(text, 80)
}
