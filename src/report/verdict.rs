//! The verdict model: the checks a run was judged by and who was slowest in the failing ones.
//! Computed by `crate::verdict`, stored in the report, written by the sinks.

use super::Report;
use crate::types::DataType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The verdict block: printed after the table and stored in the JSON report (`Report::verdict`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// No fail-level check failed.
    pub passed: bool,
    /// A warn-level check (`--warn-busbw`) was below its floor. Schema 6.
    #[serde(default)]
    pub warned: bool,
    /// Acceptance profile used, if any.
    pub profile: Option<String>,
    /// Distinct hosts in the run (profiles are per node count).
    pub nodes: usize,
    pub checks: Vec<Check>,
    /// Ranks named with evidence in failing checks (a bandwidth outlier per `blame`, the first
    /// wrong element's rank, a rank off the required network), most often first.
    pub slowest_ranks: Vec<SlowRank>,
    /// Why a check that was asked for did not apply (`--profile auto` with no matching profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When a bandwidth check failed: the evidence for or against naming a rank. Schema 6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blame: Option<Blame>,
}

/// The evidence about the process that was most often the slowest (`crate::verdict::blame`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blame {
    /// True when the evidence names `rank`; false: no rank stands out (a uniform shortfall).
    pub named: bool,
    /// The first rank of the process that was the slowest in the most columns, and its host.
    pub rank: usize,
    pub host: String,
    /// In how many of `measurements` columns (with per-process iteration times) it was the slowest.
    pub slowest_in: usize,
    pub measurements: usize,
    /// The chance of `slowest_in` or more if every rank were equally likely (binomial tail).
    pub p_value: f64,
    /// Median over those columns of its median iteration time over the other processes', percent.
    pub median_excess_percent: f64,
    /// The rule, in words.
    pub rule: String,
}

/// What a check compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// `--min-busbw`: one row's bus bandwidth against a floor.
    MinBusbw,
    /// `--warn-busbw`: one row's bus bandwidth against a warn floor (a warning, not a failure).
    WarnBusbw,
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
    /// A failed check of this kind warns (exit 8) instead of failing the verdict (exit 7).
    pub fn warns_only(self) -> bool {
        self == CheckKind::WarnBusbw
    }

    pub fn label(self) -> &'static str {
        match self {
            CheckKind::MinBusbw => "min-busbw",
            CheckKind::WarnBusbw => "warn-busbw",
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
    /// For a failed bandwidth check measured while a rank waited for a CPU
    /// [`RunQueueWait::BUSY_PERCENT`](crate::report::RunQueueWait::BUSY_PERCENT) of the loop or
    /// more: that rank. Schema 7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy_rank: Option<BusyRank>,
}

/// The rank that waited longest for a CPU during a measurement, and where it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusyRank {
    pub rank: usize,
    pub host: String,
    /// Its wait, percent of the timed loop.
    pub wait_percent: f64,
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
