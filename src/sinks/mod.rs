//! Output sinks, one small file per format behind [`Sink`] (hyperfine's export/ layout). Only rank 0
//! owns sinks; rows reach it already aggregated across ranks.
//!
//! - [`text::TextSink`]: the nccl-tests 2.19.6 table on stdout, byte for byte after the first line;
//! - [`progress::ProgressSink`]: the progress line on a terminal's stderr (no file);
//! - the file formats, one per [`OutputFormat`], each named by one flag of the flag table
//!   (`crate::plan::flags`) and opened by [`open`]: [`json::JsonSink`] (`-J`, nccl-tests' JSON
//!   ([`nccl_tests_json`]), and `--collbench-json`, the whole [`Report`], schema in
//!   docs/report.schema.json), [`csv::CsvSink`] (`--csv`), [`jsonl::JsonlSink`] (`--jsonl`) and
//!   [`prometheus::PromFileSink`] (`--prom-file`).
//!
//! Files are written through `crate::io::atomic` (a temporary file in the same directory, renamed
//! into place), so a reader never sees half a file.

use crate::error::Result;
use crate::plan::OutputFormat;
use crate::report::{Report, ResultRow};
use std::path::Path;

pub mod cfmt;
pub mod csv;
pub mod json;
pub mod jsonl;
pub mod markdown;
pub mod nccl_tests_json;
pub mod progress;
pub mod prometheus;
pub mod pushgateway;
pub mod text;

pub use self::csv::CsvSink;
pub use self::json::JsonSink;
pub use self::text::TextSink;

/// Calls arrive in order: `begin`, `row` for each finished row, `finish`. `report` carries the
/// header fields throughout; whether `report.results` already holds the rows passed to `row` is up
/// to the runner, so sinks keep what they need themselves. At `finish`, `report.results` holds
/// every row (or is empty, and the sink uses the rows it was given) and `report.summary` is final.
pub trait Sink {
    /// Called once before the first row; `report` holds the header (no results yet).
    fn begin(&mut self, report: &Report) -> Result<()>;
    /// Called for each finished row, in order.
    fn row(&mut self, report: &Report, row: &ResultRow) -> Result<()>;
    /// Called once at the end (also after an interruption, with `report.complete == false`).
    fn finish(&mut self, report: &Report) -> Result<()>;
}

/// A file format's sink, opened.
pub struct Opened {
    pub sink: Box<dyn Sink>,
    /// A line the table prints first (nccl-tests names the JSON file it writes there).
    pub announcement: Option<String>,
}

/// Opens the sink of `format` writing `path` (its directory already checked).
pub fn open(format: OutputFormat, path: &Path) -> Result<Opened> {
    let sink: Box<dyn Sink> = match format {
        OutputFormat::NcclTestsJson => {
            // nccl-tests keeps an existing file and names the one it writes on stdout's first line.
            let claimed = nccl_tests_json::claim(path)?;
            return Ok(Opened {
                announcement: Some(nccl_tests_json::announcement(&claimed)),
                sink: Box::new(JsonSink::nccl_tests(claimed)),
            });
        }
        OutputFormat::CollbenchJson => Box::new(JsonSink::new(path)),
        OutputFormat::Csv => Box::new(CsvSink::new(path)),
        OutputFormat::Markdown => Box::new(markdown::MarkdownSink::new(path)),
        OutputFormat::Jsonl => Box::new(jsonl::JsonlSink::open(path)?),
        OutputFormat::Prometheus => Box::new(prometheus::PromFileSink::new(path)),
    };
    Ok(Opened {
        sink,
        announcement: None,
    })
}
