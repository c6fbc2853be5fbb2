//! `--precision`, `--max-time-per-size`, `--time-budget`: the adaptive mode, which runs batches of
//! `-n` iterations until the 95 % interval of the reported time is within ±precision of its
//! center, or a budget ends. Without `--precision`, nccl-tests' single batch of `-n`.

use std::time::Duration;

/// Every adaptive measurement runs at least this many batches, so that each has an interval.
pub const MIN_BATCHES: usize = 2;

/// And at most this many (memory: one number per batch and rank, plus `-I`'s iterations).
pub const MAX_BATCHES: usize = 10_000;

/// `--max-time-per-size` when only `--precision` is given (IMB's `-time` default is 10 s).
pub const DEFAULT_MAX_TIME_PER_SIZE: Duration = Duration::from_secs(10);

/// What `collbench accept` runs unless told otherwise (`--precision off` for fixed `-n`).
pub const ACCEPT_PRECISION_PERCENT: f64 = 1.0;
pub const ACCEPT_MAX_TIME_PER_SIZE: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdaptivePlan {
    /// `--precision`: the interval's half-width target, percent of the center (0 < p < 100).
    pub precision_percent: f64,
    /// `--max-time-per-size`: the batches of one size, both placements together.
    pub max_time_per_size: Duration,
    /// `--time-budget`: the whole sweep, shared among the measurements not yet run.
    pub time_budget: Option<Duration>,
}

impl AdaptivePlan {
    /// The adaptive mode `collbench accept` uses by default.
    pub fn acceptance_default() -> AdaptivePlan {
        AdaptivePlan {
            precision_percent: ACCEPT_PRECISION_PERCENT,
            max_time_per_size: ACCEPT_MAX_TIME_PER_SIZE,
            time_budget: None,
        }
    }

    /// The report's `config.adaptive`.
    pub fn config(&self) -> crate::report::AdaptiveConfig {
        crate::report::AdaptiveConfig {
            precision_percent: self.precision_percent,
            max_time_per_size_s: self.max_time_per_size.as_secs_f64(),
            time_budget_s: self.time_budget.map(|d| d.as_secs_f64()),
            min_batches: MIN_BATCHES,
            max_batches: MAX_BATCHES,
        }
    }
}
