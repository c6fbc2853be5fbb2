//! The per-collective command line (`allreduce-perf …`, `collbench run`, `collbench accept`), each
//! flag written once: its letters, long name, value name, default, value kind, help line, whether
//! it only means something on GPUs and whether every rank must be given the same value.
//!
//! Everything else is derived from [`FLAGS`]: clap's arguments and the `-h` text
//! (`crate::cli::args`), the accepted-flags list of usage errors, the defaults the parser falls back
//! on (`crate::cli::build`), the fields ranks agree on ([`TestPlan::agreement_fields`]) and the
//! host backend's refusal of GPU-only flags ([`TestPlan::require_gpu_flags_unused`]). The table
//! lists the flags in the order `-h` shows them (nccl-tests' order, then collbench's additions).

use super::acceptance::ProfileChoice;
use super::device_api::DeviceImplementation;
use super::outputs::OutputFormat;
use super::TestPlan;
use crate::types::values::{Flag, INT_FLAG_MAX};

/// What `[default: …]` says, and what the parser reads when the flag is absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Default {
    /// Parsed exactly like a value given on the command line.
    Value(&'static str),
    /// Absent means "not set" (no file, no floor…); the text only describes that.
    Described(&'static str),
}

/// How a value is checked (the checks of the other kinds live with their types in `crate::cli`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An integer within `min..=max` (decimal, 0x, 0b).
    Int { min: u64, max: u64 },
    /// `0` or `1`.
    Switch,
    /// A byte count with an optional K/M/G/T suffix.
    Size,
    /// An output file: not empty and not a directory when parsed; its directory probed by rank 0
    /// when it opens the file.
    Path,
    /// An output file probed in full (its directory exists and takes files) by every rank while
    /// the flags are parsed.
    ProbedPath,
    /// Anything else: the flag's own parser in `crate::cli`.
    Text,
}

/// A value of the plan rendered for the rank-agreement check or the GPU-only message.
pub type Render = fn(&TestPlan) -> String;

