//! The timed loop with nccl-tests semantics (common.cu `BenchTime`), shared by backends.
//!
//! `-n` iterations of `-m` aggregated operations are launched back to back and timed by the host
//! clock once everything has completed; the reported time is elapsed / (n × m). `-z` modes:
//! 1 waits for and barriers after every operation (timed), 2 waits after every operation, 3 waits
//! after every iteration and then barriers outside the timed span. The time taken to *launch* the
//! operations (nccl-tests' "cputime", read before the final wait) is kept beside it for `-C 1`. `-I 1` also
//! records each iteration's time per operation (the loop waits for every iteration for that).
//! Each iteration tells the `-T` watchdog it made progress. Test hooks (`COLLBENCH_TEST_DELAY`)
//! wrap the backend's operations (`crate::faults`), outside this loop.

use super::{watchdog, Timing};
use crate::error::Result;
use crate::plan::BlockingMode;
use crate::plan::TimingPlan;
use std::time::{Duration, Instant};

/// What a timed loop drives: one backend, one call.
pub trait LoopOps {
    /// Launches operation number `op_index` (0-based over the whole loop; backends use it to move
    /// buffers, like nccl-tests' per-iteration offset).
    fn launch(&mut self, op_index: usize) -> Result<()>;
    /// Waits until every launched operation has completed.
    fn complete(&mut self) -> Result<()>;
    /// Synchronises with the other ranks of the communicator.
    fn barrier(&mut self) -> Result<()>;
}

