//! `--csv FILE`: one line per measured cell, i.e. per (collective, size, dtype, op, root,
//! in-place), out-of-place before in-place, in run order. Header (first line):
//!
//! | column | meaning |
//! |---|---|
//! | `collective` | nccl-tests name (`all_reduce`) |
//! | `backend` | `mpi` or `nccl` |
//! | `nranks` | ranks in the run |
//! | `size_bytes` | the table's size column (B) |
//! | `count` | the table's count column (elements) |
//! | `dtype` | `float`, `bfloat16`, … |
//! | `redop` | `sum`, …, `none`, or empty (as the table's redop column) |
//! | `root` | root rank, -1 when the collective has none |
//! | `placement` | `out_of_place` or `in_place` (as the JSON keys and the Prometheus label) |
//! | `time_us` | reported time (per `-a`), µs per operation |
//! | `algbw_gbps`, `busbw_gbps` | algorithm and bus bandwidth, GB/s |
//! | `wrong` | wrong elements summed over ranks; empty when not checked (the table's `N/A`) |
//! | `ranks_with_wrong` | ranks that found wrong elements |
//! | `time_us_min`, `time_us_avg`, `time_us_max` | time across ranks, µs |
//! | `slowest_rank`, `slowest_host`, `slowest_device` | the slowest rank (device empty on host memory) |
//! | `iter_samples`, `iter_min_us`, `iter_max_us`, `iter_p50_us`, `iter_p99_us`, `iter_cv_percent` | `-I` statistics (max over ranks per iteration); empty without `-I` |
//! | `cycle` | `-N` cycle, from 0 |
//! | `stats_unit` | what one sample is: `iteration` (`-I`), `batch` (`--precision`) or `cycle` (`-N`); the `stats_*` columns are empty with fewer than 2 samples |
//! | `stats_samples` | number of samples |
//! | `stats_center_us` | their median, µs (the reported time with `--precision`) |
//! | `stats_ci_low_us`, `stats_ci_high_us` | distribution-free interval of the median, µs |
//! | `stats_confidence` | its exact coverage (>= 0.95 from 6 samples; less below, where it is [min, max]) |
//! | `stats_spread_percent` | 1.4826 × MAD / median × 100 |
//! | `precision_target_percent`, `precision_achieved_percent` | `--precision` and the interval's larger half-width when the batches stopped, % of the median; empty without `--precision` |
//! | `precision_reached` | `true` or `false` |
//! | `precision_batches` | batches of `-n` run |
//! | `precision_stopped_by` | `precision`, `size_budget`, `sweep_budget`, `max_batches` or `signal` |
//! | `run_queue_wait_rank`, `run_queue_wait_max_percent` | the rank that waited longest for a CPU during the timed loop, and its wait, % of the loop; empty where the kernel does not say |
//! | `run_queue_wait_total_percent` | the waits summed over processes, % of the loop |
//!
//! Times, bandwidths and percentages have two decimals, as the text table prints them at their
//! usual widths (`6.52`, `0.68`; never float noise like `0.6757500000000001`); the exact values
//! are in the JSON report (`--collbench-json`). Counts and sizes are whole numbers.
//! Lines go to a hidden temporary file next to FILE as they arrive (flushed per row, so a killed
//! job leaves them there) and the file is renamed to FILE at `finish`, also after an interruption.

use super::cfmt;
use super::Sink;
use crate::error::{CollbenchError, Result};
use crate::io::atomic::AtomicFile;
use crate::report::{Measurement, PrecisionOutcome, Report, ResultRow, RunQueueWait, TimeStats};
use std::path::PathBuf;

/// The header line, in column order.
pub const CSV_HEADER: [&str; 42] = [
    "collective",
    "backend",
    "nranks",
    "size_bytes",
    "count",
    "dtype",
    "redop",
    "root",
    "placement",
    "time_us",
    "algbw_gbps",
    "busbw_gbps",
    "wrong",
    "ranks_with_wrong",
    "time_us_min",
    "time_us_avg",
    "time_us_max",
    "slowest_rank",
    "slowest_host",
    "slowest_device",
    "iter_samples",
    "iter_min_us",
    "iter_max_us",
    "iter_p50_us",
    "iter_p99_us",
    "iter_cv_percent",
    "cycle",
    "stats_unit",
    "stats_samples",
    "stats_center_us",
    "stats_ci_low_us",
    "stats_ci_high_us",
    "stats_confidence",
    "stats_spread_percent",
    "precision_target_percent",
    "precision_achieved_percent",
    "precision_reached",
    "precision_batches",
    "precision_stopped_by",
    "run_queue_wait_rank",
    "run_queue_wait_max_percent",
    "run_queue_wait_total_percent",
];

pub struct CsvSink {
    path: PathBuf,
    writer: Option<csv::Writer<AtomicFile>>,
}

impl CsvSink {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            writer: None,
        }
    }

    fn csv_error(&self, e: csv::Error) -> CollbenchError {
        let io = match e.into_kind() {
            csv::ErrorKind::Io(io) => io,
            other => std::io::Error::other(format!("{other:?}")),
        };
        CollbenchError::io(self.path.display().to_string(), io)
    }

    fn writer(&mut self) -> Result<&mut csv::Writer<AtomicFile>> {
        let path = self.path.display().to_string();
        self.writer.as_mut().ok_or_else(|| {
            CollbenchError::io(
                path,
                std::io::Error::other("CSV row written before the header (begin was not called)"),
            )
        })
    }
}

