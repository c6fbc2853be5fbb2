//! The outputs: the text table against nccl-tests byte for byte, `-J` against its schema, `--csv`,
//! and the golden outputs of fixed-seed runs in every format.
//!
//! One file per module; the helpers they share live in tests/support/.
//! - `csv`: the `--csv` sink;
//! - `dropin_stdout`: stdout stays nccl-tests' in every mode, a merged 2>&1 log still parses;
//! - `golden`: every output format of fixed-seed runs, byte for byte against tests/golden;
//! - `json`: the `-J` sink against docs/report.schema.json;
//! - `markdown`: the `--markdown` sink;
//! - `names`: one name per quantity: docs/output.md's table against JSON, CSV and Prometheus;
//! - `nccl_json`: `-J` against nccl-tests' JSON writer, key by key and type by type;
//! - `text`: the text sink against the nccl-tests anchors, read as health-check scripts read it.

#[path = "../support/mod.rs"]
mod support;

mod csv;
mod dropin_stdout;
mod golden;
mod json;
mod markdown;
mod names;
mod nccl_json;
mod text;
