//! The raw command line as clap reads it. Every value stays a string here: `crate::cli::build`
//! checks it, so each bad value gets our own message (flag, value, what is accepted) and exit 6.
//!
//! Spellings and defaults are nccl-tests 2.19.6's (getopt short and long names). Like getopt, a
//! flag's value may start with `-` (`-r -1`), `-n20` and `--iters=20` work, and a repeated flag
//! keeps its last value.

use clap::{ArgAction, Args, Parser};

/// The flags of one collective test (`allreduce-perf …`, `collbench run all_reduce …`).
#[derive(Parser, Debug, Clone, Default)]
#[command(
    no_binary_name = true,
    disable_help_flag = true,
    disable_version_flag = true,
    args_override_self = true,
    // getopt_long takes any unambiguous prefix of a long name (`--warmup 5`, `--iter 10`).
    infer_long_args = true
)]
pub struct RawArgs {
    // ---- Number of GPUs (GPU backend only; must stay 1 on the mpi backend) ----
    #[arg(
        short = 't',
        long = "nthreads",
        value_name = "N",
        allow_hyphen_values = true,
        help = "Threads per process, each driving -g GPUs [default: 1]"
    )]
    pub nthreads: Option<String>,
    #[arg(
        short = 'g',
        long = "ngpus",
        value_name = "N",
        allow_hyphen_values = true,
        help = "GPUs per thread [default: 1]"
    )]
    pub ngpus: Option<String>,

    // ---- Sizes to scan ----
    #[arg(
        short = 'b',
        long = "minbytes",
        value_name = "SIZE",
        allow_hyphen_values = true,
        help = "Smallest size; binary suffix K/M/G/T, fractions allowed (1.5G) [default: 32M]"
    )]
    pub minbytes: Option<String>,
    #[arg(
        short = 'e',
        long = "maxbytes",
        value_name = "SIZE",
        allow_hyphen_values = true,
        help = "Largest size, included when the steps reach it [default: 32M]"
    )]
    pub maxbytes: Option<String>,
    #[arg(
        short = 'i',
        long = "stepbytes",
        value_name = "SIZE",
        allow_hyphen_values = true,
        help = "Fixed increment between sizes when no factor is given; >= 1 [default: 1M]"
    )]
    pub stepbytes: Option<String>,
    #[arg(
        short = 'f',
        long = "stepfactor",
        value_name = "N",
        allow_hyphen_values = true,
        help = "Multiply sizes by this whole number >= 2; 1 = step by -i [default: 1]"
    )]
    pub stepfactor: Option<String>,

    // ---- Operation ----
    #[arg(
        short = 'o',
        long = "op",
        value_name = "OP",
        allow_hyphen_values = true,
        help = "Sum, prod, max, min, avg, mulsum or all; ignored by non-reductions [default: sum]"
    )]
    pub op: Option<String>,
    #[arg(
        short = 'd',
        long = "datatype",
        value_name = "TYPE",
        allow_hyphen_values = true,
        help = "Int8, uint8, int32, uint32, int64, uint64, half, float, double, bfloat16, f8e4m3, \
                  f8e5m2 or all [default: float]"
    )]
    pub datatype: Option<String>,
    #[arg(
        short = 'r',
        long = "root",
        value_name = "RANK",
        allow_hyphen_values = true,
        help = "Root rank of rooted collectives; -1 or all = every root in turn [default: 0]"
    )]
    pub root: Option<String>,

    // ---- Performance ----
    #[arg(
        short = 'n',
        long = "iters",
        value_name = "N",
        allow_hyphen_values = true,
        help = "Timed iterations, >= 1 [default: 20]"
    )]
    pub iters: Option<String>,
    #[arg(
        short = 'w',
        long = "warmup_iters",
        value_name = "N",
        allow_hyphen_values = true,
        help = "Untimed warm-up iterations [default: 1]"
    )]
    pub warmup_iters: Option<String>,
    #[arg(
        short = 'm',
        long = "agg_iters",
        value_name = "N",
        allow_hyphen_values = true,
        help = "Operations aggregated per iteration, >= 1 [default: 1]"
    )]
    pub agg_iters: Option<String>,
    #[arg(
        short = 'N',
        long = "run_cycles",
        value_name = "N",
        allow_hyphen_values = true,
        help = "Run and print the whole sweep N times; 0 = until interrupted [default: 1]"
    )]
    pub run_cycles: Option<String>,
    #[arg(
        short = 'a',
        long = "average",
        value_name = "0-3",
        allow_hyphen_values = true,
        help = "Reported time across ranks: 0 rank 0, 1 average, 2 min, 3 max [default: 1]"
    )]
    pub average: Option<String>,
    #[arg(
        short = 'I',
        long = "per_iter_timing",
        value_name = "0/1",
        allow_hyphen_values = true,
        help = "Per-iteration statistics columns i_min i_max i_p99 i_cv% [default: 0]"
    )]
    pub per_iter_timing: Option<String>,
    #[arg(
        short = 'K',
        long = "per_iter_skip",
        value_name = "N",
        allow_hyphen_values = true,
        help = "With -I 1, statistics skip the first N iterations; < -n [default: 0]"
    )]
    pub per_iter_skip: Option<String>,

    // ---- Test operation ----
    #[arg(
        short = 'p',
        long = "parallel_init",
        value_name = "0/1",
        allow_hyphen_values = true,
        help = "Threads initialise their communicators in parallel [default: 0]"
    )]
    pub parallel_init: Option<String>,
    #[arg(
        short = 'c',
        long = "check",
        value_name = "N",
        allow_hyphen_values = true,
        help = "Check results N times per size; 0 = no check (N/A) [default: 1]"
    )]
    pub check: Option<String>,
    #[arg(
        short = 'z',
        long = "blocking",
        value_name = "0-3",
        allow_hyphen_values = true,
        help = "0 wait once per size, 1 wait+barrier per op, 2 wait per op, 3 wait+barrier per \
                  iteration [default: 0]"
    )]
    pub blocking: Option<String>,
    #[arg(
        short = 'y',
        long = "stream_null",
        value_name = "0/1",
        allow_hyphen_values = true,
        help = "Launch on the CUDA null stream (GPU only) [default: 0]"
    )]
    pub stream_null: Option<String>,
    #[arg(
        short = 'T',
        long = "timeout",
        value_name = "SECONDS",
        allow_hyphen_values = true,
        help = "Watchdog: abort the whole job when a wait lasts longer; 0 = none [default: 0]"
    )]
    pub timeout: Option<String>,
    #[arg(
        short = 'G',
        long = "cudagraph",
        value_name = "N",
        allow_hyphen_values = true,
        help = "Capture the iterations in a CUDA graph and launch it N times (GPU only) [default: 0]"
    )]
    pub cudagraph: Option<String>,
    #[arg(
        short = 'C',
        long = "report_cputime",
        value_name = "0/1",
        allow_hyphen_values = true,
        help = "Report the CPU time to enqueue instead of the time to complete [default: 0]"
    )]
    pub report_cputime: Option<String>,
    #[arg(
        short = 'S',
        long = "report_timestamps",
        value_name = "0/1",
        allow_hyphen_values = true,
        help = "Add a timestamp to each result line [default: 0]"
    )]
    pub report_timestamps: Option<String>,
    #[arg(
        short = 'J',
        long = "output_file",
        value_name = "FILE",
        allow_hyphen_values = true,
        help = "Write the results as nccl-tests 2.19.6's JSON; an existing FILE is kept and \
                FILE.0, FILE.1, ... taken instead [default: none]"
    )]
    pub output_file: Option<String>,
    #[arg(
        short = 'R',
        long = "local_register",
        value_name = "0-2",
        allow_hyphen_values = true,
        help = "0 none, 1 local, 2 symmetric NCCL buffer registration (GPU only) [default: 0]"
    )]
    pub local_register: Option<String>,
    #[arg(
        short = 'M',
        long = "memory_report",
        // nccl-tests' getopt table names it `memory` (its usage text says memory_report).
        visible_alias = "memory",
        value_name = "0/1",
        allow_hyphen_values = true,
        help = "Report every rank's memory after allocation under the rank lines and in -J (GPU or host memory) [default: 0]"
    )]
    pub memory_report: Option<String>,
    #[arg(
        short = 'u',
        long = "unalign",
        value_name = "N",
        allow_hyphen_values = true,
        help = "Offset device buffers by N elements to test unaligned access (GPU only) [default: 0]"
    )]
    pub unalign: Option<String>,

    // ---- nccl-tests flags collbench does not implement (clear error instead of "unknown") ----
    #[arg(
        short = 'x',
        long = "cta_policy",
        value_name = "N",
        allow_hyphen_values = true,
        hide = true
    )]
    pub cta_policy: Option<String>,
    #[arg(
        short = 'D',
        long = "device_implementation",
        value_name = "N",
        allow_hyphen_values = true,
        hide = true
    )]
    pub device_implementation: Option<String>,
    #[arg(
        short = 'V',
        long = "device_cta_count",
        value_name = "N",
        allow_hyphen_values = true,
        hide = true
    )]
    pub device_cta_count: Option<String>,

    // ---- collbench additions ----
    #[arg(
        long = "backend",
        value_name = "auto|nccl|mpi",
        allow_hyphen_values = true,
        help = "Auto: NCCL when GPUs and libnccl are usable, else mpi (host memory) [default: auto]"
    )]
    pub backend: Option<String>,
    #[arg(
        long = "csv",
        value_name = "FILE",
        allow_hyphen_values = true,
        help = "Also write one CSV row per (size, type, op, root, placement) [default: none]"
    )]
    pub csv: Option<String>,
    #[arg(
        long = "collbench-json",
        value_name = "FILE",
        allow_hyphen_values = true,
        help = "Also write collbench's full report as JSON (schema docs/report.schema.json), \
                replacing FILE [default: none]"
    )]
    pub collbench_json: Option<String>,
    #[arg(
        long = "seed",
        value_name = "N",
        allow_hyphen_values = true,
        help = "Seed of the generated data, same on every rank [default: fixed]"
    )]
    pub seed: Option<String>,

    #[command(flatten)]
    pub acceptance: AcceptanceArgs,

    #[command(flatten)]
    pub precision: super::precision::PrecisionArgs,

    #[arg(short = 'h', long = "help", action = ArgAction::SetTrue, help = "Print help")]
    pub help: bool,
    /// Answered before parsing (every program name prints collbench's version); listed for -h.
    #[arg(long = "version", action = ArgAction::SetTrue, help = "Print version")]
    pub version: bool,
}

