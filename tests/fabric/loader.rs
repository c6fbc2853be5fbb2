//! libfabric is loaded at run time, on first use: binaries start without it (a broken
//! libfabric.so.1 first on LD_LIBRARY_PATH does not stop them), and `collbench fabric` reports a
//! library it cannot load with exit 5, naming every place tried and how to fix it.
#![cfg(feature = "fabric")]

use crate::support::fabric::{assert_exit, binary, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The AWS EFA installer's folders, searched after the dynamic loader.
const EFA_INSTALLER_LIBRARIES: [&str; 2] = [
    "/opt/amazon/efa/lib64/libfabric.so.1",
    "/opt/amazon/efa/lib/libfabric.so.1",
];

/// A folder holding a `libfabric.so.1` that is not a shared library: the dynamic loader stops at
/// it (glibc reports the bad file instead of going on to ld.so.cache).
fn broken_libfabric_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("libfabric.so.1"),
        "this is not a shared library\n".repeat(200),
    )
    .unwrap();
    dir
}

/// Runs `program args` under `timeout`, with LD_LIBRARY_PATH and COLLBENCH_LIBFABRIC_LIBRARY set
/// as given (and unset otherwise, whatever the caller's environment has).
fn run_program(
    program: &str,
    args: &[&str],
    library_path: Option<&Path>,
    override_library: Option<&str>,
) -> Output {
    let mut command = Command::new("timeout");
    command.arg("60").arg(program).args(args);
    command.env_remove("FI_PROVIDER");
    command.env_remove("LD_LIBRARY_PATH");
    command.env_remove("COLLBENCH_LIBFABRIC_LIBRARY");
    if let Some(dir) = library_path {
        command.env("LD_LIBRARY_PATH", dir);
    }
    if let Some(path) = override_library {
        command.env("COLLBENCH_LIBFABRIC_LIBRARY", path);
    }
    command
        .output()
        .expect("`timeout` and the binary must be runnable")
}

fn fabric_info(library_path: Option<&Path>, override_library: Option<&str>) -> Output {
    run_program(
        binary(),
        &["fabric", "info", "--provider", "shm"],
        library_path,
        override_library,
    )
}

/// The library named in `collbench fabric info`'s header ("libfabric 1.17 from PATH (built …").
fn loaded_library(output: &Output) -> PathBuf {
    let text = stdout(output);
    let header = text.lines().next().unwrap_or_default();
    let path = header
        .split(" from ")
        .nth(1)
        .and_then(|rest| rest.split(" (built against").next())
        .unwrap_or_else(|| panic!("no library path in the header: {header}"));
    PathBuf::from(path)
}

#[test]
fn binaries_start_with_a_broken_libfabric_first_on_the_loader_path() {
    let dir = broken_libfabric_dir();
    let list = run_program(binary(), &["list"], Some(dir.path()), None);
    assert_exit(&list, 0);
    assert!(
        stdout(&list).contains("allreduce-perf"),
        "{}",
        stdout(&list)
    );
    let help = run_program(
        env!("CARGO_BIN_EXE_allreduce-perf"),
        &["--help"],
        Some(dir.path()),
        None,
    );
    assert_exit(&help, 0);
}

#[test]
fn a_missing_override_is_exit_5_naming_the_path_and_the_variable() {
    let output = fabric_info(None, Some("/nonexistent/libfabric.so.1"));
    assert_exit(&output, 5);
    let err = stderr(&output);
    assert!(
        err.contains("COLLBENCH_LIBFABRIC_LIBRARY=/nonexistent/libfabric.so.1"),
        "{err}"
    );
    assert!(
        err.contains("/nonexistent/libfabric.so.1: no such file"),
        "{err}"
    );
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
}

#[test]
fn an_override_that_is_not_a_library_is_exit_5_with_the_loader_reason() {
    let dir = broken_libfabric_dir();
    let broken = dir.path().join("libfabric.so.1");
    let output = fabric_info(None, Some(broken.to_str().unwrap()));
    assert_exit(&output, 5);
    let err = stderr(&output);
    assert!(
        err.contains(&format!("{0}: {0}: invalid ELF header", broken.display())),
        "{err}"
    );
}

#[test]
fn a_broken_libfabric_on_the_loader_path_is_listed_then_the_efa_folders_are_tried() {
    let dir = broken_libfabric_dir();
    let output = fabric_info(Some(dir.path()), None);
    let installed: Vec<&str> = EFA_INSTALLER_LIBRARIES
        .into_iter()
        .filter(|p| Path::new(p).exists())
        .collect();
    match installed.first() {
        // No EFA installer here (this repository's CI): every place fails.
        None => {
            assert_exit(&output, 5);
            let err = stderr(&output);
            assert!(err.contains("tried 3 places"), "{err}");
            let broken = dir.path().join("libfabric.so.1");
            assert!(
                err.contains(&format!("\n  libfabric.so.1: {}: ", broken.display())),
                "{err}"
            );
            for path in EFA_INSTALLER_LIBRARIES {
                assert!(err.contains(&format!("\n  {path}: no such file")), "{err}");
            }
            assert!(
                err.contains("apt-get install libfabric1")
                    && err.contains("COLLBENCH_LIBFABRIC_LIBRARY=/path/to/libfabric.so.1"),
                "{err}"
            );
        }
        // An EFA host: the search goes past the broken file to the installer's library.
        Some(efa_library) => {
            assert_exit(&output, 0);
            assert_eq!(
                std::fs::canonicalize(loaded_library(&output)).unwrap(),
                std::fs::canonicalize(efa_library).unwrap()
            );
        }
    }
}

#[test]
fn the_header_and_json_name_the_loaded_library_and_the_override_wins() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("info.json");
    let output = run_program(
        binary(),
        &[
            "fabric",
            "info",
            "--provider",
            "shm",
            "--json",
            json.to_str().unwrap(),
        ],
        None,
        None,
    );
    assert_exit(&output, 0);
    let system_library = loaded_library(&output);
    assert!(
        system_library.is_absolute() && system_library.exists(),
        "{}",
        system_library.display()
    );
    let report = crate::support::schema::json_file(&json);
    assert_eq!(
        report["libfabric_library"].as_str(),
        system_library.to_str()
    );
    let version = report["libfabric_runtime_version"].as_str().unwrap();
    assert!(
        stdout(&output).contains(&format!("libfabric {version} from ")),
        "{}",
        stdout(&output)
    );

    // The explicit path is used although the loader would find a broken file first.
    let broken = broken_libfabric_dir();
    let output = fabric_info(Some(broken.path()), Some(system_library.to_str().unwrap()));
    assert_exit(&output, 0);
    assert_eq!(loaded_library(&output), system_library);
}
