//! The noise model of `compare`: one center time per (run, row), the run's own sample spread, and
//! the decision rule.
//!
//! Every number of a row comes from one quantity, the time per operation: a run's center is the
//! median over its `-N` cycles of each measurement's time (the sample median — `stats.center_us`,
//! else the `-I` iterations' median — when every run compared has one, else the reported time),
//! and the GB/s columns are the bus bandwidth at that time.
//!
//! Noise, in order of preference:
//! - **between runs**: with at least [`MIN_HISTORY_RUNS`] baseline runs holding the row, the
//!   baseline is their median and the noise is the spread of their centers ([`between_run_spread`]:
//!   the larger of 1.4826 × MAD and half the range of ln(time), no row below the median spread of
//!   all rows). A row regresses only when the new run is slower than the median by more than
//!   [`BETWEEN_RUN_SIGMAS`] × that spread × √(1 + 1/n) (the spread of a new run's difference from
//!   the median of n) and slower than every baseline run. Under normal noise the first alone is a
//!   one-sided 0.13 % false-positive rate per row; the second bounds it by 1/(n+1) whatever the
//!   distribution.
//! - **within run**: one or two baseline runs: the error of each run's center — from its `-N`
//!   cycles (1.253 × their robust spread / √cycles), else its `stats` interval, else its `-I`
//!   iterations — [`WITHIN_RUN_SIGMAS`] × the two runs' combined error. Wider than for a history
//!   because a run's own samples do not see the shifts between runs.
//! - **unknown**: no repeat information (old files, nccl-tests output without `-I` or `-N`): the
//!   effect threshold alone decides.

use super::model::{Key, NoiseSource, Placement, Status};
use crate::report::{Measurement, Report, ResultRow, RunQueueWait};
use std::collections::BTreeMap;

/// Baseline runs needed before their between-run spread is used.
pub const MIN_HISTORY_RUNS: usize = 3;
/// Robust standard deviations of the history a drop must exceed.
pub const BETWEEN_RUN_SIGMAS: f64 = 3.0;
/// Combined sample spreads of the two runs a drop must exceed with one baseline run.
pub const WITHIN_RUN_SIGMAS: f64 = 4.0;
/// 1 / Φ⁻¹(3/4): MAD × this estimates the standard deviation of normal data.
const MAD_TO_SIGMA: f64 = 1.4826;

/// One row of one run.
#[derive(Clone, Copy, Debug)]
pub struct RunCell {
    /// Center time per operation, µs.
    pub time_us: f64,
    /// busbw × time (GB/s × µs): the bus bandwidth at any time t is this / t.
    pub busbw_time: f64,
    /// Relative spread of the run's samples, when it had any.
    pub within: Option<f64>,
    /// The longest run-queue wait of the cycles.
    pub waited: Option<RunQueueWait>,
}

