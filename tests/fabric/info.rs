//! `collbench fabric info` against Debian's real libfabric (tcp, shm; no efa here).
#![cfg(feature = "fabric")]

use crate::support::fabric::*;
use crate::support::schema::json_file;

fn inventory(provider: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("info.json");
    let output = run(
        60,
        &[
            "info",
            "--provider",
            provider,
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_exit(&output, 0);
    let text = stdout(&output);
    assert!(text.contains("# collbench fabric info"), "{text}");
    json_file(&json)
}

#[test]
fn tcp_inventory_lists_rdm_entries_with_capabilities() {
    let report = inventory("tcp");
    let entries = report["entries"].as_array().expect("entries");
    assert!(!entries.is_empty());
    let rxm = entries
        .iter()
        .find(|e| e["provider"] == "tcp;ofi_rxm" && e["endpoint_type"] == "FI_EP_RDM")
        .expect("tcp;ofi_rxm RDM entry");
    let caps: Vec<&str> = rxm["caps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        caps.contains(&"FI_MSG") && caps.contains(&"FI_RMA"),
        "{caps:?}"
    );
    assert!(
        entries.iter().any(|e| e["domain"] == "lo"),
        "loopback interface domain missing"
    );
    assert_eq!(report["provider_filter"], "tcp");
    assert_eq!(report["efa"]["devices"].as_array().unwrap().len(), 0);
}

#[test]
fn shm_inventory_has_one_shm_domain() {
    let report = inventory("shm");
    let providers = report["providers"].as_array().unwrap();
    assert_eq!(providers.len(), 1, "{providers:?}");
    assert_eq!(providers[0]["provider"], "shm");
    assert_eq!(providers[0]["domains"], serde_json::json!(["shm"]));
    assert!(report["libfabric_runtime_version"]
        .as_str()
        .unwrap()
        .starts_with('1'));
}

#[test]
fn a_missing_provider_is_a_usage_error_listing_the_available_ones() {
    let output = run(60, &["info", "--provider", "efa"]);
    assert_exit(&output, 6);
    let err = stderr(&output);
    assert!(
        err.contains("--provider efa") && err.contains("no provider 'efa'"),
        "{err}"
    );
    assert!(
        err.contains("tcp;ofi_rxm") && err.contains("shm"),
        "available providers not listed: {err}"
    );
}

#[test]
fn an_efa_instance_without_its_efa_devices_fails_the_check() {
    for instance in ["p5.48xlarge", "p4d.24xlarge", "p5en.48xlarge"] {
        let output = run(60, &["info", "--instance-type", instance]);
        assert_exit(&output, 7);
        let expected = match instance {
            "p5.48xlarge" => 32,
            "p5en.48xlarge" => 16,
            _ => 4,
        };
        let text = stdout(&output);
        assert!(
            text.contains(&format!(
                "0 EFA devices found, {instance} should have {expected}"
            )),
            "{text}"
        );
    }
    // Even when asked for efa only: on an EFA instance type the missing provider is the failure.
    assert_exit(
        &run(
            60,
            &[
                "info",
                "--provider",
                "efa",
                "--instance-type",
                "p5.48xlarge",
            ],
        ),
        7,
    );
}

#[test]
fn instance_types_without_a_documented_count_are_skipped() {
    let output = run(60, &["info", "--instance-type", "m5.large"]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("no documented EFA device count for instance type 'm5.large'"));
    // Another provider asked for: the EFA devices were not listed, so nothing is claimed about them.
    let output = run(
        60,
        &[
            "info",
            "--provider",
            "shm",
            "--instance-type",
            "p5.48xlarge",
        ],
    );
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("EFA check: not run (--provider shm)"));
    assert!(!stdout(&output).contains("no documented"));
}

#[test]
fn an_unwritable_json_path_is_an_io_error() {
    let output = run(
        60,
        &[
            "info",
            "--provider",
            "shm",
            "--json",
            "/nonexistent-dir/info.json",
        ],
    );
    assert_exit(&output, 1);
    assert!(stderr(&output).contains("/nonexistent-dir/info.json"));
}

/// `collbench fabric info | true`: the reader is gone before the table is printed. The run still
/// writes its JSON and exits 0 (it used to panic on the broken pipe and exit 70).
#[test]
fn a_closed_stdout_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("info.json");
    let output = std::process::Command::new("timeout")
        .args([
            "60",
            "bash",
            "-c",
            r#""$0" "$@" | true; exit "${PIPESTATUS[0]}""#,
        ])
        .arg(env!("CARGO_BIN_EXE_collbench"))
        .args(["fabric", "info", "--provider", "tcp", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(json_file(&json)["entries"].as_array().is_some());
}
