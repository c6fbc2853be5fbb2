//! stdout stays nccl-tests' in every mode, and a merged `2>&1` log parses as nccl-tests' output does
//! (docs/output.md): health-check scripts key on tokens (`grep "Avg bus bandwidth" | awk`, the last
//! line with `out-of-place`, the first with `bandwidth`, any `FAILED`, `grep -i error`), so
//! collbench's notes, verdicts and diagnoses go to stderr without those tokens.
//!
//! Every mode runs twice, once with stdout and stderr apart and once merged as a script's
//! `cmd 2>&1 | tee log` sees it. Checked for each: stdout ends with nccl-tests' footer; no stderr
//! line holds a token; the token lines of the merged log are exactly stdout's; the scripts' parses
//! of the merged log (rows after the last `out-of-place`, the number on the `Avg bus bandwidth`
//! line, the `Out of bounds` count) give what stdout alone gives; and stdout equals a plain run's
//! stdout once numbers are masked, but for the `OK`/`FAILED` word nccl-tests adds to its footer
//! under NCCL_TESTS_MIN_BW.

use crate::support::process::{alone, mpirun, run, Finished};
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(180);

/// What scripts grep for in nccl-tests' output (`error` case-insensitively).
const TOKENS: [&str; 6] = [
    "bandwidth",
    "Avg bus",
    "out-of-place",
    "in-place",
    "Out of bounds",
    "FAILED",
];

fn has_token(line: &str) -> bool {
    TOKENS.iter().any(|t| line.contains(t)) || line.to_ascii_lowercase().contains("error")
}

/// `command` with stderr sent into stdout's pipe, as `cmd 2>&1` does.
fn merged(command: &Command) -> Command {
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg("exec \"$@\" 2>&1")
        .arg("sh")
        .arg(command.get_program())
        .args(command.get_args());
    with_environment_of(command, shell)
}

/// A second run of `command` (a Command runs once).
fn copy(command: &Command) -> Command {
    let mut again = Command::new(command.get_program());
    again.args(command.get_args());
    with_environment_of(command, again)
}

