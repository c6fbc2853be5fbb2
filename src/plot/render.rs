//! Drawing a [`Figure`] with plotters: a bus-bandwidth panel (with thresholds and the
//! --min-busbw floor) over a time panel, both on a log2 size axis, every line with markers and a
//! legend sample drawn like the line (dashed or solid).

use super::lines::Line;
use super::Metric;
use crate::error::{CollbenchError, Result};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

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
    /// The --min-busbw floor: GB/s, and the smallest size it applies to.
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
/// The minor grid: a faint grey (plotters' default is twice as dark) so the lines stand out.
pub const MINOR_GRID: RGBAColor = RGBAColor(0, 0, 0, 0.04);
/// Dash and gap of dashed lines, in pixels.
const DASH: (u32, u32) = (10, 6);
/// Legend samples: dashes of a dashed line's sample, (start, end) in pixels from its left end.
pub const LEGEND_DASHES: [(i32, i32); 3] = [(0, 5), (8, 13), (16, 21)];
const LEGEND_WIDTH: i32 = 21;
const MARKER_RADIUS: i32 = 3;

type Drawn<DB> = DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>;

fn drawing_error<DB: DrawingBackend>(e: Drawn<DB>) -> CollbenchError
where
    DB::ErrorType: 'static,
{
    CollbenchError::io("plot", std::io::Error::other(e.to_string()))
}

/// The log2 x range every panel shares: whole powers of two around the sizes.
struct SizeAxis {
    lo: f64,
    hi: f64,
}

impl SizeAxis {
    fn of(lines: &[Line]) -> SizeAxis {
        let sizes = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
        let (min_size, max_size) = sizes.fold((u64::MAX, 0), |(lo, hi), s| (lo.min(s), hi.max(s)));
        let lo = (min_size as f64).log2().floor();
        SizeAxis {
            lo,
            hi: (max_size as f64).log2().ceil().max(lo + 1.0),
        }
    }

    fn labels(&self) -> usize {
        ((self.hi - self.lo) as usize + 1).min(24)
    }
}

fn size_label(x: &f64) -> String {
    crate::types::size::format_size(2f64.powf(x.round()) as u64)
}

/// How a line is drawn: colour, width, dashed or not, markers or not.
#[derive(Clone, Copy)]
struct Pen {
    color: RGBColor,
    width: u32,
    dashed: bool,
    markers: bool,
}

impl Pen {
    fn stroke(&self) -> ShapeStyle {
        self.color.stroke_width(self.width)
    }
}

/// The legend's sample of a line: three strokes, as dashes where the line is dashed (a solid
/// line's strokes touch), and the line's marker (none for thresholds); pixels from its left end.
fn legend_sample(pen: Pen) -> ([(i32, i32); 3], i32, ShapeStyle) {
    let strokes = if pen.dashed {
        LEGEND_DASHES
    } else {
        [(0, 7), (7, 14), (14, LEGEND_WIDTH)]
    };
    if pen.markers {
        (strokes, MARKER_RADIUS, pen.color.filled())
    } else {
        (strokes, 0, pen.color.mix(0.0).filled())
    }
}

/// Draws `points` with `pen` (and its legend entry when `label` is given).
fn draw_line<'a, DB, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    points: Vec<(f64, Y::ValueType)>,
    pen: Pen,
    label: Option<&str>,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    Y: Ranged,
    Y::ValueType: Clone + 'static,
{
    let stroke = pen.stroke();
    let series = if pen.dashed {
        chart.draw_series(DashedLineSeries::new(
            points.clone(),
            DASH.0,
            DASH.1,
            stroke,
        ))
    } else {
        chart.draw_series(LineSeries::new(points.clone(), stroke))
    }
    .map_err(drawing_error::<DB>)?;
    if let Some(label) = label {
        let (strokes, radius, marker) = legend_sample(pen);
        series.label(label).legend(move |at| {
            let dash = |(from, to): (i32, i32)| PathElement::new(vec![(from, 0), (to, 0)], stroke);
            EmptyElement::at(at)
                + dash(strokes[0])
                + dash(strokes[1])
                + dash(strokes[2])
                + Circle::new((LEGEND_WIDTH / 2, 0), radius, marker)
        });
    }
    if pen.markers {
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, MARKER_RADIUS as u32, pen.color.filled())),
            )
            .map_err(drawing_error::<DB>)?;
    }
    Ok(())
}

/// The x span of the floor: from the first measured size it applies to up to the largest
/// (half a step either side when that is one size, so it shows), inside the axis. `None` when no
/// measured size is as large as `from`.
pub fn floor_span(sizes: &[u64], from: u64, axis_lo: f64, axis_hi: f64) -> Option<(f64, f64)> {
    let covered: Vec<f64> = sizes
        .iter()
        .filter(|&&s| s >= from.max(1))
        .map(|&s| (s as f64).log2())
        .collect();
    let first = covered.iter().copied().fold(f64::INFINITY, f64::min);
    let last = covered.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if covered.is_empty() {
        return None;
    }
    let (first, last) = if last - first < 0.5 {
        (first - 0.5, last + 0.5)
    } else {
        (first, last)
    };
    Some((first.max(axis_lo), last.min(axis_hi)))
}

