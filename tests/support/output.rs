//! For the output tests: turning an nccl-tests anchor back into a `Report`, building synthetic
//! multi-rank reports, and a reader of the text table that works the way cluster health-check
//! scripts do (grep a footer, split a line on blanks, take a field).

use collbench::aggregate::{aggregate_measurement, summarize, AggregateOptions, RankSample};
use collbench::data::WrongElement;
use collbench::plan::AverageMode;
use collbench::report::memory::{MemoryKind, RankMemory};
use collbench::report::{
    BackendInfo, IterStats, Measurement, RankPlacement, RankSpread, Report, ResultRow, RunConfig,
    SlurmInfo, Summary, ToolInfo, SCHEMA_VERSION,
};
use collbench::types::DataType;
use std::collections::BTreeMap;

/// The collectives with an anchor file, by nccl-tests name.
pub const ANCHOR_COLLECTIVES: [&str; 10] = [
    "all_reduce",
    "all_gather",
    "alltoall",
    "broadcast",
    "gather",
    "hypercube",
    "reduce",
    "reduce_scatter",
    "scatter",
    "sendrecv",
];

/// Text after the first line (the only line collbench prints differently).
pub fn after_first_line(text: &str) -> &str {
    text.split_once('\n').map_or("", |(_, rest)| rest)
}

// ---------------------------------------------------------------------------------------------
// Anchor file → Report

fn field(line: &str, from: usize, to: usize) -> &str {
    line.get(from..to.min(line.len())).unwrap_or("").trim()
}

fn num(s: &str) -> f64 {
    s.parse()
        .unwrap_or_else(|_| panic!("not a number in anchor: {s:?}"))
}

/// One cell parsed from the fixed columns: `  %7s  %6s  %6s  %6s` (+ `  %7s` × 4 with -I).
fn cell(text: &str, per_iteration: bool) -> Measurement {
    let time_us = num(field(text, 2, 9));
    let wrong = field(text, 27, 33);
    let per_iteration = per_iteration.then(|| IterStats {
        samples: 20,
        min_us: num(field(text, 35, 42)),
        max_us: num(field(text, 44, 51)),
        p50_us: 0.0,
        p99_us: num(field(text, 53, 60)),
        cv_percent: num(field(text, 62, 69)),
        avg_us: 0.0,
        p95_us: 0.0,
        stdev_us: 0.0,
        ..IterStats::default()
    });
    Measurement {
        time_us,
        algbw_gbps: num(field(text, 11, 17)),
        bus_bandwidth_gbps: num(field(text, 19, 25)),
        wrong: (wrong != "N/A").then(|| num(wrong) as u64),
        ranks_with_wrong: 0,
        first_wrong: None,
        ranks: RankSpread {
            time_us_min: time_us,
            time_us_avg: time_us,
            time_us_max: time_us,
            slowest_rank: 0,
            slowest_host: "vm".into(),
            slowest_device: Some(0),
        },
        per_iteration,
        stats: None,
        run_queue_wait: None,
    }
}

/// Rebuilds the report an nccl-tests anchor shows (config line, rank lines, rows, footers).
pub fn report_from_anchor(text: &str) -> Report {
    let lines: Vec<&str> = text.lines().collect();
    let collective = lines[1]
        .strip_prefix("# Collective test starting: ")
        .and_then(|s| s.strip_suffix("_perf"))
        .expect("line 2 names the test")
        .to_string();
    let t: Vec<&str> = lines[2].split_whitespace().collect();
    let (step, kind) = t[10].trim_end_matches(')').split_once('(').expect("step");
    let per_iteration = text.contains("# Per-Iteration Report:");
    let config = RunConfig {
        nthreads: t[2].parse().unwrap(),
        ngpus: t[4].parse().unwrap(),
        min_bytes: t[6].parse().unwrap(),
        max_bytes: t[8].parse().unwrap(),
        step_kind: kind.to_string(),
        step_value: num(step),
        warmup_iters: t[13].parse().unwrap(),
        iters: t[15].parse().unwrap(),
        agg_iters: t[18].parse().unwrap(),
        check_iters: t[20].parse().unwrap(),
        graph_launches: t[22].parse().unwrap(),
        unalign: t[24].parse().unwrap(),
        per_iteration_timing: per_iteration,
        average_mode: "avg".into(),
        run_cycles: 1,
        dtypes: vec![DataType::Float],
        ..RunConfig::default()
    };
    let ranks: Vec<RankPlacement> = lines
        .iter()
        .filter(|l| l.starts_with("#  Rank "))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name_at = l.find(f[11]).unwrap() + f[11].len() + 1;
            RankPlacement {
                rank: f[2].parse().unwrap(),
                group: f[4].parse().unwrap(),
                pid: f[6].parse().unwrap(),
                host: f[8].to_string(),
                device: Some(f[10].parse().unwrap()),
                bus_id: Some(f[11].trim_matches(['[', ']']).to_string()),
                device_name: l[name_at..].to_string(),
            }
        })
        .collect();
    let cell_width = if per_iteration { 69 } else { 33 };
    let results: Vec<ResultRow> = lines
        .iter()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| ResultRow {
            collective: collective.clone(),
            size_bytes: num(field(l, 0, 12)) as u64,
            count: num(field(l, 14, 26)) as u64,
            dtype: DataType::parse(field(l, 28, 36)).expect("dtype"),
            redop: field(l, 38, 44).to_string(),
            root: num(field(l, 46, 52)) as i64,
            out_of_place: Some(cell(&l[52..52 + cell_width], per_iteration)),
            in_place: Some(cell(&l[52 + cell_width..], per_iteration)),
            cycle: 0,
        })
        .collect();
    let oob_line = lines
        .iter()
        .find(|l| l.starts_with("# Out of bounds"))
        .unwrap();
    let avg_line = lines.iter().find(|l| l.starts_with("# Avg bus")).unwrap();
    let summary = Summary {
        out_of_bounds: oob_line.split_whitespace().nth(6).unwrap().parse().unwrap(),
        avg_bus_bandwidth_gbps: num(avg_line.split_whitespace().nth(5).unwrap()),
        min_bus_bandwidth_gbps: None,
        passed: true,
        first_wrong: None,
        interrupted: None,
    };
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "collbench".into(),
            version: "0.1.0".into(),
        },
        args: vec!["all_reduce_perf".into(), "-b".into(), "8".into()],
        start_time: "2026-11-22T16:30:39.000Z".into(),
        end_time: Some("2026-11-22T16:30:40.000Z".into()),
        complete: true,
        backend: BackendInfo {
            name: "nccl".into(),
            library: "NCCL 2.28.9".into(),
            library_path: Some("/lib/x86_64-linux-gnu/libnccl.so.2".into()),
            version_code: Some(22809),
            network: None,
            network_by_process: Vec::new(),
        },
        collective,
        nranks: ranks.len(),
        hosts: vec!["vm".into()],
        ranks,
        memory: Vec::new(),
        slurm: None,
        environment: BTreeMap::new(),
        config,
        results,
        summary,
        verdict: None,
    }
}

