//! The Prometheus metrics of a `collbench accept --pairwise` run, in the shared metric table of
//! `crate::sinks::prometheus`.

use crate::accept::report::PairwiseReport;
use crate::sinks::prometheus::{Builder, GB};

/// The metrics of a `collbench accept --pairwise` run (written by `--prom-file`, pushed by
/// `--push-gateway`): failing hosts, every pair's busbw, host counts by outcome, the verdict.
pub fn pairwise_exposition(r: &PairwiseReport, now_unix_seconds: f64) -> String {
    let mut b = Builder::new(vec![
        ("collective".into(), r.collective.clone()),
        ("backend".into(), r.backend.clone()),
        ("nodes".into(), r.hosts.len().to_string()),
        ("nranks".into(), r.nranks.to_string()),
        // As the push's grouping label: a pairwise file and a plain run's file in one
        // node_exporter textfile folder must not write the same series (node_exporter then
        // fails the whole textfile collection).
        ("mode".into(), "pairwise".into()),
    ]);
    for (index, round) in r.rounds.iter().enumerate() {
        for pair in round {
            b.add(
                "collbench_pair_bus_bandwidth_bytes_per_second",
                &[
                    ("round", (index + 1).to_string()),
                    ("host_a", pair.hosts[0].clone()),
                    ("host_b", pair.hosts[1].clone()),
                ],
                pair.busbw_gbps * GB,
            );
        }
    }
    let bad = r.bad_hosts.len();
    let unresolved = r.unresolved_hosts.len();
    let good = r.hosts.len().saturating_sub(bad + unresolved);
    for (state, count) in [("good", good), ("bad", bad), ("unresolved", unresolved)] {
        b.add(
            "collbench_pairwise_hosts",
            &[("state", state.to_string())],
            count as f64,
        );
    }
    b.add(
        "collbench_verdict_passed",
        &[("profile", String::new())],
        if r.passed { 1.0 } else { 0.0 },
    );
    for host in &r.bad_hosts {
        b.add(
            "collbench_failing_host",
            &[("host", host.host.clone()), ("source", "pairwise".into())],
            1.0,
        );
    }
    b.add(
        "collbench_run_interrupted",
        &[],
        if r.interrupted.is_some() { 1.0 } else { 0.0 },
    );
    b.add(
        "collbench_last_update_timestamp_seconds",
        &[],
        now_unix_seconds,
    );
    b.add(
        "collbench_info",
        &[
            ("version", r.tool.version.clone()),
            ("library", r.backend.clone()),
            (
                "slurm_job_id",
                std::env::var("SLURM_JOB_ID").unwrap_or_default(),
            ),
        ],
        1.0,
    );
    b.render()
}
