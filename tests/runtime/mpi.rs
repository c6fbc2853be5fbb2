//! The runtime under a real `mpirun -np 4` (Open MPI, oversubscribed): every collective exact on
//! host memory, test hooks (corruption → exit 7, stalled rank → -T exit 4, dying ranks), splits,
//! timing flags, and usage errors printed once. Needs `--features mpi` and Open MPI's mpirun.

#![cfg(feature = "mpi")]

use crate::support::process::*;
use crate::support::schema::read_report;
use collbench::data::{format_bits, poison_bits};
use collbench::types::DataType;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

/// `mpirun -np 4 program flags -J json` with `env`, bounded by LIMIT.
fn run_with_json(program: &str, flags: &[&str], json: &Path, env: &[(&str, &str)]) -> Finished {
    let mut args = flags.to_vec();
    args.extend(["--collbench-json", json.to_str().unwrap()]);
    run(mpirun(4, program, &args, env), LIMIT)
}

#[test]
fn every_collective_type_and_operator_is_exact_in_and_out_of_place_on_four_ranks() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    for program in COLLECTIVE_BINARIES {
        let json = dir.path().join(format!("{program}.json"));
        let json_arg = json.to_str().unwrap();
        let args = [
            "-b",
            "64",
            "-e",
            "4K",
            "-f",
            "64",
            "-n",
            "1",
            "-w",
            "0",
            "-d",
            "all",
            "-o",
            "all",
            "-r",
            "-1",
            "--collbench-json",
            json_arg,
        ];
        let run = run(mpirun(4, program, &args, &[]), LIMIT);
        assert_eq!(run.code(), Some(0), "{program}: {}", run.describe());
        let report = read_report(&json);
        assert_eq!(report["nranks"], 4, "{program}");
        assert_eq!(report["complete"], true, "{program}");
        let ranks = report["ranks"].as_array().unwrap();
        let pids: std::collections::BTreeSet<_> = ranks.iter().map(|r| r["pid"].as_u64()).collect();
        assert_eq!(pids.len(), 4, "{program}: four processes");
        let config = &report["config"];
        let expected_rows = config["dtypes"].as_array().unwrap().len()
            * config["ops"].as_array().unwrap().len().max(1)
            * config["roots"].as_array().unwrap().len()
            * 2;
        let results = report["results"].as_array().unwrap();
        assert_eq!(results.len(), expected_rows, "{program}: rows");
        assert_eq!(
            config["dtypes"].as_array().unwrap().len(),
            12,
            "{program}: -d all"
        );
        let mut checked = 0;
        for (row, side, cell) in cells(&report) {
            match cell["wrong"].as_u64() {
                Some(wrong) => {
                    assert_eq!(wrong, 0, "{program} {side} {row}");
                    checked += 1;
                }
                // nccl-tests does not check in-place alltoall(v)/sendrecv: N/A, never out of place.
                None => assert_eq!(side, "in_place", "{program}: unchecked {row}"),
            }
        }
        assert!(
            checked >= expected_rows,
            "{program}: {checked} checked cells"
        );
        assert!(
            run.stdout.contains("# Out of bounds values : 0 OK"),
            "{program}"
        );
    }
}

#[test]
fn a_planted_corruption_is_found_and_the_job_exits_7() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("corrupt.json");
    let flags = ["-b", "8", "-e", "64", "-f", "2", "-n", "2"];
    let run = run_with_json(
        "allreduce-perf",
        &flags,
        &json,
        &[("COLLBENCH_TEST_CORRUPT", "2:1")],
    );
    assert_eq!(run.code(), Some(7), "{}", run.describe());
    assert!(
        run.stdout.contains("# Out of bounds values : "),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("# Out of bounds values") && l.ends_with("FAILED")),
        "{}",
        run.describe()
    );
    // Every checked cell found exactly the planted element on rank 2.
    let report = read_report(&json);
    for (_, _, cell) in cells(&report) {
        assert_eq!(cell["wrong"], 1);
        assert_eq!(cell["first_wrong"]["rank"], 2);
        assert_eq!(cell["first_wrong"]["index"], 1);
    }
    assert_eq!(report["summary"]["passed"], false);
    // The verdict is printed once, by rank 0.
    assert_eq!(
        run.stderr.matches("collbench: wrong results").count(),
        1,
        "{}",
        run.describe()
    );
}

