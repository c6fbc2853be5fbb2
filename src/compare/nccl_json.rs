//! Reading nccl-tests' own JSON report (`all_reduce_perf … -J FILE`, long name `--output_file`)
//! into the same [`Report`] model as collbench's `-J`, so compare and plot take it as a baseline or
//! a run. The format is what nccl-tests' `src/util.cu` writes (file format `version` 1 to 3, its
//! `JSON_FILE_VERSION`):
//!
//! - `jsonOutputInit`: `version`, `start_time` (local `%Y-%m-%d %H:%M:%S`), `args` (argv), `env`
//!   (`NAME=value` strings), `nccl_version` (22809 style).
//! - `writeDeviceReport`: `config` with `nthreads`, `ngpus`, `minimum_bytes`, `maximum_bytes`,
//!   `step_factor` or `step_bytes`, `warmup_iters`, `iterations`, `aggregated_iterations`,
//!   `validation`, `graph`, `blocking_collectives`, `per_iter_timing` (2+), `per_iter_skip` (3),
//!   `parallel_init` (booleans are the strings "true"/"false"), and `devices`: ONE entry per process
//!   (its first rank: `rank`, `group`, `pid`, `hostname`, `device`, `device_hex`, `device_info`).
//! - `writeResultHeader` opens `results`; each row (`writeBenchmarkLinePreamble` …
//!   `writeBenchmarkLineTerminator`) has `size`, `count`, `type`, `redop`, `root` (the string
//!   `"%6i"`), `out_of_place` (or `null` when not run) and `in_place` objects with `time` (or
//!   `cpu_time` with `-C`), `alg_bw`, `bus_bw` (doubles as `%lf`, NaN as the string "nan") and
//!   `nwrong` (a double, `null` when not checked), `out_of_place_per_iter`/`in_place_per_iter` with
//!   `-I`, `actual_iterations`, `experiment_name`. `-d all`, `-o all`, `-r -1` and `-N` append to
//!   the same list: a repeated (size, type, op, root) is the next `-N` cycle.
//! - `writeResultFooter`: `out_of_bounds` {`count`, `okay`}, `bitwise_mismatches` (3, with the
//!   bitwise check), `average_bus_bandwidth` {`bandwidth`, `okay`: "unchecked"/"true"/"false"};
//!   `writeErrors`: `errors` (NCCL's last error); `jsonOutputFinalize`: `end_time`.
//!
//! nccl-tests closes whatever is open when `run()` fails, so a failed run is valid JSON without the
//! footer: it is read with `complete: false`, like a cut-off text table. A killed process leaves the
//! file cut off, which is not JSON and is refused (exit 6) with that explanation.
//!
//! What the JSON lacks stays empty, as for text: the nccl-tests version (the file has only its
//! format version), a UTC start time (`start_time` is local time without a zone, so it is shown, not
//! stored), the rank spread, and the GPU name and bus ID of every rank but each process's first.

use super::imported::{
    attribute_to_first_rank, fill_sweep_config, is_collective_name, is_operator_name, mean_busbw,
    nccl_backend, nccl_tests_tool, printed_measurement, shortened, wrong_cells, CycleCounter,
};
use crate::error::{CollbenchError, Result};
use crate::report::env::allowlisted_environment;
use crate::report::meta::hosts_in_rank_order;
use crate::report::{
    IterStats, Measurement, RankPlacement, Report, ResultRow, RunConfig, Summary, SCHEMA_VERSION,
};
use crate::types::DataType;
use serde_json::{Map, Value};

/// The `version` values nccl-tests has written (`JSON_FILE_VERSION` in its src/util.cu).
pub const FORMAT_VERSIONS: std::ops::RangeInclusive<u64> = 1..=3;

const ACCEPTED: &str = "accepted: the complete -J file of nccl-tests (format version 1 to 3), a \
     collbench -J report, a --jsonl file, or the text output of nccl-tests 2.19.x or collbench";

