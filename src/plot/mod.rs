//! `collbench plot RUN [RUN2 …] -o FILE.png|svg` (each RUN a -J, --jsonl or nccl-tests/collbench
//! text file): bus bandwidth (and time) against
//! message size on a log2 axis, one line per run and collective (and type/op/root when a run has
//! several), baselines dashed, thresholds drawn in red. The font is compiled in (DejaVu Sans through
//! plotters' ab_glyph), so no system font library is needed.

use crate::compare::load;
use crate::error::{CollbenchError, Result};
use crate::plan::profile::Profile;
use crate::report::verdict::{node_count, CheckKind};
use crate::report::{Report, ResultRow};
use crate::types::size::format_size;
use crate::types::DataType;
use clap::{Parser, ValueEnum};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Metric {
    Busbw,
    Time,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlacementArg {
    OutOfPlace,
    InPlace,
}

#[derive(Parser, Debug)]
#[command(
    name = "collbench plot",
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
    #[arg(long = "metric", value_enum, default_value = "both")]
    pub metric: Metric,
    #[arg(long = "placement", value_enum, default_value = "out-of-place")]
    pub placement: PlacementArg,
    #[arg(long = "title")]
    pub title: Option<String>,
    #[arg(long = "width", default_value_t = 1280, value_parser = clap::value_parser!(u32).range(320..=8192))]
    pub width: u32,
    #[arg(long = "height", default_value_t = 960, value_parser = clap::value_parser!(u32).range(240..=8192))]
    pub height: u32,
}

/// One line of the plot.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub label: String,
    /// (size in bytes, busbw GB/s, time µs), ascending size; sizes of 0 B are left out (log axis).
    pub points: Vec<(u64, f64, f64)>,
    pub dashed: bool,
    /// A threshold (drawn red, busbw panel only).
    pub threshold: bool,
}

/// (collective, dtype, op, root, cycle): one line each.
type GroupKey = (String, DataType, String, i64, usize);

/// Turns runs into lines. `label` names the run (file stem).
pub fn run_lines(report: &Report, label: &str, placement: PlacementArg, dashed: bool) -> Vec<Line> {
    let mut groups: BTreeMap<GroupKey, Vec<&ResultRow>> = BTreeMap::new();
    for row in &report.results {
        groups
            .entry((
                row.collective.clone(),
                row.dtype,
                row.redop.clone(),
                row.root,
                row.cycle,
            ))
            .or_default()
            .push(row);
    }
    let distinct = |f: &dyn Fn(&GroupKey) -> String| {
        let mut values: Vec<String> = groups.keys().map(f).collect();
        values.dedup();
        values.sort();
        values.dedup();
        values.len() > 1
    };
    let show_dtype = distinct(&|k| k.1.name().to_string());
    let show_op = distinct(&|k| k.2.clone());
    let show_root = distinct(&|k| k.3.to_string());
    let show_cycle = distinct(&|k| k.4.to_string());
    let mut lines = Vec::new();
    for ((collective, dtype, op, root, cycle), rows) in groups {
        let mut name = format!("{label} {collective}");
        if show_dtype {
            name.push_str(&format!(" {}", dtype.name()));
        }
        if show_op {
            name.push_str(&format!(" {op}"));
        }
        if show_root {
            name.push_str(&format!(" root {root}"));
        }
        if show_cycle {
            name.push_str(&format!(" cycle {cycle}"));
        }
        let mut points: Vec<(u64, f64, f64)> = rows
            .iter()
            .filter(|r| r.size_bytes > 0)
            .filter_map(|r| {
                let m = match placement {
                    PlacementArg::OutOfPlace => r.out_of_place.as_ref(),
                    PlacementArg::InPlace => r.in_place.as_ref(),
                }?;
                Some((r.size_bytes, m.bus_bandwidth_gbps, m.time_us))
            })
            .collect();
        points.sort_by_key(|p| p.0);
        if !points.is_empty() {
            lines.push(Line {
                label: name,
                points,
                dashed,
                threshold: false,
            });
        }
    }
    lines
}

/// The thresholds a run's own verdict applied (min-busbw and profile checks), as one line.
pub fn verdict_threshold_line(report: &Report, label: &str) -> Option<Line> {
    let verdict = report.verdict.as_ref()?;
    let mut points: BTreeMap<u64, f64> = BTreeMap::new();
    for check in &verdict.checks {
        if matches!(check.kind, CheckKind::MinBusbw | CheckKind::Profile) {
            if let Some(size) = check.size_bytes.filter(|&s| s > 0) {
                let entry = points.entry(size).or_insert(check.threshold);
                *entry = entry.max(check.threshold);
            }
        }
    }
    (!points.is_empty()).then(|| Line {
        label: format!("{label} verdict thresholds"),
        points: points.into_iter().map(|(s, t)| (s, t, 0.0)).collect(),
        dashed: true,
        threshold: true,
    })
}

