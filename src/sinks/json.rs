//! `-J FILE`: the whole [`Report`] as JSON (schema: docs/report.schema.json, version
//! [`SCHEMA_VERSION`](crate::report::SCHEMA_VERSION)), written atomically.
//!
//! The file is written at `begin` (no rows yet), then again at most every checkpoint interval
//! while rows arrive, and at `finish`. Checkpoints carry `complete: false` and `end_time: null`,
//! so a job killed mid-sweep still leaves a valid report of the rows it finished. Unlike
//! nccl-tests (which never overwrites and picks `FILE.0`, `FILE.1`…), an existing FILE is replaced.

use super::Sink;
use crate::aggregate::summarize;
use crate::error::{CollbenchError, Result};
use crate::io::atomic::write_atomically;
use crate::report::{Report, ResultRow};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Default time between checkpoints while rows arrive.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(10);

pub struct JsonSink {
    path: PathBuf,
    rows: Vec<ResultRow>,
    checkpoint_interval: Option<Duration>,
    last_write: Option<Instant>,
}

impl JsonSink {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
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
        let mut bytes = serde_json::to_vec_pretty(report).map_err(|e| {
            CollbenchError::io(
                self.path.display().to_string(),
                std::io::Error::other(format!("could not encode the report as JSON: {e}")),
            )
        })?;
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
        if report.results.is_empty() && !self.rows.is_empty() {
            let mut full = report.clone();
            full.results = std::mem::take(&mut self.rows);
            self.write(&full)
        } else {
            self.write(report)
        }
    }
}
