//! `collbench compare BASELINE... NEW [--tolerance PCT] [--markdown]`: per (collective, size,
//! dtype, op, root, placement) bus-bandwidth deltas between runs, noise-aware. Each file may be a
//! `-J` report, a `--jsonl` file, the text output of nccl-tests 2.19.x or collbench
//! ([`text_table`]), or nccl-tests' own `-J` JSON ([`nccl_json`]), so a collbench run can be judged
//! against months of nccl-tests logs. Several baselines (files, or a folder of them) are a history.
//!
//! A row regresses only when its busbw dropped by more than `--tolerance` percent (the effect
//! threshold) AND the data support it ([`noise`]: the history's between-run spread, else the runs'
//! own sample spread, else "noise unknown" and the threshold alone). A baseline row missing from
//! the new run also fails. Exit codes: 0 no regression, 7 regression or missing rows, 6 unusable
//! input (also runs with no row in common), 1 I/O.

mod imported;
pub mod load;
pub mod model;
pub mod nccl_json;
pub mod noise;
pub mod render;
pub mod text_table;
pub mod validate;

pub use model::{Comparison, Delta, Key, NoiseSource, Placement, Status};
pub use render::{
    render_markdown, render_markdown_with_notes, render_text, render_text_with_notes,
};

use crate::error::{CollbenchError, Result};
use crate::report::Report;
use clap::Parser;
use noise::{BaselineCell, RunCell};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `--tolerance` default, percent.
pub const DEFAULT_TOLERANCE_PERCENT: f64 = 5.0;

#[derive(Parser, Debug)]
#[command(
    name = "collbench compare",
    version,
    no_binary_name = true,
    about = "Compare a run against one baseline run or a history of them (collbench or nccl-tests -J JSON, --jsonl, or nccl-tests/collbench text output) per collective/size/type; exit 7 on a regression"
)]
pub struct CompareArgs {
    /// Baseline run(s) then the run to judge, last. Several baselines, or a folder of result
    /// files, are a history: their between-run spread is the noise.
    #[arg(value_name = "FILE", num_args = 1.., required = true)]
    pub files: Vec<PathBuf>,
    /// The effect threshold: a drop must exceed this many percent (and the noise) to count.
    #[arg(long, value_name = "PCT", default_value_t = DEFAULT_TOLERANCE_PERCENT, allow_hyphen_values = true)]
    pub tolerance: f64,
    /// Print a Markdown table (for PR comments, CI summaries) instead of text.
    #[arg(long)]
    pub markdown: bool,
}

fn check_inputs(baselines: &[&Report], new: &Report, tolerance_percent: f64) -> Result<()> {
    if !(tolerance_percent.is_finite() && (0.0..100.0).contains(&tolerance_percent)) {
        return Err(CollbenchError::Usage(format!(
            "--tolerance '{tolerance_percent}': accepted: a percentage from 0 to less than 100"
        )));
    }
    if let Some(other) = baselines.iter().find(|b| b.nranks != new.nranks) {
        return Err(CollbenchError::Usage(format!(
            "the baseline ran {} ranks and the new run {}: bus bandwidth is not comparable across \
             rank counts; accepted: runs with the same number of ranks",
            other.nranks, new.nranks
        )));
    }
    Ok(())
}

fn describe_cells<V>(cells: &BTreeMap<Key, V>) -> String {
    let mut what: Vec<String> = cells
        .keys()
        .map(|k| format!("{} {} {}", k.collective, k.dtype.name(), k.redop))
        .collect();
    what.sort();
    what.dedup();
    let sizes: Vec<u64> = cells.keys().map(|k| k.size_bytes).collect();
    format!(
        "{} at {}-{} B",
        what.join(", "),
        sizes.iter().min().copied().unwrap_or(0),
        sizes.iter().max().copied().unwrap_or(0)
    )
}

/// Compares `new` against one `baseline` run (see [`compare_history`]).
pub fn compare(baseline: &Report, new: &Report, tolerance_percent: f64) -> Result<Comparison> {
    compare_history(&[baseline], new, tolerance_percent)
}

