//! Command line of `collbench fabric …` (parsed here, validated into plans by the commands).

use crate::error::{CollbenchError, Result};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Environment variable that arms the corruption test hook like `--inject-corruption`.
pub const CORRUPTION_ENV: &str = "COLLBENCH_TEST_FABRIC_CORRUPT";

#[derive(Debug, Parser)]
#[command(
    name = "collbench fabric",
    version,
    propagate_version = true,
    about = "libfabric diagnostics: provider inventory, loopback and pairwise bandwidth/latency with verified payloads",
    after_help = "Exit codes: 0 ok, 1 output file not writable, 4 a wait timed out, 5 libfabric or MPI failure, \
6 usage (including a --provider this host does not have), 7 payload verification or a threshold failed \
(or the EFA device count does not match the instance type)."
)]
pub struct FabricCli {
    #[command(subcommand)]
    pub command: FabricCommand,
}

#[derive(Debug, Subcommand)]
pub enum FabricCommand {
    /// List providers, fabrics, domains, endpoint types and capabilities; check the EFA device
    /// count against the instance type.
    Info(InfoArgs),
    /// Two endpoints on this node (two threads) over one provider: size sweep of send/recv (and
    /// RMA write/read when available), every payload verified.
    Loopback(LoopbackArgs),
    /// Pairs of MPI ranks (0<->1, 2<->3 …; an odd last rank pairs with rank 0 in a second round):
    /// per-pair bandwidth and latency, slowest pair named. Needs the `mpi` feature; run under
    /// mpirun/srun.
    Pingpong(TransferArgs),
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Only this provider (e.g. efa, tcp, shm, "tcp;ofi_rxm").
    #[arg(long, value_name = "P", value_parser = parse_name)]
    pub provider: Option<String>,
    /// Also write the inventory as JSON to FILE (as the perf tools' -J).
    #[arg(
        short = 'J',
        long = "output_file",
        visible_alias = "json",
        value_name = "FILE"
    )]
    pub json: Option<PathBuf>,
    /// EC2 instance type to check the EFA device count against (default: read from
    /// /sys/devices/virtual/dmi/id/product_name).
    #[arg(long, value_name = "TYPE", value_parser = parse_name)]
    pub instance_type: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct LoopbackArgs {
    #[command(flatten)]
    pub transfer: TransferArgs,
    /// Run the check once per domain (NIC) of the provider, like HyperPod's per-device EFA
    /// loopback check; fails when any domain fails.
    #[arg(long, conflicts_with = "domain")]
    pub all_domains: bool,
    /// EC2 instance type (default: read from /sys/devices/virtual/dmi/id/product_name). With no
    /// --provider, on a type that should have EFA (p4d, p4de, p5, p5e, p5en) a missing efa
    /// provider fails the check (exit 7) instead of falling back to another provider.
    #[arg(long, value_name = "TYPE", value_parser = parse_name)]
    pub instance_type: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct TransferArgs {
    /// Provider to test (default: efa, else the best reliable-datagram provider available).
    #[arg(long, value_name = "P", value_parser = parse_name)]
    pub provider: Option<String>,
    /// Domain (NIC) of the provider to use (default: libfabric's first).
    #[arg(long, value_name = "D", value_parser = parse_name)]
    pub domain: Option<String>,
    /// Smallest message size (bytes; K, M, G suffixes are powers of 1024).
    #[arg(short = 'b', long = "minbytes", value_name = "MIN", default_value = "8", value_parser = parse_size)]
    pub min_bytes: usize,
    /// Largest message size.
    #[arg(short = 'e', long = "maxbytes", value_name = "MAX", default_value = "4M", value_parser = parse_size)]
    pub max_bytes: usize,
    /// Multiplication factor between sizes.
    #[arg(
        short = 'f',
        long = "stepfactor",
        value_name = "F",
        default_value_t = 2
    )]
    pub step_factor: usize,
    /// Timed ping-pongs (and one-at-a-time RMA operations) per size (as the perf tools' -n;
    /// a larger default, 100, since latency percentiles need samples).
    #[arg(short = 'n', long = "iters", value_name = "N", default_value_t = 100)]
    pub iters: usize,
    /// Timed bandwidth windows per size.
    #[arg(long = "bw-iters", value_name = "N", default_value_t = 10)]
    pub bw_iters: usize,
    /// Untimed ping-pongs before each size (plus one untimed window); 0 disables (as the perf
    /// tools' -w).
    #[arg(
        short = 'w',
        long = "warmup_iters",
        visible_alias = "warmup",
        value_name = "N",
        default_value_t = 4
    )]
    pub warmup: usize,
    /// Messages in flight in a bandwidth window (fewer for large messages: 64 MiB per buffer).
    #[arg(long, value_name = "W", default_value_t = 64)]
    pub window: usize,
    /// Measure send/recv only, even when the provider has RMA.
    #[arg(long)]
    pub no_rma: bool,
    /// Fail (exit 7) when the best send/recv bandwidth (MaxBw, GB/s) is below this.
    #[arg(long = "min-bw", value_name = "GBPS", allow_negative_numbers = true)]
    pub min_bw_gb_per_s: Option<f64>,
    /// Fail (exit 7) when the smallest typical send/recv latency (MinTypicalLat, us) is above this.
    #[arg(long = "max-lat", value_name = "US", allow_negative_numbers = true)]
    pub max_lat_us: Option<f64>,
    /// Longest wait for any single completion or peer message, in seconds (exit 4 when exceeded).
    /// Unlike the perf tools' -T (0 = no watchdog), every fabric wait is bounded: give more than 0.
    #[arg(
        short = 'T',
        long = "timeout",
        value_name = "SECONDS",
        default_value_t = 30.0,
        allow_negative_numbers = true
    )]
    pub timeout: f64,
    /// Also write the results as JSON to FILE (as the perf tools' -J).
    #[arg(
        short = 'J',
        long = "output_file",
        visible_alias = "json",
        value_name = "FILE"
    )]
    pub json: Option<PathBuf>,
    /// Test hook: corrupt one received payload so that verification must fail (exit 7). Also
    /// armed by COLLBENCH_TEST_FABRIC_CORRUPT=1.
    #[arg(long)]
    pub inject_corruption: bool,
}

