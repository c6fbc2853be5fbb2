//! The timed part of one measurement: nccl-tests' one loop of `-n` iterations, or with
//! `--precision` batches of `-n` until the 95 % interval of the reported time is narrow enough or
//! a budget ends.
//!
//! Stopping is collective: after each batch every rank sends its batch to rank 0 (the same
//! encoding and aggregation as the row's, `crate::aggregate`), rank 0 decides, and its one-byte
//! word is broadcast, so every rank runs the same batches. The budgets use rank 0's clock only.
//! The interval is re-checked on a geometric schedule (every ~10 % more batches): sorting every
//! sample after every batch would cost more than a small size's batch.

use crate::aggregate::{
    decode_samples, encode_samples, median_interval, sample_series, AggregateOptions, RankSample,
    CONFIDENCE,
};
use crate::backend::{Backend, CallSpec};
use crate::error::Result;
use crate::measure::watchdog::{self, Phase};
use crate::measure::Timing;
use crate::plan::adaptive::{AdaptivePlan, MAX_BATCHES, MIN_BATCHES};
use crate::plan::TimingPlan;
use crate::report::StopReason;
use crate::world::World;
use std::time::{Duration, Instant};

/// Every batch of one measurement, on one rank.
#[derive(Debug, Default)]
pub struct Batches {
    /// Seconds per operation of each batch.
    pub seconds_per_op: Vec<f64>,
    /// The batches' mean seconds per operation (equal batches: the whole run's).
    pub mean_seconds_per_op: f64,
    pub mean_cpu_seconds_per_op: f64,
    /// `-I`: every batch's iterations, in order.
    pub per_iteration_us: Vec<f64>,
    /// Why the batches stopped (rank 0 of an adaptive run; `None` elsewhere).
    pub stopped_by: Option<StopReason>,
}

impl Batches {
    fn push(&mut self, timing: Timing) {
        let n = self.seconds_per_op.len() as f64;
        self.mean_seconds_per_op =
            (self.mean_seconds_per_op * n + timing.seconds_per_op) / (n + 1.0);
        self.mean_cpu_seconds_per_op =
            (self.mean_cpu_seconds_per_op * n + timing.cpu_seconds_per_op) / (n + 1.0);
        self.seconds_per_op.push(timing.seconds_per_op);
        self.per_iteration_us.extend(timing.per_iteration_us);
    }
}

/// Runs the timed loop once, or (with a judge) in batches until rank 0 says stop. Every rank
/// must call it with a judge, or every rank without.
pub fn run(
    backend: &mut dyn Backend,
    world: &dyn World,
    call: &CallSpec,
    timing: &TimingPlan,
    mut judge: Option<&mut BatchJudge>,
) -> Result<Batches> {
    let mut batches = Batches::default();
    loop {
        let batch = {
            let _armed = watchdog::waiting(Phase::Timed);
            backend.measure(call, timing)?
        };
        let Some(judge) = judge.as_deref_mut() else {
            batches.push(batch);
            return Ok(batches);
        };
        let stop = judge.after_batch(world, &batch)?;
        batches.push(batch);
        if stop {
            batches.stopped_by = judge.stopped_by.take();
            return Ok(batches);
        }
        let _armed = watchdog::waiting(Phase::Barrier);
        world.barrier()?;
    }
}

/// Rank 0's view of the run's budgets and of the measurement in progress. Other ranks hold one
/// too (they only follow rank 0's word).
pub struct BatchJudge {
    plan: AdaptivePlan,
    options: AggregateOptions,
    /// Time the sweep's batches have taken, against `--time-budget`.
    sweep_spent: Duration,
    /// Time the batches of the size in progress have taken (its out-of-place measurement).
    size_spent: Duration,
    /// Measurements not yet finished, this one included (they share what is left of the budget).
    cells_left: usize,
    cell: CellClock,
    /// When the measurement in progress started its first batch.
    cell_start: Instant,
    /// Each rank's batches so far (rank 0).
    samples: Vec<RankSample>,
    next_check: usize,
    stopped_by: Option<StopReason>,
    stop_signal: Option<super::runner::StopSignal>,
}

/// When the measurement in progress must stop, and why.
#[derive(Clone, Copy, Debug)]
struct CellClock {
    deadline: Instant,
    reason: StopReason,
    last_batch_end: Instant,
    last_batch: Duration,
    batches: usize,
}

impl BatchJudge {
    /// `cells` is the number of measurements (table cells) the sweep will run.
    pub fn new(
        plan: AdaptivePlan,
        options: AggregateOptions,
        cells: usize,
        stop_signal: Option<super::runner::StopSignal>,
    ) -> BatchJudge {
        let now = Instant::now();
        BatchJudge {
            plan,
            options,
            sweep_spent: Duration::ZERO,
            size_spent: Duration::ZERO,
            cells_left: cells.max(1),
            cell: CellClock {
                deadline: now,
                reason: StopReason::SizeBudget,
                last_batch_end: now,
                last_batch: Duration::ZERO,
                batches: 0,
            },
            cell_start: now,
            samples: Vec::new(),
            next_check: MIN_BATCHES,
            stopped_by: None,
            stop_signal,
        }
    }

