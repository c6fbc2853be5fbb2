//! The samples of one measurement, combined over ranks the way its reported time is: for each
//! `-I` iteration the slowest rank's time (as nccl-tests' per-iteration columns), else for each
//! batch of `-n` iterations the `-a` combination of the ranks' times (rank 0's, mean, min, max).
//! Rank 0 uses the same functions between the batches of `--precision` and in the final row.

use super::sample::RankSample;
use crate::error::{CollbenchError, Result};
use crate::plan::AverageMode;
use crate::report::SampleUnit;

/// `values` (one per rank, with the rank) combined per `-a`: the lowest rank's, the mean, the
/// minimum or the maximum.
pub fn combine_ranks(values: impl Iterator<Item = (usize, f64)>, mode: AverageMode) -> f64 {
    let mut lowest = (usize::MAX, 0.0);
    let (mut min, mut max, mut sum, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize);
    for (rank, value) in values {
        if rank < lowest.0 {
            lowest = (rank, value);
        }
        min = min.min(value);
        max = max.max(value);
        sum += value;
        n += 1;
    }
    match mode {
        _ if n == 0 => 0.0,
        AverageMode::Rank0 => lowest.1,
        AverageMode::Avg => sum / n as f64,
        AverageMode::Min => min,
        AverageMode::Max => max,
    }
}

/// The measurement's samples in µs per operation and their unit: iterations (after the `-K`
/// skipped ones) when ranks recorded them and at least 2 remain, else batches when there are at
/// least 2; `None` when neither (one batch without `-I`).
pub fn sample_series(
    samples: &[RankSample],
    mode: AverageMode,
    skip: usize,
) -> Result<Option<(SampleUnit, Vec<f64>)>> {
    if samples.is_empty() {
        return Ok(None);
    }
    if let Some(times) = per_iteration_max(samples, skip)? {
        if times.len() >= skip + 2 {
            return Ok(Some((SampleUnit::Iteration, times[skip..].to_vec())));
        }
    }
    let batches = samples[0].batch_seconds_per_op.len();
    if let Some(odd) = samples
        .iter()
        .find(|s| s.batch_seconds_per_op.len() != batches)
    {
        return Err(CollbenchError::Mpi(format!(
            "rank {} ran {} batches but rank {} ran {batches}; every rank must run the same batches",
            odd.rank,
            odd.batch_seconds_per_op.len(),
            samples[0].rank
        )));
    }
    if batches < 2 {
        return Ok(None);
    }
    let values = (0..batches)
        .map(|b| {
            let per_rank = samples.iter().map(|s| (s.rank, s.batch_seconds_per_op[b]));
            combine_ranks(per_rank, mode) * 1.0e6
        })
        .collect();
    Ok(Some((SampleUnit::Batch, values)))
}

/// For each iteration (the `skip` first included), the slowest rank's time; `None` when no rank
/// recorded iterations. Errors when ranks disagree on the count or `skip` leaves none.
pub(super) fn per_iteration_max(samples: &[RankSample], skip: usize) -> Result<Option<Vec<f64>>> {
    let n = samples[0].per_iteration_us.len();
    if let Some(odd) = samples.iter().find(|s| s.per_iteration_us.len() != n) {
        return Err(CollbenchError::Mpi(format!(
            "rank {} recorded {} per-iteration times but rank {} recorded {n}; every rank must time the same iterations",
            odd.rank,
            odd.per_iteration_us.len(),
            samples[0].rank
        )));
    }
    if n == 0 {
        return Ok(None);
    }
    if skip >= n {
        return Err(CollbenchError::Mpi(format!(
            "-K {skip} skips every one of the {n} per-iteration times; -K must be smaller than -n"
        )));
    }
    let mut slowest = vec![0.0f64; n];
    for s in samples {
        for (m, &t) in slowest.iter_mut().zip(&s.per_iteration_us) {
            if !t.is_finite() || t < 0.0 {
                return Err(CollbenchError::Mpi(format!(
                    "rank {} reported a per-iteration time of {t} µs; expected a finite number ≥ 0",
                    s.rank
                )));
            }
            *m = m.max(t);
        }
    }
    Ok(Some(slowest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rank: usize, batches: &[f64], iterations: &[f64]) -> RankSample {
        RankSample {
            rank,
            batch_seconds_per_op: batches.to_vec(),
            per_iteration_us: iterations.to_vec(),
            ..RankSample::default()
        }
    }

    #[test]
    fn batches_combine_per_average_mode() {
        let s = [sample(1, &[4e-6, 8e-6], &[]), sample(0, &[2e-6, 2e-6], &[])];
        let series = |mode| sample_series(&s, mode, 0).unwrap().unwrap();
        assert_eq!(
            series(AverageMode::Max),
            (SampleUnit::Batch, vec![4.0, 8.0])
        );
        assert_eq!(series(AverageMode::Rank0).1, vec![2.0, 2.0]);
        assert_eq!(series(AverageMode::Min).1, vec![2.0, 2.0]);
        let avg = series(AverageMode::Avg).1;
        assert!((avg[0] - 3.0).abs() < 1e-9 && (avg[1] - 5.0).abs() < 1e-9);
    }

    #[test]
    fn iterations_take_the_slowest_rank_after_the_skipped_ones() {
        let s = [
            sample(0, &[1e-6], &[9.0, 1.0, 5.0]),
            sample(1, &[1e-6], &[1.0, 2.0, 3.0]),
        ];
        let got = sample_series(&s, AverageMode::Avg, 1).unwrap();
        assert_eq!(got, Some((SampleUnit::Iteration, vec![2.0, 5.0])));
        // One iteration left after -K and one batch: no series.
        let got = sample_series(&s, AverageMode::Avg, 2).unwrap();
        assert_eq!(got, None);
    }

    #[test]
    fn ranks_with_different_batch_counts_are_an_error() {
        let s = [sample(0, &[1e-6, 1e-6], &[]), sample(3, &[1e-6], &[])];
        let err = sample_series(&s, AverageMode::Avg, 0)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rank 3 ran 1 batches but rank 0 ran 2"),
            "{err}"
        );
    }
}
