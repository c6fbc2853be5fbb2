//! `collbench plot`: PNG and SVG with an embedded font, log2 size axis, baselines dashed,
//! thresholds in red.

use crate::support::accept::*;
use collbench::plot::{command, THRESHOLD_RED};
use collbench::verdict::{evaluate, Criteria};
use std::path::{Path, PathBuf};

fn write_runs(dir: &Path) -> (PathBuf, PathBuf) {
    let mut new = report("all_reduce", &["a", "b"], 8, &seeds_p5_two_nodes());
    for row in &mut new.results {
        for m in [&mut row.out_of_place, &mut row.in_place]
            .into_iter()
            .flatten()
        {
            m.bus_bandwidth_gbps *= 0.8;
            m.time_us /= 0.8;
        }
    }
    new.verdict = evaluate(
        &new,
        &Criteria::from_flags(Some("380"), Some("1G"), None).unwrap(),
    );
    let base = report("all_reduce", &["a", "b"], 8, &seeds_p5_two_nodes());
    let new_path = dir.join("night-42.json");
    let base_path = dir.join("p5-baseline.json");
    std::fs::write(&new_path, serde_json::to_string(&new).unwrap()).unwrap();
    std::fs::write(&base_path, serde_json::to_string(&base).unwrap()).unwrap();
    (new_path, base_path)
}

/// The RGB pixels of a PNG and its header.
fn decode_png(path: &Path) -> (Vec<u8>, png::OutputInfo) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    (pixels, info)
}

fn run(args: &[&str]) -> collbench::Result<String> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    command(&args, &mut out).map(|_| String::from_utf8(out).unwrap())
}

#[test]
fn svg_has_runs_baselines_dashed_thresholds_and_log2_size_labels() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let (new, base) = write_runs(dir.path());
    let svg_path = dir.path().join("plot.svg");
    if let Ok(keep) = std::env::var("ACCEPT_PLOT_KEEP") {
        run(&[
            new.to_str().unwrap(),
            "--baseline",
            base.to_str().unwrap(),
            "--profile",
            "p5.48xlarge",
            "--min-busbw",
            "400",
            "-o",
            &keep,
        ])
        .unwrap();
    }
    let said = run(&[
        new.to_str().unwrap(),
        "--baseline",
        base.to_str().unwrap(),
        "--profile",
        "p5.48xlarge",
        "--min-busbw",
        "400",
        "-o",
        svg_path.to_str().unwrap(),
    ])
    .unwrap();
    assert!(said.contains("wrote "), "{said}");
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..100]);
    for label in [
        "night-42 all_reduce",
        "p5-baseline (baseline) all_reduce",
        "night-42 verdict thresholds",
        "p5.48xlarge pass (2 nodes)",
        "min-busbw 400 GB/s",
        "bus bandwidth (GB/s)",
        "time per operation (us, log)",
        "message size (bytes, log2)",
        "\n256M\n",
        "\n1G\n",
        "\n16G\n",
    ] {
        let texts: Vec<&str> = svg
            .split('>')
            .filter_map(|t| t.split('<').next())
            .filter(|t| !t.trim().is_empty())
            .collect();
        assert!(svg.contains(label), "missing {label} in {texts:?}");
    }
    let red = format!(
        "#{:02X}{:02X}{:02X}",
        THRESHOLD_RED.0, THRESHOLD_RED.1, THRESHOLD_RED.2
    );
    let red_strokes = svg.matches(&format!("stroke=\"{red}\"")).count();
    assert!(
        red_strokes > 10,
        "dashed red thresholds are drawn as many segments: {red_strokes}"
    );
    // The baseline is dashed: many short segments in its colour, the run one polyline per panel.
    let baseline_colour = "#2CA02C";
    assert!(
        svg.matches(&format!("stroke=\"{baseline_colour}\""))
            .count()
            > 10
    );
    assert!(dir.path().read_dir().unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".tmp.")));
}

