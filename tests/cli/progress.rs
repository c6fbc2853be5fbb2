//! Feedback on a terminal: the progress line of a sweep appears on a pseudo-terminal's stderr
//! (util-linux `script` gives the run one), is erased when the run ends, and never reaches stdout,
//! a pipe or a file; the one-rank note says the bandwidth columns mean nothing.

use std::path::Path;
use std::process::Command;

const ALLREDUCE: &str = env!("CARGO_BIN_EXE_allreduce-perf");
const SWEEP: &str = "-b 8 -e 256K -f 2 -n 2 -w 1";
const PROGRESS: &str = "rows done";

/// Runs `command` (a shell line) with stdin, stdout and stderr on a new pseudo-terminal; returns
/// everything written to that terminal.
fn on_a_terminal(command: &str) -> String {
    let out = Command::new("timeout")
        .args(["120", "script", "-qfec", command, "/dev/null"])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .output()
        .expect("util-linux script runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn files_in(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            (path.display().to_string(), text)
        })
        .collect()
}

#[test]
fn the_progress_line_is_drawn_on_a_terminal_and_erased_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let terminal = on_a_terminal(&format!(
        "{ALLREDUCE} {SWEEP} --csv {d}/run.csv --collbench-json {d}/run.json --jsonl {d}/run.jsonl"
    ));
    // 16 sizes, one row each: drawn from 0 of 16 to 16 of 16, each time over the same line.
    assert!(
        terminal.contains("\r\x1b[Kcollbench: 0 of 16 rows done, "),
        "{terminal}"
    );
    assert!(
        terminal.contains("\r\x1b[Kcollbench: 16 of 16 rows done, "),
        "{terminal}"
    );
    // Erased: after the last drawing, an erase before anything else is printed.
    let last = terminal.rfind("collbench: 16 of 16 rows done").unwrap();
    let after = &terminal[last..];
    let erase = after.find("\r\x1b[K").expect("the line is erased");
    assert!(!after[..erase].contains('\n'), "{after}");
    assert!(
        after[erase..].contains("# Collective test concluded"),
        "{after}"
    );
    // Every table row starts at the beginning of a line (the line was erased before it).
    for line in terminal.lines().filter(|l| l.contains("float     sum")) {
        let row_start = line.rfind("\x1b[K").map(|i| i + 3).unwrap_or(0);
        assert!(
            !line[row_start..].contains("rows done"),
            "a row and the progress line share a line: {line:?}"
        );
    }
    for (path, text) in files_in(dir.path()) {
        assert!(!text.contains(PROGRESS) && !text.contains('\x1b'), "{path}");
    }
}

#[test]
fn stdout_never_carries_the_progress_line() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = dir.path().join("stdout.txt");
    // stderr stays on the terminal, stdout goes to a file.
    let terminal = on_a_terminal(&format!("{ALLREDUCE} {SWEEP} > {}", stdout.display()));
    assert!(terminal.contains(PROGRESS), "{terminal}");
    let table = std::fs::read_to_string(&stdout).unwrap();
    assert!(table.contains("# Collective test concluded"), "{table}");
    assert!(
        !table.contains(PROGRESS) && !table.contains('\x1b'),
        "{table}"
    );
}

#[test]
fn a_pipe_gets_no_progress_line_and_one_rank_gets_a_note() {
    let out = Command::new(ALLREDUCE)
        .args(SWEEP.split(' '))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for text in [&stderr, &stdout] {
        assert!(!text.contains(PROGRESS) && !text.contains('\x1b'), "{text}");
    }
    assert!(
        stderr.contains(
            "collbench: note: 1 rank: all_reduce moves no data between ranks; its algbw and \
             busbw are not meaningful\n"
        ),
        "{stderr}"
    );
}

// Without the mpi feature every process is a world of its own.
#[cfg(feature = "mpi")]
#[test]
fn only_rank_0_draws_and_two_ranks_get_no_note() {
    // Under mpirun the ranks' stderr reaches the terminal through mpirun: whatever it gives them,
    // at most one process (rank 0) draws, and two ranks are not trivial.
    let terminal = on_a_terminal(&format!(
        "mpirun --oversubscribe -np 2 {ALLREDUCE} {SWEEP} --backend mpi"
    ));
    assert!(
        terminal.contains("# Collective test concluded"),
        "{terminal}"
    );
    assert!(
        terminal.matches("0 of 16 rows done,").count() <= 1,
        "{terminal}"
    );
    assert!(!terminal.contains("1 rank:"), "{terminal}");
}
