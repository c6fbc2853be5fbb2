//! Samples, intervals and the adaptive mode (`--precision`, `--max-time-per-size`,
//! `--time-budget`) under a real `mpirun -np 2`: precise sizes stop early, budgets end the rest,
//! every output (JSON, CSV, JSON Lines) records the samples and the interval, `-I` and `-N` give
//! intervals of their own, `collbench accept` is adaptive by default, bad values are usage
//! errors. Timing bounds are generous (a shared 2-core machine): they tell a budget that works
//! from one that is ignored, not fast from slow.

#![cfg(feature = "mpi")]

use crate::support::process::*;
use crate::support::schema::read_report;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(180);

fn all_reduce(dir: &Path, flags: &[&str]) -> (Finished, Value) {
    let json = dir.join("run.json");
    let mut args = flags.to_vec();
    args.extend(["--collbench-json", json.to_str().unwrap()]);
    let out = run(mpirun(2, "allreduce-perf", &args, &[]), LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    let report = read_report(&json);
    (out, report)
}

fn stopped_by(cell: &Value) -> &str {
    cell["stats"]["precision"]["stopped_by"].as_str().unwrap()
}

#[test]
fn precise_sizes_stop_early_and_every_output_records_samples_and_interval() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("run.csv");
    let jsonl = dir.path().join("run.jsonl");
    // ±50 %: reachable on a busy machine within far less than the 60 s each size may use.
    let (out, report) = all_reduce(
        dir.path(),
        &[
            "-b",
            "8",
            "-e",
            "8K",
            "-f",
            "32",
            "-n",
            "5",
            "--precision",
            "50%",
            "--max-time-per-size",
            "60s",
            "--csv",
            csv.to_str().unwrap(),
            "--jsonl",
            jsonl.to_str().unwrap(),
        ],
    );
    assert!(out.elapsed < Duration::from_secs(60), "{}", out.describe());
    let adaptive = &report["config"]["adaptive"];
    assert_eq!(adaptive["precision_percent"], 50.0);
    assert_eq!(adaptive["max_time_per_size_s"], 60.0);
    assert!(adaptive["time_budget_s"].is_null());
    let cells = cells(&report);
    assert_eq!(cells.len(), 6);
    for (row, side, cell) in &cells {
        let stats = &cell["stats"];
        let what = format!("{} B {side}: {stats}", row["size_bytes"]);
        assert_eq!(stats["unit"], "batch", "{what}");
        assert_eq!(stats["statistic"], "median", "{what}");
        let n = stats["samples"].as_u64().unwrap();
        assert!(n >= 6, "a 95 % interval needs 6 batches: {what}");
        assert_eq!(
            stats["values_us"].as_array().unwrap().len() as u64,
            n,
            "{what}"
        );
        assert!(stats["confidence"].as_f64().unwrap() >= 0.95, "{what}");
        let (low, center, high) = (
            stats["ci_low_us"].as_f64().unwrap(),
            stats["center_us"].as_f64().unwrap(),
            stats["ci_high_us"].as_f64().unwrap(),
        );
        assert!(low <= center && center <= high, "{what}");
        assert!(
            high - center <= center * 0.5 && center - low <= center * 0.5,
            "{what}"
        );
        // The reported time is the median of the batches (µs → s → µs: equal to rounding).
        let time = cell["time_us"].as_f64().unwrap();
        assert!((time - center).abs() <= center * 1e-12, "{what}");
        assert_eq!(stopped_by(cell), "precision", "{what}");
        assert_eq!(stats["precision"]["reached"], true, "{what}");
        assert_eq!(stats["precision"]["batches"].as_u64().unwrap(), n, "{what}");
    }

    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6);
    for row in &rows {
        assert_eq!(row[column("stats_unit")], "batch");
        assert_eq!(row[column("precision_reached")], "true");
        assert_eq!(row[column("precision_stopped_by")], "precision");
        // Both as the text table prints them (two decimals): the same number.
        assert_eq!(
            row[column("stats_center_us")],
            row[column("time_us")],
            "{row:?}"
        );
        assert!(row[column("stats_samples")].parse::<u64>().unwrap() >= 6);
    }

    let records: Vec<Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rows: Vec<&Value> = records.iter().filter(|r| r["record"] == "row").collect();
    assert_eq!(rows.len(), 3);
    for row in rows {
        assert_eq!(row["row"]["in_place"]["stats"]["unit"], "batch");
        assert!(row["row"]["out_of_place"]["stats"]["ci_high_us"].is_f64());
    }
    assert_eq!(
        records[0]["report"]["config"]["adaptive"]["precision_percent"],
        50.0
    );
}

