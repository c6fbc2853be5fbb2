//! `collbench fabric loopback` over Debian's real libfabric providers, payloads verified.
#![cfg(feature = "fabric")]

use crate::support::fabric::*;
use crate::support::schema::json_file;

fn loopback(provider: &str, extra: &[&str]) -> (std::process::Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("loopback.json");
    let mut args = vec![
        "loopback",
        "--provider",
        provider,
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(QUICK_SWEEP);
    args.extend_from_slice(extra);
    let output = run(180, &args);
    let report = if json.exists() {
        json_file(&json)
    } else {
        serde_json::Value::Null
    };
    (output, report)
}

/// Every (operation, size) row was measured and every message verified.
fn assert_complete_and_clean(report: &serde_json::Value, operations: &[&str]) {
    let rows = report["rows"].as_array().expect("rows");
    for operation in operations {
        let sizes: Vec<u64> = rows
            .iter()
            .filter(|r| r["operation"] == *operation)
            .map(|r| r["size_bytes"].as_u64().unwrap())
            .collect();
        assert_eq!(sizes, vec![8, 128, 2048, 32768], "{operation} rows");
    }
    for row in rows {
        assert!(row["verified_messages"].as_u64().unwrap() > 0, "{row}");
        assert_eq!(row["wrong_messages"], 0, "{row}");
        assert!(
            row["latency"]["typical_us"].as_f64().unwrap() > 0.0,
            "{row}"
        );
        assert!(
            row["bandwidth"]["avg_gb_per_s"].as_f64().unwrap() > 0.0,
            "{row}"
        );
    }
    let summary = &report["verdict"]["summary"];
    assert!(
        summary["max_bw_gb_per_s"].as_f64().unwrap()
            >= summary["avg_bw_gb_per_s"].as_f64().unwrap()
    );
    assert!(
        summary["max_typical_lat_us"].as_f64().unwrap()
            >= summary["min_typical_lat_us"].as_f64().unwrap()
    );
    assert_eq!(report["passed"], true);
}

#[test]
fn tcp_rxm_loopback_sweeps_send_recv_and_rma_with_verified_payloads() {
    let (output, report) = loopback("tcp", &[]);
    assert_exit(&output, 0);
    assert_eq!(report["provider"], "tcp;ofi_rxm");
    assert_eq!(report["rma"], true);
    assert_complete_and_clean(&report, &["send_recv", "write", "read"]);
    let text = stdout(&output);
    for line in [
        "MaxBw:",
        "AvgBw:",
        "MaxTypicalLat:",
        "MinTypicalLat:",
        "AvgLat:",
        "passed",
    ] {
        assert!(text.contains(line), "missing {line}:\n{text}");
    }
}

#[test]
fn shm_loopback_sweeps_send_recv_and_rma_with_verified_payloads() {
    let (output, report) = loopback("shm", &[]);
    assert_exit(&output, 0);
    assert_eq!(report["provider"], "shm");
    assert_complete_and_clean(&report, &["send_recv", "write", "read"]);
}

#[test]
fn no_rma_measures_send_recv_only() {
    let (output, report) = loopback("shm", &["--no-rma"]);
    assert_exit(&output, 0);
    assert_eq!(report["rma"], false);
    assert!(report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["operation"] == "send_recv"));
}

#[test]
fn thresholds_that_cannot_be_met_exit_7_and_name_the_figure() {
    let (output, report) = loopback("shm", &["--no-rma", "--min-bw", "100000"]);
    assert_exit(&output, 7);
    assert!(stdout(&output).contains("MaxBw") && stderr(&output).contains("below --min-bw 100000"));
    assert_eq!(report["passed"], false);
    let (output, _) = loopback("shm", &["--no-rma", "--max-lat", "0.0001"]);
    assert_exit(&output, 7);
    assert!(stderr(&output).contains("above --max-lat 0.0001"));
}

#[test]
fn met_thresholds_pass() {
    let (output, _) = loopback(
        "shm",
        &["--no-rma", "--min-bw", "0.000001", "--max-lat", "1000000"],
    );
    assert_exit(&output, 0);
}

#[test]
fn a_missing_provider_is_a_clear_usage_error() {
    let (output, _) = loopback("efa", &[]);
    assert_exit(&output, 6);
    let err = stderr(&output);
    assert!(err.contains("--provider efa"), "{err}");
    assert!(
        err.contains("available:") && err.contains("tcp;ofi_rxm") && err.contains("shm"),
        "{err}"
    );
}

