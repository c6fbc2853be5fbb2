//! The package's real binaries, alone or under a real `mpirun`, every run bounded by a timeout that
//! kills the whole process group.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// Held by every test that starts `mpirun`, for as long as its job runs: one job at a time in a
/// test binary, since the ranks share the machine's two cores and the watchdog and timing tests
/// measure time.
pub fn one_mpirun_at_a_time() -> MutexGuard<'static, ()> {
    static MPIRUN: Mutex<()> = Mutex::new(());
    MPIRUN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

static MACHINE: RwLock<()> = RwLock::new(());

/// Held by a test that measures run-to-run noise, for as long as it runs: every other test of its
/// binary that takes [`machine_shared`] waits, so the shifts it measures are the machine's, not a
/// sibling test's (a plot rendered beside a 2-rank run slowed whole runs by 30-40 %).
pub fn machine_alone() -> RwLockWriteGuard<'static, ()> {
    MACHINE
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Held by every other test of a binary that has a [`machine_alone`] test.
pub fn machine_shared() -> RwLockReadGuard<'static, ()> {
    MACHINE
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Path of one of this package's binaries (cargo builds them for integration tests).
pub fn binary(name: &str) -> PathBuf {
    let path = match name {
        "allreduce-perf" => env!("CARGO_BIN_EXE_allreduce-perf"),
        "allgather-perf" => env!("CARGO_BIN_EXE_allgather-perf"),
        "reducescatter-perf" => env!("CARGO_BIN_EXE_reducescatter-perf"),
        "alltoall-perf" => env!("CARGO_BIN_EXE_alltoall-perf"),
        "alltoallv-perf" => env!("CARGO_BIN_EXE_alltoallv-perf"),
        "broadcast-perf" => env!("CARGO_BIN_EXE_broadcast-perf"),
        "reduce-perf" => env!("CARGO_BIN_EXE_reduce-perf"),
        "sendrecv-perf" => env!("CARGO_BIN_EXE_sendrecv-perf"),
        "gather-perf" => env!("CARGO_BIN_EXE_gather-perf"),
        "scatter-perf" => env!("CARGO_BIN_EXE_scatter-perf"),
        "hypercube-perf" => env!("CARGO_BIN_EXE_hypercube-perf"),
        "collbench" => env!("CARGO_BIN_EXE_collbench"),
        other => panic!("unknown binary {other}"),
    };
    PathBuf::from(path)
}

/// Every per-collective binary.
pub const COLLECTIVE_BINARIES: [&str; 11] = [
    "allreduce-perf",
    "allgather-perf",
    "reducescatter-perf",
    "alltoall-perf",
    "alltoallv-perf",
    "broadcast-perf",
    "reduce-perf",
    "sendrecv-perf",
    "gather-perf",
    "scatter-perf",
    "hypercube-perf",
];

/// What a finished (or killed) run left.
#[derive(Debug)]
pub struct Finished {
    /// `None` when the timeout killed it.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    pub fn describe(&self) -> String {
        format!(
            "status {:?} after {:.1} s\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.elapsed.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }

    /// Table rows: the non-comment lines of stdout.
    pub fn rows(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .collect()
    }
}

/// Open MPI's mpirun as root, oversubscribed (4 ranks on 2 cores), with `env` exported to ranks.
pub fn mpirun(np: usize, program: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new("mpirun");
    command.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "-np",
        &np.to_string(),
    ]);
    // Silence the "help message aggregation" noise; keep MPI_Abort messages.
    command.args(["--mca", "orte_base_help_aggregate", "0"]);
    for (name, value) in env {
        command.env(name, value);
        command.args(["-x", name]);
    }
    command.arg(binary(program));
    command.args(args);
    command
}

/// The binary alone (a singleton: no launcher).
pub fn alone(program: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(binary(program));
    command.args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

fn drain(mut stream: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Starts `command` in its own process group with piped output.
pub fn spawn(mut command: Command) -> Child {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    command.spawn().expect("failed to start the test command")
}

/// Kills the whole process group of `child` (mpirun and every rank).
pub fn kill_group(child: &Child) {
    // SAFETY: signalling the process group we created for this child.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
}

/// Waits for `child` at most `limit`, then kills its process group.
pub fn finish(mut child: Child, limit: Duration, started: Instant) -> Finished {
    // `start_until` may already own stdout (and keeps draining it).
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let left = limit.saturating_sub(started.elapsed());
    let status = match child
        .wait_timeout(left)
        .expect("waiting for the test command")
    {
        Some(status) => Some(status),
        None => {
            kill_group(&child);
            let _ = child.wait();
            None
        }
    };
    let elapsed = started.elapsed();
    // Ranks orphaned by a killed launcher must not outlive the test.
    kill_group(&child);
    Finished {
        status,
        stdout: out.and_then(|h| h.join().ok()).unwrap_or_default(),
        stderr: err.and_then(|h| h.join().ok()).unwrap_or_default(),
        elapsed,
    }
}

/// Runs `command` to completion, killing it after `limit`.
pub fn run(command: Command, limit: Duration) -> Finished {
    let started = Instant::now();
    finish(spawn(command), limit, started)
}

/// Starts `command`, reads stdout lines until `wanted` returns true for one (or `limit`), and gives
/// back the child still running plus the lines read so far.
pub fn start_until(
    command: Command,
    limit: Duration,
    wanted: impl Fn(&str) -> bool + Send + 'static,
) -> (Child, Vec<String>, Instant) {
    let started = Instant::now();
    let mut child = spawn(command);
    let stdout = child.stdout.take().expect("stdout is piped");
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let hit = wanted(&line);
            if sender.send((line, hit)).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while started.elapsed() < limit {
        match receiver.recv_timeout(Duration::from_millis(100)) {
            Ok((line, hit)) => {
                lines.push(line);
                if hit {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // Keep draining in the background so the child never blocks on a full pipe.
    thread::spawn(move || while receiver.recv().is_ok() {});
    (child, lines, started)
}

/// Every measured cell of a report: (row, "out_of_place"/"in_place", cell).
pub fn cells(
    report: &serde_json::Value,
) -> Vec<(&serde_json::Value, &'static str, &serde_json::Value)> {
    let mut out = Vec::new();
    for row in report["results"].as_array().expect("results is an array") {
        for side in ["out_of_place", "in_place"] {
            if !row[side].is_null() {
                out.push((row, side, &row[side]));
            }
        }
    }
    out
}

/// The name the test harness knows test `test` of module `module_path` (`module_path!()`) by:
/// the path without the binary's crate name, for a test binary that runs one of its own tests in
/// child processes (`--exact`).
pub fn test_name(module_path: &str, test: &str) -> String {
    match module_path.split_once("::") {
        Some((_, module)) => format!("{module}::{test}"),
        None => test.to_string(),
    }
}

/// A 2-rank sweep long enough that [`CpuHogs`] take a share of every loop: 8 B to 32 KiB by ×8,
/// 5000 timed iterations after 20 warm-up ones.
pub const SWEEP_BESIDE_HOGS: [&str; 10] =
    ["-b", "8", "-e", "32K", "-f", "8", "-n", "5000", "-w", "20"];

/// Threads that spin on every CPU, two per CPU, until dropped: the ranks share their cores with
/// them, as with another job on the node.
pub struct CpuHogs {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuHogs {
    pub fn start() -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..2 * cpus)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        CpuHogs { stop, threads }
    }
}

impl Drop for CpuHogs {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