/// Runs the timed loop of `plan` over `ops`.
pub fn run_timed(plan: &TimingPlan, ops: &mut impl LoopOps) -> Result<Timing> {
    let iters = plan.iters.max(1);
    let agg = plan.agg_iters.max(1);
    let mode = plan.blocking_mode;
    let per_iteration = plan.per_iteration || mode == BlockingMode::WaitAndBarrierEachIter;
    let mut per_iteration_us = Vec::with_capacity(if per_iteration { iters } else { 0 });
    // -z 3: only the launch-to-completion span of each iteration counts, not its barrier.
    let mut timed_span = Duration::ZERO;
    let start = Instant::now();
    for iter in 0..iters {
        // Reading the clock costs tens of ns: only when per-iteration times are needed.
        let iter_start = per_iteration.then(Instant::now);
        for aggregated in 0..agg {
            ops.launch(iter * agg + aggregated)?;
            match mode {
                BlockingMode::WaitAndBarrierEachOp => {
                    ops.complete()?;
                    ops.barrier()?;
                }
                BlockingMode::WaitEachOp => ops.complete()?,
                BlockingMode::Off | BlockingMode::WaitAndBarrierEachIter => {}
            }
        }
        if let Some(iter_start) = iter_start {
            ops.complete()?;
            let span = iter_start.elapsed();
            timed_span += span;
            if plan.per_iteration {
                per_iteration_us.push(span.as_secs_f64() * 1e6 / agg as f64);
            }
        }
        if mode == BlockingMode::WaitAndBarrierEachIter {
            ops.barrier()?;
        }
        watchdog::heartbeat(iter as u64 + 1);
    }
    let launch_seconds = start.elapsed().as_secs_f64();
    ops.complete()?;
    let total_seconds = start.elapsed().as_secs_f64();
    let seconds = if mode == BlockingMode::WaitAndBarrierEachIter {
        timed_span.as_secs_f64()
    } else {
        total_seconds
    };
    let ops = (iters * agg) as f64;
    Ok(Timing {
        seconds_per_op: seconds / ops,
        cpu_seconds_per_op: launch_seconds / ops,
        per_iteration_us,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Records what the loop asked for; each launch takes `launch_cost`, completion `wait_cost`.
    struct Recorder {
        launches: Vec<usize>,
        completes: usize,
        barriers: usize,
        launch_cost: Duration,
        wait_cost: Duration,
        barrier_cost: Duration,
    }

    impl LoopOps for Recorder {
        fn launch(&mut self, op_index: usize) -> Result<()> {
            self.launches.push(op_index);
            std::thread::sleep(self.launch_cost);
            Ok(())
        }
        fn complete(&mut self) -> Result<()> {
            self.completes += 1;
            std::thread::sleep(self.wait_cost);
            Ok(())
        }
        fn barrier(&mut self) -> Result<()> {
            self.barriers += 1;
            std::thread::sleep(self.barrier_cost);
            Ok(())
        }
    }

    fn plan(iters: usize, agg: usize) -> TimingPlan {
        TimingPlan {
            iters,
            agg_iters: agg,
            graph_launches: 0,
            blocking_mode: BlockingMode::Off,
            per_iteration: false,
            per_iteration_skip: 0,
            report_cputime: false,
        }
    }

    fn recorder(wait_ms: u64) -> Recorder {
        Recorder {
            launches: vec![],
            completes: 0,
            barriers: 0,
            launch_cost: Duration::from_millis(1),
            wait_cost: Duration::from_millis(wait_ms),
            barrier_cost: Duration::ZERO,
        }
    }

    #[test]
    fn launches_n_times_m_operations_and_divides_by_their_number() {
        let mut ops = recorder(20);
        let timing = run_timed(&plan(3, 2), &mut ops).unwrap();
        assert_eq!(ops.launches, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!((ops.completes, ops.barriers), (1, 0));
        // 6 launches of 1 ms plus one 20 ms wait, over 6 operations: at least (6 + 20) / 6 ms.
        assert!(timing.seconds_per_op >= 26e-3 / 6.0, "{timing:?}");
        assert!(timing.per_iteration_us.is_empty());
    }

    #[test]
    fn cputime_excludes_the_final_wait() {
        let mut ops = recorder(50);
        let mut p = plan(2, 1);
        p.report_cputime = true;
        let timing = run_timed(&p, &mut ops).unwrap();
        assert_eq!((ops.completes, ops.barriers), (1, 0));
        assert!(timing.cpu_seconds_per_op < 20e-3, "{timing:?}");
        // The completion time is still measured: nccl-tests' bandwidths divide by it under -C.
        assert!(timing.seconds_per_op >= 50e-3 / 2.0, "{timing:?}");
    }

    #[test]
    fn blocking_modes_wait_and_barrier_where_nccl_tests_does() {
        let run = |mode: BlockingMode| {
            let mut ops = recorder(0);
            ops.barrier_cost = Duration::from_millis(30);
            let mut p = plan(3, 2);
            p.blocking_mode = mode;
            let timing = run_timed(&p, &mut ops).unwrap();
            (ops.completes, ops.barriers, timing.seconds_per_op)
        };
        let (completes, barriers, seconds) = run(BlockingMode::WaitAndBarrierEachOp);
        assert_eq!((completes, barriers), (6 + 1, 6));
        assert!(seconds >= 30e-3, "barriers are timed in -z 1: {seconds}");
        let (completes, barriers, _) = run(BlockingMode::WaitEachOp);
        assert_eq!((completes, barriers), (6 + 1, 0));
        let (completes, barriers, seconds) = run(BlockingMode::WaitAndBarrierEachIter);
        assert_eq!((completes, barriers), (3 + 1, 3));
        assert!(seconds < 15e-3, "barriers are not timed in -z 3: {seconds}");
    }

    #[test]
    fn per_iteration_times_are_recorded_per_operation() {
        let mut ops = recorder(0);
        let mut p = plan(4, 2);
        p.per_iteration = true;
        let timing = run_timed(&p, &mut ops).unwrap();
        assert_eq!(timing.per_iteration_us.len(), 4);
        assert!(timing.per_iteration_us.iter().all(|&us| us >= 1000.0));
        assert_eq!(ops.completes, 5);
    }
}
