//! The `-J` sink against docs/report.schema.json: what it writes validates (anchor-derived and
//! aggregated host-backend reports, checkpoints included), and the schema rejects what it must
//! (strings for numbers, nccl-tests' "true" strings for booleans, missing fields, credentials…).

use crate::support::anchors::read_anchor;
use crate::support::output::*;
use crate::support::schema::{errors_under, json_file, validator};
use collbench::report::{Report, SCHEMA_VERSION};
use collbench::sinks::{JsonSink, Sink};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

fn assert_valid(v: &jsonschema::Validator, instance: &Value, what: &str) {
    let errs = errors_under(v, instance);
    assert!(errs.is_empty(), "{what} does not validate: {errs:#?}");
}

/// Runs `report` through a JsonSink (row by row, like the runner) and returns the file's JSON.
fn write_through_sink(report: &Report, dir: &Path) -> Value {
    let path = dir.join("run.json");
    let mut sink = JsonSink::new(&path);
    sink.begin(report).unwrap();
    for row in &report.results {
        sink.row(report, row).unwrap();
    }
    sink.finish(report).unwrap();
    json_file(&path)
}

#[test]
fn schema_version_in_the_file_matches_the_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
    let schema = json_file(&path);
    assert_eq!(
        schema["properties"]["schema_version"]["const"],
        json!(SCHEMA_VERSION)
    );
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

#[test]
fn aggregated_host_backend_reports_validate_and_round_trip() {
    let v = validator();
    let dir = tempfile::tempdir().unwrap();
    for (per_iteration, wrong) in [(false, 0), (true, 0), (true, 9)] {
        let mut report = host_backend_report(&[8, 1024, 1 << 20], per_iteration, wrong);
        if wrong > 0 {
            report = with_memory(report);
        }
        let value = write_through_sink(&report, dir.path());
        assert_valid(&v, &value, "host-backend report");
        let back: Report = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(back, report, "the file reads back as the same report");

        // Real JSON types, not nccl-tests' strings.
        assert!(value["complete"].is_boolean());
        assert!(value["summary"]["passed"].is_boolean());
        assert!(value["results"][0]["size_bytes"].is_u64());
        assert!(value["results"][0]["out_of_place"]["time_us"].is_f64());
        assert!(value["results"][0]["root"].is_i64());
        assert_eq!(value["results"][0]["dtype"], "float");
        assert_eq!(
            value["summary"]["out_of_bounds"],
            json!(if wrong > 0 { 1 } else { 0 })
        );
        if wrong > 0 {
            assert_eq!(value["summary"]["first_wrong"]["rank"], 2);
            assert_eq!(value["results"][2]["in_place"]["wrong"], json!(wrong));
        }
        if per_iteration {
            assert!(value["results"][0]["in_place"]["per_iteration"]["p99_us"].is_f64());
        }
        // `-M` only: the key is absent without it.
        assert_eq!(value.get("memory").is_some(), wrong > 0);
    }
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["run.json"], "no temporary file left behind");
}

#[test]
fn anchor_reports_validate() {
    let v = validator();
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<String> = ANCHOR_COLLECTIVES
        .iter()
        .map(|c| format!("{c}.txt"))
        .collect();
    files.push("all_reduce_per_iter_I1.txt".into());
    files.push("all_reduce_cudagraph_G10.txt".into());
    for f in files {
        let report = report_from_anchor(&read_anchor(&f));
        assert_valid(&v, &write_through_sink(&report, dir.path()), &f);
    }
}