fn with_environment_of(command: &Command, mut to: Command) -> Command {
    for (name, value) in command.get_envs() {
        match value {
            Some(v) => to.env(name, v),
            None => to.env_remove(name),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        to.current_dir(dir);
    }
    to
}

/// The rows after the last line containing `out-of-place` (the column header), as a parser
/// that slices from there takes them.
fn rows_after_last_header(log: &str) -> Vec<&str> {
    let lines: Vec<&str> = log.lines().collect();
    let last = lines
        .iter()
        .rposition(|l| l.contains("out-of-place"))
        .expect("a column header");
    lines[last + 1..]
        .iter()
        .copied()
        .filter(|l| l.starts_with(' ') && l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

/// `grep "Avg bus bandwidth" | awk -F: '{print $2}' | awk '{print $1}'` on every such line.
fn avg_bus_bandwidth(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("Avg bus bandwidth"))
        .map(|l| {
            l.split(':')
                .nth(1)
                .and_then(|v| v.split_whitespace().next())
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

/// Digits masked, so that two runs' tables compare by shape.
fn masked(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect::<String>()
        .lines()
        // Runs differ in timings, so numbers of one shape can differ in width; the columns'
        // widths are fixed, so compare the lines' lengths and words.
        .map(|l| {
            format!(
                "{}|{}",
                l.len(),
                l.split_whitespace().collect::<Vec<_>>().len()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

struct Mode {
    name: &'static str,
    command: Command,
    exit: i32,
    /// The footer's word after `Avg bus bandwidth` (NCCL_TESTS_MIN_BW only).
    footer_word: Option<&'static str>,
}

fn check(mode: Mode, plain_stdout: Option<&str>) -> Finished {
    let apart = run(copy(&mode.command), LIMIT);
    let both = run(merged(&mode.command), LIMIT);
    let name = mode.name;
    assert_eq!(
        apart.code(),
        Some(mode.exit),
        "{name}: {}",
        apart.describe()
    );
    assert_eq!(both.code(), Some(mode.exit), "{name}: {}", both.describe());

    // nccl-tests' stdout ends with its footer: nothing after it.
    let tail: Vec<&str> = apart.stdout.lines().rev().take(3).collect();
    assert_eq!(
        tail,
        [
            "",
            "#",
            &*format!("# Collective test concluded: {}", concluded(&apart.stdout))
        ],
        "{name}: {}",
        apart.describe()
    );
    // collbench's own lines on stderr hold no token.
    for line in apart.stderr.lines() {
        assert!(
            !has_token(line),
            "{name}: a stderr line a merged-log parser would take for nccl-tests': {line:?}"
        );
    }
    // The merged log's token lines are stdout's, in order (the two runs differ in numbers only).
    let token_lines =
        |text: &str| -> Vec<String> { masked_lines(text.lines().filter(|l| has_token(l))) };
    assert_eq!(
        token_lines(&both.stdout),
        token_lines(&apart.stdout),
        "{name}: merged log\n{}",
        both.stdout
    );
    // The scripts' parses agree.
    assert_eq!(
        rows_after_last_header(&both.stdout).len(),
        rows_after_last_header(&apart.stdout).len(),
        "{name}: rows after the last out-of-place\n{}",
        both.stdout
    );
    let avg = avg_bus_bandwidth(&both.stdout);
    assert_eq!(avg.len(), 1, "{name}: one Avg bus bandwidth line: {avg:?}");
    assert!(
        avg[0].parse::<f64>().is_ok(),
        "{name}: the Avg bus bandwidth number is {:?}",
        avg[0]
    );
    let first_bandwidth = both.stdout.lines().find(|l| l.contains("bandwidth"));
    assert!(
        first_bandwidth.is_some_and(|l| l.starts_with("# Avg bus bandwidth    : ")),
        "{name}: first line with 'bandwidth': {first_bandwidth:?}"
    );
    let footer = apart
        .stdout
        .lines()
        .find(|l| l.starts_with("# Avg bus bandwidth"))
        .unwrap();
    match mode.footer_word {
        Some(word) => assert!(footer.ends_with(&format!(" {word}")), "{name}: {footer:?}"),
        None => assert!(footer.ends_with(' '), "{name}: {footer:?}"),
    }
    // Same shape as the plain run, but for the footer's word.
    if let Some(plain) = plain_stdout {
        let strip = |text: &str| -> String {
            text.lines()
                .skip(1) // the banner names the backend
                .map(|l| {
                    if l.starts_with("# Avg bus bandwidth") {
                        "# Avg bus bandwidth".to_string()
                    } else if l.starts_with("#  Rank ") {
                        // pid and host differ between runs
                        "#  Rank".to_string()
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            masked(&strip(&apart.stdout)),
            masked(&strip(plain)),
            "{name}: stdout differs from the plain run's\n{}\n---- plain ----\n{plain}",
            apart.stdout
        );
    }
    println!("{name}: ok ({} stderr lines)", apart.stderr.lines().count());
    apart
}

fn masked_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    lines
        .map(|l| {
            l.chars()
                .map(|c| if c.is_ascii_digit() { '9' } else { c })
                .collect::<String>()
                .split_whitespace()
                .map(|w| if w.contains('9') { "N" } else { w })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn concluded(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("# Collective test starting: "))
        .unwrap_or("?")
        .to_string()
}

const SWEEP: [&str; 8] = ["-b", "8", "-e", "1K", "-f", "4", "-n", "2"];

fn flags(extra: &[&'static str]) -> Vec<&'static str> {
    SWEEP.iter().chain(extra).copied().collect()
}

#[test]
fn single_process_modes_keep_stdout_nccl_tests_and_merged_logs_parseable() {
    let dir = tempfile::tempdir().unwrap();
    let plain = check(
        Mode {
            name: "plain",
            command: alone("allreduce-perf", &flags(&["--backend", "mpi"]), &[]),
            exit: 0,
            footer_word: None,
        },
        None,
    );
    let json = dir.path().join("ar.json");
    let json_arg: &'static str = Box::leak(json.display().to_string().into_boxed_str());
    let modes = [
        Mode {
            name: "fallback (auto backend, no GPU)",
            command: alone("allreduce-perf", &flags(&[]), &[]),
            exit: 0,
            footer_word: None,
        },
        Mode {
            name: "NCCL_TESTS_MIN_BW failing on one rank",
            command: alone(
                "allreduce-perf",
                &flags(&["--backend", "mpi"]),
                &[("NCCL_TESTS_MIN_BW", "5")],
            ),
            exit: 7,
            footer_word: Some("FAILED"),
        },
        Mode {
            name: "NCCL_TESTS_MIN_BW passing",
            command: alone(
                "allreduce-perf",
                &flags(&["--backend", "mpi"]),
                &[("NCCL_TESTS_MIN_BW", "0")],
            ),
            exit: 0,
            footer_word: Some("OK"),
        },
        Mode {
            name: "accept (data and completeness)",
            command: alone(
                "collbench",
                &["accept"]
                    .into_iter()
                    .chain(flags(&["--backend", "mpi"]))
                    .collect::<Vec<_>>(),
                &[],
            ),
            exit: 0,
            footer_word: None,
        },
        Mode {
            name: "accept with a planted corruption",
            command: alone(
                "collbench",
                &["accept"]
                    .into_iter()
                    .chain(flags(&["--backend", "mpi"]))
                    .collect::<Vec<_>>(),
                &[("COLLBENCH_TEST_CORRUPT", "0:1")],
            ),
            exit: 7,
            footer_word: None,
        },
    ];
    for mode in modes {
        let corrupt = mode.name.contains("corruption");
        let run = check(mode, (!corrupt).then_some(plain.stdout.as_str()));
        if corrupt {
            assert!(
                run.stdout
                    .lines()
                    .any(|l| l.starts_with("# Out of bounds values : ") && l.ends_with(" FAILED")),
                "{}",
                run.describe()
            );
        }
    }
    // -J: nccl-tests' own first line, then the same table.
    let with_json = check(
        Mode {
            name: "-J",
            command: alone(
                "allreduce-perf",
                &flags(&["--backend", "mpi", "-J", json_arg]),
                &[],
            ),
            exit: 0,
            footer_word: None,
        },
        None,
    );
    assert!(with_json.stdout.starts_with("# Writing JSON output to "));
    for (name, extra) in [("-I 1", &["-I", "1"][..]), ("-N 2", &["-N", "2"][..])] {
        check(
            Mode {
                name,
                command: alone(
                    "allreduce-perf",
                    &flags(&[&["--backend", "mpi"][..], extra].concat()),
                    &[],
                ),
                exit: 0,
                footer_word: None,
            },
            None,
        );
    }
}

#[test]
fn multi_rank_modes_keep_stdout_nccl_tests_and_merged_logs_parseable() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("tiny.toml");
    std::fs::write(
        &profile,
        "schema = 1\nname = \"tiny\"\ndescription = \"test profile\"\ngpu_models = [\"host memory\"]\n\
         gpus_per_node = 2\npass_fraction = 0.9\nderive_larger_node_counts = false\n\n\
         [[expect]]\ncollective = \"all_reduce\"\nnodes = 1\nsize = \"512\"\nbusbw_gbps = 100000\n\
         source = \"a floor no host reaches\"\n",
    )
    .unwrap();
    let profile_arg: &'static str = Box::leak(profile.display().to_string().into_boxed_str());
    let plain = check(
        Mode {
            name: "plain, 2 ranks",
            command: mpirun(2, "allreduce-perf", &flags(&["--backend", "mpi"]), &[]),
            exit: 0,
            footer_word: None,
        },
        None,
    );
    for mode in [
        Mode {
            name: "--min-busbw failing, 2 ranks",
            command: mpirun(
                2,
                "allreduce-perf",
                &flags(&[
                    "--backend",
                    "mpi",
                    "--min-busbw",
                    "100000",
                    "--min-busbw-size",
                    "8",
                ]),
                &[],
            ),
            exit: 7,
            footer_word: None,
        },
        Mode {
            name: "NCCL_TESTS_MIN_BW failing, 2 ranks",
            command: mpirun(
                2,
                "allreduce-perf",
                &flags(&["--backend", "mpi"]),
                &[("NCCL_TESTS_MIN_BW", "100000")],
            ),
            exit: 7,
            footer_word: Some("FAILED"),
        },
        Mode {
            name: "--profile failing, 2 ranks",
            command: mpirun(
                2,
                "allreduce-perf",
                &flags(&["--backend", "mpi", "--profile", profile_arg]),
                &[],
            ),
            exit: 7,
            footer_word: None,
        },
    ] {
        check(mode, Some(&plain.stdout));
    }
    // NCCL_TESTS_SPLIT: two groups of two, one table.
    check(
        Mode {
            name: "NCCL_TESTS_SPLIT, 4 ranks",
            command: mpirun(
                4,
                "allreduce-perf",
                &flags(&["--backend", "mpi"]),
                &[("NCCL_TESTS_SPLIT", "AND 0x1")],
            ),
            exit: 0,
            footer_word: None,
        },
        None,
    );
}
