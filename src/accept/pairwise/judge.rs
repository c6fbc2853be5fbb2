//! Rank 0's judgement of the pairs: the one busbw a pair's rows come to, and the threshold it must
//! reach (`--min-busbw`, a `--profile` expectation, or relative to the reference pair).

use crate::error::{CollbenchError, Result};
use crate::plan::Criteria;
use crate::plan::TestPlan;

/// Rank 0's view: how a pair's rows become one busbw, and the threshold.
pub(super) struct Judge {
    /// Rows of at least this size count (the lowest busbw among them).
    pub(super) check_size: Option<u64>,
    pub(super) threshold: Option<(f64, String)>,
    pub(super) relative_tolerance: f64,
    /// The size actually checked (known once a pair reported its rows).
    pub(super) checked_size: Option<u64>,
}

impl Judge {
    pub(super) fn check_size(&self, rows: &[(u64, f64)]) -> u64 {
        let largest = rows.iter().map(|r| r.0).max().unwrap_or(0);
        self.check_size.unwrap_or(largest).min(largest)
    }

    /// The lowest busbw among the checked rows; 0 (a failure) when the pair measured none.
    pub(super) fn busbw(&self, rows: &[(u64, f64)]) -> f64 {
        let from = self.check_size(rows);
        rows.iter()
            .filter(|r| r.0 >= from)
            .map(|r| r.1)
            .reduce(f64::min)
            .unwrap_or(0.0)
    }
}

/// The threshold a pair must reach, when the flags give an absolute one (`--min-busbw`, else the
/// profile's 2-node expectation at the largest size).
fn absolute_threshold(
    plan: &TestPlan,
    criteria: &Criteria,
    largest: u64,
) -> Result<Option<(f64, String)>> {
    if let Some(min) = &criteria.min_busbw {
        return Ok(Some((min.gbps, format!("--min-busbw {}", min.gbps))));
    }
    let Some(profile) = &criteria.profile else {
        return Ok(None);
    };
    let dtype = plan
        .sweep
        .dtypes
        .first()
        .copied()
        .unwrap_or(crate::types::DataType::Float);
    match profile.expected(plan.collective.name(), 2, largest, dtype) {
        Some(e) => Ok(Some((
            e.busbw_gbps * profile.pass_fraction,
            format!(
                "profile {}: {:.0}% of {:.2} GB/s expected for 2 nodes at {largest} B ({})",
                profile.name,
                profile.pass_fraction * 100.0,
                e.busbw_gbps,
                e.basis
            ),
        ))),
        None => Err(CollbenchError::Usage(format!(
            "--profile {}: no 2-node expectation for {} at {largest} B (a pair is 2 nodes); it covers: {}; \
             end the sweep (-e) at one of those sizes or give --min-busbw",
            profile.name,
            plan.collective.name(),
            profile.coverage()
        ))),
    }
}

/// `--profile` (auto resolved from rank 0's devices) or `--min-busbw` as a pair threshold.
pub(super) fn resolve_threshold(
    plan: &TestPlan,
    devices: &[String],
) -> Result<Option<(f64, String)>> {
    let criteria = plan.acceptance.resolve_criteria(devices)?;
    let largest = plan
        .sweep
        .sizes
        .iter()
        .copied()
        .max()
        .map(|max| {
            let dtype = plan
                .sweep
                .dtypes
                .first()
                .copied()
                .unwrap_or(crate::types::DataType::Float);
            let elt = dtype.size_bytes();
            plan.collective
                .counts(max as usize / elt, elt, 2)
                .size_bytes(elt)
        })
        .unwrap_or(0);
    absolute_threshold(plan, &criteria, largest)
}
