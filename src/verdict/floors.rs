//! Bus-bandwidth floors judged row by row: one floor for every size from a size up
//! (`--min-busbw GBPS`), a floor per listed size (`--min-busbw 1M=5,16M=40`), and the same at the
//! warn level (`--warn-busbw`). Each row is judged on its lower-busbw column, never on the
//! all-size average that nccl-tests' footer prints.

use crate::plan::acceptance::MinBusbw;
use crate::report::meta::placement_of;
use crate::report::verdict::{BusyRank, Check, CheckKind, SlowRank};
use crate::report::{Measurement, Report, ResultRow, RunQueueWait};

/// One check per row from the floor's size up; a failing check when no row is that large.
pub fn floor_from_size_checks(
    report: &Report,
    kind: CheckKind,
    flag: &str,
    min: &MinBusbw,
) -> Vec<Check> {
    let largest = report
        .results
        .iter()
        .map(|r| r.size_bytes)
        .max()
        .unwrap_or(0);
    let from_size = min.effective_min_size(largest);
    let mut checks: Vec<Check> = report
        .results
        .iter()
        .filter(|r| r.size_bytes >= from_size)
        .filter_map(|row| {
            lowest_busbw(row).map(|(placement, m)| {
                bandwidth_check(
                    kind,
                    report,
                    row,
                    placement,
                    m,
                    min.gbps,
                    format!("{flag} {} for sizes >= {from_size} B", min.gbps),
                )
            })
        })
        .collect();
    if checks.is_empty() {
        checks.push(no_row(
            report,
            kind,
            from_size,
            min.gbps,
            format!(
                "{flag} {}: no measured row of at least {from_size} B",
                min.gbps
            ),
        ));
    }
    checks
}

/// One check per listed size, on every row of exactly that size (each dtype, op, root, cycle);
/// a failing check for a listed size the run did not measure.
pub fn per_size_checks(
    report: &Report,
    kind: CheckKind,
    flag: &str,
    floors: &[(u64, f64)],
) -> Vec<Check> {
    let mut checks = Vec::new();
    for &(size, gbps) in floors {
        let before = checks.len();
        for row in report.results.iter().filter(|r| r.size_bytes == size) {
            if let Some((placement, m)) = lowest_busbw(row) {
                let basis = format!("{flag} {size}={gbps}: the floor for {size} B rows");
                checks.push(bandwidth_check(
                    kind, report, row, placement, m, gbps, basis,
                ));
            }
        }
        if checks.len() == before {
            let basis = format!("{flag} {size}={gbps}: no measured row of {size} B");
            checks.push(no_row(report, kind, size, gbps, basis));
        }
    }
    checks
}

fn no_row(report: &Report, kind: CheckKind, size: u64, gbps: f64, basis: String) -> Check {
    Check {
        kind,
        passed: false,
        collective: Some(report.collective.clone()),
        size_bytes: Some(size),
        dtype: None,
        placement: None,
        measured: 0.0,
        threshold: gbps,
        unit: "GB/s".into(),
        basis,
        slowest: None,
        busy_rank: None,
    }
}

/// The measured column with the lower bus bandwidth (both must reach a floor).
pub fn lowest_busbw(row: &ResultRow) -> Option<(&'static str, &Measurement)> {
    let columns = [
        ("out_of_place", row.out_of_place.as_ref()),
        ("in_place", row.in_place.as_ref()),
    ];
    columns
        .into_iter()
        .filter_map(|(name, m)| m.map(|m| (name, m)))
        .filter(|(_, m)| m.bus_bandwidth_gbps.is_finite())
        .min_by(|a, b| a.1.bus_bandwidth_gbps.total_cmp(&b.1.bus_bandwidth_gbps))
}

pub fn bandwidth_check(
    kind: CheckKind,
    report: &Report,
    row: &ResultRow,
    placement: &str,
    m: &Measurement,
    threshold: f64,
    basis: String,
) -> Check {
    let passed = m.bus_bandwidth_gbps >= threshold;
    Check {
        kind,
        passed,
        collective: Some(row.collective.clone()),
        size_bytes: Some(row.size_bytes),
        dtype: Some(row.dtype),
        placement: Some(placement.to_string()),
        measured: m.bus_bandwidth_gbps,
        threshold,
        unit: "GB/s".into(),
        basis,
        slowest: (!passed).then(|| slow_rank_of(report, m)),
        busy_rank: m
            .run_queue_wait
            .filter(|w| !passed && w.busy())
            .map(|w| busy_rank_of(report, &w)),
    }
}

fn busy_rank_of(report: &Report, wait: &RunQueueWait) -> BusyRank {
    BusyRank {
        rank: wait.rank,
        host: placement_of(&report.ranks, wait.rank)
            .map_or_else(|| "unknown".to_string(), |p| p.host.clone()),
        wait_percent: wait.max_percent,
    }
}

fn slow_rank_of(report: &Report, m: &Measurement) -> SlowRank {
    let spread = &m.ranks;
    SlowRank {
        rank: spread.slowest_rank,
        host: spread.slowest_host.clone(),
        device: spread.slowest_device,
        device_name: report
            .ranks
            .iter()
            .find(|r| r.rank == spread.slowest_rank)
            .map(|r| r.device_name.clone()),
        time_us: spread.time_us_max,
        rank_avg_time_us: spread.time_us_avg,
        failing_checks: 1,
    }
}
