//! Nothing lost: a run killed mid-sweep (SIGTERM as scancel/preemption sends it, SIGINT as Ctrl-C
//! does) keeps every finished row in -J, --csv, --jsonl and --prom-file, marks the run incomplete
//! and exits 143/130.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ALLREDUCE: &str = env!("CARGO_BIN_EXE_allreduce-perf");
/// One process alone: broadcast, whose busbw (bus factor 1) a `--min-busbw` floor can judge on one
/// rank, where all_reduce's is 0 and the floor is refused (exit 6).
const BROADCAST: &str = env!("CARGO_BIN_EXE_broadcast-perf");

fn rows_in_jsonl(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .filter(|l| l.contains("\"record\":\"row\""))
                .count()
        })
        .unwrap_or(0)
}

/// Waits (bounded) until the sweep has finished `rows` rows.
fn wait_for_rows(path: &Path, rows: usize, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while rows_in_jsonl(path) < rows {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before {rows} rows"
        );
        assert!(Instant::now() < deadline, "no {rows} rows within 120 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits (bounded) for the exit code.
fn wait_exit(child: &mut Child, limit: Duration) -> i32 {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not stop within {limit:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn outputs(dir: &Path) -> Vec<String> {
    ["run.json", "run.csv", "run.jsonl", "run.prom"]
        .iter()
        .map(|f| dir.join(f).display().to_string())
        .collect()
}

fn sweep_args(dir: &Path) -> Vec<String> {
    let o = outputs(dir);
    [
        "-b",
        "1M",
        "-e",
        "1G",
        "-f",
        "2",
        "-n",
        "10",
        "-w",
        "1",
        "--backend",
        "mpi",
        "--collbench-json",
        &o[0],
        "--csv",
        &o[1],
        "--jsonl",
        &o[2],
        "--prom-file",
        &o[3],
        "--min-busbw",
        "0.000001",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Checks every output holds exactly the finished rows and says the run is incomplete.
fn check_outputs(dir: &Path, signal_name: &str) -> usize {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(json["complete"], false);
    let errors = crate::support::schema::schema_errors(&json);
    assert!(errors.is_empty(), "{errors:#?}");
    let rows = json["results"].as_array().unwrap().len();
    let interrupted = json["summary"]["interrupted"].as_str().unwrap();
    assert!(interrupted.contains(signal_name), "{interrupted}");
    assert!((2..11).contains(&rows), "{rows} rows");
    // The verdict says so too.
    assert_eq!(json["verdict"]["passed"], false);
    assert!(json["verdict"]["checks"]
        .to_string()
        .contains("\"complete\""));

    let jsonl = std::fs::read_to_string(dir.join("run.jsonl")).unwrap();
    assert_eq!(rows_in_jsonl(&dir.join("run.jsonl")), rows);
    let end: serde_json::Value = serde_json::from_str(jsonl.lines().last().unwrap()).unwrap();
    assert_eq!(
        (end["record"].as_str(), end["complete"].as_bool()),
        (Some("end"), Some(false))
    );
    let runs = collbench::sinks::jsonl::read_runs(&dir.join("run.jsonl")).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].results.len(), rows);

    let csv = std::fs::read_to_string(dir.join("run.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let size_column = header.iter().position(|h| *h == "size_bytes").unwrap();
    let cells: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // One line per measured cell: out-of-place and in-place of every finished row.
    assert_eq!(cells.len(), 2 * rows, "{csv}");
    let sizes: std::collections::BTreeSet<&str> = cells.iter().map(|c| c[size_column]).collect();
    assert_eq!(sizes.len(), rows, "{csv}");

    let prom = std::fs::read_to_string(dir.join("run.prom")).unwrap();
    assert!(
        prom.contains(&format!(
            "collbench_rows{{collective={},backend=\"mpi\",nodes=\"1\",nranks=\"{}\"}} {rows}\n",
            json["collective"], json["nranks"]
        )),
        "{prom}"
    );
    assert!(
        prom.contains("collbench_run_interrupted{") && prom.contains("} 1\n"),
        "{prom}"
    );
    // No temporary file is left behind.
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp"), "{name}");
    }
    rows
}

fn signal_single_process(signal: i32, name: &str, code: i32) {
    signal_single_process_with(signal, name, code, &[]);
}

fn signal_single_process_with(signal: i32, name: &str, code: i32, env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BROADCAST)
        .args(sweep_args(dir.path()))
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_rows(&dir.path().join("run.jsonl"), 3, &mut child);
    // SAFETY: kill(2) on the pid of our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    assert_eq!(wait_exit(&mut child, Duration::from_secs(120)), code);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("# Verdict: FAIL"), "{stderr}");
    let rows = check_outputs(dir.path(), name);
    // The text table printed exactly those rows.
    let table_rows = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert_eq!(table_rows, rows, "{stdout}");
}

#[test]
fn sigterm_mid_sweep_keeps_every_finished_row_and_exits_143() {
    signal_single_process(libc::SIGTERM, "SIGTERM", 143);
}

#[test]
fn sigint_mid_sweep_keeps_every_finished_row_and_exits_130() {
    signal_single_process(libc::SIGINT, "SIGINT", 130);
}

/// A reader that stops reading stdout and then signals (mpirun on Ctrl-C: it stops forwarding its
/// ranks' output, sends SIGTERM, and SIGKILLs 1 s later): the run must not sit in a write to the
/// full pipe. It gives up on stdout, stops after the row and writes every file. Before, it stayed
/// blocked in write(2) until killed, with none of its files written.
#[test]
fn sigterm_while_nobody_reads_stdout_still_writes_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let o = outputs(dir.path());
    let mut child = Command::new(ALLREDUCE)
        .args([
            "-b", "8", "-e", "1K", "-f", "2", "-n", "1", "-w", "0", "-N", "0",
        ])
        .args([
            "--backend",
            "mpi",
            "--collbench-json",
            &o[0],
            "--csv",
            &o[1],
            "--jsonl",
            &o[2],
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Nothing reads stdout: the rows stop once the pipe is full (about 64 KiB of table).
    let jsonl = dir.path().join("run.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = (usize::MAX, Instant::now());
    loop {
        let rows = rows_in_jsonl(&jsonl);
        if rows != last.0 {
            last = (rows, Instant::now());
        } else if rows > 100 && last.1.elapsed() > Duration::from_secs(1) {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended by itself"
        );
        assert!(
            Instant::now() < deadline,
            "the rows never stalled: {rows} rows"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let started = Instant::now();
    // SAFETY: kill(2) on the pid of our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    assert_eq!(wait_exit(&mut child, Duration::from_secs(20)), 143);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        started.elapsed()
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("standard output is not being read"),
        "{stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap())
            .unwrap();
    assert_eq!(json["complete"], false);
    let rows = json["results"].as_array().unwrap().len();
    assert_eq!(rows, rows_in_jsonl(&jsonl));
    assert!(rows > 100, "{rows} rows");
    let csv = std::fs::read_to_string(dir.path().join("run.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 * rows);
}

/// libinfinipath (Debian's libfabric depends on it through libpsm_infinipath) installs a SIGTERM
/// handler that calls exit(1) when it is loaded. A binary that has it loaded at start (as the
/// `collbench` umbrella had while it linked libfabric) must still stop cleanly with 143: that
/// handler is not chained after ours. Without the fix this run exits 1 with no end record.
#[test]
fn sigterm_stays_ours_when_a_library_installed_a_handler_at_load() {
    let library = "/usr/lib/x86_64-linux-gnu/libinfinipath.so.4";
    assert!(
        Path::new(library).exists(),
        "{library} is missing: install libpsm-infinipath1 (scripts/install-deps.sh does)"
    );
    signal_single_process_with(libc::SIGTERM, "SIGTERM", 143, &[("LD_PRELOAD", library)]);
}

/// Under mpirun with 4 ranks, SIGTERM reaches every rank at once (as slurmstepd delivers scancel):
/// they agree to stop after the same row.
#[cfg(feature = "mpi")]
#[test]
fn sigterm_to_every_rank_under_mpirun_keeps_the_rows_and_exits_143() {
    let _turn = crate::support::process::one_mpirun_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("timeout")
        .args([
            "--kill-after=10",
            "300",
            "mpirun",
            "--allow-run-as-root",
            "--oversubscribe",
            "-np",
            "4",
            ALLREDUCE,
        ])
        .args(sweep_args(dir.path()))
        .env("OMPI_MCA_mpi_yield_when_idle", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_rows(&dir.path().join("run.jsonl"), 3, &mut child);
    let marker = dir.path().display().to_string();
    let signalled = crate::support::accept::signal_ranks(ALLREDUCE, &marker, libc::SIGTERM);
    assert_eq!(signalled, 4, "ranks of this run");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(120)), 143);
    check_outputs(dir.path(), "SIGTERM");
}

/// An output that fails at the end (its directory vanished, or a full shared file system) does not
/// hide the verdict: the block is still printed, the exit code is the verdict's 7, and the I/O
/// error is said.
#[test]
fn an_output_failing_at_the_end_keeps_the_verdict_block_and_its_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("gone");
    std::fs::create_dir(&gone).unwrap();
    let jsonl = dir.path().join("run.jsonl");
    let csv = gone.join("run.csv");
    let mut child = Command::new(BROADCAST)
        .args([
            "-b",
            "1M",
            "-e",
            "16M",
            "-f",
            "2",
            "-n",
            "5",
            "-w",
            "1",
            "--backend",
            "mpi",
            "--min-busbw",
            "1000",
        ])
        .arg("--jsonl")
        .arg(&jsonl)
        .arg("--csv")
        .arg(&csv)
        // 20 ms per operation: the sweep is still running when the directory goes.
        .env("COLLBENCH_TEST_DELAY", "0:20000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_rows(&jsonl, 1, &mut child);
    std::fs::remove_dir_all(&gone).unwrap();
    assert_eq!(wait_exit(&mut child, Duration::from_secs(120)), 7);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains("# Verdict"), "{stdout}");
    assert!(stderr.contains("# Verdict: FAIL"), "{stderr}");
    assert!(stderr.contains("acceptance verdict FAIL"), "{stderr}");
    assert!(
        stderr.contains(&format!("I/O error on {}", csv.display())),
        "{stderr}"
    );
    assert_eq!(rows_in_jsonl(&jsonl), 5);
}
