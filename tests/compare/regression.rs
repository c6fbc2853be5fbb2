//! `collbench compare`: noise-aware regression check between two result files.

use crate::support::accept::*;
use collbench::compare::{self, command, compare, Status};
use collbench::error::exit;
use collbench::report::Report;
use collbench::sinks::jsonl::JsonlSink;
use collbench::sinks::Sink;

fn base() -> Report {
    report("all_reduce", &["a", "b"], 8, &seeds_p5_two_nodes())
}

/// The same run with busbw at `size` scaled by `factor` (time scaled by 1/factor).
fn scaled(r: &Report, size: u64, factor: f64) -> Report {
    let mut out = r.clone();
    for row in out.results.iter_mut().filter(|row| row.size_bytes == size) {
        for m in [&mut row.out_of_place, &mut row.in_place]
            .into_iter()
            .flatten()
        {
            m.bus_bandwidth_gbps *= factor;
            m.algbw_gbps *= factor;
            m.time_us /= factor;
            m.ranks.time_us_min /= factor;
            m.ranks.time_us_avg /= factor;
            m.ranks.time_us_max /= factor;
        }
    }
    out
}

fn with_cv(r: &Report, cv: f64) -> Report {
    let mut out = r.clone();
    for row in &mut out.results {
        for m in [&mut row.out_of_place, &mut row.in_place]
            .into_iter()
            .flatten()
        {
            m.per_iteration = Some(collbench::report::IterStats {
                samples: 20,
                min_us: m.time_us * 0.8,
                max_us: m.time_us * 1.2,
                p50_us: m.time_us,
                p99_us: m.time_us * 1.2,
                cv_percent: cv,
                avg_us: m.time_us,
                p95_us: m.time_us * 1.15,
                stdev_us: m.time_us * cv / 100.0,
                ..Default::default()
            });
        }
    }
    out
}

const GIB: u64 = 1 << 30;

#[test]
fn a_drop_beyond_tolerance_and_noise_is_a_regression() {
    let _machine = crate::support::process::machine_shared();
    let b = base();
    let c = compare(&b, &b, 5.0).unwrap();
    assert!(!c.failed());
    assert_eq!(c.count(Status::Unchanged), 14);

    let slower = scaled(&b, GIB, 0.90);
    let c = compare(&b, &slower, 5.0).unwrap();
    assert!(c.failed());
    let regressed: Vec<_> = c
        .deltas
        .iter()
        .filter(|d| d.status == Status::Regressed)
        .collect();
    assert_eq!(regressed.len(), 2, "{c:#?}");
    assert!(regressed.iter().all(|d| d.key.size_bytes == GIB));
    assert!((regressed[0].change.unwrap() + 0.10).abs() < 1e-9);
    // The fixture has no repeat information (no samples, -I or -N): its spread across ranks is
    // no noise measurement (ranks finish a collective together), so the noise is unknown and the
    // effect threshold alone decides.
    assert_eq!(regressed[0].noise, None);
    assert_eq!(regressed[0].noise_source, compare::NoiseSource::Unknown);
    let text = compare::render_text(&c, "base.json", "new.json");
    assert!(text.contains("noise unknown for 14 rows"), "{text}");
    assert!(!text.contains("±0.0%"), "{text}");

    // 3% is inside a 5% tolerance; a 12% tolerance hides the 10% drop.
    assert!(!compare(&b, &scaled(&b, GIB, 0.97), 5.0).unwrap().failed());
    assert!(!compare(&b, &slower, 12.0).unwrap().failed());
    // Faster is reported, never a failure.
    let c = compare(&b, &scaled(&b, GIB, 1.2), 5.0).unwrap();
    assert_eq!(c.count(Status::Improved), 2);
    assert!(!c.failed());
}

#[test]
fn a_drop_the_runs_own_spread_explains_is_not_a_regression() {
    let _machine = crate::support::process::machine_shared();
    let b = with_cv(&base(), 8.0);
    let slower = with_cv(&scaled(&base(), GIB, 0.90), 8.0);
    let c = compare(&b, &slower, 5.0).unwrap();
    assert!(!c.failed(), "{c:#?}");
    assert_eq!(c.count(Status::WithinNoise), 2);
    // Quiet runs (cv 1%) with the same drop: a regression.
    let c = compare(
        &with_cv(&base(), 1.0),
        &with_cv(&scaled(&base(), GIB, 0.90), 1.0),
        5.0,
    )
    .unwrap();
    assert_eq!(c.count(Status::Regressed), 2);
    // -N cycles that disagree by ±15% also widen the allowance.
    let mut cycles = base();
    let mut second = scaled(&base(), GIB, 0.74).results;
    for r in &mut second {
        r.cycle = 1;
    }
    cycles.results.extend(second);
    let c = compare(&cycles, &scaled(&base(), GIB, 0.80), 5.0).unwrap();
    let at_gib = c.deltas.iter().find(|d| d.key.size_bytes == GIB).unwrap();
    assert_eq!(at_gib.status, Status::WithinNoise, "{at_gib:?}");
}

