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
//! cannot be compared and are left out with a note.

use super::imported::{
    attribute_to_first_rank, fill_sweep_config, is_collective_name, is_operator_name, mean_busbw,
    nccl_backend, nccl_tests_tool, printed_measurement, shortened, wrong_cells, CycleCounter,
};
use crate::error::{CollbenchError, Result};
use crate::report::meta::hosts_in_rank_order;
use crate::report::{
    BackendInfo, IterStats, Measurement, RankPlacement, Report, ResultRow, RunConfig, Summary,
    ToolInfo, SCHEMA_VERSION,
};
use crate::types::DataType;
use std::collections::BTreeMap;

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

/// Where the text came from: the first line of a run says it.
#[derive(Clone, Debug, Default)]
struct Banner {
    tool: Option<ToolInfo>,
    backend: Option<BackendInfo>,
}

/// One run being read.
#[derive(Debug)]
struct RunText {
    /// 1-based line where the run began, for messages.
    line: usize,
    banner: Banner,
    collective: Option<String>,
    config: RunConfig,
    ranks: Vec<RankPlacement>,
    saw_column_headers: bool,
    rows: Vec<ResultRow>,
    /// Times each (size, type, op, root) was seen: its `-N` cycle.
    cycles: CycleCounter,
    out_of_bounds: Option<u64>,
    avg_busbw: Option<f64>,
    min_bw_failed: bool,
    interrupted: Option<String>,
    /// A row-like line that did not parse: an error if another row or the footer follows.
    torn: Option<(usize, String)>,
    zero_time_cells: usize,
    /// The last line outside the table after the first row (an error message of a failed run).
    last_noise: Option<String>,
}

impl RunText {
    fn new(line: usize, banner: Banner) -> Self {
        RunText {
            line,
            banner,
            collective: None,
            config: RunConfig::default(),
            ranks: Vec::new(),
            saw_column_headers: false,
            rows: Vec::new(),
            cycles: CycleCounter::default(),
            out_of_bounds: None,
            avg_busbw: None,
            min_bw_failed: false,
            interrupted: None,
            torn: None,
            zero_time_cells: 0,
            last_noise: None,
        }
    }
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

struct Reader<'a> {
    origin: &'a str,
    /// `srun -l`'s `0: ` or mpirun `--tag-output`'s `[1,0]<stdout>:` before rank 0's lines.
    prefix: Option<String>,
    runs: Vec<Report>,
    current: Option<RunText>,
    /// A banner line not yet followed by its `# Collective test starting:` line.
    pending_banner: Option<(usize, Banner)>,
    noise_lines: usize,
    first_noise: Option<(usize, String)>,
    notes: Vec<String>,
}

