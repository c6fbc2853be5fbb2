//! Command lines: what is accepted (nccl-tests' flags, defaults and spellings, the `collbench`
//! umbrella) and what is refused, with a usage error that names the flag, the value and what would
//! be accepted.
//!
//! One file per module; the helpers they share live in tests/support/.
//! - `accepted`: accepted command lines, defaults, sweeps, `all` selections, NCCL_TESTS_SPLIT, the umbrella;
//! - `help`: every binary's and subcommand's help against tests/golden/help, `--version` everywhere;
//! - `multicall`: one binary, every name (argv[0] or a subcommand);
//! - `progress`: the progress line on a pseudo-terminal's stderr, never on a pipe, stdout or a file;
//! - `validation`: every bad command line is a usage error (exit 6) before any work.

#[path = "../support/mod.rs"]
mod support;

mod accepted;
mod help;
mod multicall;
mod nccl_features;
mod progress;
mod validation;