fn pen_of(line: &Line, color: RGBColor) -> Pen {
    Pen {
        color: if line.threshold { THRESHOLD_RED } else { color },
        width: if line.threshold { 2 } else { 3 },
        dashed: line.dashed,
        markers: !line.threshold,
    }
}

/// One panel's chart on `area`: the shared size axis, `y` as given, a faint minor grid.
fn panel<'a, DB, Y>(
    area: &'a DrawingArea<DB, Shift>,
    axis: &SizeAxis,
    y: Y,
    y_desc: &str,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y::CoordDescType>>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: AsRangedCoord,
    Y::CoordDescType: ValueFormatter<Y::Value>,
{
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(axis.lo..axis.hi, y)
        .map_err(drawing_error::<DB>)?;
    chart
        .configure_mesh()
        .x_desc("message size (bytes, log2)")
        .y_desc(y_desc)
        .x_labels(axis.labels())
        .x_label_formatter(&size_label)
        .x_max_light_lines(1)
        .y_max_light_lines(4)
        .light_line_style(MINOR_GRID)
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 15))
        .draw()
        .map_err(drawing_error::<DB>)?;
    Ok(chart)
}

fn busbw_panel<DB: DrawingBackend>(
    figure: &Figure,
    area: &DrawingArea<DB, Shift>,
    axis: &SizeAxis,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let y_hi = figure
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(figure.floor.map(|f| f.0))
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.1;
    let mut chart = panel(area, axis, 0.0..y_hi, "bus bandwidth (GB/s)")?;
    let mut measured = 0;
    for line in &figure.lines {
        let pen = pen_of(line, COLORS[measured % COLORS.len()]);
        measured += usize::from(!line.threshold);
        let points = line
            .points
            .iter()
            .map(|p| ((p.0 as f64).log2(), p.1))
            .collect();
        draw_line(&mut chart, points, pen, Some(&line.label))?;
    }
    if let Some((gbps, from)) = figure.floor {
        let sizes: Vec<u64> = figure
            .lines
            .iter()
            .filter(|l| !l.threshold)
            .flat_map(|l| l.points.iter().map(|p| p.0))
            .collect();
        let pen = Pen {
            color: THRESHOLD_RED,
            width: 2,
            dashed: true,
            markers: false,
        };
        let label = format!(
            "min-busbw {gbps} GB/s (sizes >= {})",
            crate::types::size::format_size(from)
        );
        let points = floor_span(&sizes, from, axis.lo, axis.hi)
            .map(|(a, b)| vec![(a, gbps), (b, gbps)])
            .unwrap_or_default();
        draw_line(&mut chart, points, pen, Some(&label))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 13))
        .draw()
        .map_err(drawing_error::<DB>)
}

fn time_panel<DB: DrawingBackend>(
    figure: &Figure,
    area: &DrawingArea<DB, Shift>,
    axis: &SizeAxis,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let measured: Vec<&Line> = figure.lines.iter().filter(|l| !l.threshold).collect();
    let times: Vec<f64> = measured
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.2))
        .filter(|t| *t > 0.0)
        .collect();
    let t_lo = times.iter().copied().fold(f64::MAX, f64::min).max(1e-3) / 1.5;
    let t_hi = times.iter().copied().fold(0.0, f64::max).max(t_lo * 10.0) * 1.5;
    let mut chart = panel(
        area,
        axis,
        (t_lo..t_hi).log_scale(),
        "time per operation (us, log)",
    )?;
    for (i, line) in measured.iter().enumerate() {
        let points = line
            .points
            .iter()
            .filter(|p| p.2 > 0.0)
            .map(|p| ((p.0 as f64).log2(), p.2))
            .collect();
        draw_line(
            &mut chart,
            points,
            pen_of(line, COLORS[i % COLORS.len()]),
            None,
        )?;
    }
    Ok(())
}

fn render<DB: DrawingBackend>(figure: &Figure, root: &DrawingArea<DB, Shift>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(drawing_error::<DB>)?;
    let titled = root
        .titled(&figure.title, (FAMILY, 24).into_font())
        .map_err(drawing_error::<DB>)?;
    let axis = SizeAxis::of(&figure.lines);
    match figure.metric {
        Metric::Both => {
            let (_, h) = titled.dim_in_pixel();
            let (busbw, time) = titled.split_vertically(h * 3 / 5);
            busbw_panel(figure, &busbw, &axis)?;
            time_panel(figure, &time, &axis)
        }
        Metric::Busbw => busbw_panel(figure, &titled, &axis),
        Metric::Time => time_panel(figure, &titled, &axis),
    }
}
