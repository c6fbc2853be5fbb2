//! Prometheus textfile output checked by the real `promtool`, a push received by a real
//! `prometheus-pushgateway` started here, the JSON Lines record, and the Grafana dashboard's queries
//! checked against the metrics we emit.

use crate::support::accept::*;
use crate::support::gateway::{collbench_groups, http_get, start_gateway};
use crate::support::prometheus_server::dashboard_queries;
use collbench::report::memory::{MemoryKind, RankMemory};
use collbench::report::Report;
use collbench::sinks::jsonl::{self, JsonlSink};
use collbench::sinks::prometheus::{exposition, FailingHost, PromFileSink, COMMON_LABELS, METRICS};
use collbench::sinks::pushgateway::PushGatewaySink;
use collbench::sinks::Sink;
use collbench::verdict::{evaluate, Criteria};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn failing_report() -> Report {
    let mut rows = seeds_p5_two_nodes();
    rows[4].busbw_ip = 200.0;
    rows[4].slowest_rank = 9;
    let mut r = report("all_reduce", &["gpu-node-a", "gpu-node-b"], 8, &rows);
    // The evidence that names rank 9: its process took 4x the others per iteration.
    with_late_process(&mut r, 9);
    let mut c = Criteria::from_flags(Some("430"), None, Some("400")).unwrap();
    c.profile = Some(collbench::plan::profile::Profile::load("p5.48xlarge").unwrap());
    r.verdict = evaluate(&r, &c);
    r.memory = device_memory(r.nranks);
    r
}

/// `-M` on 8 GPUs per node: what each rank reports after allocation.
fn device_memory(nranks: usize) -> Vec<RankMemory> {
    (0..nranks)
        .map(|rank| RankMemory {
            rank,
            kind: MemoryKind::Device,
            device: Some((rank % 8) as i32),
            communicator_bytes: Some(586 << 20),
            buffer_bytes: 16 << 30,
            free_bytes: Some(40 << 30),
            total_bytes: Some(80 << 30),
            process_peak_rss_bytes: None,
        })
        .collect()
}

