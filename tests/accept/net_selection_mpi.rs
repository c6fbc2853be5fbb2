//! `--require-net` across real MPI ranks: this test binary runs itself as 4 ranks under `mpirun`
//! (hosts a, a, b, b through COLLBENCH_TEST_HOSTNAME). Each rank reads "its NCCL log" through the
//! real capture (a user NCCL_DEBUG_FILE with `%p`, written here with the lines NCCL writes, since
//! NCCL itself needs a GPU: scripts/gpu-check.sh runs that part), runs the real sweep on the host
//! backend, and the runner gathers every process's network to rank 0, which judges the verdict and
//! shares it, so every rank exits alike.

#![cfg(feature = "mpi")]

use crate::support::process::{finish, one_mpirun_at_a_time, spawn, test_name};
use collbench::backend::host_mpi::{host_placement, HostBackend};
use collbench::backend::nccl::net_capture::NcclLogCapture;
use collbench::backend::{Backend, CallSpec};
use collbench::cli::{parse_collective_args, Parsed};
use collbench::collectives::find;
use collbench::data::CheckOutcome;
use collbench::measure::Timing;
use collbench::plan::TimingPlan;
use collbench::report::memory::RankMemory;
use collbench::report::network::ProcessNetwork;
use collbench::report::{BackendInfo, RankPlacement};
use collbench::sinks::{JsonSink, Sink};
use collbench::sweep::runner::{self, RunInputs};
use collbench::types::{DataType, ReduceOp};
use collbench::world::{MpiWorld, World};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const CHILD_VAR: &str = "COLLBENCH_NETSEL_TEST_CHILD";
const DIR_VAR: &str = "COLLBENCH_NETSEL_TEST_DIR";

/// The host backend, answering `network()` with what this process's NCCL log said.
struct HostWithNetwork {
    inner: HostBackend,
    network: ProcessNetwork,
}

impl Backend for HostWithNetwork {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }
    fn network(&self) -> Option<ProcessNetwork> {
        Some(self.network.clone())
    }
    fn placements(&self) -> Vec<RankPlacement> {
        self.inner.placements()
    }
    fn local_ranks(&self) -> Vec<usize> {
        self.inner.local_ranks()
    }
    fn nranks(&self) -> usize {
        self.inner.nranks()
    }
    fn max_buffer_bytes(&self) -> Option<u64> {
        self.inner.max_buffer_bytes()
    }
    fn unsupported(&self, dtype: DataType, op: Option<ReduceOp>) -> Option<String> {
        self.inner.unsupported(dtype, op)
    }
    fn memory_usage(&self) -> collbench::Result<Vec<RankMemory>> {
        self.inner.memory_usage()
    }
    fn allocate(&mut self, send_bytes: usize, recv_bytes: usize) -> collbench::Result<()> {
        self.inner.allocate(send_bytes, recv_bytes)
    }
    fn prepare(&mut self, call: &CallSpec) -> collbench::Result<()> {
        self.inner.prepare(call)
    }
    fn warmup(&mut self, call: &CallSpec, iters: usize) -> collbench::Result<()> {
        self.inner.warmup(call, iters)
    }
    fn measure(&mut self, call: &CallSpec, plan: &TimingPlan) -> collbench::Result<Timing> {
        self.inner.measure(call, plan)
    }
    fn check(&mut self, call: &CallSpec) -> collbench::Result<CheckOutcome> {
        self.inner.check(call)
    }
}

#[test]
fn networks_of_every_rank_reach_the_verdict_under_mpirun() {
    let _turn = one_mpirun_at_a_time();
    let dir = std::env::temp_dir().join(format!("collbench-netsel-mpi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new("mpirun");
    command
        .args(["--allow-run-as-root", "--oversubscribe", "-np", "4"])
        .args([
            "-x",
            CHILD_VAR,
            "-x",
            DIR_VAR,
            "-x",
            "COLLBENCH_TEST_HOSTNAME",
        ])
        .args(["-x", "NCCL_DEBUG", "-x", "NCCL_DEBUG_FILE"])
        .env(CHILD_VAR, "1")
        .env(DIR_VAR, &dir)
        .env("COLLBENCH_TEST_HOSTNAME", "a,a,b,b")
        .env("NCCL_DEBUG", "INFO")
        .env("NCCL_DEBUG_FILE", dir.join("nccl.%p.log"))
        .arg(exe)
        .arg(test_name(module_path!(), "net_child"))
        .args(["--exact", "--nocapture", "--test-threads", "1"]);
    let run = finish(spawn(command), Duration::from_secs(180), Instant::now());
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    assert_eq!(
        run.stdout.matches("net checks passed on rank").count(),
        4,
        "{}",
        run.describe()
    );
    // Rank 0's outputs: the text header and the JSON of both runs.
    assert!(
        run.stdout.contains(
            ", network: Libfabric (provider efa, 4 NICs) on ranks 0-1 (host a); Socket on ranks \
             2-3 (host b)\n# Collective test starting: all_reduce_perf"
        ),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout
            .contains(", network: Libfabric (provider efa, 4 NICs)\n# Collective test"),
        "{}",
        run.describe()
    );
    let fallback: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("fallback.json")).unwrap()).unwrap();
    let errors = crate::support::schema::schema_errors(&fallback);
    assert!(errors.is_empty(), "{errors:#?}");
    let processes = fallback["backend"]["network_by_process"]
        .as_array()
        .unwrap();
    assert_eq!(processes.len(), 4);
    for (i, p) in processes.iter().enumerate() {
        assert_eq!(p["ranks"], serde_json::json!([i]));
        assert_eq!(p["host"], if i < 2 { "a" } else { "b" });
        let expected = if i < 2 { "Libfabric" } else { "Socket" };
        assert_eq!(p["selection"]["network"], expected, "{p}");
    }
    let check = &fallback["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "network")
        .unwrap()
        .clone();
    assert_eq!(check["passed"], false);
    assert_eq!(check["measured"], 2.0);
    assert_eq!(check["threshold"], 4.0);
    let all_efa: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("all-efa.json")).unwrap()).unwrap();
    assert_eq!(all_efa["verdict"]["passed"], true);
    // The user's log files are theirs: read, not removed.
    let logs = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("nccl.")
        })
        .count();
    assert_eq!(logs, 4);
    let _ = std::fs::remove_dir_all(&dir);
}