/// Whether every rank must be given the same value (`crate::world::agree`).
#[derive(Clone, Copy)]
pub enum Ranks {
    /// Ranks compare this rendering of the checked value, under the flag's name.
    Agree(Render),
    /// Ranks compare this rendering under `label` (one field for several flags: the sizes).
    AgreeAs(&'static str, Render),
    /// Part of another flag's field (`-e`, `-i`, `-f` are in the sizes of `-b`).
    InField(&'static str),
    /// Acts on one rank or on nothing another rank waits for (outputs, the reported average,
    /// timestamps, the watchdog, acceptance floors).
    MayDiffer,
}

/// A flag that only means something on GPUs: what it drives, and its value when it asks for
/// anything the host backend cannot do (`None`: left at what the host backend runs).
#[derive(Clone, Copy)]
pub struct GpuOnly {
    pub drives: &'static str,
    pub used: fn(&TestPlan) -> Option<String>,
}

/// One flag of the table.
#[derive(Clone, Copy)]
pub struct FlagSpec {
    pub flag: Flag,
    /// Also accepted under this long name (shown as `[alias: …]`).
    pub alias: Option<&'static str>,
    pub value_name: &'static str,
    pub default: Default,
    pub kind: Kind,
    /// The `-h` line before its `[default: …]`.
    pub help: &'static str,
    pub ranks: Ranks,
    pub gpu_only: Option<GpuOnly>,
    /// The file format this flag names the file of (`crate::sinks::open` opens it).
    pub output: Option<OutputFormat>,
}

const fn flag(short: char, long: &'static str, value_name: &'static str) -> FlagSpec {
    spec(Flag::new(short, long), value_name)
}

const fn long(long: &'static str, value_name: &'static str) -> FlagSpec {
    spec(Flag::long_only(long), value_name)
}

const fn spec(flag: Flag, value_name: &'static str) -> FlagSpec {
    FlagSpec {
        flag,
        alias: None,
        value_name,
        default: Default::Described("none"),
        kind: Kind::Text,
        help: "",
        ranks: Ranks::MayDiffer,
        gpu_only: None,
        output: None,
    }
}

impl FlagSpec {
    const fn help(mut self, help: &'static str) -> Self {
        self.help = help;
        self
    }
    const fn default(mut self, value: &'static str) -> Self {
        self.default = Default::Value(value);
        self
    }
    const fn described(mut self, text: &'static str) -> Self {
        self.default = Default::Described(text);
        self
    }
    const fn int(mut self, min: u64, max: u64) -> Self {
        self.kind = Kind::Int { min, max };
        self
    }
    const fn count(self, min: u64) -> Self {
        self.int(min, INT_FLAG_MAX)
    }
    const fn switch(mut self) -> Self {
        self.kind = Kind::Switch;
        self
    }
    const fn size(mut self) -> Self {
        self.kind = Kind::Size;
        self
    }
    const fn output(mut self, format: OutputFormat) -> Self {
        self.kind = Kind::Path;
        self.output = Some(format);
        self
    }
    const fn probed(mut self) -> Self {
        self.kind = Kind::ProbedPath;
        self
    }
    const fn agree(mut self, render: Render) -> Self {
        self.ranks = Ranks::Agree(render);
        self
    }
    const fn ranks(mut self, ranks: Ranks) -> Self {
        self.ranks = ranks;
        self
    }
    const fn gpu_only(
        mut self,
        drives: &'static str,
        used: fn(&TestPlan) -> Option<String>,
    ) -> Self {
        self.gpu_only = Some(GpuOnly { drives, used });
        self
    }
    const fn alias(mut self, alias: &'static str) -> Self {
        self.alias = Some(alias);
        self
    }

    /// The `-h` line: the help and its default.
    pub fn help_line(&self) -> String {
        let default = match self.default {
            Default::Value(text) | Default::Described(text) => text,
        };
        format!("{} [default: {default}]", self.help)
    }

    /// The default value the parser reads when the flag is absent.
    pub fn default_value(&self) -> Option<&'static str> {
        match self.default {
            Default::Value(text) => Some(text),
            Default::Described(_) => None,
        }
    }
}

/// Defines each flag as a constant and [`FLAGS`] as all of them in table order.
macro_rules! flag_table {
    ($($(#[$doc:meta])* $name:ident = $spec:expr;)*) => {
        $($(#[$doc])* pub const $name: FlagSpec = $spec;)*
        /// Every flag, in the order `-h` lists them.
        pub const FLAGS: &[FlagSpec] = &[$($name),*];
    };
}

/// A `-D` setting for the agreement check; `0` when the run uses NCCL's own collectives.
fn device_render(plan: &TestPlan, render: fn(&DeviceImplementation) -> String) -> String {
    plan.gpu
        .device_implementation
        .as_ref()
        .map_or_else(|| "0".to_string(), render)
}

/// `Some(value)` when it differs from the host backend's only setting.
fn above<T: PartialOrd + ToString>(value: T, limit: T) -> Option<String> {
    (value > limit).then(|| value.to_string())
}

// nccl-tests 2.19.6's flags, spellings and defaults.
flag_table! {
    NTHREADS = flag('t', "nthreads", "N").default("1").count(1)
        .help("Threads per process, each driving -g GPUs")
        .agree(|p| p.gpu.nthreads.to_string())
        .gpu_only("threads driving GPUs", |p| above(p.gpu.nthreads, 1));
    NGPUS = flag('g', "ngpus", "N").default("1").count(1)
        .help("GPUs per thread")
        .agree(|p| p.gpu.ngpus.to_string())
        .gpu_only("GPUs per thread", |p| above(p.gpu.ngpus, 1));
    MINBYTES = flag('b', "minbytes", "SIZE").default("32M").size()
        .help("Smallest size; binary suffix K/M/G/T, fractions allowed (1.5G)")
        .ranks(Ranks::AgreeAs("sizes (-b/-e/-i/-f)", |p| format!("{:?}", p.sweep.sizes)));
    MAXBYTES = flag('e', "maxbytes", "SIZE").default("32M").size()
        .help("Largest size, included when the steps reach it")
        .ranks(Ranks::InField("sizes (-b/-e/-i/-f)"));
    STEPBYTES = flag('i', "stepbytes", "SIZE").default("1M").size()
        .help("Fixed increment between sizes when no factor is given; >= 1")
        .ranks(Ranks::InField("sizes (-b/-e/-i/-f)"));
    STEPFACTOR = flag('f', "stepfactor", "N").default("1").int(1, u64::MAX)
        .help("Multiply sizes by this whole number >= 2; 1 = step by -i")
        .ranks(Ranks::InField("sizes (-b/-e/-i/-f)"));
    OP = flag('o', "op", "OP").default("sum")
        .help("Sum, prod, max, min, avg, mulsum or all; ignored by non-reductions")
        .agree(|p| format!("{:?}", p.sweep.ops));
    DATATYPE = flag('d', "datatype", "TYPE").default("float")
        .help("Int8, uint8, int32, uint32, int64, uint64, half, float, double, bfloat16, f8e4m3, \
               f8e5m2 or all")
        .agree(|p| format!("{:?}", p.sweep.dtypes));
    ROOT = flag('r', "root", "RANK").default("0")
        .help("Root rank of rooted collectives; -1 or all = every root in turn")
        .agree(|p| format!("{:?}", p.sweep.root));
    ITERS = flag('n', "iters", "N").default("20").count(1)
        .help("Timed iterations, >= 1")
        .agree(|p| p.timing.iters.to_string());
    WARMUP_ITERS = flag('w', "warmup_iters", "N").default("1").count(0)
        .help("Untimed warm-up iterations")
        .agree(|p| p.warmup_iters.to_string());
    AGG_ITERS = flag('m', "agg_iters", "N").default("1").count(1)
        .help("Operations aggregated per iteration, >= 1")
        .agree(|p| p.timing.agg_iters.to_string());
    RUN_CYCLES = flag('N', "run_cycles", "N").default("1").count(0)
        .help("Run and print the whole sweep N times; 0 = until interrupted")
        .agree(|p| p.run_cycles.to_string());
    AVERAGE = flag('a', "average", "0-3").default("1").int(0, 3)
        .help("Reported time across ranks: 0 rank 0, 1 average, 2 min, 3 max");
    PER_ITER_TIMING = flag('I', "per_iter_timing", "0/1").default("0").switch()
        .help("Per-iteration statistics columns i_min i_max i_p99 i_cv%")
        .agree(|p| p.timing.per_iteration.to_string());
    PER_ITER_SKIP = flag('K', "per_iter_skip", "N").default("0").count(0)
        .help("With -I 1, statistics skip the first N iterations; < -n")
        .agree(|p| p.timing.per_iteration_skip.to_string());
    PARALLEL_INIT = flag('p', "parallel_init", "0/1").default("0").switch()
        .help("Threads initialise their communicators in parallel")
        .agree(|p| p.gpu.parallel_init.to_string());
    CHECK = flag('c', "check", "N").default("1").count(0)
        .help("Check results N times per size; 0 = no check (N/A)")
        .agree(|p| p.check_iters.to_string());
    BLOCKING = flag('z', "blocking", "0-3").default("0").int(0, 3)
        .help("0 wait once per size, 1 wait+barrier per op, 2 wait per op, 3 wait+barrier per \
               iteration")
        .agree(|p| format!("{:?}", p.timing.blocking_mode));
    STREAM_NULL = flag('y', "stream_null", "0/1").default("0").switch()
        .help("Launch on the CUDA null stream (GPU only)")
        .agree(|p| p.gpu.stream_null.to_string())
        .gpu_only("CUDA null stream", |p| p.gpu.stream_null.then(|| "1".to_string()));
    TIMEOUT = flag('T', "timeout", "SECONDS").default("0").count(0)
        .help("Watchdog: abort the whole job when a wait lasts longer; 0 = none");
    CUDAGRAPH = flag('G', "cudagraph", "N").default("0").count(0)
        .help("Capture the iterations in a CUDA graph and launch it N times (GPU only)")
        .agree(|p| p.timing.graph_launches.to_string())
        .gpu_only("CUDA graph launches", |p| above(p.timing.graph_launches, 0));
    REPORT_CPUTIME = flag('C', "report_cputime", "0/1").default("0").switch()
        .help("Report the CPU time to enqueue instead of the time to complete")
        .agree(|p| p.timing.report_cputime.to_string());
    REPORT_TIMESTAMPS = flag('S', "report_timestamps", "0/1").default("0").switch()
        .help("Add a timestamp to each result line");
    OUTPUT_FILE = flag('J', "output_file", "FILE").output(OutputFormat::NcclTestsJson)
        .help("Write the results as nccl-tests 2.19.6's JSON; an existing FILE is kept and \
               FILE.0, FILE.1, ... taken instead");
    LOCAL_REGISTER = flag('R', "local_register", "0-2").default("0").int(0, 2)
        .help("0 none, 1 local, 2 symmetric NCCL buffer registration (GPU only)")
        .agree(|p| p.gpu.local_register.to_string())
        .gpu_only("NCCL buffer registration", |p| above(p.gpu.local_register, 0));
    // nccl-tests' getopt table names it `memory` (its usage text says memory_report).
    MEMORY_REPORT = flag('M', "memory_report", "0/1").alias("memory").default("0").switch()
        .help("Report every rank's memory after allocation under the rank lines and in -J (GPU \
               or host memory)")
        .agree(|p| p.memory_report.to_string());
    UNALIGN = flag('u', "unalign", "N").default("0").count(0)
        .help("Offset device buffers by N elements to test unaligned access (GPU only)")
        .agree(|p| p.gpu.unalign.to_string())
        .gpu_only("device buffer offset", |p| above(p.gpu.unalign, 0));
    CTA_POLICY = flag('x', "cta_policy", "0-2").described("not set").int(0, 2)
        .help("NCCL communicator CTA policy: 0 default, 1 efficiency, 2 zero; NCCL >= 2.27, 2 needs \
               2.28 (GPU only)")
        .agree(|p| format!("{:?}", p.gpu.cta_policy))
        .gpu_only("NCCL CTA policy", |p| p.gpu.cta_policy.map(|c| c.flag().to_string()));
    DEVICE_IMPLEMENTATION = flag('D', "device_implementation", "0-4").default("0").int(0, 4)
        .help("Run NCCL device-API kernels instead of NCCL's collective: all_reduce 1 LSA, 2 LSA \
               vectorized, 3 multimem, 4 multimem vectorized; alltoall 1-2 LSA, 3 GIN, 4 LSA+GIN; \
               needs NCCL >= 2.28 and -R 2 (GPU only)")
        .agree(|p| device_render(p, |d| d.kernel.implementation.to_string()))
        .gpu_only("NCCL device-API kernels", |p| {
            p.gpu.device_implementation.map(|d| d.kernel.implementation.to_string())
        });
    DEVICE_CTA_COUNT = flag('V', "device_cta_count", "1-127").default("16").int(1, 127)
        .help("CTAs of each -D kernel launch (GPU only)")
        .agree(|p| device_render(p, |d| d.cta_count.to_string()));

    // collbench's additions.
    BACKEND = long("backend", "auto|nccl|mpi").default("auto")
        .help("Auto: NCCL when GPUs and libnccl are usable, else mpi (host memory)")
        .agree(|p| format!("{:?}", p.backend));
    CSV = long("csv", "FILE").output(OutputFormat::Csv)
        .help("Also write one CSV row per (size, type, op, root, placement)");
    MARKDOWN = long("markdown", "FILE").output(OutputFormat::Markdown)
        .help("Also write the results as a Markdown table, to paste into a ticket or a wiki");
    COLLBENCH_JSON = long("collbench-json", "FILE").output(OutputFormat::CollbenchJson)
        .help("Also write collbench's full report as JSON (schema docs/report.schema.json), \
               replacing FILE");
    SEED = long("seed", "N").described("fixed")
        .help("Seed of the generated data, same on every rank")
        .agree(|p| p.seed.to_string());
    MIN_BUSBW = long("min-busbw", "GBPS|LIST")
        .help("Fail (exit 7) when busbw of a size >= --min-busbw-size is below GBPS, or with a \
               LIST SIZE=GBPS,... (e.g. 1M=5,16M=40) when the row of each listed size is below \
               its floor");
    WARN_BUSBW = long("warn-busbw", "GBPS|LIST")
        .help("Warn (exit 8 when nothing failed) when busbw is below this floor; same forms as \
               --min-busbw, at or above its floor");
    MIN_BUSBW_SIZE = long("min-busbw-size", "SIZE").described("1G, or the largest size run if less")
        .help("Smallest size --min-busbw applies to");
    PROFILE = long("profile", "NAME|FILE|auto")
        .help("Check busbw against an acceptance profile (results/profiles: p4d.24xlarge, \
               p5.48xlarge, p5en.48xlarge, h100-nvlink-8gpu), a .toml file, or auto (instance \
               type, then GPU model)")
        // Whether there is one decides a collective call before the sweep (the hosts gathered
        // to check that it can judge the job).
        .agree(|p| match &p.acceptance.profile {
            None => "none".to_string(),
            Some(ProfileChoice::Auto) => "auto".to_string(),
            Some(ProfileChoice::Given(profile)) => profile.name.clone(),
        });
    JSONL = long("jsonl", "FILE").output(OutputFormat::Jsonl).probed()
        .help("Append each finished row to FILE as JSON Lines, flushed per row");
    PROM_FILE = long("prom-file", "FILE").output(OutputFormat::Prometheus).probed()
        .help("Write Prometheus textfile metrics (node_exporter), atomically, after every row");
    PUSH_GATEWAY = long("push-gateway", "URL")
        .help("Push the metrics to a Prometheus Pushgateway at the end (http://host:9091)");
    REQUIRE_NET = long("require-net", "NAME")
        .help("Fail (exit 7) unless NCCL selected this network on every rank: socket (tcp), ib, \
               ofi (libfabric), efa (libfabric with the efa provider), or a name as NCCL prints \
               it; NCCL backend only")
        .gpu_only("the network NCCL selected", |p| p.acceptance.criteria.require_net.clone());
    // Adaptive or not decides whether every batch ends in an agreement; the budgets act on rank 0
    // alone (it decides when the batches stop).
    PRECISION = long("precision", "PCT").described("off; collbench accept: 1%")
        .help("Run batches of -n until the 95 % interval of the reported time (then the median of \
               the batches) is within +-PCT % of it, or a budget ends; off = nccl-tests' one batch")
        .agree(|p| format!("{:?}", p.adaptive.map(|a| a.precision_percent)));
    MAX_TIME_PER_SIZE = long("max-time-per-size", "TIME").described("10s; collbench accept: 2s")
        .help("With --precision: the most a size's batches (out-of-place and in-place together) \
               may take, e.g. 2s");
    TIME_BUDGET = long("time-budget", "TIME")
        .help("With --precision: the whole sweep's batches share TIME; sizes that stop early \
               leave their share to the rest");
}

/// The flag clap names `--iters <N>` (or `-n <N>`).
pub fn find_by_clap_name(name: &str) -> Option<&'static FlagSpec> {
    let word = name.split_whitespace().next()?;
    if let Some(long) = word.strip_prefix("--") {
        return FLAGS.iter().find(|f| f.flag.long == long);
    }
    let short = word.strip_prefix('-')?.chars().next()?;
    FLAGS.iter().find(|f| f.flag.short == Some(short))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_plan() -> TestPlan {
        let collective = crate::collectives::find("all_reduce").unwrap();
        let raw = crate::cli::args::RawArgs::default();
        crate::cli::build::build_plan(collective, &raw, &|_| None, Vec::new()).unwrap()
    }

    #[test]
    fn ranks_agree_on_what_decides_the_collectives_run() {
        let mut names: Vec<String> = default_plan()
            .agreement_fields()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        names.sort();
        let mut expected = [
            "collective",
            "--backend",
            "sizes (-b/-e/-i/-f)",
            "-d/--datatype",
            "-o/--op",
            "-r/--root",
            "-t/--nthreads",
            "-g/--ngpus",
            "-w/--warmup_iters",
            "-n/--iters",
            "-m/--agg_iters",
            "-G/--cudagraph",
            "-z/--blocking",
            "-I/--per_iter_timing",
            "-K/--per_iter_skip",
            "-C/--report_cputime",
            "-c/--check",
            "-N/--run_cycles",
            "-p/--parallel_init",
            "-y/--stream_null",
            "-R/--local_register",
            "-M/--memory_report",
            "-u/--unalign",
            "-x/--cta_policy",
            "-D/--device_implementation",
            "-V/--device_cta_count",
            "NCCL_TESTS_SPLIT",
            "--seed",
            "--profile",
            "--precision",
        ];
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn flags_in_a_shared_field_name_one_that_exists() {
        for spec in FLAGS {
            if let Ranks::InField(label) = spec.ranks {
                assert!(
                    FLAGS
                        .iter()
                        .any(|other| matches!(other.ranks, Ranks::AgreeAs(l, _) if l == label)),
                    "{}: no flag holds the field '{label}'",
                    spec.flag
                );
            }
        }
    }

    #[test]
    fn every_name_and_letter_is_used_once() {
        for (i, a) in FLAGS.iter().enumerate() {
            for b in &FLAGS[i + 1..] {
                assert_ne!(a.flag.long, b.flag.long);
                assert!(
                    a.flag.short.is_none() || a.flag.short != b.flag.short,
                    "{}",
                    a.flag
                );
            }
        }
    }

    /// Defaults the parser does not read from the table (they live with the code that applies
    /// them): the `-h` text must still say the values that code uses.
    #[test]
    fn described_defaults_say_the_values_in_use() {
        use crate::plan::acceptance::DEFAULT_MIN_BUSBW_SIZE;
        use crate::plan::adaptive::{
            ACCEPT_MAX_TIME_PER_SIZE, ACCEPT_PRECISION_PERCENT, DEFAULT_MAX_TIME_PER_SIZE,
        };
        let shown = |spec: &FlagSpec| match spec.default {
            Default::Described(text) => text,
            Default::Value(_) => panic!("{} has a parsed default", spec.flag),
        };
        let seconds = |d: std::time::Duration| format!("{}s", d.as_secs());
        assert_eq!(
            shown(&MAX_TIME_PER_SIZE),
            format!(
                "{}; collbench accept: {}",
                seconds(DEFAULT_MAX_TIME_PER_SIZE),
                seconds(ACCEPT_MAX_TIME_PER_SIZE)
            )
        );
        assert_eq!(
            shown(&PRECISION),
            format!("off; collbench accept: {ACCEPT_PRECISION_PERCENT}%")
        );
        assert_eq!(DEFAULT_MIN_BUSBW_SIZE, 1 << 30);
        assert!(shown(&MIN_BUSBW_SIZE).starts_with("1G,"));
    }

    #[test]
    fn the_host_backend_lists_the_gpu_only_flags_and_their_defaults() {
        let mut plan = default_plan();
        plan.require_gpu_flags_unused("mpi").unwrap();
        plan.gpu.ngpus = 2;
        plan.gpu.unalign = 4;
        let err = plan
            .require_gpu_flags_unused("mpi")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "but -g/--ngpus 2 (GPUs per thread), -u/--unalign 4 (device buffer offset) only \
                 mean something on GPUs; accepted there: -t 1 -g 1 -y 0 -G 0 -R 0 -u 0 -D 0 (the \
                 defaults) and no -x and no --require-net, or run with --backend nccl"
            ),
            "{err}"
        );
    }
}