/// The same run where every measurement at `size` recorded a run-queue wait summing to
/// `total_percent` of its timed loop (rank 1 the longest, at `total_percent` × 0.6).
fn waited(r: &Report, size: u64, total_percent: f64) -> Report {
    let mut out = r.clone();
    for row in out.results.iter_mut().filter(|row| row.size_bytes == size) {
        for m in [&mut row.out_of_place, &mut row.in_place]
            .into_iter()
            .flatten()
        {
            m.run_queue_wait = Some(collbench::report::RunQueueWait {
                rank: 1,
                max_percent: total_percent * 0.6,
                total_percent,
            });
        }
    }
    out
}

#[test]
fn a_drop_the_ranks_wait_for_a_cpu_explains_is_not_judged() {
    let _machine = crate::support::process::machine_shared();
    let b = base();
    // 40% slower while rank 1 waited 30% of the loop for a CPU: the time is partly another
    // program's, so the row is busy, not a regression, and the command exits 0.
    let busy = waited(&scaled(&b, GIB, 0.60), GIB, 50.0);
    let c = compare(&b, &busy, 5.0).unwrap();
    assert_eq!(c.count(Status::Busy), 2, "{c:#?}");
    assert_eq!(c.count(Status::Regressed), 0);
    assert!(!c.failed());
    let text = compare::render_text(&c, "base.json", "new.json");
    assert!(
        text.contains(
            "busy: 2 rows slower while a rank waited for a CPU 10% of the timed loop or more, \
                 or as much of it as the drop"
        ) && text.contains("rank 1 waited 30% of the 1073741824 B out_of_place loop"),
        "{text}"
    );
    assert!(text.contains(", 2 not judged (busy))\n"), "{text}");
    assert!(text.contains("  busy\n"), "{text}");
    // A short wait (rank 1: 9% of the loop) leaves the drop judged.
    let c = compare(&b, &waited(&scaled(&b, GIB, 0.60), GIB, 15.0), 5.0).unwrap();
    assert_eq!(c.count(Status::Regressed), 2, "{c:#?}");
    assert_eq!(c.count(Status::Busy), 0);
    // A short wait (9% of the loop) explains a drop no larger than itself: 8% slower is busy,
    // 10% slower is judged.
    let c = compare(&b, &waited(&scaled(&b, GIB, 0.92), GIB, 15.0), 5.0).unwrap();
    assert_eq!(c.count(Status::Busy), 2, "{c:#?}");
    let c = compare(&b, &waited(&scaled(&b, GIB, 0.90), GIB, 15.0), 5.0).unwrap();
    assert_eq!(c.count(Status::Regressed), 2, "{c:#?}");
    // A wait at another size explains nothing here.
    let c = compare(&b, &waited(&scaled(&b, GIB, 0.60), 8, 50.0), 5.0).unwrap();
    assert_eq!(c.count(Status::Regressed), 2);
    // Without a busy row the summary reads as before.
    let text = compare::render_text(&c, "base.json", "new.json");
    assert!(!text.contains("busy"), "{text}");
}

#[test]
fn missing_rows_fail_new_rows_do_not_and_rank_counts_must_match() {
    let _machine = crate::support::process::machine_shared();
    let b = base();
    let mut fewer = b.clone();
    fewer.results.pop();
    let c = compare(&b, &fewer, 5.0).unwrap();
    assert_eq!(c.count(Status::Missing), 2);
    assert!(c.failed());
    let c = compare(&fewer, &b, 5.0).unwrap();
    assert_eq!(c.count(Status::New), 2);
    assert!(!c.failed());
    let other = report(
        "all_reduce",
        &["a", "b", "c", "d"],
        8,
        &seeds_p5_two_nodes(),
    );
    let err = compare(&b, &other, 5.0).unwrap_err();
    assert_eq!(err.exit_code(), exit::USAGE);
    assert!(
        err.to_string().contains("16 ranks and the new run 32"),
        "{err}"
    );
    for bad in [-1.0, 100.0, f64::NAN] {
        assert_eq!(compare(&b, &b, bad).unwrap_err().exit_code(), exit::USAGE);
    }
}