impl std::io::Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer().flush()
    }
}

/// A time, bandwidth or percentage as the text table prints it (`%.2f`), without the padding.
pub fn csv_number(value: f64) -> String {
    cfmt::fixed(value, 0, 2)
}

fn cell_record(report: &Report, row: &ResultRow, in_place: bool, m: &Measurement) -> Vec<String> {
    let mut record = measurement_columns(report, row, in_place, m);
    record.extend(stats_columns(m.stats.as_ref()));
    record.extend(run_queue_columns(m.run_queue_wait.as_ref()));
    record
}

/// The `run_queue_wait_*` columns (empty where the run did not record a wait).
fn run_queue_columns(wait: Option<&RunQueueWait>) -> [String; 3] {
    match wait {
        Some(w) => [
            w.rank.to_string(),
            csv_number(w.max_percent),
            csv_number(w.total_percent),
        ],
        None => Default::default(),
    }
}

/// The `stats_*` and `precision_*` columns (empty where there is nothing to say).
fn stats_columns(stats: Option<&TimeStats>) -> Vec<String> {
    let text = |f: &dyn Fn(&TimeStats) -> String| stats.map(f).unwrap_or_default();
    let precision = stats.and_then(|s| s.precision.as_ref());
    let outcome = |f: &dyn Fn(&PrecisionOutcome) -> String| precision.map(f).unwrap_or_default();
    vec![
        text(&|s| s.unit.name().to_string()),
        text(&|s| s.samples.to_string()),
        text(&|s| csv_number(s.center_us)),
        text(&|s| csv_number(s.ci_low_us)),
        text(&|s| csv_number(s.ci_high_us)),
        text(&|s| s.confidence.to_string()),
        text(&|s| csv_number(s.spread_percent)),
        outcome(&|p| csv_number(p.target_percent)),
        outcome(&|p| csv_number(p.achieved_percent)),
        outcome(&|p| p.reached.to_string()),
        outcome(&|p| p.batches.to_string()),
        outcome(&|p| p.stopped_by.name().to_string()),
    ]
}

fn measurement_columns(
    report: &Report,
    row: &ResultRow,
    in_place: bool,
    m: &Measurement,
) -> Vec<String> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    let num = csv_number;
    let it = m.per_iteration.as_ref();
    vec![
        row.collective.clone(),
        report.backend.name.clone(),
        report.nranks.to_string(),
        row.size_bytes.to_string(),
        row.count.to_string(),
        row.dtype.name().to_string(),
        row.redop.clone(),
        row.root.to_string(),
        placement_name(in_place).to_string(),
        num(m.time_us),
        num(m.algbw_gbps),
        num(m.bus_bandwidth_gbps),
        opt(m.wrong.map(|w| w.to_string())),
        m.ranks_with_wrong.to_string(),
        num(m.ranks.time_us_min),
        num(m.ranks.time_us_avg),
        num(m.ranks.time_us_max),
        m.ranks.slowest_rank.to_string(),
        m.ranks.slowest_host.clone(),
        opt(m.ranks.slowest_device.map(|d| d.to_string())),
        opt(it.map(|s| s.samples.to_string())),
        opt(it.map(|s| num(s.min_us))),
        opt(it.map(|s| num(s.max_us))),
        opt(it.map(|s| num(s.p50_us))),
        opt(it.map(|s| num(s.p99_us))),
        opt(it.map(|s| num(s.cv_percent))),
        row.cycle.to_string(),
    ]
}

/// The `placement` column: the spelling of the JSON keys and the Prometheus label.
fn placement_name(in_place: bool) -> &'static str {
    if in_place {
        "in_place"
    } else {
        "out_of_place"
    }
}

impl Sink for CsvSink {
    fn begin(&mut self, _report: &Report) -> Result<()> {
        let file = AtomicFile::create(&self.path)?;
        let mut w = csv::Writer::from_writer(file);
        w.write_record(CSV_HEADER).map_err(|e| self.csv_error(e))?;
        w.flush()
            .map_err(|e| CollbenchError::io(self.path.display().to_string(), e))?;
        self.writer = Some(w);
        Ok(())
    }

    fn row(&mut self, report: &Report, row: &ResultRow) -> Result<()> {
        let records: Vec<Vec<String>> = [(false, &row.out_of_place), (true, &row.in_place)]
            .into_iter()
            .filter_map(|(in_place, m)| m.as_ref().map(|m| cell_record(report, row, in_place, m)))
            .collect();
        let path = self.path.display().to_string();
        let w = self.writer()?;
        let mut result = Ok(());
        for r in &records {
            if let Err(e) = w.write_record(r) {
                result = Err(e);
                break;
            }
        }
        if let Err(e) = result {
            return Err(self.csv_error(e));
        }
        w.flush().map_err(|e| CollbenchError::io(path, e))
    }

    fn finish(&mut self, _report: &Report) -> Result<()> {
        let path = self.path.display().to_string();
        let w = self.writer.take().ok_or_else(|| {
            CollbenchError::io(
                path.clone(),
                std::io::Error::other("CSV finished before the header (begin was not called)"),
            )
        })?;
        let file = w
            .into_inner()
            .map_err(|e| CollbenchError::io(path, std::io::Error::other(e.to_string())))?;
        file.commit()
    }
}