/// A provider, domain or instance type name. An empty value (`--provider "$UNSET_VARIABLE"`) is
/// refused: libfabric reads an empty provider name as "any provider", so the run would silently
/// test another provider than the one the script meant.
pub fn parse_name(text: &str) -> std::result::Result<String, String> {
    let name = text.trim();
    if name.is_empty() {
        return Err(format!(
            "'{text}' is empty; give a name such as efa, tcp, shm or \"tcp;ofi_rxm\" \
             (`collbench fabric info` lists this host's providers and domains), or leave the flag out"
        ));
    }
    Ok(name.to_string())
}

/// Parses "8", "64K", "4M", "1G" (powers of 1024, as nccl-tests).
pub fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let trimmed = text.trim();
    let (digits, multiplier) = match trimmed.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&trimmed[..trimmed.len() - 1], 1usize << 10),
        Some('M') => (&trimmed[..trimmed.len() - 1], 1 << 20),
        Some('G') => (&trimmed[..trimmed.len() - 1], 1 << 30),
        _ => (trimmed, 1),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("'{text}' is not a size; give bytes like 8, 64K, 4M or 1G"))
}

impl TransferArgs {
    /// The message sizes of the sweep, after checking the flags make sense.
    pub fn sizes(&self) -> Result<Vec<usize>> {
        if self.min_bytes == 0 {
            return Err(CollbenchError::Usage(
                "-b/--minbytes 0: messages must carry at least 1 byte to be verified; give 1 or more".into(),
            ));
        }
        if self.max_bytes < self.min_bytes {
            return Err(CollbenchError::Usage(format!(
                "-e/--maxbytes {} is below -b/--minbytes {}; give MAX >= MIN",
                self.max_bytes, self.min_bytes
            )));
        }
        if self.step_factor < 2 && self.max_bytes > self.min_bytes {
            return Err(CollbenchError::Usage(format!(
                "-f/--stepfactor {}: the factor between sizes must be 2 or more",
                self.step_factor
            )));
        }
        let mut sizes = vec![self.min_bytes];
        let mut size = self.min_bytes;
        while let Some(next) = size.checked_mul(self.step_factor) {
            if next > self.max_bytes || self.max_bytes == self.min_bytes {
                break;
            }
            sizes.push(next);
            size = next;
        }
        Ok(sizes)
    }

