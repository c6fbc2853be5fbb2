//! Acceptance verdicts: turn a finished [`Report`] into PASS/FAIL checks (measured vs expected), the
//! way cluster health checks use nccl-tests, but with the slowest ranks named for every failure.
//!
//! Checks come from four places ([`Criteria`]): `--min-busbw GBPS` (rows of at least
//! `--min-busbw-size`), nccl-tests' `NCCL_TESTS_MIN_BW` (the "Avg bus bandwidth" must reach 90% of
//! it, as nccl-tests does), an acceptance [`profile`], and `--require-net` (the network NCCL
//! selected, `crate::report::network`). A failed verdict is exit code 7
//! ([`CollbenchError::CheckFailed`]).

pub mod blame;
pub mod coverage;
pub mod floors;
pub mod render;

use crate::error::{CollbenchError, Result};
pub use crate::plan::acceptance::{Criteria, MinBusbw, ProfileChoice};
pub use crate::report::verdict::{node_count, Blame, Check, CheckKind, SlowRank, Verdict};

use coverage::{RunShape, Uncovered};
pub use floors::lowest_busbw;
use floors::{bandwidth_check, floor_from_size_checks, per_size_checks};

use crate::plan::profile::Profile;
use crate::report::{Report, ResultRow};
use crate::types::DataType;

impl Verdict {
    /// `Err(CheckFailed)` naming the failed checks when the verdict failed: exit code 7.
    /// `Err(CheckWarned)` (exit 8) when only `--warn-busbw` floors were missed.
    pub fn to_result(&self) -> Result<()> {
        if self.passed && !self.warned {
            return Ok(());
        }
        let failed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.passed && (self.passed || !c.kind.warns_only()))
            .map(render::one_line)
            .collect();
        let mut message = format!(
            "{} of {} checks {}: {}",
            failed.len(),
            self.checks.len(),
            if self.passed { "warned" } else { "failed" },
            failed.join("; ")
        );
        if let Some(blame) = self.blame.as_ref().filter(|b| !b.named) {
            let evidence = match blame.measurements {
                0 => "no per-process iteration times; -I 1 -z 3 measures them".to_string(),
                n => format!(
                    "the process of rank {} was the slowest in {} of {n} columns",
                    blame.rank, blame.slowest_in
                ),
            };
            message.push_str(&format!(
                "; no rank stands out ({evidence}); run accept --pairwise to isolate"
            ));
        }
        if let Some(slow) = self.slowest_ranks.first() {
            message.push_str(&format!(
                "; slowest rank {} on host {}{}",
                slow.rank,
                slow.host,
                slow.device
                    .map(|d| format!(" device {d}"))
                    .unwrap_or_default()
            ));
        }
        Err(match self.passed {
            true => CollbenchError::CheckWarned(message),
            false => CollbenchError::CheckFailed(message),
        })
    }
}

/// Evaluates `criteria` against `report`. `None` when there is nothing to check (no flag, no
/// environment threshold, no profile): then no verdict block is printed.
pub fn evaluate(report: &Report, criteria: &Criteria) -> Option<Verdict> {
    if criteria.is_empty() && !criteria.judge_without_threshold {
        return None;
    }
    let nodes = node_count(report);
    let mut checks = run_checks(report, criteria);
    checks.extend(floor_checks(report, criteria));
    if let Some(value) = criteria.nccl_tests_min_bw {
        checks.push(nccl_tests_min_bw_check(report, value));
    }
    if let Some(profile) = &criteria.profile {
        checks.extend(profile_checks(report, profile, nodes));
    }
    if let Some(required) = &criteria.require_net {
        checks.push(network_check(report, required));
    }

    let passed = checks.iter().all(|c| c.passed || c.kind.warns_only());
    let warned = checks.iter().any(|c| !c.passed && c.kind.warns_only());
    let blame = keep_evidenced_blame(report, &mut checks);
    let slowest_ranks = rank_suspects(&checks);
    Some(Verdict {
        passed,
        warned,
        profile: criteria.profile.as_ref().map(|p| p.name.clone()),
        nodes,
        checks,
        slowest_ranks,
        note: criteria.note.clone(),
        blame,
    })
}

