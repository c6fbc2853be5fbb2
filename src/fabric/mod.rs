//! `collbench fabric …`: libfabric diagnostics (provider inventory, loopback and pairwise
//! bandwidth/latency with verified payloads). `nccl_net`, the parser that tells which network NCCL
//! used, lives with the NCCL backend (`crate::backend::nccl::net_log`) and is re-exported here.
//!
//! - `collbench fabric info [--provider P] [--instance-type T] [--json FILE]`
//! - `collbench fabric loopback [--provider P] [--domain D | --all-domains] [-b MIN -e MAX -f F]
//!   [--iters N] [--bw-iters N] [--window W] [--no-rma] [--min-bw GBPS] [--max-lat US]
//!   [--timeout SECS] [--json FILE] [--inject-corruption]`
//! - `collbench fabric pingpong …` (same flags, under mpirun/srun; feature `mpi`)
//!
//! Exit codes: 0 ok; 1 output file; 4 a wait exceeded --timeout; 5 libfabric/MPI failure;
//! 6 usage, including a provider or domain this host does not have (the message lists what it
//! has); 7 a payload failed verification, a threshold failed, or the EFA device count does not
//! match the instance type.
//!
//! The libfabric parts need the cargo feature `fabric` (and the libfabric >= 1.14 headers at build
//! time; the library itself is loaded on first use, see `ofi::loader`); without the feature the
//! commands parse and answer with exit 6 naming the feature. `payload`, `stats`,
//! `results`, `verdict`, `pairing` and `efa_expect` are pure and always built.

pub mod cli;
pub mod efa_expect;
pub mod host;
pub mod pairing;
pub mod payload;
pub mod results;
pub mod stats;
pub mod verdict;

#[cfg(feature = "fabric")]
pub mod ofi;

#[cfg(feature = "fabric")]
pub mod engine;
#[cfg(feature = "fabric")]
pub mod info_cmd;
#[cfg(feature = "fabric")]
pub mod loopback;
#[cfg(all(feature = "fabric", feature = "mpi"))]
pub mod pingpong;
#[cfg(feature = "fabric")]
pub mod select;
#[cfg(feature = "fabric")]
pub(crate) mod transfer_setup;

pub use crate::backend::nccl::net_log as nccl_net;
pub use cli::{FabricCli, FabricCommand};

/// Runs `collbench fabric <args>` (args without the leading "fabric"). Help and version
/// requests print and return Ok.
pub fn run(args: &[String]) -> crate::error::Result<()> {
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(error) => {
            use clap::error::ErrorKind;
            return match error.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let text = crate::cli::commands::help_or_version(&error).unwrap_or_default();
                    crate::io::console::print(&text);
                    Ok(())
                }
                _ => Err(crate::error::CollbenchError::Usage(format!(
                    "collbench fabric: {}; accepted: the commands and flags `collbench fabric \
                     [info|loopback|pingpong] --help` lists",
                    crate::cli::clap_error_summary(&error)
                ))),
            };
        }
    };
    dispatch(cli.command)
}

#[cfg(feature = "fabric")]
fn dispatch(command: FabricCommand) -> crate::error::Result<()> {
    match command {
        FabricCommand::Info(args) => info_cmd::run(&args),
        FabricCommand::Loopback(args) => loopback::run(&args),
        FabricCommand::Pingpong(args) => pingpong_entry(&args),
    }
}

#[cfg(not(feature = "fabric"))]
fn dispatch(_command: FabricCommand) -> crate::error::Result<()> {
    Err(crate::error::CollbenchError::Unsupported(
        "collbench fabric: this collbench was built without the `fabric` feature; rebuild with `cargo build --features fabric` (needs libfabric >= 1.14 and its pkg-config file, Debian: libfabric-dev)".into(),
    ))
}

#[cfg(all(feature = "fabric", feature = "mpi"))]
fn pingpong_entry(args: &cli::TransferArgs) -> crate::error::Result<()> {
    pingpong::run(args)
}

#[cfg(all(feature = "fabric", not(feature = "mpi")))]
fn pingpong_entry(_args: &cli::TransferArgs) -> crate::error::Result<()> {
    Err(crate::error::CollbenchError::Unsupported(
        "collbench fabric pingpong: pairs of ranks need MPI; rebuild with `--features fabric,mpi` and run under mpirun or srun".into(),
    ))
}

/// `run`, with the error printed to stderr and mapped to the documented exit code.
pub fn fabric_main(args: &[String]) -> i32 {
    match run(args) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("collbench fabric: {error}");
            error.exit_code()
        }
    }
}

#[cfg(test)]
mod command_line_tests {
    #[test]
    fn a_bad_command_line_is_one_line_saying_what_is_accepted() {
        // Was clap's whole rendering: "error: the argument '--iters <N>' cannot be used multiple
        // times", a blank line, the usage and "For more information, try '--help'.".
        for args in [
            &["loopback", "--iters", "5", "--iters", "0"][..],
            &["info", "--bogus"][..],
            &["loopback", "-b", "3X"][..],
        ] {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            let err = super::run(&args).unwrap_err();
            assert_eq!(err.exit_code(), 6, "{err}");
            let msg = err.to_string();
            assert!(!msg.contains('\n'), "{msg}");
            assert!(!msg.contains("error: error"), "{msg}");
            assert!(msg.contains("accepted:"), "{msg}");
        }
    }
}