#[test]
fn the_command_reads_json_and_jsonl_prints_text_or_markdown_and_exits_7() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let base_path = dir.path().join("baseline.json");
    std::fs::write(&base_path, serde_json::to_string_pretty(&base()).unwrap()).unwrap();
    // The new run as the --jsonl file of a run that was killed after all rows (no end record).
    let new_path = dir.path().join("new.jsonl");
    let slower = scaled(&base(), 4 * GIB, 0.8);
    let mut sink = JsonlSink::open(&new_path).unwrap();
    sink.begin(&slower).unwrap();
    for row in &slower.results {
        sink.row(&slower, row).unwrap();
    }
    let args = |extra: &[&str]| -> Vec<String> {
        [base_path.to_str().unwrap(), new_path.to_str().unwrap()]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };
    let mut out = Vec::new();
    let err = command(&args(&[]), &mut out).unwrap_err();
    assert_eq!(err.exit_code(), exit::WRONG_OR_FAILED);
    assert!(
        err.to_string()
            .contains("all_reduce 4294967296 B float out_of_place: -20.0%"),
        "{err}"
    );
    let text = String::from_utf8(out).unwrap();
    println!("{text}");
    assert!(text.contains("# baseline: "), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("4294967296") && l.contains("out_of_place"))
        .unwrap();
    assert!(
        line.contains("465.87")
            && line.contains("372.70")
            && line.contains("-20.0%")
            && line.ends_with("REGRESSION"),
        "{line}"
    );
    assert!(
        text.contains("# Result: REGRESSION (2 regressions, 0 missing"),
        "{text}"
    );

    let mut out = Vec::new();
    command(&args(&["--markdown", "--tolerance", "25"]), &mut out).unwrap();
    let md = String::from_utf8(out).unwrap();
    println!("{md}");
    assert!(md.starts_with("**collbench compare: OK**"), "{md}");
    assert!(md.contains("| collective | size (B) | type |"), "{md}");
    assert!(md.contains("| all_reduce | 4294967296 | float | sum | -1 | out_of_place | 465.87 | 372.70 | -20.0% |"), "{md}");

    for (bad, wanted) in [
        (vec!["only-one.json"], "collbench compare:"),
        (
            vec![base_path.to_str().unwrap(), "/nonexistent.json"],
            "/nonexistent.json",
        ),
        (
            vec![
                base_path.to_str().unwrap(),
                base_path.to_str().unwrap(),
                "--tolerance",
                "x",
            ],
            "--tolerance",
        ),
    ] {
        let bad: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
        let err = command(&bad, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains(wanted), "{err}");
    }

    // `collbench compare … | head`: the reader going away does not turn the regression's exit 7
    // into an I/O error (exit 1).
    let piped = std::process::Command::new("timeout")
        .args([
            "60",
            "bash",
            "-c",
            r#""$0" "$@" | true; exit "${PIPESTATUS[0]}""#,
        ])
        .arg(env!("CARGO_BIN_EXE_collbench"))
        .arg("compare")
        .args(args(&[]))
        .output()
        .unwrap();
    assert_eq!(
        piped.status.code(),
        Some(exit::WRONG_OR_FAILED),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
}

