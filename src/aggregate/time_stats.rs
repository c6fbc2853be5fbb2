//! The uncertainty of a reported time: the median of its samples and a distribution-free 95 %
//! confidence interval for that median.
//!
//! Why the median and an order-statistic interval: these machines have spikes (a rank descheduled
//! for milliseconds on a shared core, page faults, a neighbour's job), which drag a mean and
//! inflate a standard deviation; one spike moves the median and the interval's bounds by at most
//! one sample. The interval `[x(k), x(n+1-k)]` of the sorted samples covers the true median with
//! probability `1 - 2·P(B <= k-1)`, `B ~ Binomial(n, 1/2)`, for any continuous distribution of
//! independent samples: exact, no resampling, no seed, no normality. `k` is the largest index whose
//! coverage is still >= 95 %; with fewer than 6 samples no index reaches 95 % and the interval is
//! the whole range `[min, max]`, whose exact coverage (`1 - 2^(1-n)`) is what `confidence` says.
//! Samples taken back to back are not fully independent (a machine drifts): the interval states
//! the within-run uncertainty, not run-to-run noise.

use crate::report::{SampleUnit, TimeStats};

/// The confidence level the interval aims for.
pub const CONFIDENCE: f64 = 0.95;

/// MAD × this estimates the standard deviation of normal data.
const MAD_TO_SIGMA: f64 = 1.4826;

/// The median of `values_us` with its 95 % interval; `None` with fewer than 2 samples or any
/// sample that is not a finite number.
pub fn median_interval(values_us: &[f64], unit: SampleUnit) -> Option<TimeStats> {
    let n = values_us.len();
    if n < 2 || values_us.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut sorted = values_us.to_vec();
    sorted.sort_by(f64::total_cmp);
    let center = median_of_sorted(&sorted);
    let (k, confidence) = order_statistic_index(n);
    let mut deviations: Vec<f64> = sorted.iter().map(|v| (v - center).abs()).collect();
    deviations.sort_by(f64::total_cmp);
    let mad = median_of_sorted(&deviations);
    Some(TimeStats {
        statistic: "median".to_string(),
        unit,
        samples: n,
        center_us: center,
        ci_low_us: sorted[k - 1],
        ci_high_us: sorted[n - k],
        confidence,
        spread_percent: if center > 0.0 {
            MAD_TO_SIGMA * mad / center * 100.0
        } else {
            0.0
        },
        values_us: values_us.to_vec(),
        precision: None,
    })
}

fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The 1-based order statistic `k` of the lower bound and the exact coverage of
/// `[x(k), x(n+1-k)]`: the largest `k` whose coverage is >= [`CONFIDENCE`], else 1 (the range).
pub fn order_statistic_index(n: usize) -> (usize, f64) {
    // P(B <= j) for B ~ Binomial(n, 1/2), summed in log space (0.5^n underflows past n = 1074).
    let ln_half_n = n as f64 * 0.5f64.ln();
    let mut ln_choose = 0.0f64; // ln C(n, 0)
    let mut cdf = 0.0f64;
    // k = 1, [min, max]: it misses the median only when every sample is on one side of it.
    let mut best = (1, 1.0 - 2.0 * ln_half_n.exp());
    for j in 0..n / 2 {
        cdf += (ln_choose + ln_half_n).exp();
        let coverage = 1.0 - 2.0 * cdf;
        if coverage < CONFIDENCE {
            break;
        }
        // P(B <= j) <= 2.5 %: the lower bound may be x(j+1), one more than j samples below it.
        best = (j + 1, coverage);
        ln_choose += ((n - j) as f64).ln() - ((j + 1) as f64).ln();
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fewer_than_two_samples_or_a_non_finite_one_give_none() {
        assert!(median_interval(&[], SampleUnit::Batch).is_none());
        assert!(median_interval(&[5.0], SampleUnit::Batch).is_none());
        assert!(median_interval(&[5.0, f64::NAN], SampleUnit::Batch).is_none());
        let two = median_interval(&[4.0, 6.0], SampleUnit::Cycle).unwrap();
        assert_eq!(
            (two.center_us, two.ci_low_us, two.ci_high_us),
            (5.0, 4.0, 6.0)
        );
        assert_eq!(
            two.confidence, 0.5,
            "[min, max] of 2 samples covers the median half the time"
        );
        assert_eq!(two.unit, SampleUnit::Cycle);
    }

    #[test]
    fn known_order_statistics() {
        // Published tables (e.g. Conover, Practical Nonparametric Statistics): n = 6 → k = 1
        // (96.9 %), n = 10 → k = 2 (97.9 %), n = 20 → k = 6 (95.9 %), n = 100 → k = 40 (96.5 %).
        let cases = [
            (6, 1, 0.96875),
            (10, 2, 0.978516),
            (20, 6, 0.958611),
            (100, 40, 0.964800),
        ];
        for (n, k, coverage) in cases {
            let (got_k, got) = order_statistic_index(n);
            assert_eq!(got_k, k, "n = {n}");
            assert!((got - coverage).abs() < 1e-5, "n = {n}: {got}");
        }
        assert_eq!(order_statistic_index(5).0, 1);
        assert!((order_statistic_index(5).1 - 0.9375).abs() < 1e-12);
        // Large n stays finite and near the normal approximation n/2 - 0.98·sqrt(n).
        let (k, coverage) = order_statistic_index(100_000);
        assert!((49_680..=49_700).contains(&k), "{k}");
        assert!((0.95..0.96).contains(&coverage), "{coverage}");
    }

    #[test]
    fn a_known_series_with_a_spike() {
        // 1..=19 µs plus one 1000 µs spike: the median and interval barely notice it.
        let mut values: Vec<f64> = (1..=19).map(f64::from).collect();
        values.push(1000.0);
        let s = median_interval(&values, SampleUnit::Iteration).unwrap();
        assert_eq!(s.center_us, 10.5);
        // n = 20, k = 6: [x(6), x(15)].
        assert_eq!((s.ci_low_us, s.ci_high_us), (6.0, 15.0));
        assert_eq!(s.samples, 20);
        assert_eq!(s.statistic, "median");
        assert_eq!(s.values_us, values);
        // MAD of 1..=19 ∪ {1000} around 10.5 is 5: spread = 1.4826 × 5 / 10.5.
        assert!((s.spread_percent - 1.4826 * 5.0 / 10.5 * 100.0).abs() < 1e-9);
        assert!((s.half_width_percent() - 4.5 / 10.5 * 100.0).abs() < 1e-9);
    }

    /// Coverage sanity: over many simulated runs of a skewed, spiky distribution, the interval
    /// holds the true median at least about 95 % of the time.
    #[test]
    fn interval_covers_the_true_median_about_95_percent_of_the_time() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(13);
        // Exponential(1) shifted by 10 µs, 5 % spikes of +500 µs: true median solves
        // 0.95·(1 - e^-x) = 0.5 → x = -ln(1 - 0.5/0.95).
        let true_median = 10.0 - (1.0f64 - 0.5 / 0.95).ln();
        for n in [6, 11, 30, 200] {
            let trials = 4000;
            let mut covered = 0;
            for _ in 0..trials {
                let values: Vec<f64> = (0..n)
                    .map(|_| {
                        let spike = if rng.gen::<f64>() < 0.05 { 500.0 } else { 0.0 };
                        10.0 - (1.0 - rng.gen::<f64>()).ln() + spike
                    })
                    .collect();
                let s = median_interval(&values, SampleUnit::Batch).unwrap();
                if s.ci_low_us <= true_median && true_median <= s.ci_high_us {
                    covered += 1;
                }
            }
            let rate = covered as f64 / trials as f64;
            assert!(rate >= 0.94, "n = {n}: covered {rate}");
        }
    }
}
