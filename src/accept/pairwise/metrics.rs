//! The Prometheus metrics of a `collbench accept --pairwise` or `--bisect` run, in the shared
//! metric table of `crate::sinks::prometheus`.

use crate::accept::pairing::Search;
use crate::accept::report::{GroupRecord, PairwiseReport};
use crate::sinks::prometheus::{Builder, GB};

/// The metrics of a `collbench accept --pairwise` or `--bisect` run (written by `--prom-file`,
/// pushed by `--push-gateway`): failing hosts, every pair's or group's busbw, host counts by
/// outcome, the verdict.
pub fn pairwise_exposition(r: &PairwiseReport, now_unix_seconds: f64) -> String {
    let mut b = Builder::new(vec![
        ("collective".into(), r.collective.clone()),
        ("backend".into(), r.backend.clone()),
        ("nodes".into(), r.hosts.len().to_string()),
        ("nranks".into(), r.nranks.to_string()),
        // As the push's grouping label: a pairwise file and a plain run's file in one
        // node_exporter textfile folder must not write the same series (node_exporter then
        // fails the whole textfile collection).
        ("mode".into(), r.search.mode().into()),
    ]);
    for (index, round) in r.rounds.iter().enumerate() {
        let round_label = ("round", (index + 1).to_string());
        for group in round {
            match (r.search, &group.hosts[..]) {
                (Search::Pairs, [host_a, host_b]) => {
                    add_pair(&mut b, round_label.clone(), host_a, host_b, group)
                }
                _ => b.add(
                    "collbench_group_bus_bandwidth_bytes_per_second",
                    &[round_label.clone(), ("hosts", group.hosts.join("+"))],
                    group.busbw_gbps * GB,
                ),
            }
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
            &[
                ("host", host.host.clone()),
                ("source", r.search.mode().into()),
            ],
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

/// A pair of `--pairwise`, under the metric dashboards already select on.
fn add_pair(
    builder: &mut Builder,
    round: (&'static str, String),
    host_a: &str,
    host_b: &str,
    pair: &GroupRecord,
) {
    builder.add(
        "collbench_pair_bus_bandwidth_bytes_per_second",
        &[
            round,
            ("host_a", host_a.to_string()),
            ("host_b", host_b.to_string()),
        ],
        pair.busbw_gbps * GB,
    );
}
