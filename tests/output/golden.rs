//! Golden outputs: fixed-seed runs rendered through every output format and compared byte for byte
//! with the files under tests/golden/. They guard refactoring: the text table (with footers and
//! verdict block), `-J` JSON, `--csv`, `--jsonl` and the Prometheus text of these runs must not
//! change by a single byte unless the change is meant.
//!
//! Each scenario goes through the production path from the command line on: the argv is parsed by
//! the real CLI into a plan, the report header and config come from that plan, every rank's timing
//! sample (drawn from a seeded generator, since real timings are not reproducible) passes through
//! the gather codec and the real aggregation, rows and summary are built in the runner's loop
//! order, the verdict is evaluated from the plan's criteria, and the real sinks write the files.
//! What depends on the host or the clock (hostnames, pids, start and end time, version, the
//! environment, the `-S` timestamp, Prometheus' update time) is fixed here, not masked.
//!
//! After a deliberate output change, regenerate the files and review their diff:
//!     COLLBENCH_BLESS=1 cargo test --features mpi,fabric --test output golden::

use collbench::aggregate::{
    aggregate_measurement, decode_samples, encode_samples, AggregateOptions, RankSample,
    SummaryAccumulator,
};
use collbench::cli::acceptance::min_bus_bandwidth_from_env;
use collbench::cli::{parse_collective_args, Parsed};
use collbench::collectives::{find, OpColumn};
use collbench::data::WrongElement;
use collbench::plan::{OutputFormat, TestPlan};
use collbench::report::memory::{MemoryKind, RankMemory};
use collbench::report::{
    self, BackendInfo, RankPlacement, Report, ResultRow, ToolInfo, SCHEMA_VERSION,
};
use collbench::sinks::jsonl::JsonlSink;
use collbench::sinks::prometheus::{exposition, PromFileSink};
use collbench::sinks::{CsvSink, JsonSink, Sink, TextSink};
use collbench::sweep::runner::{redop_label, run_config};
use collbench::types::ReduceOp;
use std::path::{Path, PathBuf};

/// The Prometheus update time written into the golden metrics (2026-11-22T17:00:03.25Z).
const FIXED_UNIX_TIME: f64 = 1_795_366_803.25;

/// splitmix64: a stable, dependency-free stream, so the goldens never move with a crate update.
struct Seeded(u64);