const EFA_LINES: &str = "NCCL INFO NET/OFI Selected Provider is efa (found 4 nics)
NCCL INFO Using network Libfabric
";
const SOCKET_LINES: &str = "NCCL INFO Using network Socket
";

/// Writes this process's "NCCL log" (as NCCL prefixes its lines) where NCCL_DEBUG_FILE says.
fn write_log(path: &std::path::Path, host: &str, lines: &str) {
    let pid = std::process::id();
    let text: String = lines
        .lines()
        .map(|l| format!("{host}:{pid}:{pid} [0] {l}\n"))
        .collect();
    std::fs::write(path, text).unwrap();
}

/// Runs only as a rank of the test above.
#[test]
fn net_child() {
    let Some(dir) = std::env::var_os(DIR_VAR).filter(|_| std::env::var_os(CHILD_VAR).is_some())
    else {
        return;
    };
    let dir = PathBuf::from(dir);
    // The user set NCCL_DEBUG=INFO and NCCL_DEBUG_FILE: collbench reads that file and sets nothing.
    let mut capture = NcclLogCapture::install();
    let (world, _) = MpiWorld::init().expect("MPI_Init");
    let rank = world.rank();
    let log = dir.join(format!("nccl.{}.log", std::process::id()));

    for (name, efa_ranks, required, passes) in
        [("fallback", 2, "efa", false), ("all-efa", 4, "efa", true)]
    {
        write_log(
            &log,
            world.hostname(),
            if rank < efa_ranks {
                EFA_LINES
            } else {
                SOCKET_LINES
            },
        );
        let network = capture.read(world.hostname(), vec![rank]);
        assert!(network.selection.is_some(), "{network:?}");
        let json = dir.join(format!("{name}.json"));
        let plan = match parse_collective_args(
            find("all_reduce").unwrap(),
            &[
                "allreduce-perf",
                "-b",
                "8",
                "-e",
                "1K",
                "-f",
                "32",
                "-n",
                "2",
                "-w",
                "1",
                "--require-net",
                required,
                "--collbench-json",
                json.to_str().unwrap(),
            ]
            .map(String::from),
            &|_| None,
        )
        .unwrap()
        {
            Parsed::Run(plan) => *plan,
            Parsed::Help(_) | Parsed::Version(_) => panic!("help"),
        };
        let placement = host_placement(rank, 0, world.hostname());
        let mut backend = HostWithNetwork {
            inner: HostBackend::mpi(&world, placement).unwrap(),
            network,
        };
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        let mut criteria = Default::default();
        if rank == 0 {
            sinks.push(Box::new(collbench::sinks::TextSink::stdout()));
            sinks.push(Box::new(JsonSink::new(json.clone())));
            criteria = plan.acceptance.resolve_criteria(&[]).unwrap();
        }
        let outcome = runner::run(RunInputs {
            plan: &plan,
            world: &world,
            backend: &mut backend,
            sinks,
            min_bus_bandwidth_gbps: None,
            stop: None,
            criteria,
        })
        .unwrap();
        // Every rank knows the verdict (rank 0 judged it from every rank's network).
        assert_eq!(outcome.verdict_failed, !passes, "{name} on rank {rank}");
        assert_eq!(outcome.wrong_elements, 0);
        if let Some(report) = &outcome.report {
            let verdict = report.verdict.as_ref().unwrap();
            match verdict.to_result() {
                Ok(()) => assert!(passes, "{name}"),
                Err(error) => {
                    assert!(!passes, "{name}: {error}");
                    assert_eq!(error.exit_code(), 7);
                    let message = error.to_string();
                    assert!(
                        message.contains(
                            "--require-net efa: NCCL selected Socket on ranks 2-3 (host b)"
                        ),
                        "{message}"
                    );
                }
            }
        }
        drop(backend);
        world.barrier().unwrap();
    }
    println!("net checks passed on rank {rank}");
}
