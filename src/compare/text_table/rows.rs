//! The result rows of the text table: size, count, type, operator, root, then the out-of-place and
//! in-place cells (time, algbw, busbw, #wrong, and the `-I` statistics).

use super::shorten;
use crate::compare::imported::{is_operator_name, printed_measurement};
use crate::report::{IterStats, Measurement, ResultRow, RunConfig};
use crate::types::DataType;

/// One result row. Returns the row (cells printed with a 0 µs time left out) and how many cells
/// were left out; `Err` says why the line is not a row.
pub(super) fn parse_row(
    line: &str,
    words: &[&str],
    collective: &str,
    config: &RunConfig,
) -> std::result::Result<(ResultRow, usize), String> {
    let expected = if config.per_iteration_timing { 8 } else { 4 };
    let bad = |what: String| {
        format!(
            "'{}' looks like a result row but {what}; expected size count type [redop] root, then \
             {expected} values (time algbw busbw #wrong{}) for out-of-place and for in-place",
            shorten(line.trim()),
            if config.per_iteration_timing {
                " i_min i_max i_p99 i_cv%"
            } else {
                ""
            }
        )
    };
    let size_bytes: u64 = words[0].parse().map_err(|_| bad("no size".into()))?;
    let count: u64 = words[1].parse().map_err(|_| bad("no count".into()))?;
    let dtype = DataType::parse(words[2]).ok_or_else(|| bad("no type".into()))?;
    // The operator column is blank for collectives without one (hypercube).
    let (redop, root, rest_at) = match words.get(3).map(|w| w.parse::<i64>()) {
        Some(Ok(root)) => (String::new(), root, 4),
        Some(Err(_)) => {
            let root = words
                .get(4)
                .and_then(|w| w.parse::<i64>().ok())
                .ok_or_else(|| bad("has no root after the operator".into()))?;
            (words[3].to_string(), root, 5)
        }
        None => return Err(bad("ends after the type".into())),
    };
    if !is_operator_name(&redop) {
        return Err(bad(format!("has operator '{}'", shorten(&redop))));
    }
    let mut values: Vec<&str> = words[rest_at..].to_vec();
    // `-S`: the local time (`%Y-%m-%d %H:%M:%S`) ends the row.
    while values
        .last()
        .is_some_and(|w| w.contains(':') || (w.contains('-') && w.parse::<f64>().is_err()))
        && values.len() % expected != 0
    {
        values.pop();
    }
    let (out_of_place, in_place) = if values.len() == 2 * expected {
        (Some(&values[..expected]), Some(&values[expected..]))
    } else if values.len() == expected {
        // One cell printed blank (not run): which one, from where the numbers start (an
        // out-of-place cell starts within 9 columns of the root, a blank one is 32 wide).
        let starts = word_starts(line);
        let root_end = starts[rest_at - 1] + words[rest_at - 1].len();
        if starts[rest_at] - root_end > 24 {
            (None, Some(&values[..]))
        } else {
            (Some(&values[..]), None)
        }
    } else {
        return Err(bad(format!(
            "has {} values after the root column",
            values.len()
        )));
    };
    let mut zero_cells = 0;
    let mut cell = |values: Option<&[&str]>| -> std::result::Result<Option<Measurement>, String> {
        let Some(values) = values else {
            return Ok(None);
        };
        match parse_cell(values, config) {
            Ok(Some(m)) => Ok(Some(m)),
            Ok(None) => {
                zero_cells += 1;
                Ok(None)
            }
            Err(what) => Err(bad(what)),
        }
    };
    let out_of_place = cell(out_of_place)?;
    let in_place = cell(in_place)?;
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
        zero_cells,
    ))
}

/// time, algbw, busbw, #wrong (+ i_min, i_max, i_p99, i_cv% with -I). `Ok(None)` for a time
/// printed as 0.
fn parse_cell(
    values: &[&str],
    config: &RunConfig,
) -> std::result::Result<Option<Measurement>, String> {
    let number = |name: &str, text: &str| -> std::result::Result<f64, String> {
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("has {name} '{}', not a number >= 0", shorten(text)))
    };
    let time_us = number("time", values[0])?;
    if time_us == 0.0 {
        return Ok(None);
    }
    let algbw_gbps = number("algbw", values[1])?;
    let bus_bandwidth_gbps = number("busbw", values[2])?;
    let wrong = match values[3] {
        "N/A" => None,
        text => {
            let w = number("#wrong", text)?;
            if w.fract() != 0.0 || w > u64::MAX as f64 {
                return Err(format!("has #wrong '{}', not a count", shorten(text)));
            }
            Some(w as u64)
        }
    };
    let per_iteration = if config.per_iteration_timing && values.len() >= 8 {
        if values[4..8].contains(&"N/A") {
            None
        } else {
            let min_us = number("i_min", values[4])?;
            let max_us = number("i_max", values[5])?;
            let p99_us = number("i_p99", values[6])?;
            let cv_percent = number("i_cv%", values[7])?;
            Some(IterStats {
                samples: config.iters,
                min_us,
                max_us,
                p50_us: 0.0,
                p99_us,
                cv_percent,
                avg_us: 0.0,
                p95_us: 0.0,
                stdev_us: 0.0,
                ..IterStats::default()
            })
        }
    } else {
        None
    };
    Ok(Some(printed_measurement(
        time_us,
        algbw_gbps,
        bus_bandwidth_gbps,
        wrong,
        per_iteration,
    )))
}

/// Byte offset of each whitespace-separated word of `line`.
fn word_starts(line: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut in_word = false;
    for (at, c) in line.char_indices() {
        if c.is_whitespace() {
            in_word = false;
        } else if !in_word {
            starts.push(at);
            in_word = true;
        }
    }
    starts
}