impl Seeded {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A planted data error: `wrong` elements on `rank` in the cell of (`cycle`, `size`, `in_place`).
struct Corruption {
    rank: usize,
    size: u64,
    in_place: bool,
    cycle: usize,
    wrong: u64,
}

struct Scenario {
    name: &'static str,
    collective: &'static str,
    /// The command line after the program name; output paths are relative (they are recorded
    /// in the report) and are opened inside a temporary directory.
    flags: &'static [&'static str],
    /// The job's environment, as the header, Slurm block and NCCL_TESTS_MIN_BW would read it.
    env: &'static [(&'static str, &'static str)],
    hosts: &'static [&'static str],
    ranks_per_host: usize,
    /// GPU ranks (NCCL backend, H100) or host-memory ranks (MPI backend).
    gpu: bool,
    seed: u64,
    /// Rank whose every timing is multiplied by the factor (a slow GPU or link).
    slow_rank: Option<(usize, f64)>,
    corruption: Option<Corruption>,
    /// Stop after this many rows, as a SIGTERM would (signal 15).
    interrupt_after_rows: Option<usize>,
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "all_reduce_gpu_profile",
            collective: "all_reduce",
            flags: &[
                "-b",
                "256M",
                "-e",
                "1G",
                "-f",
                "2",
                "-g",
                "1",
                "-d",
                "float",
                "-o",
                "all",
                "-n",
                "20",
                "-w",
                "5",
                "-I",
                "1",
                "-N",
                "2",
                "-c",
                "1",
                "-M",
                "1",
                "--profile",
                "h100-nvlink-8gpu",
                "-J",
                "run.json",
                "--csv",
                "run.csv",
                "--jsonl",
                "runs.jsonl",
                "--prom-file",
                "collbench.prom",
            ],
            env: &[
                ("SLURM_JOB_ID", "4242"),
                ("SLURM_STEP_ID", "0"),
                ("SLURM_JOB_NODELIST", "gpu-node-01"),
                ("SLURM_NNODES", "1"),
                ("SLURM_NTASKS", "8"),
                ("SLURM_JOB_PARTITION", "h100"),
                ("NCCL_DEBUG", "WARN"),
                ("NCCL_IB_HCA", "mlx5"),
                ("NCCL_TESTS_MIN_BW", "20"),
                ("HOME", "/home/operator"),
                ("AWS_SECRET_ACCESS_KEY", "not-recorded"),
                ("NCCL_API_TOKEN", "not-recorded-either"),
            ],
            hosts: &["gpu-node-01"],
            ranks_per_host: 8,
            gpu: true,
            seed: 1,
            slow_rank: Some((5, 1.6)),
            corruption: None,
            interrupt_after_rows: None,
        },
        Scenario {
            name: "broadcast_host_roots_corrupt",
            collective: "broadcast",
            flags: &[
                "-b",
                "1K",
                "-e",
                "256K",
                "-f",
                "4",
                "-r",
                "all",
                "-a",
                "2",
                "-z",
                "1",
                "-C",
                "1",
                "-S",
                "1",
                "-c",
                "2",
                "-K",
                "1",
                "-I",
                "1",
                "--min-busbw",
                "0.5",
                "--min-busbw-size",
                "64K",
                "-J",
                "run.json",
                "--csv",
                "run.csv",
                "--jsonl",
                "runs.jsonl",
                "--prom-file",
                "collbench.prom",
            ],
            env: &[
                ("OMPI_COMM_WORLD_SIZE", "4"),
                ("OMPI_MCA_btl", "self,tcp"),
                ("FI_PROVIDER", "tcp"),
            ],
            hosts: &["cpu-a"],
            ranks_per_host: 4,
            gpu: false,
            seed: 2,
            slow_rank: None,
            corruption: Some(Corruption {
                rank: 2,
                size: 16384,
                in_place: false,
                cycle: 0,
                wrong: 5,
            }),
            interrupt_after_rows: None,
        },
        Scenario {
            name: "alltoall_min_busbw_interrupted",
            collective: "alltoall",
            flags: &[
                "-b",
                "64K",
                "-e",
                "8M",
                "-f",
                "2",
                "-n",
                "5",
                "-w",
                "1",
                "-a",
                "3",
                "-N",
                "3",
                "--min-busbw",
                "40",
                "--min-busbw-size",
                "256K",
                "-J",
                "run.json",
                "--csv",
                "run.csv",
                "--jsonl",
                "runs.jsonl",
                "--prom-file",
                "collbench.prom",
            ],
            env: &[("SLURM_JOB_ID", "99"), ("CUDA_VISIBLE_DEVICES", "0,1")],
            hosts: &["node-x", "node-y", "node-z"],
            ranks_per_host: 2,
            gpu: true,
            seed: 3,
            slow_rank: Some((3, 1.3)),
            corruption: None,
            interrupt_after_rows: Some(11),
        },
        Scenario {
            name: "sendrecv_graph_no_verdict",
            collective: "sendrecv",
            flags: &[
                "-b", "4", "-e", "1M", "-f", "16", "-d", "int8", "-G", "10", "-c", "1", "-J",
                "run.json", "--csv", "run.csv",
            ],
            env: &[],
            hosts: &["solo"],
            ranks_per_host: 2,
            gpu: true,
            seed: 4,
            slow_rank: None,
            corruption: None,
            interrupt_after_rows: None,
        },
    ]
}

