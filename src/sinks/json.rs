//! JSON files of a run, written atomically, in one of two formats ([`JsonFormat`]):
//! - `--collbench-json FILE`: the whole [`Report`] (schema: docs/report.schema.json, version
//!   [`SCHEMA_VERSION`](crate::report::SCHEMA_VERSION)); an existing FILE is replaced;
//! - `-J FILE`: nccl-tests 2.19.6's document ([`super::nccl_tests_json`]), at the name
//!   [`super::nccl_tests_json::claim`] picked.
//!
//! The file is written at `begin` (no rows yet), then again at most every checkpoint interval
//! while rows arrive, and at `finish`. Checkpoints are incomplete (collbench: `complete: false`
//! and `end_time: null`; nccl-tests: no footer), so a job killed mid-sweep still leaves a valid
//! file of the rows it finished.

use super::nccl_tests_json::{document, LocalTimes};
use super::Sink;
use crate::aggregate::summarize;
use crate::error::{CollbenchError, Result};
use crate::io::atomic::write_atomically;
use crate::report::{Report, ResultRow};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Default time between checkpoints while rows arrive.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(10);

/// Which document the sink writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonFormat {
    /// collbench's [`Report`] (`--collbench-json`).
    Collbench,
    /// nccl-tests' `-J` document.
    NcclTests,
}

pub struct JsonSink {
    path: PathBuf,
    format: JsonFormat,
    /// nccl-tests' local start and end times.
    local_times: LocalTimes,
    rows: Vec<ResultRow>,
    checkpoint_interval: Option<Duration>,
    last_write: Option<Instant>,
}

impl JsonSink {
    /// collbench's report (`--collbench-json`).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::with_format(path, JsonFormat::Collbench)
    }

    /// nccl-tests' document (`-J`), at a path [`super::nccl_tests_json::claim`] returned.
    pub fn nccl_tests(path: impl Into<PathBuf>) -> Self {
        Self::with_format(path, JsonFormat::NcclTests)
    }

    fn with_format(path: impl Into<PathBuf>, format: JsonFormat) -> Self {
        Self {
            path: path.into(),
            format,
            local_times: LocalTimes::default(),
            rows: Vec::new(),
            checkpoint_interval: Some(DEFAULT_CHECKPOINT_INTERVAL),
            last_write: None,
        }
    }

    /// `None` writes only at `begin` and `finish`; `Some(ZERO)` after every row.
    pub fn with_checkpoint_interval(mut self, interval: Option<Duration>) -> Self {
        self.checkpoint_interval = interval;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, report: &Report) -> Result<()> {
        let mut bytes = match self.format {
            JsonFormat::Collbench => serde_json::to_vec_pretty(report).map_err(|e| {
                CollbenchError::io(
                    self.path.display().to_string(),
                    std::io::Error::other(format!("could not encode the report as JSON: {e}")),
                )
            })?,
            JsonFormat::NcclTests => document(report, &report.results, &self.local_times)
                .encode()
                .into_bytes(),
        };
        bytes.push(b'\n');
        write_atomically(&self.path, &bytes)?;
        self.last_write = Some(Instant::now());
        Ok(())
    }

    /// The report as known so far: header fields from `report`, the rows this sink was given.
    fn snapshot(&self, report: &Report) -> Report {
        let mut snap = report.clone();
        snap.results = self.rows.clone();
        snap.complete = false;
        snap.end_time = None;
        snap.summary = summarize(&self.rows, report.summary.min_bus_bandwidth_gbps, None);
        snap
    }
}

impl Sink for JsonSink {
    fn begin(&mut self, report: &Report) -> Result<()> {
        self.rows.clear();
        self.local_times = LocalTimes {
            start: local_now(),
            end: None,
        };
        let snap = self.snapshot(report);
        self.write(&snap)
    }

    fn row(&mut self, report: &Report, row: &ResultRow) -> Result<()> {
        self.rows.push(row.clone());
        let due = match (self.checkpoint_interval, self.last_write) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(every), Some(last)) => last.elapsed() >= every,
        };
        if due {
            let snap = self.snapshot(report);
            self.write(&snap)?;
        }
        Ok(())
    }

    fn finish(&mut self, report: &Report) -> Result<()> {
        self.local_times.end = Some(local_now());
        if report.results.is_empty() && !self.rows.is_empty() {
            let mut full = report.clone();
            full.results = std::mem::take(&mut self.rows);
            self.write(&full)
        } else {
            self.write(report)
        }
    }
}

/// The name `-J` claimed ([`super::nccl_tests_json::claim`]) is an empty file until the first
/// write: a run that ends before its sweep starts (another rank's setup failed) gives it back.
impl Drop for JsonSink {
    fn drop(&mut self) {
        let unwritten = self.format == JsonFormat::NcclTests && self.last_write.is_none();
        let empty_file =
            std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.is_file() && m.len() == 0);
        if unwritten && empty_file {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// nccl-tests' `start_time`/`end_time`: local `%Y-%m-%d %H:%M:%S`.
fn local_now() -> String {
    crate::report::time::local_timestamp(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_name_never_written_is_given_back() {
        let dir = tempfile::tempdir().unwrap();
        let claimed = super::super::nccl_tests_json::claim(&dir.path().join("ar.json")).unwrap();
        assert!(claimed.is_file());
        drop(JsonSink::nccl_tests(claimed.clone()));
        assert!(!claimed.exists(), "the empty claimed file is removed");
        // A file with content (written, or someone else's) stays.
        std::fs::write(&claimed, "{}").unwrap();
        drop(JsonSink::nccl_tests(claimed.clone()));
        assert!(claimed.exists());
        // collbench's own report is never removed.
        let report = dir.path().join("report.json");
        std::fs::write(&report, "").unwrap();
        drop(JsonSink::new(report.clone()));
        assert!(report.exists());
    }
}