impl Reader<'_> {
    fn error(&self, line: usize, what: String) -> CollbenchError {
        at_line(self.origin, line, what)
    }

    fn noise(&mut self, line: usize, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        self.noise_lines += 1;
        if self.first_noise.is_none() {
            self.first_noise = Some((line, shorten(text.trim())));
        }
        if let Some(run) = self.current.as_mut().filter(|r| !r.rows.is_empty()) {
            run.last_noise = Some(shorten(text.trim()));
        }
    }

    fn line(&mut self, number: usize, raw: &str) -> Result<()> {
        let line = match &self.prefix {
            Some(prefix) => match raw.strip_prefix(prefix.as_str()) {
                Some(rest) => rest,
                None => {
                    self.noise(number, raw);
                    return Ok(());
                }
            },
            None => raw,
        };
        let trimmed = line.trim_start();
        if !trimmed.starts_with('#') {
            return self.data_line(number, line);
        }
        if let Some(banner) = parse_banner(trimmed) {
            self.end_run(Some(number))?;
            self.pending_banner = Some((number, banner));
            return Ok(());
        }
        if let Some(program) = trimmed.strip_prefix("# Collective test starting:") {
            self.end_run(Some(number))?;
            let (start, banner) = self
                .pending_banner
                .take()
                .unwrap_or((number, Banner::default()));
            let mut run = RunText::new(start, banner);
            let program = program.trim();
            let name = program.strip_suffix("_perf").unwrap_or(program);
            if !is_collective_name(name) {
                return Err(self.error(
                    number,
                    format!(
                        "'{}' is not an nccl-tests program name (like all_reduce_perf)",
                        shorten(program)
                    ),
                ));
            }
            run.collective = Some(name.to_string());
            self.current = Some(run);
            return Ok(());
        }
        if trimmed.starts_with("# nThread ") {
            if self.current.as_ref().is_some_and(|r| !r.rows.is_empty()) {
                // A new run whose banner lines were lost: close the one before.
                self.end_run(Some(number))?;
            }
            let config = parse_config(trimmed).map_err(|what| self.error(number, what))?;
            let run = self.current.get_or_insert_with(|| {
                let (start, banner) = self
                    .pending_banner
                    .take()
                    .unwrap_or((number, Banner::default()));
                RunText::new(start, banner)
            });
            run.config = config;
            return Ok(());
        }
        let origin = self.origin;
        let Some(run) = self.current.as_mut() else {
            // Comment lines outside any run (a job script's own `#` lines).
            return Ok(());
        };
        if trimmed.starts_with("#  Rank ") || trimmed.starts_with("# Rank ") {
            let placement =
                parse_rank_line(trimmed).map_err(|what| at_line(origin, number, what))?;
            run.ranks.push(placement);
        } else if trimmed.starts_with("# Per-Iteration Report") {
            run.config.per_iteration_timing = true;
        } else if let Some(rest) = trimmed.strip_prefix("# Blocking Enabled:") {
            run.config.blocking = true;
            run.config.blocking_mode = if rest.contains("no barrier") {
                2
            } else if rest.contains("outer") {
                3
            } else {
                1
            };
        } else if trimmed.starts_with("# Parallel Init Enabled") {
            run.config.parallel_init = true;
        } else if is_column_header(trimmed) {
            run.saw_column_headers = true;
            let words: Vec<&str> = trimmed.split_whitespace().collect();
            run.config.report_cputime |= words.contains(&"cputime");
            run.config.report_timestamps |= words.contains(&"timestamp");
            run.config.per_iteration_timing |= words.contains(&"i_min");
        } else if let Some(rest) = trimmed.strip_prefix("# Out of bounds values") {
            let value = rest.trim_start().trim_start_matches(':').trim();
            let count = value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| {
                    at_line(
                        origin,
                        number,
                        format!(
                            "'Out of bounds values' is '{}', not a count",
                            shorten(value)
                        ),
                    )
                })?;
            if let Some((torn_line, why)) = run.torn.take() {
                return Err(at_line(origin, torn_line, why));
            }
            run.out_of_bounds = Some(count);
        } else if let Some(rest) = trimmed.strip_prefix("# Avg bus bandwidth") {
            let value = rest.trim_start().trim_start_matches(':').trim();
            let mut words = value.split_whitespace();
            let avg = words
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    at_line(
                        origin,
                        number,
                        format!(
                            "'Avg bus bandwidth' is '{}', not a number >= 0",
                            shorten(value)
                        ),
                    )
                })?;
            run.avg_busbw = Some(avg);
            run.min_bw_failed = words.next() == Some("FAILED");
        } else if let Some(why) = trimmed.strip_prefix("# Run interrupted:") {
            run.interrupted = Some(why.trim().to_string());
        } else if trimmed.starts_with("# Collective test concluded:") {
            self.end_run(None)?;
        }
        Ok(())
    }

    /// A line that is not a comment: a result row, a torn row, or noise.
    fn data_line(&mut self, number: usize, line: &str) -> Result<()> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let starts_like_row = words.len() >= 3
            && words[0].parse::<u64>().is_ok()
            && words[1].parse::<u64>().is_ok()
            && DataType::parse(words[2]).is_some();
        if !starts_like_row {
            self.noise(number, line);
            return Ok(());
        }
        let Some(run) = self.current.as_mut() else {
            return Err(self.error(
                number,
                "a result row before any nccl-tests header ('# Collective test starting: \
                 NAME_perf', '# nThread …', rank and column lines)"
                    .into(),
            ));
        };
        if !run.saw_column_headers {
            return Err(self.error(
                number,
                "a result row before the table's column headers ('#  size  count  type …')".into(),
            ));
        }
        if let Some((torn_line, why)) = run.torn.take() {
            return Err(self.error(torn_line, why));
        }
        let collective = run.collective.clone().unwrap_or_default();
        match parse_row(line, &words, &collective, &run.config) {
            Ok((mut row, zero_cells)) => {
                run.zero_time_cells += zero_cells;
                if row.out_of_place.is_none() && row.in_place.is_none() {
                    return Ok(());
                }
                run.cycles.number(&mut row);
                run.rows.push(row);
            }
            Err(why) => run.torn = Some((number, why)),
        }
        Ok(())
    }

    /// Closes the current run. `next_line` is where the next one begins, when one does.
    fn end_run(&mut self, next_line: Option<usize>) -> Result<()> {
        let Some(mut run) = self.current.take() else {
            return Ok(());
        };
        let origin = self.origin;
        // collbench prints its footer after a stop too, with `# Run interrupted:` above it.
        let complete = run.out_of_bounds.is_some() && run.interrupted.is_none();
        let mut why_incomplete = Vec::new();
        if let Some((torn_line, _)) = run.torn.take() {
            why_incomplete.push(format!("its last row (line {torn_line}) was cut off"));
        }
        if run.out_of_bounds.is_none() {
            why_incomplete.insert(
                0,
                format!(
                    "the table ends after {} row{} without its footer ('# Out of bounds values'){}",
                    run.rows.len(),
                    if run.rows.len() == 1 { "" } else { "s" },
                    match next_line {
                        Some(line) => format!(", where another run starts (line {line})"),
                        None => match &run.last_noise {
                            Some(last) =>
                                format!(": the run was killed or failed (last line: '{last}')"),
                            None => ": the run was killed or failed".into(),
                        },
                    }
                ),
            );
        }
        let collective = match run.collective.take() {
            Some(c) => c,
            None => {
                return Err(self.error(
                    run.line,
                    "this table has no '# Collective test starting: NAME_perf' line, so which \
                     collective it measured is unknown"
                        .into(),
                ))
            }
        };
        if run.rows.is_empty() {
            self.notes.push(format!(
                "{origin}: the {collective} run at line {} has no result row and is left out",
                run.line
            ));
            return Ok(());
        }
        if run.ranks.is_empty() {
            return Err(self.error(
                run.line,
                format!(
                    "the {collective} run has no '#  Rank N Group …' lines, so its rank count \
                     (which bus bandwidth depends on) is unknown"
                ),
            ));
        }
        if run.zero_time_cells > 0 {
            self.notes.push(format!(
                "{origin}: {} measurement{} of the {collective} run printed a time of 0 µs (below \
                 the table's 0.01 µs resolution) and {} left out",
                run.zero_time_cells,
                if run.zero_time_cells == 1 { "" } else { "s" },
                if run.zero_time_cells == 1 {
                    "is"
                } else {
                    "are"
                }
            ));
        }
        let interrupted = match (run.interrupted.take(), why_incomplete.is_empty()) {
            (Some(said), true) => Some(said),
            (Some(said), false) => Some(format!("{said}; {}", why_incomplete.join("; "))),
            (None, true) => None,
            (None, false) => Some(why_incomplete.join("; ")),
        };
        let report = build_report(run, collective, complete, interrupted);
        super::load::validate(&report, origin)?;
        self.runs.push(report);
        Ok(())
    }
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