/// Acceptance verdict flags (`--min-busbw`, `--profile`, `--jsonl`, `--prom-file`, `--push-gateway`,
/// `--require-net`). Owned by the acceptance work: add the flags here and their checked values in
/// `crate::plan::AcceptancePlan` (built in `crate::cli::build::acceptance_plan`).
#[derive(Args, Debug, Clone, Default)]
pub struct AcceptanceArgs {
    #[arg(
        long = "min-busbw",
        value_name = "GBPS|LIST",
        allow_hyphen_values = true,
        help = "Fail (exit 7) when busbw of a size >= --min-busbw-size is below GBPS, or with a LIST \
                SIZE=GBPS,... (e.g. 1M=5,16M=40) when the row of each listed size is below its \
                floor [default: none]"
    )]
    pub min_busbw: Option<String>,
    #[arg(
        long = "warn-busbw",
        value_name = "GBPS|LIST",
        allow_hyphen_values = true,
        help = "Warn (exit 8 when nothing failed) when busbw is below this floor; same forms as \
                --min-busbw, at or above its floor [default: none]"
    )]
    pub warn_busbw: Option<String>,
    #[arg(
        long = "min-busbw-size",
        value_name = "SIZE",
        allow_hyphen_values = true,
        help = "Smallest size --min-busbw applies to [default: 1G, or the largest size run if less]"
    )]
    pub min_busbw_size: Option<String>,
    #[arg(
        long = "profile",
        value_name = "NAME|FILE|auto",
        allow_hyphen_values = true,
        help = "Check busbw against an acceptance profile (results/profiles: p4d.24xlarge, \
                p5.48xlarge, p5en.48xlarge, h100-nvlink-8gpu), a .toml file, or auto (instance \
                type, then GPU model) [default: none]"
    )]
    pub profile: Option<String>,
    #[arg(
        long = "jsonl",
        value_name = "FILE",
        allow_hyphen_values = true,
        help = "Append each finished row to FILE as JSON Lines, flushed per row [default: none]"
    )]
    pub jsonl: Option<String>,
    #[arg(
        long = "prom-file",
        value_name = "FILE",
        allow_hyphen_values = true,
        help = "Write Prometheus textfile metrics (node_exporter), atomically, after every row \
                [default: none]"
    )]
    pub prom_file: Option<String>,
    #[arg(
        long = "push-gateway",
        value_name = "URL",
        allow_hyphen_values = true,
        help = "Push the metrics to a Prometheus Pushgateway at the end (http://host:9091) \
                [default: none]"
    )]
    pub push_gateway: Option<String>,
    #[arg(
        long = "require-net",
        value_name = "NAME",
        allow_hyphen_values = true,
        help = "Fail (exit 7) unless NCCL selected this network on every rank: socket (tcp), ib, \
                ofi (libfabric), efa (libfabric with the efa provider), or a name as NCCL prints \
                it; NCCL backend only [default: none]"
    )]
    pub require_net: Option<String>,
}
