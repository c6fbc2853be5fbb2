//! The entries of nccl-tests' JSON `results`: one row each, with its out-of-place and in-place
//! cells and their `-I` statistics.

use super::object::{shown, Object};
use crate::compare::imported::{is_operator_name, printed_measurement};
use crate::error::Result;
use crate::report::{IterStats, Measurement, ResultRow, RunConfig};
use crate::types::DataType;
use serde_json::Value;

/// One entry of `results`, and how many of its cells were left out (0 µs or "nan").
pub(super) fn read_row(
    row: &Object,
    collective: &str,
    config: &mut RunConfig,
) -> Result<(ResultRow, usize)> {
    let size_bytes = row
        .count("size")?
        .ok_or_else(|| row.error("size", "is missing".into()))?;
    let count = row
        .count("count")?
        .ok_or_else(|| row.error("count", "is missing".into()))?;
    let type_name = row
        .string("type")?
        .ok_or_else(|| row.error("type", "is missing".into()))?;
    let dtype = DataType::parse(type_name).ok_or_else(|| {
        row.error(
            "type",
            format!("is '{type_name}', not an NCCL data type (int8 … f8e5m2)"),
        )
    })?;
    let redop = row.string("redop")?.unwrap_or("").trim().to_string();
    if !is_operator_name(&redop) {
        return Err(row.error("redop", format!("is '{redop}', not an operator name")));
    }
    // `root` is the "%6i" text of the table column.
    let root = match row.required("root")? {
        Value::String(s) => s.trim().parse::<i64>().ok(),
        v => v.as_i64(),
    }
    .ok_or_else(|| {
        row.error(
            "root",
            format!(
                "is {}, not a rank number (like \"    -1\")",
                shown(&row.map["root"])
            ),
        )
    })?;
    let mut left_out = 0;
    let mut cell = |key: &str| -> Result<Option<Measurement>> {
        let Some(object) = row.object(key)? else {
            return Ok(None);
        };
        let per_iteration = row
            .object(&format!("{key}_per_iter"))?
            .map(|stats| read_iter_stats(&stats, config.iters))
            .transpose()?
            .flatten();
        match read_cell(&object, config, per_iteration)? {
            Some(m) => Ok(Some(m)),
            None => {
                left_out += 1;
                Ok(None)
            }
        }
    };
    let out_of_place = cell("out_of_place")?;
    let in_place = cell("in_place")?;
    Ok((
        ResultRow {
            collective: collective.to_string(),
            size_bytes,
            count,
            dtype,
            redop,
            root,
            out_of_place,
            in_place,
            cycle: 0,
        },
        left_out,
    ))
}

/// `time` (or `cpu_time`), `alg_bw`, `bus_bw`, `nwrong`. `Ok(None)` when the time is 0 or any of
/// them is "nan": nothing to compare.
fn read_cell(
    cell: &Object,
    config: &mut RunConfig,
    per_iteration: Option<IterStats>,
) -> Result<Option<Measurement>> {
    let time_key = match (cell.get("time"), cell.get("cpu_time")) {
        (Some(_), None) => "time",
        (None, Some(_)) => {
            config.report_cputime = true;
            "cpu_time"
        }
        (Some(_), Some(_)) => {
            return Err(cell.error(
                "cpu_time",
                "is there beside `time`; nccl-tests writes one of them".into(),
            ))
        }
        (None, None) => return Err(cell.error("time", "is missing".into())),
    };
    let time_us = cell.measure(time_key)?;
    let algbw = cell.measure("alg_bw")?;
    let busbw = cell.measure("bus_bw")?;
    let wrong = cell.count("nwrong")?;
    let (Some(time_us), Some(algbw_gbps), Some(bus_bandwidth_gbps)) = (time_us, algbw, busbw)
    else {
        return Ok(None);
    };
    if time_us == 0.0 {
        return Ok(None);
    }
    Ok(Some(printed_measurement(
        time_us,
        algbw_gbps,
        bus_bandwidth_gbps,
        wrong,
        per_iteration,
    )))
}

/// `-I`: `writePerIterReport`'s statistics; `None` when one of them is "nan".
fn read_iter_stats(stats: &Object, iters: usize) -> Result<Option<IterStats>> {
    let mut values = Vec::new();
    for key in [
        "min_us", "max_us", "avg_us", "p50_us", "p95_us", "p99_us", "stdev_us", "cv_pct",
    ] {
        match stats.measure(key)? {
            Some(v) => values.push(v),
            None => return Ok(None),
        }
    }
    let skipped = stats.count_or_zero("skipped_iterations")? as usize;
    let times_us = match stats.get("times_us") {
        Some(Value::Array(times)) => number_list(stats, "times_us", times)?,
        Some(other) => {
            return Err(stats.error("times_us", format!("is {}, not a list", shown(other))))
        }
        None => Vec::new(),
    };
    let samples = if times_us.is_empty() {
        iters
    } else {
        times_us.len().saturating_sub(skipped)
    };
    let per_process_times_us = match stats.get("per_process_max_times_us") {
        Some(Value::Array(rows)) => rows
            .iter()
            .map(|row| match row {
                Value::Array(times) => number_list(stats, "per_process_max_times_us", times),
                other => Err(stats.error(
                    "per_process_max_times_us",
                    format!("holds {}, not a list of times", shown(other)),
                )),
            })
            .collect::<Result<Vec<_>>>()?,
        Some(other) => {
            return Err(stats.error(
                "per_process_max_times_us",
                format!("is {}, not a list", shown(other)),
            ))
        }
        None => Vec::new(),
    };
    Ok(Some(IterStats {
        samples,
        min_us: values[0],
        max_us: values[1],
        avg_us: values[2],
        p50_us: values[3],
        p95_us: values[4],
        p99_us: values[5],
        stdev_us: values[6],
        cv_percent: values[7],
        times_us,
        per_process_times_us,
    }))
}

/// A list of iteration times in µs, finite numbers ≥ 0. nccl-tests writes a NaN as "nan": a series
/// holding one is left out (empty) rather than shifted or stored as a number it is not.
fn number_list(stats: &Object, key: &str, values: &[Value]) -> Result<Vec<f64>> {
    let times = values
        .iter()
        .map(|v| match v {
            Value::Number(n) => n
                .as_f64()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .map(Some)
                .ok_or_else(|| stats.error(key, format!("holds {n}, not a time ≥ 0"))),
            Value::String(text) if text == "nan" => Ok(None),
            other => Err(stats.error(key, format!("holds {}, not a time", shown(other)))),
        })
        .collect::<Result<Option<Vec<f64>>>>()?;
    Ok(times.unwrap_or_default())
}