/// `# nccl-tests version 2.19.6 nccl-headers=22809 nccl-library=22809` or collbench's
/// `# collbench version 0.1.0 (nccl-tests 2.19.6 compatible) LIBRARY [(PATH)][, network: NAME]`.
fn parse_banner(line: &str) -> Option<Banner> {
    if let Some(rest) = line.strip_prefix("# nccl-tests version") {
        let mut words = rest.split_whitespace();
        let version = words.next().unwrap_or("unknown").to_string();
        let code = words
            .find_map(|w| w.strip_prefix("nccl-library="))
            .and_then(|c| c.parse::<i64>().ok());
        return Some(Banner {
            tool: Some(nccl_tests_tool(version)),
            backend: Some(nccl_backend(code)),
        });
    }
    let rest = line.strip_prefix("# collbench version")?;
    let rest = rest.trim_start();
    let (version, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let library_part = rest
        .split_once("compatible)")
        .map_or(rest, |(_, after)| after)
        .trim();
    let (library_part, network) = match library_part.rsplit_once(", network: ") {
        Some((lib, net)) => (lib, Some(net.trim().to_string())),
        None => (library_part, None),
    };
    let (library, library_path) = match library_part.rsplit_once(" (/") {
        Some((lib, path)) if path.ends_with(')') => (
            lib.to_string(),
            Some(format!("/{}", path.trim_end_matches(')'))),
        ),
        _ => (library_part.to_string(), None),
    };
    let is_nccl = library.starts_with("NCCL");
    Some(Banner {
        tool: Some(ToolInfo {
            name: "collbench".into(),
            version: version.to_string(),
        }),
        backend: Some(BackendInfo {
            name: if is_nccl { "nccl" } else { "mpi" }.into(),
            library,
            library_path,
            version_code: None,
            network,
            network_by_process: Vec::new(),
        }),
    })
}

/// `# nThread 1 nGpus 1 minBytes 8 maxBytes 4294967296 step: 2(factor) warmup iters: 5 iters: 50
/// agg iters: 1 validation: 1 graph: 0 unalign: 0` (older releases lack the last fields).
fn parse_config(line: &str) -> std::result::Result<RunConfig, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    // The word after `key`; `iters:` comes three times (`warmup iters:`, `iters:`, `agg iters:`),
    // told apart by the word before it.
    let after = |key: &str, qualifier: Option<&str>| -> Option<&str> {
        words.windows(2).enumerate().find_map(|(i, pair)| {
            if pair[0] != key {
                return None;
            }
            let previous = i.checked_sub(1).map(|j| words[j]);
            let wanted = match qualifier {
                Some(q) => previous == Some(q),
                None => !matches!(previous, Some("warmup") | Some("agg")),
            };
            wanted.then_some(pair[1])
        })
    };
    let number = |key: &str, qualifier: Option<&str>| -> std::result::Result<u64, String> {
        match after(key, qualifier) {
            None => Ok(0),
            Some(v) => v.parse::<u64>().map_err(|_| {
                format!(
                    "the '# nThread' line has '{}' for '{}{key}', not a whole number",
                    shorten(v),
                    qualifier.map(|q| format!("{q} ")).unwrap_or_default()
                )
            }),
        }
    };
    let mut config = RunConfig {
        nthreads: number("nThread", None)? as usize,
        ngpus: number("nGpus", None)? as usize,
        min_bytes: number("minBytes", None)?,
        max_bytes: number("maxBytes", None)?,
        warmup_iters: number("iters:", Some("warmup"))? as usize,
        iters: number("iters:", None)? as usize,
        agg_iters: number("iters:", Some("agg"))? as usize,
        check_iters: number("validation:", None)? as usize,
        graph_launches: number("graph:", None)? as usize,
        unalign: number("unalign:", None)? as usize,
        run_cycles: 1,
        ..RunConfig::default()
    };
    if let Some(step) = after("step:", None) {
        let (value, kind) = step
            .trim_end_matches(')')
            .split_once('(')
            .unwrap_or((step, ""));
        config.step_value = value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                format!(
                    "the '# nThread' line has step '{}', expected like 2(factor) or 1048576(bytes)",
                    shorten(step)
                )
            })?;
        config.step_kind = kind.to_string();
    }
    Ok(config)
}