/// Compares `new` against `baselines` (one run, or a history). Runs on different rank counts are
/// refused: busbw is not comparable across them.
pub fn compare_history(
    baselines: &[&Report],
    new: &Report,
    tolerance_percent: f64,
) -> Result<Comparison> {
    check_inputs(baselines, new, tolerance_percent)?;
    let tolerance = tolerance_percent / 100.0;
    let mut all_runs = baselines.to_vec();
    all_runs.push(new);
    let medians = noise::all_have_medians(&all_runs);
    let mut per_key: BTreeMap<Key, Vec<RunCell>> = BTreeMap::new();
    for run in baselines {
        for (k, cell) in noise::run_cells(run, medians) {
            per_key.entry(k).or_default().push(cell);
        }
    }
    let mut base: BTreeMap<Key, BaselineCell> = per_key
        .into_iter()
        .map(|(k, cells)| (k, noise::baseline_cell(&cells)))
        .collect();
    noise::floor_between_run_spreads(&mut base);
    let fresh = noise::run_cells(new, medians);
    // Runs that measured something but nothing alike (another collective, type or sizes) are a
    // wrong set of files, not a regression. A new run with no row at all still fails with every
    // row missing.
    if !fresh.is_empty() && !base.is_empty() && !base.keys().any(|k| fresh.contains_key(k)) {
        return Err(CollbenchError::Usage(format!(
            "the baseline ({}) and the new run ({}) have no (collective, size, type, op, root, \
             placement) row in common; accepted: runs of the same test",
            describe_cells(&base),
            describe_cells(&fresh)
        )));
    }
    let mut deltas: Vec<Delta> = base
        .iter()
        .map(|(k, b)| delta(k, b, fresh.get(k), tolerance))
        .collect();
    for (k, n) in fresh.iter().filter(|(k, _)| !base.contains_key(*k)) {
        deltas.push(Delta {
            key: k.clone(),
            baseline_gbps: None,
            new_gbps: Some(n.busbw_at(n.time_us)),
            change: None,
            noise: None,
            noise_source: NoiseSource::Unknown,
            status: Status::New,
            waited: n.waited,
        });
    }
    deltas.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Comparison {
        tolerance: tolerance_percent,
        baseline_runs: baselines.len(),
        deltas,
    })
}

fn delta(k: &Key, b: &BaselineCell, new: Option<&RunCell>, tolerance: f64) -> Delta {
    let baseline_gbps = Some(b.busbw_time / b.time_us.max(f64::MIN_POSITIVE));
    let Some(n) = new else {
        return Delta {
            key: k.clone(),
            baseline_gbps,
            new_gbps: None,
            change: None,
            noise: None,
            noise_source: b.source,
            status: Status::Missing,
            waited: None,
        };
    };
    // busbw ∝ 1/time, and time stays meaningful where busbw rounds to 0 (tiny sizes).
    let change = b.time_us / n.time_us - 1.0;
    let (noise, noise_source) = noise::allowance(b, n);
    Delta {
        key: k.clone(),
        // Both columns from the same quantity as the change: each run's center time.
        baseline_gbps,
        new_gbps: Some(b.busbw_time.max(n.busbw_time) / n.time_us),
        change: Some(change),
        // The allowance is on ln(time); shown as the drop in busbw it allows.
        noise: noise.map(|log_allowance| 1.0 - (-log_allowance).exp()),
        noise_source,
        status: status(change, tolerance, noise, b, n),
        waited: n.waited,
    }
}

/// The row's status; a regression whose new measurement had a rank wait for a CPU for
/// [`RunQueueWait::BUSY_PERCENT`](crate::report::RunQueueWait::BUSY_PERCENT) of its loop or
/// more, or for as large a share of it as the drop, is [`Status::Busy`].
fn status(
    change: f64,
    tolerance: f64,
    noise: Option<f64>,
    b: &BaselineCell,
    n: &RunCell,
) -> Status {
    let status = noise::judge(change, tolerance, noise, b, n.time_us);
    let waited = n.waited.as_ref().is_some_and(|w| w.explains(-change));
    match status {
        Status::Regressed if waited => Status::Busy,
        other => other,
    }
}

fn describe(loaded: &load::LoadedRuns, path: &str) -> String {
    let report = &loaded.runs[0];
    let nodes = crate::verdict::node_count(report);
    // A text table has no start time; it says which tool printed it instead.
    let when = match (&loaded.label, loaded.format) {
        (Some(label), _) => label.clone(),
        (None, load::InputFormat::Text) => {
            format!("{} {} text output", report.tool.name, report.tool.version)
        }
        (None, _) => report.start_time.clone(),
    };
    format!(
        "{path} ({when}, {} rank{} on {nodes} node{}, {} {})",
        report.nranks,
        if report.nranks == 1 { "" } else { "s" },
        if nodes == 1 { "" } else { "s" },
        report.backend.name,
        report.backend.library
    )
}

/// What the reader of each file left out or assumed, and runs that did not finish (their
/// finished rows are compared; the rows a cut-off new run lacks count as MISSING).
fn input_notes(inputs: &[(&load::LoadedRuns, &Path)]) -> Vec<String> {
    let mut notes = Vec::new();
    for (loaded, path) in inputs {
        notes.extend(loaded.notes.iter().cloned());
        for run in loaded.runs.iter().filter(|r| !r.complete) {
            notes.push(format!(
                "{}: the run did not finish ({}); its {} finished row{} are compared",
                path.display(),
                run.summary
                    .interrupted
                    .as_deref()
                    .unwrap_or("no end record"),
                run.results.len(),
                if run.results.len() == 1 { "" } else { "s" }
            ));
        }
    }
    notes
}

