//! `--jsonl FILE`: the run as JSON Lines, appended and flushed one record at a time, so a run that
//! is killed (SIGKILL, node crash, OOM) keeps every row that finished. Records:
//!
//! - `{"record":"begin","run_id":…,"report":{…header, "results":[]…}}`
//! - `{"record":"row","run_id":…,"row":{…ResultRow…}}` per finished row
//! - `{"record":"end","run_id":…,"complete":…,"end_time":…,"summary":{…},"verdict":{…}}`
//!
//! The file is opened for append: several runs (e.g. one per collective in an sbatch) can share it;
//! `run_id` tells them apart. [`read_runs`] rebuilds one [`Report`] per run; a run with no `end`
//! record is returned incomplete, and a torn last line (the process died mid-write) is ignored.
//! `collbench accept --pairwise` appends `pair` and `pairwise` records; readers of sweeps skip them.

use super::Sink;
use crate::error::{CollbenchError, Result};
use crate::report::verdict::Verdict;
use crate::report::{Report, ResultRow, Summary};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
enum Record {
    Begin {
        run_id: String,
        report: Box<Report>,
    },
    Row {
        run_id: String,
        row: Box<ResultRow>,
    },
    End {
        run_id: String,
        complete: bool,
        end_time: Option<String>,
        summary: Box<Summary>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        verdict: Option<Box<Verdict>>,
    },
}

/// Identifies a run inside a shared file: start time, rank 0's host and pid.
pub fn run_id(report: &Report) -> String {
    match report.ranks.first() {
        Some(r0) => format!("{}/{}/{}", report.start_time, r0.host, r0.pid),
        None => format!("{}/{}", report.start_time, std::process::id()),
    }
}

pub struct JsonlSink {
    path: PathBuf,
    file: Option<File>,
    run_id: String,
}

impl JsonlSink {
    /// Opens (creating if needed) `path` for append. Fails before the run starts if it cannot.
    pub fn open(path: &Path) -> Result<JsonlSink> {
        let file = open_for_append(path)?;
        Ok(JsonlSink {
            path: path.to_path_buf(),
            file: Some(file),
            run_id: String::new(),
        })
    }

    fn append(&mut self, record: &Record) -> Result<()> {
        let io = |e| CollbenchError::io(self.path.display().to_string(), e);
        let mut line = serde_json::to_vec(record).map_err(|e| io(std::io::Error::other(e)))?;
        line.push(b'\n');
        let file = self.file.as_mut().ok_or_else(|| {
            io(std::io::Error::other(
                "the JSON Lines file was already closed",
            ))
        })?;
        // One write per record: with O_APPEND the line lands whole at the end of the file.
        file.write_all(&line).map_err(io)?;
        file.flush().map_err(io)?;
        // Rows are the thing to keep: get them onto the disk, not just into the page cache.
        sync_data(file).map_err(io)
    }
}

impl Sink for JsonlSink {
    fn begin(&mut self, report: &Report) -> Result<()> {
        self.run_id = run_id(report);
        let mut header = report.clone();
        header.results.clear();
        header.verdict = None;
        self.append(&Record::Begin {
            run_id: self.run_id.clone(),
            report: Box::new(header),
        })
    }

    fn row(&mut self, _report: &Report, row: &ResultRow) -> Result<()> {
        self.append(&Record::Row {
            run_id: self.run_id.clone(),
            row: Box::new(row.clone()),
        })
    }

    fn finish(&mut self, report: &Report) -> Result<()> {
        self.append(&Record::End {
            run_id: self.run_id.clone(),
            complete: report.complete,
            end_time: report.end_time.clone(),
            summary: Box::new(report.summary.clone()),
            verdict: report.verdict.clone().map(Box::new),
        })?;
        self.file = None;
        Ok(())
    }
}

/// Opens (creating if needed) a JSON Lines file for append. When an earlier run died mid-write
/// (its last line has no newline), the line is ended first, so this run's records are not glued
/// onto the torn one (readers skip a torn line).
pub(crate) fn open_for_append(path: &Path) -> Result<File> {
    let io = |e| CollbenchError::io(path.display().to_string(), e);
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    // Regular files only (not /dev/stdout or a FIFO); an unreadable one is left as it is.
    let length = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map_or(0, |m| m.len());
    if length > 0 && last_byte(path, length).is_some_and(|b| b != b'\n') {
        file.write_all(b"\n").map_err(io)?;
    }
    Ok(file)
}