/// One nccl-tests JSON file read: its run, what the reader left out or assumed, and how compare
/// names the source (the Report has no field for a local start time).
#[derive(Clone, Debug)]
pub struct NcclJsonRun {
    pub report: Report,
    pub notes: Vec<String>,
    pub label: String,
}

/// Whether a parsed JSON document is nccl-tests' report: `jsonOutputInit` always writes `version`
/// and `nccl_version`; collbench's report has `schema_version` instead.
pub fn is_nccl_tests_report(value: &Value) -> bool {
    value.as_object().is_some_and(|o| {
        o.contains_key("version")
            && o.contains_key("nccl_version")
            && !o.contains_key("schema_version")
    })
}

/// Whether text that did not parse as JSON starts the way nccl-tests' report does (so the error can
/// say why it is broken rather than that it is not collbench's).
pub fn looks_like_torn_nccl_tests_report(text: &str) -> bool {
    let start: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(12)
        .collect();
    start.starts_with("{\"version\":") || text.contains("\"nccl_version\"")
}

/// The error for nccl-tests JSON that serde could not parse.
pub fn torn_error(origin: &str, text: &str, error: &serde_json::Error) -> CollbenchError {
    let why = if text.contains(":inf") || text.contains(":-inf") {
        "it holds a bare inf, which is not JSON (nccl-tests prints an infinite bandwidth, from a \
         0 µs time, with %lf)"
            .to_string()
    } else if error.is_eof() {
        "the file ends in the middle: the run was killed while writing it (nccl-tests closes the \
         JSON only when it exits), so use its stdout log, which collbench also reads"
            .to_string()
    } else {
        "the file was damaged or edited".to_string()
    };
    CollbenchError::Usage(format!(
        "{origin}: is nccl-tests -J JSON but not valid JSON ({error}): {why}; {ACCEPTED}"
    ))
}

fn bad(origin: &str, path: &str, what: String) -> CollbenchError {
    CollbenchError::Usage(format!(
        "{origin}: nccl-tests JSON `{path}` {what}; {ACCEPTED}"
    ))
}

/// A value as quoted in a message: its JSON, at most 40 characters.
fn shown(value: &Value) -> String {
    shortened(&value.to_string(), 40)
}

/// Typed access to one object, naming `origin` and the key path in every error.
struct Object<'a> {
    origin: &'a str,
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Object<'a> {
    fn new(origin: &'a str, path: &str, value: &'a Value) -> Result<Self> {
        match value.as_object() {
            Some(map) => Ok(Object {
                origin,
                path: path.to_string(),
                map,
            }),
            None => Err(bad(
                origin,
                path,
                format!("is {}, not an object", shown(value)),
            )),
        }
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn error(&self, key: &str, what: String) -> CollbenchError {
        bad(self.origin, &self.key_path(key), what)
    }

    /// `None` when the key is absent or `null`.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn required(&self, key: &str) -> Result<&'a Value> {
        self.get(key)
            .ok_or_else(|| bad(self.origin, &self.path_or_top(), format!("has no `{key}`")))
    }

    fn path_or_top(&self) -> String {
        if self.path.is_empty() {
            "(top level)".into()
        } else {
            self.path.clone()
        }
    }

    fn object(&self, key: &str) -> Result<Option<Object<'a>>> {
        self.get(key)
            .map(|v| Object::new(self.origin, &self.key_path(key), v))
            .transpose()
    }

    fn string(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.error(key, format!("is {}, not a string", shown(other)))),
        }
    }

    /// A whole number >= 0 (`%d`, `%zu`, or a double such as `nwrong`'s `0.000000`).
    fn count(&self, key: &str) -> Result<Option<u64>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let number = v
            .as_u64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                    .map(|f| f as u64)
            })
            .ok_or_else(|| self.error(key, format!("is {}, not a whole number >= 0", shown(v))))?;
        Ok(Some(number))
    }

    fn count_or_zero(&self, key: &str) -> Result<u64> {
        Ok(self.count(key)?.unwrap_or(0))
    }

    /// A number >= 0 (`jsonDouble`); `Ok(None)` for the string "nan" it writes for NaN.
    fn measure(&self, key: &str) -> Result<Option<f64>> {
        match self.required(key)? {
            Value::String(s) if s == "nan" || s == "-nan" => Ok(None),
            v => v
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(Some)
                .ok_or_else(|| {
                    self.error(
                        key,
                        format!("is {}, not a number >= 0 (or \"nan\")", shown(v)),
                    )
                }),
        }
    }

    /// `jsonBool` writes the strings "true" and "false".
    fn flag(&self, key: &str) -> Result<bool> {
        match self.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s == "true" => Ok(true),
            Some(Value::String(s)) if s == "false" => Ok(false),
            Some(other) => Err(self.error(
                key,
                format!("is {}, not \"true\" or \"false\"", shown(other)),
            )),
        }
    }
}