#[test]
fn budgets_end_the_batches_of_sizes_that_cannot_reach_the_target() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    // A target no run reaches: each size stops on its 0.4 s (out of place on half of it). Batches
    // of -n 100 take long enough that the 10000-batch cap cannot come first.
    let (out, report) = all_reduce(
        dir.path(),
        &[
            "-b",
            "8",
            "-e",
            "8K",
            "-f",
            "32",
            "-n",
            "100",
            "--precision",
            "0.0001",
            "--max-time-per-size",
            "400ms",
        ],
    );
    assert!(out.elapsed < Duration::from_secs(40), "{}", out.describe());
    for (_, _, cell) in cells(&report) {
        assert_eq!(stopped_by(cell), "size_budget", "{cell}");
        assert_eq!(cell["stats"]["precision"]["reached"], false);
        assert!(cell["stats"]["precision"]["batches"].as_u64().unwrap() >= 2);
    }

    // 16 measurements with 60 s each would take 16 minutes; the sweep's 2 s ends them.
    let (out, report) = all_reduce(
        dir.path(),
        &[
            "-b",
            "8",
            "-e",
            "1K",
            "-f",
            "2",
            "-n",
            "100",
            "--precision",
            "0.0001",
            "--max-time-per-size",
            "60s",
            "--time-budget",
            "2s",
        ],
    );
    assert!(out.elapsed < Duration::from_secs(60), "{}", out.describe());
    assert_eq!(report["config"]["adaptive"]["time_budget_s"], 2.0);
    let cells = cells(&report);
    assert_eq!(cells.len(), 16);
    for (_, _, cell) in cells {
        assert_eq!(stopped_by(cell), "sweep_budget", "{cell}");
    }
}

#[test]
fn per_iteration_and_cycles_give_intervals_without_precision() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let (_, report) = all_reduce(
        dir.path(),
        &["-b", "8", "-e", "8", "-n", "10", "-I", "1", "-K", "2"],
    );
    assert!(report["config"].get("adaptive").is_none());
    for (_, _, cell) in cells(&report) {
        let stats = &cell["stats"];
        assert_eq!(stats["unit"], "iteration", "{stats}");
        assert_eq!(stats["samples"], 8, "-n 10 minus -K 2: {stats}");
        assert!(stats.get("precision").is_none());
        // Each sample is the slowest rank's iteration, as in per_iteration.times_us.
        let times = cell["per_iteration"]["times_us"].as_array().unwrap();
        assert_eq!(stats["values_us"].as_array().unwrap()[..], times[2..]);
    }

    let (_, report) = all_reduce(dir.path(), &["-b", "8", "-e", "64", "-f", "8", "-N", "3"]);
    for (row, side, cell) in cells(&report) {
        let cycle = row["cycle"].as_u64().unwrap();
        if cycle == 0 {
            assert!(cell.get("stats").is_none(), "one cycle, one batch: {cell}");
            continue;
        }
        let stats = &cell["stats"];
        assert_eq!(stats["unit"], "cycle", "{stats}");
        assert_eq!(
            stats["samples"].as_u64().unwrap(),
            cycle + 1,
            "{side}: {stats}"
        );
    }

    // nccl-tests' fixed -n: one sample, no interval.
    let (_, report) = all_reduce(dir.path(), &["-b", "8", "-e", "8"]);
    for (_, _, cell) in cells(&report) {
        assert!(cell.get("stats").is_none(), "{cell}");
    }
}

