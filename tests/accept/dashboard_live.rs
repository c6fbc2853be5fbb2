//! The Grafana dashboard evaluated by a real Prometheus that scrapes a real Pushgateway which
//! collbench pushed to: every panel and template variable returns data for real runs, and a rerun
//! replaces what the previous run showed (no stale verdicts, hosts or rows).

use crate::support::accept::*;
use crate::support::gateway::{collbench_groups, start_gateway};
use crate::support::prometheus_server::{
    as_grafana_sends_it, as_grafana_sends_it_with, dashboard_queries, start_prometheus, CLUSTER,
};
use collbench::report::Report;
use collbench::sinks::pushgateway::PushGatewaySink;
use collbench::verdict::{evaluate, Criteria};

/// 2 nodes, a check at 16 GiB that fails (200 GB/s in place), rank 9 on gpu-node-b named by its
/// per-process iteration times.
fn failing_run(slurm_job_id: &str) -> Report {
    let mut rows = seeds_p5_two_nodes();
    rows[6].busbw_ip = 200.0;
    rows[6].slowest_rank = 9;
    let mut r = report("all_reduce", &["gpu-node-a", "gpu-node-b"], 8, &rows);
    // The evidence that names rank 9: its process took 4x the others per iteration.
    with_late_process(&mut r, 9);
    r.slurm.as_mut().unwrap().job_id = Some(slurm_job_id.into());
    r.verdict = evaluate(&r, &Criteria::from_flags(Some("400"), None, None).unwrap());
    assert!(!r.verdict.as_ref().unwrap().passed);
    r
}

/// The same two nodes after the repair, in a later Slurm job, with a shorter sweep (3 sizes).
fn passing_rerun(slurm_job_id: &str) -> Report {
    let rows = seeds_p5_two_nodes();
    let mut r = report("all_reduce", &["gpu-node-a", "gpu-node-b"], 8, &rows[4..]);
    r.slurm.as_mut().unwrap().job_id = Some(slurm_job_id.into());
    r.verdict = evaluate(&r, &Criteria::from_flags(Some("400"), None, None).unwrap());
    assert!(r.verdict.as_ref().unwrap().passed);
    r
}

fn query_of(title: &str) -> String {
    let (_, expr) = dashboard_queries()
        .into_iter()
        .find(|(t, _)| t == title)
        .unwrap_or_else(|| panic!("no panel '{title}' in the dashboard"));
    as_grafana_sends_it(&expr)
}

#[test]
fn a_rerun_in_a_new_slurm_job_replaces_the_failing_run_on_the_dashboard() {
    let gw = start_gateway();
    let prom = start_prometheus(gw.port);
    let url = format!("http://127.0.0.1:{}", gw.port);
    let verdict = query_of("Verdict by collective");
    let failing_hosts = query_of("Failing hosts");
    let busbw = query_of("Bus bandwidth by collective and size (out_of_place)");

    PushGatewaySink::new(&url)
        .unwrap()
        .push(&failing_run("4242"))
        .unwrap();
    prom.wait_for(&verdict, |s| s.len() == 1 && s[0].1 == 0.0);
    let named = prom.query(&failing_hosts);
    assert_eq!(named.len(), 1, "{named:?}");
    assert_eq!(named[0].0["host"], "gpu-node-b");
    assert_eq!(prom.query(&busbw).len(), 7);
    // The cluster and job filters: this cluster's runs, none of another's.
    let (_, verdict_expr) = dashboard_queries()
        .into_iter()
        .find(|(t, _)| t == "Verdict by collective")
        .unwrap();
    let this_cluster = [("cluster", CLUSTER), ("job", "collbench")];
    let shown = prom.query(&as_grafana_sends_it_with(&verdict_expr, &this_cluster));
    assert_eq!(shown.len(), 1, "{shown:?}");
    let other = [("cluster", "another-cluster")];
    assert_eq!(
        prom.query(&as_grafana_sends_it_with(&verdict_expr, &other)),
        vec![]
    );

    // Job 4243 re-tests the same nodes: they pass now, over 3 sizes.
    PushGatewaySink::new(&url)
        .unwrap()
        .push(&passing_rerun("4243"))
        .unwrap();
    prom.wait_for("collbench_info", |s| {
        s.iter().any(|(l, _)| l["slurm_job_id"] == "4243")
    });
    // One scrape later the replaced series are stale: the dashboard shows only the rerun.
    let shown = prom.wait_for(&verdict, |s| s.len() == 1 && s[0].1 == 1.0);
    assert_eq!(shown[0].0["nodes"], "2", "{shown:?}");
    assert_eq!(
        prom.query(&failing_hosts),
        vec![],
        "a repaired host is still named bad"
    );
    let sizes: Vec<String> = prom
        .query(&busbw)
        .into_iter()
        .map(|(l, _)| l["size_bytes"].clone())
        .collect();
    assert_eq!(
        sizes.len(),
        3,
        "rows of the first run are left over: {sizes:?}"
    );
    let info = prom.query("collbench_info");
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0].0["slurm_job_id"], "4243");

    // The Pushgateway holds one collbench group for these nodes, not one per Slurm job.
    let (groups, body) = collbench_groups(gw.port);
    assert_eq!(groups.len(), 1, "{body}");
}

