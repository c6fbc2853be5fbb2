//! The validated plan: everything the CLI accepted, checked and resolved, before any work starts.
//! `crate::cli` builds it; nothing downstream re-validates user input.
//!
//! Checks that need facts only known later (how many ranks, how much memory, which backend) are
//! methods the runtime calls once it knows them: [`TestPlan::validate_for_world`],
//! [`TestPlan::cap_max_bytes`] and [`TestPlan::require_gpu_flags_unused`]. They fail with the same
//! kind of usage error (exit 6) as the parser.

use crate::collectives::Collective;
use crate::error::{CollbenchError, Result};
use crate::types::{DataType, ReduceOp};
use std::time::Duration;

pub mod acceptance;
pub mod adaptive;
pub mod device_api;
pub mod flags;
pub mod outputs;
pub mod profile;
pub mod timing;

pub use acceptance::{AcceptancePlan, Criteria, MinBusbw, ProfileChoice};
pub use outputs::{OutputFile, OutputFiles, OutputFormat};
pub use timing::{BlockingMode, TimingPlan};

/// A sweep may not have more sizes than this (a typo like `-i 1` would otherwise run for days).
pub const MAX_SWEEP_SIZES: usize = 10_000;

/// `--seed` when not given: fixed, so two runs with the same flags check the same data.
pub const DEFAULT_SEED: u64 = 0x00C0_11BE_4C00_0001;

/// One field of the plan that every rank must share (`crate::world::agree`): its flag (as people
/// know it) and its value.
pub type PlanField = (String, String);

/// How sizes grow between `-b` and `-e`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// `-f F` (F > 1): multiply. Always a whole number (nccl-tests reads the factor as an integer).
    Factor(f64),
    /// `-i B` with `-f 1` or no factor: add.
    Bytes(u64),
}

impl Step {
    /// What nccl-tests' header prints after `step:`: `2(factor)` or `1048576(bytes)`.
    pub fn nccl_tests_label(self) -> String {
        match self {
            Step::Factor(factor) => format!("{}(factor)", factor as u64),
            Step::Bytes(bytes) => format!("{bytes}(bytes)"),
        }
    }

    /// Every size from `min` to `max` (inclusive when reached), ascending, like nccl-tests' loop
    /// `for (size = min; size <= max; size = factor > 1 ? size * factor : size + step)`.
    /// Errors (naming the flags) when the loop would never end or exceed [`MAX_SWEEP_SIZES`].
    pub fn sizes(self, min: u64, max: u64) -> Result<Vec<u64>> {
        if min > max {
            return Err(CollbenchError::Usage(format!(
                "-b/--minbytes {min} is larger than -e/--maxbytes {max}; accepted: -b <= -e"
            )));
        }
        match self {
            Step::Bytes(step) => {
                if step == 0 {
                    return Err(CollbenchError::Usage(format!(
                        "-i/--stepbytes 0 never advances from -b {min} to -e {max}; accepted: -i >= 1, \
                         or a factor -f >= 2"
                    )));
                }
                let count = (max - min) / step + 1;
                if count > MAX_SWEEP_SIZES as u64 {
                    return Err(too_many_sizes(
                        count,
                        &format!("-i/--stepbytes {step}"),
                        min,
                        max,
                    ));
                }
                Ok((0..count).map(|k| min + k * step).collect())
            }
            Step::Factor(factor) => {
                let factor_int = factor as u64;
                if factor_int < 2 || factor_int as f64 != factor {
                    return Err(CollbenchError::Usage(format!(
                        "-f/--stepfactor {factor}: accepted: a whole number >= 2 (or 1 to step by -i)"
                    )));
                }
                if min == 0 {
                    return Err(CollbenchError::Usage(format!(
                        "-b/--minbytes 0 with -f/--stepfactor {factor_int} never grows (0 x {factor_int} = 0); \
                         accepted: -b >= 1 with -f, or -f 1 with -i"
                    )));
                }
                let mut sizes = Vec::new();
                let mut size = min;
                while size <= max {
                    sizes.push(size);
                    match size.checked_mul(factor_int) {
                        Some(next) => size = next,
                        None => break,
                    }
                }
                // A factor >= 2 from >= 1 byte reaches u64::MAX in at most 64 steps.
                debug_assert!(sizes.len() <= 64);
                Ok(sizes)
            }
        }
    }
}