// ---------------------------------------------------------------------------------------------
// A synthetic host-backend run, aggregated from per-rank samples the way the runner does.

/// 4 ranks on 2 hosts, host memory, all_reduce float sum over `sizes`; rank 2 plants `wrong`
/// elements in the in-place cell of the last size when `wrong > 0`.
pub fn host_backend_report(sizes: &[u64], per_iteration: bool, wrong: u64) -> Report {
    let nranks = 4;
    let ranks: Vec<RankPlacement> = (0..nranks)
        .map(|r| RankPlacement {
            rank: r,
            group: 0,
            host: if r < 2 {
                "node-a".into()
            } else {
                "node-b".into()
            },
            pid: 4000 + r as u32,
            device: None,
            bus_id: None,
            device_name: "host memory".into(),
        })
        .collect();
    let opts = AggregateOptions {
        mode: AverageMode::Avg,
        per_iteration_skip: 0,
        report_cputime: false,
        center_is_reported: false,
    };
    let factor = 2.0 * (nranks as f64 - 1.0) / nranks as f64;
    let results: Vec<ResultRow> = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            let cell = |in_place: bool| {
                let samples: Vec<RankSample> = (0..nranks)
                    .map(|r| {
                        let base = 5e-6 + size as f64 * 1e-10;
                        let plant = in_place && r == 2 && i + 1 == sizes.len() && wrong > 0;
                        RankSample {
                            rank: r,
                            seconds_per_op: base * (1.0 + 0.1 * r as f64),
                            cpu_seconds_per_op: base,
                            wrong: Some(if plant { wrong } else { 0 }),
                            first_wrong: plant.then(|| WrongElement {
                                rank: r,
                                index: 17,
                                expected: "6".into(),
                                got: "-6".into(),
                            }),
                            per_iteration_us: if per_iteration {
                                (0..10)
                                    .map(|k| base * 1e6 * (1.0 + 0.01 * ((k * 7 + r) % 10) as f64))
                                    .collect()
                            } else {
                                vec![]
                            },
                            batch_seconds_per_op: vec![base * (1.0 + 0.1 * r as f64)],
                            // A rank that waited for a CPU 1 % of the loop per rank index.
                            run_queue_share: Some(0.01 * r as f64),
                        }
                    })
                    .collect();
                aggregate_measurement(&samples, &ranks, size as f64, factor, opts)
                    .expect("aggregate")
            };
            ResultRow {
                collective: "all_reduce".into(),
                size_bytes: size,
                count: size / 4,
                dtype: DataType::Float,
                redop: "sum".into(),
                root: -1,
                out_of_place: Some(cell(false)),
                in_place: Some(cell(true)),
                cycle: 0,
            }
        })
        .collect();
    let summary = summarize(&results, None, None);
    let mut environment = BTreeMap::new();
    environment.insert("NCCL_DEBUG".to_string(), "WARN".to_string());
    environment.insert("SLURM_JOB_ID".to_string(), "77".to_string());
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "collbench".into(),
            version: "0.1.0".into(),
        },
        args: vec![
            "allreduce-perf".into(),
            "-b".into(),
            "8".into(),
            "-e".into(),
            "16M".into(),
        ],
        start_time: "2026-11-22T17:00:00.000Z".into(),
        end_time: Some("2026-11-22T17:00:03.250Z".into()),
        complete: true,
        backend: BackendInfo {
            name: "mpi".into(),
            library: "Open MPI v4.1.4".into(),
            library_path: None,
            version_code: None,
            network: None,
            network_by_process: Vec::new(),
        },
        collective: "all_reduce".into(),
        nranks,
        hosts: vec!["node-a".into(), "node-b".into()],
        memory: Vec::new(),
        ranks,
        slurm: Some(SlurmInfo {
            job_id: Some("77".into()),
            step_id: Some("0".into()),
            node_list: Some("node-[a-b]".into()),
            nnodes: Some("2".into()),
            ntasks: Some("4".into()),
            partition: None,
        }),
        environment,
        config: RunConfig {
            nthreads: 1,
            ngpus: 1,
            min_bytes: sizes[0],
            max_bytes: *sizes.last().unwrap(),
            step_kind: "factor".into(),
            step_value: 2.0,
            warmup_iters: 5,
            iters: 10,
            agg_iters: 1,
            check_iters: 1,
            average_mode: "avg".into(),
            per_iteration_timing: per_iteration,
            run_cycles: 1,
            seed: 1,
            dtypes: vec![DataType::Float],
            ops: vec!["sum".into()],
            roots: vec![-1],
            ..RunConfig::default()
        },
        results,
        summary,
        verdict: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the table like a health-check script.

