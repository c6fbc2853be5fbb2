//! One process's timing from the timings of its `-t` launch threads.

use crate::error::Result;
use crate::measure::Timing;
use crate::plan::AverageMode;

/// Per-process timing from the threads' timings. nccl-tests reduces `-a` over every thread of
/// every process (mean, min, max, or process 0's thread 0); reducing each process's threads with
/// the same `mode` first gives the same result once the processes are reduced too (the mean of
/// equal-sized means is the mean). The launch time is the first thread's (nccl-tests prints
/// thread 0's cputime, not reduced); per-iteration samples are the slowest thread's.
pub(super) fn combine_threads(results: Vec<Result<Timing>>, mode: AverageMode) -> Result<Timing> {
    let mut timings = Vec::with_capacity(results.len());
    for r in results {
        timings.push(r?);
    }
    let times = timings.iter().map(|t| t.seconds_per_op);
    let seconds_per_op = match mode {
        AverageMode::Rank0 => timings.first().map_or(0.0, |t| t.seconds_per_op),
        AverageMode::Avg => times.sum::<f64>() / timings.len().max(1) as f64,
        AverageMode::Min => times.fold(f64::INFINITY, f64::min),
        AverageMode::Max => times.fold(0.0, f64::max),
    };
    let samples = timings
        .iter()
        .map(|t| t.per_iteration_us.len())
        .max()
        .unwrap_or(0);
    let per_iteration_us = (0..samples)
        .map(|i| {
            timings
                .iter()
                .filter_map(|t| t.per_iteration_us.get(i))
                .fold(0f64, |a, &b| a.max(b))
        })
        .collect();
    Ok(Timing {
        seconds_per_op,
        cpu_seconds_per_op: timings.first().map_or(0.0, |t| t.cpu_seconds_per_op),
        per_iteration_us,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CollbenchError;

    fn timing(seconds_per_op: f64, cpu_seconds_per_op: f64, per_iteration_us: Vec<f64>) -> Timing {
        Timing {
            seconds_per_op,
            cpu_seconds_per_op,
            per_iteration_us,
        }
    }

    #[test]
    fn threads_combine_by_the_average_mode_with_thread_0s_launch_and_the_slowest_iteration() {
        let threads = || {
            vec![
                Ok(timing(2.0, 0.25, vec![1.0, 5.0])),
                Ok(timing(1.0, 0.5, vec![2.0, 4.0])),
                Ok(timing(6.0, 0.75, vec![3.0, 3.0])),
            ]
        };
        for (mode, expected) in [
            (AverageMode::Avg, 3.0),
            (AverageMode::Min, 1.0),
            (AverageMode::Max, 6.0),
            (AverageMode::Rank0, 2.0),
        ] {
            let t = combine_threads(threads(), mode).unwrap();
            assert_eq!(t.seconds_per_op, expected, "{mode:?}");
            assert_eq!(
                t.cpu_seconds_per_op, 0.25,
                "thread 0's launch time, as nccl-tests prints"
            );
            assert_eq!(t.per_iteration_us, vec![3.0, 5.0]);
        }
        let failed = vec![
            Ok(timing(1.0, 0.0, vec![])),
            Err(CollbenchError::Nccl("x".into())),
        ];
        assert!(combine_threads(failed, AverageMode::Avg).is_err());
    }

    /// Reducing threads, then processes, with one mode equals nccl-tests' reduction over every
    /// thread of every process at once.
    #[test]
    fn threads_then_processes_equal_one_reduction_over_all_threads() {
        let processes = [[4.0, 1.0], [2.0, 9.0], [3.0, 5.0]];
        let all: Vec<f64> = processes.iter().flatten().copied().collect();
        for mode in [
            AverageMode::Avg,
            AverageMode::Min,
            AverageMode::Max,
            AverageMode::Rank0,
        ] {
            let per_process: Vec<f64> = processes
                .iter()
                .map(|threads| {
                    let results = threads
                        .iter()
                        .map(|&s| Ok(timing(s, 0.0, vec![])))
                        .collect();
                    combine_threads(results, mode).unwrap().seconds_per_op
                })
                .collect();
            let (two_step, one_step) = match mode {
                AverageMode::Avg => (
                    per_process.iter().sum::<f64>() / 3.0,
                    all.iter().sum::<f64>() / 6.0,
                ),
                AverageMode::Min => (
                    per_process.iter().copied().fold(f64::INFINITY, f64::min),
                    all.iter().copied().fold(f64::INFINITY, f64::min),
                ),
                AverageMode::Max => (
                    per_process.iter().copied().fold(0.0, f64::max),
                    all.iter().copied().fold(0.0, f64::max),
                ),
                AverageMode::Rank0 => (per_process[0], all[0]),
            };
            assert_eq!(two_step, one_step, "{mode:?}");
        }
    }
}