/// Everything one scenario writes, by golden file name.
struct Outputs(Vec<(&'static str, Vec<u8>)>);

fn parse_plan(s: &Scenario) -> TestPlan {
    let collective = find(s.collective).expect("a known collective");
    let mut argv = vec![collective.binary_name().to_string()];
    argv.extend(s.flags.iter().map(|f| f.to_string()));
    let env = |name: &str| {
        s.env
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    };
    match parse_collective_args(collective, &argv, &env) {
        Ok(Parsed::Run(plan)) => *plan,
        other => panic!("{}: {argv:?} did not parse into a plan: {other:?}", s.name),
    }
}

fn placements(s: &Scenario) -> Vec<RankPlacement> {
    let mut out = Vec::new();
    for (h, host) in s.hosts.iter().enumerate() {
        for local in 0..s.ranks_per_host {
            let rank = out.len();
            out.push(RankPlacement {
                rank,
                group: 0,
                pid: 31000 + 100 * h as u32 + local as u32,
                host: host.to_string(),
                device: s.gpu.then_some(local as i32),
                bus_id: s
                    .gpu
                    .then(|| format!("00000000:{:02X}:00.0", 0x18 + 0x10 * local)),
                device_name: if s.gpu {
                    "NVIDIA H100 80GB HBM3".into()
                } else {
                    "host memory".into()
                },
            });
        }
    }
    out
}

fn backend_info(s: &Scenario) -> BackendInfo {
    if s.gpu {
        BackendInfo {
            name: "nccl".into(),
            library: "NCCL 2.28.9".into(),
            library_path: Some("/lib/x86_64-linux-gnu/libnccl.so.2".into()),
            version_code: Some(22809),
            network: None,
            network_by_process: Vec::new(),
        }
    } else {
        BackendInfo {
            name: "mpi".into(),
            library: "Open MPI v4.1.4".into(),
            library_path: None,
            version_code: None,
            network: None,
            network_by_process: Vec::new(),
        }
    }
}

fn memory(ranks: &[RankPlacement], plan: &TestPlan) -> Vec<RankMemory> {
    if !plan.memory_report {
        return Vec::new();
    }
    ranks
        .iter()
        .map(|p| RankMemory {
            rank: p.rank,
            kind: if p.device.is_some() {
                MemoryKind::Device
            } else {
                MemoryKind::Host
            },
            device: p.device,
            communicator_bytes: p.device.map(|d| (586 + d as u64) << 20),
            buffer_bytes: 3 * (plan.sweep.max_bytes.max(1 << 20)),
            free_bytes: Some((79_962 - p.rank as u64) << 20),
            total_bytes: Some(81_079 << 20),
            process_peak_rss_bytes: p.device.is_none().then_some(12 << 20),
        })
        .collect()
}

/// The header the runner writes before the first row, with the clock and host fields fixed.
fn header(s: &Scenario, plan: &TestPlan, ranks: &[RankPlacement]) -> Report {
    let env = s.env.iter().map(|(n, v)| (n.to_string(), v.to_string()));
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "collbench".into(),
            version: "0.1.0".into(),
        },
        args: plan.args.clone(),
        start_time: "2026-11-22T17:00:00.000Z".into(),
        end_time: None,
        complete: false,
        backend: backend_info(s),
        collective: plan.collective.name().to_string(),
        nranks: ranks.len(),
        hosts: report::meta::hosts_in_rank_order(ranks),
        ranks: ranks.to_vec(),
        memory: memory(ranks, plan),
        slurm: report::slurm::from_env(env.clone()),
        environment: report::env::allowlisted_environment(env),
        config: run_config(plan, ranks.len()),
        results: Vec::new(),
        summary: SummaryAccumulator::new().summary(None, None),
        verdict: None,
    }
}

/// The sinks of a rank-0 process with every output flag of the plan, files under `dir`.
fn open_sinks(plan: &TestPlan, dir: &Path) -> (TextSink<Vec<u8>>, Vec<Box<dyn Sink>>) {
    let text = TextSink::new(Vec::new(), "test buffer")
        .with_timestamp_source(|| "2026-11-22 17:00:01".to_string());
    let inside = |p: &Path| dir.join(p.file_name().expect("a file name"));
    let mut files: Vec<Box<dyn Sink>> = Vec::new();
    if let Some(p) = plan.outputs.path(OutputFormat::NcclTestsJson) {
        files.push(Box::new(JsonSink::new(inside(p))));
    }
    if let Some(p) = plan.outputs.path(OutputFormat::Csv) {
        files.push(Box::new(CsvSink::new(inside(p))));
    }
    if let Some(p) = plan.outputs.path(OutputFormat::Jsonl) {
        files.push(Box::new(JsonlSink::open(&inside(p)).expect("open jsonl")));
    }
    if let Some(p) = plan.outputs.path(OutputFormat::Prometheus) {
        files.push(Box::new(PromFileSink::new(&inside(p))));
    }
    (text, files)
}

/// One rank's sample for one cell: a size-dependent base time with seeded jitter.
fn sample(
    s: &Scenario,
    rng: &mut Seeded,
    plan: &TestPlan,
    rank: usize,
    size: u64,
    checked: bool,
    corrupt: Option<u64>,
) -> RankSample {
    let slow = s
        .slow_rank
        .filter(|(r, _)| *r == rank)
        .map_or(1.0, |(_, f)| f);
    let base = (6e-6 + size as f64 / 150e9) * slow;
    let seconds = base * (1.0 + 0.08 * rng.unit());
    let per_iteration_us = if plan.timing.per_iteration {
        (0..plan.timing.iters)
            .map(|_| seconds * 1e6 * (0.9 + 0.2 * rng.unit()))
            .collect()
    } else {
        Vec::new()
    };
    RankSample {
        rank,
        seconds_per_op: seconds,
        cpu_seconds_per_op: seconds * (0.2 + 0.1 * rng.unit()),
        wrong: checked.then_some(corrupt.unwrap_or(0)),
        first_wrong: corrupt.map(|_| WrongElement {
            rank,
            index: 3 + (rng.next_u64() % 100) as usize,
            expected: "1.5".into(),
            got: "-1.5".into(),
        }),
        per_iteration_us,
        // The runner's one batch of -n (fixed -n, no --precision).
        batch_seconds_per_op: vec![seconds],
        run_queue_share: None,
    }
}