/// `collbench accept` with no threshold is still an acceptance run: its verdict judges the data
/// and the sweep's completeness and says bandwidth was not judged; a plain run has no verdict.
#[test]
fn accept_without_a_threshold_ends_in_a_verdict_on_data_and_completeness() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "-b",
        "8",
        "-e",
        "64",
        "-f",
        "2",
        "-n",
        "2",
        "--backend",
        "mpi",
    ];
    let accept: Vec<&str> = ["accept"].iter().chain(&flags).copied().collect();
    let note = "#  note: busbw not judged (no --min-busbw, NCCL_TESTS_MIN_BW or --profile)";

    let good_json = dir.path().join("good.json");
    let good = run_with_json("collbench", &accept, &good_json, &[]);
    assert_eq!(good.code(), Some(0), "{}", good.describe());
    assert!(
        good.stderr
            .contains("# Verdict: PASS (2 of 2 checks passed, 1 node)"),
        "{}",
        good.describe()
    );
    assert!(good.stderr.contains(note), "{}", good.describe());
    assert!(!good.stdout.contains("# Verdict"), "{}", good.describe());
    let verdict = &read_report(&good_json)["verdict"];
    assert_eq!(verdict["passed"], true, "{verdict}");
    let kinds: Vec<&str> = verdict["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["data", "complete"]);

    let bad = run_with_json(
        "collbench",
        &accept,
        &dir.path().join("bad.json"),
        &[("COLLBENCH_TEST_CORRUPT", "2:1")],
    );
    assert_eq!(bad.code(), Some(7), "{}", bad.describe());
    assert!(
        bad.stderr
            .contains("# Verdict: FAIL (1 of 2 checks passed, 1 node)"),
        "{}",
        bad.describe()
    );

    let run: Vec<&str> = ["run", "all_reduce"]
        .iter()
        .chain(&flags)
        .copied()
        .collect();
    let plain_json = dir.path().join("plain.json");
    let plain = run_with_json("collbench", &run, &plain_json, &[]);
    assert_eq!(plain.code(), Some(0), "{}", plain.describe());
    assert!(!plain.stderr.contains("# Verdict"), "{}", plain.describe());
    assert!(read_report(&plain_json)["verdict"].is_null());
}

#[test]
fn the_watchdog_aborts_a_job_with_a_stalled_rank_with_exit_4() {
    let _serial = one_mpirun_at_a_time();
    let timeout_s = 3;
    let args = ["-b", "8", "-e", "1K", "-f", "2", "-T", "3"];
    let run = run(
        mpirun(4, "allreduce-perf", &args, &[("COLLBENCH_TEST_STALL", "2")]),
        LIMIT,
    );
    assert_eq!(run.code(), Some(4), "{}", run.describe());
    assert!(
        run.elapsed < Duration::from_secs(timeout_s + 10),
        "exit took {:?}",
        run.elapsed
    );
    assert!(
        run.stderr.contains("collbench: timeout after 3 s on rank")
            && run
                .stderr
                .contains("stuck in all_reduce size 8 B iteration 0 (timed loop)"),
        "{}",
        run.describe()
    );
    // The stalled rank is alive: the liveness probe finds nobody lost.
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("collbench: timeout: rank ")
                && l.ends_with(
                    "asked every other rank over TCP: all 3 answered within 0.6 s, none is \
                 lost (they may be waiting too)"
                )),
        "{}",
        run.describe()
    );
}

