//! Output sinks, one small file per format behind [`Sink`] (hyperfine's export/ layout). Only rank 0
//! owns sinks; rows reach it already aggregated across ranks.

pub mod atomic;
pub mod jsonl;
pub mod prometheus;
pub mod pushgateway;

use crate::error::Result;
use crate::report::{Report, ResultRow};

pub trait Sink {
    /// Called once before the first row; `report` holds the header (no results yet).
    fn begin(&mut self, report: &Report) -> Result<()>;
    /// Called for each finished row, in order.
    fn row(&mut self, report: &Report, row: &ResultRow) -> Result<()>;
    /// Called once at the end (also after an interruption, with `report.complete == false`).
    fn finish(&mut self, report: &Report) -> Result<()>;
}
