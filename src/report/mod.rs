//! The result model shared by every sink and by the tools that read results back (compare, plot,
//! Prometheus). `Report` is what `-J` writes; its JSON Schema lives in docs/report.schema.json and
//! every change here must bump [`SCHEMA_VERSION`] and that file together.

use crate::data::WrongElement;
use crate::types::DataType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod env;
pub mod memory;
pub mod meta;
pub mod network;
pub mod slurm;
pub mod time;
pub mod units;
pub mod verdict;

/// 1: first release; 2: adds `verdict` (acceptance checks); 3: adds `backend.network_by_process`
/// and the `network` check (`--require-net`); 4: adds `memory` (`-M`); 5: adds the `-I`
/// iteration series `per_iteration.times_us` and `per_iteration.per_process_times_us`; 6 adds
/// each measurement's `stats` (median, 95 % interval, samples, adaptive `--precision` outcome)
/// and `config.adaptive` (`--precision`, `--max-time-per-size`, `--time-budget`).
pub const SCHEMA_VERSION: u32 = 7;

/// The `kind` of an `accept --pairwise` report file (`crate::accept::report`): readers of run
/// reports recognise it to say what the file is instead of failing on its fields.
pub const PAIRWISE_KIND: &str = "collbench-pairwise";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    /// The command line, argv[0] included.
    pub args: Vec<String>,
    /// RFC 3339 UTC.
    pub start_time: String,
    pub end_time: Option<String>,
    /// False when the sweep was interrupted (signal, timeout) before every row finished.
    pub complete: bool,
    pub backend: BackendInfo,
    pub collective: String,
    pub nranks: usize,
    pub hosts: Vec<String>,
    /// One entry per rank, ordered by rank.
    pub ranks: Vec<RankPlacement>,
    /// `-M`: every rank's memory once its buffers were allocated, ordered by rank; empty (and
    /// absent from the JSON) without `-M`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory: Vec<memory::RankMemory>,
    pub slurm: Option<SlurmInfo>,
    /// Allowlisted environment (NCCL_*, FI_*, SLURM_*, CUDA_*, OMPI_*, UCX_*, PMIX_RANK, …).
    pub environment: BTreeMap<String, String>,
    pub config: RunConfig,
    pub results: Vec<ResultRow>,
    pub summary: Summary,
    /// Acceptance verdict (`--min-busbw`, `NCCL_TESTS_MIN_BW`, `--profile`); absent when nothing
    /// was checked. Additive: readers of older reports get `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<verdict::Verdict>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// `mpi` or `nccl`.
    pub name: String,
    /// Human-readable library and version, e.g. `Open MPI v4.1.4` or `NCCL 2.28.9`.
    pub library: String,
    /// Where the library was loaded from, when known.
    pub library_path: Option<String>,
    /// Numeric version (NCCL's 22809 style) when the library has one.
    pub version_code: Option<i64>,
    /// Network NCCL selected (Socket, IB, AWS Libfabric…), when known: one name when every process
    /// agrees, else each with its ranks (`network::summarize`). `None` on the mpi backend.
    pub network: Option<String>,
    /// What each process's NCCL log said (NCCL runs; empty on the mpi backend). Added in schema 3.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_by_process: Vec<network::ProcessNetwork>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankPlacement {
    pub rank: usize,
    /// NCCL_TESTS_SPLIT group.
    pub group: usize,
    pub host: String,
    pub pid: u32,
    /// CUDA device ordinal; `None` on the host backend.
    pub device: Option<i32>,
    pub bus_id: Option<String>,
    /// Device name, e.g. `NVIDIA H100 80GB HBM3`, or `host memory`.
    pub device_name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlurmInfo {
    pub job_id: Option<String>,
    pub step_id: Option<String>,
    pub node_list: Option<String>,
    pub nnodes: Option<String>,
    pub ntasks: Option<String>,
    pub partition: Option<String>,
}

