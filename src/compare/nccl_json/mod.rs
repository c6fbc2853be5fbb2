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

mod header;
mod object;
mod rows;
mod summary;

use super::imported::{
    attribute_to_first_rank, fill_sweep_config, nccl_backend, nccl_tests_tool, CycleCounter,
};
use crate::error::{CollbenchError, Result};
use crate::report::env::allowlisted_environment;
use crate::report::meta::hosts_in_rank_order;
use crate::report::{Report, SCHEMA_VERSION};
use header::{collective_of, read_config, read_ranks};
use object::{shown, string_list, Object};
use rows::read_row;
use serde_json::Value;
use summary::{errors_said, read_summary};

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
    crate::compare::validate::validate(&report, origin)?;
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
