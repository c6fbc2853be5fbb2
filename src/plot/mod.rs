//! `collbench plot RUN [RUN2 …] -o FILE.png|svg` (each RUN a -J, --jsonl or nccl-tests/collbench
//! text file): bus bandwidth (and time) against
//! message size on a log2 axis, one line per run and collective (and type/op/root when a run has
//! several), baselines dashed, thresholds drawn in red. The font is compiled in (DejaVu Sans through
//! plotters' ab_glyph), so no system font library is needed.

mod lines;
mod render;

pub use lines::{profile_threshold_lines, run_lines, run_setup, verdict_threshold_line, Line};
pub use render::{draw, floor_span, Figure, LEGEND_DASHES, MINOR_GRID, THRESHOLD_RED};

use crate::compare::load;
use crate::error::{CollbenchError, Result};
use crate::plan::profile::Profile;
use clap::{Parser, ValueEnum};
use std::path::{Path, PathBuf};

// The variants have no doc comments: with them clap prints a multi-line long help for the flag,
// unlike every other collbench help; the flag's own help says what each value means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Metric {
    Busbw,
    Time,
    Both,
}

/// Spelled as in the JSON keys, the Prometheus `placement` label and the CSV `placement` column;
/// the hyphenated spelling of nccl-tests' table header is accepted too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlacementArg {
    #[value(name = "out_of_place", alias = "out-of-place")]
    OutOfPlace,
    #[value(name = "in_place", alias = "in-place")]
    InPlace,
}

impl PlacementArg {
    pub fn label(self) -> &'static str {
        match self {
            PlacementArg::OutOfPlace => "out_of_place",
            PlacementArg::InPlace => "in_place",
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "collbench plot",
    version,
    no_binary_name = true,
    about = "Plot busbw (and time) against size from -J / --jsonl files or nccl-tests/collbench text output"
)]
pub struct PlotArgs {
    /// Runs to plot (solid lines): -J, --jsonl, or nccl-tests/collbench text output.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Output image: .png or .svg.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Reference runs, drawn dashed (repeatable).
    #[arg(long = "baseline", value_name = "FILE")]
    pub baselines: Vec<PathBuf>,
    /// Draw this bus-bandwidth floor (GB/s).
    #[arg(long = "min-busbw", value_name = "GBPS", allow_hyphen_values = true)]
    pub min_busbw: Option<String>,
    /// Smallest size the floor applies to [default: 1G or the largest size].
    #[arg(
        long = "min-busbw-size",
        value_name = "SIZE",
        allow_hyphen_values = true
    )]
    pub min_busbw_size: Option<String>,
    /// Draw a profile's pass thresholds for each run's node count.
    #[arg(long = "profile", value_name = "NAME|FILE")]
    pub profile: Option<String>,
    /// Panels to draw: busbw, time (per operation), or both (busbw above time).
    #[arg(long = "metric", value_enum, default_value = "both")]
    pub metric: Metric,
    /// Which of each row's two measurements to plot: out_of_place (separate send and receive
    /// buffers) or in_place (one buffer).
    #[arg(long = "placement", value_enum, default_value = "out_of_place")]
    pub placement: PlacementArg,
    /// Title above the panels [default: the collectives, ranks, nodes, backend and placement].
    #[arg(long = "title", value_name = "TEXT")]
    pub title: Option<String>,
    /// Image width in pixels (320 to 8192).
    #[arg(long = "width", value_name = "PX", default_value_t = 1280, value_parser = clap::value_parser!(u32).range(320..=8192))]
    pub width: u32,
    /// Image height in pixels (240 to 8192).
    #[arg(long = "height", value_name = "PX", default_value_t = 960, value_parser = clap::value_parser!(u32).range(240..=8192))]
    pub height: u32,
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `collbench plot …` (arguments after `plot`). Prints the path written to `out`.
pub fn command(args: &[String], out: &mut dyn std::io::Write) -> Result<()> {
    let parsed = match PlotArgs::try_parse_from(args) {
        Ok(p) => p,
        Err(e) => {
            if let Some(text) = crate::cli::commands::help_or_version(&e) {
                let _ = write!(out, "{text}");
                return Ok(());
            }
            return Err(CollbenchError::Usage(format!(
                "collbench plot: {}; accepted: collbench plot RUN.json [RUN2.json …] -o FILE.png|svg [--baseline FILE] [--min-busbw GBPS] [--profile NAME] [--metric busbw|time|both] [--placement out_of_place|in_place] [--title TEXT] [--width PX] [--height PX]",
                crate::cli::clap_error_summary(&e)
            )));
        }
    };
    // A bad -o fails before the runs are read, with the same wording as every output flag.
    crate::io::check_output_path("-o", &parsed.output)?;
    let criteria = crate::plan::Criteria::from_flags(
        parsed.min_busbw.as_deref(),
        parsed.min_busbw_size.as_deref(),
        None,
    )?;
    let profile = parsed.profile.as_deref().map(Profile::load).transpose()?;
    let mut lines = Vec::new();
    let mut largest = 0u64;
    let mut setups: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for (paths, dashed) in [(&parsed.runs, false), (&parsed.baselines, true)] {
        for path in paths {
            let loaded = load::read(path)?;
            notes.extend(loaded.notes);
            let runs = loaded.runs;
            let several = runs.len() > 1;
            for (index, run) in runs.iter().enumerate() {
                let mut label = stem(path);
                if several {
                    label.push_str(&format!("#{}", index + 1));
                }
                if dashed {
                    label.push_str(" (baseline)");
                }
                largest = largest.max(run.results.iter().map(|r| r.size_bytes).max().unwrap_or(0));
                let setup = format!("{} ({})", run.collective, run_setup(run));
                if !dashed && !setups.contains(&setup) {
                    setups.push(setup);
                }
                lines.extend(run_lines(run, &label, parsed.placement, dashed));
                if !dashed {
                    lines.extend(verdict_threshold_line(run, &label));
                    if let Some(p) = &profile {
                        lines.extend(profile_threshold_lines(run, &label, p));
                    }
                }
            }
        }
    }
    let floor = criteria
        .min_busbw
        .as_ref()
        .map(|m| (m.gbps, m.effective_min_size(largest)));
    let figure = Figure {
        title: parsed.title.clone().unwrap_or_else(|| {
            format!(
                "collbench: {}, {}",
                setups.join("; "),
                parsed.placement.label()
            )
        }),
        lines,
        floor,
        metric: parsed.metric,
    };
    draw(&figure, &parsed.output, parsed.width, parsed.height)?;
    for note in &notes {
        writeln!(out, "note: {note}").map_err(|e| CollbenchError::io("standard output", e))?;
    }
    writeln!(out, "wrote {}", parsed.output.display())
        .map_err(|e| CollbenchError::io("standard output", e))
}

#[cfg(test)]
mod command_line_tests {
    use super::*;

    #[test]
    fn a_missing_argument_is_named() {
        let args: Vec<String> = ["run.json"].iter().map(|s| s.to_string()).collect();
        let err = command(&args, &mut Vec::new()).unwrap_err();
        assert_eq!(err.exit_code(), 6);
        let msg = err.to_string();
        assert!(msg.contains("not provided: --output <FILE>"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}
