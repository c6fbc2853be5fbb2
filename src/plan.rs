//! The validated plan: everything the CLI accepted, checked and resolved, before any work starts.
//! `crate::cli` builds it; nothing downstream re-validates user input.

use crate::collectives::Collective;
use crate::measure::TimingPlan;
use crate::types::{DataType, ReduceOp};
use std::path::PathBuf;
use std::time::Duration;

/// How sizes grow between `-b` and `-e`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// `-f F` (F > 1): multiply.
    Factor(f64),
    /// `-i B` with `-f 1` or no factor: add.
    Bytes(u64),
}

/// `-a`: which rank's time is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AverageMode {
    Rank0,
    Avg,
    Min,
    Max,
}

/// `-r`: one root or every root (`-r -1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootSelection {
    One(usize),
    All,
}

/// `--backend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    Auto,
    Nccl,
    Mpi,
}

#[derive(Clone)]
pub struct TestPlan {
    pub collective: &'static dyn Collective,
    pub backend: BackendChoice,
    /// Every size of the sweep, in bytes, ascending (before per-collective rounding).
    pub sizes: Vec<u64>,
    pub min_bytes: u64,
    pub max_bytes: u64,
    pub step: Step,
    pub dtypes: Vec<DataType>,
    /// Empty for collectives whose `redop` column is not a reduction.
    pub ops: Vec<ReduceOp>,
    pub root: RootSelection,
    /// `-t` threads per process (GPU backend).
    pub nthreads: usize,
    /// `-g` GPUs per thread (GPU backend).
    pub ngpus: usize,
    /// `-w`.
    pub warmup_iters: usize,
    pub timing: TimingPlan,
    /// `-c`: check iterations (0 = no validation).
    pub check_iters: usize,
    /// `-N`: run cycles (0 = until interrupted).
    pub run_cycles: usize,
    /// `-p`.
    pub parallel_init: bool,
    /// `-a`.
    pub average: AverageMode,
    /// `-T`: watchdog.
    pub timeout: Option<Duration>,
    /// `-R`: 0 none, 1 local, 2 symmetric registration (GPU backend).
    pub local_register: u8,
    /// `-M`: memory report (GPU backend).
    pub memory_report: bool,
    /// `-u`: unaligned buffer offset in elements (GPU backend).
    pub unalign: usize,
    /// `-S`: report timestamps in the text output.
    pub report_timestamps: bool,
    /// NCCL_TESTS_SPLIT / NCCL_TESTS_SPLIT_MASK, parsed.
    pub split: Option<SplitRule>,
    pub json_path: Option<PathBuf>,
    pub csv_path: Option<PathBuf>,
    /// Data seed (same on every rank).
    pub seed: u64,
    /// The command line as given.
    pub args: Vec<String>,
}

/// NCCL_TESTS_SPLIT: how a rank's color is computed from its global rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitRule {
    /// `AND 0x7` / NCCL_TESTS_SPLIT_MASK=0x7: color = rank & mask.
    And(u64),
    Or(u64),
    Xor(u64),
    /// `MOD 8` / `%8`: color = rank % n.
    Mod(u64),
    /// `DIV 8` / `/8`: color = rank / n.
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
