//! `collbench fabric pingpong` under a real `mpirun` (Open MPI), over the tcp provider.
#![cfg(all(feature = "fabric", feature = "mpi"))]

use crate::support::fabric::*;
use crate::support::schema::json_file;
use std::process::Output;

fn mpirun(ranks: usize, args: &[&str], env: &[(&str, &str)]) -> Output {
    let _turn = crate::support::process::one_mpirun_at_a_time();
    let ranks = ranks.to_string();
    let launcher = [
        "mpirun",
        "--allow-run-as-root",
        "--oversubscribe",
        "-np",
        &ranks,
    ];
    let args: Vec<&str> = std::iter::once("pingpong")
        .chain(args.iter().copied())
        .collect();
    run_under(240, &launcher, &args, env)
}

const SWEEP: &[&str] = &[
    "--provider",
    "tcp",
    "-b",
    "8",
    "-e",
    "8K",
    "-f",
    "32",
    "--iters",
    "10",
    "--bw-iters",
    "2",
    "--warmup",
    "2",
    "--timeout",
    "30",
];

fn pingpong(ranks: usize, extra: &[&str]) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("pingpong.json");
    let mut args: Vec<&str> = SWEEP.to_vec();
    args.extend_from_slice(&["--json", json.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let output = mpirun(ranks, &args, &[]);
    let report = if json.exists() {
        json_file(&json)
    } else {
        serde_json::Value::Null
    };
    (output, report)
}

fn pair_ranks(report: &serde_json::Value) -> Vec<(u64, u64, u64)> {
    report["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .map(|p| {
            (
                p["round"].as_u64().unwrap(),
                p["initiator_rank"].as_u64().unwrap(),
                p["responder_rank"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn assert_pairs_clean(report: &serde_json::Value) {
    for pair in report["pairs"].as_array().unwrap() {
        let verdict = &pair["verdict"];
        assert_eq!(verdict["wrong_messages"], 0, "{pair}");
        assert!(verdict["verified_messages"].as_u64().unwrap() > 0, "{pair}");
        assert!(
            verdict["summary"]["max_bw_gb_per_s"].as_f64().unwrap() > 0.0,
            "{pair}"
        );
        let operations: Vec<&str> = pair["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["operation"].as_str().unwrap())
            .collect();
        assert!(
            operations.contains(&"send_recv")
                && operations.contains(&"write")
                && operations.contains(&"read"),
            "{operations:?}"
        );
    }
}

#[test]
fn two_ranks_measure_one_pair_with_verified_payloads() {
    let (output, report) = pingpong(2, &[]);
    assert_exit(&output, 0);
    assert_eq!(pair_ranks(&report), vec![(0, 0, 1)]);
    assert_pairs_clean(&report);
    assert_eq!(report["provider"], "tcp;ofi_rxm");
    let text = stdout(&output);
    assert!(text.contains("Slowest pair: 0<->1"), "{text}");
    assert!(text.contains("MinTypicalLat:"), "{text}");
}

#[test]
fn four_ranks_measure_two_pairs_and_name_the_slowest() {
    let (output, report) = pingpong(4, &[]);
    assert_exit(&output, 0);
    assert_eq!(pair_ranks(&report), vec![(0, 0, 1), (0, 2, 3)]);
    assert_pairs_clean(&report);
    let slowest = report["slowest_pair"].as_str().expect("slowest pair named");
    assert!(
        slowest.starts_with("0<->1 (") || slowest.starts_with("2<->3 ("),
        "{slowest}"
    );
    assert!(stdout(&output).contains(&format!("Slowest pair: {slowest}")));
}

#[test]
fn an_odd_rank_count_tests_the_last_rank_against_rank_zero() {
    let (output, report) = pingpong(3, &["--no-rma"]);
    assert_exit(&output, 0);
    assert_eq!(pair_ranks(&report), vec![(0, 0, 1), (1, 0, 2)]);
}

#[test]
fn a_corrupted_payload_fails_the_job_with_exit_7() {
    let (output, report) = pingpong(2, &["--no-rma", "--inject-corruption"]);
    assert_exit(&output, 7);
    assert!(
        stderr(&output).contains("payload mismatch in pair 0<->1"),
        "{}",
        stderr(&output)
    );
    assert_eq!(report["passed"], false);
    assert_eq!(report["pairs"][0]["verdict"]["wrong_messages"], 1);
}

#[test]
fn a_missing_provider_aborts_every_rank_with_exit_6() {
    let output = mpirun(2, &["--provider", "efa"], &[]);
    assert_exit(&output, 6);
    assert!(
        stderr(&output).contains("--provider efa"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_single_rank_is_a_usage_error() {
    let output = mpirun(1, &["--provider", "tcp"], &[]);
    assert_exit(&output, 6);
    assert!(
        stderr(&output).contains("pairs need at least 2"),
        "{}",
        stderr(&output)
    );
}

/// Rank 0's `--json` in a missing directory ends the job before any pair is measured, with the
/// exit code of a failed write (1), on every rank.
#[test]
fn a_json_path_in_a_missing_directory_fails_before_measuring() {
    let mut args: Vec<&str> = SWEEP.to_vec();
    args.extend_from_slice(&["--json", "/nonexistent-dir/pingpong.json"]);
    let output = mpirun(2, &args, &[]);
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(
        err.contains("/nonexistent-dir/pingpong.json") && err.contains("does not exist"),
        "{err}"
    );
    assert!(
        !stdout(&output).contains("send/recv"),
        "{}",
        stdout(&output)
    );
}
