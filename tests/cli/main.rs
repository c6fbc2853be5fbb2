//! Command lines: what is accepted (nccl-tests' flags, defaults and spellings, the `collbench`
//! umbrella) and what is refused, with a usage error that names the flag, the value and what would
//! be accepted.
//!
//! One file per module; the helpers they share live in tests/support/.
//! - `accepted`: accepted command lines, defaults, sweeps, `all` selections, NCCL_TESTS_SPLIT, the umbrella;
//! - `multicall`: one binary, every name (argv[0] or a subcommand);
//! - `validation`: every bad command line is a usage error (exit 6) before any work.

#[path = "../support/mod.rs"]
mod support;

mod accepted;
mod multicall;
mod validation;