fn too_many_sizes(count: u64, step: &str, min: u64, max: u64) -> CollbenchError {
    CollbenchError::Usage(format!(
        "-b {min} -e {max} with {step} gives {count} sizes; accepted: at most {MAX_SWEEP_SIZES} sizes \
         (use a larger -i or a factor -f)"
    ))
}

/// `-a`: which rank's time is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AverageMode {
    /// `-a 0`: rank 0's time.
    Rank0,
    /// `-a 1` (default): the mean over ranks.
    Avg,
    /// `-a 2`: the fastest rank.
    Min,
    /// `-a 3`: the slowest rank.
    Max,
}

impl AverageMode {
    pub fn from_flag(value: u64) -> Option<AverageMode> {
        match value {
            0 => Some(AverageMode::Rank0),
            1 => Some(AverageMode::Avg),
            2 => Some(AverageMode::Min),
            3 => Some(AverageMode::Max),
            _ => None,
        }
    }

    /// The `-a` value.
    pub fn flag(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            AverageMode::Rank0 => "rank0",
            AverageMode::Avg => "avg",
            AverageMode::Min => "min",
            AverageMode::Max => "max",
        }
    }
}

/// `-r`: one root or every root (`-r -1` / `-r all`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootSelection {
    One(usize),
    All,
}

/// `--backend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// NCCL when GPUs and libnccl are usable, else the host MPI backend (with a one-line notice).
    Auto,
    Nccl,
    Mpi,
}

impl BackendChoice {
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Nccl => "nccl",
            BackendChoice::Mpi => "mpi",
        }
    }
}

/// `-b`, `-e`, `-i`, `-f`, `-d`, `-o`, `-r`: which rows the sweep runs.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepPlan {
    /// Every size of the sweep, in bytes, ascending (before per-collective rounding). Never empty.
    pub sizes: Vec<u64>,
    pub min_bytes: u64,
    pub max_bytes: u64,
    pub step: Step,
    /// `-d`: one type, or all 12 in nccl-tests' order for `-d all`.
    pub dtypes: Vec<DataType>,
    /// `-o`: the operators to run. Empty for collectives whose `redop` column is not a reduction
    /// (`OpColumn::None`/`Blank`: `-o` is checked, then ignored, like nccl-tests). For
    /// `OpColumn::Ignored` (sendrecv) it holds the selection, which is printed but not applied.
    pub ops: Vec<ReduceOp>,
    /// `-r`. Collectives without a root ignore it (after it was checked).
    pub root: RootSelection,
}

/// `-t`, `-g`, `-p`, `-y`, `-R`, `-u`, `-x`, `-D`, `-V` and NCCL_TESTS_DEVICE: how a process drives
/// its GPUs (the host backend accepts only the defaults, `TestPlan::require_gpu_flags_unused`).
#[derive(Clone, Debug, PartialEq)]
pub struct GpuPlan {
    /// `-t` threads per process.
    pub nthreads: usize,
    /// `-g` GPUs per thread.
    pub ngpus: usize,
    /// `-p`.
    pub parallel_init: bool,
    /// `-y`: launch on the CUDA null stream.
    pub stream_null: bool,
    /// `-R`: 0 none, 1 local, 2 symmetric registration.
    pub local_register: u8,
    /// `-u`: unaligned buffer offset in elements.
    pub unalign: usize,
    /// `-x`: the communicators' CTA policy; `None`: not set (NCCL's own default).
    pub cta_policy: Option<device_api::CtaPolicy>,
    /// `-D` > 0 with its `-V`: device-API kernels instead of NCCL's collective.
    pub device_implementation: Option<device_api::DeviceImplementation>,
    /// NCCL_TESTS_DEVICE as given, read with the flags; the NCCL backend checks it when it picks
    /// its GPUs (a run that never uses a GPU ignores it, as nccl-tests does).
    pub nccl_tests_device: Option<String>,
}

