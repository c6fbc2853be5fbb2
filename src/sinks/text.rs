//! The nccl-tests 2.19.6 text table, byte for byte after the first line (which names collbench,
//! its version and the backend library). Cluster health checks grep and split these lines, so
//! every width, number format and trailing space follows nccl-tests:
//!
//! - rows: `%12li  %12li  %8s  %6s  %6i`, then per cell `  %7s  %6s  %6s  %6g` (time, algbw, busbw,
//!   #wrong; `    N/A` when unchecked) with nccl-tests' magnitude rule for the numbers
//!   ([`cfmt::column`]); with `-I` each cell adds `  %7s` × 4 (i_min, i_max, i_p99, i_cv%); with
//!   `-S` the row ends with the local time as `%21s`;
//! - footers: `# Out of bounds values : N OK|FAILED`, `# Avg bus bandwidth    : %g ` (+ `OK` or
//!   `FAILED` under NCCL_TESTS_MIN_BW), `#`, `# Collective test concluded: NAME`, `#`, blank line.
//!
//! On NCCL runs the first line also names the loaded library file, `NCCL 2.28.9
//! (/lib/x86_64-linux-gnu/libnccl.so.2)`, and ends with `, network: NAME`: the network NCCL
//! selected (see `crate::report::network`).
//!
//! Host-backend rank lines keep nccl-tests' shape, with device `-1`, `[host]` in place of the PCI
//! bus id and the device name `host memory`, so `sscanf`/awk parsers of that line still work.
//! The `-I` notice line says `host clock timing` instead of `CUDA event timing` on backends other
//! than NCCL, because that is how those iterations are timed.

use super::cfmt;
use super::Sink;
use crate::error::{CollbenchError, Result};
use crate::io::console;
use crate::report::memory::memory_line;
use crate::report::{IterStats, Measurement, RankPlacement, Report, ResultRow};
use std::fmt::Write as _;
use std::io::Write;
use std::time::SystemTime;

/// The nccl-tests release whose format we reproduce.
pub const NCCL_TESTS_COMPAT_VERSION: &str = "2.19.6";

/// Writes the table to any `Write` (stdout in practice), flushing after every line group so
/// progress shows as it happens (nccl-tests line-buffers stdout).
pub struct TextSink<W: Write> {
    out: W,
    /// Names the destination in I/O errors.
    label: String,
    timestamp: Box<dyn FnMut() -> String + Send>,
    per_iteration: bool,
    timestamps: bool,
    /// Set once a write found the reader gone (broken pipe).
    reader_gone: bool,
    /// Lines printed after the rank lines, before the column headers (see [`header`]).
    notices: Vec<String>,
    /// Lines printed before the banner (`# Writing JSON output to …`).
    preamble: Vec<String>,
    /// Comment lines printed before each row (alltoallv's per-rank summary).
    row_notes: Option<RowNotes>,
}

/// Comment lines (each `\n`-terminated) to print before a row.
pub type RowNotes = Box<dyn Fn(&ResultRow) -> String + Send>;

impl TextSink<console::StdoutRaw> {
    pub fn stdout() -> Self {
        TextSink::new(console::StdoutRaw, "standard output")
    }
}

impl<W: Write> TextSink<W> {
    /// `label` names the destination in error messages (`standard output`, a file path).
    pub fn new(out: W, label: impl Into<String>) -> Self {
        Self {
            out,
            label: label.into(),
            timestamp: Box::new(|| crate::report::time::local_timestamp(SystemTime::now())),
            per_iteration: false,
            timestamps: false,
            reader_gone: false,
            notices: Vec::new(),
            preamble: Vec::new(),
            row_notes: None,
        }
    }

    /// Notices of the run (nccl-tests' own `# Reducing maxBytes to …`), printed where
    /// nccl-tests prints its own: after the rank lines, above the column headers, so that the
    /// table below the headers holds only result rows.
    pub fn with_notices(mut self, notices: Vec<String>) -> Self {
        self.notices = notices;
        self
    }

    /// Lines nccl-tests prints before its banner (`-J`'s `# Writing JSON output to FILE`).
    pub fn with_preamble(mut self, lines: Vec<String>) -> Self {
        self.preamble = lines;
        self
    }

