//! Output sinks, one small file per format behind [`Sink`] (hyperfine's export/ layout). Only rank 0
//! owns sinks; rows reach it already aggregated across ranks.
//!
//! - [`text::TextSink`]: the nccl-tests 2.19.6 table, byte for byte after the first line;
//! - [`json::JsonSink`]: `-J`, nccl-tests' JSON ([`nccl_tests_json`]), and `--collbench-json`, the
//!   whole [`Report`] (schema in docs/report.schema.json);
//! - [`csv::CsvSink`] (`--csv`): one line per measured cell;
//! - [`progress::ProgressSink`]: the progress line on a terminal's stderr (no file).
//!
//! Files are written through `crate::io::atomic` (a temporary file in the same directory, renamed
//! into place), so a reader never sees half a file.

use crate::error::Result;
use crate::report::{Report, ResultRow};

pub mod cfmt;
pub mod csv;
pub mod json;
pub mod jsonl;
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