#[test]
fn a_rank_that_kills_itself_ends_the_job_with_and_without_a_watchdog() {
    let _serial = one_mpirun_at_a_time();
    for extra in [&[][..], &["-T", "5"][..]] {
        let mut args = vec!["-b", "8", "-e", "1K", "-f", "2"];
        args.extend_from_slice(extra);
        let run = run(
            mpirun(4, "allreduce-perf", &args, &[("COLLBENCH_TEST_EXIT", "1")]),
            LIMIT,
        );
        assert!(run.status.is_some(), "the job hung: {}", run.describe());
        assert_ne!(run.code(), Some(0), "{}", run.describe());
        assert!(
            run.elapsed < Duration::from_secs(30),
            "took {:?}",
            run.elapsed
        );
    }
    let run = run(
        mpirun(
            4,
            "allreduce-perf",
            &["-b", "8", "-e", "1K"],
            &[("COLLBENCH_TEST_EXIT", "3:9")],
        ),
        LIMIT,
    );
    assert_eq!(run.code(), Some(9), "{}", run.describe());
}

#[test]
fn a_panicking_rank_ends_the_whole_job_with_exit_70() {
    let _serial = one_mpirun_at_a_time();
    let run = run(
        mpirun(
            4,
            "allreduce-perf",
            &["-b", "8", "-e", "1K"],
            &[("COLLBENCH_TEST_PANIC", "2")],
        ),
        LIMIT,
    );
    assert_eq!(run.code(), Some(70), "{}", run.describe());
    assert!(
        run.elapsed < Duration::from_secs(30),
        "took {:?}",
        run.elapsed
    );
    assert!(run.stderr.contains("internal error"), "{}", run.describe());
}

#[test]
fn a_rank_killed_from_outside_with_sigkill_ends_the_job() {
    let _serial = one_mpirun_at_a_time();
    // -N 0 runs until stopped: only the kill can end it.
    let args = ["-b", "8", "-e", "64K", "-f", "2", "-N", "0"];
    let (child, lines, started) =
        start_until(mpirun(4, "allreduce-perf", &args, &[]), LIMIT, |l| {
            l.starts_with("#  Rank  3 ")
        });
    let rank_line = lines
        .iter()
        .find(|l| l.starts_with("#  Rank  2 "))
        .unwrap_or_else(|| panic!("no rank line in {lines:?}"));
    let pid: i32 = rank_line
        .split_whitespace()
        .skip_while(|w| *w != "Pid")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {rank_line}"));
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signalling rank 2 of the job this test started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    let killed_at = started.elapsed();
    let run = finish(child, killed_at + Duration::from_secs(30), started);
    assert!(
        run.status.is_some(),
        "the job did not end after a rank was killed: {}",
        run.describe()
    );
    assert_ne!(run.code(), Some(0), "{}", run.describe());
}

#[test]
fn the_delay_hook_slows_its_rank_and_every_rank_that_waits_for_it() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("delay.json");
    let flags = ["-b", "8", "-e", "512", "-f", "8", "-n", "5", "-w", "1"];
    let delay_us = 5000.0;
    let delayed = run_with_json(
        "allreduce-perf",
        &flags,
        &json,
        &[("COLLBENCH_TEST_DELAY", "3:5000")],
    );
    assert_eq!(delayed.code(), Some(0), "{}", delayed.describe());
    let report = read_report(&json);
    let all = cells(&report);
    assert_eq!(all.len(), 6);
    for (row, side, cell) in all {
        let spread = &cell["ranks"];
        // Rank 3 sleeps after each of its 5 operations: at least the delay per operation.
        assert!(
            spread["time_us_max"].as_f64().unwrap() >= delay_us,
            "{side} {row}"
        );
        // The others wait for it in each of their last 4 operations: the whole job is slow, which
        // is what bad-node isolation looks for.
        assert!(
            spread["time_us_min"].as_f64().unwrap() >= 0.7 * delay_us,
            "{side} {row}"
        );
    }
    // Without the hook the same cells take far less than the delay.
    let json = dir.path().join("nodelay.json");
    let baseline = run_with_json("allreduce-perf", &flags, &json, &[]);
    assert_eq!(baseline.code(), Some(0), "{}", baseline.describe());
    let report = read_report(&json);
    let fast = cells(&report)
        .iter()
        .filter(|(_, _, cell)| cell["ranks"]["time_us_max"].as_f64().unwrap() < 0.5 * delay_us)
        .count();
    assert!(
        fast >= 4,
        "only {fast} of 6 cells were fast without the delay"
    );
}

