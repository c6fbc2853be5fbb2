//! Reports for the acceptance tests, built the way the runner builds them (no hand-written JSON).

use collbench::report::*;
use collbench::types::DataType;
use std::collections::BTreeMap;

/// One measured row: size, busbw out-of-place and in-place (GB/s), and which rank was slowest.
pub struct RowSpec {
    pub size: u64,
    pub busbw_oop: f64,
    pub busbw_ip: f64,
    pub slowest_rank: usize,
    /// Per-iteration coefficient of variation (percent), when `-I` was on.
    pub cv_percent: Option<f64>,
}

pub fn row(size: u64, busbw: f64) -> RowSpec {
    RowSpec {
        size,
        busbw_oop: busbw,
        busbw_ip: busbw,
        slowest_rank: 0,
        cv_percent: None,
    }
}

/// busbw factor of all_reduce for `n` ranks.
pub fn allreduce_factor(n: usize) -> f64 {
    2.0 * (n as f64 - 1.0) / n as f64
}

pub fn measurement(
    report_hosts: &[String],
    size: u64,
    busbw: f64,
    nranks: usize,
    slowest: usize,
    cv: Option<f64>,
) -> Measurement {
    let factor = allreduce_factor(nranks).max(1e-9);
    let algbw = busbw / factor;
    let time_us = if algbw > 0.0 {
        size as f64 / algbw / 1e3
    } else {
        1e9
    };
    Measurement {
        time_us,
        algbw_gbps: algbw,
        bus_bandwidth_gbps: busbw,
        wrong: Some(0),
        ranks_with_wrong: 0,
        first_wrong: None,
        ranks: RankSpread {
            time_us_min: time_us * 0.98,
            time_us_avg: time_us * 0.99,
            time_us_max: time_us,
            slowest_rank: slowest,
            slowest_host: report_hosts[slowest].clone(),
            slowest_device: Some((slowest % 8) as i32),
        },
        per_iteration: cv.map(|cv| IterStats {
            samples: 20,
            min_us: time_us * 0.95,
            max_us: time_us * 1.05,
            p50_us: time_us,
            p99_us: time_us * 1.04,
            cv_percent: cv,
            avg_us: time_us,
            p95_us: time_us * 1.03,
            stdev_us: time_us * cv / 100.0,
            ..IterStats::default()
        }),
        stats: None,
        run_queue_wait: None,
    }
}

/// A finished all_reduce report over `hosts` with `ranks_per_host` ranks each.
pub fn report(collective: &str, hosts: &[&str], ranks_per_host: usize, rows: &[RowSpec]) -> Report {
    let rank_hosts: Vec<String> = hosts
        .iter()
        .flat_map(|h| std::iter::repeat_n(h.to_string(), ranks_per_host))
        .collect();
    let nranks = rank_hosts.len();
    let ranks = rank_hosts
        .iter()
        .enumerate()
        .map(|(rank, host)| RankPlacement {
            rank,
            group: 0,
            host: host.clone(),
            pid: 1000 + rank as u32,
            device: Some((rank % ranks_per_host) as i32),
            bus_id: None,
            device_name: "NVIDIA H100 80GB HBM3".into(),
        })
        .collect();
    let results: Vec<ResultRow> = rows
        .iter()
        .map(|r| ResultRow {
            collective: collective.into(),
            size_bytes: r.size,
            count: r.size / 4,
            dtype: DataType::Float,
            redop: "sum".into(),
            root: -1,
            out_of_place: Some(measurement(
                &rank_hosts,
                r.size,
                r.busbw_oop,
                nranks,
                r.slowest_rank,
                r.cv_percent,
            )),
            in_place: Some(measurement(
                &rank_hosts,
                r.size,
                r.busbw_ip,
                nranks,
                r.slowest_rank,
                r.cv_percent,
            )),
            cycle: 0,
        })
        .collect();
    let avg = if results.is_empty() {
        0.0
    } else {
        rows.iter().map(|r| r.busbw_oop + r.busbw_ip).sum::<f64>() / (2 * rows.len()) as f64
    };
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "collbench".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        args: vec!["allreduce-perf".into(), "-b".into(), "8".into()],
        start_time: "2026-11-22T10:00:00Z".into(),
        end_time: Some("2026-11-22T10:01:00Z".into()),
        complete: true,
        backend: BackendInfo {
            name: "nccl".into(),
            library: "NCCL 2.28.9".into(),
            library_path: None,
            version_code: Some(22809),
            network: Some("AWS Libfabric".into()),
            network_by_process: Vec::new(),
        },
        collective: collective.into(),
        nranks,
        hosts: hosts.iter().map(|h| h.to_string()).collect(),
        ranks,
        memory: Vec::new(),
        slurm: Some(SlurmInfo {
            job_id: Some("4242".into()),
            step_id: Some("0".into()),
            node_list: Some(hosts.join(",")),
            nnodes: Some(hosts.len().to_string()),
            ntasks: Some(nranks.to_string()),
            partition: Some("gpu".into()),
        }),
        environment: BTreeMap::new(),
        config: RunConfig {
            nthreads: 1,
            ngpus: 1,
            min_bytes: rows.first().map(|r| r.size).unwrap_or(0),
            max_bytes: rows.last().map(|r| r.size).unwrap_or(0),
            step_kind: "factor".into(),
            step_value: 2.0,
            warmup_iters: 5,
            iters: 20,
            agg_iters: 1,
            check_iters: 1,
            graph_launches: 0,
            blocking: false,
            average_mode: "avg".into(),
            per_iteration_timing: false,
            per_iteration_skip: 0,
            run_cycles: 1,
            seed: 0,
            dtypes: vec![DataType::Float],
            ops: vec!["sum".into()],
            roots: vec![-1],
            blocking_mode: 0,
            unalign: 0,
            parallel_init: false,
            report_cputime: false,
            report_timestamps: false,
            adaptive: None,
        },
        results,
        summary: Summary {
            out_of_bounds: 0,
            avg_bus_bandwidth_gbps: avg,
            min_bus_bandwidth_gbps: None,
            passed: true,
            first_wrong: None,
            interrupted: None,
        },
        verdict: None,
    }
}

