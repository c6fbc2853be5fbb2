//! The runtime as a singleton (no launcher): every collective exact, exit codes for wrong results,
//! the watchdog, usage errors and signals. Runs with and without the `mpi` feature.

use crate::support::process::*;
use crate::support::schema::read_report;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn every_collective_runs_alone_with_every_type_and_operator() {
    for program in COLLECTIVE_BINARIES {
        let run = run(
            alone(
                program,
                &[
                    "-b", "8", "-e", "8K", "-f", "32", "-n", "2", "-w", "1", "-d", "all", "-o",
                    "all",
                ],
                &[],
            ),
            LIMIT,
        );
        assert_eq!(run.code(), Some(0), "{program}: {}", run.describe());
        assert!(
            run.stdout.contains("# Out of bounds values : 0 OK"),
            "{program}"
        );
        assert!(run.stdout.contains("#  Rank  0 Group  0 Pid "), "{program}");
        // 12 types × (6 operators for reductions, else 1) × 3 sizes.
        let rows = run.rows().len();
        assert!(
            rows == 12 * 3 || rows == 12 * 6 * 3,
            "{program}: {rows} rows"
        );
        for row in run.rows() {
            let wrong: Vec<&str> = row.split_whitespace().rev().step_by(4).take(2).collect();
            for w in wrong {
                assert!(w == "0" || w == "N/A", "{program}: {row}");
            }
        }
    }
}

#[test]
fn the_auto_backend_says_why_it_uses_the_mpi_backend() {
    let run = run(alone("allreduce-perf", &["-b", "8", "-e", "8"], &[]), LIMIT);
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    // On stderr: stdout stays nccl-tests' table (docs/output.md).
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("collbench: note: no usable GPU/NCCL (")
                && l.ends_with("); using the mpi backend")),
        "{}",
        run.describe()
    );
    assert!(!run.stdout.contains("no usable GPU"), "{}", run.describe());
    let explicit = run_plain(&["-b", "8", "-e", "8", "--backend", "mpi"]);
    assert!(
        !explicit.stderr.contains("no usable GPU"),
        "{}",
        explicit.describe()
    );
}

/// Scripts read nccl-tests' table as the lines between the units header (`#        (B) …`) and
/// `# Out of bounds values`, all of them rows, and expect the column headers right after the rank
/// lines (and `#`), as nccl-tests prints them.
#[test]
fn the_auto_backend_keeps_the_table_as_nccl_tests_prints_it() {
    let run = run_plain(&["-b", "8", "-e", "64", "-f", "8", "-n", "1", "-w", "0"]);
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    let lines: Vec<&str> = run.stdout.lines().collect();
    let position = |wanted: &dyn Fn(&str) -> bool| lines.iter().position(|l| wanted(l));
    let units = position(&|l| l.starts_with("#        (B)")).expect("units header");
    let last_rank = position(&|l| l.starts_with("#  Rank  0 ")).expect("rank line");
    // The rank line, "#", the three header lines.
    assert_eq!(last_rank + 4, units, "{}", run.describe());
    let out_of_bounds = position(&|l| l.starts_with("# Out of bounds values")).expect("footer");
    let table = &lines[units + 1..out_of_bounds];
    assert_eq!(table.len(), 2, "{}", run.describe());
    for line in table {
        assert!(
            line.starts_with(' ') && line.trim_start().starts_with(|c: char| c.is_ascii_digit()),
            "a table line that is not a row: {line:?}\n{}",
            run.describe()
        );
    }
    println!("table: {table:?}");
}

fn run_plain(args: &[&str]) -> Finished {
    run(alone("allreduce-perf", args, &[]), LIMIT)
}

#[test]
fn a_planted_corruption_exits_7_with_failed_in_the_footer_and_the_element_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let run = run(
        alone(
            "allgather-perf",
            &[
                "-b",
                "64",
                "-e",
                "64",
                "--collbench-json",
                json.to_str().unwrap(),
            ],
            &[("COLLBENCH_TEST_CORRUPT", "0:3")],
        ),
        LIMIT,
    );
    assert_eq!(run.code(), Some(7), "{}", run.describe());
    assert!(
        run.stdout.contains("# Out of bounds values : 2 FAILED"),
        "{}",
        run.describe()
    );
    let report = read_report(&json);
    assert_eq!(report["summary"]["first_wrong"]["index"], 3);
    assert_eq!(report["summary"]["first_wrong"]["rank"], 0);
    assert!(run.stderr.contains("wrong results"), "{}", run.describe());
}

#[test]
fn the_watchdog_ends_a_stalled_singleton_with_exit_4() {
    let run = run(
        alone(
            "broadcast-perf",
            &["-b", "1K", "-e", "1K", "-T", "2"],
            &[("COLLBENCH_TEST_STALL", "0")],
        ),
        LIMIT,
    );
    assert_eq!(run.code(), Some(4), "{}", run.describe());
    assert!(run.elapsed < Duration::from_secs(12), "{:?}", run.elapsed);
    assert!(
        run.stderr
            .contains("collbench: timeout after 2 s on rank 0 (host ")
            && run
                .stderr
                .contains("stuck in broadcast size 1024 B iteration 0 (timed loop)"),
        "{}",
        run.describe()
    );
}

