//! What the plot shows: one line per run and collective (and type/op/root/cycle when a run has
//! several), and the threshold lines a run's verdict or a profile applied.

use super::PlacementArg;
use crate::plan::profile::Profile;
use crate::report::verdict::{node_count, CheckKind};
use crate::report::{Report, ResultRow};
use crate::types::DataType;
use std::collections::BTreeMap;

/// One line of the plot.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub label: String,
    /// (size in bytes, busbw GB/s, time µs), ascending size; sizes of 0 B are left out (log axis).
    pub points: Vec<(u64, f64, f64)>,
    pub dashed: bool,
    /// A threshold (drawn red, busbw panel only).
    pub threshold: bool,
}

/// (collective, dtype, op, root, cycle): one line each.
type GroupKey = (String, DataType, String, i64, usize);

/// Turns runs into lines. `label` names the run (file stem).
pub fn run_lines(report: &Report, label: &str, placement: PlacementArg, dashed: bool) -> Vec<Line> {
    let mut groups: BTreeMap<GroupKey, Vec<&ResultRow>> = BTreeMap::new();
    for row in &report.results {
        groups
            .entry((
                row.collective.clone(),
                row.dtype,
                row.redop.clone(),
                row.root,
                row.cycle,
            ))
            .or_default()
            .push(row);
    }
    let distinct = |f: &dyn Fn(&GroupKey) -> String| {
        let mut values: Vec<String> = groups.keys().map(f).collect();
        values.dedup();
        values.sort();
        values.dedup();
        values.len() > 1
    };
    let show_dtype = distinct(&|k| k.1.name().to_string());
    let show_op = distinct(&|k| k.2.clone());
    let show_root = distinct(&|k| k.3.to_string());
    let show_cycle = distinct(&|k| k.4.to_string());
    let setup = run_setup(report);
    let mut lines = Vec::new();
    for ((collective, dtype, op, root, cycle), rows) in groups {
        let mut name = format!("{label} {collective}");
        if show_dtype {
            name.push_str(&format!(" {}", dtype.name()));
        }
        if show_op {
            name.push_str(&format!(" {op}"));
        }
        if show_root {
            name.push_str(&format!(" root {root}"));
        }
        if show_cycle {
            name.push_str(&format!(" cycle {cycle}"));
        }
        name.push_str(&format!(" ({setup})"));
        let mut points: Vec<(u64, f64, f64)> = rows
            .iter()
            .filter(|r| r.size_bytes > 0)
            .filter_map(|r| {
                let m = match placement {
                    PlacementArg::OutOfPlace => r.out_of_place.as_ref(),
                    PlacementArg::InPlace => r.in_place.as_ref(),
                }?;
                Some((r.size_bytes, m.bus_bandwidth_gbps, m.time_us))
            })
            .collect();
        points.sort_by_key(|p| p.0);
        if !points.is_empty() {
            lines.push(Line {
                label: name,
                points,
                dashed,
                threshold: false,
            });
        }
    }
    lines
}

/// "16 ranks, 2 nodes, nccl": what a run measured with, for the legend and the title.
pub fn run_setup(report: &Report) -> String {
    let nodes = node_count(report);
    format!(
        "{} rank{}, {nodes} node{}, {}",
        report.nranks,
        if report.nranks == 1 { "" } else { "s" },
        if nodes == 1 { "" } else { "s" },
        report.backend.name
    )
}

/// The thresholds a run's own verdict applied (min-busbw and profile checks), as one line.
pub fn verdict_threshold_line(report: &Report, label: &str) -> Option<Line> {
    let verdict = report.verdict.as_ref()?;
    let mut points: BTreeMap<u64, f64> = BTreeMap::new();
    for check in &verdict.checks {
        if matches!(check.kind, CheckKind::MinBusbw | CheckKind::Profile) {
            if let Some(size) = check.size_bytes.filter(|&s| s > 0) {
                let entry = points.entry(size).or_insert(check.threshold);
                *entry = entry.max(check.threshold);
            }
        }
    }
    (!points.is_empty()).then(|| Line {
        label: format!("{label} verdict thresholds"),
        points: points.into_iter().map(|(s, t)| (s, t, 0.0)).collect(),
        dashed: true,
        threshold: true,
    })
}

/// A profile's pass thresholds (expected × pass_fraction) for this run's node count.
pub fn profile_threshold_lines(report: &Report, label: &str, profile: &Profile) -> Vec<Line> {
    let nodes = node_count(report) as u32;
    let mut by_collective: BTreeMap<String, BTreeMap<u64, f64>> = BTreeMap::new();
    for row in report.results.iter().filter(|r| r.size_bytes > 0) {
        if let Some(e) = profile.expected(&row.collective, nodes, row.size_bytes, row.dtype) {
            by_collective
                .entry(row.collective.clone())
                .or_default()
                .insert(row.size_bytes, e.busbw_gbps * profile.pass_fraction);
        }
    }
    by_collective
        .into_iter()
        .map(|(collective, points)| Line {
            label: format!(
                "{label} {collective}: {} pass ({nodes} node{})",
                profile.name,
                if nodes == 1 { "" } else { "s" }
            ),
            points: points.into_iter().map(|(s, t)| (s, t, 0.0)).collect(),
            dashed: true,
            threshold: true,
        })
        .collect()
}