/// `#  Rank %2d Group %2d Pid %6d on %10s device %2d [%s] %s`.
fn parse_rank_line(line: &str) -> std::result::Result<RankPlacement, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let bad = |what: &str| {
        format!(
            "rank line '{}': {what}; expected '#  Rank N Group G Pid P on HOST device D [BUSID] NAME'",
            shorten(line)
        )
    };
    let value = |key: &str| -> Option<&str> {
        words
            .iter()
            .position(|w| *w == key)
            .and_then(|i| words.get(i + 1).copied())
    };
    let rank = value("Rank")
        .and_then(|v| v.parse::<usize>().ok())
        .ok_or_else(|| bad("no rank number"))?;
    // A damaged line is still a rank; the rest is description only.
    let group = value("Group")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let pid = value("Pid")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    let host = value("on").unwrap_or("").to_string();
    let device = value("device").and_then(|v| v.parse::<i32>().ok());
    let bus = words
        .iter()
        .position(|w| w.starts_with('[') && w.ends_with(']'))
        .map(|i| (i, words[i].trim_matches(['[', ']']).to_string()));
    let device_name = bus
        .as_ref()
        .map(|(i, _)| words[i + 1..].join(" "))
        .unwrap_or_default();
    Ok(RankPlacement {
        rank,
        group,
        host,
        pid,
        device: device.filter(|d| *d >= 0),
        bus_id: bus.map(|(_, b)| b).filter(|b| b != "host"),
        device_name,
    })
}

