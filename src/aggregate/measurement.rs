//! One table cell from every rank's sample: the reported time per `-a`, bandwidths, validation
//! totals, the cross-rank spread and the per-iteration statistics.

use super::iter_stats::iteration_stats;
use super::sample::RankSample;
use super::series::{combine_ranks, per_iteration_max, sample_series};
use super::time_stats::median_interval;
use crate::error::{CollbenchError, Result};
use crate::plan::AverageMode;
use crate::report::{Measurement, RankPlacement, RankSpread, RunQueueWait};

/// How samples become a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AggregateOptions {
    /// `-a`: which time is reported (first rank's, average, min, max).
    pub mode: AverageMode,
    /// `-K`: leading per-iteration samples to drop before the statistics.
    pub per_iteration_skip: usize,
    /// `-C 1`: the time column shows rank 0's launch time; the bandwidths still divide by the
    /// completion time chosen by `mode` (nccl-tests only swaps the printed time).
    pub report_cputime: bool,
    /// `--precision`: the reported time (and the bandwidths) is the median of the samples
    /// (`Measurement::stats`), whose interval the batches were run to narrow.
    pub center_is_reported: bool,
}

/// The name reports record for `-a` (`RunConfig::average_mode`, an enum in the JSON Schema).
pub fn average_mode_name(mode: AverageMode) -> &'static str {
    match mode {
        AverageMode::Rank0 => "rank0",
        AverageMode::Avg => "avg",
        AverageMode::Min => "min",
        AverageMode::Max => "max",
    }
}

/// nccl-tests' bandwidth: `bytes / 1e9 / seconds` in GB/s. `bytes` is what the collective's
/// `getBw` counts (e.g. count × type size for all_reduce, × nranks for all_gather). A zero time
/// gives 0 rather than an infinity, so the report stays valid JSON.
pub fn bandwidth_gbps(bytes: f64, seconds: f64) -> f64 {
    if seconds > 0.0 && bytes.is_finite() {
        bytes / 1.0e9 / seconds
    } else {
        0.0
    }
}