#[test]
fn malformed_result_files_are_rejected_with_the_file_and_field() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let good = serde_json::to_value(base()).unwrap();
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        (
            "schema",
            {
                let mut v = good.clone();
                v["schema_version"] = 99.into();
                v
            },
            "schema_version 99",
        ),
        (
            "negative",
            {
                let mut v = good.clone();
                v["results"][2]["in_place"]["time_us"] = (-4.0).into();
                v
            },
            "results[2] (1073741824 B): time_us = -4",
        ),
        (
            "zero",
            {
                let mut v = good.clone();
                v["results"][0]["out_of_place"]["time_us"] = 0.0.into();
                v
            },
            "must be more than 0",
        ),
        (
            "spread",
            {
                let mut v = good.clone();
                v["results"][1]["out_of_place"]["ranks"]["time_us_min"] = 1e12.into();
                v
            },
            "exceeds ranks.time_us_max",
        ),
        (
            "type",
            {
                let mut v = good.clone();
                v["results"][0]["dtype"] = "float128".into();
                v
            },
            "not a collbench JSON report",
        ),
        (
            "empty",
            {
                let mut v = good.clone();
                v["results"][0]["out_of_place"] = serde_json::Value::Null;
                v["results"][0]["in_place"] = serde_json::Value::Null;
                v
            },
            "neither out_of_place nor in_place",
        ),
        (
            "wait",
            {
                let mut v = good.clone();
                v["results"][1]["in_place"]["run_queue_wait"] =
                    serde_json::json!({"rank": 1, "max_percent": 140.0, "total_percent": 150.0});
                v
            },
            "run_queue_wait.max_percent = 140 is not a percentage from 0 to 100",
        ),
        (
            "wait_total",
            {
                let mut v = good.clone();
                v["results"][1]["in_place"]["run_queue_wait"] =
                    serde_json::json!({"rank": 1, "max_percent": 40.0, "total_percent": 20.0});
                v
            },
            "run_queue_wait.total_percent = 20 is not a finite number >= max_percent (40)",
        ),
    ];
    for (name, value, wanted) in cases {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, value.to_string()).unwrap();
        let err = compare::load::load_one(&path).unwrap_err();
        assert_eq!(err.exit_code(), exit::USAGE, "{name}");
        let msg = err.to_string();
        assert!(
            msg.contains(&path.display().to_string()) && msg.contains(wanted),
            "{name}: {msg}"
        );
    }
    for garbage in [
        "",
        "not json",
        "[1,2]",
        "{\"record\":\"row\"}\n{}",
        "\u{0}\u{1}",
    ] {
        let path = dir.path().join("g.json");
        std::fs::write(&path, garbage).unwrap();
        assert!(compare::load::load_one(&path).is_err(), "{garbage:?}");
    }
}

#[test]
fn a_jsonl_file_that_an_accept_pairwise_run_wrote_first_is_still_read() {
    let _machine = crate::support::process::machine_shared();
    // `accept --pairwise --jsonl F`, `accept --bisect --jsonl F`, then a sweep with `--jsonl F`:
    // the isolation records (written by serde_json with their keys in alphabetical order,
    // `record` not first) come first.
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared.jsonl");
    std::fs::write(
        &shared,
        "{\"busbw_gbps\":6.2,\"hosts\":[\"a\",\"b\"],\"passed\":true,\"record\":\"pair\",\"round\":1,\
         \"run_id\":\"t/pairwise/1\",\"threshold_gbps\":1.0,\"wrong\":0}\n\
         {\"busbw_gbps\":6.1,\"hosts\":[\"a\",\"b\",\"c\"],\"passed\":true,\"record\":\"group\",\
         \"round\":1,\"run_id\":\"t/bisect/2\",\"threshold_gbps\":1.0,\"wrong\":0}\n\
         {\"kind\":\"collbench-pairwise\",\"passed\":true,\"record\":\"bisect\",\"run_id\":\"t/bisect/2\",\
         \"search\":\"bisect\"}\n",
    )
    .unwrap();
    let run = base();
    let mut sink = JsonlSink::open(&shared).unwrap();
    sink.begin(&run).unwrap();
    for row in &run.results {
        sink.row(&run, row).unwrap();
    }
    sink.finish(&run).unwrap();
    let runs = compare::load::load_runs(&shared).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].results.len(), run.results.len());
    let base_path = dir.path().join("baseline.json");
    std::fs::write(&base_path, serde_json::to_string_pretty(&run).unwrap()).unwrap();
    let args: Vec<String> = [&base_path, &shared]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    command(&args, &mut Vec::new()).unwrap();
}

#[test]
fn a_run_appended_after_one_that_died_mid_write_keeps_both_readable() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.jsonl");
    let first = base();
    let mut sink = JsonlSink::open(&path).unwrap();
    sink.begin(&first).unwrap();
    sink.row(&first, &first.results[0]).unwrap();
    drop(sink);
    // The process died in the middle of its second row record (no newline).
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"{\"record\":\"row\",\"run_id\":\"x\",\"row\":{\"collective\":\"all_re")
        .unwrap();
    // The rerun appends to the same file.
    let mut second = base();
    second.start_time = "2026-01-02T00:00:00Z".into();
    let mut sink = JsonlSink::open(&path).unwrap();
    sink.begin(&second).unwrap();
    for row in &second.results {
        sink.row(&second, row).unwrap();
    }
    sink.finish(&second).unwrap();
    let runs = compare::load::load_runs(&path).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].results.len(), 1);
    assert!(!runs[0].complete);
    assert_eq!(runs[1].results.len(), second.results.len());
    assert!(runs[1].complete);
    // A bad line that no new run follows is still an error naming it.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let broken = format!("{}\nnot json\n{}\n", lines[0], lines[1]);
    let err = collbench::sinks::jsonl::parse_runs(&broken, "broken.jsonl").unwrap_err();
    assert!(err.to_string().contains("broken.jsonl:2:"), "{err}");
}