/// `promtool check metrics` on `text`: whether it passed, and what promtool said.
pub(crate) fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new("timeout")
        .args(["30", "promtool", "check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus) must be installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[test]
fn promtool_accepts_the_textfile_for_passing_failing_and_running_sweeps() {
    let passing = report("all_reduce", &["a", "b"], 8, &seeds_p5_two_nodes());
    let mut in_progress = passing.clone();
    in_progress.end_time = None;
    let mut failing = failing_report();
    // Label values with quotes, backslashes and a NUL (Open MPI's version string has one).
    failing.backend.library = "Open \"MPI\" v4.1.4 \\ build\0".into();
    let hosts = vec![FailingHost {
        host: "gpu-node-b".into(),
        source: "pairwise".into(),
    }];
    for (name, r, rows, hosts) in [
        ("passing", &passing, &passing.results[..], &[][..]),
        (
            "in progress",
            &in_progress,
            &in_progress.results[..3],
            &[][..],
        ),
        ("failing", &failing, &failing.results[..], &hosts[..]),
        ("empty", &in_progress, &[][..], &[][..]),
    ] {
        let text = exposition(r, rows, hosts, 1.7e9);
        let (ok, said) = promtool_check(&text);
        assert!(ok, "{name}: promtool said:\n{said}\n{text}");
    }
    // And promtool does reject a broken file: the check can fail.
    let (ok, _) = promtool_check("collbench_rows{collective=\"x\" 1\n");
    assert!(!ok);

    // -M: one series per rank and quantity, accepted by promtool.
    let mut with_memory = passing.clone();
    with_memory.memory = device_memory(with_memory.nranks);
    let text = exposition(&with_memory, &with_memory.results, &[], 1.7e9);
    let (ok, said) = promtool_check(&text);
    assert!(ok, "with memory: promtool said:\n{said}\n{text}");
    let memory_series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("collbench_rank_memory_bytes{"))
        .collect();
    assert_eq!(memory_series.len(), with_memory.nranks * 4, "{text}");
    assert!(
        text.contains(",rank=\"9\",host=\"b\",kind=\"device\",what=\"buffers\"} 17179869184\n"),
        "{text}"
    );
    assert!(
        !exposition(&passing, &passing.results, &[], 1.7e9).contains("collbench_rank_memory_bytes")
    );

    let text = exposition(&failing, &failing.results, &hosts, 1.7e9);
    assert!(text.contains("collbench_bus_bandwidth_bytes_per_second{collective=\"all_reduce\",backend=\"nccl\",nodes=\"2\",nranks=\"16\",size_bytes=\"17179869184\",dtype=\"float\",redop=\"sum\",root=\"-1\",placement=\"out_of_place\"} 487090000000\n"), "{text}");
    assert!(text.contains("collbench_verdict_passed{collective=\"all_reduce\",backend=\"nccl\",nodes=\"2\",nranks=\"16\",profile=\"p5.48xlarge\"} 0\n"), "{text}");
    assert!(text.contains("collbench_failing_host{collective=\"all_reduce\",backend=\"nccl\",nodes=\"2\",nranks=\"16\",host=\"gpu-node-b\",source=\"pairwise\"} 1\n"), "{text}");
    assert!(
        text.contains("host=\"gpu-node-b\",source=\"verdict\"} 1"),
        "{text}"
    );
    assert!(text.contains("collbench_info{collective=\"all_reduce\",backend=\"nccl\",nodes=\"2\",nranks=\"16\",version=\""), "{text}");
    assert!(text.contains("slurm_job_id=\"4242\"} 1"), "{text}");
}

#[test]
fn prom_file_is_rewritten_whole_after_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("collbench.prom");
    let mut r = report("all_reduce", &["a", "b"], 8, &seeds_p5_two_nodes());
    let rows = std::mem::take(&mut r.results);
    r.end_time = None;
    let mut sink = PromFileSink::new(&path).with_interval(std::time::Duration::ZERO);
    sink.begin(&r).unwrap();
    let series = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("collbench_bus_bandwidth_bytes_per_second{"))
            .count()
    };
    assert_eq!(series(&std::fs::read_to_string(&path).unwrap()), 0);
    for (i, row) in rows.iter().enumerate() {
        r.results.push(row.clone());
        sink.row(&r, row).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(series(&text), 2 * (i + 1));
        assert!(text.contains(&format!("collbench_rows{{collective=\"all_reduce\",backend=\"nccl\",nodes=\"2\",nranks=\"16\"}} {}\n", i + 1)));
        assert!(text.contains("collbench_run_complete{collective=\"all_reduce\",backend=\"nccl\",nodes=\"2\",nranks=\"16\"} 0\n"));
    }
    r.end_time = Some("2026-11-22T10:02:00Z".into());
    sink.finish(&r).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("collbench_run_complete{collective=\"all_reduce\",backend=\"nccl\",nodes=\"2\",nranks=\"16\"} 1\n"));
    assert!(promtool_check(&text).0);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[test]
