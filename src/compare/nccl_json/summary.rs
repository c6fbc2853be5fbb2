//! The end of nccl-tests' JSON: its footer (out-of-bounds count, average bus bandwidth, bitwise
//! check) and the NCCL error it reports, or why a failed run has no footer.

use super::object::{string_list, Object};
use crate::compare::imported::{mean_busbw, wrong_cells};
use crate::error::Result;
use crate::report::{ResultRow, Summary};

/// The first non-empty entry of `errors` (NCCL's last error), quoted.
pub(super) fn errors_said(top: &Object) -> Result<Option<String>> {
    Ok(string_list(top, "errors")?
        .into_iter()
        .find(|e| !e.trim().is_empty())
        .map(|e| format!("'{}'", e.trim())))
}

/// The footer: present when the run finished, absent when it failed after `results` was opened.
pub(super) fn read_summary(
    top: &Object,
    rows: &[ResultRow],
    collective: &str,
    origin: &str,
    notes: &mut Vec<String>,
) -> Result<Summary> {
    let said = errors_said(top)?;
    let mean_of_rows = mean_busbw(rows);
    let Some(out_of_bounds) = top.object("out_of_bounds")? else {
        let interrupted = format!(
            "the JSON has no footer (out_of_bounds, average_bus_bandwidth) after {} row{}: the run \
             failed{}",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" },
            said.map(|e| format!(" (nccl-tests said: {e})"))
                .unwrap_or_default()
        );
        return Ok(Summary {
            out_of_bounds: wrong_cells(rows),
            avg_bus_bandwidth_gbps: mean_of_rows,
            min_bus_bandwidth_gbps: None,
            passed: false,
            first_wrong: None,
            interrupted: Some(interrupted),
        });
    };
    let wrong_count = out_of_bounds
        .count("count")?
        .ok_or_else(|| out_of_bounds.error("count", "is missing".into()))?;
    let average = top
        .object("average_bus_bandwidth")?
        .ok_or_else(|| top.error("average_bus_bandwidth", "is missing".into()))?;
    let avg = average.measure("bandwidth")?;
    let min_bw_failed = average.string("okay")? == Some("false");
    let bitwise_failed = match top.object("bitwise_mismatches")? {
        Some(bitwise) => bitwise.count_or_zero("count")? > 0,
        None => false,
    };
    if let Some(e) = &said {
        notes.push(format!(
            "{origin}: the {collective} run finished with an NCCL error: {e}"
        ));
    }
    if bitwise_failed {
        notes.push(format!(
            "{origin}: nccl-tests' bitwise repeatability check failed (bitwise_mismatches); \
             collbench does not compare it"
        ));
    }
    Ok(Summary {
        out_of_bounds: wrong_count,
        avg_bus_bandwidth_gbps: avg.unwrap_or(mean_of_rows),
        min_bus_bandwidth_gbps: None,
        passed: wrong_count == 0 && !min_bw_failed && !bitwise_failed,
        first_wrong: None,
        interrupted: None,
    })
}