/// The seeds' 2× p5.48xlarge table (out-of-place busbw), 256 MiB to 16 GiB.
pub fn seeds_p5_two_nodes() -> Vec<RowSpec> {
    [
        (268435456u64, 342.81),
        (536870912, 393.34),
        (1073741824, 436.95),
        (2147483648, 443.72),
        (4294967296, 465.87),
        (8589934592, 479.28),
        (17179869184, 487.09),
    ]
    .into_iter()
    .map(|(size, busbw)| row(size, busbw))
    .collect()
}

/// Sends `signal` to every rank of one test's run, as slurmstepd delivers scancel's SIGTERM, and
/// returns how many it signalled. The ranks are the `binary` processes whose command line holds
/// `marker` (a path only that run uses), not its `timeout` or `mpirun` wrappers.
pub fn signal_ranks(binary: &str, marker: &str, signal: i32) -> usize {
    let listed = std::process::Command::new("pgrep")
        .args(["-f", binary])
        .output()
        .expect("pgrep (procps) must be installed");
    let pids: Vec<i32> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .map(|c| c.contains(marker) && !c.starts_with("timeout") && !c.contains("mpirun"))
                .unwrap_or(false)
        })
        .collect();
    for &pid in &pids {
        // SAFETY: kill(2) on a rank process of the calling test's own run.
        unsafe { libc::kill(pid, signal) };
    }
    pids.len()
}

/// Gives every measurement per-process iteration times (one process per rank, as `report` places
/// them) in which the process of `rank` takes 4x the others: the evidence that names a rank
/// (`collbench::verdict::blame`, as `-I 1 -z 3` measures it).
pub fn with_late_process(r: &mut Report, rank: usize) {
    let nranks = r.nranks;
    for row in &mut r.results {
        for m in [&mut row.out_of_place, &mut row.in_place]
            .into_iter()
            .flatten()
        {
            let t = m.time_us;
            let series: Vec<Vec<f64>> = (0..nranks)
                .map(|p| vec![if p == rank { 4.0 * t } else { t }; 10])
                .collect();
            let stats = m.per_iteration.get_or_insert_with(|| IterStats {
                samples: 10,
                min_us: t,
                max_us: 4.0 * t,
                p50_us: t,
                p99_us: 4.0 * t,
                avg_us: t,
                p95_us: 4.0 * t,
                ..IterStats::default()
            });
            stats.per_process_times_us = series;
        }
    }
}

/// A test profile's shape: its name, ranks per host and pass fraction; no derived node counts.
pub struct TestProfile<'a> {
    pub name: &'a str,
    pub gpus_per_node: u32,
    pub pass_fraction: f64,
}

/// Writes `dir/NAME.toml` with an all_reduce expectation per (nodes, size, busbw GB/s, why the
/// number) entry, and returns its path.
pub fn write_profile(
    dir: &std::path::Path,
    profile: TestProfile,
    entries: &[(u32, &str, f64, &str)],
) -> String {
    let TestProfile {
        name,
        gpus_per_node,
        pass_fraction,
    } = profile;
    let mut text = format!(
        "schema = 1\nname = \"{name}\"\ndescription = \"{gpus_per_node} rank(s) per host\"\n\
         instance_types = [\"test.1cpu\"]\ngpus_per_node = {gpus_per_node}\n\
         pass_fraction = {pass_fraction}\nderive_larger_node_counts = false\n"
    );
    for (nodes, size, gbps, why) in entries {
        text.push_str(&format!(
            "\n[[expect]]\ncollective = \"all_reduce\"\nnodes = {nodes}\nsize = \"{size}\"\n\
             busbw_gbps = {gbps}\nsource = \"made up for this test: {why}\"\n"
        ));
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}