/// `grep PATTERN` (fixed string).
/// `report` with a `-M` memory entry per rank: GPU memory for even ranks, host memory for odd.
pub fn with_memory(mut report: Report) -> Report {
    report.memory = (0..report.nranks)
        .map(|rank| {
            let device = rank % 2 == 0;
            RankMemory {
                rank,
                kind: if device {
                    MemoryKind::Device
                } else {
                    MemoryKind::Host
                },
                device: device.then_some(rank as i32),
                communicator_bytes: device.then_some(586 << 20),
                buffer_bytes: 3 << 20,
                free_bytes: Some(20 << 30),
                total_bytes: Some(24 << 30),
                process_peak_rss_bytes: (!device).then_some(40 << 20),
            }
        })
        .collect();
    report
}

pub fn grep<'a>(text: &'a str, pattern: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(pattern)).collect()
}

/// awk's `$n` (1-based, fields split on runs of blanks).
pub fn awk_field(line: &str, n: usize) -> Option<&str> {
    line.split_whitespace().nth(n.checked_sub(1)?)
}

/// Result lines: what `grep -v '^#'` keeps, minus blank lines.
pub fn data_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect()
}

/// `grep "Out of bounds values" | awk '{print $7, $8}'`.
pub fn out_of_bounds(text: &str) -> (u64, String) {
    let line = grep(text, "Out of bounds values")
        .into_iter()
        .next()
        .expect("an Out of bounds line");
    (
        awk_field(line, 7).expect("$7").parse().expect("a count"),
        awk_field(line, 8).expect("$8").to_string(),
    )
}

/// `grep "Avg bus bandwidth" | awk '{print $6}'`.
pub fn avg_bus_bandwidth(text: &str) -> f64 {
    let line = grep(text, "Avg bus bandwidth")
        .into_iter()
        .next()
        .expect("an Avg bus bandwidth line");
    awk_field(line, 6).expect("$6").parse().expect("a number")
}

/// One result line as scripts read it: size `$1`, out-of-place time/algbw/busbw/#wrong
/// `$6..$9`, in-place `$10..$13` (collectives whose redop column is not blank).
#[derive(Debug, PartialEq)]
pub struct ScriptRow {
    pub size: u64,
    pub time_oop: f64,
    pub busbw_oop: f64,
    pub wrong_oop: String,
    pub time_ip: f64,
    pub busbw_ip: f64,
    pub wrong_ip: String,
}

pub fn script_rows(text: &str) -> Vec<ScriptRow> {
    data_lines(text)
        .into_iter()
        .map(|l| {
            let f = |n| awk_field(l, n).unwrap_or_else(|| panic!("${n} missing in {l:?}"));
            ScriptRow {
                size: f(1).parse().unwrap(),
                time_oop: f(6).parse().unwrap(),
                busbw_oop: f(8).parse().unwrap(),
                wrong_oop: f(9).to_string(),
                time_ip: f(10).parse().unwrap(),
                busbw_ip: f(12).parse().unwrap(),
                wrong_ip: f(13).to_string(),
            }
        })
        .collect()
}

/// `grep "Rank" | awk '{print $3, $9, $11}'`: (rank, host, device) of each rank line.
pub fn rank_lines(text: &str) -> Vec<(usize, String, i32)> {
    grep(text, "#  Rank ")
        .into_iter()
        .map(|l| {
            (
                awk_field(l, 3).unwrap().parse().unwrap(),
                awk_field(l, 9).unwrap().to_string(),
                awk_field(l, 11).unwrap().parse().unwrap(),
            )
        })
        .collect()
}