/// Everything a run was asked for, checked.
#[derive(Clone, Debug)]
pub struct TestPlan {
    pub collective: &'static dyn Collective,
    pub backend: BackendChoice,
    pub sweep: SweepPlan,
    pub gpu: GpuPlan,
    /// `-n`, `-m`, `-G`, `-z`, `-I`, `-K`, `-C`.
    pub timing: TimingPlan,
    /// `-w`.
    pub warmup_iters: usize,
    /// `-c`: check iterations (0 = no validation, `N/A` in the table).
    pub check_iters: usize,
    /// `-N`: run cycles (0 = until interrupted).
    pub run_cycles: usize,
    /// `-a`.
    pub average: AverageMode,
    /// `-T`: watchdog (`-T 0` = none).
    pub timeout: Option<Duration>,
    /// `-M`: report every rank's memory after allocation (device memory on GPUs, host memory
    /// on the host backend).
    pub memory_report: bool,
    /// `-S`: report timestamps in the text output.
    pub report_timestamps: bool,
    /// NCCL_TESTS_SPLIT / NCCL_TESTS_SPLIT_MASK, parsed. `None` when neither is set.
    pub split: Option<SplitRule>,
    /// alltoallv only: its traffic pattern and summary (NCCL_TESTS_ALLTOALLV_*).
    pub alltoallv: Option<crate::collectives::alltoallv::pattern::AllToAllVOptions>,
    /// `-J`, `--collbench-json`, `--csv`, `--markdown`, `--jsonl`, `--prom-file`: the files rank 0
    /// writes.
    pub outputs: OutputFiles,
    /// `--seed`: data seed (same on every rank).
    pub seed: u64,
    /// Acceptance verdict options (see [`AcceptancePlan`]).
    pub acceptance: AcceptancePlan,
    /// `--precision` and its budgets; `None`: nccl-tests' one batch of `-n`.
    pub adaptive: Option<adaptive::AdaptivePlan>,
    /// The command line as given (program name first).
    pub args: Vec<String>,
}

impl TestPlan {
    /// Checks what needs the communicator size: `-r` inside `0..nranks` for rooted collectives,
    /// the collective's own rank-count rule (hypercube: a power of two) and a busbw floor that
    /// rank count can reach. `processes` is the number of processes of the communicator the test
    /// runs on (after NCCL_TESTS_SPLIT); each drives `-t × -g` ranks.
    pub fn validate_for_world(&self, processes: usize) -> Result<()> {
        let nranks = processes * self.ranks_per_process();
        if nranks == 0 {
            return Err(CollbenchError::Usage(
                "the communicator has 0 ranks; accepted: at least 1 rank".into(),
            ));
        }
        if let RootSelection::One(root) = self.sweep.root {
            if self.collective.uses_root() && root >= nranks {
                return Err(CollbenchError::Usage(format!(
                    "-r/--root {root} is outside this run's {nranks} ranks; accepted: 0..={} or -1 (every root)",
                    nranks - 1
                )));
            }
        }
        if let Some(problem) = self.collective.rank_count_problem(nranks) {
            return Err(CollbenchError::Usage(format!(
                "{} cannot run on {nranks} ranks: {problem}; accepted: a rank count it supports",
                self.collective.name()
            )));
        }
        if let Some(alltoallv) = &self.alltoallv {
            alltoallv
                .pattern
                .check_world(nranks, self.sweep.max_bytes)?;
        }
        self.check_busbw_threshold_reachable(nranks)
    }

    /// NCCL ranks each process drives: `-t` threads × `-g` GPUs (1 on the host backend, which
    /// refuses more).
    pub fn ranks_per_process(&self) -> usize {
        self.gpu.nthreads * self.gpu.ngpus
    }