    /// Starts a measurement, right before its first batch. The budgets count the batches' time
    /// (timed loops and agreements; not the warm-up, filling or validation, which do not depend on
    /// them): out of place a size may use half its `--max-time-per-size`, in place what the out
    /// of place left, and each at most an equal share of what is left of `--time-budget`.
    pub fn begin_cell(&mut self, in_place: bool) {
        let now = Instant::now();
        if !in_place {
            self.size_spent = Duration::ZERO;
        }
        let per_size = if in_place {
            self.plan.max_time_per_size.saturating_sub(self.size_spent)
        } else {
            self.plan.max_time_per_size / 2
        };
        let mut clock = CellClock {
            deadline: now + per_size,
            reason: StopReason::SizeBudget,
            last_batch_end: now,
            last_batch: Duration::ZERO,
            batches: 0,
        };
        if let Some(budget) = self.plan.time_budget {
            let share = budget.saturating_sub(self.sweep_spent) / self.cells_left as u32;
            if now + share < clock.deadline {
                clock.deadline = now + share;
                clock.reason = StopReason::SweepBudget;
            }
        }
        self.cell_start = now;
        self.cell = clock;
        self.samples.clear();
        self.next_check = MIN_BATCHES;
        self.stopped_by = None;
    }

    /// The measurement is done (what it left of the sweep budget goes to the others).
    pub fn end_cell(&mut self) {
        let spent = self.cell_start.elapsed();
        self.size_spent += spent;
        self.sweep_spent += spent;
        self.cells_left = self.cells_left.saturating_sub(1).max(1);
    }

    /// After a batch: gathers it to rank 0, which decides; every rank learns whether to stop.
    fn after_batch(&mut self, world: &dyn World, batch: &Timing) -> Result<bool> {
        let mine = RankSample {
            batch_seconds_per_op: vec![batch.seconds_per_op],
            per_iteration_us: batch.per_iteration_us.clone(),
            ..RankSample::default()
        };
        let gathered = {
            let _armed = watchdog::waiting(Phase::Batches);
            world.gather_bytes(&encode_samples(&[mine]))?
        };
        let mut word = vec![0u8];
        if let Some(parts) = gathered {
            let stop = self.judge(&parts)?;
            word[0] = u8::from(stop.is_some());
            self.stopped_by = stop;
        }
        {
            let _armed = watchdog::waiting(Phase::Batches);
            world.broadcast_bytes(&mut word)?;
        }
        Ok(word.first() == Some(&1))
    }

    /// Rank 0: adds every rank's batch and decides.
    fn judge(&mut self, parts: &[Vec<u8>]) -> Result<Option<StopReason>> {
        let now = Instant::now();
        self.cell.last_batch = now.saturating_duration_since(self.cell.last_batch_end);
        self.cell.last_batch_end = now;
        self.cell.batches += 1;
        let fresh = self.samples.is_empty();
        for (process, part) in parts.iter().enumerate() {
            // One sample per process (its first rank's, as the row's gather): the process index
            // orders them as their ranks do, which is all `-a 0` needs.
            for sample in decode_samples(part)? {
                if fresh {
                    self.samples.push(RankSample {
                        rank: process,
                        ..sample
                    });
                } else if let Some(acc) = self.samples.get_mut(process) {
                    acc.batch_seconds_per_op.extend(sample.batch_seconds_per_op);
                    acc.per_iteration_us.extend(sample.per_iteration_us);
                }
            }
        }
        let interrupted = self
            .stop_signal
            .as_ref()
            .is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst) != 0);
        let due = decide(&self.cell, now, interrupted);
        let check = due.is_some() || self.cell.batches >= self.next_check;
        if check && self.cell.batches >= MIN_BATCHES && self.precise()? {
            return Ok(Some(StopReason::Precision));
        }
        if check {
            self.next_check = (self.cell.batches + self.cell.batches.div_ceil(10)).max(MIN_BATCHES);
        }
        Ok(due)
    }

    /// Whether the interval of the samples so far is within the target.
    fn precise(&self) -> Result<bool> {
        let Some((unit, values)) = sample_series(
            &self.samples,
            self.options.mode,
            self.options.per_iteration_skip,
        )?
        else {
            return Ok(false);
        };
        // Fewer than 6 samples give [min, max] below 95 % confidence: never precise enough.
        Ok(median_interval(&values, unit).is_some_and(|s| {
            s.confidence >= CONFIDENCE && s.half_width_percent() <= self.plan.precision_percent
        }))
    }
}