/// Runs one scenario in the runner's order (type, operator, root, cycle, size, out-of-place then
/// in-place) and returns every output.
fn run(s: &Scenario) -> Outputs {
    let plan = parse_plan(s);
    let ranks = placements(s);
    let nranks = ranks.len();
    plan.validate_for_world(nranks)
        .unwrap_or_else(|e| panic!("{}: {e}", s.name));
    let dir = tempfile::tempdir().unwrap();
    let (mut text, mut files) = open_sinks(&plan, dir.path());
    let env = |name: &str| s.env.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let min_bw = min_bus_bandwidth_from_env(env("NCCL_TESTS_MIN_BW")).unwrap();
    let devices: Vec<String> = ranks.iter().map(|p| p.device_name.clone()).collect();
    let criteria = plan.acceptance.resolve_criteria(&devices).unwrap();

    let mut report = header(s, &plan, &ranks);
    report.summary = SummaryAccumulator::new().summary(min_bw, None);
    text.begin(&report).unwrap();
    for sink in files.iter_mut() {
        sink.begin(&report).unwrap();
    }

    let mut rng = Seeded(s.seed);
    let mut summary = SummaryAccumulator::new();
    let collective = plan.collective;
    let options = AggregateOptions {
        mode: plan.average,
        per_iteration_skip: plan.timing.per_iteration_skip,
        report_cputime: plan.timing.report_cputime,
        center_is_reported: false,
    };
    let op_passes: Vec<Option<ReduceOp>> = if plan.sweep.ops.is_empty() {
        vec![None]
    } else {
        plan.sweep.ops.iter().copied().map(Some).collect()
    };
    let mut interrupted = false;
    'passes: for &dtype in &plan.sweep.dtypes {
        let elt = dtype.size_bytes();
        for &printed_op in &op_passes {
            for &root in &plan.roots(nranks) {
                for cycle in 0..plan.run_cycles {
                    for &size in &plan.sweep.sizes {
                        let counts = collective.counts(size as usize / elt, elt, nranks);
                        let size_bytes = counts.size_bytes(elt);
                        let mut cells = [None, None];
                        for (slot, in_place) in [false, true].into_iter().enumerate() {
                            let checked = plan.check_iters > 0
                                && (!in_place || collective.in_place_checked());
                            let parts: Vec<Vec<u8>> = (0..nranks)
                                .map(|rank| {
                                    let corrupt = s
                                        .corruption
                                        .as_ref()
                                        .filter(|c| {
                                            c.rank == rank
                                                && c.size == size_bytes
                                                && c.in_place == in_place
                                                && c.cycle == cycle
                                                && checked
                                        })
                                        .map(|c| c.wrong);
                                    let one =
                                        sample(s, &mut rng, &plan, rank, size, checked, corrupt);
                                    encode_samples(&[one])
                                })
                                .collect();
                            let samples: Vec<RankSample> = parts
                                .iter()
                                .flat_map(|p| decode_samples(p).unwrap())
                                .collect();
                            cells[slot] = Some(
                                aggregate_measurement(
                                    &samples,
                                    &ranks,
                                    collective.alg_bytes(&counts, elt, nranks) as f64,
                                    collective.bus_bw_factor(nranks),
                                    options,
                                )
                                .unwrap(),
                            );
                        }
                        let [out_of_place, in_place] = cells;
                        let row = ResultRow {
                            collective: collective.name().to_string(),
                            size_bytes,
                            count: counts.param_count as u64,
                            dtype,
                            redop: redop_label(collective, printed_op),
                            root: if collective.uses_root() {
                                root as i64
                            } else {
                                -1
                            },
                            out_of_place,
                            in_place,
                            cycle,
                        };
                        summary.add_row(&row);
                        text.row(&report, &row).unwrap();
                        for sink in files.iter_mut() {
                            sink.row(&report, &row).unwrap();
                        }
                        report.results.push(row);
                        if s.interrupt_after_rows == Some(report.results.len()) {
                            interrupted = true;
                            break 'passes;
                        }
                    }
                }
            }
        }
    }
    // Sendrecv prints `-o` but ignores it: the scenario list must not hide a reduction.
    assert!(
        collective.op_column() != OpColumn::Reduction || !plan.sweep.ops.is_empty(),
        "{}: a reduction without operators",
        s.name
    );

    let why = interrupted.then(|| {
        format!(
            "stopped by signal 15 (SIGTERM) after {} rows",
            report.results.len()
        )
    });
    report.summary = summary.summary(min_bw, why);
    report.end_time = Some("2026-11-22T17:00:03.250Z".into());
    report.complete = !interrupted;
    report.verdict = collbench::verdict::evaluate(&report, &criteria);
    text.finish(&report).unwrap();
    for sink in files.iter_mut() {
        sink.finish(&report).unwrap();
    }

    let mut table = text.into_inner();
    // What the operator sees on standard output: the table, then the verdict block (app.rs).
    if let Some(v) = &report.verdict {
        table.extend_from_slice(collbench::verdict::render::block(v).as_bytes());
        table.push(b'\n');
    }
    let mut outputs = vec![("table.txt", table)];
    let read = |p: &Path| std::fs::read(dir.path().join(p.file_name().unwrap())).unwrap();
    if let Some(p) = plan.outputs.path(OutputFormat::NcclTestsJson) {
        outputs.push(("run.json", read(p)));
    }
    if let Some(p) = plan.outputs.path(OutputFormat::Csv) {
        outputs.push(("run.csv", read(p)));
    }
    if let Some(p) = plan.outputs.path(OutputFormat::Jsonl) {
        outputs.push(("runs.jsonl", read(p)));
    }
    // The Prometheus text as pushed and written, at a fixed update time.
    let metrics = exposition(&report, &report.results, &[], FIXED_UNIX_TIME);
    if let Some(p) = plan.outputs.path(OutputFormat::Prometheus) {
        assert_prom_file_matches(&read(p), &metrics, s.name);
    }
    outputs.push(("metrics.prom", metrics.into_bytes()));
    Outputs(outputs)
}