    /// The `size` column of the row that the sweep size `size` becomes on `nranks` ranks (the
    /// collective's counts round it to whole, aligned elements per rank).
    pub fn row_size(&self, dtype: DataType, nranks: usize, size: u64) -> u64 {
        let elt = dtype.size_bytes();
        self.collective
            .counts(size as usize / elt, elt, nranks)
            .size_bytes(elt)
    }

    /// (size, element type) of every row one pass of the sweep measures on `nranks` ranks.
    pub fn row_shapes(&self, nranks: usize) -> Vec<(u64, DataType)> {
        self.sweep
            .dtypes
            .iter()
            .flat_map(|&dtype| {
                self.sweep
                    .sizes
                    .iter()
                    .map(move |&size| (self.row_size(dtype, nranks, size), dtype))
            })
            .collect()
    }

    /// A `--min-busbw` floor above 0 on a rank count where the collective's bus factor is 0 (one
    /// rank of all_reduce, all_gather, …: busbw = algbw × 2(n-1)/n or (n-1)/n) can never pass:
    /// refused before the sweep, rather than measured and blamed on the only rank.
    /// `NCCL_TESTS_MIN_BW` is nccl-tests' and behaves as there on any rank count: the sweep runs
    /// and the footer says `FAILED`.
    fn check_busbw_threshold_reachable(&self, nranks: usize) -> Result<()> {
        if self.collective.bus_bw_factor(nranks) > 0.0 {
            return Ok(());
        }
        let floor = match &self.acceptance.criteria.min_busbw {
            Some(min) if min.gbps > 0.0 => format!("--min-busbw {}", min.gbps),
            _ => return Ok(()),
        };
        Err(CollbenchError::Usage(format!(
            "{floor} cannot be met on {nranks} rank: {}'s busbw is its algbw times a bus factor \
             that is 0 for {nranks} rank (as in nccl-tests), so every busbw is 0; accepted: 2 or \
             more ranks (more processes, or -t/-g on a node with more GPUs), or no bus-bandwidth \
             floor",
            self.collective.name()
        )))
    }

    /// [`Self::validate_for_world`] for every NCCL_TESTS_SPLIT group of a `world_size`-rank job at
    /// once, plus the rule that every group runs the same rows (`-r -1` runs one root per rank of
    /// its group). Colors are a pure function of the global rank, so every rank computes the same
    /// groups and reaches the same verdict: a group that alone refused would leave the others
    /// waiting for it in the job-wide collectives.
    pub fn validate_for_groups(&self, world_size: usize) -> Result<()> {
        let Some(rule) = self.split else {
            return self.validate_for_world(world_size);
        };
        let mut groups: std::collections::BTreeMap<u64, usize> = Default::default();
        for rank in 0..world_size as u64 {
            *groups.entry(rule.color(rank)).or_default() += 1;
        }
        for (&color, &size) in &groups {
            self.validate_for_world(size).map_err(|error| match error {
                CollbenchError::Usage(message) => CollbenchError::Usage(format!(
                    "NCCL_TESTS_SPLIT group {color} ({size} of the job's {world_size} ranks): {message}"
                )),
                other => other,
            })?;
        }
        let smallest = groups.values().copied().min().unwrap_or(world_size);
        let largest = groups.values().copied().max().unwrap_or(world_size);
        if self.collective.uses_root()
            && self.sweep.root == RootSelection::All
            && smallest != largest
        {
            let per_process = self.ranks_per_process();
            let sizes: Vec<String> = groups
                .values()
                .map(|size| (size * per_process).to_string())
                .collect();
            return Err(CollbenchError::Usage(format!(
                "-r/--root -1 runs every root of each group, but the NCCL_TESTS_SPLIT groups have \
                 {} ranks, so they would run different rows; accepted: one root -r 0..={} (within \
                 the smallest group), or a split into groups of equal size",
                sizes.join(", "),
                smallest * per_process - 1
            )));
        }
        Ok(())
    }

