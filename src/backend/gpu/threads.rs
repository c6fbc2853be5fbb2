//! One process's timing from the timings of its `-t` launch threads.

use crate::error::Result;
use crate::measure::Timing;

/// Per-process timing from the threads' timings: mean time per operation (nccl-tests averages
/// over threads), the first thread's launch time (nccl-tests prints thread 0's cputime, it is
/// not averaged), per-iteration samples as the slowest thread's.
pub(super) fn combine_threads(results: Vec<Result<Timing>>) -> Result<Timing> {
    let mut timings = Vec::with_capacity(results.len());
    for r in results {
        timings.push(r?);
    }
    let n = timings.len().max(1) as f64;
    let seconds_per_op = timings.iter().map(|t| t.seconds_per_op).sum::<f64>() / n;
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

    #[test]
    fn threads_combine_as_mean_time_and_slowest_iteration() {
        let a = Timing {
            seconds_per_op: 1.0,
            cpu_seconds_per_op: 0.25,
            per_iteration_us: vec![1.0, 5.0],
        };
        let b = Timing {
            seconds_per_op: 3.0,
            cpu_seconds_per_op: 0.5,
            per_iteration_us: vec![2.0, 4.0],
        };
        let t = combine_threads(vec![Ok(a), Ok(b)]).unwrap();
        assert_eq!(t.seconds_per_op, 2.0);
        assert_eq!(
            t.cpu_seconds_per_op, 0.25,
            "thread 0's launch time, as nccl-tests prints"
        );
        assert_eq!(t.per_iteration_us, vec![2.0, 5.0]);
        assert!(combine_threads(vec![Err(CollbenchError::Nccl("x".into()))]).is_err());
    }
}