#[test]
fn accept_is_adaptive_unless_told_otherwise() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("accept.json");
    let json_arg = json.to_str().unwrap();
    let base = [
        "accept",
        "-b",
        "8",
        "-e",
        "8",
        "--backend",
        "mpi",
        "--collbench-json",
        json_arg,
    ];
    let out = run(mpirun(2, "collbench", &base, &[]), LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    let report = read_report(&json);
    let adaptive = &report["config"]["adaptive"];
    assert_eq!(adaptive["precision_percent"], 1.0, "{adaptive}");
    assert_eq!(adaptive["max_time_per_size_s"], 2.0, "{adaptive}");
    for (_, _, cell) in cells(&report) {
        assert!(cell["stats"]["precision"]["batches"].as_u64().unwrap() >= 2);
    }

    let off: Vec<&str> = base.iter().copied().chain(["--precision", "off"]).collect();
    let out = run(mpirun(2, "collbench", &off, &[]), LIMIT);
    assert_eq!(out.code(), Some(0), "{}", out.describe());
    assert!(read_report(&json)["config"].get("adaptive").is_none());
}

#[test]
fn bad_precision_and_budget_values_are_usage_errors() {
    let cases: [(&[&str], &str); 5] = [
        (&["--precision", "0"], "--precision '0': is outside 0..100 %; accepted: a percentage"),
        (&["--precision", "1", "--max-time-per-size", "2 weeks"], "--max-time-per-size '2 weeks': has the unknown unit 'weeks'; accepted: a time above 0"),
        (&["--time-budget", "60s"], "--time-budget '60s': a budget for the batches of --precision, which is not given; accepted: add --precision PCT"),
        (&["--precision", "1%", "--time-budget", "0s"], "--time-budget '0s': is not above 0"),
        (&["--precision", "1%", "--time-budget", "1m", "-N", "0"], "-N 0 runs until interrupted"),
    ];
    for (flags, expected) in cases {
        let out = run(alone("allreduce-perf", flags, &[]), LIMIT);
        assert_eq!(out.code(), Some(6), "{flags:?}: {}", out.describe());
        assert!(
            out.stderr.contains(expected),
            "{flags:?}: {}",
            out.describe()
        );
    }
}

#[test]
fn ctrl_c_ends_the_batches_of_the_measurement_in_progress() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    // An unreachable target, two minutes per size and batches of ~10 ms (10000 of them, the cap,
    // take longer too): only the signal can end the batches soon.
    let args = [
        "-b",
        "1M",
        "-e",
        "2M",
        "-f",
        "2",
        "-n",
        "20",
        "--precision",
        "0.0001",
        "--max-time-per-size",
        "120s",
        "--collbench-json",
        json.to_str().unwrap(),
    ];
    let mut command = mpirun(2, "allreduce-perf", &args, &[]);
    command.env("OMPI_MCA_odls_base_sigkill_timeout", "10");
    let (child, lines, started) = start_until(command, LIMIT, |l| l.contains("(elements)"));
    assert!(
        lines.iter().any(|l| l.contains("(elements)")),
        "no table header: {lines:?}"
    );
    std::thread::sleep(Duration::from_secs(1));
    // SAFETY: signalling the mpirun this test started, as a terminal's Ctrl-C does.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let run = finish(child, started.elapsed() + Duration::from_secs(60), started);
    assert!(
        run.status.is_some(),
        "mpirun did not end: {}",
        run.describe()
    );
    assert!(run.elapsed < Duration::from_secs(50), "{}", run.describe());
    let report = read_report(&json);
    assert_eq!(report["complete"], false, "{}", run.describe());
    let rows = report["results"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        1,
        "the row in progress is finished, then the sweep stops"
    );
    for side in ["out_of_place", "in_place"] {
        assert_eq!(
            stopped_by(&rows[0][side]),
            "signal",
            "{side}: {}",
            rows[0][side]
        );
    }
}