#[cfg(feature = "mpi")]
/// `mpirun -np 4 collbench ARGS --push-gateway URL --prom-file DIR/NAME.prom -J DIR/NAME.json`
/// with ranks on hosts a, a, b, b (and `exported`, `NAME=VALUE`, in every rank's environment);
/// returns the exit code.
fn mpirun_collbench(
    url: &str,
    dir: &std::path::Path,
    name: &str,
    args: &[&str],
    exported: &[&str],
) -> i32 {
    let _turn = crate::support::process::one_mpirun_at_a_time();
    let out = std::process::Command::new("timeout")
        .args([
            "120",
            "mpirun",
            "--allow-run-as-root",
            "--oversubscribe",
            "-np",
            "4",
        ])
        .args(["-x", "COLLBENCH_TEST_HOSTNAME=a,a,b,b"])
        .args(exported.iter().flat_map(|e| ["-x", e]))
        .arg(env!("CARGO_BIN_EXE_collbench"))
        .args(args)
        .args(["--backend", "mpi", "--push-gateway", url, "--prom-file"])
        .arg(dir.join(format!("{name}.prom")))
        .arg("--collbench-json")
        .arg(dir.join(format!("{name}.json")))
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 7,
        "{name}: exit {code}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    code
}

#[cfg(feature = "mpi")] // runs ranks with mpirun
#[test]
fn every_dashboard_panel_and_variable_shows_data_from_real_runs() {
    let gw = start_gateway();
    let prom = start_prometheus(gw.port);
    let url = format!("http://127.0.0.1:{}", gw.port);
    let dir = tempfile::tempdir().unwrap();
    // A failing acceptance with -M whose rank 2 (host b) is late into every operation (named by
    // its per-process iteration times under -I 1 -z 3), a passing sweep over every type and op,
    // every root in turn.
    let failing = [
        "accept",
        "--min-busbw",
        "1000",
        "-M",
        "1",
        "-I",
        "1",
        "-z",
        "3",
        "-b",
        "8",
        "-e",
        "64K",
        "-f",
        "4",
    ];
    assert_eq!(
        mpirun_collbench(
            &url,
            dir.path(),
            "failing",
            &failing,
            &["COLLBENCH_TEST_DELAY=2:2000"]
        ),
        7
    );
    let all = [
        "run",
        "reduce_scatter",
        "-d",
        "all",
        "-o",
        "all",
        "-b",
        "64",
        "-e",
        "1K",
        "-f",
        "4",
        "--min-busbw",
        "0.000001",
    ];
    assert_eq!(mpirun_collbench(&url, dir.path(), "all", &all, &[]), 0);
    let roots = [
        "run",
        "broadcast",
        "-r",
        "all",
        "-b",
        "64",
        "-e",
        "1K",
        "-f",
        "4",
    ];
    assert_eq!(mpirun_collbench(&url, dir.path(), "roots", &roots, &[]), 0);

    // The textfiles pass promtool, and every family has its HELP and TYPE.
    for name in ["failing", "all", "roots"] {
        let text = std::fs::read_to_string(dir.path().join(format!("{name}.prom"))).unwrap();
        let check = std::process::Command::new("timeout")
            .args(["30", "promtool", "check", "metrics"])
            .stdin(std::fs::File::open(dir.path().join(format!("{name}.prom"))).unwrap())
            .output()
            .unwrap();
        assert!(check.status.success(), "{name}: {check:?}");
        let families: std::collections::BTreeSet<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split(['{', ' ']).next().unwrap())
            .collect();
        for family in families {
            assert!(
                text.contains(&format!("# HELP {family} ")),
                "{name}: {family}"
            );
            assert!(
                text.contains(&format!("# TYPE {family} gauge\n")),
                "{name}: {family}"
            );
        }
    }
    // A rerun writes the same series (no time, pid or job id in any label but collbench_info's).
    assert_eq!(
        mpirun_collbench(&url, dir.path(), "roots-again", &roots, &[]),
        0
    );
    let identities = |name: &str| -> Vec<String> {
        std::fs::read_to_string(dir.path().join(format!("{name}.prom")))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.rsplit_once(' ').unwrap().0.to_string())
            .collect()
    };
    assert_eq!(identities("roots"), identities("roots-again"));

    prom.wait_for("count by (collective) (collbench_info)", |s| s.len() == 3);
    for (title, expr) in dashboard_queries() {
        let sent = as_grafana_sends_it(&expr);
        let samples = prom.query(&sent);
        assert!(!samples.is_empty(), "panel '{title}' shows nothing: {sent}");
    }
    // The variables list what the runs measured.
    let listed = |var: &str, label: &str| -> Vec<String> {
        let (_, expr) = dashboard_queries()
            .into_iter()
            .find(|(t, _)| t == &format!("var:{var}"))
            .unwrap();
        prom.query(&as_grafana_sends_it(&expr))
            .into_iter()
            .map(|(l, _)| l[label].clone())
            .collect()
    };
    assert_eq!(listed("cluster", "cluster"), [CLUSTER]);
    assert_eq!(listed("job", "job"), ["collbench"]);
    // Every panel with this cluster and job chosen shows what it shows with All, and nothing
    // with another cluster chosen (but the cluster variable, which lists every cluster).
    for (title, expr) in dashboard_queries()
        .into_iter()
        .filter(|(t, _)| t != "var:cluster")
    {
        let chosen = as_grafana_sends_it_with(&expr, &[("cluster", CLUSTER), ("job", "collbench")]);
        assert_eq!(
            prom.query(&chosen).len(),
            prom.query(&as_grafana_sends_it(&expr)).len(),
            "'{title}': {chosen}"
        );
        let elsewhere = as_grafana_sends_it_with(&expr, &[("cluster", "another-cluster")]);
        assert!(
            prom.query(&elsewhere).is_empty(),
            "'{title}' mixes clusters: {elsewhere}"
        );
    }
    let mut collectives = listed("collective", "collective");
    collectives.sort();
    assert_eq!(collectives, ["all_reduce", "broadcast", "reduce_scatter"]);
    assert_eq!(listed("nodes", "nodes"), ["2"]);
    assert!(listed("dtype", "dtype").len() >= 10);
    // The failing host is named, and the bandwidth is the -J report's busbw in bytes per second.
    let hosts = prom.query(&query_of("Failing hosts"));
    assert!(
        hosts
            .iter()
            .all(|(l, _)| ["a", "b"].contains(&l["host"].as_str())),
        "{hosts:?}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("failing.json")).unwrap())
            .unwrap();
    for row in json["results"].as_array().unwrap() {
        let size = row["size_bytes"].as_u64().unwrap();
        let gbps = row["out_of_place"]["busbw_gbps"].as_f64().unwrap();
        let shown = prom.query(&format!(
            "collbench_bus_bandwidth_bytes_per_second{{collective=\"all_reduce\",\
             size_bytes=\"{size}\",placement=\"out_of_place\"}}"
        ));
        assert_eq!(shown.len(), 1, "{size}: {shown:?}");
        assert!(
            (shown[0].1 - gbps * 1e9).abs() <= 1e-6 * gbps * 1e9,
            "{size}: {} B/s against {gbps} GB/s",
            shown[0].1
        );
    }
}