/// Aggregates one cell. `placements` is the report's rank → host/device map (looked up by
/// `RankSample::rank`); `bytes_for_bw` and `busbw_factor` come from the collective.
///
/// - time (per `options.mode`): the lowest rank's (`-a 0`, nccl-tests' rank 0), the mean, the
///   minimum or the maximum of the ranks' seconds per op;
/// - `algbw = bytes_for_bw / 1e9 / time`, `busbw = algbw × busbw_factor`;
/// - with `report_cputime`, the reported time is the lowest rank's launch time instead (not
///   aggregated, as nccl-tests prints its own thread's cputime); the bandwidths stay as above;
/// - `wrong`: the sum over ranks that checked (`None` when none did), `ranks_with_wrong`, and the
///   lowest rank's first wrong element;
/// - `ranks`: min/avg/max time and the slowest rank (ties: lowest rank) with its host and device
///   (`unknown` when `placements` lacks it);
/// - `per_iteration`: statistics over, for each iteration after the first `per_iteration_skip`,
///   the maximum over ranks.
///
/// Errors (exit code 5, they mean the gather went wrong): no samples, a time that is not a
/// finite number ≥ 0, ranks with different iteration counts, or `-K` leaving no iteration.
pub fn aggregate_measurement(
    samples: &[RankSample],
    placements: &[RankPlacement],
    bytes_for_bw: f64,
    busbw_factor: f64,
    options: AggregateOptions,
) -> Result<Measurement> {
    let first = samples.first().ok_or_else(|| {
        CollbenchError::Mpi(
            "no rank results were gathered for a measurement (expected one per rank)".into(),
        )
    })?;
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    let mut sum = 0.0;
    let mut lowest = first;
    let mut slowest = first;
    let mut wrong: Option<u64> = None;
    let mut ranks_with_wrong = 0;
    let mut first_wrong = None;
    for s in samples {
        let t = s.seconds_per_op;
        if !t.is_finite() || t < 0.0 {
            return Err(CollbenchError::Mpi(format!(
                "rank {} reported {t} seconds per operation; expected a finite number ≥ 0",
                s.rank
            )));
        }
        min = min.min(t);
        sum += t;
        if t > max || (t == max && s.rank < slowest.rank) {
            max = t;
            slowest = s;
        }
        if s.rank < lowest.rank {
            lowest = s;
        }
        if let Some(w) = s.wrong {
            wrong = Some(wrong.unwrap_or(0).saturating_add(w));
            if w > 0 {
                ranks_with_wrong += 1;
            }
        }
        if let Some(fw) = &s.first_wrong {
            if first_wrong
                .as_ref()
                .is_none_or(|cur: &crate::data::WrongElement| fw.rank < cur.rank)
            {
                first_wrong = Some(fw.clone());
            }
        }
    }
    let avg = sum / samples.len() as f64;
    let stats = match sample_series(samples, options.mode, options.per_iteration_skip)? {
        Some((unit, values)) => median_interval(&values, unit),
        None => None,
    };
    let seconds = match &stats {
        Some(stats) if options.center_is_reported => stats.center_us / 1.0e6,
        _ => combine_ranks(
            samples.iter().map(|s| (s.rank, s.seconds_per_op)),
            options.mode,
        ),
    };
    let algbw_gbps = bandwidth_gbps(bytes_for_bw, seconds);
    let printed_seconds = if options.report_cputime {
        lowest.cpu_seconds_per_op
    } else {
        seconds
    };
    let placement = crate::report::meta::placement_of(placements, slowest.rank);
    Ok(Measurement {
        time_us: printed_seconds * 1.0e6,
        algbw_gbps,
        bus_bandwidth_gbps: algbw_gbps * busbw_factor,
        wrong,
        ranks_with_wrong,
        first_wrong,
        ranks: RankSpread {
            time_us_min: min * 1.0e6,
            time_us_avg: avg * 1.0e6,
            time_us_max: max * 1.0e6,
            slowest_rank: slowest.rank,
            slowest_host: placement.map_or_else(|| "unknown".to_string(), |p| p.host.clone()),
            slowest_device: placement.and_then(|p| p.device),
        },
        per_iteration: per_iteration(samples, placements, options.per_iteration_skip)?,
        stats,
        run_queue_wait: run_queue_wait(samples),
    })
}

/// The longest and the summed run-queue wait over the ranks that measured one.
fn run_queue_wait(samples: &[RankSample]) -> Option<RunQueueWait> {
    let mut waited = samples
        .iter()
        .filter_map(|s| s.run_queue_share.map(|share| (s.rank, share)));
    let first = waited.next()?;
    let (mut rank, mut max, mut total) = (first.0, first.1, first.1);
    for (r, share) in waited {
        total += share;
        if share > max {
            (rank, max) = (r, share);
        }
    }
    Some(RunQueueWait {
        rank,
        max_percent: max * 100.0,
        total_percent: total * 100.0,
    })
}

/// `-I`: statistics over the iterations after the first `skip`, with the whole series (the
/// slowest rank's time in each iteration) and, over several processes, each process's series.
fn per_iteration(
    samples: &[RankSample],
    placements: &[RankPlacement],
    skip: usize,
) -> Result<Option<crate::report::IterStats>> {
    let Some(times) = per_iteration_max(samples, skip)? else {
        return Ok(None);
    };
    let Some(mut stats) = iteration_stats(&times[skip..]) else {
        return Ok(None);
    };
    let processes = per_process_max(samples, placements);
    if processes.len() > 1 {
        stats.per_process_times_us = processes;
    }
    stats.times_us = times;
    Ok(Some(stats))
}

