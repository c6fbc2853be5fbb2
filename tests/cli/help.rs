//! Every binary's and subcommand's help, as printed, against tests/golden/help/*.txt; every one in
//! clap's layout (one `Usage:` line, no hand-written `USAGE:`), every one answering `--version`
//! with the same line. After a meant change of a help text:
//!
//!     COLLBENCH_BLESS=1 cargo test --features mpi,fabric --test cli help::
//!
//! then review the diff of tests/golden/help.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The per-collective binaries, by file name.
const PERF_BINARIES: [(&str, &str); 11] = [
    ("allreduce-perf", env!("CARGO_BIN_EXE_allreduce-perf")),
    ("allgather-perf", env!("CARGO_BIN_EXE_allgather-perf")),
    (
        "reducescatter-perf",
        env!("CARGO_BIN_EXE_reducescatter-perf"),
    ),
    ("alltoall-perf", env!("CARGO_BIN_EXE_alltoall-perf")),
    ("alltoallv-perf", env!("CARGO_BIN_EXE_alltoallv-perf")),
    ("broadcast-perf", env!("CARGO_BIN_EXE_broadcast-perf")),
    ("reduce-perf", env!("CARGO_BIN_EXE_reduce-perf")),
    ("sendrecv-perf", env!("CARGO_BIN_EXE_sendrecv-perf")),
    ("gather-perf", env!("CARGO_BIN_EXE_gather-perf")),
    ("scatter-perf", env!("CARGO_BIN_EXE_scatter-perf")),
    ("hypercube-perf", env!("CARGO_BIN_EXE_hypercube-perf")),
];

const COLLBENCH: &str = env!("CARGO_BIN_EXE_collbench");

/// `collbench` command lines whose stdout is a help text (golden file name, arguments).
const UMBRELLA_HELPS: [(&str, &[&str]); 12] = [
    ("collbench", &["--help"]),
    ("collbench-run", &["run", "--help"]),
    ("collbench-run-all_reduce", &["run", "all_reduce", "--help"]),
    ("collbench-list", &["list", "--help"]),
    ("collbench-accept", &["accept", "--help"]),
    ("collbench-compare", &["compare", "--help"]),
    ("collbench-plot", &["plot", "--help"]),
    ("collbench-fabric", &["fabric", "--help"]),
    ("collbench-fabric-info", &["fabric", "info", "--help"]),
    (
        "collbench-fabric-loopback",
        &["fabric", "loopback", "--help"],
    ),
    (
        "collbench-fabric-pingpong",
        &["fabric", "pingpong", "--help"],
    ),
    ("collbench-help", &["help"]),
];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/help")
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env_remove("COLUMNS")
        .output()
        .expect("the binary starts")
}

fn stdout_of(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert_eq!(out.status.code(), Some(0), "{program} {args:?}: {out:?}");
    assert!(out.stderr.is_empty(), "{program} {args:?}: stderr {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Every help, by golden file name.
fn every_help() -> Vec<(String, String)> {
    let mut helps: Vec<(String, String)> = PERF_BINARIES
        .iter()
        .map(|(name, path)| (name.to_string(), stdout_of(path, &["--help"])))
        .collect();
    for (name, args) in UMBRELLA_HELPS {
        helps.push((name.to_string(), stdout_of(COLLBENCH, args)));
    }
    helps
}

#[test]
fn every_help_matches_its_golden_file() {
    let bless = std::env::var_os("COLLBENCH_BLESS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for (name, text) in every_help() {
        let path = golden_dir().join(format!("{name}.txt"));
        if bless {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == text => {}
            Ok(want) => failures.push(format!(
                "{name}: differs\n--- golden\n{want}\n--- got\n{text}"
            )),
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "help texts differ from tests/golden/help (if meant: COLLBENCH_BLESS=1 cargo test \
         --features mpi,fabric --test cli help::, then review the diff):\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_help_has_one_layout() {
    for (name, text) in every_help() {
        assert!(
            !text.contains("USAGE"),
            "{name}: hand-written USAGE:\n{text}"
        );
        assert_eq!(text.matches("\nUsage: ").count(), 1, "{name}:\n{text}");
        let first = text.lines().next().unwrap_or_default();
        assert!(
            !first.is_empty() && !first.starts_with("Usage"),
            "{name}: the first line is a description\n{text}"
        );
        assert!(text.contains("\nOptions:\n"), "{name}:\n{text}");
        assert!(
            text.contains("--version"),
            "{name}: --version not listed\n{text}"
        );
        // Every flag has a description: an option line never ends at its value name.
        for line in text.lines().filter(|l| l.trim_start().starts_with('-')) {
            assert!(
                !line.trim_end().ends_with('>'),
                "{name}: a flag without a description: {line}"
            );
        }
    }
}

#[test]
fn every_binary_and_subcommand_answers_version() {
    let want = format!("collbench {}\n", env!("CARGO_PKG_VERSION"));
    for (_, path) in PERF_BINARIES {
        assert_eq!(stdout_of(path, &["--version"]), want, "{path}");
    }
    for args in [
        &["--version"][..],
        &["-V"],
        &["run", "--version"],
        &["run", "all_reduce", "--version"],
        &["list", "--version"],
        &["accept", "--version"],
        &["compare", "--version"],
        &["compare", "-V"],
        &["plot", "--version"],
        &["fabric", "--version"],
        &["fabric", "info", "--version"],
        &["fabric", "loopback", "--version"],
        &["fabric", "pingpong", "--version"],
    ] {
        assert_eq!(stdout_of(COLLBENCH, args), want, "collbench {args:?}");
    }
}

#[test]
fn help_command_prints_that_commands_help() {
    for (command, own) in [
        ("accept", &["accept", "--help"][..]),
        ("compare", &["compare", "--help"]),
        ("plot", &["plot", "--help"]),
        ("fabric", &["fabric", "--help"]),
        ("fabric loopback", &["fabric", "loopback", "--help"]),
        ("run", &["run", "--help"]),
        ("list", &["list", "--help"]),
        ("all_reduce", &["run", "all_reduce", "--help"]),
    ] {
        let mut args = vec!["help"];
        args.extend(command.split(' '));
        assert_eq!(
            stdout_of(COLLBENCH, &args),
            stdout_of(COLLBENCH, own),
            "collbench help {command}"
        );
    }
    let unknown = run(COLLBENCH, &["help", "bogus"]);
    assert_eq!(unknown.status.code(), Some(6));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("'bogus'") && stderr.contains("compare"),
        "{stderr}"
    );
}

#[test]
fn umbrella_help_lists_every_command_with_a_description() {
    let text = stdout_of(COLLBENCH, &["--help"]);
    for command in ["run", "list", "accept", "compare", "plot", "fabric", "help"] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(command))
            .unwrap_or_else(|| panic!("no line for {command}:\n{text}"));
        assert!(
            line.split_whitespace().count() >= 3,
            "{command} has no description: {line}"
        );
    }
}

#[test]
fn no_arguments_prints_the_help_on_stderr_with_the_usage_exit_code() {
    let out = run(COLLBENCH, &[]);
    assert_eq!(out.status.code(), Some(6));
    assert!(out.stdout.is_empty(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr, stdout_of(COLLBENCH, &["--help"]));
    assert!(!stderr.contains("usage error"), "{stderr}");
}