/// A profile's pass thresholds (expected × pass_fraction) for this run's node count.
pub fn profile_threshold_lines(report: &Report, label: &str, profile: &Profile) -> Vec<Line> {
    let nodes = node_count(report) as u32;
    let mut by_collective: BTreeMap<String, BTreeMap<u64, f64>> = BTreeMap::new();
    for row in report.results.iter().filter(|r| r.size_bytes > 0) {
        if let Some(e) = profile.expected(&row.collective, nodes, row.size_bytes, row.dtype) {
            by_collective
                .entry(row.collective.clone())
                .or_default()
                .insert(row.size_bytes, e.busbw_gbps * profile.pass_fraction);
        }
    }
    by_collective
        .into_iter()
        .map(|(collective, points)| Line {
            label: format!(
                "{label} {collective}: {} pass ({nodes} node{})",
                profile.name,
                if nodes == 1 { "" } else { "s" }
            ),
            points: points.into_iter().map(|(s, t)| (s, t, 0.0)).collect(),
            dashed: true,
            threshold: true,
        })
        .collect()
}

fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(CollbenchError::Unsupported(
            "the embedded plot font could not be loaded".into(),
        ))
    }
}

fn plot_error(path: &Path, e: impl std::fmt::Display) -> CollbenchError {
    CollbenchError::io(
        path.display().to_string(),
        std::io::Error::other(e.to_string()),
    )
}

/// What a plot shows.
pub struct Figure {
    pub title: String,
    pub lines: Vec<Line>,
    /// Horizontal floor (GB/s) from this size up.
    pub floor: Option<(f64, u64)>,
    pub metric: Metric,
}

/// Draws `figure` into `path` (.png or .svg, decided by the extension), atomically.
pub fn draw(figure: &Figure, path: &Path, width: u32, height: u32) -> Result<()> {
    register_font()?;
    if figure.lines.iter().all(|l| l.threshold) {
        return Err(CollbenchError::Usage(
            "collbench plot: the runs hold no measured row with a size above 0 B; nothing to plot"
                .into(),
        ));
    }
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = path
        .file_name()
        .ok_or_else(|| CollbenchError::Usage(format!("-o '{}': not a file name", path.display())))?
        .to_string_lossy()
        .into_owned();
    let temp = path.with_file_name(format!(".{name}.tmp.{}.{extension}", std::process::id()));
    let result = match extension.as_str() {
        "png" => {
            let root = BitMapBackend::new(&temp, (width, height)).into_drawing_area();
            render(figure, &root).and_then(|_| root.present().map_err(|e| plot_error(path, e)))
        }
        "svg" => {
            let root = SVGBackend::new(&temp, (width, height)).into_drawing_area();
            render(figure, &root).and_then(|_| root.present().map_err(|e| plot_error(path, e)))
        }
        _ => {
            return Err(CollbenchError::Usage(format!(
                "-o '{}': unknown image type '{extension}'; accepted: a .png or .svg file name",
                path.display()
            )))
        }
    };
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    std::fs::rename(&temp, path).map_err(|e| CollbenchError::io(path.display().to_string(), e))
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];
/// Threshold lines.
pub const THRESHOLD_RED: RGBColor = RGBColor(214, 39, 40);

