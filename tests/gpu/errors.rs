//! What a user sees when the GPU backend cannot run, through the real binary: a clear error with
//! exit 3 (NCCL) or 2 (CUDA) that lists what was tried, never a panic; and `--backend auto` falling
//! back to the mpi backend with a one-line notice on a machine without a usable GPU.

use std::process::{Command, Output, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt;

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_allreduce-perf"));
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("start allreduce-perf");
    let status = match child.wait_timeout(Duration::from_secs(60)).expect("wait") {
        Some(status) => status,
        None => {
            let _ = child.kill();
            panic!("allreduce-perf {args:?} did not finish within 60 s");
        }
    };
    let Output { stdout, stderr, .. } = child.wait_with_output().expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    assert!(!text.contains("panicked"), "no panic expected:\n{text}");
    (status.code().unwrap_or(-1), text)
}

#[test]
fn a_missing_nccl_library_is_exit_3_with_the_tried_path() {
    let (code, text) = run(
        &["--backend", "nccl", "-b", "8", "-e", "8"],
        &[("COLLBENCH_NCCL_LIBRARY", "/nonexistent/libnccl.so.2")],
    );
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("could not load the NCCL library"), "{text}");
    assert!(
        text.contains("/nonexistent/libnccl.so.2: no such file"),
        "{text}"
    );
    assert!(text.contains("COLLBENCH_NCCL_LIBRARY"), "{text}");
}

#[test]
fn a_library_that_is_not_nccl_is_exit_3_naming_missing_symbols() {
    let (code, text) = run(
        &["--backend", "nccl", "-b", "8", "-e", "8"],
        &[("COLLBENCH_NCCL_LIBRARY", "libc.so.6")],
    );
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("missing symbol(s) ncclGetVersion"), "{text}");
}

#[test]
fn without_a_gpu_nccl_fails_clearly_and_auto_falls_back_to_mpi() {
    if collbench::backend::nccl::probe().is_ok() {
        eprintln!("SKIPPED: this machine has a usable GPU and NCCL (covered by make gpu-check)");
        return;
    }
    let (code, text) = run(&["--backend", "nccl", "-b", "8", "-e", "8"], &[]);
    // No NCCL here: exit 3 listing every place tried; NCCL but no driver/GPU: exit 2.
    assert!(code == 3 || code == 2, "exit {code}:\n{text}");
    if code == 3 {
        assert!(
            text.contains("libnccl.so.2") && text.contains("tried"),
            "{text}"
        );
    } else {
        assert!(text.contains("CUDA"), "{text}");
    }
    let (code, text) = run(
        &[
            "--backend",
            "auto",
            "-b",
            "8",
            "-e",
            "64",
            "-n",
            "2",
            "-w",
            "1",
        ],
        &[],
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("no usable GPU/NCCL") && text.contains("using the mpi backend"),
        "{text}"
    );
    assert!(text.contains("# Out of bounds values : 0 OK"), "{text}");
}