#[test]
fn split_groups_run_the_test_side_by_side_and_rank_0_prints_one_table() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("split.json");
    let flags = ["-b", "64", "-e", "4K", "-f", "8", "-o", "all"];
    let run = run_with_json(
        "allreduce-perf",
        &flags,
        &json,
        &[("NCCL_TESTS_SPLIT", "MOD 2")],
    );
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    assert_eq!(run.stdout.matches("# Collective test concluded").count(), 1);
    let report = read_report(&json);
    let groups: Vec<u64> = report["ranks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["group"].as_u64().unwrap())
        .collect();
    assert_eq!(groups, vec![0, 1, 0, 1]);
    for (_, _, cell) in cells(&report) {
        assert_eq!(cell["wrong"], 0);
    }
    for line in ["#  Rank  1 Group  1", "#  Rank  2 Group  0"] {
        assert!(run.stdout.contains(line), "{}", run.describe());
    }
}

#[test]
fn timing_flags_run_under_mpi_blocking_cycles_aggregation_and_per_iteration_stats() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("flags.json");
    for blocking in ["1", "2", "3"] {
        let flags = [
            "-b", "8", "-e", "1K", "-f", "4", "-n", "4", "-m", "2", "-z", blocking, "-I", "1",
            "-K", "1", "-N", "2", "-a", "3", "-C", "1",
        ];
        let run = run_with_json("reducescatter-perf", &flags, &json, &[]);
        assert_eq!(run.code(), Some(0), "-z {blocking}: {}", run.describe());
        let report = read_report(&json);
        let results = report["results"].as_array().unwrap();
        assert_eq!(results.len(), 2 * 4, "two cycles of four sizes");
        assert_eq!(results.last().unwrap()["cycle"], 1);
        for (row, _, cell) in cells(&report) {
            let stats = &cell["per_iteration"];
            assert_eq!(stats["samples"], 3, "-n 4 minus -K 1");
            // -a 3: the bandwidths divide by the slowest rank's completion time; -C 1 only
            // changes the printed time (rank 0's launch time), as in nccl-tests.
            let slowest_us = cell["ranks"]["time_us_max"].as_f64().unwrap();
            let size = row["size_bytes"].as_f64().unwrap();
            let algbw = cell["algbw_gbps"].as_f64().unwrap();
            assert!(
                (algbw - size / 1e3 / slowest_us).abs() <= 1e-9 * algbw.max(1.0),
                "{cell}"
            );
        }
    }
}