/// For each process (ranks sharing a host and pid, ordered by their lowest rank), the slowest of
/// its ranks in each iteration. Ranks without a placement count as processes of their own.
fn per_process_max(samples: &[RankSample], placements: &[RankPlacement]) -> Vec<Vec<f64>> {
    let mut ordered: Vec<&RankSample> = samples.iter().collect();
    ordered.sort_by_key(|s| s.rank);
    let mut keys: Vec<(String, u32, usize)> = Vec::new();
    let mut series: Vec<Vec<f64>> = Vec::new();
    for s in ordered {
        let key = match crate::report::meta::placement_of(placements, s.rank) {
            Some(p) => (p.host.clone(), p.pid, usize::MAX),
            None => (String::new(), 0, s.rank),
        };
        match keys.iter().position(|k| *k == key) {
            Some(i) => {
                for (m, &t) in series[i].iter_mut().zip(&s.per_iteration_us) {
                    *m = m.max(t);
                }
            }
            None => {
                keys.push(key);
                series.push(s.per_iteration_us.clone());
            }
        }
    }
    series
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::WrongElement;

    fn placements(n: usize) -> Vec<RankPlacement> {
        (0..n)
            .map(|r| RankPlacement {
                rank: r,
                group: 0,
                host: format!("node{}", r / 2),
                pid: 100 + r as u32,
                device: Some((r % 2) as i32),
                bus_id: None,
                device_name: "host memory".into(),
            })
            .collect()
    }

    fn sample(rank: usize, seconds: f64) -> RankSample {
        RankSample {
            rank,
            seconds_per_op: seconds,
            wrong: Some(0),
            ..RankSample::default()
        }
    }

    #[test]
    fn the_run_queue_wait_is_the_longest_rank_and_the_sum() {
        let aggregate = |shares: &[Option<f64>]| {
            let s: Vec<_> = shares
                .iter()
                .enumerate()
                .map(|(r, share)| RankSample {
                    run_queue_share: *share,
                    ..sample(r, 1e-3)
                })
                .collect();
            aggregate_measurement(&s, &placements(s.len()), 8.0, 1.0, opts(AverageMode::Avg))
                .unwrap()
                .run_queue_wait
        };
        let w = aggregate(&[Some(0.05), Some(0.5), None, Some(0.25)]).unwrap();
        assert_eq!(w.rank, 1);
        assert!((w.max_percent - 50.0).abs() < 1e-9, "{w:?}");
        assert!((w.total_percent - 80.0).abs() < 1e-9, "{w:?}");
        assert!(w.busy());
        // No rank could read its wait (not Linux): no figure rather than a 0.
        assert_eq!(aggregate(&[None, None]), None);
        assert!(!aggregate(&[Some(0.02), Some(0.0)]).unwrap().busy());
    }

    fn opts(mode: AverageMode) -> AggregateOptions {
        AggregateOptions {
            mode,
            per_iteration_skip: 0,
            report_cputime: false,
            center_is_reported: false,
        }
    }

    #[test]
    fn average_modes_pick_the_right_time() {
        // Ranks out of order: rank 0 is not the first sample.
        let s = vec![
            sample(2, 4e-6),
            sample(0, 2e-6),
            sample(1, 6e-6),
            sample(3, 4e-6),
        ];
        let p = placements(4);
        let t = |mode| {
            aggregate_measurement(&s, &p, 1e6, 1.0, opts(mode))
                .unwrap()
                .time_us
        };
        assert!((t(AverageMode::Rank0) - 2.0).abs() < 1e-9);
        assert!((t(AverageMode::Avg) - 4.0).abs() < 1e-9);
        assert!((t(AverageMode::Min) - 2.0).abs() < 1e-9);
        assert!((t(AverageMode::Max) - 6.0).abs() < 1e-9);
    }

    #[test]
    fn cputime_replaces_only_the_printed_time() {
        // nccl-tests -C 1: time = rank 0's own cputimeSec, algbw/busbw = bytes / the -a time.
        let mut s = vec![sample(1, 8e-6), sample(0, 4e-6)];
        s[0].cpu_seconds_per_op = 3e-6;
        s[1].cpu_seconds_per_op = 1e-6;
        let mut o = opts(AverageMode::Avg);
        o.report_cputime = true;
        let m = aggregate_measurement(&s, &placements(2), 6e4, 0.5, o).unwrap();
        assert!(
            (m.time_us - 1.0).abs() < 1e-9,
            "rank 0's launch time: {m:?}"
        );
        // 60 kB over the mean completion time of 6 µs: 10 GB/s, busbw half of it.
        assert!((m.algbw_gbps - 10.0).abs() < 1e-9, "{m:?}");
        assert!((m.bus_bandwidth_gbps - 5.0).abs() < 1e-9, "{m:?}");
        assert!((m.ranks.time_us_max - 8.0).abs() < 1e-9, "{m:?}");
    }

    #[test]
    fn bandwidth_follows_nccl_tests() {
        // all_reduce of 1 GiB over 8 ranks in 1 ms: algbw = 1.073741824 GB / 1e-3 s,
        // busbw = algbw × 2(n-1)/n.
        let s: Vec<_> = (0..8).map(|r| sample(r, 1e-3)).collect();
        let m = aggregate_measurement(
            &s,
            &placements(8),
            1073741824.0,
            2.0 * 7.0 / 8.0,
            opts(AverageMode::Avg),
        )
        .unwrap();
        assert!((m.algbw_gbps - 1073.741824).abs() < 1e-9);
        assert!((m.bus_bandwidth_gbps - 1073.741824 * 1.75).abs() < 1e-9);
        assert!((m.time_us - 1000.0).abs() < 1e-9);
        // A zero time gives 0 GB/s, not infinity.
        let z = aggregate_measurement(
            &[sample(0, 0.0)],
            &placements(1),
            8.0,
            1.0,
            opts(AverageMode::Avg),
        )
        .unwrap();
        assert_eq!((z.algbw_gbps, z.bus_bandwidth_gbps), (0.0, 0.0));
    }

    #[test]
    fn spread_names_the_slowest_rank_with_its_host_and_device() {
        let s = vec![
            sample(0, 1e-6),
            sample(1, 9e-6),
            sample(2, 3e-6),
            sample(3, 9e-6),
        ];
        let m =
            aggregate_measurement(&s, &placements(4), 8.0, 1.0, opts(AverageMode::Rank0)).unwrap();
        assert!((m.ranks.time_us_min - 1.0).abs() < 1e-9);
        assert!((m.ranks.time_us_avg - 5.5).abs() < 1e-9);
        assert!((m.ranks.time_us_max - 9.0).abs() < 1e-9);
        assert_eq!(m.ranks.slowest_rank, 1, "ties go to the lowest rank");
        assert_eq!(m.ranks.slowest_host, "node0");
        assert_eq!(m.ranks.slowest_device, Some(1));
        // Without a placement the host is `unknown` rather than an error.
        let m = aggregate_measurement(&s, &[], 8.0, 1.0, opts(AverageMode::Rank0)).unwrap();
        assert_eq!(
            (m.ranks.slowest_host.as_str(), m.ranks.slowest_device),
            ("unknown", None)
        );
    }

    #[test]
    fn validation_totals() {
        let fw = |rank| WrongElement {
            rank,
            index: 5,
            expected: "1".into(),
            got: "2".into(),
        };
        let mut s = vec![
            sample(0, 1e-6),
            sample(1, 1e-6),
            sample(2, 1e-6),
            sample(3, 1e-6),
        ];
        s[3].wrong = Some(10);
        s[3].first_wrong = Some(fw(3));
        s[1].wrong = Some(2);
        s[1].first_wrong = Some(fw(1));
        let m =
            aggregate_measurement(&s, &placements(4), 8.0, 1.0, opts(AverageMode::Avg)).unwrap();
        assert_eq!(m.wrong, Some(12));
        assert_eq!(m.ranks_with_wrong, 2);
        assert_eq!(m.first_wrong.unwrap().rank, 1);
        // Unchecked everywhere: N/A.
        for x in &mut s {
            x.wrong = None;
            x.first_wrong = None;
        }
        let m =
            aggregate_measurement(&s, &placements(4), 8.0, 1.0, opts(AverageMode::Avg)).unwrap();
        assert_eq!((m.wrong, m.ranks_with_wrong), (None, 0));
    }

    #[test]
    fn per_iteration_uses_the_max_over_ranks_after_skipping() {
        let mut s = vec![sample(0, 1e-6), sample(1, 1e-6)];
        s[0].per_iteration_us = vec![100.0, 1.0, 5.0, 2.0];
        s[1].per_iteration_us = vec![100.0, 3.0, 1.0, 2.0];
        let o = AggregateOptions {
            mode: AverageMode::Avg,
            per_iteration_skip: 1,
            report_cputime: false,
            center_is_reported: false,
        };
        let it = aggregate_measurement(&s, &placements(2), 8.0, 1.0, o)
            .unwrap()
            .per_iteration
            .unwrap();
        // Max over ranks: [3, 5, 2] after dropping the first.
        assert_eq!(it.samples, 3);
        assert_eq!((it.min_us, it.max_us, it.p50_us), (2.0, 5.0, 3.0));
        // The series keeps the skipped iteration; each process (here each rank) has its own.
        assert_eq!(it.times_us, vec![100.0, 3.0, 5.0, 2.0]);
        assert_eq!(
            it.per_process_times_us,
            vec![vec![100.0, 1.0, 5.0, 2.0], vec![100.0, 3.0, 1.0, 2.0]]
        );
        // Two ranks of one process: one series, the slower of the two in each iteration, and no
        // per-process list (nccl-tests writes it only for several processes).
        let mut one_process = placements(2);
        one_process[1].pid = one_process[0].pid;
        one_process[1].host = one_process[0].host.clone();
        let it = aggregate_measurement(&s, &one_process, 8.0, 1.0, o)
            .unwrap()
            .per_iteration
            .unwrap();
        assert!(it.per_process_times_us.is_empty());
        assert_eq!(it.times_us, vec![100.0, 3.0, 5.0, 2.0]);
        // No iterations recorded anywhere: no statistics.
        let plain = vec![sample(0, 1e-6)];
        assert!(aggregate_measurement(&plain, &placements(1), 8.0, 1.0, o)
            .unwrap()
            .per_iteration
            .is_none());
    }

    #[test]
    fn inconsistent_or_invalid_input_is_an_error() {
        let p = placements(2);
        let o = opts(AverageMode::Avg);
        let err = aggregate_measurement(&[], &p, 8.0, 1.0, o).unwrap_err();
        assert_eq!(err.exit_code(), 5);

        let err = aggregate_measurement(&[sample(0, 1e-6), sample(1, f64::NAN)], &p, 8.0, 1.0, o)
            .unwrap_err()
            .to_string();
        assert!(err.contains("rank 1 reported NaN seconds"), "{err}");

        let mut s = vec![sample(0, 1e-6), sample(1, 1e-6)];
        s[0].per_iteration_us = vec![1.0, 2.0];
        s[1].per_iteration_us = vec![1.0];
        let err = aggregate_measurement(&s, &p, 8.0, 1.0, o)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rank 1 recorded 1 per-iteration times but rank 0 recorded 2"),
            "{err}"
        );

        s[1].per_iteration_us = vec![1.0, -3.0];
        let err = aggregate_measurement(&s, &p, 8.0, 1.0, o)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rank 1 reported a per-iteration time of -3"),
            "{err}"
        );

        s[1].per_iteration_us = vec![1.0, 2.0];
        let skip_all = AggregateOptions {
            per_iteration_skip: 2,
            ..o
        };
        let err = aggregate_measurement(&s, &p, 8.0, 1.0, skip_all)
            .unwrap_err()
            .to_string();
        assert!(err.contains("-K 2 skips every one of the 2"), "{err}");
    }
}
