//! The comparison as a text table or GitHub-flavoured Markdown. The noise column says what the
//! allowance is and where it came from; "unknown" where no file carried repeat information.

use super::model::{Comparison, Delta, NoiseSource, Status};
use super::noise::{BETWEEN_RUN_SIGMAS, MIN_HISTORY_RUNS, WITHIN_RUN_SIGMAS};
use crate::report::RunQueueWait;

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

/// `±x.x%` for a measured allowance, `unknown` where there was none to measure.
pub fn noise_cell(d: &Delta) -> String {
    match (d.noise, d.noise_source) {
        (Some(n), _) => format!("±{:.1}%", n * 100.0),
        (None, NoiseSource::Unknown) => "unknown".into(),
        (None, _) => "-".into(),
    }
}

pub fn summary_line(c: &Comparison) -> String {
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
    ) + &busy_count(c)
}

/// ", N not judged (busy)" when a row was; nothing otherwise, so the line reads as before.
fn busy_count(c: &Comparison) -> String {
    match c.count(Status::Busy) {
        0 => String::new(),
        n => format!(", {n} not judged (busy)"),
    }
}

/// Why rows were not judged: the longest wait among them, in words.
fn busy_line(c: &Comparison) -> Option<String> {
    let busy: Vec<&Delta> = c
        .deltas
        .iter()
        .filter(|d| d.status == Status::Busy)
        .collect();
    let mut worst: Option<(&Delta, &RunQueueWait)> = None;
    for d in &busy {
        if let Some(w) = d
            .waited
            .as_ref()
            .filter(|w| worst.is_none_or(|(_, most)| w.max_percent > most.max_percent))
        {
            worst = Some((d, w));
        }
    }
    let (worst, wait) = worst?;
    Some(format!(
        "busy: {} row{} slower while a rank waited for a CPU {}% of the timed loop or more, \
         or as much of it as the drop (held by another program or, oversubscribed, another \
         rank; the longest: rank {} waited {:.0}% of the {} B {} loop): not judged, rerun them \
         on a quiet machine",
        busy.len(),
        if busy.len() == 1 { "" } else { "s" },
        RunQueueWait::BUSY_PERCENT,
        wait.rank,
        wait.max_percent,
        worst.key.size_bytes,
        worst.key.placement.label()
    ))
}

/// The decision rule and the noise each row was judged by, in words.
pub fn rule_lines(c: &Comparison) -> Vec<String> {
    let mut lines = vec![format!(
        "a drop counts beyond {}% (effect threshold) and beyond the noise column",
        c.tolerance
    )];
    for (source, rows) in c.noise_sources() {
        let rows = format!("{rows} row{}", if rows == 1 { "" } else { "s" });
        lines.push(match source {
            NoiseSource::BetweenRuns(n) => format!(
                "noise for {rows}: between-run spread of {n} baseline runs (the larger of 1.4826 x \
                 MAD and half the range of their log times), x {BETWEEN_RUN_SIGMAS} x \
                 sqrt(1+1/{n}); a regression must also be slower than every baseline run"
            ),
            NoiseSource::WithinRun => format!(
                "noise for {rows}: within-run error of each run's center (-N cycles, stats \
                 interval or -I iterations) of the two runs combined, x {WITHIN_RUN_SIGMAS}; fewer \
                 than {MIN_HISTORY_RUNS} baseline runs, so run-to-run shifts are not measured"
            ),
            NoiseSource::Unknown => format!(
                "noise unknown for {rows}: no repeat information (no samples, -I or -N; fewer \
                 than {MIN_HISTORY_RUNS} baseline runs): judged by the effect threshold alone"
            ),
        });
    }
    lines.extend(busy_line(c));
    lines
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
    for line in rule_lines(c) {
        out.push_str(&format!("# {line}\n"));
    }
    out.push_str(&format!(
        "# {:>14} {:>12} {:>8} {:>6} {:>5} {:>12} {:>10} {:>10} {:>8} {:>8}  {}\n",
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
        let [collective, size, dtype, redop, root, placement, base, new, delta, noise] = cells(d);
        out.push_str(&format!(
            "  {collective:>14} {size:>12} {dtype:>8} {redop:>6} {root:>5} {placement:>12} \
             {base:>10} {new:>10} {delta:>8} {noise:>8}  {}\n",
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

/// A row's cells before its status, in the columns' order, for both tables.
fn cells(d: &Delta) -> [String; 10] {
    [
        d.key.collective.clone(),
        d.key.size_bytes.to_string(),
        d.key.dtype.name().to_string(),
        d.key.redop.clone(),
        d.key.root.to_string(),
        d.key.placement.label().to_string(),
        gbps(d.baseline_gbps),
        gbps(d.new_gbps),
        percent(d.change),
        noise_cell(d),
    ]
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
        "**collbench compare: {}** ({})\n\n- baseline: `{baseline}`\n- new: `{new}`\n",
        if c.failed() { "REGRESSION" } else { "OK" },
        summary_line(c),
    ));
    for line in rule_lines(c) {
        out.push_str(&format!("- {line}\n"));
    }
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
        out.push_str(&format!("| {} | {status} |\n", cells(d).join(" | ")));
    }
    out
}