#[test]
fn memory_report_lists_every_rank_under_the_rank_lines_and_in_the_json() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("memory.json");
    // The host backend allocates send, receive and scratch buffers of maxBytes each.
    let run = run_with_json(
        "allgather-perf",
        &["-b", "8", "-e", "2M", "-f", "16", "-M", "1"],
        &json,
        &[],
    );
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    let lines: Vec<&str> = run.stdout.lines().collect();
    // The memory lines follow the rank lines, one per rank, and do not look like rank lines.
    let last_rank_line = lines
        .iter()
        .rposition(|l| l.starts_with("#  Rank ") && l.contains(" Pid "))
        .unwrap_or_else(|| panic!("no rank line: {}", run.describe()));
    let block = last_rank_line + 1;
    let report = read_report(&json);
    let memory = report["memory"].as_array().expect("memory in the JSON");
    assert_eq!(memory.len(), 4);
    for (rank, entry) in memory.iter().enumerate() {
        let line = lines[block + rank];
        assert!(
            line.starts_with(&format!(
                "#  Memory rank {rank:>2} host: buffers 6 MiB, peak RSS "
            )),
            "{line}"
        );
        assert_eq!(entry["rank"], rank);
        assert_eq!(entry["kind"], "host");
        // allgather -e 2M: maxBytes is the gathered (receive) size; the host backend sizes its
        // send, receive and scratch buffers for the larger of send and receive.
        let buffers = entry["buffer_bytes"].as_u64().unwrap();
        assert_eq!(buffers, 3 * 2 * 1024 * 1024, "{entry}");
        assert!(entry["process_peak_rss_bytes"].as_u64().unwrap() > 0);
        assert!(entry["free_bytes"].as_u64().unwrap() <= entry["total_bytes"].as_u64().unwrap());
    }
    // Then the notices (the auto backend's fallback line), then the "#" above the column headers.
    let after_notices = (block + 4..lines.len())
        .find(|&i| !lines[i].starts_with("# collbench: "))
        .unwrap();
    assert_eq!(lines[after_notices], "#", "{}", run.describe());
    // Without -M: no block, no key.
    let run = run_with_json("allgather-perf", &["-b", "8", "-e", "1K"], &json, &[]);
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    assert!(!run.stdout.contains("#  Memory rank"));
    assert!(read_report(&json).get("memory").is_none());
}

#[test]
fn usage_errors_are_printed_once_and_exit_6() {
    let _serial = one_mpirun_at_a_time();
    let run = run(mpirun(4, "allreduce-perf", &["-d", "fp9"], &[]), LIMIT);
    assert_eq!(run.code(), Some(6), "{}", run.describe());
    assert_eq!(run.stderr.matches("fp9").count(), 1, "{}", run.describe());
    // A root outside the four ranks is only known once the world exists.
    let run = run_root_outside();
    assert_eq!(run.code(), Some(6), "{}", run.describe());
    assert_eq!(
        run.stderr.matches("-r/--root 4").count(),
        1,
        "{}",
        run.describe()
    );
}

/// NCCL_TESTS_SPLIT groups of unequal size (DIV 3 on 4 ranks: 3 and 1): a root or `-r -1` that only
/// one group can run is refused by every rank at once, instead of that group leaving and the other
/// waiting for it forever.
#[test]
fn a_root_that_only_some_split_groups_have_is_refused_by_every_rank() {
    let _serial = one_mpirun_at_a_time();
    for root in ["1", "-1"] {
        let run = run(
            mpirun(
                4,
                "reduce-perf",
                &["-r", root, "-b", "8", "-e", "8"],
                &[("NCCL_TESTS_SPLIT", "DIV 3")],
            ),
            Duration::from_secs(60),
        );
        assert_eq!(run.code(), Some(6), "-r {root}: {}", run.describe());
        assert_eq!(
            run.stderr.matches("NCCL_TESTS_SPLIT").count(),
            1,
            "-r {root}: {}",
            run.describe()
        );
    }
}

/// A `-b` no rank can allocate is refused once, naming the rank with the least memory and how its
/// limit follows from its memory (the reserve kept free), whichever rank prints.
#[test]
fn a_min_size_beyond_memory_names_the_rank_with_the_least_and_why() {
    let _serial = one_mpirun_at_a_time();
    let sizes = ["-b", "1000T", "-e", "1000T", "--backend", "mpi"];
    let host = run(mpirun(4, "allreduce-perf", &sizes, &[]), LIMIT);
    assert_eq!(host.code(), Some(6), "{}", host.describe());
    assert_eq!(
        host.stderr.matches("does not fit in memory").count(),
        1,
        "{}",
        host.describe()
    );
    for part in [
        "per buffer can be allocated on every rank (rank ",
        "available of ",
        "less a reserve of ",
        "shared by 4 process(es) on it, 3 buffers each",
    ] {
        assert!(host.stderr.contains(part), "{part}: {}", host.describe());
    }

    let small = ["-b", "2K", "-e", "4K", "--backend", "mpi"];
    let hook = [("COLLBENCH_TEST_MAX_BUFFER", "2:1000")];
    let one_rank = run(mpirun(4, "allreduce-perf", &small, &hook), LIMIT);
    assert_eq!(one_rank.code(), Some(6), "{}", one_rank.describe());
    assert!(
        one_rank
            .stderr
            .contains("at most 1000 bytes (1000 B) per buffer can be allocated on every rank (rank 2: COLLBENCH_TEST_MAX_BUFFER allows 1000 bytes)"),
        "{}",
        one_rank.describe()
    );
}

