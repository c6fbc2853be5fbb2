//! collbench: a collective-communication benchmark suite (nccl-tests compatible).
//!
//! Data flows one way, and the modules follow it:
//! `cli` → `plan` (validated) → `world` (ranks, hosts) → `backend` (buffers, launches) →
//! `measure` (timed loop, runner) → `aggregate` (across ranks) → `sinks` (text, JSON, CSV…) →
//! exit code (`error::CollbenchError::exit_code`).
//! `collectives`, `data` and `types` are the model every stage shares; `report` is the result model.

pub mod accept;
pub mod aggregate;
pub mod app;
pub mod backend;
pub mod cli;
pub mod collectives;
pub mod compare;
pub mod data;
pub mod dynlib;
pub mod error;
pub mod fabric;
pub mod faults;
pub mod io;
pub mod measure;
pub mod plan;
pub mod plot;
pub mod report;
pub mod sinks;
pub mod sweep;
pub mod types;
pub mod verdict;
pub mod world;

pub use error::{CollbenchError, Result};