/// Whether the run itself went right: its data (when validated) and its completeness.
fn run_checks(report: &Report, criteria: &Criteria) -> Vec<Check> {
    let mut checks = Vec::new();
    let validated = report.results.iter().any(|r| {
        [&r.out_of_place, &r.in_place]
            .iter()
            .any(|m| m.as_ref().is_some_and(|m| m.wrong.is_some()))
    });
    if validated || report.summary.out_of_bounds > 0 {
        checks.push(data_check(report));
    }
    // Completeness is a check of its own only when it failed, or when nothing else is judged.
    if !report.complete || criteria.judge_without_threshold {
        checks.push(complete_check(report));
    }
    checks
}

/// `--min-busbw` and `--warn-busbw`, each from a size on or per listed size.
fn floor_checks(report: &Report, criteria: &Criteria) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Some(min) = &criteria.min_busbw {
        checks.extend(floor_from_size_checks(
            report,
            CheckKind::MinBusbw,
            "--min-busbw",
            min,
        ));
    }
    checks.extend(per_size_checks(
        report,
        CheckKind::MinBusbw,
        "--min-busbw",
        &criteria.min_busbw_per_size,
    ));
    if let Some(min) = &criteria.warn_busbw.from_size {
        checks.extend(floor_from_size_checks(
            report,
            CheckKind::WarnBusbw,
            "--warn-busbw",
            min,
        ));
    }
    checks.extend(per_size_checks(
        report,
        CheckKind::WarnBusbw,
        "--warn-busbw",
        &criteria.warn_busbw.per_size,
    ));
    checks
}

/// nccl-tests' rule: the footer's average busbw must reach 90 % of `NCCL_TESTS_MIN_BW`.
fn nccl_tests_min_bw_check(report: &Report, value: f64) -> Check {
    let avg = report.summary.avg_bus_bandwidth_gbps;
    let threshold = value * crate::plan::acceptance::NCCL_TESTS_MIN_BW_FRACTION;
    Check {
        kind: CheckKind::NcclTestsMinBw,
        passed: avg >= threshold,
        collective: Some(report.collective.clone()),
        size_bytes: None,
        dtype: None,
        placement: None,
        measured: avg,
        threshold,
        unit: "GB/s".into(),
        basis: format!("NCCL_TESTS_MIN_BW={value}: the footer's average busbw must reach 90% of it (nccl-tests rule)"),
        slowest: None,
        busy_rank: None,
    }
}

/// An acceptance profile: a row check per size it expects, or one coverage check saying why it
/// judged nothing (another shape of job, or no expectation at the sizes run).
fn profile_checks(report: &Report, profile: &Profile, nodes: usize) -> Vec<Check> {
    let shape = RunShape {
        collective: &report.collective,
        nranks: report.nranks,
        nodes,
    };
    let rows: Vec<(u64, DataType)> = report
        .results
        .iter()
        .map(|r| (r.size_bytes, r.dtype))
        .collect();
    let uncovered_check = |why: Uncovered| {
        vec![coverage_check(
            report,
            why.quantities(),
            why.explain(profile, shape),
        )]
    };
    if let Some(why) = coverage::uncovered(profile, shape, &rows) {
        return uncovered_check(why);
    }
    let checks: Vec<Check> = report
        .results
        .iter()
        .filter_map(|row| profile_row_check(report, row, profile, nodes))
        .collect();
    if checks.is_empty() {
        // Rows with an expectation but no measurement judge nothing either.
        return uncovered_check(Uncovered::Rows {
            sizes: rows.iter().map(|&(size, _)| size).collect(),
        });
    }
    checks
}