fn run_root_outside() -> Finished {
    run(
        mpirun(4, "reduce-perf", &["-r", "4", "-b", "8", "-e", "8"], &[]),
        LIMIT,
    )
}

#[test]
fn mpi_is_initialised_only_when_a_launcher_started_the_process() {
    let _serial = one_mpirun_at_a_time();
    // Started by hand: one rank, no MPI_Init (the header names no MPI library).
    let alone_run = run(alone("allreduce-perf", &["-b", "8", "-e", "8"], &[]), LIMIT);
    assert_eq!(alone_run.code(), Some(0), "{}", alone_run.describe());
    let first = alone_run.stdout.lines().next().unwrap_or_default();
    assert!(first.contains("single process"), "{first}");
    // Under mpirun: the MPI world, four ranks, Open MPI named on the first line.
    let launched = run(
        mpirun(4, "allreduce-perf", &["-b", "8", "-e", "8"], &[]),
        LIMIT,
    );
    assert_eq!(launched.code(), Some(0), "{}", launched.describe());
    let first = launched.stdout.lines().next().unwrap_or_default();
    assert!(first.contains("Open MPI"), "{first}");
    assert_eq!(
        launched
            .stdout
            .lines()
            .filter(|l| l.starts_with("#  Rank "))
            .count(),
        4
    );
}

#[test]
fn ctrl_c_on_mpirun_keeps_every_finished_row_when_the_ranks_get_time_to_stop() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let csv = dir.path().join("run.csv");
    let (json_arg, csv_arg) = (json.to_str().unwrap(), csv.to_str().unwrap());
    // -N 0 repeats the sweep until stopped; rows stay short (<= 1 MiB), so each finishes well
    // within the 10 s mpirun leaves between SIGTERM and SIGKILL.
    let args = [
        "-b",
        "8",
        "-e",
        "1M",
        "-f",
        "2",
        "-n",
        "200",
        "-N",
        "0",
        "--collbench-json",
        json_arg,
        "--csv",
        csv_arg,
    ];
    // mpirun reads OMPI_MCA_* from its own environment: the README's advice for mpirun (SIGCONT,
    // 10 s, SIGTERM, 10 s, SIGKILL).
    let mut command = mpirun(4, "allreduce-perf", &args, &[]);
    command.env("OMPI_MCA_odls_base_sigkill_timeout", "10");
    let (child, lines, started) = start_until(command, LIMIT, |l| {
        l.split_whitespace().next() == Some("65536")
    });
    assert!(
        lines.iter().any(|l| l.trim_start().starts_with("65536 ")),
        "the sweep never reached 64 KiB: {lines:?}"
    );
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
    let report = read_report(&json);
    assert_eq!(report["complete"], false, "{}", run.describe());
    let results = report["results"].as_array().unwrap();
    assert!(
        results.len() >= 14,
        "8 B .. 64 KiB were finished before the Ctrl-C, the report has {} rows: {}",
        results.len(),
        run.describe()
    );
    let text = std::fs::read_to_string(&csv).unwrap_or_else(|e| {
        panic!(
            "the CSV was not written ({e}): {:?}",
            std::fs::read_dir(dir.path()).unwrap().collect::<Vec<_>>()
        )
    });
    assert_eq!(
        text.lines().count(),
        1 + 2 * results.len(),
        "CSV: a header and one line per placement of every JSON row"
    );
}