/// The baseline files: each path, a folder standing for the result files in it (sorted by name,
/// hidden files skipped).
fn expand_baselines(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let shown = path.display().to_string();
        let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| CollbenchError::io(shown.clone(), e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                !p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        if inside.is_empty() {
            return Err(CollbenchError::Usage(format!(
                "baseline folder {shown} holds no file; accepted: a folder of result files \
                 (-J JSON, --jsonl, text output) or the files themselves"
            )));
        }
        inside.sort();
        files.extend(inside);
    }
    Ok(files)
}

/// `collbench compare …` (arguments after `compare`): prints the table to `out`;
/// `Err(CheckFailed)` (exit 7) on a regression or a missing row.
pub fn command(args: &[String], out: &mut dyn Write) -> Result<()> {
    let parsed = match CompareArgs::try_parse_from(args) {
        Ok(parsed) => parsed,
        Err(e) => {
            if let Some(text) = crate::cli::commands::help_or_version(&e) {
                let _ = write!(out, "{text}");
                return Ok(());
            }
            return Err(CollbenchError::Usage(format!(
                "collbench compare: {}; accepted: collbench compare BASELINE... NEW [--tolerance PCT] [--markdown] (a BASELINE may be a folder of result files)",
                crate::cli::clap_error_summary(&e)
            )));
        }
    };
    let (new_path, baseline_args) = match parsed.files.split_last() {
        Some((new, baselines)) if !baselines.is_empty() => (new, baselines),
        _ => {
            return Err(CollbenchError::Usage(format!(
                "collbench compare: {} file given, the baseline(s) and the run to judge are \
                 needed; accepted: collbench compare BASELINE... NEW [--tolerance PCT] \
                 [--markdown] (a BASELINE may be a folder of result files)",
                parsed.files.len()
            )))
        }
    };
    let baseline_paths = expand_baselines(baseline_args)?;
    let baselines_loaded = baseline_paths
        .iter()
        .map(|p| load::read_one(p))
        .collect::<Result<Vec<_>>>()?;
    let new_loaded = load::read_one(new_path)?;
    let baselines: Vec<&Report> = baselines_loaded.iter().map(|l| &l.runs[0]).collect();
    let c = compare_history(&baselines, &new_loaded.runs[0], parsed.tolerance)?;
    let base_name = match baselines_loaded.as_slice() {
        [one] => describe(one, &baseline_paths[0].display().to_string()),
        many => format!(
            "{} runs, {} to {}",
            many.len(),
            baseline_paths[0].display(),
            baseline_paths[many.len() - 1].display()
        ),
    };
    let new_name = describe(&new_loaded, &new_path.display().to_string());
    let mut inputs: Vec<(&load::LoadedRuns, &Path)> = baselines_loaded
        .iter()
        .zip(&baseline_paths)
        .map(|(l, p)| (l, p.as_path()))
        .collect();
    inputs.push((&new_loaded, new_path.as_path()));
    let notes = input_notes(&inputs);
    let text = if parsed.markdown {
        render_markdown_with_notes(&c, &base_name, &new_name, &notes)
    } else {
        render_text_with_notes(&c, &base_name, &new_name, &notes)
    };
    out.write_all(text.as_bytes())
        .map_err(|e| CollbenchError::io("standard output", e))?;
    if c.failed() {
        let worst: Vec<String> = c
            .deltas
            .iter()
            .filter(|d| matches!(d.status, Status::Regressed | Status::Missing))
            .take(3)
            .map(|d| {
                format!(
                    "{} {} B {} {}: {}",
                    d.key.collective,
                    d.key.size_bytes,
                    d.key.dtype.name(),
                    d.key.placement.label(),
                    match d.change {
                        Some(ch) => format!("{:+.1}%", ch * 100.0),
                        None => "missing".into(),
                    }
                )
            })
            .collect();
        return Err(CollbenchError::CheckFailed(format!(
            "regression against {base_name}: {} ({})",
            render::summary_line(&c),
            worst.join("; ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod command_line_tests {
    use super::*;

    fn usage_error(args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let err = command(&args, &mut Vec::new()).unwrap_err();
        assert_eq!(err.exit_code(), 6, "{err}");
        err.to_string()
    }

    #[test]
    fn a_missing_file_argument_is_named() {
        // Was "the following required arguments were not provided:; accepted: …".
        let msg = usage_error(&["base.json"]);
        assert!(
            msg.contains("1 file given, the baseline(s) and the run to judge"),
            "{msg}"
        );
        let msg = usage_error(&[]);
        assert!(msg.contains("<FILE>..."), "{msg}");
        assert!(!msg.contains('\n') && !msg.contains("Usage:"), "{msg}");
    }
}