/// A failed `ProfileCoverage` check: `measured` of `threshold` `unit` (ranks, rows), and why.
fn coverage_check(
    report: &Report,
    (measured, threshold, unit): (f64, f64, &str),
    basis: String,
) -> Check {
    Check {
        kind: CheckKind::ProfileCoverage,
        passed: false,
        collective: Some(report.collective.clone()),
        size_bytes: None,
        dtype: None,
        placement: None,
        measured,
        threshold,
        unit: unit.into(),
        basis,
        slowest: None,
        busy_rank: None,
    }
}

/// One row against the profile's expectation for it, if the profile has one.
fn profile_row_check(
    report: &Report,
    row: &ResultRow,
    profile: &Profile,
    nodes: usize,
) -> Option<Check> {
    let expected = profile.expected(&row.collective, nodes as u32, row.size_bytes, row.dtype)?;
    let (placement, m) = lowest_busbw(row)?;
    let threshold = expected.busbw_gbps * profile.pass_fraction;
    Some(bandwidth_check(
        CheckKind::Profile,
        report,
        row,
        placement,
        m,
        threshold,
        format!(
            "profile {}: {:.0}% of {:.2} GB/s expected on {nodes} node(s) ({})",
            profile.name,
            profile.pass_fraction * 100.0,
            expected.busbw_gbps,
            expected.basis
        ),
    ))
}

fn is_bandwidth(kind: CheckKind) -> bool {
    matches!(
        kind,
        CheckKind::MinBusbw | CheckKind::WarnBusbw | CheckKind::NcclTestsMinBw | CheckKind::Profile
    )
}

/// When a bandwidth check failed: the blame evidence ([`blame::assess`]). A failing bandwidth
/// check keeps its slowest rank only when the evidence names that rank; otherwise nobody is named.
fn keep_evidenced_blame(report: &Report, checks: &mut [Check]) -> Option<Blame> {
    if !checks.iter().any(|c| !c.passed && is_bandwidth(c.kind)) {
        return None;
    }
    let blame = blame::assess(report);
    for check in checks.iter_mut().filter(|c| is_bandwidth(c.kind)) {
        let evidenced = blame.named && check.slowest.as_ref().is_some_and(|s| s.rank == blame.rank);
        if !evidenced {
            check.slowest = None;
        }
    }
    // A named rank that was not the slowest of any failing column still is the outlier.
    if blame.named
        && !checks
            .iter()
            .any(|c| !c.passed && c.slowest.as_ref().is_some_and(|s| s.rank == blame.rank))
    {
        if let Some(check) = checks
            .iter_mut()
            .find(|c| !c.passed && is_bandwidth(c.kind))
        {
            let placement = report.ranks.iter().find(|r| r.rank == blame.rank);
            check.slowest = Some(SlowRank {
                rank: blame.rank,
                host: blame.host.clone(),
                device: placement.and_then(|p| p.device),
                device_name: placement.map(|p| p.device_name.clone()),
                time_us: 0.0,
                rank_avg_time_us: 0.0,
                failing_checks: 1,
            });
        }
    }
    Some(blame)
}

/// `--require-net`: ranks whose process selected the required network, against all ranks; the
/// basis names required and selected networks, and on failure the ranks and hosts off it.
fn network_check(report: &Report, required: &str) -> Check {
    let requirement =
        crate::report::network::check_requirement(required, &report.backend.network_by_process);
    let passed = requirement.passed();
    let slowest = requirement
        .first_failing
        .as_ref()
        .filter(|_| !passed)
        .map(|(rank, host)| {
            let placement = report.ranks.iter().find(|r| r.rank == *rank);
            SlowRank {
                rank: *rank,
                host: host.clone(),
                device: placement.and_then(|p| p.device),
                device_name: placement.map(|p| p.device_name.clone()),
                time_us: 0.0,
                rank_avg_time_us: 0.0,
                failing_checks: 1,
            }
        });
    Check {
        kind: CheckKind::Network,
        passed,
        collective: None,
        size_bytes: None,
        dtype: None,
        placement: None,
        measured: requirement.satisfied_ranks as f64,
        threshold: requirement.total_ranks.max(1) as f64,
        unit: "ranks".into(),
        basis: requirement.explain(),
        slowest,
        busy_rank: None,
    }
}