#[test]
fn jsonl_to_a_device_or_pipe_is_not_an_error() {
    let _machine = crate::support::process::machine_shared();
    // fsync is refused (EINVAL) on character devices and pipes: `--jsonl /dev/stdout` streams.
    let run = base();
    let mut sink = JsonlSink::open(std::path::Path::new("/dev/null")).unwrap();
    sink.begin(&run).unwrap();
    sink.row(&run, &run.results[0]).unwrap();
    sink.finish(&run).unwrap();
}

#[test]
fn an_accept_pairwise_report_given_to_compare_is_named_as_such() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let pairwise_json = dir.path().join("pairwise.json");
    std::fs::write(
        &pairwise_json,
        "{\n  \"kind\": \"collbench-pairwise\",\n  \"schema_version\": 1,\n  \"backend\": \"mpi\",\n  \"hosts\": []\n}\n",
    )
    .unwrap();
    let err = compare::load::load_runs(&pairwise_json).unwrap_err();
    assert_eq!(err.exit_code(), exit::USAGE);
    assert!(
        err.to_string()
            .contains("pairwise.json: is the JSON report of `collbench accept --pairwise`"),
        "{err}"
    );
    let pairwise_jsonl = dir.path().join("pairwise.jsonl");
    std::fs::write(
        &pairwise_jsonl,
        "{\"busbw_gbps\":6.2,\"hosts\":[\"a\",\"b\"],\"passed\":true,\"record\":\"pair\",\"round\":1}\n",
    )
    .unwrap();
    let err = compare::load::load_runs(&pairwise_jsonl).unwrap_err();
    assert!(
        err.to_string()
            .contains("pairwise.jsonl: holds only records of `collbench accept --pairwise`"),
        "{err}"
    );
    let bisect_jsonl = dir.path().join("bisect.jsonl");
    std::fs::write(
        &bisect_jsonl,
        "{\"busbw_gbps\":6.2,\"hosts\":[\"a\",\"b\",\"c\"],\"passed\":true,\"record\":\"group\",\"round\":1}\n",
    )
    .unwrap();
    let err = compare::load::load_runs(&bisect_jsonl).unwrap_err();
    assert!(
        err.to_string().contains(
            "bisect.jsonl: holds only records of `collbench accept --pairwise` or `--bisect`"
        ),
        "{err}"
    );
}

#[test]
fn runs_with_no_row_in_common_are_a_usage_error_not_a_regression() {
    let _machine = crate::support::process::machine_shared();
    let b = base();
    let other_collective = report("all_gather", &["a", "b"], 8, &seeds_p5_two_nodes());
    let err = compare(&b, &other_collective, 5.0).unwrap_err();
    assert_eq!(err.exit_code(), exit::USAGE);
    assert!(
        err.to_string()
            .contains("no (collective, size, type, op, root, placement) row in common")
            && err.to_string().contains("all_gather float sum"),
        "{err}"
    );
    // A new run that measured nothing (killed before its first row) is still every row missing.
    let mut empty = b.clone();
    empty.results.clear();
    let c = compare(&b, &empty, 5.0).unwrap();
    assert!(c.failed());
    assert_eq!(c.count(Status::Missing), c.deltas.len());
}

#[test]
fn small_bandwidths_keep_two_significant_digits_in_the_table() {
    let _machine = crate::support::process::machine_shared();
    // Host-backend runs at small sizes have busbw below 0.01 GB/s: "0.00 → 0.00 -30%" told
    // nothing; the table shows the digits that moved.
    let mut b = base();
    for row in &mut b.results {
        for m in [&mut row.out_of_place, &mut row.in_place]
            .into_iter()
            .flatten()
        {
            m.bus_bandwidth_gbps = 0.0042;
        }
    }
    let slower = scaled(&b, GIB, 0.5);
    let c = compare(&b, &slower, 5.0).unwrap();
    let text = compare::render_text(&c, "base.json", "new.json");
    let gib_row = text
        .lines()
        .find(|l| l.contains(&format!(" {GIB} ")) && l.contains("REGRESSION"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        gib_row.contains("0.0042") && gib_row.contains("0.0021"),
        "{gib_row}"
    );
}
