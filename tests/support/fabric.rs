//! For the fabric tests: run `collbench fabric …` as a real process, under `timeout`.

use std::process::{Command, Output};

/// The umbrella binary; every command below is `collbench fabric …`.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_collbench")
}

/// Runs `collbench fabric <args>` bounded by `timeout SECONDS`, with `env` added.
pub fn run_with_env(seconds: u32, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_under(seconds, &[], args, env)
}

/// Runs `timeout SECONDS LAUNCHER… collbench fabric <args>` (a launcher such as `mpirun -np 2`,
/// or none) with `env` added.
pub fn run_under(seconds: u32, launcher: &[&str], args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new("timeout");
    command
        .arg(seconds.to_string())
        .args(launcher)
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
        .expect("`timeout`, the launcher and the collbench binary must be runnable")
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