    /// Lines to print before each row (`NCCL_TESTS_ALLTOALLV_PRINT_SUMMARY`).
    pub fn with_row_notes(mut self, notes: RowNotes) -> Self {
        self.row_notes = Some(notes);
        self
    }

    /// Replaces the `-S` clock (tests use a fixed one).
    pub fn with_timestamp_source(
        mut self,
        source: impl FnMut() -> String + Send + 'static,
    ) -> Self {
        self.timestamp = Box::new(source);
        self
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn emit(&mut self, text: &str) -> Result<()> {
        if self.reader_gone {
            return Ok(());
        }
        match self
            .out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.flush())
        {
            // The reader went away (a cancelled job's srun, `| head`): the table cannot be shown,
            // but the run must go on to write its files, so this is a notice, not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.reader_gone = true;
                let _ = writeln!(
                    std::io::stderr(),
                    "collbench: {} closed (broken pipe); the table is no longer printed, files are still written",
                    self.label
                );
                Ok(())
            }
            // The reader stopped reading after a stop request (mpirun after a Ctrl-C): the same,
            // so that the run stops after this row and writes its files before the SIGKILL.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.reader_gone = true;
                let _ = writeln!(
                    std::io::stderr(),
                    "collbench: {} is not being read ({e}); the table is no longer printed, files are still written",
                    self.label
                );
                Ok(())
            }
            other => other.map_err(|e| CollbenchError::io(self.label.clone(), e)),
        }
    }
}

impl<W: Write> Sink for TextSink<W> {
    fn begin(&mut self, report: &Report) -> Result<()> {
        self.per_iteration = report.config.per_iteration_timing;
        self.timestamps = report.config.report_timestamps;
        let mut text: String = self.preamble.iter().map(|l| format!("{l}\n")).collect();
        text.push_str(&header_with_notices(report, &self.notices));
        self.emit(&text)
    }

    fn row(&mut self, _report: &Report, row: &ResultRow) -> Result<()> {
        let mut line = self.row_notes.as_ref().map(|n| n(row)).unwrap_or_default();
        line.push_str(&row_preamble(row));
        for (cell, in_place) in [(&row.out_of_place, false), (&row.in_place, true)] {
            match cell {
                Some(m) => {
                    line.push_str(&cell_body(m));
                    if self.per_iteration {
                        line.push_str(&per_iteration_columns(m.per_iteration.as_ref()));
                    }
                }
                // nccl-tests' blank for a cell it did not run (its width, quirks included).
                None => {
                    line.push_str(&" ".repeat(32));
                    if self.per_iteration {
                        line.push_str(&" ".repeat(36));
                    }
                }
            }
            if in_place && self.timestamps {
                let stamp = (self.timestamp)();
                let _ = write!(line, "{stamp:>21}");
            }
        }
        line.push('\n');
        self.emit(&line)
    }

    fn finish(&mut self, report: &Report) -> Result<()> {
        let text = footer(report);
        self.emit(&text)
    }
}

/// Everything before the first row: banner, run parameters, rank lines, column headers.
pub fn header(report: &Report) -> String {
    header_with_notices(report, &[])
}