    pub fn validate(&self) -> Result<()> {
        self.sizes()?;
        let positive = |value: usize, flag: &str| {
            if value == 0 {
                Err(CollbenchError::Usage(format!("{flag} 0: give 1 or more")))
            } else {
                Ok(())
            }
        };
        positive(self.iters, "-n/--iters")?;
        positive(self.bw_iters, "--bw-iters")?;
        positive(self.window, "--window")?;
        if self.window > 4096 {
            return Err(CollbenchError::Usage(format!(
                "--window {}: at most 4096 messages may be in flight",
                self.window
            )));
        }
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            return Err(CollbenchError::Usage(format!(
                "-T/--timeout {}: give a positive number of seconds (fabric bounds every wait)",
                self.timeout
            )));
        }
        for (value, flag) in [
            (self.min_bw_gb_per_s, "--min-bw"),
            (self.max_lat_us, "--max-lat"),
        ] {
            if let Some(v) = value {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(CollbenchError::Usage(format!(
                        "{flag} {v}: give a non-negative number"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The flag or the environment variable armed the corruption hook.
    pub fn corruption_requested(&self) -> bool {
        self.inject_corruption
            || std::env::var(CORRUPTION_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
    }
}

/// Parses `args` (without the leading "fabric"); clap's own help/version output is a usage
/// "error" carrying the text, which the caller prints with exit 0.
pub fn parse(args: &[String]) -> std::result::Result<FabricCli, clap::Error> {
    FabricCli::try_parse_from(
        std::iter::once("collbench fabric".to_string()).chain(args.iter().cloned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(args: &[&str]) -> TransferArgs {
        let mut all = vec!["loopback"];
        all.extend_from_slice(args);
        let args: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        match parse(&args).expect("parses").command {
            FabricCommand::Loopback(a) => a.transfer,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn sizes_follow_the_step_factor_and_suffixes() {
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert!(parse_size("4X").is_err());
        assert_eq!(
            transfer(&["-b", "8", "-e", "64"]).sizes().unwrap(),
            vec![8, 16, 32, 64]
        );
        assert_eq!(
            transfer(&["-b", "1K", "-e", "1K"]).sizes().unwrap(),
            vec![1024]
        );
        assert_eq!(
            transfer(&["-b", "3", "-e", "100", "-f", "4"])
                .sizes()
                .unwrap(),
            vec![3, 12, 48]
        );
    }

    #[test]
    fn bad_flag_values_are_usage_errors() {
        for args in [
            vec!["-b", "0"],
            vec!["-b", "64", "-e", "8"],
            vec!["-f", "1"],
            vec!["--iters", "0"],
            vec!["--window", "5000"],
            vec!["--timeout", "0"],
            vec!["--timeout", "-2"],
            vec!["--max-lat", "-1"],
            vec!["--min-bw", "-1"],
        ] {
            let error = transfer(&args).validate().expect_err("must be rejected");
            assert_eq!(error.exit_code(), 6, "{args:?}: {error}");
        }
        assert!(transfer(&[]).validate().is_ok());
    }

    #[test]
    fn the_perf_tools_spellings_and_the_old_ones_set_the_same_fields() {
        let short = transfer(&["-n", "7", "-w", "2", "-T", "9", "-J", "out.json"]);
        let long = transfer(&[
            "--iters",
            "7",
            "--warmup",
            "2",
            "--timeout",
            "9",
            "--json",
            "out.json",
        ]);
        let new_long = transfer(&[
            "--warmup_iters",
            "2",
            "--output_file",
            "out.json",
            "--iters",
            "7",
            "--timeout",
            "9",
        ]);
        for args in [&short, &long, &new_long] {
            assert_eq!(
                (args.iters, args.warmup, args.timeout, args.json.as_deref()),
                (7, 2, 9.0, Some(std::path::Path::new("out.json")))
            );
        }
        let defaults = transfer(&[]);
        assert_eq!(
            (defaults.iters, defaults.warmup, defaults.timeout),
            (100, 4, 30.0)
        );
        let info = parse(&["info".to_string(), "-J".to_string(), "i.json".to_string()]).unwrap();
        assert!(matches!(
            info.command,
            FabricCommand::Info(InfoArgs { json: Some(_), .. })
        ));
    }

    #[test]
    fn empty_provider_domain_and_instance_type_are_refused() {
        for args in [
            vec!["loopback", "--provider", ""],
            vec!["loopback", "--domain", " "],
            vec!["pingpong", "--provider", ""],
            vec!["info", "--provider", ""],
            vec!["info", "--instance-type", ""],
            vec!["loopback", "--instance-type", ""],
        ] {
            let owned: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            let error = parse(&owned).expect_err("an empty name must be refused");
            let text = error.to_string();
            assert!(
                text.contains("is empty") && text.contains("efa"),
                "{args:?}: {text}"
            );
        }
        assert_eq!(
            transfer(&["--provider", " shm "]).provider.as_deref(),
            Some("shm")
        );
    }
}