/// Reads a parsed nccl-tests report; `origin` names the file in errors and notes.
pub fn parse_value(value: &Value, origin: &str) -> Result<NcclJsonRun> {
    let top = Object::new(origin, "", value)?;
    let version = top
        .count("version")?
        .ok_or_else(|| bad(origin, "version", "is missing".into()))?;
    if !FORMAT_VERSIONS.contains(&version) {
        return Err(top.error(
            "version",
            format!(
                "is {version}, not a format this collbench reads ({} to {})",
                FORMAT_VERSIONS.start(),
                FORMAT_VERSIONS.end()
            ),
        ));
    }
    let mut notes = Vec::new();
    let args = string_list(&top, "args")?;
    let collective = collective_of(&top, &args)?;
    let environment =
        allowlisted_environment(string_list(&top, "env")?.into_iter().filter_map(|e| {
            e.split_once('=')
                .map(|(n, v)| (n.to_string(), v.to_string()))
        }));
    let nccl_code = top.count("nccl_version")?.map(|c| c as i64);
    let start_local = top.string("start_time")?.unwrap_or("").to_string();

    let results = match top.get("results") {
        Some(Value::Array(rows)) => rows,
        Some(other) => {
            return Err(top.error("results", format!("is {}, not a list", shown(other))));
        }
        None => {
            return Err(bad(
                origin,
                "(top level)",
                format!(
                    "has no `results`: the run failed before its first row{}",
                    errors_said(&top)?
                        .map(|e| format!(" (nccl-tests said: {e})"))
                        .unwrap_or_default()
                ),
            ))
        }
    };
    let config_object = top
        .object("config")?
        .ok_or_else(|| bad(origin, "(top level)", "has no `config`".into()))?;
    let mut config = read_config(&config_object)?;
    let ranks = read_ranks(&config_object, &config, origin, &mut notes)?;

    let mut rows = Vec::new();
    let mut cycles = CycleCounter::default();
    let mut left_out_cells = 0usize;
    for (index, row_value) in results.iter().enumerate() {
        let row = Object::new(origin, &format!("results[{index}]"), row_value)?;
        let (mut parsed, left_out) = read_row(&row, &collective, &mut config)?;
        left_out_cells += left_out;
        if parsed.out_of_place.is_none() && parsed.in_place.is_none() {
            continue;
        }
        cycles.number(&mut parsed);
        rows.push(parsed);
    }
    if left_out_cells > 0 {
        notes.push(format!(
            "{origin}: {left_out_cells} measurement{} of the {collective} run had a time of 0 µs or \
             a \"nan\" time or bandwidth and {} left out",
            if left_out_cells == 1 { "" } else { "s" },
            if left_out_cells == 1 { "is" } else { "are" }
        ));
    }
    if rows.is_empty() {
        return Err(bad(
            origin,
            "results",
            format!(
                "holds no measured row ({} entries){}",
                results.len(),
                if results.is_empty() {
                    ": the run failed or was stopped before its first row"
                } else {
                    ""
                }
            ),
        ));
    }
    fill_sweep_config(&mut config, &rows);

    let summary = read_summary(&top, &rows, &collective, origin, &mut notes)?;
    let complete = summary.interrupted.is_none();
    attribute_to_first_rank(&mut rows, &ranks);
    let report = Report {
        schema_version: SCHEMA_VERSION,
        // The JSON carries its format version, not nccl-tests' own.
        tool: nccl_tests_tool("unknown".into()),
        args,
        start_time: String::new(),
        end_time: None,
        complete,
        backend: nccl_backend(nccl_code),
        collective,
        nranks: ranks.len(),
        hosts: hosts_in_rank_order(&ranks),
        ranks,
        memory: Vec::new(),
        slurm: None,
        environment,
        config,
        results: rows,
        summary,
        verdict: None,
    };
    super::load::validate(&report, origin)?;
    let label = if start_local.is_empty() {
        format!("nccl-tests -J JSON format {version}")
    } else {
        format!("nccl-tests -J JSON format {version}, started {start_local} local time")
    };
    Ok(NcclJsonRun {
        report,
        notes,
        label,
    })
}