#[test]
fn without_a_provider_efa_is_replaced_by_the_best_rdm_provider_with_a_notice() {
    let output = run(
        180,
        &[
            "loopback",
            "--no-rma",
            "-b",
            "64",
            "-e",
            "64",
            "--iters",
            "5",
            "--bw-iters",
            "1",
            "--timeout",
            "20",
        ],
    );
    assert_exit(&output, 0);
    let err = stderr(&output);
    assert!(
        err.contains("notice: no efa provider on this host; using tcp;ofi_rxm"),
        "{err}"
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    for args in [
        vec!["loopback", "-b", "0"],
        vec!["loopback", "-b", "1K", "-e", "8"],
        vec!["loopback", "--window", "0"],
        vec!["loopback", "--bogus"],
        vec!["frobnicate"],
    ] {
        let output = run(30, &args);
        assert_exit(&output, 6);
    }
}

#[test]
fn all_domains_checks_every_nic_of_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("all.json");
    let output = run(
        240,
        &[
            "loopback",
            "--provider",
            "tcp",
            "--all-domains",
            "--no-rma",
            "-b",
            "64",
            "-e",
            "64",
            "--iters",
            "10",
            "--bw-iters",
            "1",
            "--timeout",
            "20",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_exit(&output, 0);
    let suite = json_file(&json);
    let domains: Vec<&str> = suite["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["domain"].as_str().unwrap())
        .collect();
    assert!(domains.contains(&"lo") && domains.len() >= 2, "{domains:?}");
    assert_eq!(suite["passed"], true);
    let text = stdout(&output);
    assert!(
        text.contains("Loopback check passed for provider tcp;ofi_rxm, domain lo"),
        "{text}"
    );
    assert!(
        text.contains("2 passed, 0 failed") || text.contains("passed, 0 failed"),
        "{text}"
    );
}

#[test]
fn an_unknown_domain_lists_the_providers_domains() {
    let output = run(
        60,
        &[
            "loopback",
            "--provider",
            "tcp",
            "--domain",
            "nic-that-is-not-here",
        ],
    );
    assert_exit(&output, 6);
    let err = stderr(&output);
    assert!(
        err.contains("--domain nic-that-is-not-here") && err.contains("lo"),
        "{err}"
    );
}

/// A `--json` file in a directory that does not exist fails before the sweep (exit 1, as a failed
/// write), not after minutes of measuring whose results are then lost.
#[test]
fn a_json_path_in_a_missing_directory_fails_before_measuring() {
    let output = run(
        60,
        &[
            "loopback",
            "--provider",
            "shm",
            "-b",
            "8",
            "-e",
            "8",
            "--iters",
            "2",
            "--json",
            "/nonexistent-dir/loopback.json",
        ],
    );
    assert_exit(&output, 1);
    let err = stderr(&output);
    assert!(
        err.contains("/nonexistent-dir/loopback.json") && err.contains("does not exist"),
        "{err}"
    );
    assert!(
        !stdout(&output).contains("send/recv"),
        "{}",
        stdout(&output)
    );
}

/// `--provider "$UNSET"`: libfabric would read "" as any provider and test another one.
#[test]
fn an_empty_provider_is_a_usage_error() {
    let output = run(60, &["loopback", "--provider", "", "-b", "8", "-e", "8"]);
    assert_exit(&output, 6);
    let err = stderr(&output);
    assert!(
        err.contains("--provider") && err.contains("is empty"),
        "{err}"
    );
    assert!(
        !stdout(&output).contains("send/recv"),
        "{}",
        stdout(&output)
    );
}

/// A wait that exceeds `--timeout` is exit 4 (timeout), also while the two sides are still
/// exchanging endpoint addresses (that wait used to be reported as a libfabric error, exit 5).
#[test]
fn an_exceeded_timeout_is_exit_4_from_the_first_wait_on() {
    let output = run(
        60,
        &[
            "loopback",
            "--provider",
            "tcp",
            "-b",
            "8",
            "-e",
            "8",
            "--iters",
            "2",
            "--timeout",
            "0.000001",
        ],
    );
    assert_exit(&output, 4);
    assert!(stderr(&output).contains("--timeout"), "{}", stderr(&output));
}

/// The perf tools' spellings (-n, -w, -T, -J) and a quick sweep, after `extra`.
fn short_flag_loopback(extra: &[&str], json: &std::path::Path) -> std::process::Output {
    let mut args = vec!["loopback"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "--no-rma",
        "-b",
        "64",
        "-e",
        "64",
        "-n",
        "5",
        "-w",
        "1",
        "--bw-iters",
        "1",
        "-T",
        "20",
        "-J",
        json.to_str().unwrap(),
    ]);
    run(180, &args)
}

#[test]
fn on_an_efa_instance_type_a_missing_efa_provider_fails_instead_of_falling_back() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("loopback.json");
    // This host has no efa provider; a p5.48xlarge should have 32 EFA devices.
    for extra in [
        vec!["--instance-type", "p5.48xlarge"],
        vec!["--instance-type", "p5.48xlarge", "--all-domains"],
    ] {
        let output = short_flag_loopback(&extra, &json);
        assert_exit(&output, 7);
        let err = stderr(&output);
        for wanted in [
            "EFA check FAILED: instance type p5.48xlarge should have the efa provider (32 EFA devices)",
            "offers only",
            "tcp;ofi_rxm",
            "--provider",
        ] {
            assert!(err.contains(wanted), "{extra:?}: missing {wanted}: {err}");
        }
        assert!(!err.contains("notice: no efa provider"), "{err}");
        assert!(!json.exists(), "a failed selection wrote {json:?}");
    }
    // An instance type without EFA keeps the fallback; naming a provider is a deliberate choice.
    for extra in [
        vec!["--instance-type", "c7i.large"],
        vec!["--instance-type", "p5.48xlarge", "--provider", "tcp"],
    ] {
        let output = short_flag_loopback(&extra, &json);
        assert_exit(&output, 0);
        assert_eq!(json_file(&json)["provider"], "tcp;ofi_rxm", "{extra:?}");
        std::fs::remove_file(&json).unwrap();
    }
}
