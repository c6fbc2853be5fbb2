//! Summaries of one message size's samples: latency (min, average, typical = median, max) and
//! bandwidth (best batch, overall), plus the HyperPod-style sweep summary.

use serde::{Deserialize, Serialize};

/// Latency of one size in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub samples: usize,
    pub min_us: f64,
    pub avg_us: f64,
    /// The median sample: what a message of this size usually takes, insensitive to the few
    /// samples a scheduler hiccup or a connection setup inflates.
    pub typical_us: f64,
    pub max_us: f64,
}

impl LatencySummary {
    /// `None` for an empty sample set.
    pub fn from_samples(samples_us: &[f64]) -> Option<Self> {
        if samples_us.is_empty() {
            return None;
        }
        let mut sorted = samples_us.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let typical_us = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Self {
            samples: n,
            min_us: sorted[0],
            avg_us: sorted.iter().sum::<f64>() / n as f64,
            typical_us,
            max_us: sorted[n - 1],
        })
    }
}

/// Bandwidth of one size in GB/s (10^9 bytes per second, the unit nccl-tests uses).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BandwidthSummary {
    pub batches: usize,
    /// Best single batch.
    pub max_gb_per_s: f64,
    /// All bytes of all batches over all their time.
    pub avg_gb_per_s: f64,
}

/// One timed batch: `bytes` moved in `seconds`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchTiming {
    pub bytes: u64,
    pub seconds: f64,
}

impl BandwidthSummary {
    pub fn from_batches(batches: &[BatchTiming]) -> Option<Self> {
        let timed: Vec<&BatchTiming> = batches.iter().filter(|b| b.seconds > 0.0).collect();
        if timed.is_empty() {
            return None;
        }
        let max = timed
            .iter()
            .map(|b| b.bytes as f64 / b.seconds)
            .fold(0.0f64, f64::max);
        let bytes: f64 = timed.iter().map(|b| b.bytes as f64).sum();
        let seconds: f64 = timed.iter().map(|b| b.seconds).sum();
        Some(Self {
            batches: timed.len(),
            max_gb_per_s: max / 1e9,
            avg_gb_per_s: bytes / seconds / 1e9,
        })
    }
}

/// The figures HyperPod's EFA loopback check prints, over a whole sweep of message sizes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// Highest per-size bandwidth (GB/s): what the link reaches with large messages.
    pub max_bw_gb_per_s: f64,
    /// Mean of the per-size bandwidths (GB/s).
    pub avg_bw_gb_per_s: f64,
    /// Highest per-size typical latency (us): usually the largest size.
    pub max_typical_lat_us: f64,
    /// Lowest per-size typical latency (us): the small-message latency of the link.
    pub min_typical_lat_us: f64,
    /// Mean of the per-size average latencies (us).
    pub avg_lat_us: f64,
}

impl SweepSummary {
    pub fn from_sizes(
        bandwidths: &[BandwidthSummary],
        latencies: &[LatencySummary],
    ) -> Option<Self> {
        if bandwidths.is_empty() || latencies.is_empty() {
            return None;
        }
        let mean = |values: &mut dyn Iterator<Item = f64>, n: usize| values.sum::<f64>() / n as f64;
        Some(Self {
            max_bw_gb_per_s: bandwidths
                .iter()
                .map(|b| b.avg_gb_per_s)
                .fold(0.0, f64::max),
            avg_bw_gb_per_s: mean(
                &mut bandwidths.iter().map(|b| b.avg_gb_per_s),
                bandwidths.len(),
            ),
            max_typical_lat_us: latencies
                .iter()
                .map(|l| l.typical_us)
                .fold(f64::MIN, f64::max),
            min_typical_lat_us: latencies
                .iter()
                .map(|l| l.typical_us)
                .fold(f64::MAX, f64::min),
            avg_lat_us: mean(&mut latencies.iter().map(|l| l.avg_us), latencies.len()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_latency_is_the_median_and_ignores_outliers() {
        let summary = LatencySummary::from_samples(&[5.0, 1.0, 3.0, 1000.0, 2.0]).unwrap();
        assert_eq!(summary.min_us, 1.0);
        assert_eq!(summary.typical_us, 3.0);
        assert_eq!(summary.max_us, 1000.0);
        assert!((summary.avg_us - 202.2).abs() < 1e-9);
        let even = LatencySummary::from_samples(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(even.typical_us, 2.5);
        assert!(LatencySummary::from_samples(&[]).is_none());
    }

    #[test]
    fn bandwidth_is_bytes_over_time_in_gb_per_s() {
        let batches = [
            BatchTiming {
                bytes: 2_000_000_000,
                seconds: 1.0,
            },
            BatchTiming {
                bytes: 1_000_000_000,
                seconds: 1.0,
            },
        ];
        let summary = BandwidthSummary::from_batches(&batches).unwrap();
        assert_eq!(summary.max_gb_per_s, 2.0);
        assert_eq!(summary.avg_gb_per_s, 1.5);
        assert!(BandwidthSummary::from_batches(&[BatchTiming {
            bytes: 8,
            seconds: 0.0
        }])
        .is_none());
    }

    #[test]
    fn sweep_summary_takes_extremes_across_sizes() {
        let bw = |gb: f64| BandwidthSummary {
            batches: 1,
            max_gb_per_s: gb,
            avg_gb_per_s: gb,
        };
        let lat = |typ: f64, avg: f64| LatencySummary {
            samples: 1,
            min_us: typ,
            avg_us: avg,
            typical_us: typ,
            max_us: typ,
        };
        let summary =
            SweepSummary::from_sizes(&[bw(1.0), bw(3.0)], &[lat(10.0, 12.0), lat(30.0, 32.0)])
                .unwrap();
        assert_eq!(summary.max_bw_gb_per_s, 3.0);
        assert_eq!(summary.avg_bw_gb_per_s, 2.0);
        assert_eq!(summary.max_typical_lat_us, 30.0);
        assert_eq!(summary.min_typical_lat_us, 10.0);
        assert_eq!(summary.avg_lat_us, 22.0);
    }
}
