//! `collbench compare BASELINE NEW [--tolerance PCT] [--markdown]`: per (collective, size, dtype,
//! op, root, placement) bus-bandwidth deltas between two runs, noise-aware. Either file may be a
//! `-J` report, a `--jsonl` file, the text output of nccl-tests 2.19.x or collbench
//! ([`text_table`]), or nccl-tests' own `-J` JSON ([`nccl_json`]), so a collbench run can be judged
//! against months of nccl-tests logs.
//!
//! A row regresses only when its busbw dropped by more than `--tolerance` percent AND by more than
//! the runs' own spread explains: [`NOISE_SIGMAS`] × the combined relative spread of both runs (the
//! per-iteration coefficient of variation when `-I` was on, else half the rank spread
//! (max-min)/avg, plus the spread across `-N` cycles). A baseline row missing from the new run also
//! fails. Exit codes: 0 no regression, 7 regression or missing rows, 6 unusable input (also
//! two runs with no row in common), 1 I/O.

mod imported;
pub mod load;
pub mod nccl_json;
pub mod text_table;
pub mod validate;

use crate::error::{CollbenchError, Result};
use crate::report::{Measurement, Report, ResultRow};
use crate::types::DataType;
use clap::Parser;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

/// How many combined standard deviations of spread a drop must exceed to count.
pub const NOISE_SIGMAS: f64 = 2.0;
/// `--tolerance` default, percent.
pub const DEFAULT_TOLERANCE_PERCENT: f64 = 5.0;

#[derive(Parser, Debug)]
#[command(
    name = "collbench compare",
    version,
    no_binary_name = true,
    about = "Compare two runs (collbench or nccl-tests -J JSON, --jsonl, or nccl-tests/collbench text output) per collective/size/type; exit 7 on a regression"
)]
pub struct CompareArgs {
    /// The reference run (e.g. results/baselines/….json, an nccl-tests stdout log or -J JSON).
    pub baseline: PathBuf,
    /// The run to judge.
    pub new: PathBuf,
    /// A drop must exceed this many percent (and the runs' own noise) to count as a regression.
    #[arg(long, value_name = "PCT", default_value_t = DEFAULT_TOLERANCE_PERCENT, allow_hyphen_values = true)]
    pub tolerance: f64,
    /// Print a Markdown table (for PR comments, CI summaries) instead of text.
    #[arg(long)]
    pub markdown: bool,
}

/// One compared cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Delta {
    pub key: Key,
    pub baseline_gbps: Option<f64>,
    pub new_gbps: Option<f64>,
    /// New busbw relative to baseline minus 1 (−0.10 = 10% slower), from the times.
    pub change: Option<f64>,
    /// The drop a row may show before it counts, from the runs' spread (relative).
    pub noise: f64,
    pub status: Status,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub collective: String,
    pub size_bytes: u64,
    pub dtype: DataType,
    pub redop: String,
    pub root: i64,
    pub placement: Placement,
}

/// Which column of a row; out-of-place sorts first, as in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Placement {
    OutOfPlace,
    InPlace,
}

impl Placement {
    pub fn label(self) -> &'static str {
        match self {
            Placement::OutOfPlace => "out_of_place",
            Placement::InPlace => "in_place",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Unchanged,
    /// Beyond the tolerance but inside the noise allowance.
    WithinNoise,
    Improved,
    Regressed,
    /// In the baseline, not in the new run.
    Missing,
    /// In the new run only.
    New,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Unchanged => "ok",
            Status::WithinNoise => "noise",
            Status::Improved => "IMPROVED",
            Status::Regressed => "REGRESSION",
            Status::Missing => "MISSING",
            Status::New => "new",
        }
    }
}

/// The whole comparison.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub tolerance: f64,
    pub deltas: Vec<Delta>,
}

impl Comparison {
    pub fn count(&self, status: Status) -> usize {
        self.deltas.iter().filter(|d| d.status == status).count()
    }

    pub fn failed(&self) -> bool {
        self.count(Status::Regressed) + self.count(Status::Missing) > 0
    }
}

/// Mean time and relative spread of one key over the `-N` cycles of a run.
#[derive(Clone, Copy, Debug)]
struct Cell {
    time_us: f64,
    busbw_gbps: f64,
    noise: f64,
}

fn measurement_noise(m: &Measurement) -> f64 {
    match &m.per_iteration {
        Some(stats) if stats.samples > 1 => stats.cv_percent / 100.0,
        _ if m.ranks.time_us_avg > 0.0 => {
            (m.ranks.time_us_max - m.ranks.time_us_min) / m.ranks.time_us_avg / 2.0
        }
        _ => 0.0,
    }
}