/// The column-header line of the table: `#  size  count  type  redop  root  time  algbw …`.
fn is_column_header(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    words.get(1) == Some(&"size") && words.contains(&"count") && words.contains(&"type")
}

/// One result row. Returns the row (cells printed with a 0 µs time left out) and how many cells
/// were left out; `Err` says why the line is not a row.
fn parse_row(
    line: &str,
    words: &[&str],
    collective: &str,
    config: &RunConfig,
) -> std::result::Result<(ResultRow, usize), String> {
    let expected = if config.per_iteration_timing { 8 } else { 4 };
    let bad = |what: String| {
        format!(
            "'{}' looks like a result row but {what}; expected size count type [redop] root, then \
             {expected} values (time algbw busbw #wrong{}) for out-of-place and for in-place",
            shorten(line.trim()),
            if config.per_iteration_timing {
                " i_min i_max i_p99 i_cv%"
            } else {
                ""
            }
        )
    };
    let size_bytes: u64 = words[0].parse().map_err(|_| bad("no size".into()))?;
    let count: u64 = words[1].parse().map_err(|_| bad("no count".into()))?;
    let dtype = DataType::parse(words[2]).ok_or_else(|| bad("no type".into()))?;
    // The operator column is blank for collectives without one (hypercube).
    let (redop, root, rest_at) = match words.get(3).map(|w| w.parse::<i64>()) {
        Some(Ok(root)) => (String::new(), root, 4),
        Some(Err(_)) => {
            let root = words
                .get(4)
                .and_then(|w| w.parse::<i64>().ok())
                .ok_or_else(|| bad("has no root after the operator".into()))?;
            (words[3].to_string(), root, 5)
        }
        None => return Err(bad("ends after the type".into())),
    };
    if !is_operator_name(&redop) {
        return Err(bad(format!("has operator '{}'", shorten(&redop))));
    }
    let mut values: Vec<&str> = words[rest_at..].to_vec();
    // `-S`: the local time (`%Y-%m-%d %H:%M:%S`) ends the row.
    while values
        .last()
        .is_some_and(|w| w.contains(':') || (w.contains('-') && w.parse::<f64>().is_err()))
        && values.len() % expected != 0
    {
        values.pop();
    }
    let (out_of_place, in_place) = if values.len() == 2 * expected {
        (Some(&values[..expected]), Some(&values[expected..]))
    } else if values.len() == expected {
        // One cell printed blank (not run): which one, from where the numbers start (an
        // out-of-place cell starts within 9 columns of the root, a blank one is 32 wide).
        let starts = word_starts(line);
        let root_end = starts[rest_at - 1] + words[rest_at - 1].len();
        if starts[rest_at] - root_end > 24 {
            (None, Some(&values[..]))
        } else {
            (Some(&values[..]), None)
        }
    } else {
        return Err(bad(format!(
            "has {} values after the root column",
            values.len()
        )));
    };
    let mut zero_cells = 0;
    let mut cell = |values: Option<&[&str]>| -> std::result::Result<Option<Measurement>, String> {
        let Some(values) = values else {
            return Ok(None);
        };
        match parse_cell(values, config) {
            Ok(Some(m)) => Ok(Some(m)),
            Ok(None) => {
                zero_cells += 1;
                Ok(None)
            }
            Err(what) => Err(bad(what)),
        }
    };
    let out_of_place = cell(out_of_place)?;
    let in_place = cell(in_place)?;
    Ok((
        ResultRow {
            collective: collective.to_string(),
            size_bytes,
            count,
            dtype,
            redop,
            root,
            out_of_place,
            in_place,
            cycle: 0,
        },
        zero_cells,
    ))
}

