//! Reading results back: `collbench compare` and `collbench plot` on collbench's and nccl-tests'
//! own outputs (text and `-J` JSON).
//!
//! One file per module; the helpers they share live in tests/support/.
//! - `noise`: false alarms and detection of compare against real back-to-back runs;
//! - `nccl_json`: nccl-tests' `-J` JSON report read by compare and plot;
//! - `plot`: the PNG and SVG plots;
//! - `regression`: the noise-aware regression check between two result files;
//! - `text`: text tables (nccl-tests' and collbench's) read by compare and plot.

#[path = "../support/mod.rs"]
mod support;

mod nccl_json;
mod noise;
mod plot;
mod regression;
mod text;