impl RunCell {
    pub fn busbw_at(&self, time_us: f64) -> f64 {
        if time_us > 0.0 {
            self.busbw_time / time_us
        } else {
            0.0
        }
    }
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// 1.4826 × the median absolute deviation of ln(time): a relative standard deviation.
pub fn robust_log_spread(times: &[f64]) -> f64 {
    let mut logs: Vec<f64> = times.iter().filter(|t| **t > 0.0).map(|t| t.ln()).collect();
    let center = median(&mut logs);
    let mut deviations: Vec<f64> = logs.iter().map(|l| (l - center).abs()).collect();
    MAD_TO_SIGMA * median(&mut deviations)
}

/// The measurement's center time: the median its samples give (`stats`, else the `-I`
/// iterations' median), else the reported (mean) time. Medians shrug off the one descheduled
/// iteration that can multiply a mean on a shared machine.
pub fn measurement_time(m: &Measurement) -> f64 {
    sample_median(m).unwrap_or(m.time_us)
}

fn sample_median(m: &Measurement) -> Option<f64> {
    if let Some(stats) = m
        .stats
        .as_ref()
        .filter(|s| s.samples >= 2 && s.center_us > 0.0)
    {
        return Some(stats.center_us);
    }
    m.per_iteration
        .as_ref()
        .filter(|it| it.samples > 1 && it.p50_us > 0.0)
        .map(|it| it.p50_us)
}

/// True when every measurement of every run has a sample median: only then are medians compared
/// (a median against a mean would call the difference between two statistics a change).
pub fn all_have_medians(runs: &[&Report]) -> bool {
    runs.iter().all(|r| {
        r.results
            .iter()
            .flat_map(|row| placements(row).map(|(_, m)| m))
            .all(|m| sample_median(m).is_some())
    })
}

/// The relative standard error of one measurement's center; `None` without samples. From the
/// `stats` interval where the run kept one, else from the `-I` iterations (1.253 × robust spread
/// / √n, the standard error of a median).
fn center_error(m: &Measurement) -> Option<f64> {
    if let Some(stats) = m
        .stats
        .as_ref()
        .filter(|s| s.samples >= 2 && s.center_us > 0.0)
    {
        let z = if stats.confidence > 0.0 && stats.confidence < 1.0 {
            normal_quantile_two_sided(stats.confidence)
        } else {
            1.96
        };
        return Some((stats.ci_high_us - stats.ci_low_us) / 2.0 / z / stats.center_us);
    }
    let it = m.per_iteration.as_ref().filter(|it| it.samples > 1)?;
    // The series holds the -K skipped iterations first; `samples` counts the kept ones.
    let kept = &it.times_us[it.times_us.len().saturating_sub(it.samples)..];
    let spread = match kept.len() > 1 {
        true => robust_log_spread(kept),
        false => it.cv_percent / 100.0,
    };
    Some(1.253 * spread / (it.samples as f64).sqrt())
}

/// z for a two-sided interval of `confidence` (0.90, 0.95, 0.99; else 1.96).
fn normal_quantile_two_sided(confidence: f64) -> f64 {
    match confidence {
        c if (c - 0.90).abs() < 1e-6 => 1.645,
        c if (c - 0.99).abs() < 1e-6 => 2.576,
        _ => 1.96,
    }
}

fn placements(row: &ResultRow) -> impl Iterator<Item = (Placement, &Measurement)> {
    [
        (Placement::OutOfPlace, row.out_of_place.as_ref()),
        (Placement::InPlace, row.in_place.as_ref()),
    ]
    .into_iter()
    .filter_map(|(p, m)| m.map(|m| (p, m)))
}

pub fn key(row: &ResultRow, placement: Placement) -> Key {
    Key {
        collective: row.collective.clone(),
        size_bytes: row.size_bytes,
        dtype: row.dtype,
        redop: row.redop.clone(),
        root: row.root,
        placement,
    }
}

/// Every row of `report`, its `-N` cycles folded into one center time and spread.
pub fn run_cells(report: &Report, medians: bool) -> BTreeMap<Key, RunCell> {
    let mut samples: BTreeMap<Key, Vec<&Measurement>> = BTreeMap::new();
    for row in &report.results {
        for (placement, m) in placements(row) {
            samples.entry(key(row, placement)).or_default().push(m);
        }
    }
    samples
        .into_iter()
        .map(|(k, ms)| (k, fold_cycles(&ms, medians)))
        .collect()
}

fn fold_cycles(ms: &[&Measurement], medians: bool) -> RunCell {
    let mut times: Vec<f64> = ms
        .iter()
        .map(|m| match medians {
            true => measurement_time(m),
            false => m.time_us,
        })
        .collect();
    let busbw_time = ms
        .iter()
        .map(|m| m.bus_bandwidth_gbps * m.time_us)
        .fold(0.0, f64::max);
    // -N cycles: the spread of their centers (what moves between cycles moves between runs);
    // else the error of the one center.
    let within = match times.len() > 1 {
        true => Some(robust_log_spread(&times) / (times.len() as f64).sqrt() * 1.253),
        false => center_error(ms[0]),
    };
    let waited = ms
        .iter()
        .filter_map(|m| m.run_queue_wait)
        .max_by(|a, b| a.max_percent.total_cmp(&b.max_percent));
    RunCell {
        time_us: median(&mut times),
        busbw_time,
        within,
        waited,
    }
}

/// The baseline of one row over the baseline runs that hold it.
#[derive(Clone, Copy, Debug)]
pub struct BaselineCell {
    pub time_us: f64,
    pub busbw_time: f64,
    /// Slowest baseline run's center (the history guard).
    pub slowest_us: f64,
    pub runs: usize,
    /// Between-run relative spread (with at least MIN_HISTORY_RUNS runs).
    pub between: Option<f64>,
    /// The baseline runs' own sample spread (root mean square), where they had samples.
    pub within: Option<f64>,
    pub source: NoiseSource,
}

pub fn baseline_cell(cells: &[RunCell]) -> BaselineCell {
    let mut times: Vec<f64> = cells.iter().map(|c| c.time_us).collect();
    let slowest_us = times.iter().copied().fold(0.0, f64::max);
    let busbw_time = cells.iter().map(|c| c.busbw_time).fold(0.0, f64::max);
    let runs = cells.len();
    let known: Vec<f64> = cells.iter().filter_map(|c| c.within).collect();
    let within = (!known.is_empty())
        .then(|| (known.iter().map(|s| s * s).sum::<f64>() / known.len() as f64).sqrt());
    let history = runs >= MIN_HISTORY_RUNS;
    BaselineCell {
        time_us: median(&mut times),
        busbw_time,
        slowest_us,
        runs,
        between: history.then(|| between_run_spread(&times)),
        within,
        source: match (history, within) {
            (true, _) => NoiseSource::BetweenRuns(runs),
            (false, Some(_)) => NoiseSource::WithinRun,
            (false, None) => NoiseSource::Unknown,
        },
    }
}

/// The spread of a history's centers: the larger of 1.4826 × MAD of ln(time) and half the range
/// of ln(time). The MAD alone misses a machine with two speeds (a shared host whose runs land in
/// a fast or a slow regime, 40 % apart here): once the history saw both, the range holds them.
pub fn between_run_spread(times: &[f64]) -> f64 {
    let logs: Vec<f64> = times.iter().filter(|t| **t > 0.0).map(|t| t.ln()).collect();
    let low = logs.iter().copied().fold(f64::INFINITY, f64::min);
    let high = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let half_range = if logs.len() > 1 {
        (high - low) / 2.0
    } else {
        0.0
    };
    robust_log_spread(times).max(half_range)
}

/// Five runs estimate one row's spread poorly (three equal times give 0): no row's between-run
/// spread is taken below the median spread of all rows of the history (the machine's typical
/// run-to-run shift).
pub fn floor_between_run_spreads(cells: &mut BTreeMap<Key, BaselineCell>) {
    let mut spreads: Vec<f64> = cells.values().filter_map(|c| c.between).collect();
    if spreads.is_empty() {
        return;
    }
    let typical = median(&mut spreads);
    for cell in cells.values_mut() {
        if let Some(spread) = cell.between.as_mut() {
            *spread = spread.max(typical);
        }
    }
}

/// The allowance (relative) a change must exceed, and the noise it came from.
pub fn allowance(base: &BaselineCell, new: &RunCell) -> (Option<f64>, NoiseSource) {
    if let (NoiseSource::BetweenRuns(n), Some(spread)) = (base.source, base.between) {
        return (
            Some(BETWEEN_RUN_SIGMAS * spread * (1.0 + 1.0 / n as f64).sqrt()),
            base.source,
        );
    }
    match (base.within, new.within) {
        (None, None) => (None, NoiseSource::Unknown),
        (b, n) => {
            // A run without samples is taken to be as noisy as the one that has them.
            let b = b.or(n).unwrap_or(0.0);
            let n = n.unwrap_or(b);
            (
                Some(WITHIN_RUN_SIGMAS * (b * b + n * n).sqrt()),
                NoiseSource::WithinRun,
            )
        }
    }
}

/// The status of a row whose relative `change` (baseline time / new time − 1) is known.
pub fn judge(
    change: f64,
    tolerance: f64,
    noise: Option<f64>,
    base: &BaselineCell,
    new_time_us: f64,
) -> Status {
    if change.abs() <= tolerance {
        return Status::Unchanged;
    }
    // The change in log terms, as the spread is measured.
    let log_change = (1.0 + change).ln().abs();
    let beyond_noise = noise.is_none_or(|n| log_change > n);
    let history = matches!(base.source, NoiseSource::BetweenRuns(_));
    if change < 0.0 {
        if beyond_noise && (!history || new_time_us > base.slowest_us) {
            Status::Regressed
        } else {
            Status::WithinNoise
        }
    } else if beyond_noise {
        Status::Improved
    } else {
        Status::WithinNoise
    }
}
