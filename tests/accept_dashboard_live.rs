//! The Grafana dashboard evaluated by a real Prometheus that scrapes a real Pushgateway which
//! collbench pushed to: every panel and template variable returns data for real runs, and a rerun
//! replaces what the previous run showed (no stale verdicts, hosts or rows).

mod accept_support;

use accept_support::gateway::{http_get, start_gateway};
use accept_support::prometheus_server::{as_grafana_sends_it, dashboard_queries, start_prometheus};
use accept_support::*;
use collbench::report::Report;
use collbench::sinks::pushgateway::PushGatewaySink;
use collbench::verdict::{evaluate, Criteria};

/// 2 nodes, a check at 16 GiB that fails (200 GB/s in place, slowest rank 9 on gpu-node-b).
fn failing_run(slurm_job_id: &str) -> Report {
    let mut rows = seeds_p5_two_nodes();
    rows[6].busbw_ip = 200.0;
    rows[6].slowest_rank = 9;
    let mut r = report("all_reduce", &["gpu-node-a", "gpu-node-b"], 8, &rows);
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
    let busbw = query_of("Bus bandwidth by collective and size (out-of-place)");

    PushGatewaySink::new(&url)
        .unwrap()
        .push(&failing_run("4242"))
        .unwrap();
    prom.wait_for(&verdict, |s| s.len() == 1 && s[0].1 == 0.0);
    let named = prom.query(&failing_hosts);
    assert_eq!(named.len(), 1, "{named:?}");
    assert_eq!(named[0].0["host"], "gpu-node-b");
    assert_eq!(prom.query(&busbw).len(), 7);

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
    let (_, body) = http_get(gw.port, "/api/v1/metrics").unwrap();
    let api: serde_json::Value = serde_json::from_str(&body).unwrap();
    let groups: Vec<&serde_json::Value> = api["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["labels"]["job"] == "collbench")
        .collect();
    assert_eq!(groups.len(), 1, "{body}");
}