#[test]
fn checkpoints_are_valid_partial_reports() {
    let v = validator();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt.json");
    let report = host_backend_report(&[8, 64, 512], false, 0);

    let mut every_row = JsonSink::new(&path).with_checkpoint_interval(Some(Duration::ZERO));
    every_row.begin(&report).unwrap();
    let first = json_file(&path);
    assert_valid(&v, &first, "checkpoint at begin");
    assert_eq!(
        (first["complete"].clone(), first["end_time"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(first["results"].as_array().unwrap().len(), 0);
    for (i, row) in report.results.iter().enumerate() {
        every_row.row(&report, row).unwrap();
        let snap = json_file(&path);
        assert_valid(&v, &snap, "checkpoint after a row");
        assert_eq!(snap["results"].as_array().unwrap().len(), i + 1);
        assert_eq!(snap["complete"], false);
    }
    // finish with an empty `results` uses the rows the sink was given.
    let mut header_only = report.clone();
    header_only.results.clear();
    every_row.finish(&header_only).unwrap();
    let done = json_file(&path);
    assert_valid(&v, &done, "final report");
    assert_eq!(done["results"].as_array().unwrap().len(), 3);
    assert_eq!(done["complete"], true);

    // Without checkpoints the file keeps the header-only version until finish.
    let mut quiet = JsonSink::new(&path).with_checkpoint_interval(None);
    quiet.begin(&report).unwrap();
    for row in &report.results {
        quiet.row(&report, row).unwrap();
    }
    assert_eq!(json_file(&path)["results"].as_array().unwrap().len(), 0);
    quiet.finish(&report).unwrap();
    assert_eq!(json_file(&path)["results"].as_array().unwrap().len(), 3);
}

#[test]
fn unwritable_destination_is_an_io_error_with_the_path() {
    let report = host_backend_report(&[8], false, 0);
    let mut sink = JsonSink::new("/nonexistent-collbench-dir/run.json");
    let err = sink.begin(&report).unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.to_string().contains("/nonexistent-collbench-dir/"),
        "{err}"
    );
}

/// Each mutation must make a valid report invalid; the expected text appears in the error.
#[test]
fn schema_rejects_malformed_reports() {
    let v = validator();
    let good = serde_json::to_value(with_memory(host_backend_report(&[8, 64], true, 0))).unwrap();
    assert_valid(&v, &good, "baseline");

    type Mutation = (&'static str, fn(&mut Value));
    let mutations: Vec<Mutation> = vec![
        ("a string where a number belongs", |r| {
            r["results"][0]["out_of_place"]["time_us"] = json!("6.52")
        }),
        ("nccl-tests' string boolean", |r| {
            r["complete"] = json!("true")
        }),
        ("missing summary.passed", |r| {
            r["summary"].as_object_mut().unwrap().remove("passed");
        }),
        ("missing top-level results", |r| {
            r.as_object_mut().unwrap().remove("results");
        }),
        ("a non-finite time serialised as null", |r| {
            r["results"][1]["in_place"]["time_us"] = Value::Null
        }),
        ("negative bandwidth", |r| {
            r["results"][0]["in_place"]["busbw_gbps"] = json!(-1.0)
        }),
        ("unknown dtype", |r| r["results"][0]["dtype"] = json!("fp9")),
        ("unknown memory kind", |r| {
            r["memory"][0]["kind"] = json!("nvme")
        }),
        ("memory entry without buffer bytes", |r| {
            r["memory"][1]
                .as_object_mut()
                .unwrap()
                .remove("buffer_bytes");
        }),
        ("unknown backend", |r| r["backend"]["name"] = json!("gloo")),
        ("wrong schema version", |r| {
            r["schema_version"] = json!(SCHEMA_VERSION + 1)
        }),
        ("an unexpected field", |r| r["summary"]["extra"] = json!(1)),
        ("a credential in the environment", |r| {
            r["environment"]["NCCL_IB_SECRET_KEY"] = json!("x")
        }),
        ("fractional wrong count", |r| {
            r["results"][0]["out_of_place"]["wrong"] = json!(1.5)
        }),
        ("start time that is not RFC 3339", |r| {
            r["start_time"] = json!("2026-11-22 16:30:39")
        }),
        ("unknown -a mode", |r| {
            r["config"]["average_mode"] = json!("median")
        }),
        ("-z outside 0..3", |r| {
            r["config"]["blocking_mode"] = json!(4)
        }),
    ];
    for (what, mutate) in mutations {
        let mut bad = good.clone();
        mutate(&mut bad);
        let errs = errors_under(&v, &bad);
        assert!(!errs.is_empty(), "the schema accepted {what}");
        println!("rejected {what}: {}", errs[0]);
    }
}
