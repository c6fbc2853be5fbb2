//! `-I` per-iteration statistics, as nccl-tests computes them: for each iteration the slowest
//! rank's time (the collective is as slow as its slowest participant), then nearest-rank
//! percentiles and the population coefficient of variation over those iterations.

use crate::report::IterStats;

/// nccl-tests' nearest-rank percentile index into `n` sorted samples (`n` ≥ 1).
pub fn percentile_index(n: usize, percentile: usize) -> usize {
    ((n * percentile).div_ceil(100))
        .saturating_sub(1)
        .min(n - 1)
}

/// Statistics of `times_us` (already the per-iteration max over ranks). `None` for no samples.
pub fn iteration_stats(times_us: &[f64]) -> Option<IterStats> {
    let n = times_us.len();
    if n == 0 {
        return None;
    }
    let mut sorted = times_us.to_vec();
    sorted.sort_by(f64::total_cmp);
    let avg = sorted.iter().sum::<f64>() / n as f64;
    let variance = sorted.iter().map(|t| (t - avg) * (t - avg)).sum::<f64>() / n as f64;
    let stdev = variance.sqrt();
    Some(IterStats {
        samples: n,
        min_us: sorted[0],
        max_us: sorted[n - 1],
        p50_us: sorted[n / 2],
        p99_us: sorted[percentile_index(n, 99)],
        cv_percent: if avg > 0.0 { stdev / avg * 100.0 } else { 0.0 },
        avg_us: avg,
        p95_us: sorted[percentile_index(n, 95)],
        stdev_us: stdev,
        ..IterStats::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_index_is_nearest_rank() {
        assert_eq!(percentile_index(1, 99), 0);
        assert_eq!(
            percentile_index(20, 99),
            19,
            "with < 100 samples p99 is the max"
        );
        assert_eq!(percentile_index(100, 99), 98);
        assert_eq!(percentile_index(1000, 99), 989);
        assert_eq!(percentile_index(20, 95), 18);
        assert_eq!(percentile_index(101, 50), 50);
    }

    #[test]
    fn stats_of_a_known_series() {
        // 1..=100 µs shuffled: p50 = sorted[50] = 51, p99 = sorted[98] = 99, p95 = sorted[94] = 95.
        let mut times: Vec<f64> = (1..=100).map(f64::from).collect();
        times.reverse();
        times.swap(3, 70);
        let s = iteration_stats(&times).unwrap();
        assert_eq!(s.samples, 100);
        assert_eq!((s.min_us, s.max_us), (1.0, 100.0));
        assert_eq!((s.p50_us, s.p95_us, s.p99_us), (51.0, 95.0, 99.0));
        assert!((s.avg_us - 50.5).abs() < 1e-12);
        // Population stdev of 1..=100 is sqrt((100^2 - 1) / 12).
        let stdev = ((100.0f64 * 100.0 - 1.0) / 12.0).sqrt();
        assert!((s.stdev_us - stdev).abs() < 1e-9);
        assert!((s.cv_percent - stdev / 50.5 * 100.0).abs() < 1e-9);
    }

    #[test]
    fn constant_and_zero_series() {
        let s = iteration_stats(&[4.0; 7]).unwrap();
        assert_eq!((s.cv_percent, s.stdev_us, s.p99_us), (0.0, 0.0, 4.0));
        let z = iteration_stats(&[0.0; 3]).unwrap();
        assert_eq!(z.cv_percent, 0.0, "no division by a zero average");
        assert!(iteration_stats(&[]).is_none());
    }
}
