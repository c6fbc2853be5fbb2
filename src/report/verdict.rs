//! The verdict model: the checks a run was judged by and who was slowest in the failing ones.
//! Computed by `crate::verdict`, stored in the report, written by the sinks.

use super::Report;
use crate::types::DataType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The verdict block: printed after the table and stored in the JSON report (`Report::verdict`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub passed: bool,
    /// Acceptance profile used, if any.
    pub profile: Option<String>,
    /// Distinct hosts in the run (profiles are per node count).
    pub nodes: usize,
    pub checks: Vec<Check>,
    /// Ranks that were the slowest in failing checks, most often first.
    pub slowest_ranks: Vec<SlowRank>,
    /// Why a check that was asked for did not apply (`--profile auto` with no matching profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a check compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// `--min-busbw`: one row's bus bandwidth against a floor.
    MinBusbw,
    /// `NCCL_TESTS_MIN_BW`: the average bus bandwidth against 90% of the value.
    NcclTestsMinBw,
    /// A profile's expected bus bandwidth for one row.
    Profile,
    /// The profile had no expectation for anything this run measured.
    ProfileCoverage,
    /// Every checked element was right (nccl-tests' "Out of bounds values").
    Data,
    /// The sweep finished every row.
    Complete,
    /// `--require-net`: NCCL selected the required network on every rank.
    Network,
}

impl CheckKind {
    pub fn label(self) -> &'static str {
        match self {
            CheckKind::MinBusbw => "min-busbw",
            CheckKind::NcclTestsMinBw => "NCCL_TESTS_MIN_BW",
            CheckKind::Profile => "profile",
            CheckKind::ProfileCoverage => "profile-coverage",
            CheckKind::Data => "data",
            CheckKind::Complete => "complete",
            CheckKind::Network => "network",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub kind: CheckKind,
    pub passed: bool,
    pub collective: Option<String>,
    pub size_bytes: Option<u64>,
    pub dtype: Option<DataType>,
    /// `out_of_place` or `in_place`: the column that was compared (the lower busbw of the two).
    pub placement: Option<String>,
    pub measured: f64,
    /// The value `measured` had to reach (for `data`: the most wrong elements allowed, 0).
    pub threshold: f64,
    /// `GB/s`, or `wrong elements`, or `rows`.
    pub unit: String,
    /// Where the threshold comes from (flag, environment, profile source or derivation).
    pub basis: String,
    /// For a failed bandwidth check: the slowest rank of the compared measurement.
    pub slowest: Option<SlowRank>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlowRank {
    pub rank: usize,
    pub host: String,
    pub device: Option<i32>,
    pub device_name: Option<String>,
    /// This rank's time and the average over ranks, µs per operation (one check), or the worst
    /// ratio seen (in `Verdict::slowest_ranks`).
    pub time_us: f64,
    pub rank_avg_time_us: f64,
    /// In `Verdict::slowest_ranks`: how many failing checks this rank was the slowest in.
    pub failing_checks: usize,
}

impl Verdict {
    /// Hosts of the ranks that were slowest in failing checks (for dashboards).
    pub fn failing_hosts(&self) -> Vec<String> {
        let hosts: BTreeSet<&str> = self.slowest_ranks.iter().map(|r| r.host.as_str()).collect();
        hosts.into_iter().map(str::to_string).collect()
    }
}

/// Distinct hosts of a report (from the rank placement, else the host list).
pub fn node_count(report: &Report) -> usize {
    let hosts: BTreeSet<&str> = if report.ranks.is_empty() {
        report.hosts.iter().map(String::as_str).collect()
    } else {
        report.ranks.iter().map(|r| r.host.as_str()).collect()
    };
    hosts.len().max(1)
}
