//! The timing layer the backends use: the timed loop and its result, and the `-T` watchdog.
//! `crate::sweep` drives the backends over the sizes.

use serde::{Deserialize, Serialize};

pub mod run_queue;
pub mod timed_loop;
pub mod watchdog;

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