fn a_real_pushgateway_receives_our_series_with_job_instance_and_slurm_labels() {
    let gw = start_gateway();
    let r = failing_report();
    let mut sink = PushGatewaySink::new(&format!("http://127.0.0.1:{}", gw.port)).unwrap();
    sink.set_failing_hosts(vec![FailingHost {
        host: "gpu-node-b".into(),
        source: "pairwise".into(),
    }]);
    sink.begin(&r).unwrap();
    sink.finish(&r).unwrap();

    let (code, body) = http_get(gw.port, "/api/v1/metrics").expect("pushgateway API answers");
    assert_eq!(code, 200, "{body}");
    let api: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(api["status"], "success");
    let groups = api["data"].as_array().unwrap();
    let group = groups
        .iter()
        .find(|g| g["labels"]["job"] == "collbench")
        .unwrap_or_else(|| panic!("no collbench group in {body}"));
    assert_eq!(group["labels"]["instance"], "gpu-node-a");
    assert_eq!(group["labels"]["collective"], "all_reduce");
    // The Slurm job is a label of collbench_info, not of the group: a rerun in a later job
    // replaces this group (tests/accept/dashboard_live.rs).
    assert!(group["labels"].get("slurm_job_id").is_none(), "{body}");
    assert_eq!(
        group["collbench_info"]["metrics"][0]["labels"]["slurm_job_id"],
        "4242"
    );
    let busbw = &group["collbench_bus_bandwidth_bytes_per_second"]["metrics"];
    let at_16g = busbw
        .as_array()
        .unwrap()
        .iter()
        .find(|m| {
            m["labels"]["size_bytes"] == "17179869184" && m["labels"]["placement"] == "out_of_place"
        })
        .unwrap_or_else(|| panic!("{busbw}"));
    assert_eq!(
        at_16g["value"].as_str().unwrap().parse::<f64>().unwrap(),
        487.09e9
    );
    let hosts = &group["collbench_failing_host"]["metrics"];
    assert!(hosts.to_string().contains("gpu-node-b"), "{hosts}");
    assert_eq!(
        group["collbench_verdict_passed"]["metrics"][0]["value"],
        "0"
    );

    // A second push of the same group replaces it (PUT), it does not add a group.
    let mut passing = report(
        "all_reduce",
        &["gpu-node-a", "gpu-node-b"],
        8,
        &seeds_p5_two_nodes(),
    );
    passing.verdict = evaluate(
        &passing,
        &Criteria::from_flags(Some("400"), None, None).unwrap(),
    );
    PushGatewaySink::new(&format!("http://127.0.0.1:{}/", gw.port))
        .unwrap()
        .push(&passing)
        .unwrap();
    let (groups, body) = collbench_groups(gw.port);
    assert_eq!(groups.len(), 1, "{body}");
    assert_eq!(
        groups[0]["collbench_verdict_passed"]["metrics"][0]["value"],
        "1"
    );
    assert!(groups[0].get("collbench_failing_host").is_none(), "{body}");

    // A gateway that is not there is an I/O error (exit 1) naming the URL, within the timeout.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let err = PushGatewaySink::new(&format!("http://127.0.0.1:{closed}"))
        .unwrap()
        .push(&passing)
        .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{closed}/metrics/job/collbench")),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn jsonl_keeps_every_finished_row_of_a_killed_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.jsonl");
    let full = failing_report();

    // Run 1 finishes; run 2 dies after three rows, in the middle of writing the fourth.
    let mut sink = JsonlSink::open(&path).unwrap();
    sink.begin(&full).unwrap();
    for row in &full.results {
        sink.row(&full, row).unwrap();
    }
    sink.finish(&full).unwrap();
    let mut second = full.clone();
    second.start_time = "2026-11-22T11:00:00Z".into();
    let mut sink = JsonlSink::open(&path).unwrap();
    sink.begin(&second).unwrap();
    for row in &second.results[..3] {
        sink.row(&second, row).unwrap();
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"{\"record\":\"row\",\"run_id\":\"2026-11-22T11:00:00Z/gpu")
        .unwrap();
    drop(f);

    let runs = jsonl::read_runs(&path).unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs[0].complete);
    assert_eq!(runs[0].results, full.results);
    assert_eq!(runs[0].verdict, full.verdict);
    assert!(!runs[1].complete);
    assert_eq!(runs[1].results, second.results[..3].to_vec());
    assert!(runs[1]
        .summary
        .interrupted
        .as_deref()
        .unwrap()
        .contains("no end record"));
    let expected_avg = second.results[..3]
        .iter()
        .map(|r| {
            r.out_of_place.as_ref().unwrap().bus_bandwidth_gbps
                + r.in_place.as_ref().unwrap().bus_bandwidth_gbps
        })
        .sum::<f64>()
        / 6.0;
    assert!((runs[1].summary.avg_bus_bandwidth_gbps - expected_avg).abs() < 1e-9);

    // A malformed line that is not the torn last one is an error naming the line.
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replacen("\"record\":\"row\"", "\"record\":\"bogus\"", 1);
    let err = jsonl::parse_runs(&broken, "runs.jsonl")
        .unwrap_err()
        .to_string();
    assert!(err.contains("runs.jsonl:2:"), "{err}");
    let orphan = "{\"record\":\"row\",\"run_id\":\"x\",\"row\":".to_string()
        + &serde_json::to_string(&full.results[0]).unwrap()
        + "}\n";
    let err = jsonl::parse_runs(&orphan, "o.jsonl")
        .unwrap_err()
        .to_string();
    assert!(err.contains("before that run's begin record"), "{err}");
}

// ---- Grafana dashboard ------------------------------------------------------------------------