#[test]
fn png_is_written_with_the_embedded_font_and_shows_thresholds() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let (new, _) = write_runs(dir.path());
    let png_path = dir.path().join("plot.png");
    run(&[
        new.to_str().unwrap(),
        "-o",
        png_path.to_str().unwrap(),
        "--metric",
        "busbw",
        "--width",
        "800",
        "--height",
        "600",
    ])
    .unwrap();
    let (pixels, info) = decode_png(&png_path);
    assert_eq!((info.width, info.height), (800, 600));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let count = |c: (u8, u8, u8)| pixels.chunks(3).filter(|p| (p[0], p[1], p[2]) == c).count();
    let red = count((THRESHOLD_RED.0, THRESHOLD_RED.1, THRESHOLD_RED.2));
    let blue = count((31, 119, 180));
    let black = pixels
        .chunks(3)
        .filter(|p| p[0] < 60 && p[1] < 60 && p[2] < 60)
        .count();
    assert!(red > 200, "threshold pixels: {red}");
    assert!(blue > 500, "run line pixels: {blue}");
    assert!(black > 2000, "text and axes pixels: {black}");
}

#[test]
fn bad_plot_requests_are_usage_errors() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let (new, _) = write_runs(dir.path());
    let n = new.to_str().unwrap();
    let out = dir.path().join("x.jpg");
    for (args, wanted) in [
        (
            vec![n, "-o", out.to_str().unwrap()],
            "unknown image type 'jpg'",
        ),
        (vec!["-o", "x.png"], "collbench plot:"),
        (vec![n], "collbench plot:"),
        (
            vec!["/nonexistent.json", "-o", "x.png"],
            "/nonexistent.json",
        ),
        (
            vec![n, "-o", "x.png", "--min-busbw", "fast"],
            "--min-busbw: 'fast'",
        ),
        (
            vec![n, "-o", "x.png", "--profile", "p9"],
            "'p9' is not a profile",
        ),
        (vec![n, "-o", "x.png", "--width", "5"], "collbench plot:"),
        // The output is checked before anything is drawn (was an I/O error from the PNG encoder).
        (
            vec![n, "-o", "/nonexistent-dir/x.png"],
            "directory \"/nonexistent-dir\" does not exist",
        ),
        (vec![n, "-o", "/tmp"], "is a directory"),
    ] {
        let err = run(&args).unwrap_err();
        assert!(err.exit_code() == 6 || err.exit_code() == 1, "{args:?}");
        assert!(err.to_string().contains(wanted), "{args:?}: {err}");
    }
    let mut empty = report("all_reduce", &["a"], 2, &[row(0, 0.0)]);
    empty.results[0].size_bytes = 0;
    let p = dir.path().join("zero.json");
    std::fs::write(&p, serde_json::to_string(&empty).unwrap()).unwrap();
    let err = run(&[
        p.to_str().unwrap(),
        "-o",
        dir.path().join("z.png").to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(err.to_string().contains("nothing to plot"), "{err}");
}

/// 1K … 1M (2^10 … 2^20), no verdict: the only red drawn is the --min-busbw floor.
fn small_sizes_run(dir: &Path) -> PathBuf {
    let rows: Vec<_> = (10..=20)
        .map(|p| row(1u64 << p, 2.0 * (p - 9) as f64))
        .collect();
    let path = dir.join("small.json");
    let run = report("all_reduce", &["a", "b"], 8, &rows);
    std::fs::write(&path, serde_json::to_string(&run).unwrap()).unwrap();
    path
}

/// The points of every polyline drawn in `colour`.
fn polylines(svg: &str, colour: &str) -> Vec<Vec<(f64, f64)>> {
    svg.split("<polyline")
        .skip(1)
        .filter(|p| p.contains(&format!("stroke=\"{colour}\"")))
        .map(|p| {
            let points = p
                .split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            points
                .split_whitespace()
                .map(|xy| {
                    let (x, y) = xy.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

const RED: &str = "#D62728";
const RUN_BLUE: &str = "#1F77B4";

/// The floor's dashes: the red horizontal segments at the y holding most of them (the legend's
/// sample has three), as (leftmost x, rightmost x).
fn floor_extent(svg: &str) -> (f64, f64) {
    let dashes: Vec<Vec<(f64, f64)>> = polylines(svg, RED)
        .into_iter()
        .filter(|p| p.len() == 2 && p[0].1 == p[1].1)
        .collect();
    let mut by_y: std::collections::BTreeMap<i64, Vec<&Vec<(f64, f64)>>> = Default::default();
    for d in &dashes {
        by_y.entry(d[0].1 as i64).or_default().push(d);
    }
    let floor = by_y.values().max_by_key(|v| v.len()).expect("a red floor");
    assert!(
        floor.len() > 3,
        "the floor is more than a legend sample: {floor:?}"
    );
    let xs = floor.iter().flat_map(|d| d.iter().map(|p| p.0));
    let lo = xs.clone().fold(f64::INFINITY, f64::min);
    (lo, xs.fold(f64::NEG_INFINITY, f64::max))
}

/// The run line's first and last x: where 1K and 1M are drawn.
fn run_extent(svg: &str) -> (f64, f64) {
    let line = polylines(svg, RUN_BLUE)
        .into_iter()
        .max_by_key(|p| p.len())
        .unwrap();
    (line[0].0, line.last().unwrap().0)
}

#[test]
fn svg_floor_is_drawn_over_exactly_the_sizes_it_applies_to() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let run_path = small_sizes_run(dir.path());
    let svg_path = dir.path().join("floor.svg");
    let plot = |extra: &[&str]| {
        let mut args = vec![run_path.to_str().unwrap(), "-o", svg_path.to_str().unwrap()];
        args.extend_from_slice(extra);
        run(&args).unwrap();
        std::fs::read_to_string(&svg_path).unwrap()
    };
    // --min-busbw-size 64K: from 2^16 (six of the ten steps from 1K) to 1M.
    let svg = plot(&["--min-busbw", "15", "--min-busbw-size", "64K"]);
    let (left, right) = run_extent(&svg);
    let step = (right - left) / 10.0;
    let (lo, hi) = floor_extent(&svg);
    assert!(
        (lo - (left + 6.0 * step)).abs() <= 2.0,
        "floor starts at {lo}, 64K is at {}",
        left + 6.0 * step
    );
    assert!(
        hi <= right + 1.0 && hi >= right - 16.0,
        "floor ends at {hi}, 1M is at {right}"
    );
    assert!(
        svg.contains("min-busbw 15 GB/s (sizes &gt;= 64K)")
            || svg.contains("min-busbw 15 GB/s (sizes >= 64K)")
    );
    // No size: the floor applies to the largest size only (1G is above the sweep); it is drawn
    // there, half a step wide, not left out.
    let svg = plot(&["--min-busbw", "15"]);
    let (lo, hi) = floor_extent(&svg);
    assert!(
        (lo - (right - step / 2.0)).abs() <= 2.0,
        "floor starts at {lo}, 1M is at {right}"
    );
    assert!(hi <= right + 1.0 && hi >= right - 16.0, "{hi} {right}");
}

#[test]
fn png_floor_pixels_lie_over_the_sizes_it_applies_to() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let run_path = small_sizes_run(dir.path());
    let png_path = dir.path().join("floor.png");
    run(&[
        run_path.to_str().unwrap(),
        "-o",
        png_path.to_str().unwrap(),
        "--metric",
        "busbw",
        "--min-busbw",
        "15",
        "--min-busbw-size",
        "64K",
        "--width",
        "1000",
        "--height",
        "600",
    ])
    .unwrap();
    let (pixels, info) = decode_png(&png_path);
    let width = info.width as usize;
    let at = |x: usize, y: usize| {
        let i = 3 * (y * width + x);
        (pixels[i], pixels[i + 1], pixels[i + 2])
    };
    let xs_of = |colour: (u8, u8, u8)| -> Vec<(usize, usize)> {
        (0..info.height as usize)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .filter(|&(x, y)| at(x, y) == colour)
            .collect()
    };
    // The run line with its markers (radius 3) spans 1K … 1M.
    let blue = xs_of((31, 119, 180));
    let left = blue.iter().map(|p| p.0).min().unwrap() as f64 + 3.0;
    let right = blue.iter().map(|p| p.0).max().unwrap() as f64 - 3.0;
    let red = xs_of((THRESHOLD_RED.0, THRESHOLD_RED.1, THRESHOLD_RED.2));
    // The floor's row: the one with most red pixels (the legend sample has 15 a row).
    let mut per_row = std::collections::BTreeMap::<usize, Vec<usize>>::new();
    for (x, y) in red {
        per_row.entry(y).or_default().push(x);
    }
    let (_, floor) = per_row.iter().max_by_key(|(_, xs)| xs.len()).unwrap();
    assert!(
        floor.len() > 100,
        "floor pixels in its row: {}",
        floor.len()
    );
    let lo = *floor.iter().min().unwrap() as f64;
    let hi = *floor.iter().max().unwrap() as f64;
    let from = left + 0.6 * (right - left);
    assert!(
        (lo - from).abs() <= 3.0,
        "floor from x={lo}, 64K at x={from}"
    );
    assert!(
        hi <= right + 2.0 && hi >= right - 16.0,
        "floor to x={hi}, 1M at x={right}"
    );
}

#[test]
fn legend_samples_match_their_lines_and_both_panels_have_markers() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let (new, base) = write_runs(dir.path());
    let svg_path = dir.path().join("legend.svg");
    let plot = |extra: &[&str]| {
        let mut args = vec![
            new.to_str().unwrap(),
            "--baseline",
            base.to_str().unwrap(),
            "-o",
            svg_path.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(&args).unwrap();
        std::fs::read_to_string(&svg_path).unwrap()
    };
    let svg = plot(&["--min-busbw", "400"]);
    let short = |colour: &str, len: f64| {
        polylines(&svg, colour)
            .iter()
            .filter(|p| p.len() == 2 && p[0].1 == p[1].1 && (p[1].0 - p[0].0 - len).abs() < 0.5)
            .count()
    };
    let dash = (collbench::plot::LEGEND_DASHES[0].1 - collbench::plot::LEGEND_DASHES[0].0) as f64;
    // The dashed baseline's and the dashed floor's samples are three short dashes each; the solid
    // run's sample has none (its strokes touch).
    assert!(
        short("#2CA02C", dash) >= 3,
        "baseline legend sample is not dashed"
    );
    assert!(short(RED, dash) >= 3, "floor legend sample is not dashed");
    assert_eq!(short(RUN_BLUE, dash), 0, "the solid run's sample is dashed");
    // Title and legend name collective, ranks, nodes and backend.
    assert!(
        svg.contains("collbench: all_reduce (16 ranks, 2 nodes, nccl), out_of_place"),
        "title"
    );
    assert!(svg.contains("night-42 all_reduce (16 ranks, 2 nodes, nccl)"));
    // The minor grid is faint, with at most one light line between two size labels.
    assert!(svg.contains("opacity=\"0.04\""));
    assert!(!svg.contains("opacity=\"0.1\""));
    // Markers on the time panel alone: 7 sizes × 2 lines.
    let svg = plot(&["--metric", "time"]);
    let markers = |colour: &str| {
        svg.matches("<circle")
            .zip(svg.split("<circle").skip(1))
            .filter(|(_, c)| c.contains(&format!("fill=\"{colour}\"")) && c.contains("r=\"3\""))
            .count()
    };
    assert_eq!(markers(RUN_BLUE), 7);
    assert_eq!(markers("#2CA02C"), 7);
}

#[test]
fn every_plot_option_is_described_in_help() {
    let _machine = crate::support::process::machine_shared();
    let help = run(&["--help"]).unwrap();
    for (flag, description) in [
        ("--title <TEXT>", "Title above the panels"),
        ("--width <PX>", "Image width in pixels"),
        ("--height <PX>", "Image height in pixels"),
        ("--metric <METRIC>", "Panels to draw"),
        (
            "--placement <PLACEMENT>",
            "Which of each row's two measurements",
        ),
    ] {
        let at = help
            .find(flag)
            .unwrap_or_else(|| panic!("{flag} missing:\n{help}"));
        let entry = &help[at..help[at..].find("\n\n").map_or(help.len(), |e| at + e)];
        assert!(entry.contains(description), "{flag}: {entry}");
    }
}
