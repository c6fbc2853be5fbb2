//! One multi-call binary: `collbench` started through a link named `all_reduce_perf` (nccl-tests'
//! name) or `allreduce-perf` (collbench's) is all_reduce's program, and prints the table
//! `collbench run all_reduce` prints for the same flags; every name answers `--version`.

use std::path::{Path, PathBuf};
use std::process::Command;

const COLLBENCH: &str = env!("CARGO_BIN_EXE_collbench");

fn link(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::os::unix::fs::symlink(COLLBENCH, &path).unwrap();
    path
}

/// stdout of `program args`, with the rank lines' pid and the digits of timings masked.
fn table(program: &Path, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .arg("60")
        .arg(program)
        .args(args)
        .args(["-b", "8", "-e", "1K", "-f", "4", "-n", "1", "-w", "0"])
        .args(["--backend", "mpi", "-c", "0"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with("#  Rank") {
                "#  Rank".to_string()
            } else if l.starts_with(' ') {
                // Rows: size, count, type, redop, root, then timings.
                l.split_whitespace().take(5).collect::<Vec<_>>().join(" ")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_name_runs_its_program() {
    let dir = tempfile::tempdir().unwrap();
    let nccl_tests = link(dir.path(), "all_reduce_perf");
    let ours = link(dir.path(), "allreduce-perf");
    let umbrella = table(Path::new(COLLBENCH), &["run", "all_reduce"]);
    assert!(umbrella.contains("# Collective test starting: all_reduce_perf"));
    assert_eq!(table(&nccl_tests, &[]), umbrella);
    assert_eq!(table(&ours, &[]), umbrella);
    // Another collective by its nccl-tests name, and the umbrella under its own name.
    let alltoallv = link(dir.path(), "alltoallv_perf");
    assert!(table(&alltoallv, &[]).contains("# Collective test concluded: alltoallv_perf"));
    let list = Command::new(COLLBENCH).arg("list").output().unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("all_reduce_perf"));
}

#[test]
fn every_name_answers_version() {
    let dir = tempfile::tempdir().unwrap();
    let want = format!("collbench {}\n", env!("CARGO_PKG_VERSION"));
    for name in [
        "all_reduce_perf",
        "allreduce-perf",
        "sendrecv_perf",
        "hypercube-perf",
    ] {
        let out = Command::new(link(dir.path(), name))
            .arg("--version")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{name}");
    }
    let out = Command::new(COLLBENCH).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    // nccl-tests' flags after it do not matter, as with -h.
    let out = Command::new(COLLBENCH)
        .args(["run", "all_reduce", "-b", "8", "--version"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}