const PROMQL_WORDS: &[&str] = &[
    "max",
    "min",
    "sum",
    "count",
    "avg",
    "by",
    "without",
    "time",
    "label_values",
    "topk",
    "bottomk",
    "rate",
    "increase",
    "and",
    "or",
    "unless",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Labels every series has besides ours: the Pushgateway's grouping labels (job, instance) and the
/// `cluster` label the operator's Prometheus gives the target (docs/dashboards.md).
const TARGET_LABELS: &[&str] = &["job", "instance", "cluster"];

/// (metric names, label names used with each metric, grouping labels, other identifiers).
struct Parsed {
    metrics: BTreeMap<String, BTreeSet<String>>,
    grouping: BTreeSet<String>,
    words: BTreeSet<String>,
}

fn parse_promql(expr: &str) -> Parsed {
    let chars: Vec<char> = expr.chars().collect();
    let mut p = Parsed {
        metrics: BTreeMap::new(),
        grouping: BTreeSet::new(),
        words: BTreeSet::new(),
    };
    let mut i = 0;
    let mut last_ident = String::new();
    let mut after_by = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += 1;
            }
            i += 1;
        } else if c == '{' {
            let end = i + chars[i..]
                .iter()
                .position(|&c| c == '}')
                .expect("closed matcher");
            let inside: String = chars[i + 1..end].iter().collect();
            let mut labels = BTreeSet::new();
            for matcher in inside.split(',') {
                let name: String = matcher
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let rest = matcher.trim()[name.len()..].trim_start();
                assert!(
                    rest.starts_with("=~") || rest.starts_with('=') || rest.starts_with("!="),
                    "{expr}: bad matcher {matcher}"
                );
                assert!(
                    rest.contains('"'),
                    "{expr}: matcher without string {matcher}"
                );
                labels.insert(name);
            }
            p.metrics
                .entry(last_ident.clone())
                .or_default()
                .extend(labels);
            i = end + 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let ident: String = chars[start..i].iter().collect();
            if ident.starts_with("collbench_") {
                p.metrics.entry(ident.clone()).or_default();
            } else if ident == "by" {
                after_by = true;
            } else {
                p.words.insert(ident.clone());
            }
            last_ident = ident;
        } else if c == '(' && after_by {
            let end = i + chars[i..].iter().position(|&c| c == ')').unwrap();
            let inside: String = chars[i + 1..end].iter().collect();
            p.grouping
                .extend(inside.split(',').map(|l| l.trim().to_string()));
            after_by = false;
            i = end + 1;
        } else {
            i += 1;
        }
    }
    p
}

#[test]
fn every_dashboard_query_uses_only_metrics_and_labels_we_emit() {
    let queries: Vec<String> = dashboard_queries()
        .into_iter()
        .map(|(_, expr)| expr)
        .collect();
    assert!(queries.len() >= 12, "{queries:?}");
    // What a real failing run with pairwise hosts emits.
    let r = failing_report();
    let emitted = exposition(
        &r,
        &r.results,
        &[FailingHost {
            host: "gpu-node-b".into(),
            source: "pairwise".into(),
        }],
        1.7e9,
    );
    let mut used = BTreeSet::new();
    for q in &queries {
        let parsed = parse_promql(q);
        assert!(
            !parsed.metrics.is_empty(),
            "{q}: queries no collbench metric"
        );
        let mut allowed_labels: BTreeSet<&str> =
            COMMON_LABELS.iter().chain(TARGET_LABELS).copied().collect();
        for (metric, labels) in &parsed.metrics {
            let def = METRICS
                .iter()
                .find(|m| m.name == metric)
                .unwrap_or_else(|| panic!("{q}: {metric} is not a metric collbench emits"));
            assert!(
                emitted.contains(&format!("\n{metric}{{")),
                "{q}: {metric} is declared but absent from a real failing run's output"
            );
            used.insert(metric.clone());
            for label in labels {
                assert!(
                    COMMON_LABELS.contains(&label.as_str())
                        || TARGET_LABELS.contains(&label.as_str())
                        || def.labels.contains(&label.as_str()),
                    "{q}: {metric} has no label {label}"
                );
            }
            allowed_labels.extend(def.labels.iter().copied());
        }
        for label in &parsed.grouping {
            assert!(
                allowed_labels.contains(label.as_str()),
                "{q}: groups by unknown label {label}"
            );
        }
        for word in &parsed.words {
            assert!(
                PROMQL_WORDS.contains(&word.as_str()) || allowed_labels.contains(word.as_str()),
                "{q}: '{word}' is neither PromQL nor a label we emit"
            );
        }
    }
    for wanted in [
        "collbench_bus_bandwidth_bytes_per_second",
        "collbench_verdict_passed",
        "collbench_failing_host",
    ] {
        assert!(used.contains(wanted), "dashboard lacks {wanted}");
    }
    // The checker is not vacuous: it rejects a metric we do not emit and a label we do not set.
    let bad = parse_promql("max by (host) (collbench_busbw_gbps{collective=\"x\"})");
    assert!(!METRICS.iter().any(|m| bad.metrics.contains_key(m.name)));
    let bad = parse_promql("collbench_rows{gpu=\"0\"}");
    assert!(bad.metrics["collbench_rows"].contains("gpu"));
}