/// Every row of the sweep was measured (a sweep stopped by a signal or an error was not).
fn complete_check(report: &Report) -> Check {
    let rows = report.results.len() as f64;
    Check {
        kind: CheckKind::Complete,
        passed: report.complete,
        collective: Some(report.collective.clone()),
        size_bytes: None,
        dtype: None,
        placement: None,
        measured: rows,
        threshold: if report.complete { rows } else { rows + 1.0 },
        unit: "rows".into(),
        basis: if report.complete {
            "every row of the sweep was measured".into()
        } else {
            format!(
                "sweep interrupted: {}",
                report
                    .summary
                    .interrupted
                    .as_deref()
                    .unwrap_or("unknown reason")
            )
        },
        slowest: None,
        busy_rank: None,
    }
}

fn data_check(report: &Report) -> Check {
    let wrong: u64 = report
        .results
        .iter()
        .flat_map(|r| [&r.out_of_place, &r.in_place])
        .filter_map(|m| m.as_ref().and_then(|m| m.wrong))
        .sum::<u64>()
        .max(report.summary.out_of_bounds.min(1));
    let first = report.summary.first_wrong.as_ref();
    let host = first.and_then(|w| report.ranks.iter().find(|r| r.rank == w.rank));
    Check {
        kind: CheckKind::Data,
        passed: wrong == 0,
        collective: Some(report.collective.clone()),
        size_bytes: None,
        dtype: None,
        placement: None,
        measured: wrong as f64,
        threshold: 0.0,
        unit: "wrong elements".into(),
        basis: match first {
            Some(w) => format!(
                "first wrong element: rank {} index {} expected {} got {}",
                w.rank, w.index, w.expected, w.got
            ),
            None => "exact validation of every checked element (-c)".into(),
        },
        slowest: first.map(|w| SlowRank {
            rank: w.rank,
            host: host.map(|h| h.host.clone()).unwrap_or_default(),
            device: host.and_then(|h| h.device),
            device_name: host.map(|h| h.device_name.clone()),
            time_us: 0.0,
            rank_avg_time_us: 0.0,
            failing_checks: 1,
        }),
        busy_rank: None,
    }
}

/// Ranks that were the slowest in failing bandwidth checks, most often first, then by how far
/// above the rank average they were.
fn rank_suspects(checks: &[Check]) -> Vec<SlowRank> {
    let mut suspects: Vec<SlowRank> = Vec::new();
    // A network check's rank is the first one off the required network, not a slow one.
    for slow in checks
        .iter()
        .filter(|c| !c.passed && c.kind != CheckKind::Network)
        .filter_map(|c| c.slowest.as_ref())
    {
        match suspects.iter_mut().find(|s| s.rank == slow.rank) {
            Some(s) => {
                s.failing_checks += 1;
                if ratio(slow) > ratio(s) {
                    s.time_us = slow.time_us;
                    s.rank_avg_time_us = slow.rank_avg_time_us;
                }
            }
            None => suspects.push(slow.clone()),
        }
    }
    suspects.sort_by(|a, b| {
        b.failing_checks
            .cmp(&a.failing_checks)
            .then(ratio(b).total_cmp(&ratio(a)))
            .then(a.rank.cmp(&b.rank))
    });
    suspects.truncate(8);
    suspects
}

fn ratio(slow: &SlowRank) -> f64 {
    if slow.rank_avg_time_us > 0.0 {
        slow.time_us / slow.rank_avg_time_us
    } else {
        0.0
    }
}
