//! Shared by the fabric_* tests: run `collbench fabric …` as a real process, under `timeout`.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The umbrella binary; every command below is `collbench fabric …`.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_collbench")
}

/// Runs `collbench fabric <args>` bounded by `timeout SECONDS`, with `env` added.
pub fn run_with_env(seconds: u32, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new("timeout");
    command
        .arg(seconds.to_string())
        .arg(binary())
        .arg("fabric")
        .args(args);
    // A caller's FI_PROVIDER would hide providers the tests name explicitly.
    command.env_remove("FI_PROVIDER");
    command.env_remove("COLLBENCH_TEST_FABRIC_CORRUPT");
    for (key, value) in env {
        command.env(key, value);
    }
    command
        .output()
        .expect("`timeout` and the collbench binary must be runnable")
}

pub fn run(seconds: u32, args: &[&str]) -> Output {
    run_with_env(seconds, args, &[])
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Exit code, with stdout and stderr in the panic message when it is not `expected`.
pub fn assert_exit(output: &Output, expected: i32) {
    assert_eq!(
        output.status.code(),
        Some(expected),
        "expected exit {expected}\n--- stdout\n{}\n--- stderr\n{}",
        stdout(output),
        stderr(output)
    );
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} not written: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// A small, quick sweep: 3 sizes, few iterations.
pub const QUICK_SWEEP: &[&str] = &[
    "-b",
    "8",
    "-e",
    "64K",
    "-f",
    "16",
    "--iters",
    "20",
    "--bw-iters",
    "2",
    "--warmup",
    "2",
    "--timeout",
    "20",
];