fn cells(report: &Report) -> BTreeMap<Key, Cell> {
    let mut samples: BTreeMap<Key, Vec<&Measurement>> = BTreeMap::new();
    for row in &report.results {
        for (placement, m) in placements(row) {
            samples.entry(key(row, placement)).or_default().push(m);
        }
    }
    samples
        .into_iter()
        .map(|(k, ms)| {
            let n = ms.len() as f64;
            let time = ms.iter().map(|m| m.time_us).sum::<f64>() / n;
            let busbw = ms.iter().map(|m| m.bus_bandwidth_gbps).sum::<f64>() / n;
            let within = ms.iter().map(|m| measurement_noise(m).powi(2)).sum::<f64>() / n;
            let across = if ms.len() > 1 {
                ms.iter().map(|m| (m.time_us - time).powi(2)).sum::<f64>()
                    / (n - 1.0)
                    / time.powi(2)
            } else {
                0.0
            };
            (
                k,
                Cell {
                    time_us: time,
                    busbw_gbps: busbw,
                    noise: (within + across).sqrt(),
                },
            )
        })
        .collect()
}

fn placements(row: &ResultRow) -> impl Iterator<Item = (Placement, &Measurement)> {
    [
        (Placement::OutOfPlace, row.out_of_place.as_ref()),
        (Placement::InPlace, row.in_place.as_ref()),
    ]
    .into_iter()
    .filter_map(|(p, m)| m.map(|m| (p, m)))
}

fn key(row: &ResultRow, placement: Placement) -> Key {
    Key {
        collective: row.collective.clone(),
        size_bytes: row.size_bytes,
        dtype: row.dtype,
        redop: row.redop.clone(),
        root: row.root,
        placement,
    }
}

/// Compares `new` against `baseline`. Runs on different rank counts are refused: busbw is not
/// comparable across them.
pub fn compare(baseline: &Report, new: &Report, tolerance_percent: f64) -> Result<Comparison> {
    if !(tolerance_percent.is_finite() && (0.0..100.0).contains(&tolerance_percent)) {
        return Err(CollbenchError::Usage(format!(
            "--tolerance '{tolerance_percent}': accepted: a percentage from 0 to less than 100"
        )));
    }
    if baseline.nranks != new.nranks {
        return Err(CollbenchError::Usage(format!(
            "the baseline ran {} ranks and the new run {}: bus bandwidth is not comparable across \
             rank counts; accepted: two runs with the same number of ranks",
            baseline.nranks, new.nranks
        )));
    }
    let tolerance = tolerance_percent / 100.0;
    let base = cells(baseline);
    let fresh = cells(new);
    // Two runs that measured something but nothing alike (another collective, type or sizes)
    // are a wrong pair of files, not a regression. A new run with no row at all still fails
    // with every row missing.
    if !fresh.is_empty() && !base.is_empty() && !base.keys().any(|k| fresh.contains_key(k)) {
        let describe_cells = |cells: &BTreeMap<Key, Cell>| {
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
        };
        return Err(CollbenchError::Usage(format!(
            "the baseline ({}) and the new run ({}) have no (collective, size, type, op, root, \
             placement) row in common; accepted: two runs of the same test",
            describe_cells(&base),
            describe_cells(&fresh)
        )));
    }
    let mut deltas = Vec::new();
    for (k, b) in &base {
        let delta = match fresh.get(k) {
            None => Delta {
                key: k.clone(),
                baseline_gbps: Some(b.busbw_gbps),
                new_gbps: None,
                change: None,
                noise: b.noise * NOISE_SIGMAS,
                status: Status::Missing,
            },
            Some(n) => {
                // busbw ∝ 1/time, and time stays meaningful where busbw rounds to 0 (tiny sizes).
                let change = b.time_us / n.time_us - 1.0;
                let noise = NOISE_SIGMAS * (b.noise.powi(2) + n.noise.powi(2)).sqrt();
                let status = if change.abs() <= tolerance {
                    Status::Unchanged
                } else if change.abs() <= noise {
                    Status::WithinNoise
                } else if change < 0.0 {
                    Status::Regressed
                } else {
                    Status::Improved
                };
                Delta {
                    key: k.clone(),
                    baseline_gbps: Some(b.busbw_gbps),
                    new_gbps: Some(n.busbw_gbps),
                    change: Some(change),
                    noise,
                    status,
                }
            }
        };
        deltas.push(delta);
    }
    for (k, n) in &fresh {
        if !base.contains_key(k) {
            deltas.push(Delta {
                key: k.clone(),
                baseline_gbps: None,
                new_gbps: Some(n.busbw_gbps),
                change: None,
                noise: n.noise * NOISE_SIGMAS,
                status: Status::New,
            });
        }
    }
    deltas.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Comparison {
        tolerance: tolerance_percent,
        deltas,
    })
}

/// Bus bandwidth for the table; below 0.01 GB/s (small sizes on the host backend) two
/// significant digits, so a drop does not read "0.00 → 0.00".
fn gbps(value: Option<f64>) -> String {
    value
        .map(crate::report::units::format_gbps)
        .unwrap_or_else(|| "-".into())
}

