//! `collbench compare` and `collbench plot` reading nccl-tests' own `-J` JSON report: the real one
//! nccl-tests wrote on an H100 (../shared/anchors/h100-1gpu-nccl-tests-2.19.6/
//! all_reduce_json_output.json, format 3, re-indented by a JSON tool and its environment removed),
//! and files written here the way nccl-tests writes them (see [`Writer`]): several processes,
//! types and `-N` cycles, `-I`/`-C`/`-c 0` cells, "nan" and 0 µs cells, a run that failed, a killed
//! run's cut-off file, and damaged files.
//!
//! Where each field comes from (NVIDIA/nccl-tests src/util.cu, `JSON_FILE_VERSION` 3; 1 and 2 lack
//! `per_iter_skip`, `skipped_iterations` and `bitwise`, 1 also `per_iter_timing`):
//! - `jsonOutputInit`: `version`, `start_time`, `args`, `env`, `nccl_version`.
//! - `writeDeviceReport`: `config` {`nthreads`, `ngpus`, `minimum_bytes`, `maximum_bytes`,
//!   `step_factor`|`step_bytes`, `warmup_iters`, `iterations`, `aggregated_iterations`,
//!   `validation`, `graph`, `blocking_collectives`, `per_iter_timing`, `per_iter_skip`,
//!   `parallel_init`, `devices` [one `jsonRankInfo` per process: `rank`, `group`, `pid`,
//!   `hostname`, `device`, `device_hex`, `device_info`]}.
//! - `writeResultHeader`: `results` [ … ]; per row `writeBenchmarkLinePreamble` (`size`, `count`,
//!   `type`, `redop`, `root` as `"%6i"`), `writeBenchmarkLineBody` twice (`out_of_place` then
//!   `in_place`: `time`|`cpu_time`, `alg_bw`, `bus_bw`, `nwrong` or null), `writeBenchMarkLineNullBody`
//!   (`out_of_place`: null), `writePerIterReport` (`*_per_iter`), `writeBenchmarkLineTerminator`
//!   (`actual_iterations`, `experiment_name`); common.cu's TimeTest loops `-N` cycles × sizes inside
//!   threadRunTests' type × op × root loops, all into the one list.
//! - `writeResultFooter`: `out_of_bounds` {`count`, `okay`}, `average_bus_bandwidth` {`bandwidth`,
//!   `okay`}; `writeErrors`: `errors`; `jsonOutputFinalize`: `end_time` (only when nothing but the
//!   top object is open), then closes whatever is open (a failed run's file is still JSON).

use crate::support::anchors::anchor_path;
use crate::support::compare::{collbench, fuzz_cases, mutate};
use collbench::compare::load::{self, InputFormat};
use collbench::compare::{command, compare, Status};
use collbench::error::exit;
use collbench::report::Report;
use collbench::types::DataType;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------------------------------------
// A writer that emits JSON exactly as util.cu's helpers do (compact, no spaces, `%lf` doubles,
// "nan" for NaN, booleans as the strings "true"/"false", `/` escaped as `\/` by sanitizeJson).

#[derive(Clone, Copy, PartialEq, Debug)]
enum State {
    Key,
    ObjectEmpty,
    ObjectSome,
    ListEmpty,
    ListSome,
}

#[derive(Default)]
struct Writer {
    out: String,
    states: Vec<State>,
}

impl Writer {
    /// jsonKey.
    fn key(&mut self, name: &str) -> &mut Self {
        match self.states.last_mut() {
            Some(s @ State::ObjectEmpty) => *s = State::ObjectSome,
            Some(State::ObjectSome) => self.out.push(','),
            other => panic!("key {name} in {other:?}"),
        }
        self.out.push_str(&format!("\"{}\":", sanitize(name)));
        self.states.push(State::Key);
        self
    }
    /// jsonValHelper.
    fn value(&mut self) {
        match self.states.last_mut() {
            Some(s @ State::ListEmpty) => *s = State::ListSome,
            Some(State::ListSome) => self.out.push(','),
            Some(State::Key) => {
                self.states.pop();
            }
            None => {}
            other => panic!("value in {other:?}"),
        }
    }
    fn start_object(&mut self) -> &mut Self {
        self.value();
        self.out.push('{');
        self.states.push(State::ObjectEmpty);
        self
    }
    fn finish_object(&mut self) -> &mut Self {
        assert!(matches!(
            self.states.pop(),
            Some(State::ObjectEmpty | State::ObjectSome)
        ));
        self.out.push('}');
        self
    }
    fn start_list(&mut self) -> &mut Self {
        self.value();
        self.out.push('[');
        self.states.push(State::ListEmpty);
        self
    }
    fn finish_list(&mut self) -> &mut Self {
        assert!(matches!(
            self.states.pop(),
            Some(State::ListEmpty | State::ListSome)
        ));
        self.out.push(']');
        self
    }
    fn null(&mut self) -> &mut Self {
        self.value();
        self.out.push_str("null");
        self
    }
    /// jsonStr.
    fn str(&mut self, s: &str) -> &mut Self {
        self.value();
        self.out.push_str(&format!("\"{}\"", sanitize(s)));
        self
    }
    /// jsonBool.
    fn bool(&mut self, b: bool) -> &mut Self {
        self.str(if b { "true" } else { "false" })
    }
    /// jsonInt / jsonSize_t.
    fn int(&mut self, v: i64) -> &mut Self {
        self.value();
        self.out.push_str(&v.to_string());
        self
    }
    /// jsonDouble: `%lf`, or "nan".
    fn double(&mut self, v: f64) -> &mut Self {
        self.value();
        if v.is_nan() {
            self.out.push_str("\"nan\"");
        } else {
            self.out.push_str(&format!("{v:.6}"));
        }
        self
    }
    /// jsonOutputFinalize.
    fn finalize(&mut self, end_time: &str) -> String {
        if self.states.len() == 1 {
            self.key("end_time").str(end_time);
        }
        while let Some(state) = self.states.last().copied() {
            match state {
                State::Key => {
                    self.null();
                }
                State::ObjectEmpty | State::ObjectSome => {
                    self.finish_object();
                }
                State::ListEmpty | State::ListSome => {
                    self.finish_list();
                }
            }
        }
        std::mem::take(&mut self.out)
    }
}

