//! Reading result files back (compare, plot): a `-J` JSON report, a `--jsonl` file, the text
//! table that nccl-tests 2.19.x and collbench print on stdout ([`super::text_table`]), or
//! nccl-tests' own `-J` JSON ([`super::nccl_json`]: no `schema_version`, `version` and
//! `nccl_version` at the top). These are
//! untrusted input: a file that is none of these, comes from a newer schema, or holds non-finite
//! or negative numbers is rejected with the file, the row and what was wrong.

use super::validate::validate;
use super::{nccl_json, text_table};
use crate::error::{CollbenchError, Result};
use crate::report::Report;
use crate::sinks::jsonl;
use std::path::Path;

/// Which kind of file the runs came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// `-J`.
    Json,
    /// `--jsonl`.
    Jsonl,
    /// The stdout table of nccl-tests or collbench.
    Text,
    /// nccl-tests' own `-J` JSON.
    NcclTestsJson,
}

/// The runs of one file, its format, and notes on what reading it left out or assumed.
#[derive(Clone, Debug)]
pub struct LoadedRuns {
    pub runs: Vec<Report>,
    pub format: InputFormat,
    /// One line each (`path: …`), for the user.
    pub notes: Vec<String>,
    /// How to name where the runs came from when the report cannot say (nccl-tests' JSON has a
    /// local start time, which the report's UTC `start_time` does not hold).
    pub label: Option<String>,
}

/// Every run in `path`: one for a JSON report, one per run for JSON Lines or text.
pub fn load_runs(path: &Path) -> Result<Vec<Report>> {
    Ok(read(path)?.runs)
}

/// [`load_runs`] with the format and notes.
pub fn read(path: &Path) -> Result<LoadedRuns> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| CollbenchError::io(shown.clone(), e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        CollbenchError::Usage(format!(
            "{shown}: is not UTF-8 text (invalid byte at offset {}); expected a -J JSON report, \
             a --jsonl file, or the text output of nccl-tests 2.19.x or collbench",
            e.utf8_error().valid_up_to()
        ))
    })?;
    parse(&text, &shown)
}

/// [`load_runs`] on the text of a file; `origin` names it in errors.
pub fn parse_runs(text: &str, origin: &str) -> Result<Vec<Report>> {
    Ok(parse(text, origin)?.runs)
}

/// [`read`] on the text of a file.
pub fn parse(text: &str, origin: &str) -> Result<LoadedRuns> {
    // Not JSON (no `{` first) and not a JSON Lines file whose first line was torn: the text table
    // (its reader names every accepted format when the text is none of them).
    let first = text.trim_start();
    if !first.is_empty()
        && !first.starts_with('{')
        && !text
            .lines()
            .any(|l| l.trim_start().starts_with("{\"record\""))
    {
        let read = text_table::parse_text_runs(text, origin)?;
        return Ok(LoadedRuns {
            runs: read.runs,
            format: InputFormat::Text,
            notes: read.notes,
            label: None,
        });
    }
    let format = if text.trim_start().starts_with('{') && !looks_like_jsonl(text) {
        InputFormat::Json
    } else {
        InputFormat::Jsonl
    };
    let pairwise = |what: &str| {
        CollbenchError::Usage(format!(
            "{origin}: {what} of `collbench accept --pairwise` or `--bisect` (results of groups of \
             hosts, not a sweep); expected the -J or --jsonl file of a sweep (collbench run, \
             *-perf, accept without --pairwise or --bisect)"
        ))
    };
    if format == InputFormat::Json {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(value) if nccl_json::is_nccl_tests_report(&value) => {
                let read = nccl_json::parse_value(&value, origin)?;
                return Ok(LoadedRuns {
                    runs: vec![read.report],
                    format: InputFormat::NcclTestsJson,
                    notes: read.notes,
                    label: Some(read.label),
                });
            }
            Err(e) if nccl_json::looks_like_torn_nccl_tests_report(text) => {
                return Err(nccl_json::torn_error(origin, text, &e));
            }
            _ => {}
        }
    }
    let runs = if format == InputFormat::Json {
        let report: Report = serde_json::from_str(text).map_err(|e| {
            let kind = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string));
            if kind.as_deref() == Some(crate::report::PAIRWISE_KIND) {
                return pairwise("is the JSON report");
            }
            CollbenchError::Usage(format!(
                "{origin}: not a collbench JSON report ({e}) nor nccl-tests' (no `version` and \
                 `nccl_version` at the top); expected a file written by -J or --jsonl"
            ))
        })?;
        vec![report]
    } else {
        jsonl::parse_runs(text, origin)?
    };
    if runs.is_empty() {
        if crate::sinks::jsonl::ISOLATION_RECORDS
            .iter()
            .any(|record| text.contains(&format!("\"record\":\"{record}\"")))
        {
            return Err(pairwise("holds only records"));
        }
        return Err(CollbenchError::Usage(format!(
            "{origin}: holds no run; expected a file written by -J or --jsonl"
        )));
    }
    for run in &runs {
        validate(run, origin)?;
    }
    Ok(LoadedRuns {
        runs,
        format,
        notes: Vec::new(),
        label: None,
    })
}

/// Exactly one run from `path` (compare needs one baseline and one new run).
pub fn load_one(path: &Path) -> Result<Report> {
    Ok(read_one(path)?.runs.remove(0))
}

/// [`load_one`] with the format and notes: `runs` holds exactly one run.
pub fn read_one(path: &Path) -> Result<LoadedRuns> {
    let loaded = read(path)?;
    if loaded.runs.len() != 1 {
        let tables: Vec<String> = loaded
            .runs
            .iter()
            .map(|r| format!("{} ({} rows)", r.collective, r.results.len()))
            .collect();
        return Err(CollbenchError::Usage(format!(
            "{}: holds {} runs ({}); expected one (a -J report, a --jsonl file of a single run, or \
             the text output of a single nccl-tests/collbench run: split the file at its \
             '# Collective test starting:' lines)",
            path.display(),
            loaded.runs.len(),
            tables.join(", ")
        )));
    }
    Ok(loaded)
}

/// A JSON Lines file has a whole object with a `record` key on its first line (a sweep writes
/// `record` first; `accept --pairwise` records have their keys in alphabetical order).
fn looks_like_jsonl(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| {
            l.trim_start().starts_with("{\"record\"")
                || serde_json::from_str::<serde_json::Value>(l)
                    .is_ok_and(|v| v.get("record").is_some_and(|r| r.is_string()))
        })
}