fn string_list(top: &Object, key: &str) -> Result<Vec<String>> {
    match top.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(bad(
                    top.origin,
                    &format!("{key}[{i}]"),
                    format!("is {}, not a string", shown(other)),
                )),
            })
            .collect(),
        Some(other) => Err(top.error(key, format!("is {}, not a list of strings", shown(other)))),
    }
}

/// The first non-empty entry of `errors` (NCCL's last error), quoted.
fn errors_said(top: &Object) -> Result<Option<String>> {
    Ok(string_list(top, "errors")?
        .into_iter()
        .find(|e| !e.trim().is_empty())
        .map(|e| format!("'{}'", e.trim())))
}

/// `args[0]` is the program (`./build/all_reduce_perf`): the JSON names the collective nowhere else.
fn collective_of(top: &Object, args: &[String]) -> Result<String> {
    let program = args.first().map(String::as_str).unwrap_or("");
    let base = program.rsplit('/').next().unwrap_or(program);
    // Every nccl-tests program is NAME_perf (its src/Makefile); builds may add a suffix (_mpi).
    let name = base.rfind("_perf").map_or("", |at| &base[..at]);
    if !is_collective_name(name) {
        return Err(top.error(
            "args",
            format!(
                "starts with '{program}', not an nccl-tests program (like ./build/all_reduce_perf), \
                 so which collective the file measured is unknown"
            ),
        ));
    }
    Ok(name.to_string())
}

fn read_config(config: &Object) -> Result<RunConfig> {
    let small = |key: &str| -> Result<usize> {
        let value = config.count_or_zero(key)?;
        usize::try_from(value)
            .ok()
            .filter(|v| *v <= u32::MAX as usize)
            .ok_or_else(|| config.error(key, format!("is {value}, too large")))
    };
    let (step_kind, step_value) = match (config.count("step_factor")?, config.count("step_bytes")?)
    {
        (Some(factor), _) => ("factor".to_string(), factor as f64),
        (None, Some(bytes)) => ("bytes".to_string(), bytes as f64),
        (None, None) => (String::new(), 0.0),
    };
    let blocking = config.flag("blocking_collectives")?;
    Ok(RunConfig {
        nthreads: small("nthreads")?,
        ngpus: small("ngpus")?,
        min_bytes: config.count_or_zero("minimum_bytes")?,
        max_bytes: config.count_or_zero("maximum_bytes")?,
        step_kind,
        step_value,
        warmup_iters: small("warmup_iters")?,
        iters: small("iterations")?,
        agg_iters: small("aggregated_iterations")?,
        check_iters: small("validation")?,
        graph_launches: small("graph")?,
        blocking,
        // The JSON says only whether -z was on (jsonBool), not which mode: 1 stands for "on".
        blocking_mode: u8::from(blocking),
        per_iteration_timing: config.flag("per_iter_timing")?,
        per_iteration_skip: small("per_iter_skip")?,
        parallel_init: config.flag("parallel_init")?,
        run_cycles: 1,
        ..RunConfig::default()
    })
}