/// `mpirun -np 2 program first : -np 1 [env VAR=VALUE] program second` (MPMD: rank 2 gets other
/// flags, or an environment variable the others lack).
fn mpirun_two_plans(program: &str, first: &[&str], second: &[&str], env: &[&str]) -> Finished {
    let mut command = std::process::Command::new("mpirun");
    command.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "--mca",
        "orte_base_help_aggregate",
        "0",
        "-np",
        "2",
    ]);
    command.arg(binary(program)).args(first);
    command.args([":", "-np", "1", "env"]).args(env);
    command.arg(binary(program)).args(second);
    run(command, Duration::from_secs(60))
}

/// Ranks 0-1's extra flags, rank 2's extra flags, rank 2's environment, what the error names.
type PlanCase<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str], &'a str);

#[test]
fn ranks_given_different_plans_are_refused_by_every_rank_instead_of_hanging() {
    let _serial = one_mpirun_at_a_time();
    let same = ["-b", "8", "-e", "8"];
    let cases: [PlanCase; 5] = [
        // Rank 2 would wait forever in a sixth timed operation (no -T): the job hung.
        (
            &["-n", "5"],
            &["-n", "6"],
            &[],
            "-n/--iters: rank 0 has 5, rank 2 has 6",
        ),
        // Rank 2 checked float data as int32: 'wrong results' (exit 7) with nothing wrong.
        (
            &["-d", "float"],
            &["-d", "int32"],
            &[],
            "-d/--datatype: rank 0 has [Float], rank 2 has [Int32]",
        ),
        // Only rank 2 skipped validation: the others waited in the check's reduction (hung).
        (
            &["-c", "1"],
            &["-c", "0"],
            &[],
            "-c/--check: rank 0 has 1, rank 2 has 0",
        ),
        // A per-rank NCCL_TESTS_SPLIT silently ran other groups than asked (exit 0).
        (
            &[],
            &[],
            &["NCCL_TESTS_SPLIT=MOD 2"],
            "NCCL_TESTS_SPLIT: rank 0 has None, rank 2 has Some(Mod(2))",
        ),
        // Only ranks 0-1 had a profile: they gathered the hosts to check it, rank 2 never came.
        (
            &["--profile", "p5.48xlarge"],
            &[],
            &[],
            "--profile: rank 0 has p5.48xlarge, rank 2 has none",
        ),
    ];
    for (first, second, env, said) in cases {
        let first: Vec<&str> = same.iter().chain(first).copied().collect();
        let second: Vec<&str> = same.iter().chain(second).copied().collect();
        let run = mpirun_two_plans("allreduce-perf", &first, &second, env);
        println!(
            "{first:?} / {env:?} {second:?}: exit {:?} in {:.1} s",
            run.code(),
            run.elapsed.as_secs_f64()
        );
        assert_eq!(run.code(), Some(6), "{said}: {}", run.describe());
        assert_eq!(
            run.stderr
                .matches("were given a different test plan")
                .count(),
            1,
            "printed once, by rank 0: {}",
            run.describe()
        );
        assert!(run.stderr.contains(said), "{said}: {}", run.describe());
        assert!(run.rows().is_empty(), "no row ran: {}", run.describe());
    }
}