/// [`header`] with `notices` (each a line or `\n`-separated lines, without the final newline)
/// between the rank lines and the column headers.
pub fn header_with_notices(report: &Report, notices: &[String]) -> String {
    let c = &report.config;
    let mut s = String::new();
    let _ = write!(
        s,
        "# collbench version {} (nccl-tests {NCCL_TESTS_COMPAT_VERSION} compatible) {}",
        report.tool.version, report.backend.library
    );
    // Which file was loaded matters as much as its version when several NCCLs are installed
    // (system, pip wheel, EFA plugin bundles): say it on the line that is ours.
    if let Some(path) = &report.backend.library_path {
        let _ = write!(s, " ({path})");
    }
    // The network NCCL selected (`--require-net`) goes on this line, the only one that is ours,
    // so every later line stays nccl-tests' own. NCCL runs only.
    if let Some(network) = &report.backend.network {
        let _ = write!(s, ", network: {network}");
    }
    s.push('\n');
    let _ = writeln!(s, "# Collective test starting: {}", program_name(report));
    let _ = writeln!(
        s,
        "# nThread {} nGpus {} minBytes {} maxBytes {} step: {}({}) warmup iters: {} iters: {} agg iters: {} validation: {} graph: {} unalign: {}",
        c.nthreads,
        c.ngpus,
        c.min_bytes,
        c.max_bytes,
        step_value(c.step_value),
        c.step_kind,
        c.warmup_iters,
        c.iters,
        c.agg_iters,
        c.check_iters,
        c.graph_launches,
        c.unalign
    );
    match (c.blocking_mode, c.blocking) {
        (1, _) | (0, true) => {
            s.push_str("# Blocking Enabled: wait and barrier after each inner iteration (-m) \n")
        }
        (2, _) => s.push_str("# Blocking Enabled: wait after each inner iteration (-m), no barrier \n"),
        (3, _) => s.push_str(
            "# Blocking Enabled: wait and barrier after each outer iteration (-n); time excludes barrier \n",
        ),
        _ => {}
    }
    if c.per_iteration_timing {
        let timer = if report.backend.name == "nccl" {
            "CUDA event"
        } else {
            "host clock"
        };
        let _ = write!(
            s,
            "# Per-Iteration Report: {timer} timing; i_* uses max over process rows"
        );
        if c.per_iteration_skip > 0 {
            let _ = write!(
                s,
                "; summary skips first {} iterations",
                c.per_iteration_skip
            );
        }
        s.push_str(" \n");
    }
    if c.parallel_init {
        s.push_str("# Parallel Init Enabled: threads call into NcclInitRank concurrently \n");
    }
    s.push_str("#\n# Using devices\n");
    for p in &report.ranks {
        s.push_str(&rank_line(p));
    }
    // `-M` only: nccl-tests 2.19.6 has no such block, so default output stays byte-identical.
    for m in &report.memory {
        s.push_str(&memory_line(m));
    }
    for notice in notices {
        s.push_str(notice);
        if !notice.ends_with('\n') {
            s.push('\n');
        }
    }
    s.push_str("#\n");
    s.push_str(&column_headers(
        c.per_iteration_timing,
        c.report_cputime,
        c.report_timestamps,
    ));
    s
}

/// `all_reduce_perf`: the nccl-tests program name, which scripts match on.
fn program_name(report: &Report) -> String {
    format!("{}_perf", report.collective)
}

/// nccl-tests prints the step as an integer (`2(factor)`, `1048576(bytes)`); a fractional factor,
/// which only collbench accepts, keeps its digits.
fn step_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e18 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// `#  Rank %2d Group %2d Pid %6d on %10s device %2d [%s] %s`.
pub fn rank_line(p: &RankPlacement) -> String {
    format!(
        "#  Rank {:>2} Group {:>2} Pid {:>6} on {:>10} device {:>2} [{}] {}\n",
        p.rank,
        p.group,
        p.pid,
        p.host,
        p.device.unwrap_or(-1),
        p.bus_id.as_deref().unwrap_or("host"),
        p.device_name
    )
}

