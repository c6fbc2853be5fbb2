//! A [`Report`] as the document nccl-tests 2.19.6 writes with `-J` (its `src/util.cu`, file format
//! `version` 3): `jsonOutputInit`'s header, `writeDeviceReport`'s `config`, one `results` entry per
//! table row (`writeBenchmarkLine*`, `writePerIterReport` with `-I`), `writeResultFooter`'s
//! `out_of_bounds` and `average_bus_bandwidth`, `writeErrors`' `errors` and the `end_time`.
//!
//! A document of a run that has not finished (a checkpoint, an interrupted sweep) stops after
//! `results`, as nccl-tests' file does when its run fails: readers take the missing footer as an
//! incomplete run.

use super::emit::Value;
use crate::report::{IterStats, Measurement, RankPlacement, Report, ResultRow, RunConfig};

/// nccl-tests' `JSON_FILE_VERSION`.
pub const FORMAT_VERSION: i64 = 3;

/// The local start and end times (`%Y-%m-%d %H:%M:%S`), which the report holds only in UTC.
#[derive(Clone, Debug, Default)]
pub struct LocalTimes {
    pub start: String,
    /// `None` until the run has finished.
    pub end: Option<String>,
}

/// The whole document. `rows` are the finished rows; the footer is written when `report.complete`
/// and `times.end` say the run is over.
pub fn document(report: &Report, rows: &[ResultRow], times: &LocalTimes) -> Value {
    let mut top = vec![
        ("version", Value::Int(FORMAT_VERSION)),
        ("start_time", Value::str(times.start.clone())),
        (
            "args",
            Value::List(report.args.iter().map(|a| Value::str(a.clone())).collect()),
        ),
        // The allowlisted environment of the report, as `NAME=value` like nccl-tests' envp (which
        // holds everything, tokens and passwords included).
        (
            "env",
            Value::List(
                report
                    .environment
                    .iter()
                    .map(|(name, value)| Value::str(format!("{name}={value}")))
                    .collect(),
            ),
        ),
        (
            "nccl_version",
            Value::Int(report.backend.version_code.unwrap_or(0)),
        ),
        ("config", config(&report.config, &report.ranks)),
        (
            "results",
            Value::List(rows.iter().map(|r| row(r, &report.config)).collect()),
        ),
    ];
    if let (true, Some(end)) = (report.complete, &times.end) {
        let s = &report.summary;
        top.push((
            "out_of_bounds",
            Value::Object(vec![
                ("count", Value::Int(s.out_of_bounds as i64)),
                ("okay", Value::flag(s.out_of_bounds == 0)),
            ]),
        ));
        let okay = match s.min_bus_bandwidth_gbps {
            None => Value::str("unchecked"),
            Some(min) => Value::flag(s.avg_bus_bandwidth_gbps >= min * 0.9),
        };
        top.push((
            "average_bus_bandwidth",
            Value::Object(vec![
                ("bandwidth", Value::Double(s.avg_bus_bandwidth_gbps)),
                ("okay", okay),
            ]),
        ));
        // NCCL's last error message: empty after a run that got here.
        top.push(("errors", Value::List(vec![Value::str("")])));
        top.push(("end_time", Value::str(end.clone())));
    }
    Value::Object(top)
}

/// `writeDeviceReport`: the run parameters and one device per process.
fn config(c: &RunConfig, ranks: &[RankPlacement]) -> Value {
    let step = if c.step_kind == "factor" {
        ("step_factor", whole_or_double(c.step_value))
    } else {
        ("step_bytes", whole_or_double(c.step_value))
    };
    Value::Object(vec![
        ("nthreads", Value::Int(c.nthreads as i64)),
        ("ngpus", Value::Int(c.ngpus as i64)),
        ("minimum_bytes", Value::Size(c.min_bytes)),
        ("maximum_bytes", Value::Size(c.max_bytes)),
        step,
        ("warmup_iters", Value::Int(c.warmup_iters as i64)),
        ("iterations", Value::Int(c.iters as i64)),
        ("aggregated_iterations", Value::Int(c.agg_iters as i64)),
        ("validation", Value::Int(c.check_iters as i64)),
        ("graph", Value::Int(c.graph_launches as i64)),
        (
            "blocking_collectives",
            Value::flag(c.blocking || c.blocking_mode != 0),
        ),
        ("per_iter_timing", Value::flag(c.per_iteration_timing)),
        ("per_iter_skip", Value::Int(c.per_iteration_skip as i64)),
        ("parallel_init", Value::flag(c.parallel_init)),
        (
            "devices",
            Value::List(first_rank_of_each_process(ranks).map(device).collect()),
        ),
    ])
}

