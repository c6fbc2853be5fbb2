//! The one support module of the integration tests, included by every area binary
//! (`tests/<area>/main.rs`). Each binary uses a subset of it, hence `dead_code` is allowed here.
//!
//! - [`anchors`]: where the real nccl-tests 2.19.6 outputs are, and reading them;
//! - [`schema`]: `docs/report.schema.json` as a validator, and reading JSON files;
//! - [`process`]: the package's binaries, run alone or under a real `mpirun`, always bounded by a
//!   timeout that kills the whole process group;
//! - [`cli`]: parsing command lines with the environment as a map;
//! - [`model`]: reference arithmetic in the target type;
//! - [`output`]: reports rebuilt from anchors or aggregated from synthetic samples, and a reader of
//!   the text table that works the way health-check scripts do;
//! - [`accept`]: acceptance reports, signalling a run's ranks;
//! - [`compare`]: the collbench binary for compare/plot, and the fuzzers' mutation;
//! - [`fabric`]: `collbench fabric …` as a process;
//! - [`gateway`], [`prometheus_server`]: a real Pushgateway and a real Prometheus.
#![allow(dead_code)]

pub mod accept;
pub mod anchors;
pub mod cli;
pub mod compare;
pub mod fabric;
pub mod gateway;
pub mod model;
pub mod output;
pub mod process;
pub mod prometheus_server;
pub mod schema;
