//! Semantic checks of a report read back, which serde cannot do: every reader (collbench JSON,
//! JSON Lines, nccl-tests text and JSON) ends with them.

use crate::error::{CollbenchError, Result};
use crate::report::{Measurement, Report, SCHEMA_VERSION};

/// Semantic checks serde cannot do.
pub fn validate(report: &Report, origin: &str) -> Result<()> {
    let bad = |what: String| {
        CollbenchError::Usage(format!(
            "{origin}: {what}; expected a report written by collbench (schema {SCHEMA_VERSION} or older)"
        ))
    };
    if report.schema_version == 0 || report.schema_version > SCHEMA_VERSION {
        return Err(bad(format!(
            "schema_version {} is not one this collbench reads",
            report.schema_version
        )));
    }
    if report.nranks == 0 {
        return Err(bad("nranks is 0".into()));
    }
    for (index, row) in report.results.iter().enumerate() {
        let at = |what: &str| bad(format!("results[{index}] ({} B): {what}", row.size_bytes));
        if row.out_of_place.is_none() && row.in_place.is_none() {
            return Err(at("neither out_of_place nor in_place was measured"));
        }
        for m in [&row.out_of_place, &row.in_place].into_iter().flatten() {
            check_measurement(m).map_err(|what| at(&what))?;
        }
    }
    Ok(())
}

fn check_measurement(m: &Measurement) -> std::result::Result<(), String> {
    let numbers = [
        ("time_us", m.time_us),
        ("algbw_gbps", m.algbw_gbps),
        ("busbw_gbps", m.bus_bandwidth_gbps),
        ("ranks.time_us_min", m.ranks.time_us_min),
        ("ranks.time_us_avg", m.ranks.time_us_avg),
        ("ranks.time_us_max", m.ranks.time_us_max),
    ];
    for (name, value) in numbers {
        if !value.is_finite() || value < 0.0 {
            return Err(format!("{name} = {value} is not a finite number >= 0"));
        }
    }
    if m.time_us <= 0.0 {
        return Err(format!("time_us = {} must be more than 0", m.time_us));
    }
    if m.ranks.time_us_min > m.ranks.time_us_max {
        return Err(format!(
            "ranks.time_us_min {} exceeds ranks.time_us_max {}",
            m.ranks.time_us_min, m.ranks.time_us_max
        ));
    }
    if let Some(stats) = &m.per_iteration {
        for (name, value) in [
            ("cv_percent", stats.cv_percent),
            ("min_us", stats.min_us),
            ("max_us", stats.max_us),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(format!(
                    "per_iteration.{name} = {value} is not a finite number >= 0"
                ));
            }
        }
    }
    if let Some(wait) = &m.run_queue_wait {
        let max = wait.max_percent;
        if !(max.is_finite() && (0.0..=100.0).contains(&max)) {
            return Err(format!(
                "run_queue_wait.max_percent = {max} is not a percentage from 0 to 100"
            ));
        }
        let total = wait.total_percent;
        if !total.is_finite() || total < max {
            return Err(format!(
                "run_queue_wait.total_percent = {total} is not a finite number >= max_percent ({max})"
            ));
        }
    }
    Ok(())
}