fn render<DB: DrawingBackend>(figure: &Figure, root: &DrawingArea<DB, Shift>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| {
        CollbenchError::io("plot", std::io::Error::other(e.to_string()))
    };
    root.fill(&WHITE).map_err(err)?;
    let titled = root
        .titled(&figure.title, (FAMILY, 24).into_font())
        .map_err(err)?;
    let (busbw_area, time_area) = match figure.metric {
        Metric::Both => {
            let (_, h) = titled.dim_in_pixel();
            let (a, b) = titled.split_vertically(h * 3 / 5);
            (Some(a), Some(b))
        }
        Metric::Busbw => (Some(titled), None),
        Metric::Time => (None, Some(titled)),
    };
    let measured: Vec<&Line> = figure.lines.iter().filter(|l| !l.threshold).collect();
    let all_sizes = figure
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0));
    let (min_size, max_size) = all_sizes.fold((u64::MAX, 0), |(lo, hi), s| (lo.min(s), hi.max(s)));
    let x_lo = (min_size as f64).log2().floor();
    let x_hi = (max_size as f64).log2().ceil().max(x_lo + 1.0);
    let x_label = |x: &f64| format_size(2f64.powf(x.round()) as u64);
    let color_of = |i: usize| COLORS[i % COLORS.len()];

    if let Some(area) = busbw_area {
        let y_hi = figure
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .chain(figure.floor.map(|f| f.0))
            .fold(0.0f64, f64::max)
            .max(1e-3)
            * 1.1;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_lo..x_hi, 0.0..y_hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("message size (bytes, log2)")
            .y_desc("bus bandwidth (GB/s)")
            .x_labels(((x_hi - x_lo) as usize + 1).min(24))
            .x_label_formatter(&x_label)
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 15))
            .draw()
            .map_err(err)?;
        for (i, line) in figure.lines.iter().enumerate() {
            let color = if line.threshold {
                THRESHOLD_RED
            } else {
                color_of(
                    measured
                        .iter()
                        .position(|m| std::ptr::eq(*m, line))
                        .unwrap_or(i),
                )
            };
            let style = color.stroke_width(if line.threshold { 2 } else { 3 });
            let points: Vec<(f64, f64)> = line
                .points
                .iter()
                .map(|p| ((p.0 as f64).log2(), p.1))
                .collect();
            let anchor = style;
            if line.dashed {
                chart
                    .draw_series(DashedLineSeries::new(points.clone(), 10, 6, style))
                    .map_err(err)?
                    .label(&line.label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], anchor));
            } else {
                chart
                    .draw_series(LineSeries::new(points.clone(), style))
                    .map_err(err)?
                    .label(&line.label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], anchor));
            }
            let marker = color.filled();
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, marker)))
                .map_err(err)?;
        }
        if let Some((gbps, from)) = figure.floor {
            let from_x = (from.max(1) as f64).log2().max(x_lo);
            let style = THRESHOLD_RED.stroke_width(2);
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(from_x, gbps), (x_hi, gbps)],
                    10,
                    6,
                    style,
                ))
                .map_err(err)?
                .label(format!("min-busbw {gbps} GB/s"))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FAMILY, 13))
            .draw()
            .map_err(err)?;
    }

    if let Some(area) = time_area {
        let times: Vec<f64> = measured
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.2))
            .filter(|t| *t > 0.0)
            .collect();
        let t_lo = times.iter().copied().fold(f64::MAX, f64::min).max(1e-3) / 1.5;
        let t_hi = times.iter().copied().fold(0.0, f64::max).max(t_lo * 10.0) * 1.5;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_lo..x_hi, (t_lo..t_hi).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("message size (bytes, log2)")
            .y_desc("time per operation (us, log)")
            .x_labels(((x_hi - x_lo) as usize + 1).min(24))
            .x_label_formatter(&x_label)
            .label_style((FAMILY, 13))
            .axis_desc_style((FAMILY, 15))
            .draw()
            .map_err(err)?;
        for (i, line) in measured.iter().enumerate() {
            let style = color_of(i).stroke_width(3);
            let points: Vec<(f64, f64)> = line
                .points
                .iter()
                .filter(|p| p.2 > 0.0)
                .map(|p| ((p.0 as f64).log2(), p.2))
                .collect();
            if line.dashed {
                chart
                    .draw_series(DashedLineSeries::new(points, 10, 6, style))
                    .map_err(err)?;
            } else {
                chart
                    .draw_series(LineSeries::new(points, style))
                    .map_err(err)?;
            }
        }
    }
    Ok(())
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
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
            let _ = write!(out, "{e}");
            return Ok(());
        }
        Err(e) => {
            return Err(CollbenchError::Usage(format!(
                "collbench plot: {}; accepted: collbench plot RUN.json [RUN2.json …] -o FILE.png|svg [--baseline FILE] [--min-busbw GBPS] [--profile NAME] [--metric busbw|time|both]",
                crate::cli::clap_error_summary(&e)
            )))
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
    let mut collectives: Vec<String> = Vec::new();
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
                if !collectives.contains(&run.collective) {
                    collectives.push(run.collective.clone());
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
                "collbench: {} ({})",
                collectives.join(", "),
                match parsed.placement {
                    PlacementArg::OutOfPlace => "out-of-place",
                    PlacementArg::InPlace => "in-place",
                }
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