/// time, algbw, busbw, #wrong (+ i_min, i_max, i_p99, i_cv% with -I). `Ok(None)` for a time
/// printed as 0.
fn parse_cell(
    values: &[&str],
    config: &RunConfig,
) -> std::result::Result<Option<Measurement>, String> {
    let number = |name: &str, text: &str| -> std::result::Result<f64, String> {
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("has {name} '{}', not a number >= 0", shorten(text)))
    };
    let time_us = number("time", values[0])?;
    if time_us == 0.0 {
        return Ok(None);
    }
    let algbw_gbps = number("algbw", values[1])?;
    let bus_bandwidth_gbps = number("busbw", values[2])?;
    let wrong = match values[3] {
        "N/A" => None,
        text => {
            let w = number("#wrong", text)?;
            if w.fract() != 0.0 || w > u64::MAX as f64 {
                return Err(format!("has #wrong '{}', not a count", shorten(text)));
            }
            Some(w as u64)
        }
    };
    let per_iteration = if config.per_iteration_timing && values.len() >= 8 {
        if values[4..8].contains(&"N/A") {
            None
        } else {
            let min_us = number("i_min", values[4])?;
            let max_us = number("i_max", values[5])?;
            let p99_us = number("i_p99", values[6])?;
            let cv_percent = number("i_cv%", values[7])?;
            Some(IterStats {
                samples: config.iters,
                min_us,
                max_us,
                p50_us: 0.0,
                p99_us,
                cv_percent,
                avg_us: 0.0,
                p95_us: 0.0,
                stdev_us: 0.0,
            })
        }
    } else {
        None
    };
    Ok(Some(printed_measurement(
        time_us,
        algbw_gbps,
        bus_bandwidth_gbps,
        wrong,
        per_iteration,
    )))
}

fn build_report(
    run: RunText,
    collective: String,
    complete: bool,
    interrupted: Option<String>,
) -> Report {
    let RunText {
        banner,
        mut config,
        mut ranks,
        mut rows,
        out_of_bounds,
        avg_busbw,
        min_bw_failed,
        ..
    } = run;
    ranks.sort_by_key(|p| p.rank);
    attribute_to_first_rank(&mut rows, &ranks);
    fill_sweep_config(&mut config, &rows);
    let out_of_bounds = out_of_bounds.unwrap_or_else(|| wrong_cells(&rows));
    let summary = Summary {
        out_of_bounds,
        // The footer's number when there is one; for a cut-off table, the mean of its rows.
        avg_bus_bandwidth_gbps: avg_busbw.unwrap_or_else(|| mean_busbw(&rows)),
        min_bus_bandwidth_gbps: None,
        passed: complete && out_of_bounds == 0 && !min_bw_failed,
        first_wrong: None,
        interrupted,
    };
    let tool = banner
        .tool
        .unwrap_or_else(|| nccl_tests_tool("unknown".into()));
    let backend = banner.backend.unwrap_or_else(|| nccl_backend(None));
    Report {
        schema_version: SCHEMA_VERSION,
        tool,
        args: Vec::new(),
        start_time: String::new(),
        end_time: None,
        complete,
        backend,
        collective,
        nranks: ranks.len(),
        hosts: hosts_in_rank_order(&ranks),
        ranks,
        memory: Vec::new(),
        slurm: None,
        environment: BTreeMap::new(),
        config,
        results: rows,
        summary,
        verdict: None,
    }
}

/// Byte offset of each whitespace-separated word of `line`.
fn word_starts(line: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut in_word = false;
    for (at, c) in line.char_indices() {
        if c.is_whitespace() {
            in_word = false;
        } else if !in_word {
            starts.push(at);
            in_word = true;
        }
    }
    starts
}

/// A line quoted in a message: at most 80 characters.
fn shorten(text: &str) -> String {
    shortened(text, 80)
}
