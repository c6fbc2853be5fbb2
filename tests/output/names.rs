//! One name per quantity: the table "Names of the measured quantities" in docs/output.md against
//! what the JSON report, the CSV and the Prometheus metrics really hold, and files written with
//! the names before schema 6 still load.

use crate::support::output::*;
use collbench::sinks::csv::CSV_HEADER;
use collbench::sinks::prometheus::{COMMON_LABELS, METRICS};
use serde_json::Value;
use std::collections::BTreeSet;

/// The table's cells: (JSON, CSV, Prometheus) names of each quantity, backticked names only.
fn docs_table() -> Vec<(Vec<String>, Vec<String>, Vec<String>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/output.md");
    let text = std::fs::read_to_string(path).unwrap();
    let section = text
        .split("# Names of the measured quantities")
        .nth(1)
        .expect("docs/output.md has the names section");
    section
        .lines()
        .skip_while(|l| !l.starts_with("| quantity"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (names(cells[3]), names(cells[4]), names(cells[5]))
        })
        .collect()
}

/// The backticked names of a cell, without the parenthesised example values.
fn names(cell: &str) -> Vec<String> {
    let cell = cell.split(" (").next().unwrap_or(cell);
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Dotted paths of the leaves of `value`, objects named in `opaque` kept whole.
fn leaf_paths(prefix: &str, value: &Value, opaque: &[&str], into: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) if !opaque.contains(&prefix) => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaf_paths(&path, inner, opaque, into);
            }
        }
        _ => {
            into.insert(prefix.to_string());
        }
    }
}

/// What a run's JSON holds for the quantities of the table: the row's keys, a measurement's
/// leaves, the summary's keys, the backend name and the rank count.
fn json_names(report: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let row = &report["results"][0];
    for key in row.as_object().unwrap().keys() {
        if key != "out_of_place" && key != "in_place" {
            names.insert(key.clone());
        }
    }
    names.extend(["out_of_place".to_string(), "in_place".to_string()]);
    let opaque = ["first_wrong", "stats"];
    leaf_paths("", &row["in_place"], &opaque, &mut names);
    for key in report["summary"].as_object().unwrap().keys() {
        names.insert(format!("summary.{key}"));
    }
    names.extend(["backend.name".to_string(), "nranks".to_string()]);
    names
}

fn sample_report_json() -> Value {
    // -I statistics and a wrong element, so every optional part of a measurement is there.
    let report = host_backend_report(&[8, 1024], true, 3);
    serde_json::to_value(&report).unwrap()
}

#[test]
fn json_names_are_the_documented_ones() {
    let documented: BTreeSet<String> = docs_table().into_iter().flat_map(|r| r.0).collect();
    let report = sample_report_json();
    let actual = json_names(&report);
    let undocumented: Vec<&String> = actual.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "JSON names missing from docs/output.md: {undocumented:?}"
    );
    let unknown: Vec<&String> = documented.difference(&actual).collect();
    assert!(
        unknown.is_empty(),
        "docs/output.md names that the JSON does not hold: {unknown:?}"
    );
}

#[test]
fn csv_columns_are_the_documented_ones() {
    let documented: BTreeSet<String> = docs_table().into_iter().flat_map(|r| r.1).collect();
    let header: BTreeSet<String> = CSV_HEADER.iter().map(|h| h.to_string()).collect();
    assert_eq!(documented, header, "docs/output.md against CSV_HEADER");
}

#[test]
fn prometheus_names_are_the_documented_ones() {
    let documented: BTreeSet<String> = docs_table().into_iter().flat_map(|r| r.2).collect();
    let metric_names: BTreeSet<&str> = METRICS.iter().map(|m| m.name).collect();
    let row_metric = METRICS
        .iter()
        .find(|m| m.labels.contains(&"redop"))
        .unwrap();
    for name in &documented {
        let known = metric_names.contains(name.as_str())
            || COMMON_LABELS.contains(&name.as_str())
            || row_metric.labels.contains(&name.as_str());
        assert!(known, "docs/output.md names `{name}`, no metric or label");
    }
    // Every metric of a measured row, and every label it has, is in the table.
    for metric in METRICS.iter().filter(|m| m.labels.contains(&"redop")) {
        assert!(
            documented.contains(metric.name),
            "{} undocumented",
            metric.name
        );
        for label in metric.labels.iter().chain(COMMON_LABELS) {
            assert!(documented.contains(*label), "label {label} undocumented");
        }
    }
}

#[test]
fn a_quantity_has_the_same_name_in_json_and_csv() {
    // Rows that name one JSON field per CSV column (placement does not: keys against a column).
    let rows = docs_table();
    let paired = rows
        .iter()
        .filter(|(json, csv, _)| !csv.is_empty() && json.len() == csv.len());
    for (json, csv, _) in paired {
        for (j, c) in json.iter().zip(csv) {
            let leaf = j.rsplit('.').next().unwrap();
            let parent = j.split('.').next().unwrap();
            let same = c == j
                || c == leaf
                || *c == format!("iter_{leaf}")
                || *c == format!("{parent}_{leaf}")
                || (leaf == "name" && c == parent);
            assert!(same, "JSON {j} and CSV {c} name one quantity differently");
        }
    }
}

#[test]
fn files_with_the_names_before_schema_6_still_load() {
    let report = host_backend_report(&[8, 1024], false, 0);
    let new_text = serde_json::to_string(&report).unwrap();
    assert!(new_text.contains("\"busbw_gbps\"") && !new_text.contains("bus_bandwidth"));
    let old_text = new_text
        .replace("\"busbw_gbps\"", "\"bus_bandwidth_gbps\"")
        .replace("\"avg_busbw_gbps\"", "\"avg_bus_bandwidth_gbps\"")
        .replace("\"min_busbw_gbps\"", "\"min_bus_bandwidth_gbps\"");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema5.json");
    std::fs::write(&path, old_text).unwrap();
    let loaded = collbench::compare::load::read_one(&path).unwrap();
    let run = &loaded.runs[0];
    assert_eq!(run.results, report.results);
    assert_eq!(
        run.summary.avg_bus_bandwidth_gbps,
        report.summary.avg_bus_bandwidth_gbps
    );
}