/// `config.devices` lists each process's first rank (util.cu parses only the first `#  Rank` line
/// of each process); a process runs `nthreads × ngpus` ranks on consecutive devices.
fn read_ranks(
    config: &Object,
    run: &RunConfig,
    origin: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<RankPlacement>> {
    let devices = match config.get("devices") {
        Some(Value::Array(d)) if !d.is_empty() => d,
        Some(Value::Array(_)) | None => return Err(config.error(
            "devices",
            "is missing or empty, so the rank count (which bus bandwidth depends on) is unknown"
                .into(),
        )),
        Some(other) => {
            return Err(config.error("devices", format!("is {}, not a list", shown(other))))
        }
    };
    if run.nthreads == 0 || run.ngpus == 0 {
        return Err(config.error(
            if run.nthreads == 0 {
                "nthreads"
            } else {
                "ngpus"
            },
            "is missing or 0, so the rank count is unknown".into(),
        ));
    }
    let per_process = run.nthreads.saturating_mul(run.ngpus);
    if per_process > 1 << 16 || devices.len().saturating_mul(per_process) > 1 << 20 {
        return Err(config.error(
            "nthreads",
            format!(
                "× ngpus × processes = {} × {} × {} ranks is not a plausible run",
                run.nthreads,
                run.ngpus,
                devices.len()
            ),
        ));
    }
    let mut ranks: Vec<RankPlacement> = Vec::new();
    for (index, entry) in devices.iter().enumerate() {
        let device = Object::new(origin, &format!("config.devices[{index}]"), entry)?;
        let first_rank = device
            .count("rank")?
            .ok_or_else(|| device.error("rank", "is missing".into()))?
            as usize;
        let ordinal = device.count("device")?.map(|d| d as i64);
        let host = device.string("hostname")?.unwrap_or("").to_string();
        let pid = device.count("pid")?.unwrap_or(0).min(u32::MAX as u64) as u32;
        let group = device.count("group")?.unwrap_or(0) as usize;
        for i in 0..per_process {
            let rank = first_rank.saturating_add(i);
            if ranks.iter().any(|p| p.rank == rank) {
                return Err(device.error(
                    "rank",
                    format!(
                        "{first_rank} (with {per_process} rank{} per process) repeats rank {rank}",
                        if per_process == 1 { "" } else { "s" }
                    ),
                ));
            }
            ranks.push(RankPlacement {
                rank,
                group,
                host: host.clone(),
                pid,
                device: ordinal
                    .map(|d| d + i as i64)
                    .and_then(|d| i32::try_from(d).ok()),
                bus_id: if i == 0 {
                    device.string("device_hex")?.map(str::to_string)
                } else {
                    None
                },
                device_name: if i == 0 {
                    device.string("device_info")?.unwrap_or("").to_string()
                } else {
                    String::new()
                },
            });
        }
    }
    ranks.sort_by_key(|p| p.rank);
    if per_process > 1 {
        notes.push(format!(
            "{origin}: nccl-tests' JSON lists only the first rank of each process; the other {} \
             rank{} (host, pid, device ordinal) are derived and their GPU names and bus IDs are \
             unknown",
            ranks.len() - devices.len(),
            if ranks.len() - devices.len() == 1 {
                ""
            } else {
                "s"
            }
        ));
    }
    Ok(ranks)
}

/// One entry of `results`, and how many of its cells were left out (0 µs or "nan").
fn read_row(row: &Object, collective: &str, config: &mut RunConfig) -> Result<(ResultRow, usize)> {
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
    let samples = match stats.get("times_us") {
        Some(Value::Array(times)) => times.len().saturating_sub(skipped),
        Some(other) => {
            return Err(stats.error("times_us", format!("is {}, not a list", shown(other))))
        }
        None => iters,
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
    }))
}

/// The footer: present when the run finished, absent when it failed after `results` was opened.
fn read_summary(
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