#[test]
fn receive_buffers_a_collective_does_not_write_must_be_left_as_they_were() {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let poison = format_bits(DataType::Float, poison_bits(DataType::Float));
    // 64 B of floats on 4 ranks: reduce buffers of 16 elements, gather buffers of 4 blocks of 4
    // (rank 2's own block is elements 8..12). Root 0; the planted element is on non-root rank 2,
    // in both cells. nccl-tests expects a rank that receives nothing to find its receive buffer as
    // before the call: out of place the poison everywhere; in place its input (reduce, and
    // gather's own block) and the poison around it (gather's other blocks). (Alltoallv's tail past
    // a rank's blocks: tests/runtime/alltoallv_pattern.rs.) The last field: what the in-place cell
    // expects there (None: not checked).
    let input = Some(false);
    let poisoned = Some(true);
    for (program, index, in_place_wants_poison) in [
        ("reduce-perf", 0usize, input),
        ("reduce-perf", 15, input),
        ("gather-perf", 8, input),
        ("gather-perf", 0, poisoned),
        ("gather-perf", 15, poisoned),
    ] {
        let json = dir.path().join(format!("{program}-{index}.json"));
        let corrupt = format!("2:{index}");
        let run = run_with_json(
            program,
            &["-b", "64", "-e", "64", "-r", "0", "-n", "1", "-w", "0"],
            &json,
            &[("COLLBENCH_TEST_CORRUPT", &corrupt)],
        );
        let report = read_report(&json);
        let row = &report["results"][0];
        println!(
            "{program} element {index} of rank 2: exit {:?}, out-of-place wrong {} {}, in-place wrong {} {}",
            run.code(),
            row["out_of_place"]["wrong"],
            row["out_of_place"]["first_wrong"],
            row["in_place"]["wrong"],
            row["in_place"]["first_wrong"]
        );
        assert_eq!(run.code(), Some(7), "{program}: {}", run.describe());
        for (side, wants_poison) in [
            ("out_of_place", Some(true)),
            ("in_place", in_place_wants_poison),
        ] {
            let cell = &row[side];
            let Some(wants_poison) = wants_poison else {
                assert!(cell["wrong"].is_null(), "{program} {side}: N/A");
                continue;
            };
            assert_eq!(cell["wrong"], 1, "{program} {index} {side}");
            assert_eq!(cell["first_wrong"]["rank"], 2, "{program} {index} {side}");
            assert_eq!(
                cell["first_wrong"]["index"], index,
                "{program} {index} {side}"
            );
            assert_eq!(
                cell["first_wrong"]["expected"] == poison.as_str(),
                wants_poison,
                "{program} {index} {side}: expected {} (the poison is {poison})",
                cell["first_wrong"]["expected"]
            );
        }
    }
}

/// A clean run of every collective, every type, operator and root, in and out of place, on `np`
/// ranks: exit 0 and no wrong element, so no correct collective writes where `checked` says
/// nothing may be written. (Four ranks: `every_collective_type_and_operator_is_exact_...`.)
fn every_collective_and_root_is_clean_on(np: usize) {
    let _serial = one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    for program in COLLECTIVE_BINARIES {
        let json = dir.path().join(format!("{program}-{np}.json"));
        let args = [
            "-b",
            "64",
            "-e",
            "1K",
            "-f",
            "16",
            "-n",
            "1",
            "-w",
            "0",
            "-d",
            "all",
            "-o",
            "all",
            "-r",
            "-1",
            "--collbench-json",
            json.to_str().unwrap(),
        ];
        let run = run(mpirun(np, program, &args, &[]), LIMIT);
        if program == "hypercube-perf" && !np.is_power_of_two() {
            // Hypercube needs a power of two: a usage error, not a result.
            assert_eq!(run.code(), Some(6), "{program} on {np}: {}", run.describe());
            continue;
        }
        assert_eq!(run.code(), Some(0), "{program} on {np}: {}", run.describe());
        let report = read_report(&json);
        let roots = report["config"]["roots"].as_array().unwrap().len();
        let mut checked = 0;
        for (row, side, cell) in cells(&report) {
            if let Some(wrong) = cell["wrong"].as_u64() {
                assert_eq!(wrong, 0, "{program} on {np} {side} {row}");
                checked += 1;
            }
        }
        println!(
            "{program} on {np} ranks: exit 0, {checked} checked cells, #wrong 0, {roots} root(s)"
        );
        assert!(checked > 0, "{program} on {np}");
    }
}

#[test]
fn every_collective_and_root_is_clean_on_three_ranks() {
    every_collective_and_root_is_clean_on(3);
}