    /// The fields every rank must share (`crate::world::agree`): whatever decides which
    /// collectives run, how often, on which data and in which groups: the collective, every flag
    /// the table ([`flags::FLAGS`]) marks as agreed, and NCCL_TESTS_SPLIT. The other flags act on
    /// one rank or on nothing another rank waits for, so they may differ.
    pub fn agreement_fields(&self) -> Vec<PlanField> {
        let collective = ("collective".to_string(), self.collective.name().to_string());
        let from_flags = flags::FLAGS.iter().filter_map(|spec| match spec.ranks {
            flags::Ranks::Agree(render) => Some((spec.flag.to_string(), render(self))),
            flags::Ranks::AgreeAs(label, render) => Some((label.to_string(), render(self))),
            flags::Ranks::InField(_) | flags::Ranks::MayDiffer => None,
        });
        let split = ("NCCL_TESTS_SPLIT".to_string(), format!("{:?}", self.split));
        std::iter::once(collective)
            .chain(from_flags)
            .chain(std::iter::once(split))
            .collect()
    }

    /// The roots to run, in order: every rank for `-r -1`, else the one given. Collectives without
    /// a root run once, with root 0 (printed as -1 by the sinks).
    pub fn roots(&self, nranks: usize) -> Vec<usize> {
        if !self.collective.uses_root() {
            return vec![0];
        }
        match self.sweep.root {
            RootSelection::One(root) => vec![root],
            RootSelection::All => (0..nranks).collect(),
        }
    }

    /// Lowers `-e` to what fits, like nccl-tests' `Reducing maxBytes to X due to memory limitation`.
    /// `available_bytes` is the largest size (the `-e` value) whose buffers the backend can allocate
    /// on every rank. Returns the notice to print (two lines, as nccl-tests prints them) when it
    /// lowered `-e`; fails when even `-b` does not fit, with `basis` (how the limit follows from
    /// the memory) in the message.
    pub fn cap_max_bytes(
        &mut self,
        available_bytes: u64,
        basis: Option<&str>,
    ) -> Result<Option<String>> {
        if self.sweep.max_bytes <= available_bytes {
            return Ok(None);
        }
        if self.sweep.min_bytes > available_bytes {
            return Err(CollbenchError::Usage(format!(
                "-b/--minbytes {} ({}) does not fit in memory: at most {} bytes ({}) per buffer can be \
                 allocated on every rank{}; accepted: -b and -e up to {}",
                self.sweep.min_bytes,
                human_bytes(self.sweep.min_bytes),
                available_bytes,
                human_bytes(available_bytes),
                basis.map(|b| format!(" ({b})")).unwrap_or_default(),
                available_bytes
            )));
        }
        self.sweep.max_bytes = available_bytes;
        self.sweep.sizes.retain(|&size| size <= available_bytes);
        Ok(Some(format!(
            "#\n# Reducing maxBytes to {available_bytes} due to memory limitation"
        )))
    }

    /// The host backend has one rank per process and no device: flags that only mean something on
    /// GPUs are an error there instead of being silently ignored. Lists every offending flag.
    pub fn require_gpu_flags_unused(&self, backend_name: &str) -> Result<()> {
        let gpu_only = || {
            flags::FLAGS
                .iter()
                .filter_map(|spec| spec.gpu_only.map(|gpu| (spec, gpu)))
        };
        let used: Vec<String> = gpu_only()
            .filter_map(|(spec, gpu)| {
                let value = (gpu.used)(self)?;
                Some(format!("{} {value} ({})", spec.flag, gpu.drives))
            })
            .collect();
        if used.is_empty() {
            return Ok(());
        }
        let (defaults, unset): (Vec<_>, Vec<_>) =
            gpu_only().partition(|(spec, _)| spec.default_value().is_some());
        let defaults: Vec<String> = defaults
            .iter()
            .map(|(spec, _)| {
                format!(
                    "{} {}",
                    spec.flag.shortest(),
                    spec.default_value().unwrap_or_default()
                )
            })
            .collect();
        let unset: Vec<String> = unset
            .iter()
            .map(|(spec, _)| format!(" and no {}", spec.flag.shortest()))
            .collect();
        let verb = if used.len() == 1 { "means" } else { "mean" };
        Err(CollbenchError::Unsupported(format!(
            "the {backend_name} backend runs one rank per process on host memory, but {} only \
             {verb} something on GPUs; accepted there: {} (the defaults){}, or run with \
             --backend nccl",
            used.join(", "),
            defaults.join(" "),
            unset.concat(),
        )))
    }
}

