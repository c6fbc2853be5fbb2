//! How each measurement is timed: `-n`, `-m`, `-G`, `-z`, `-I`, `-K`, `-C`.

use serde::{Deserialize, Serialize};

/// `-z`: when the host waits for completion (nccl-tests 2.19 modes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockingMode {
    /// `-z 0` (default): launch all `-n` × `-m` operations, wait once at the end.
    Off,
    /// `-z 1`: wait and barrier after each operation.
    WaitAndBarrierEachOp,
    /// `-z 2`: wait after each operation, no barrier.
    WaitEachOp,
    /// `-z 3`: wait and barrier after each `-n` iteration (its `-m` operations); the barrier is not timed.
    WaitAndBarrierEachIter,
}

impl BlockingMode {
    pub fn from_flag(value: u64) -> Option<BlockingMode> {
        match value {
            0 => Some(BlockingMode::Off),
            1 => Some(BlockingMode::WaitAndBarrierEachOp),
            2 => Some(BlockingMode::WaitEachOp),
            3 => Some(BlockingMode::WaitAndBarrierEachIter),
            _ => None,
        }
    }

    /// The `-z` value.
    pub fn flag(self) -> u8 {
        self as u8
    }
}

/// How one measurement is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimingPlan {
    /// `-n`: timed iterations.
    pub iters: usize,
    /// `-m`: operations aggregated per iteration.
    pub agg_iters: usize,
    /// `-G`: CUDA graph launches (0 = no graph).
    pub graph_launches: usize,
    /// `-z` with its four nccl-tests modes: what the timed loop waits for, and when it barriers.
    pub blocking_mode: BlockingMode,
    /// `-I`: record per-iteration times.
    pub per_iteration: bool,
    /// `-K`: per-iteration samples skipped at the start.
    pub per_iteration_skip: usize,
    /// `-C`: report CPU time instead of wall time.
    pub report_cputime: bool,
}

impl TimingPlan {
    /// `-z` other than 0: the host waits for completion inside the loop.
    pub fn blocks(&self) -> bool {
        self.blocking_mode != BlockingMode::Off
    }
}