/// A step is a whole number in nccl-tests; only collbench takes a fractional factor.
fn whole_or_double(v: f64) -> Value {
    if v.fract() == 0.0 && v >= 0.0 && v < u64::MAX as f64 {
        Value::Size(v as u64)
    } else {
        Value::Double(v)
    }
}

/// nccl-tests gathers one block of rank lines per process and parses the first line of each.
fn first_rank_of_each_process(ranks: &[RankPlacement]) -> impl Iterator<Item = &RankPlacement> {
    let mut seen: Vec<(&str, u32)> = Vec::new();
    ranks.iter().filter(move |p| {
        let key = (p.host.as_str(), p.pid);
        let first = !seen.contains(&key);
        if first {
            seen.push(key);
        }
        first
    })
}

/// `jsonRankInfo`, from what the rank line prints (device -1 and `host` on the host backend).
fn device(p: &RankPlacement) -> Value {
    Value::Object(vec![
        ("rank", Value::Int(p.rank as i64)),
        ("group", Value::Int(p.group as i64)),
        ("pid", Value::Int(i64::from(p.pid))),
        ("hostname", Value::str(p.host.clone())),
        ("device", Value::Int(i64::from(p.device.unwrap_or(-1)))),
        (
            "device_hex",
            Value::str(p.bus_id.clone().unwrap_or_else(|| "host".to_string())),
        ),
        ("device_info", Value::str(p.device_name.clone())),
    ])
}

/// One table row: `writeBenchmarkLinePreamble`, the two bodies, `writeBenchmarkLineTerminator`.
fn row(r: &ResultRow, c: &RunConfig) -> Value {
    let mut fields = vec![
        ("size", Value::Size(r.size_bytes)),
        ("count", Value::Size(r.count)),
        ("type", Value::str(r.dtype.name())),
        ("redop", Value::str(r.redop.clone())),
        // `%6i`, as the table prints it.
        ("root", Value::str(format!("{:>6}", r.root))),
    ];
    for (key, iter_key, cell) in [
        ("out_of_place", "out_of_place_per_iter", &r.out_of_place),
        ("in_place", "in_place_per_iter", &r.in_place),
    ] {
        match cell {
            Some(m) => {
                fields.push((key, measurement(m, c.report_cputime)));
                if let Some(stats) = &m.per_iteration {
                    fields.push((iter_key, per_iteration(stats, c.per_iteration_skip)));
                }
            }
            None => fields.push((key, Value::Null)),
        }
    }
    fields.push(("actual_iterations", Value::Int(c.iters as i64)));
    fields.push(("experiment_name", Value::str("")));
    Value::Object(fields)
}

/// `writeBenchmarkLineBody`: time (µs; `cpu_time` with `-C`), GB/s, and `nwrong` as a double
/// (`null` when not checked).
fn measurement(m: &Measurement, cputime: bool) -> Value {
    Value::Object(vec![
        (
            if cputime { "cpu_time" } else { "time" },
            Value::Double(m.time_us),
        ),
        ("alg_bw", Value::Double(m.algbw_gbps)),
        ("bus_bw", Value::Double(m.bus_bandwidth_gbps)),
        (
            "nwrong",
            m.wrong.map_or(Value::Null, |w| Value::Double(w as f64)),
        ),
    ])
}

/// `writePerIterReport` (`-I 1`): the statistics after `-K`, every iteration's time, and each
/// process's when there are several.
fn per_iteration(s: &IterStats, skipped: usize) -> Value {
    let times = |series: &[f64]| Value::List(series.iter().map(|t| Value::Double(*t)).collect());
    let mut fields = vec![
        ("skipped_iterations", Value::Int(skipped as i64)),
        ("min_us", Value::Double(s.min_us)),
        ("max_us", Value::Double(s.max_us)),
        ("avg_us", Value::Double(s.avg_us)),
        ("p50_us", Value::Double(s.p50_us)),
        ("p95_us", Value::Double(s.p95_us)),
        ("p99_us", Value::Double(s.p99_us)),
        ("stdev_us", Value::Double(s.stdev_us)),
        ("cv_pct", Value::Double(s.cv_percent)),
        ("times_us", times(&s.times_us)),
    ];
    if s.per_process_times_us.len() > 1 {
        fields.push((
            "per_process_max_times_us",
            Value::List(s.per_process_times_us.iter().map(|p| times(p)).collect()),
        ));
    }
    Value::Object(fields)
}