/// The validated plan as run (what nccl-tests prints in its `# nThread …` line, plus ours).
/// `Default` lets builders name only what they know (`..RunConfig::default()`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub nthreads: usize,
    pub ngpus: usize,
    pub min_bytes: u64,
    pub max_bytes: u64,
    /// `factor` or `bytes`.
    pub step_kind: String,
    pub step_value: f64,
    pub warmup_iters: usize,
    pub iters: usize,
    pub agg_iters: usize,
    pub check_iters: usize,
    pub graph_launches: usize,
    pub blocking: bool,
    pub average_mode: String,
    pub per_iteration_timing: bool,
    pub per_iteration_skip: usize,
    pub run_cycles: usize,
    pub seed: u64,
    pub dtypes: Vec<DataType>,
    pub ops: Vec<String>,
    pub roots: Vec<i64>,
    /// `-z` as given (`plan::BlockingMode::flag`): 0 off, 1 wait and barrier after each operation,
    /// 2 wait without barrier, 3 wait and barrier after each `-n` iteration (`blocking` is
    /// `blocking_mode != 0`). The text header prints a different line for each.
    #[serde(default)]
    pub blocking_mode: u8,
    /// `-u`: buffers misaligned by this many elements (printed as `unalign:` in the header).
    #[serde(default)]
    pub unalign: usize,
    /// `-p`.
    #[serde(default)]
    pub parallel_init: bool,
    /// `-C`: the time columns are CPU time (`cputime` in the header).
    #[serde(default)]
    pub report_cputime: bool,
    /// `-S`: a timestamp column after the in-place columns.
    #[serde(default)]
    pub report_timestamps: bool,
    /// `--precision` and its budgets; `None` for nccl-tests' fixed `-n` (and before schema 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<AdaptiveConfig>,
}

/// The adaptive mode as run: batches of `-n` until the 95 % interval of the reported time is
/// within ±`precision_percent` of its center, or a budget ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveConfig {
    pub precision_percent: f64,
    /// `--max-time-per-size`: the batches of one size (out-of-place and in-place together).
    pub max_time_per_size_s: f64,
    /// `--time-budget`: the whole sweep; `None` when not given.
    pub time_budget_s: Option<f64>,
    /// Every measurement runs at least this many batches, budgets or not.
    pub min_batches: usize,
    /// And at most this many.
    pub max_batches: usize,
}

/// One line of the table: a (collective, size, dtype, op, root) with out-of-place and in-place
/// measurements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    pub collective: String,
    pub size_bytes: u64,
    pub count: u64,
    pub dtype: DataType,
    /// Operator name as printed (`sum`, `none`, or empty).
    pub redop: String,
    /// -1 when the collective has no root.
    pub root: i64,
    pub out_of_place: Option<Measurement>,
    pub in_place: Option<Measurement>,
    /// Which cycle of `-N` produced the row (0-based).
    pub cycle: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The reported time (per `-a`; with `-C`, rank 0's launch time): microseconds per operation.
    pub time_us: f64,
    pub algbw_gbps: f64,
    /// `busbw_gbps` in JSON, as in the CSV and the table's column (`bus_bandwidth_gbps` before
    /// schema 6 still loads).
    #[serde(rename = "busbw_gbps", alias = "bus_bandwidth_gbps")]
    pub bus_bandwidth_gbps: f64,
    /// Wrong elements summed over ranks; `None` when not checked (printed `N/A`).
    pub wrong: Option<u64>,
    /// Ranks that found at least one wrong element (what nccl-tests' "Out of bounds values" counts).
    #[serde(default)]
    pub ranks_with_wrong: u64,
    pub first_wrong: Option<WrongElement>,
    /// Time spread across ranks, always recorded.
    pub ranks: RankSpread,
    /// `-I`: per-iteration statistics (max over ranks for each iteration).
    pub per_iteration: Option<IterStats>,
    /// How far the reported time can be trusted: its samples, center and confidence interval.
    /// `None` in files written before schema 6 (and in imported nccl-tests output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<TimeStats>,
    /// How long the ranks waited for a CPU during the timed loop; `None` where the kernel does
    /// not say, and in files written before schema 7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_queue_wait: Option<RunQueueWait>,
}

/// The time the ranks' measuring threads spent runnable but waiting for a CPU during a timed
/// loop (Linux schedstat), as percentages of the loop's wall time: another program took it from
/// the run, and every rank of a collective waits for the one that waited.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunQueueWait {
    /// The rank (the first of its process) that waited longest.
    pub rank: usize,
    pub max_percent: f64,
    /// Summed over processes: the most the run can have lost when they waited at different
    /// times (above 100 with many processes).
    pub total_percent: f64,
}

impl RunQueueWait {
    /// A rank that waited this many percent of a timed loop for a CPU makes the measurement
    /// partly another program's: `compare` does not judge such a regression (`busy`), and a
    /// failed acceptance check says so. A collective moves only while all its ranks hold a CPU,
    /// so no share of the wait can be taken out of the time instead.
    pub const BUSY_PERCENT: f64 = 10.0;

    pub fn busy(&self) -> bool {
        self.max_percent >= Self::BUSY_PERCENT
    }

    /// Whether the wait accounts for a row losing `drop` (0 to 1) of its bandwidth: it is
    /// [`busy`](Self::busy), or the rank waited at least that share of the loop (every rank
    /// waited with it, so the loop lost at least the wait).
    pub fn explains(&self, drop: f64) -> bool {
        self.busy() || self.max_percent / 100.0 >= drop
    }
}