/// fsync of the data; a file that cannot be synced (a pipe, /dev/stdout, /dev/null: EINVAL) is fine.
pub(crate) fn sync_data(file: &File) -> std::io::Result<()> {
    match file.sync_data() {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
        other => other,
    }
}

fn last_byte(path: &Path, length: u64) -> Option<u8> {
    use std::io::{Read, Seek, SeekFrom};
    let mut reader = File::open(path).ok()?;
    reader.seek(SeekFrom::Start(length - 1)).ok()?;
    let mut last = [0u8; 1];
    reader.read_exact(&mut last).ok()?;
    Some(last[0])
}

/// The records `accept --pairwise` (`pair` per pair, a final `pairwise`) and `accept --bisect`
/// (`group`, `bisect`) append: not sweep rows.
pub(crate) const ISOLATION_RECORDS: [&str; 4] = ["pair", "pairwise", "group", "bisect"];

fn is_isolation_record(line: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("record").and_then(|r| r.as_str()).map(str::to_string))
        .is_some_and(|r| ISOLATION_RECORDS.contains(&r.as_str()))
}

/// Whether the next non-empty line is the first record of a run: a sweep's `begin`, or an
/// isolation run's first `pair` or `group` (round 1) or, with no round finished, its final record.
fn next_begins_a_run(rest: &[&str]) -> bool {
    rest.iter().find(|l| !l.trim().is_empty()).is_some_and(|l| {
        serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| {
            match v.get("record").and_then(|r| r.as_str()) {
                Some("begin") | Some("pairwise") | Some("bisect") => true,
                Some("pair") | Some("group") => v.get("round").and_then(|r| r.as_u64()) == Some(1),
                _ => false,
            }
        })
    })
}

/// Rebuilds the runs stored in a JSON Lines file, in the order they began.
pub fn read_runs(path: &Path) -> Result<Vec<Report>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CollbenchError::io(path.display().to_string(), e))?;
    parse_runs(&text, &path.display().to_string())
}

/// [`read_runs`] on text; `origin` names the file in errors.
pub fn parse_runs(text: &str, origin: &str) -> Result<Vec<Report>> {
    let mut runs: Vec<(String, Report, bool)> = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let is_last = index + 1 == lines.len();
        let record: Record = match serde_json::from_str(line) {
            Ok(r) => r,
            // `accept --pairwise` and `--bisect` share the format: their records are not sweep rows.
            Err(_) if is_isolation_record(line) => continue,
            // A write the process did not finish: the last line, or a line after which another
            // run began (its writer ended the torn line first). Drop it.
            Err(_) if is_last || next_begins_a_run(&lines[index + 1..]) => continue,
            Err(e) => {
                return Err(CollbenchError::Usage(format!(
                    "{origin}:{}: not a collbench JSON Lines record ({e}); expected begin/row/end records written by --jsonl",
                    index + 1
                )))
            }
        };
        let unknown = |id: &str| {
            CollbenchError::Usage(format!(
                "{origin}:{}: record for run '{id}' comes before that run's begin record",
                index + 1
            ))
        };
        match record {
            Record::Begin { run_id, report } => {
                let mut report = *report;
                report.complete = false;
                runs.push((run_id, report, false));
            }
            Record::Row { run_id, row } => {
                let run = runs
                    .iter_mut()
                    .rev()
                    .find(|r| r.0 == run_id)
                    .ok_or_else(|| unknown(&run_id))?;
                run.1.results.push(*row);
            }
            Record::End {
                run_id,
                complete,
                end_time,
                summary,
                verdict,
            } => {
                let run = runs
                    .iter_mut()
                    .rev()
                    .find(|r| r.0 == run_id)
                    .ok_or_else(|| unknown(&run_id))?;
                run.1.complete = complete;
                run.1.end_time = end_time;
                run.1.summary = *summary;
                run.1.verdict = verdict.map(|v| *v);
                run.2 = true;
            }
        }
    }
    Ok(runs
        .into_iter()
        .map(|(_, mut report, ended)| {
            if !ended {
                report.complete = false;
                // The footer numbers of a run that never wrote its own, from its rows.
                let min_bw = report.summary.min_bus_bandwidth_gbps;
                report.summary = crate::aggregate::summarize(
                    &report.results,
                    min_bw,
                    Some(
                        "no end record: the process died before finishing (rows up to then are kept)"
                            .into(),
                    ),
                );
            }
            report
        })
        .collect())
}