#[test]
fn bad_values_exit_6_before_any_work() {
    for (args, env, needle) in [
        (&["-d", "fp9"][..], &[][..], "fp9"),
        (&["-g", "2"][..], &[][..], "-g/--ngpus 2"),
        (
            &["-b", "8"][..],
            &[("COLLBENCH_TEST_DELAY", "x")][..],
            "COLLBENCH_TEST_DELAY",
        ),
        (
            &["-b", "8"][..],
            &[("COLLBENCH_TEST_STALL", "1")][..],
            "COLLBENCH_TEST_STALL names rank 1",
        ),
        (
            &["-b", "8"][..],
            &[("NCCL_TESTS_MIN_BW", "fast")][..],
            "NCCL_TESTS_MIN_BW",
        ),
        (
            &["--collbench-json", "/nonexistent-dir/x.json"][..],
            &[][..],
            "does not exist",
        ),
        // A GPU-stream hook where there are no GPU streams.
        (
            &["-b", "8"][..],
            &[("COLLBENCH_TEST_STREAM_HANG", "0")][..],
            "COLLBENCH_TEST_STREAM_HANG=0: the mpi backend has no GPU streams to hang",
        ),
        // all_reduce's busbw is 0 on one rank: a floor above it could only fail.
        (
            &["--min-busbw", "1"][..],
            &[][..],
            "--min-busbw 1 cannot be met on 1 rank",
        ),
    ] {
        let run = run(alone("allreduce-perf", args, env), LIMIT);
        assert_eq!(run.code(), Some(6), "{args:?} {env:?}: {}", run.describe());
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.describe());
        assert!(
            run.rows().is_empty(),
            "{args:?}: no work expected: {}",
            run.describe()
        );
    }
}

#[test]
fn sigterm_stops_after_the_current_row_with_exit_143_and_a_partial_report() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("partial.json");
    let args = [
        "-b",
        "8",
        "-e",
        "64K",
        "-f",
        "2",
        "-N",
        "0",
        "--collbench-json",
        json.to_str().unwrap(),
    ];
    let (child, _lines, started) = start_until(alone("allreduce-perf", &args, &[]), LIMIT, |l| {
        l.trim_start().starts_with("65536 ")
    });
    // SAFETY: signalling the process this test started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let run = finish(child, started.elapsed() + Duration::from_secs(30), started);
    assert_eq!(run.code(), Some(143), "{}", run.describe());
    let report = read_report(&json);
    assert_eq!(report["complete"], false);
    assert!(report["summary"]["interrupted"]
        .as_str()
        .unwrap()
        .contains("SIGTERM"));
    assert!(!report["results"].as_array().unwrap().is_empty());
}

#[test]
fn the_umbrella_runs_a_collective_and_lists_them() {
    let run = run(
        alone(
            "collbench",
            &["run", "all_reduce", "-b", "8", "-e", "32", "-f", "2"],
            &[],
        ),
        LIMIT,
    );
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    assert_eq!(run.rows().len(), 3);
    let list = run_umbrella(&["list"]);
    assert_eq!(list.code(), Some(0));
    assert!(list.stdout.contains("allreduce-perf"));
    let bad = run_umbrella(&["frobnicate"]);
    assert_eq!(bad.code(), Some(6), "{}", bad.describe());
}

fn run_umbrella(args: &[&str]) -> Finished {
    run(alone("collbench", args, &[]), LIMIT)
}

/// A build without MPI started as several tasks would print one table per task: it refuses.
#[cfg(not(feature = "mpi"))]
#[test]
fn a_build_without_mpi_refuses_to_run_as_several_tasks() {
    let run = run(
        mpirun(2, "allreduce-perf", &["-b", "8", "-e", "8"], &[]),
        LIMIT,
    );
    assert_eq!(run.code(), Some(5), "{}", run.describe());
    assert!(
        run.stderr.contains("built without MPI support"),
        "{}",
        run.describe()
    );
    assert!(run.rows().is_empty(), "{}", run.describe());
    // One copy in a batch script of a 4-task allocation (SLURM_NTASKS=4 but no job step) runs.
    let batch = crate::support::process::run(
        alone(
            "allreduce-perf",
            &["-b", "8", "-e", "8"],
            &[("SLURM_NTASKS", "4"), ("SLURM_PROCID", "0")],
        ),
        LIMIT,
    );
    assert_eq!(batch.code(), Some(0), "{}", batch.describe());
}

#[test]
fn a_panic_prints_an_internal_error_and_exits_70() {
    let run = run(
        alone(
            "allreduce-perf",
            &["-b", "8", "-e", "8"],
            &[("COLLBENCH_TEST_PANIC", "0")],
        ),
        LIMIT,
    );
    assert_eq!(run.code(), Some(70), "{}", run.describe());
    assert!(
        run.stderr
            .contains("collbench: internal error (a bug in collbench"),
        "{}",
        run.describe()
    );
}

/// nccl-tests' `-N` repeats the size loop inside each type, operator and root (`TimeTest`), so a
/// table reads sum 8, sum 16, sum 8, sum 16, prod 8, …; collbench repeated the whole sweep
/// (sum 8, sum 16, prod 8, … then again from sum).
#[test]
fn run_cycles_repeat_the_sizes_inside_each_operator_like_nccl_tests() {
    let run = run_plain(&[
        "-b", "8", "-e", "16", "-f", "2", "-n", "1", "-w", "0", "-o", "all", "-N", "2",
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    let order: Vec<(String, String)> = run
        .rows()
        .iter()
        .map(|row| {
            let fields: Vec<&str> = row.split_whitespace().collect();
            (fields[3].to_string(), fields[0].to_string())
        })
        .collect();
    let mut expected = Vec::new();
    for op in ["sum", "prod", "max", "min", "avg", "mulsum"] {
        for _cycle in 0..2 {
            for size in ["8", "16"] {
                expected.push((op.to_string(), size.to_string()));
            }
        }
    }
    assert_eq!(order, expected, "{}", run.stdout);
}
