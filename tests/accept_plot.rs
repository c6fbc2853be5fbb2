//! `collbench plot`: PNG and SVG with an embedded font, log2 size axis, baselines dashed,
//! thresholds in red.

mod accept_support;

use accept_support::*;
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

fn run(args: &[&str]) -> collbench::Result<String> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    command(&args, &mut out).map(|_| String::from_utf8(out).unwrap())
}

#[test]
fn svg_has_runs_baselines_dashed_thresholds_and_log2_size_labels() {
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
    let decoder = png::Decoder::new(std::fs::File::open(&png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
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