fn column_headers(per_iteration: bool, cputime: bool, timestamps: bool) -> String {
    let time = if cputime { "cputime" } else { "time" };
    let (ts_label, ts_units) = if timestamps {
        // nccl-tests prints its strftime pattern as the unit of the timestamp column.
        (
            format!("{:>19}", "timestamp"),
            format!("{:>19}", "%Y-%m-%d %H:%M:%S"),
        )
    } else {
        (String::new(), String::new())
    };
    let lead = |a: &str, b: &str| format!("# {a:>10}  {b:>12}  {:>8}  {:>6}  {:>6}", "", "", "");
    let mut s = String::new();
    if per_iteration {
        let _ = writeln!(
            s,
            "{}              out-of-place (+ per-iteration)                                in-place (+ per-iteration)",
            lead("", "")
        );
        let cell = |t: &str, ab: &str, bb: &str, w: &str, c: [&str; 4]| {
            format!(
                "  {t:>7}  {ab:>6}  {bb:>6}  {w:>6}  {:>7}  {:>7}  {:>7}  {:>7}",
                c[0], c[1], c[2], c[3]
            )
        };
        let names = cell(
            time,
            "algbw",
            "busbw",
            "#wrong",
            ["i_min", "i_max", "i_p99", "i_cv%"],
        );
        let units = cell(
            "(us)",
            "(GB/s)",
            "(GB/s)",
            "",
            ["(us)", "(us)", "(us)", "(%)"],
        );
        let _ = writeln!(
            s,
            "# {:>10}  {:>12}  {:>8}  {:>6}  {:>6}{names}{names} {ts_label}",
            "size", "count", "type", "redop", "root"
        );
        let _ = writeln!(
            s,
            "# {:>10}  {:>12}  {:>8}  {:>6}  {:>6}{units}{units} {ts_units}",
            "(B)", "(elements)", "", "", ""
        );
    } else {
        let _ = writeln!(
            s,
            "{}           out-of-place                       in-place          ",
            lead("", "")
        );
        let cell =
            |t: &str, ab: &str, bb: &str, w: &str| format!("  {t:>7}  {ab:>6}  {bb:>6}  {w:>6}");
        let names = cell(time, "algbw", "busbw", "#wrong");
        let units = cell("(us)", "(GB/s)", "(GB/s)", "");
        let _ = writeln!(
            s,
            "# {:>10}  {:>12}  {:>8}  {:>6}  {:>6}{names}{names} {ts_label}",
            "size", "count", "type", "redop", "root"
        );
        let _ = writeln!(
            s,
            "# {:>10}  {:>12}  {:>8}  {:>6}  {:>6}{units}{units} {ts_units}",
            "(B)", "(elements)", "", "", ""
        );
    }
    s
}

/// `%12li  %12li  %8s  %6s  %6i`.
fn row_preamble(row: &ResultRow) -> String {
    format!(
        "{:>12}  {:>12}  {:>8}  {:>6}  {:>6}",
        row.size_bytes,
        row.count,
        row.dtype.name(),
        row.redop,
        row.root
    )
}

/// `  %7s  %6s  %6s  %6g`, or `  %7s  %6s  %6s    N/A` for an unchecked #wrong (one column
/// narrower, as in nccl-tests).
fn cell_body(m: &Measurement) -> String {
    let wrong = match m.wrong {
        Some(w) => cfmt::general(w as f64, 6),
        None => "  N/A".to_string(),
    };
    format!(
        "  {}  {}  {}  {}",
        cfmt::column(m.time_us, 7),
        cfmt::column(m.algbw_gbps, 6),
        cfmt::column(m.bus_bandwidth_gbps, 6),
        wrong
    )
}

/// `  %7s` × 4: i_min, i_max, i_p99, i_cv%.
fn per_iteration_columns(stats: Option<&IterStats>) -> String {
    match stats {
        Some(st) => format!(
            "  {}  {}  {}  {}",
            cfmt::column(st.min_us, 7),
            cfmt::column(st.max_us, 7),
            cfmt::column(st.p99_us, 7),
            cfmt::column(st.cv_percent, 7)
        ),
        None => format!("  {0:>7}  {0:>7}  {0:>7}  {0:>7}", "N/A"),
    }
}

/// Summary lines, the closing `#` and the blank line nccl-tests ends with.
pub fn footer(report: &Report) -> String {
    let sum = &report.summary;
    let mut s = String::new();
    if let Some(why) = &sum.interrupted {
        let _ = writeln!(s, "# Run interrupted: {why}");
    }
    let _ = writeln!(
        s,
        "# {:<20} : {} {}",
        "Out of bounds values",
        sum.out_of_bounds,
        if sum.out_of_bounds > 0 {
            "FAILED"
        } else {
            "OK"
        }
    );
    let verdict = match sum.bus_bandwidth_ok() {
        None => "",
        Some(true) => "OK",
        Some(false) => "FAILED",
    };
    let _ = writeln!(
        s,
        "# {:<20} : {} {verdict}",
        "Avg bus bandwidth",
        cfmt::general(sum.avg_bus_bandwidth_gbps, 0)
    );
    s.push_str("#\n");
    let _ = writeln!(s, "# Collective test concluded: {}", program_name(report));
    s.push_str("#\n\n");
    s
}
