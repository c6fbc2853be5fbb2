//! The NCCL version gates of `-x` and `-D` through the real binary, against a missing NCCL and
//! against libraries that report older or newer releases (tests/gpu/fake_libnccl.c, built here
//! with cc): each unmet need is exit 6 naming the flag, the release found and the one needed; a
//! met one gets past the gates (to the CUDA driver, which a machine without a GPU lacks: exit 2).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt;

/// Builds the fake library with the given `-D` defines into `dir`.
fn fake_nccl(dir: &Path, name: &str, defines: &[&str]) -> PathBuf {
    let library = dir.join(name);
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gpu/fake_libnccl.c");
    let status = Command::new("cc")
        .args([
            "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
        ])
        .args(defines.iter().map(|d| format!("-D{d}")))
        .arg("-o")
        .arg(&library)
        .arg(&source)
        .status()
        .expect("run cc");
    assert!(status.success(), "cc failed on {}", source.display());
    library
}

struct Libraries {
    _dir: tempfile::TempDir,
    /// ncclCommInitRankConfig and the device API exported.
    full: PathBuf,
    /// ncclCommInitRankConfig only.
    without_device_api: PathBuf,
}

fn libraries() -> Libraries {
    let dir = tempfile::tempdir().unwrap();
    Libraries {
        full: fake_nccl(
            dir.path(),
            "libnccl-full.so",
            &["WITH_CONFIG", "WITH_DEVICE_API"],
        ),
        without_device_api: fake_nccl(dir.path(), "libnccl-config.so", &["WITH_CONFIG"]),
        _dir: dir,
    }
}

/// Runs `binary --backend nccl -b 8 -e 8 flags…` with `library` as NCCL reporting `version`.
fn run(binary: &str, flags: &[&str], library: &Path, version: &str) -> (i32, String) {
    let mut child = Command::new(binary)
        .args(["--backend", "nccl", "-b", "8", "-e", "8"])
        .args(flags)
        .env("COLLBENCH_NCCL_LIBRARY", library)
        .env("FAKE_NCCL_VERSION", version)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the benchmark");
    if child
        .wait_timeout(Duration::from_secs(60))
        .unwrap()
        .is_none()
    {
        let _ = child.kill();
        panic!("{binary} {flags:?} did not finish within 60 s");
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked"), "no panic expected:\n{text}");
    (out.status.code().unwrap_or(-1), text)
}

const ALLREDUCE: &str = env!("CARGO_BIN_EXE_allreduce-perf");
const ALLTOALL: &str = env!("CARGO_BIN_EXE_alltoall-perf");

/// Exit 6 with every fragment in the message.
fn assert_refused(result: (i32, String), fragments: &[&str]) {
    let (code, text) = result;
    assert_eq!(code, 6, "{text}");
    for fragment in fragments {
        assert!(text.contains(fragment), "missing {fragment:?} in:\n{text}");
    }
}

/// Past the NCCL gates: the next step needs a GPU (exit 2 without a driver) or, with one, the fake
/// NCCL fails its first real call (exit 3). Never the gates' exit 6.
fn assert_past_the_gates(result: (i32, String)) {
    let (code, text) = result;
    assert!(code == 2 || code == 3, "exit {code}:\n{text}");
    assert!(!text.contains("needs NCCL"), "{text}");
}

#[test]
fn cta_policy_needs_nccl_2_27() {
    let libs = libraries();
    let path = libs.full.to_string_lossy().into_owned();
    assert_refused(
        run(ALLREDUCE, &["-x", "1"], &libs.full, "22603"),
        &[
            "-x/--cta_policy 1 needs NCCL 2.27.0 or newer",
            &format!("the loaded NCCL 2.26.3 ({path}) is older"),
            "accepted with this NCCL: no -x",
        ],
    );
    assert_past_the_gates(run(ALLREDUCE, &["-x", "1"], &libs.full, "22703"));
    // -x 2 on 2.27 is ignored with nccl-tests' notice (printed before the banner once a GPU runs).
    assert_past_the_gates(run(ALLREDUCE, &["-x", "2"], &libs.full, "22703"));
    assert_past_the_gates(run(ALLREDUCE, &["-x", "2"], &libs.full, "22809"));
}

#[test]
fn device_kernels_need_the_nccl_2_28_device_api() {
    let libs = libraries();
    let d1 = ["-D", "1", "-R", "2"];
    assert_refused(
        run(ALLREDUCE, &d1, &libs.full, "22703"),
        &[
            "-D/--device_implementation 1 (allReduceLsaKernel) needs NCCL 2.28.0 or newer",
            "the loaded NCCL 2.27.3",
            "is older; accepted with this NCCL: -D 0",
        ],
    );
    assert_refused(
        run(ALLREDUCE, &d1, &libs.without_device_api, "22809"),
        &["the loaded NCCL 2.28.9", "lacks those symbols"],
    );
    assert_past_the_gates(run(ALLREDUCE, &d1, &libs.full, "22809"));
    // alltoall's GIN kernels: 2.28.7.
    let gin = ["-D", "3", "-R", "2"];
    assert_refused(
        run(ALLTOALL, &gin, &libs.full, "22803"),
        &["(GinAlltoAllKernel) needs NCCL 2.28.7 or newer", "2.28.3"],
    );
    assert_past_the_gates(run(ALLTOALL, &gin, &libs.full, "22807"));
}

#[test]
fn without_nccl_the_error_names_the_release_the_flags_need() {
    let (code, text) = run(
        ALLREDUCE,
        &["-x", "1", "-D", "2", "-R", "2"],
        Path::new("/nonexistent/libnccl.so.2"),
        "0",
    );
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("/nonexistent/libnccl.so.2: no such file"),
        "{text}"
    );
    assert!(
        text.contains(
            "(-x/--cta_policy 1 needs NCCL 2.27.0 or newer; -D/--device_implementation 2 \
             (allReduceLsaVectorizedKernel) needs NCCL 2.28.0 or newer)"
        ),
        "{text}"
    );
}