/// Whether a budget, the batch cap or a signal ends the measurement after `clock.batches`
/// batches: never before [`MIN_BATCHES`]; a budget ends it when the next batch (as long as the
/// last one) would end after the deadline.
fn decide(clock: &CellClock, now: Instant, interrupted: bool) -> Option<StopReason> {
    if clock.batches < MIN_BATCHES {
        return None;
    }
    if interrupted {
        return Some(StopReason::Signal);
    }
    if clock.batches >= MAX_BATCHES {
        return Some(StopReason::MaxBatches);
    }
    (now + clock.last_batch > clock.deadline).then_some(clock.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(batches: usize, deadline_in: Duration, last_batch: Duration) -> (CellClock, Instant) {
        let now = Instant::now();
        let clock = CellClock {
            deadline: now + deadline_in,
            reason: StopReason::SizeBudget,
            last_batch_end: now,
            last_batch,
            batches,
        };
        (clock, now)
    }

    #[test]
    fn budgets_stop_only_after_the_minimum_and_before_overrunning() {
        let ms = Duration::from_millis;
        let (c, now) = clock(1, ms(0), ms(5));
        assert_eq!(decide(&c, now, true), None, "never before two batches");
        let (c, now) = clock(2, ms(100), ms(5));
        assert_eq!(decide(&c, now, false), None);
        let (c, now) = clock(2, ms(4), ms(5));
        assert_eq!(
            decide(&c, now, false),
            Some(StopReason::SizeBudget),
            "next batch would overrun"
        );
        assert_eq!(decide(&c, now, true), Some(StopReason::Signal));
        let (c, now) = clock(MAX_BATCHES, ms(100), ms(5));
        assert_eq!(decide(&c, now, false), Some(StopReason::MaxBatches));
    }

    fn judge(plan: AdaptivePlan, cells: usize) -> BatchJudge {
        let options = AggregateOptions {
            mode: crate::plan::AverageMode::Avg,
            per_iteration_skip: 0,
            report_cputime: false,
            center_is_reported: true,
        };
        BatchJudge::new(plan, options, cells, None)
    }

    #[test]
    fn sizes_and_the_sweep_share_their_budgets() {
        let plan = AdaptivePlan {
            precision_percent: 1.0,
            max_time_per_size: Duration::from_secs(4),
            time_budget: Some(Duration::from_secs(60)),
        };
        let mut j = judge(plan, 10);
        let start = Instant::now();
        j.begin_cell(false);
        // Out of place: half of the 4 s per size; the sweep's share (6 s) is larger.
        assert_eq!(j.cell.reason, StopReason::SizeBudget);
        assert!(j.cell.deadline <= Instant::now() + Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(50));
        j.end_cell();
        // In place: the 4 s less what out of place took.
        j.begin_cell(true);
        let left = j.cell.deadline.duration_since(start);
        assert!(
            left > Duration::from_millis(3900)
                && left <= Duration::from_millis(4000) + start.elapsed(),
            "{left:?}"
        );
        assert!(j.size_spent >= Duration::from_millis(50));
        // 100 cells share 60 s: 0.6 s each, less than the size's budget.
        let mut j = judge(plan, 100);
        j.begin_cell(true);
        assert_eq!(j.cell.reason, StopReason::SweepBudget);
        j.end_cell();
        assert_eq!(j.cells_left, 99);
    }

    fn part(seconds: f64) -> Vec<u8> {
        encode_samples(&[RankSample {
            batch_seconds_per_op: vec![seconds],
            ..RankSample::default()
        }])
    }

    #[test]
    fn a_steady_measurement_stops_on_precision_a_noisy_one_on_its_budget() {
        let plan = AdaptivePlan {
            precision_percent: 1.0,
            max_time_per_size: Duration::from_secs(3600),
            time_budget: None,
        };
        let mut j = judge(plan, 1);
        j.begin_cell(false);
        let mut stop = None;
        for _ in 0..50 {
            stop = j.judge(&[part(1e-5), part(1e-5)]).unwrap();
            if stop.is_some() {
                break;
            }
        }
        assert_eq!(stop, Some(StopReason::Precision));
        assert_eq!(j.cell.batches, 6, "the first count with a 95 % interval");

        let tight = AdaptivePlan {
            max_time_per_size: Duration::from_millis(1),
            ..plan
        };
        let mut j = judge(tight, 1);
        j.begin_cell(false);
        let noisy = [1e-5, 3e-5, 2e-5, 5e-5];
        let mut stop = None;
        for k in 0..1000 {
            std::thread::sleep(Duration::from_micros(200));
            stop = j
                .judge(&[part(noisy[k % 4]), part(noisy[(k + 1) % 4])])
                .unwrap();
            if stop.is_some() {
                break;
            }
        }
        assert_eq!(stop, Some(StopReason::SizeBudget));
        assert!(j.cell.batches >= MIN_BATCHES);
    }
}