/// What one sample of a measurement is: one timed iteration (`-I`, the slowest rank's time), one
/// batch of `-n` iterations (the per-op time of a batch), or one `-N` cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleUnit {
    Iteration,
    Batch,
    Cycle,
}

impl SampleUnit {
    pub fn name(self) -> &'static str {
        match self {
            SampleUnit::Iteration => "iteration",
            SampleUnit::Batch => "batch",
            SampleUnit::Cycle => "cycle",
        }
    }
}

/// The uncertainty of a reported time: `center_us` is the `statistic` (e.g. the median) of
/// `samples` samples of one `unit`, and [`ci_low_us`, `ci_high_us`] its `confidence` interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeStats {
    /// The center's statistic, e.g. `median`.
    pub statistic: String,
    pub unit: SampleUnit,
    pub samples: usize,
    pub center_us: f64,
    pub ci_low_us: f64,
    pub ci_high_us: f64,
    /// The interval's confidence level, e.g. 0.95.
    pub confidence: f64,
    /// Robust relative spread of the samples: 1.4826 × MAD / median × 100 (the CV for normal data).
    pub spread_percent: f64,
    /// The samples themselves, in the order they were taken (µs per operation). Schema 6.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values_us: Vec<f64>,
    /// `--precision`: whether the target was reached and why the batches stopped; `None` for
    /// fixed `-n` runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<PrecisionOutcome>,
}

impl TimeStats {
    /// The interval's larger half-width as a percentage of the center (the `--precision` test).
    pub fn half_width_percent(&self) -> f64 {
        let half = (self.ci_high_us - self.center_us).max(self.center_us - self.ci_low_us);
        if self.center_us > 0.0 {
            half / self.center_us * 100.0
        } else {
            0.0
        }
    }
}

/// How an adaptive (`--precision`) measurement ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrecisionOutcome {
    /// `--precision`, percent.
    pub target_percent: f64,
    /// The interval's larger half-width, percent of the center, when the batches stopped.
    pub achieved_percent: f64,
    /// `achieved_percent <= target_percent`.
    pub reached: bool,
    /// Batches of `-n` iterations run.
    pub batches: usize,
    pub stopped_by: StopReason,
}

/// Why an adaptive measurement ran no further batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The interval reached the target.
    Precision,
    /// `--max-time-per-size` was spent.
    SizeBudget,
    /// The measurement's share of `--time-budget` was spent.
    SweepBudget,
    /// The batch cap (`AdaptiveConfig::max_batches`).
    MaxBatches,
    /// SIGINT/SIGTERM: the row is finished with the batches run so far, then the sweep stops.
    Signal,
}

impl StopReason {
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Precision => "precision",
            StopReason::SizeBudget => "size_budget",
            StopReason::SweepBudget => "sweep_budget",
            StopReason::MaxBatches => "max_batches",
            StopReason::Signal => "signal",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankSpread {
    pub time_us_min: f64,
    pub time_us_avg: f64,
    pub time_us_max: f64,
    pub slowest_rank: usize,
    pub slowest_host: String,
    pub slowest_device: Option<i32>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IterStats {
    pub samples: usize,
    pub min_us: f64,
    pub max_us: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub cv_percent: f64,
    #[serde(default)]
    pub avg_us: f64,
    #[serde(default)]
    pub p95_us: f64,
    /// Population standard deviation (cv_percent = stdev / avg × 100).
    #[serde(default)]
    pub stdev_us: f64,
    /// Every timed iteration, the `-K` skipped ones included: the slowest rank's time in each
    /// (nccl-tests' `times_us`). Schema 5; empty when read from older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times_us: Vec<f64>,
    /// With more than one process: for each process (ordered by its first rank), the slowest of
    /// its ranks in each iteration (nccl-tests' `per_process_max_times_us`). Schema 5.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_process_times_us: Vec<Vec<f64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// nccl-tests' "Out of bounds values": the number of (measurement, rank) pairs in which that
    /// rank found wrong elements (sum of `ranks_with_wrong`; 0 exactly when every #wrong is 0).
    pub out_of_bounds: u64,
    /// nccl-tests' "Avg bus bandwidth" (mean of busbw over every measured column).
    #[serde(rename = "avg_busbw_gbps", alias = "avg_bus_bandwidth_gbps")]
    pub avg_bus_bandwidth_gbps: f64,
    /// nccl-tests' NCCL_TESTS_MIN_BW: the average fails below 90 % of this.
    #[serde(default, rename = "min_busbw_gbps", alias = "min_bus_bandwidth_gbps")]
    pub min_bus_bandwidth_gbps: Option<f64>,
    pub passed: bool,
    pub first_wrong: Option<WrongElement>,
    /// Why the run ended early, when it did.
    pub interrupted: Option<String>,
}