#[cfg(feature = "mpi")]
/// Validator for one definition of docs/report.schema.json (`$ref`s inside it resolve in the file).
fn schema_definition(name: &str) -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let id = schema["$id"].as_str().unwrap().to_string();
    let registry = jsonschema::Registry::new()
        .add(id.as_str(), schema)
        .unwrap()
        .prepare()
        .unwrap();
    jsonschema::options()
        .with_registry(&registry)
        .build(&serde_json::json!({ "$ref": format!("{id}#/$defs/{name}") }))
        .unwrap()
}

#[cfg(feature = "mpi")]
fn errors(validator: &jsonschema::Validator, value: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[cfg(feature = "mpi")] // runs ranks with mpirun
#[test]
fn jsonl_records_and_the_pairwise_report_of_real_runs_are_documented_in_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("runs.jsonl");
    let run = |hosts: &str, args: &[&str], code: i32| {
        let out = std::process::Command::new("timeout")
            .args([
                "120",
                "mpirun",
                "--allow-run-as-root",
                "--oversubscribe",
                "-np",
                "4",
            ])
            .args(["-x", &format!("COLLBENCH_TEST_HOSTNAME={hosts}")])
            // Waiting ranks yield the CPU: this machine runs more ranks than cores.
            .args(["-x", "OMPI_MCA_mpi_yield_when_idle=1"])
            .arg(env!("CARGO_BIN_EXE_collbench"))
            .args(args)
            .args(["--backend", "mpi", "--jsonl"])
            .arg(&jsonl)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{out:?}");
    };
    // A failing verdict (end record with a verdict), then a pairwise isolation.
    let failing = [
        "accept",
        "--min-busbw",
        "1000",
        "-M",
        "1",
        "-b",
        "8",
        "-e",
        "4K",
        "-f",
        "4",
    ];
    run("a,a,b,b", &failing, 7);
    let pairwise_json = dir.path().join("pairwise.json");
    // Healthy pairs of a noisy, oversubscribed 2-core machine have measured 2x apart: a 95%
    // tolerance keeps them passing while still deriving the threshold from a reference pair.
    let pairwise = [
        "accept",
        "--pairwise",
        "-b",
        "8",
        "-e",
        "4K",
        "-f",
        "4",
        "--pair-tolerance",
        "95",
        "--collbench-json",
        pairwise_json.to_str().unwrap(),
    ];
    run("a,b,c,d", &pairwise, 0);
    let bisect_json = dir.path().join("bisect.json");
    let bisect = [
        "accept",
        "--bisect",
        "-b",
        "8",
        "-e",
        "4K",
        "-f",
        "4",
        "--min-busbw",
        "0.000001",
        "--collbench-json",
        bisect_json.to_str().unwrap(),
    ];
    run("a,b,c,d", &bisect, 0);

    let record = schema_definition("jsonl_record");
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        kinds.insert(value["record"].as_str().unwrap().to_string());
        let found = errors(&record, &value);
        assert!(found.is_empty(), "line {}: {found:?}\n{line}", n + 1);
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["begin", "bisect", "end", "group", "pair", "pairwise", "row"]
    );
    // A sweep reader skips the isolation records: the file holds one run, the failing verdict's.
    let runs = collbench::sinks::jsonl::read_runs(&jsonl).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].results.len(), 5, "8 B .. 2 KiB by x4");
    for path in [&pairwise_json, &bisect_json] {
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let found = errors(&schema_definition("pairwise_report"), &report);
        assert!(found.is_empty(), "{}: {found:?}", path.display());
    }

    // The schema is not vacuous: an unknown field or a wrong type in a record is refused.
    let mut row: serde_json::Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    row["busbw"] = 1.into();
    assert!(!errors(&record, &row).is_empty());
    let mut pair: serde_json::Value = serde_json::from_str(
        text.lines()
            .find(|l| l.contains("\"record\":\"pair\""))
            .unwrap(),
    )
    .unwrap();
    pair["round"] = "1".into();
    assert!(!errors(&record, &pair).is_empty());
}