#[test]
fn prom_file_progress_is_throttled_but_the_end_is_always_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("throttled.prom");
    let mut r = report("all_reduce", &["a", "b"], 8, &seeds_p5_two_nodes());
    let rows = std::mem::take(&mut r.results);
    r.end_time = None;
    let rows_line = |n: usize| {
        format!("collbench_rows{{collective=\"all_reduce\",backend=\"nccl\",nodes=\"2\",nranks=\"16\"}} {n}\n")
    };
    // Rows arriving faster than once a second do not rewrite the file each time.
    let mut sink = PromFileSink::new(&path);
    sink.begin(&r).unwrap();
    for row in &rows {
        r.results.push(row.clone());
        sink.row(&r, row).unwrap();
    }
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains(&rows_line(0)));
    std::thread::sleep(collbench::sinks::prometheus::PROGRESS_INTERVAL);
    // A -N cycle repeats a row: the same series, the latest value; the row count grows.
    r.results.push(rows[0].clone());
    sink.row(&r, &rows[0]).unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains(&rows_line(rows.len() + 1)));
    r.end_time = Some("2026-11-22T10:02:00Z".into());
    sink.finish(&r).unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains(&rows_line(rows.len() + 1)));
}

/// The dashboard as Grafana's file provisioning loads it: the JSON is used as it is (no import
/// page resolves `__inputs`), so every `$variable` and data source reference must resolve through
/// the dashboard's own template variables, and every query is filtered by cluster and job.
#[test]
fn the_dashboard_provisions_from_a_file_with_a_datasource_variable_and_cluster_job_filters() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dashboards/grafana-collbench.json"
    ))
    .unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    // What provisioning needs of the file: a uid of at most 40 characters, a title, no id.
    let uid = dash["uid"].as_str().unwrap();
    assert!(!uid.is_empty() && uid.len() <= 40, "{uid}");
    assert!(dash["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(dash.get("id").is_none_or(|id| id.is_null()));
    // Nothing only the UI's import page would resolve.
    assert!(dash.get("__inputs").is_none() && dash.get("__requires").is_none());
    assert!(
        !text.contains("${DS_"),
        "an import-only data source input is left"
    );
    let vars = dash["templating"]["list"].as_array().unwrap();
    let names: Vec<&str> = vars.iter().map(|v| v["name"].as_str().unwrap()).collect();
    let datasource = &vars[0];
    assert_eq!(
        (
            &datasource["name"],
            &datasource["type"],
            &datasource["query"]
        ),
        (
            &serde_json::json!("datasource"),
            &serde_json::json!("datasource"),
            &serde_json::json!("prometheus")
        )
    );
    // Every data source reference (panels, targets, variables) is the variable.
    let mut references = Vec::new();
    fn collect<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    if key == "datasource" && inner.is_object() {
                        out.push(inner);
                    }
                    collect(inner, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
            _ => {}
        }
    }
    collect(&dash, &mut references);
    assert!(references.len() > 12, "{}", references.len());
    for reference in references {
        assert_eq!(
            reference,
            &serde_json::json!({"type": "prometheus", "uid": "${datasource}"})
        );
    }
    // Every `$name` / `${name}` anywhere names a variable defined earlier in the list (Grafana
    // resolves them in order) or a Grafana built-in.
    for (i, var) in vars.iter().enumerate() {
        let own = serde_json::to_string(var).unwrap();
        for used in variable_references(&own) {
            let at = names.iter().position(|n| *n == used);
            assert!(
                at.is_some_and(|at| at < i) || used == names[i] || used.starts_with("__"),
                "variable {} uses ${used}, not defined before it",
                names[i]
            );
        }
    }
    for used in variable_references(&text) {
        assert!(
            names.contains(&used.as_str()) || used.starts_with("__"),
            "${used} is not a template variable"
        );
    }
    // Clusters never mix: every selector of every query filters by cluster and job (a variable
    // may leave out what it lists).
    for panel in dash["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let selectors = expr.matches('{').count();
            assert!(selectors > 0, "{expr}");
            for filter in ["cluster=~\"$cluster\"", "job=~\"$job\""] {
                assert_eq!(expr.matches(filter).count(), selectors, "{expr}: {filter}");
            }
        }
    }
}

/// The variable names `$name` and `${name}` reference in `text`.
fn variable_references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        let after = after.strip_prefix('{').unwrap_or(after);
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
        rest = &rest[at + 1..];
    }
    out
}
