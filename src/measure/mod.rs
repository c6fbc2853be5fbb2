//! Measurement: the timing plan, the timed loop's result, per-iteration statistics, and the runner
//! that drives a backend over the sweep.

use crate::plan::BlockingMode;
use serde::{Deserialize, Serialize};

pub mod hooks;
pub mod memory_cap;
pub mod runner;
pub mod timed_loop;
pub mod watchdog;

/// How one measurement is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimingPlan {
    /// `-n`: timed iterations.
    pub iters: usize,
    /// `-m`: operations aggregated per iteration.
    pub agg_iters: usize,
    /// `-G`: CUDA graph launches (0 = no graph).
    pub graph_launches: usize,
    /// `-z` other than 0: the host waits for completion inside the loop (see `blocking_mode`).
    pub blocking: bool,
    /// `-z` with its four nccl-tests modes: what the timed loop waits for, and when it barriers.
    pub blocking_mode: BlockingMode,
    /// `-I`: record per-iteration times.
    pub per_iteration: bool,
    /// `-K`: per-iteration samples skipped at the start.
    pub per_iteration_skip: usize,
    /// `-C`: report CPU time instead of wall time.
    pub report_cputime: bool,
}

/// Result of one timed loop on one process.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Seconds per operation by the host clock, launch to completion (elapsed / (iters × agg ×
    /// launches)): nccl-tests' `deltaSec`, which algbw and busbw divide by, `-C` or not.
    pub seconds_per_op: f64,
    /// `-C`: seconds per operation spent launching, read before the final wait (nccl-tests'
    /// `cputimeSec`, which only replaces the printed time). With `-G` it is divided by
    /// iters × agg but not by the launches, as nccl-tests does.
    #[serde(default)]
    pub cpu_seconds_per_op: f64,
    /// Per-iteration times in microseconds per operation, when requested.
    pub per_iteration_us: Vec<f64>,
}
