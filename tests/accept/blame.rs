//! Blame only with evidence, under a real `mpirun -np 4` (host backend): a run that is uniformly
//! below its threshold names nobody, in text, JSON and Prometheus; a run with one delayed rank
//! names that rank and its host in all three.

use crate::support::process::{mpirun, run, CpuHogs, SWEEP_BESIDE_HOGS};
use crate::support::schema::read_report;
use std::path::Path;
use std::time::Duration;

/// Fails every row: this machine's host backend reaches far less than 1000 GB/s.
fn judged_sweep(
    dir: &Path,
    name: &str,
    env: &[(&str, &str)],
) -> (String, serde_json::Value, String) {
    let json = dir.join(format!("{name}.json"));
    let prom = dir.join(format!("{name}.prom"));
    let args = [
        "-b",
        "8",
        "-e",
        "4K",
        "-f",
        "8",
        "-n",
        "10",
        "-w",
        "2",
        "-N",
        "2",
        "-I",
        "1",
        "-z",
        "3",
        "--min-busbw",
        "1000",
        "--min-busbw-size",
        "8",
        "--collbench-json",
        json.to_str().unwrap(),
        "--prom-file",
        prom.to_str().unwrap(),
    ];
    let _turn = crate::support::process::one_mpirun_at_a_time();
    let done = run(
        mpirun(4, "allreduce-perf", &args, env),
        Duration::from_secs(120),
    );
    assert_eq!(done.code(), Some(7), "{}", done.describe());
    let prom = std::fs::read_to_string(&prom).unwrap();
    (done.stderr, read_report(&json), prom)
}

fn failing_host_lines(prom: &str) -> Vec<&str> {
    prom.lines()
        .filter(|l| l.starts_with("collbench_failing_host{"))
        .collect()
}

#[test]
fn a_uniform_shortfall_names_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let (stderr, json, prom) = judged_sweep(dir.path(), "uniform", &[]);
    println!("{stderr}");
    assert!(stderr.contains("# Verdict: FAIL"), "{stderr}");
    assert!(
        stderr.contains("# No rank stands out: run accept --pairwise to isolate"),
        "{stderr}"
    );
    assert!(!stderr.contains("slowest: rank"), "{stderr}");
    assert!(!stderr.contains("# Outlier"), "{stderr}");
    let verdict = &json["verdict"];
    assert_eq!(verdict["blame"]["named"], false, "{verdict:#}");
    assert_eq!(
        verdict["slowest_ranks"].as_array().unwrap().len(),
        0,
        "{verdict:#}"
    );
    assert!(failing_host_lines(&prom).is_empty(), "{prom}");
}

#[test]
fn one_delayed_rank_is_named_with_its_host() {
    let dir = tempfile::tempdir().unwrap();
    // Rank 2 sleeps 2 ms after every collective: with -z 3 the others wait for it in the barrier
    // between iterations, outside their timed span; its own span holds the sleep.
    let (stderr, json, prom) =
        judged_sweep(dir.path(), "delayed", &[("COLLBENCH_TEST_DELAY", "2:2000")]);
    println!("{stderr}");
    let host = json["ranks"][2]["host"].as_str().unwrap().to_string();
    assert!(
        stderr.contains(&format!(
            "# Outlier: the process of rank 2 on {host} was the slowest"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("slowest: rank 2 on {host}")),
        "{stderr}"
    );
    let verdict = &json["verdict"];
    assert_eq!(verdict["blame"]["named"], true, "{verdict:#}");
    assert_eq!(verdict["blame"]["rank"], 2, "{verdict:#}");
    assert_eq!(verdict["slowest_ranks"][0]["rank"], 2, "{verdict:#}");
    assert_eq!(
        verdict["slowest_ranks"][0]["host"],
        host.as_str(),
        "{verdict:#}"
    );
    let lines = failing_host_lines(&prom);
    assert_eq!(lines.len(), 1, "{prom}");
    assert!(
        lines[0].contains(&format!("host=\"{host}\""))
            && lines[0].contains("source=\"verdict\"")
            && lines[0].ends_with("} 1"),
        "{prom}"
    );
}

/// A failed check measured while another program held the ranks' CPUs (two spinning threads per
/// CPU, as another job on the node) names the rank that waited, its host and its wait, in text
/// and JSON: the shortfall may be that program's, not the fabric's.
#[test]
fn a_failed_check_measured_while_a_rank_waited_for_a_cpu_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("busy.json");
    let mut args = SWEEP_BESIDE_HOGS.to_vec();
    args.extend([
        "--min-busbw",
        "1000",
        "--min-busbw-size",
        "8",
        "--collbench-json",
        json.to_str().unwrap(),
    ]);
    let done = {
        let _turn = crate::support::process::one_mpirun_at_a_time();
        let _hogs = CpuHogs::start();
        run(
            mpirun(2, "allreduce-perf", &args, &[]),
            Duration::from_secs(120),
        )
    };
    assert_eq!(done.code(), Some(7), "{}", done.describe());
    let report = read_report(&json);
    let busy: Vec<&serde_json::Value> = report["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.get("busy_rank"))
        .collect();
    assert!(!busy.is_empty(), "{:#}", report["verdict"]);
    let host = report["ranks"][0]["host"].as_str().unwrap();
    for b in &busy {
        assert_eq!(b["host"], host);
        assert!(b["wait_percent"].as_f64().unwrap() >= 10.0, "{b}");
    }
    let lines: Vec<&str> = done
        .stderr
        .lines()
        .filter(|l| l.starts_with("#        measured while rank "))
        .collect();
    assert!(!lines.is_empty(), "{}", done.stderr);
    for line in lines {
        let (rank_and_host, rest) = line["#        measured while rank ".len()..]
            .split_once(" waited ")
            .unwrap();
        assert!(
            rank_and_host == format!("0 on {host}") || rank_and_host == format!("1 on {host}"),
            "{line}"
        );
        let (percent, tail) = rest.split_once('%').unwrap();
        assert!(percent.parse::<f64>().unwrap() >= 10.0, "{line}");
        assert_eq!(
            tail,
            " of the timed loop for a CPU (held by another program or, oversubscribed, another \
             rank): rerun before judging the fabric"
        );
    }
}