/// `1610612736` → `1.50 GiB`, for messages.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

/// NCCL_TESTS_SPLIT: how a rank's color is computed from its global rank. Ranks with the same
/// color form one group running the test (MPI_Comm_split).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitRule {
    /// `AND 0x7` / `&0x7` / NCCL_TESTS_SPLIT_MASK=7: color = rank & mask.
    And(u64),
    /// `OR 0x7` / `|7`: color = rank | value.
    Or(u64),
    /// `XOR 1` / `^1` (collbench extension): color = rank ^ value.
    Xor(u64),
    /// `MOD 8` / `%8`: color = rank % n (n >= 1).
    Mod(u64),
    /// `DIV 8` / `/8`: color = rank / n (n >= 1).
    Div(u64),
}

impl SplitRule {
    pub fn color(&self, rank: u64) -> u64 {
        match *self {
            SplitRule::And(m) => rank & m,
            SplitRule::Or(m) => rank | m,
            SplitRule::Xor(m) => rank ^ m,
            SplitRule::Mod(n) => rank % n,
            SplitRule::Div(n) => rank / n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_sweep_includes_max_when_reached() {
        let sizes = Step::Factor(2.0).sizes(8, 16 << 20).unwrap();
        assert_eq!(sizes.len(), 22);
        assert_eq!(sizes.first(), Some(&8));
        assert_eq!(sizes.last(), Some(&(16 << 20)));
        // Not reached exactly: stops below max.
        assert_eq!(Step::Factor(4.0).sizes(8, 100).unwrap(), vec![8, 32]);
    }

    #[test]
    fn additive_sweep_and_limits() {
        assert_eq!(Step::Bytes(4).sizes(0, 10).unwrap(), vec![0, 4, 8]);
        assert_eq!(Step::Bytes(1).sizes(5, 5).unwrap(), vec![5]);
        assert_eq!(Step::Bytes(1).sizes(1, 10_000).unwrap().len(), 10_000);
        assert!(Step::Bytes(1).sizes(1, 10_001).is_err());
        assert!(Step::Bytes(0).sizes(1, 2).is_err());
        assert!(Step::Factor(2.0).sizes(0, 2).is_err());
        assert!(Step::Factor(1.5).sizes(1, 2).is_err());
        assert!(Step::Bytes(1).sizes(3, 2).is_err());
    }

    #[test]
    fn factor_sweep_stops_before_overflow() {
        let sizes = Step::Factor(2.0).sizes(1, u64::MAX).unwrap();
        assert_eq!(sizes.len(), 64);
        assert_eq!(*sizes.last().unwrap(), 1 << 63);
    }

    #[test]
    fn header_labels() {
        assert_eq!(Step::Factor(2.0).nccl_tests_label(), "2(factor)");
        assert_eq!(Step::Bytes(1 << 20).nccl_tests_label(), "1048576(bytes)");
    }

    #[test]
    fn split_colors() {
        assert_eq!(SplitRule::And(7).color(13), 5);
        assert_eq!(SplitRule::Or(7).color(9), 15);
        assert_eq!(SplitRule::Xor(1).color(2), 3);
        assert_eq!(SplitRule::Mod(8).color(13), 5);
        assert_eq!(SplitRule::Div(8).color(13), 1);
    }

    fn split_plan(collective: &str, root: &str, split: &str) -> TestPlan {
        let mut raw = crate::cli::args::RawArgs::default();
        raw.set(&flags::ROOT, root);
        let split = split.to_string();
        let env = move |name: &str| (name == "NCCL_TESTS_SPLIT").then(|| split.clone());
        let collective = crate::collectives::find(collective).unwrap();
        crate::cli::build::build_plan(collective, &raw, &env, Vec::new()).unwrap()
    }

    #[test]
    fn every_split_group_is_checked_on_every_rank() {
        // DIV 3 on 4 ranks: groups of 3 and 1. Root 1 exists only in the first.
        let err = split_plan("reduce", "1", "DIV 3")
            .validate_for_groups(4)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("NCCL_TESTS_SPLIT group 1 (1 of the job's 4 ranks)"),
            "{err}"
        );
        assert!(err.contains("-r/--root 1"), "{err}");
        assert!(split_plan("reduce", "0", "DIV 3")
            .validate_for_groups(4)
            .is_ok());
        // MOD 2 on 6 ranks: groups of 3, which hypercube refuses.
        let err = split_plan("hypercube", "0", "MOD 2")
            .validate_for_groups(6)
            .unwrap_err()
            .to_string();
        assert!(err.contains("hypercube cannot run on 3 ranks"), "{err}");
        // -r -1 needs the same roots, hence the same size, in every group.
        let err = split_plan("reduce", "-1", "MOD 2")
            .validate_for_groups(5)
            .unwrap_err()
            .to_string();
        assert!(err.contains("groups have 3, 2 ranks"), "{err}");
        assert!(err.contains("-r 0..=1"), "{err}");
        assert!(split_plan("reduce", "-1", "MOD 2")
            .validate_for_groups(4)
            .is_ok());
        assert!(split_plan("all_reduce", "-1", "MOD 2")
            .validate_for_groups(5)
            .is_ok());
    }

    fn plan_from(
        collective: &str,
        args: &[&str],
        env: &[(&'static str, &'static str)],
    ) -> TestPlan {
        let raw = crate::cli::args::RawArgs::parse(args).unwrap();
        let env = env.to_vec();
        let env = move |name: &str| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        };
        let collective = crate::collectives::find(collective).unwrap();
        crate::cli::build::build_plan(collective, &raw, &env, Vec::new()).unwrap()
    }