/// sanitizeJson: `"`, `\`, `/` get a backslash; tab and newline become \t, \n.
fn sanitize(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' | '\\' | '/' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// What one `*_perf` run was given and found.
struct Setup {
    version: i64,
    args: Vec<&'static str>,
    nthreads: i64,
    ngpus: i64,
    /// One `(rank, hostname, pid, first device)` per process.
    processes: Vec<(i64, &'static str, i64, i64)>,
    step_factor: Option<i64>,
    per_iter: bool,
}

impl Setup {
    fn one_gpu(args: &[&'static str]) -> Setup {
        Setup {
            version: 3,
            args: args.to_vec(),
            nthreads: 1,
            ngpus: 1,
            processes: vec![(0, "node-a", 4242, 0)],
            step_factor: Some(2),
            per_iter: false,
        }
    }
}

/// One out-of-place or in-place body.
#[derive(Clone, Copy)]
struct Body {
    time_us: f64,
    algbw: f64,
    busbw: f64,
    /// `None`: `-c 0` (written as null).
    wrong: Option<f64>,
    cputime: bool,
    /// `-I`: (min, max, avg, p50, p95, p99, stdev, cv%), how many iteration times, and
    /// `skipped_iterations` (format 3 only).
    per_iter: Option<([f64; 8], usize, Option<i64>)>,
}

fn body(time_us: f64, algbw: f64, busbw: f64) -> Body {
    Body {
        time_us,
        algbw,
        busbw,
        wrong: Some(0.0),
        cputime: false,
        per_iter: None,
    }
}

/// jsonOutputInit + writeDeviceReport + writeResultHeader.
fn start(w: &mut Writer, s: &Setup) {
    w.start_object();
    w.key("version").int(s.version);
    w.key("start_time").str("2026-11-23 09:15:02");
    w.key("args").start_list();
    for a in &s.args {
        w.str(a);
    }
    w.finish_list();
    w.key("env").start_list();
    for e in [
        "PATH=/usr/local/cuda/bin:/usr/bin",
        "NCCL_DEBUG=WARN",
        "SLURM_JOB_ID=4242",
        "AWS_SECRET_ACCESS_KEY=hunter2",
    ] {
        w.str(e);
    }
    w.finish_list();
    w.key("nccl_version").int(22809);
    w.key("config").start_object();
    w.key("nthreads").int(s.nthreads);
    w.key("ngpus").int(s.ngpus);
    w.key("minimum_bytes").int(8);
    w.key("maximum_bytes").int(32);
    match s.step_factor {
        Some(f) => w.key("step_factor").int(f),
        None => w.key("step_bytes").int(1048576),
    };
    w.key("warmup_iters").int(5);
    w.key("iterations").int(20);
    w.key("aggregated_iterations").int(1);
    w.key("validation").int(1);
    w.key("graph").int(0);
    w.key("blocking_collectives").bool(false);
    if s.version >= 2 {
        w.key("per_iter_timing").bool(s.per_iter);
    }
    if s.version >= 3 {
        w.key("per_iter_skip").int(0);
    }
    w.key("parallel_init").bool(false);
    w.key("devices").start_list();
    for (rank, host, pid, device) in &s.processes {
        w.start_object();
        w.key("rank").int(*rank);
        w.key("group").int(0);
        w.key("pid").int(*pid);
        w.key("hostname").str(host);
        w.key("device").int(*device);
        w.key("device_hex")
            .str(&format!("0000:{:02x}:00", 0x18 + device));
        w.key("device_info").str("NVIDIA H100 80GB HBM3");
        w.finish_object();
    }
    w.finish_list();
    w.finish_object();
    w.key("results").start_list();
}

/// writeBenchmarkLinePreamble.
fn preamble(w: &mut Writer, size: i64, count: i64, dtype: &str, op: &str, root: i64) {
    w.start_object();
    w.key("size").int(size);
    w.key("count").int(count);
    w.key("type").str(dtype);
    w.key("redop").str(op);
    w.key("root").str(&format!("{root:6}"));
}

/// writeBenchmarkLineBody (+ writePerIterReport).
fn write_body(w: &mut Writer, b: &Body, out_of_place: bool) {
    w.key(if out_of_place {
        "out_of_place"
    } else {
        "in_place"
    })
    .start_object();
    w.key(if b.cputime { "cpu_time" } else { "time" })
        .double(b.time_us);
    w.key("alg_bw").double(b.algbw);
    w.key("bus_bw").double(b.busbw);
    w.key("nwrong");
    match b.wrong {
        Some(n) => w.double(n),
        None => w.null(),
    };
    w.finish_object();
    if let Some((stats, n, skipped)) = b.per_iter {
        w.key(if out_of_place {
            "out_of_place_per_iter"
        } else {
            "in_place_per_iter"
        })
        .start_object();
        if let Some(skipped) = skipped {
            w.key("skipped_iterations").int(skipped);
        }
        for (key, v) in [
            "min_us", "max_us", "avg_us", "p50_us", "p95_us", "p99_us", "stdev_us", "cv_pct",
        ]
        .iter()
        .zip(stats)
        {
            w.key(key).double(v);
        }
        w.key("times_us").start_list();
        for i in 0..n {
            w.double(stats[0] + i as f64 * 0.01);
        }
        w.finish_list();
        w.finish_object();
    }
}

/// A whole row: preamble, bodies (`None` out-of-place = writeBenchMarkLineNullBody), terminator.
fn row(w: &mut Writer, key: (i64, i64, &str, &str, i64), oop: Option<Body>, ip: Body) {
    let (size, count, dtype, op, root) = key;
    preamble(w, size, count, dtype, op, root);
    match oop {
        Some(b) => write_body(w, &b, true),
        None => {
            w.key("out_of_place").null();
        }
    }
    write_body(w, &ip, false);
    w.key("actual_iterations").int(20);
    w.key("experiment_name").str("");
    w.finish_object();
}

/// writeResultFooter + writeErrors + jsonOutputFinalize.
fn finish(w: &mut Writer, wrong: i64, avg_busbw: f64, error: &str) -> String {
    w.finish_list();
    w.key("out_of_bounds").start_object();
    w.key("count").int(wrong);
    w.key("okay").bool(wrong == 0);
    w.finish_object();
    w.key("average_bus_bandwidth").start_object();
    w.key("bandwidth").double(avg_busbw);
    w.key("okay").str("unchecked");
    w.finish_object();
    w.key("errors").start_list().str(error).finish_list();
    w.finalize("2026-11-23 09:15:09")
}

fn parse(text: &str) -> collbench::Result<load::LoadedRuns> {
    load::parse(text, "fixture.json")
}

fn one(text: &str) -> (Report, load::LoadedRuns) {
    let loaded = parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(loaded.format, InputFormat::NcclTestsJson);
    assert_eq!(loaded.runs.len(), 1);
    (loaded.runs[0].clone(), loaded)
}

fn usage_error(text: &str) -> String {
    let err = parse(text).expect_err(text);
    assert_eq!(err.exit_code(), exit::USAGE, "{err}");
    let message = err.to_string();
    assert!(message.contains("fixture.json"), "{message}");
    message
}

const ANCHOR_JSON: &str = "all_reduce_json_output.json";

// ---------------------------------------------------------------------------------------------

/// The writer above against a file typed by hand from util.cu's calls (one process, one row): if
/// the writer drifted from the source, every fixture below would prove less.
#[test]
fn the_writer_prints_what_util_cu_prints() {
    let _machine = crate::support::process::machine_shared();
    let mut w = Writer::default();
    let mut setup = Setup::one_gpu(&["./build/sendrecv_perf", "-b", "8", "-e", "8"]);
    setup.version = 1;
    start(&mut w, &setup);
    row(
        &mut w,
        (8, 2, "float", "sum", -1),
        Some(body(6.5, 0.0012, 0.0012)),
        body(0.45, 0.02, 0.0),
    );
    let text = finish(&mut w, 0, 0.0006, "");
    let by_hand = concat!(
        r#"{"version":1,"start_time":"2026-11-23 09:15:02","args":[".\/build\/sendrecv_perf","-b","8","-e","8"],"#,
        r#""env":["PATH=\/usr\/local\/cuda\/bin:\/usr\/bin","NCCL_DEBUG=WARN","SLURM_JOB_ID=4242","AWS_SECRET_ACCESS_KEY=hunter2"],"#,
        r#""nccl_version":22809,"config":{"nthreads":1,"ngpus":1,"minimum_bytes":8,"maximum_bytes":32,"step_factor":2,"#,
        r#""warmup_iters":5,"iterations":20,"aggregated_iterations":1,"validation":1,"graph":0,"blocking_collectives":"false","#,
        r#""parallel_init":"false","devices":[{"rank":0,"group":0,"pid":4242,"hostname":"node-a","device":0,"#,
        r#""device_hex":"0000:18:00","device_info":"NVIDIA H100 80GB HBM3"}]},"results":[{"size":8,"count":2,"type":"float","#,
        r#""redop":"sum","root":"    -1","out_of_place":{"time":6.500000,"alg_bw":0.001200,"bus_bw":0.001200,"nwrong":0.000000},"#,
        r#""in_place":{"time":0.450000,"alg_bw":0.020000,"bus_bw":0.000000,"nwrong":0.000000},"actual_iterations":20,"#,
        r#""experiment_name":""}],"out_of_bounds":{"count":0,"okay":"true"},"average_bus_bandwidth":{"bandwidth":0.000600,"#,
        r#""okay":"unchecked"},"errors":[""],"end_time":"2026-11-23 09:15:09"}"#
    );
    assert_eq!(text, by_hand);
    let (run, loaded) = one(&text);
    assert_eq!(run.collective, "sendrecv");
    assert_eq!(
        loaded.label.as_deref(),
        Some("nccl-tests -J JSON format 1, started 2026-11-23 09:15:02 local time")
    );
    assert_eq!(run.args[0], "./build/sendrecv_perf");
    // The environment is kept as collbench keeps its own: allowlisted, secrets dropped.
    assert_eq!(
        run.environment.keys().collect::<Vec<_>>(),
        ["NCCL_DEBUG", "SLURM_JOB_ID"]
    );
}

#[test]
fn the_real_h100_nccl_tests_json_loads_row_by_row() {
    let _machine = crate::support::process::machine_shared();
    let path = anchor_path(ANCHOR_JSON);
    let loaded = load::read_one(&path).unwrap();
    assert_eq!(loaded.format, InputFormat::NcclTestsJson);
    assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
    let run = &loaded.runs[0];
    assert_eq!(run.collective, "all_reduce");
    assert_eq!(
        (run.tool.name.as_str(), run.tool.version.as_str()),
        ("nccl-tests", "unknown")
    );
    assert_eq!(run.backend.library, "NCCL 2.28.9");
    assert_eq!(run.backend.version_code, Some(22809));
    assert_eq!(run.args[..3], ["./build/all_reduce_perf", "-b", "8"]);
    assert_eq!((run.nranks, run.hosts.clone()), (1, vec!["vm".to_string()]));
    let r0 = &run.ranks[0];
    assert_eq!(
        (
            r0.rank,
            r0.pid,
            r0.device,
            r0.bus_id.as_deref(),
            r0.device_name.as_str()
        ),
        (
            0,
            1277,
            Some(0),
            Some("0000:00:06"),
            "NVIDIA H100 80GB HBM3"
        )
    );
    let c = &run.config;
    assert_eq!(
        (
            c.nthreads,
            c.ngpus,
            c.min_bytes,
            c.max_bytes,
            c.step_kind.as_str(),
            c.step_value
        ),
        (1, 1, 8, 134217728, "factor", 4.0)
    );
    assert_eq!(
        (
            c.warmup_iters,
            c.iters,
            c.agg_iters,
            c.check_iters,
            c.graph_launches
        ),
        (1, 20, 1, 1, 0)
    );
    assert!(!c.blocking && !c.per_iteration_timing && !c.parallel_init && !c.report_cputime);
    assert_eq!(
        (
            c.dtypes.clone(),
            c.ops.clone(),
            c.roots.clone(),
            c.run_cycles
        ),
        (vec![DataType::Float], vec!["sum".to_string()], vec![-1], 1)
    );
    // 8 B to 128 MiB by ×4: 13 rows, in order, each with both placements.
    let sizes: Vec<u64> = run.results.iter().map(|r| r.size_bytes).collect();
    let expected: Vec<u64> = (0..13).map(|k| 8u64 << (2 * k)).collect();
    assert_eq!(sizes, expected);
    let first = &run.results[0];
    assert_eq!(
        (
            first.count,
            first.dtype,
            first.redop.as_str(),
            first.root,
            first.cycle
        ),
        (2, DataType::Float, "sum", -1, 0)
    );
    let oop = first.out_of_place.as_ref().unwrap();
    assert_eq!(
        (
            oop.time_us,
            oop.algbw_gbps,
            oop.bus_bandwidth_gbps,
            oop.wrong
        ),
        (6.396, 0.001251, 0.0, Some(0))
    );
    assert_eq!(oop.ranks.time_us_max, 6.396);
    assert_eq!(oop.ranks.slowest_host, "vm");
    let last = run.results.last().unwrap().in_place.as_ref().unwrap();
    assert_eq!((last.time_us, last.algbw_gbps), (0.78365, 171272.542589));
    assert!(run.complete && run.summary.passed && run.summary.interrupted.is_none());
    assert_eq!(
        (
            run.summary.out_of_bounds,
            run.summary.avg_bus_bandwidth_gbps
        ),
        (0, 0.0)
    );
    // Same tool, same machine, as text: the JSON's rows have the text table's keys.
    let text = load::read_one(&anchor_path("all_reduce.txt")).unwrap();
    let c = compare(&text.runs[0], run, 5.0).unwrap();
    let common: Vec<u64> = c
        .deltas
        .iter()
        .filter(|d| d.baseline_gbps.is_some() && d.new_gbps.is_some())
        .map(|d| d.key.size_bytes)
        .collect();
    assert!(
        common.contains(&8) && common.contains(&134217728),
        "{common:?}"
    );
    assert_eq!(
        common.len(),
        2 * 13,
        "every size of the JSON is in the text log, both placements"
    );
}

/// `mpirun -np 2 all_reduce_perf -g 2 -d all -N 2 -b 8 -e 32 -f 4`: two processes of two GPUs
/// (devices lists each process's first rank), twelve types, two cycles.
#[test]
fn several_processes_types_and_cycles_keep_every_row_with_its_cycle() {
    let _machine = crate::support::process::machine_shared();
    const TYPES: [&str; 12] = [
        "int8", "uint8", "int32", "uint32", "int64", "uint64", "half", "float", "double",
        "bfloat16", "f8e4m3", "f8e5m2",
    ];
    let mut w = Writer::default();
    let setup = Setup {
        version: 3,
        args: vec![
            "/opt/nccl-tests/build/all_reduce_perf",
            "-g",
            "2",
            "-d",
            "all",
            "-N",
            "2",
            "-b",
            "8",
            "-e",
            "32",
            "-f",
            "4",
            "-J",
            "/tmp/ar.json",
        ],
        nthreads: 1,
        ngpus: 2,
        processes: vec![(0, "node-a", 100, 0), (2, "node-b", 200, 0)],
        step_factor: Some(4),
        per_iter: false,
    };
    start(&mut w, &setup);
    let mut expected = Vec::new();
    for (t, dtype) in TYPES.iter().enumerate() {
        let width = DataType::parse(dtype).unwrap().size_bytes() as i64;
        for cycle in 0..2 {
            for size in [8i64, 32] {
                let time = 10.0 + t as f64 + cycle as f64 * 0.5 + size as f64 / 100.0;
                row(
                    &mut w,
                    (size, size / width, dtype, "sum", -1),
                    Some(body(time, 0.001, 0.0015)),
                    body(time * 0.9, 0.001, 0.0015),
                );
                expected.push((size as u64, *dtype, cycle, time));
            }
        }
    }
    let text = finish(&mut w, 0, 0.0015, "");
    let (run, loaded) = one(&text);
    assert_eq!(run.collective, "all_reduce");
    assert_eq!(run.nranks, 4);
    assert_eq!(run.hosts, vec!["node-a", "node-b"]);
    let placed: Vec<_> = run
        .ranks
        .iter()
        .map(|p| {
            (
                p.rank,
                p.host.as_str(),
                p.pid,
                p.device,
                p.bus_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        placed,
        [
            (0, "node-a", 100, Some(0), Some("0000:18:00")),
            (1, "node-a", 100, Some(1), None),
            (2, "node-b", 200, Some(0), Some("0000:18:00")),
            (3, "node-b", 200, Some(1), None),
        ]
    );
    assert!(
        loaded
            .notes
            .iter()
            .any(|n| n.contains("lists only the first rank of each process; the other 2 ranks")),
        "{:?}",
        loaded.notes
    );
    assert_eq!(run.results.len(), expected.len());
    for (r, (size, dtype, cycle, time)) in run.results.iter().zip(&expected) {
        assert_eq!(
            (r.size_bytes, r.dtype.name(), r.cycle),
            (*size, *dtype, *cycle)
        );
        assert_eq!(r.out_of_place.as_ref().unwrap().time_us, *time);
    }
    assert_eq!(run.config.dtypes.len(), 12);
    assert_eq!(run.config.run_cycles, 2);
    assert_eq!(run.config.step_kind, "factor");
    // The two cycles are averaged and their spread is noise, as for a -J report.
    let c = compare(&run, &run, 5.0).unwrap();
    assert_eq!(c.deltas.len(), 12 * 2 * 2);
    assert!(c.deltas.iter().all(|d| d.status == Status::Unchanged));
}

/// `-I 1 -C 1 -c 0`, format 2: per-iteration objects, cpu_time, nwrong null (N/A); a trace-replay
/// style row without out-of-place, a "nan" bandwidth and a 0 µs time (both left out, with a note).
#[test]
fn per_iteration_cputime_unchecked_null_nan_and_zero_cells() {
    let _machine = crate::support::process::machine_shared();
    let mut w = Writer::default();
    let mut setup = Setup::one_gpu(&["all_gather_perf", "-I", "1", "-C", "1", "-c", "0"]);
    setup.version = 2;
    setup.per_iter = true;
    setup.step_factor = None;
    start(&mut w, &setup);
    let mut timed = body(12.5, 0.5, 0.25);
    timed.wrong = None;
    timed.cputime = true;
    timed.per_iter = Some(([11.0, 15.0, 12.5, 12.4, 14.0, 14.9, 0.8, 6.4], 20, None));
    row(&mut w, (8, 2, "float", "none", -1), Some(timed), timed);
    let mut nan_bw = timed;
    nan_bw.busbw = f64::NAN;
    nan_bw.per_iter = None;
    let mut zero_time = timed;
    zero_time.time_us = 0.0;
    zero_time.per_iter = None;
    row(
        &mut w,
        (1048584, 262146, "float", "none", -1),
        Some(nan_bw),
        zero_time,
    );
    row(&mut w, (16, 4, "float", "none", -1), None, timed);
    let text = finish(&mut w, 0, 0.25, "");
    let (run, loaded) = one(&text);
    assert_eq!(run.collective, "all_gather");
    assert!(run.config.per_iteration_timing && run.config.report_cputime);
    assert_eq!(
        (run.config.step_kind.as_str(), run.config.step_value),
        ("bytes", 1048576.0)
    );
    assert_eq!(
        run.results.len(),
        2,
        "the row with only nan/0 cells is left out"
    );
    let m = run.results[0].out_of_place.as_ref().unwrap();
    assert_eq!((m.time_us, m.wrong, m.ranks_with_wrong), (12.5, None, 0));
    let stats = m.per_iteration.as_ref().unwrap();
    assert_eq!(
        (
            stats.samples,
            stats.min_us,
            stats.max_us,
            stats.p50_us,
            stats.p99_us,
            stats.cv_percent,
            stats.stdev_us
        ),
        (20, 11.0, 15.0, 12.4, 14.9, 6.4, 0.8)
    );
    assert_eq!(
        (
            run.results[1].size_bytes,
            run.results[1].out_of_place.is_none()
        ),
        (16, true)
    );
    assert!(run.results[1].in_place.is_some());
    assert!(
        loaded
            .notes
            .iter()
            .any(|n| n
                .contains("2 measurements of the all_gather run had a time of 0 µs or a \"nan\"")),
        "{:?}",
        loaded.notes
    );
    // A per-iteration cv counts as noise: the run against itself is unchanged.
    assert!(!compare(&run, &run, 5.0).unwrap().failed());
}

/// nccl-tests closes the JSON on a failed run (TESTCHECK returns from run(), main still calls the
/// finalizer): rows so far, the last one without in-place, no footer.
#[test]
fn a_failed_run_keeps_its_rows_and_says_why() {
    let _machine = crate::support::process::machine_shared();
    let mut w = Writer::default();
    start(&mut w, &Setup::one_gpu(&["./broadcast_perf", "-r", "-1"]));
    for root in 0..2 {
        row(
            &mut w,
            (8, 2, "float", "none", root),
            Some(body(5.0, 0.0016, 0.0016)),
            body(4.0, 0.002, 0.002),
        );
    }
    preamble(&mut w, 32, 8, "float", "none", 0);
    write_body(&mut w, &body(5.5, 0.006, 0.006), true);
    let text = w.finalize("never written: results is still open");
    assert!(text.ends_with("}}]}"), "{text}");
    let (run, _) = one(&text);
    assert!(!run.complete && !run.summary.passed);
    let why = run.summary.interrupted.clone().unwrap();
    assert!(
        why.contains(
            "no footer (out_of_bounds, average_bus_bandwidth) after 3 rows: the run failed"
        ),
        "{why}"
    );
    assert_eq!(run.config.roots, vec![0, 1]);
    let last = run.results.last().unwrap();
    assert_eq!(
        (last.size_bytes, last.root, last.in_place.is_none()),
        (32, 0, true)
    );
    // Compared as the new run against a finished one: its missing rows are MISSING (exit 7).
    let mut w = Writer::default();
    start(&mut w, &Setup::one_gpu(&["./broadcast_perf", "-r", "-1"]));
    for root in 0..2 {
        for size in [8, 32] {
            row(
                &mut w,
                (size, size / 4, "float", "none", root),
                Some(body(5.0, 0.0016, 0.0016)),
                body(4.0, 0.002, 0.002),
            );
        }
    }
    let finished = finish(&mut w, 0, 0.0018, "");
    let dir = tempfile::tempdir().unwrap();
    let (base, new) = (
        dir.path().join("finished.json"),
        dir.path().join("failed.json"),
    );
    std::fs::write(&base, finished).unwrap();
    std::fs::write(&new, &text).unwrap();
    let mut out = Vec::new();
    let err = command(
        &[base.display().to_string(), new.display().to_string()],
        &mut out,
    )
    .unwrap_err();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(err.exit_code(), exit::WRONG_OR_FAILED, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.ends_with("MISSING")).count(),
        3,
        "{out}"
    );
    assert!(
        out.contains("failed.json: the run did not finish (the JSON has no footer"),
        "{out}"
    );
    // Failed before its first row: nothing to compare.
    let mut w = Writer::default();
    start(&mut w, &Setup::one_gpu(&["./broadcast_perf"]));
    let message = usage_error(&w.finalize(""));
    assert!(message.contains("`results` holds no measured row (0 entries): the run failed or was stopped before its first row"), "{message}");
}

/// Damaged, cut-off and foreign JSON: exit 6, naming the file, the key and what was wrong.
#[test]
fn damaged_json_is_refused_naming_the_file_the_key_and_the_value() {
    let _machine = crate::support::process::machine_shared();
    let mut w = Writer::default();
    start(&mut w, &Setup::one_gpu(&["./build/all_reduce_perf"]));
    row(
        &mut w,
        (8, 2, "float", "sum", -1),
        Some(body(6.5, 0.0012, 0.0)),
        body(0.45, 0.02, 0.0),
    );
    let good = finish(&mut w, 0, 0.0, "");
    assert!(parse(&good).is_ok());
    let cases: &[(&str, &str, &str)] = &[
        (
            r#""version":3"#,
            r#""version":4"#,
            "`version` is 4, not a format this collbench reads (1 to 3)",
        ),
        (
            r#""version":3"#,
            r#""version":"3""#,
            "`version` is \"3\", not a whole number >= 0",
        ),
        (
            r#""size":8"#,
            r#""size":"8""#,
            "`results[0].size` is \"8\", not a whole number >= 0",
        ),
        (
            r#""type":"float""#,
            r#""type":"float9""#,
            "`results[0].type` is 'float9', not an NCCL data type",
        ),
        (
            r#""root":"    -1""#,
            r#""root":"  any""#,
            "`results[0].root` is \"  any\", not a rank number",
        ),
        (
            r#""time":6.500000"#,
            r#""time":-6.5"#,
            "`results[0].out_of_place.time` is -6.5, not a number >= 0",
        ),
        (
            r#""alg_bw":0.001200"#,
            r#""alg_bw":"fast""#,
            "`results[0].out_of_place.alg_bw` is \"fast\", not a number >= 0",
        ),
        (
            r#""nwrong":0.000000}"#,
            r#""nwrong":1.5}"#,
            "`results[0].out_of_place.nwrong` is 1.5, not a whole number",
        ),
        (
            r#""time":6.500000"#,
            r#""time":6.5,"cpu_time":6.5"#,
            "`results[0].out_of_place.cpu_time` is there beside `time`",
        ),
        (
            r#""in_place":{"time":0.450000"#,
            r#""in_place":{"tme":0.450000"#,
            "`results[0].in_place.time` is missing",
        ),
        (
            "\"results\":[",
            "\"results\":7,\"r\":[",
            "`results` is 7, not a list",
        ),
        (
            "\"results\":[{",
            "\"results\":[7,{",
            "`results[0]` is 7, not an object",
        ),
        (
            "\"devices\":[{\"rank\":0",
            "\"devices\":[],\"x\":[{\"rank\":0",
            "`config.devices` is missing or empty",
        ),
        (
            "\"ngpus\":1",
            "\"ngpus\":0",
            "`config.ngpus` is missing or 0",
        ),
        (
            "\"rank\":0",
            "\"rank\":-1",
            "`config.devices[0].rank` is -1",
        ),
        (
            ".\\/build\\/all_reduce_perf",
            "python3",
            "`args` starts with 'python3', not an nccl-tests program",
        ),
        (
            "\"hostname\":\"node-a\"",
            "\"hostname\":7",
            "`config.devices[0].hostname` is 7, not a string",
        ),
        (
            "\"blocking_collectives\":\"false\"",
            "\"blocking_collectives\":\"maybe\"",
            "`config.blocking_collectives` is \"maybe\", not \"true\" or \"false\"",
        ),
        (
            "\"out_of_bounds\":{\"count\":0",
            "\"out_of_bounds\":{\"cnt\":0",
            "`out_of_bounds.count` is missing",
        ),
        (
            "\"bus_bw\":0.000000,",
            "\"bus_bw\":inf,",
            "holds a bare inf, which is not JSON",
        ),
        (
            "\"env\":[",
            "\"env\":7,\"e\":[",
            "`env` is 7, not a list of strings",
        ),
    ];
    for (from, to, wanted) in cases {
        assert!(good.contains(from), "{from}");
        let message = usage_error(&good.replacen(from, to, 1));
        assert!(message.contains(wanted), "{to}: {message}");
    }
    // A killed run's file ends mid-write.
    let cut = &good[..good.len() / 2];
    let message = usage_error(cut);
    assert!(
        message.contains("is nccl-tests -J JSON but not valid JSON")
            && message.contains("killed while writing it"),
        "{message}"
    );
    // JSON that is neither collbench's nor nccl-tests' report.
    let message = usage_error(r#"{"version":3,"results":[]}"#);
    assert!(
        message.contains("not a collbench JSON report") && message.contains("nor nccl-tests'"),
        "{message}"
    );
    // No `results` at all: the run failed in setup; NCCL's message is quoted.
    let no_results = good.split(",\"results\"").next().unwrap().to_string()
        + ",\"errors\":[\"unhandled cuda error\"]}";
    let message = usage_error(&no_results);
    assert!(message.contains("has no `results`: the run failed before its first row (nccl-tests said: 'unhandled cuda error')"), "{message}");
}

fn temp_run(dir: &Path) -> PathBuf {
    let json = dir.join("collbench.json");
    let output = Command::new("timeout")
        .arg("120")
        .arg(env!("CARGO_BIN_EXE_allreduce-perf"))
        .args([
            "-b",
            "8",
            "-e",
            "512K",
            "-f",
            "4",
            "-n",
            "20",
            "-w",
            "1",
            "--backend",
            "mpi",
            "--collbench-json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    json
}

/// nccl-tests JSON with the rows of `run`, each time multiplied by `factor`.
fn nccl_json_like(run: &Report, factor: f64) -> String {
    let mut w = Writer::default();
    start(
        &mut w,
        &Setup::one_gpu(&[
            "./build/all_reduce_perf",
            "-b",
            "8",
            "-e",
            "512K",
            "-f",
            "4",
        ]),
    );
    for r in &run.results {
        let cell = |m: &Option<collbench::report::Measurement>| {
            let m = m.as_ref().unwrap();
            body(
                m.time_us * factor,
                m.algbw_gbps / factor,
                m.bus_bandwidth_gbps / factor,
            )
        };
        row(
            &mut w,
            (
                r.size_bytes as i64,
                r.count as i64,
                r.dtype.name(),
                &r.redop,
                r.root,
            ),
            Some(cell(&r.out_of_place)),
            cell(&r.in_place),
        );
    }
    finish(&mut w, 0, 0.0, "")
}

/// The real binaries, as an operator runs them: `collbench compare nccl.json run.json`.
#[test]
fn the_collbench_binary_compares_nccl_tests_json_with_a_collbench_run() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let run_path = temp_run(dir.path());
    let run = load::read_one(&run_path).unwrap().runs.remove(0);
    assert_eq!(run.results.len(), 9, "8 B .. 512 KiB by ×4");
    let compare_bin = |base: &Path, new: &Path| {
        let out = collbench()
            .arg("compare")
            .arg(base)
            .arg(new)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    // nccl-tests measured the same times: every row unchanged, exit 0.
    let same = dir.path().join("nccl-same.json");
    std::fs::write(&same, nccl_json_like(&run, 1.0)).unwrap();
    let (code, out, err) = compare_bin(&same, &run_path);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("nccl-same.json (nccl-tests -J JSON format 3, started 2026-11-23 09:15:02 local time, 1 rank on 1 node, nccl NCCL 2.28.9)"), "{out}");
    assert!(
        out.contains(
            "# Result: OK (0 regressions, 0 missing, 0 improved, 0 within noise, 18 unchanged"
        ),
        "{out}"
    );
    // nccl-tests was twice as fast: every row of the collbench run regressed, exit 7 (a drop
    // well beyond what a few iterations on a shared machine can put inside their own noise). A
    // row whose loop waited for a CPU (other tests run beside this one) is `busy`, not judged.
    let faster = dir.path().join("nccl-faster.json");
    std::fs::write(&faster, nccl_json_like(&run, 0.5)).unwrap();
    let (code, out, err) = compare_bin(&faster, &run_path);
    assert_eq!(code, Some(exit::WRONG_OR_FAILED), "{out}{err}");
    let status_of = |status: &str| out.lines().filter(|l| l.ends_with(status)).count();
    assert_eq!(
        (
            status_of("REGRESSION") + status_of(" busy"),
            status_of("REGRESSION") > 0
        ),
        (18, true),
        "{out}"
    );
    assert!(
        err.contains("regression against") && err.contains("nccl-faster.json"),
        "{err}"
    );
    // The real H100 file as the new run: every row of the collbench run is in it; the verdict is
    // exactly whether the table shows a regression.
    let (code, out, _) = compare_bin(&run_path, &anchor_path(ANCHOR_JSON));
    let regressed = out.lines().any(|l| l.ends_with("REGRESSION"));
    assert_eq!(
        code,
        Some(if regressed { exit::WRONG_OR_FAILED } else { 0 }),
        "{out}"
    );
    assert!(!out.contains("MISSING"), "{out}");
    assert!(
        out.contains(
            "nccl-tests -J JSON format 3, started 2026-11-22 16:30:39 local time, 1 rank on 1 node"
        ),
        "{out}"
    );
    // A damaged file through the binary: exit 6 on stderr, naming it.
    let damaged = dir.path().join("damaged.json");
    std::fs::write(
        &damaged,
        nccl_json_like(&run, 1.0).replacen("\"type\":\"float\"", "\"type\":\"float9\"", 1),
    )
    .unwrap();
    let (code, _, err) = compare_bin(&damaged, &run_path);
    assert_eq!(code, Some(exit::USAGE), "{err}");
    assert!(
        err.contains("damaged.json: nccl-tests JSON `results[0].type` is 'float9'"),
        "{err}"
    );
}

#[test]
fn plot_draws_nccl_tests_json_as_a_baseline() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let run_path = temp_run(dir.path());
    let png_path = dir.path().join("vs-nccl-tests.png");
    let out = collbench()
        .arg("plot")
        .arg(&run_path)
        .arg("--baseline")
        .arg(anchor_path(ANCHOR_JSON))
        .arg("-o")
        .arg(&png_path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::fs::File::open(&png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1280, 960));
    assert!(
        pixels.chunks(3).any(|p| p[0] != p[1] || p[1] != p[2]),
        "no coloured line"
    );
    let run = load::read_one(&anchor_path(ANCHOR_JSON))
        .unwrap()
        .runs
        .remove(0);
    let lines = collbench::plot::run_lines(
        &run,
        "nccl-tests",
        collbench::plot::PlacementArg::OutOfPlace,
        true,
    );
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].points.len(), 13);
    assert!(lines[0].dashed);
    // A damaged baseline fails the plot the same way as compare.
    let cut = dir.path().join("cut.json");
    let text = std::fs::read_to_string(anchor_path(ANCHOR_JSON)).unwrap();
    std::fs::write(&cut, &text[..text.len() / 3]).unwrap();
    let out = collbench()
        .arg("plot")
        .arg(&run_path)
        .arg("--baseline")
        .arg(&cut)
        .arg("-o")
        .arg(dir.path().join("x.png"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(exit::USAGE));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("cut.json: is nccl-tests -J JSON but not valid JSON"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// No mangled nccl-tests JSON panics; a refusal is a usage error; what is accepted is valid.
    #[test]
    fn mangled_nccl_tests_json_never_panics_and_what_is_accepted_is_valid(
        which in 0usize..2,
        edits in prop::collection::vec((any::<usize>(), any::<usize>(), "[-0-9a-z\"{}\\[\\],:. ]{0,8}|null|\"nan\"|1e999|inf"), 1..5),
    ) {
        let _machine = crate::support::process::machine_shared();
        let text = if which == 0 {
            std::fs::read_to_string(anchor_path(ANCHOR_JSON)).unwrap()
        } else {
            let mut w = Writer::default();
            let mut setup = Setup::one_gpu(&["./all_reduce_perf"]);
            setup.ngpus = 2;
            setup.per_iter = true;
            start(&mut w, &setup);
            let mut b = body(3.0, 1.0, 1.5);
            b.per_iter = Some(([2.0, 4.0, 3.0, 3.0, 3.9, 4.0, 0.2, 6.7], 4, Some(1)));
            row(&mut w, (8, 2, "float", "sum", -1), Some(b), b);
            row(&mut w, (8, 2, "float", "sum", -1), None, b);
            finish(&mut w, 0, 1.5, "")
        };
        let mangled = mutate(&text, &edits);
        match parse(&mangled) {
            Ok(loaded) => {
                for run in &loaded.runs {
                    prop_assert!(run.nranks > 0 && !run.results.is_empty());
                    prop_assert!(collbench::compare::validate::validate(run, "fuzz").is_ok());
                    prop_assert!(compare(run, run, 5.0).is_ok_and(|c| !c.failed()));
                }
            }
            Err(e) => prop_assert_eq!(e.exit_code(), exit::USAGE, "{}", e),
        }
    }
}

/// A device ordinal near the top of the integer range with several GPUs per process: the derived
/// ordinals of the other ranks are unknown, not an arithmetic overflow (a panic in debug builds).
#[test]
fn a_huge_device_ordinal_with_several_gpus_per_process_does_not_overflow() {
    let _machine = crate::support::process::machine_shared();
    let mut w = Writer::default();
    let mut setup = Setup::one_gpu(&["./all_reduce_perf"]);
    setup.ngpus = 2;
    start(&mut w, &setup);
    row(
        &mut w,
        (8, 2, "float", "sum", -1),
        Some(body(3.0, 1.0, 1.5)),
        body(3.0, 1.0, 1.5),
    );
    let text =
        finish(&mut w, 0, 1.5, "").replace(r#""device":0,"#, &format!(r#""device":{},"#, i64::MAX));
    assert!(text.contains(&i64::MAX.to_string()));
    let (run, _) = one(&text);
    assert_eq!(run.nranks, 2);
    assert_eq!(run.ranks[1].device, None);
}

/// A small file may claim a million ranks (-t 256 -g 256 on 16 processes): reading it stays quick
/// (the repeated-rank check was quadratic in the ranks: minutes of CPU for a 2 KB file).
#[test]
fn a_million_derived_ranks_are_read_in_linear_time() {
    let _machine = crate::support::process::machine_shared();
    let mut w = Writer::default();
    let mut setup = Setup::one_gpu(&["./all_reduce_perf"]);
    setup.nthreads = 256;
    setup.ngpus = 256;
    setup.processes = (0..16)
        .map(|p| (p * 65536, "node-a", 4242 + p, 0))
        .collect();
    start(&mut w, &setup);
    row(
        &mut w,
        (8, 2, "float", "sum", -1),
        Some(body(3.0, 1.0, 1.5)),
        body(3.0, 1.0, 1.5),
    );
    let text = finish(&mut w, 0, 1.5, "");
    let began = std::time::Instant::now();
    let loaded = parse(&text);
    let took = began.elapsed();
    assert!(took.as_secs() < 20, "took {took:?}");
    if let Ok(loaded) = loaded {
        assert_eq!(loaded.runs[0].nranks, 1 << 20);
    }
}