/// `--prom-file` writes the same exposition as the golden one; only its update time (the clock
/// when it was written, a plausible Unix time) differs.
fn assert_prom_file_matches(file: &[u8], golden_body: &str, name: &str) {
    let file = std::str::from_utf8(file).unwrap();
    let metric = "collbench_last_update_timestamp_seconds{";
    let without_time = |text: &str| -> Vec<String> {
        text.lines()
            .map(|line| match line.rsplit_once(' ') {
                Some((series, value)) if series.starts_with(metric) => {
                    let t: f64 = value.parse().expect("a Unix time");
                    assert!(t > 1.7e9, "{name}: update time {t}");
                    series.to_string()
                }
                _ => line.to_string(),
            })
            .collect()
    };
    let (ours, theirs) = (without_time(file), without_time(golden_body));
    assert_eq!(ours.len(), theirs.len(), "{name}: --prom-file line count");
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a, b, "{name}: --prom-file differs from the exposition");
    }
    assert_eq!(
        file.lines().filter(|l| l.starts_with(metric)).count(),
        1,
        "{name}: one update time in --prom-file"
    );
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn first_difference(want: &[u8], got: &[u8]) -> String {
    let (want, got) = (String::from_utf8_lossy(want), String::from_utf8_lossy(got));
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n want {w:?}\n  got {g:?}", i + 1);
        }
    }
    format!(
        "common lines equal; {} vs {} bytes, {} vs {} lines",
        want.len(),
        got.len(),
        want.lines().count(),
        got.lines().count()
    )
}

#[test]
fn every_output_of_the_fixed_seed_runs_matches_its_golden_file() {
    let bless = std::env::var_os("COLLBENCH_BLESS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    let mut compared = 0;
    for s in scenarios() {
        let dir = golden_dir().join(s.name);
        let shown = format!("tests/golden/{}", s.name);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
        }
        for (file, got) in run(&s).0 {
            let path = dir.join(file);
            if bless {
                std::fs::write(&path, &got).unwrap();
                continue;
            }
            match std::fs::read(&path) {
                Ok(want) if want == got => compared += 1,
                Ok(want) => {
                    failures.push(format!("{shown}/{file}: {}", first_difference(&want, &got)))
                }
                Err(e) => failures.push(format!("{shown}/{file}: {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "outputs differ from the golden files (if the change is meant: COLLBENCH_BLESS=1 \
         cargo test --features mpi,fabric --test output golden::, then review the diff):\n{}",
        failures.join("\n")
    );
    if !bless {
        assert!(compared >= 18, "only {compared} golden files compared");
    }
}

/// The run is a function of its seed: a second run gives the same bytes (a golden file written
/// from a non-reproducible run would fail at random later).
#[test]
fn the_same_seed_gives_the_same_bytes() {
    let s = &scenarios()[0];
    let (a, b) = (run(s).0, run(s).0);
    assert_eq!(a.len(), b.len());
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between two runs of one seed");
    }
}