fn percent(value: Option<f64>) -> String {
    value
        .map(|v| format!("{:+.1}%", v * 100.0))
        .unwrap_or_else(|| "-".into())
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
fn input_notes(inputs: &[(&load::LoadedRuns, &std::path::Path)]) -> Vec<String> {
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

fn summary_line(c: &Comparison) -> String {
    format!(
        "{} regression{}, {} missing, {} improved, {} within noise, {} unchanged, {} new",
        c.count(Status::Regressed),
        if c.count(Status::Regressed) == 1 {
            ""
        } else {
            "s"
        },
        c.count(Status::Missing),
        c.count(Status::Improved),
        c.count(Status::WithinNoise),
        c.count(Status::Unchanged),
        c.count(Status::New)
    )
}

/// The comparison as a text table.
pub fn render_text(c: &Comparison, baseline: &str, new: &str) -> String {
    render_text_with_notes(c, baseline, new, &[])
}

/// [`render_text`] with `# note:` lines (what reading the inputs left out) above the table.
pub fn render_text_with_notes(
    c: &Comparison,
    baseline: &str,
    new: &str,
    notes: &[String],
) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# collbench compare\n# baseline: {baseline}\n# new:      {new}\n"
    ));
    for note in notes {
        out.push_str(&format!("# note: {note}\n"));
    }
    out.push_str(&format!(
        "# a drop counts beyond {}% and beyond {NOISE_SIGMAS} x the runs' combined spread (noise column)\n",
        c.tolerance
    ));
    out.push_str(&format!(
        "# {:>14} {:>12} {:>8} {:>6} {:>5} {:>12} {:>10} {:>10} {:>8} {:>7}  {}\n",
        "collective",
        "size(B)",
        "type",
        "redop",
        "root",
        "placement",
        "base GB/s",
        "new GB/s",
        "delta",
        "noise",
        "status"
    ));
    for d in &c.deltas {
        out.push_str(&format!(
            "  {:>14} {:>12} {:>8} {:>6} {:>5} {:>12} {:>10} {:>10} {:>8} {:>7}  {}\n",
            d.key.collective,
            d.key.size_bytes,
            d.key.dtype.name(),
            d.key.redop,
            d.key.root,
            d.key.placement.label(),
            gbps(d.baseline_gbps),
            gbps(d.new_gbps),
            percent(d.change),
            format!("±{:.1}%", d.noise * 100.0),
            d.status.label()
        ));
    }
    out.push_str(&format!(
        "# Result: {} ({})\n",
        if c.failed() { "REGRESSION" } else { "OK" },
        summary_line(c)
    ));
    out
}

/// The comparison as a GitHub-flavoured Markdown table.
pub fn render_markdown(c: &Comparison, baseline: &str, new: &str) -> String {
    render_markdown_with_notes(c, baseline, new, &[])
}

/// [`render_markdown`] with a `- note:` item per note.
pub fn render_markdown_with_notes(
    c: &Comparison,
    baseline: &str,
    new: &str,
    notes: &[String],
) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "**collbench compare: {}** ({})\n\n- baseline: `{baseline}`\n- new: `{new}`\n- a drop counts beyond {}% and beyond {NOISE_SIGMAS} x the runs' combined spread\n",
        if c.failed() { "REGRESSION" } else { "OK" },
        summary_line(c),
        c.tolerance
    ));
    for note in notes {
        out.push_str(&format!("- note: {note}\n"));
    }
    out.push('\n');
    out.push_str("| collective | size (B) | type | redop | root | placement | base GB/s | new GB/s | delta | noise | status |\n");
    out.push_str("|---|---:|---|---|---:|---|---:|---:|---:|---:|---|\n");
    for d in &c.deltas {
        let status = match d.status {
            Status::Regressed | Status::Missing => format!("**{}**", d.status.label()),
            other => other.label().to_string(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | ±{:.1}% | {} |\n",
            d.key.collective,
            d.key.size_bytes,
            d.key.dtype.name(),
            d.key.redop,
            d.key.root,
            d.key.placement.label(),
            gbps(d.baseline_gbps),
            gbps(d.new_gbps),
            percent(d.change),
            d.noise * 100.0,
            status
        ));
    }
    out
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
                "collbench compare: {}; accepted: collbench compare BASELINE NEW [--tolerance PCT] [--markdown]",
                crate::cli::clap_error_summary(&e)
            )));
        }
    };
    let baseline_loaded = load::read_one(&parsed.baseline)?;
    let new_loaded = load::read_one(&parsed.new)?;
    let baseline = &baseline_loaded.runs[0];
    let new = &new_loaded.runs[0];
    let c = compare(baseline, new, parsed.tolerance)?;
    let base_name = describe(&baseline_loaded, &parsed.baseline.display().to_string());
    let new_name = describe(&new_loaded, &parsed.new.display().to_string());
    let notes = input_notes(&[
        (&baseline_loaded, parsed.baseline.as_path()),
        (&new_loaded, parsed.new.as_path()),
    ]);
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
            "regression against {}: {} ({})",
            parsed.baseline.display(),
            summary_line(&c),
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
        assert!(msg.contains("not provided: <NEW>"), "{msg}");
        let msg = usage_error(&[]);
        assert!(msg.contains("<BASELINE> <NEW>"), "{msg}");
        assert!(!msg.contains('\n') && !msg.contains("Usage:"), "{msg}");
    }
}