    #[test]
    fn roots_count_every_gpu_of_a_process() {
        // nccl-tests -g 8 -r 3 on one process: 8 ranks, root 3 exists.
        let plan = plan_from("broadcast", &["-g", "8", "-r", "3"], &[]);
        assert!(plan.validate_for_world(1).is_ok());
        let err = plan_from("broadcast", &["-t", "2", "-g", "2", "-r", "4"], &[])
            .validate_for_world(1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("outside this run's 4 ranks"), "{err}");
        assert!(err.contains("accepted: 0..=3"), "{err}");
    }

    #[test]
    fn a_busbw_floor_one_rank_cannot_reach_is_refused() {
        let err = plan_from("all_reduce", &["--min-busbw", "1"], &[])
            .validate_for_world(1)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "usage error: --min-busbw 1 cannot be met on 1 rank: all_reduce's busbw"
            ),
            "{err}"
        );
        assert!(err.contains("accepted: 2 or more ranks"), "{err}");
        // nccl-tests' own floor runs on one rank and fails in the footer, as there.
        assert!(plan_from("all_gather", &[], &[("NCCL_TESTS_MIN_BW", "5")])
            .validate_for_world(1)
            .is_ok());
        // Reachable: two ranks (processes or GPUs), a bus factor of 1 on one rank, a floor of 0.
        assert!(plan_from("all_reduce", &["--min-busbw", "1"], &[])
            .validate_for_world(2)
            .is_ok());
        assert!(
            plan_from("all_reduce", &["--min-busbw", "1", "-g", "2"], &[])
                .validate_for_world(1)
                .is_ok()
        );
        assert!(plan_from("broadcast", &["--min-busbw", "1"], &[])
            .validate_for_world(1)
            .is_ok());
        assert!(plan_from("all_reduce", &["--min-busbw", "0"], &[])
            .validate_for_world(1)
            .is_ok());
        assert!(plan_from("all_reduce", &[], &[])
            .validate_for_world(1)
            .is_ok());
    }

    #[test]
    fn human_bytes_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536 << 20), "1.50 GiB");
    }
}
