//! `--markdown FILE`: the run as a Markdown (GitHub-flavoured) table, to paste into a ticket, a
//! pull request or a wiki page as it is: a title naming the test, one line with the ranks, hosts,
//! backend, start time and command line, the table's columns (out-of-place then in-place time,
//! algbw, busbw and #wrong, two decimals as the text table prints them, `N/A` when not checked),
//! then the two footer lines of the text table.
//!
//! The file is written whole at `finish` (also after an interruption, which it says), through
//! `crate::io::atomic`, so a reader never sees half a table.

use super::cfmt;
use super::Sink;
use crate::error::Result;
use crate::report::{Measurement, Report, ResultRow};
use std::fmt::Write;
use std::path::PathBuf;

/// The header row and its alignment row.
const HEADER: &str = "| size (B) | count | type | redop | root \
    | out-of-place time (us) | algbw (GB/s) | busbw (GB/s) | #wrong \
    | in-place time (us) | algbw (GB/s) | busbw (GB/s) | #wrong |\n\
    |---:|---:|:---|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

pub struct MarkdownSink {
    path: PathBuf,
    rows: Vec<ResultRow>,
}

impl MarkdownSink {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            rows: Vec::new(),
        }
    }
}

impl Sink for MarkdownSink {
    fn begin(&mut self, _report: &Report) -> Result<()> {
        self.rows.clear();
        Ok(())
    }

    fn row(&mut self, _report: &Report, row: &ResultRow) -> Result<()> {
        self.rows.push(row.clone());
        Ok(())
    }

    fn finish(&mut self, report: &Report) -> Result<()> {
        let rows = match report.results.is_empty() {
            true => &self.rows,
            false => &report.results,
        };
        let text = document(report, rows);
        crate::io::atomic::write_atomically(&self.path, text.as_bytes())
    }
}

/// The whole file.
pub fn document(report: &Report, rows: &[ResultRow]) -> String {
    let mut text = format!(
        "# {}_perf ({} {})\n\n",
        report.collective, report.tool.name, report.tool.version
    );
    let _ = writeln!(
        text,
        "{} ranks on {} host(s), {} backend ({}), started {}, command: `{}`\n",
        report.nranks,
        report.hosts.len(),
        report.backend.name,
        report.backend.library,
        report.start_time,
        report.args.join(" ").replace('`', "'"),
    );
    text.push_str(HEADER);
    for row in rows {
        text.push_str(&table_row(row));
    }
    text.push('\n');
    let summary = &report.summary;
    if let Some(why) = &summary.interrupted {
        let _ = writeln!(
            text,
            "Run interrupted: {why}; the table holds the rows finished before.\n"
        );
    }
    let _ = writeln!(
        text,
        "Out of bounds values: {} {}. Avg bus bandwidth: {} GB/s.",
        summary.out_of_bounds,
        if summary.out_of_bounds > 0 {
            "FAILED"
        } else {
            "OK"
        },
        cfmt::general(summary.avg_bus_bandwidth_gbps, 0),
    );
    text
}

fn table_row(row: &ResultRow) -> String {
    let mut cells = vec![
        row.size_bytes.to_string(),
        row.count.to_string(),
        row.dtype.name().to_string(),
        row.redop.clone(),
        row.root.to_string(),
    ];
    cells.extend(measurement_cells(row.out_of_place.as_ref()));
    cells.extend(measurement_cells(row.in_place.as_ref()));
    format!("| {} |\n", cells.join(" | "))
}

/// Time, algbw, busbw and #wrong of one placement; empty cells when it was not measured.
fn measurement_cells(m: Option<&Measurement>) -> [String; 4] {
    let Some(m) = m else {
        return Default::default();
    };
    [
        cfmt::fixed(m.time_us, 0, 2),
        cfmt::fixed(m.algbw_gbps, 0, 2),
        cfmt::fixed(m.bus_bandwidth_gbps, 0, 2),
        m.wrong.map_or("N/A".to_string(), |w| w.to_string()),
    ]
}
