//! Command line: nccl-tests' flag set (same spellings and defaults) plus collbench's own, strictly
//! validated into a [`crate::plan::TestPlan`].
//!
//! Entry points (nothing here prints or exits; `crate::app` does):
//! - [`parse_collective_args`]: a per-collective binary's argv (`allreduce-perf -b 8 …`).
//! - [`parse_umbrella`]: the `collbench` binary's argv (`collbench run all_reduce …`, `list`, …).
//!
//! Every bad value is a [`CollbenchError::Usage`] (exit 6) whose message names the flag (or
//! environment variable), repeats the value and says what is accepted.

pub mod acceptance;
pub mod args;
pub mod build;
pub mod precision;
pub mod split;
pub mod umbrella;

pub use umbrella::{parse_umbrella, parse_umbrella_with, Umbrella};

use crate::collectives::Collective;
use crate::error::{CollbenchError, Result};
use crate::plan::TestPlan;
use args::RawArgs;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};

/// What a command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// `-h/--help`: print this text to stdout and exit 0.
    Help(String),
    /// `--version`: print this line to stdout and exit 0.
    Version(String),
    /// Run the test.
    Run(Box<TestPlan>),
}

/// The process environment, for the `env` parameter of the parsers.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Parses a per-collective command line. `argv[0]` is the program name (as `std::env::args()`
/// gives it); the rest are flags. `env` reads environment variables (NCCL_TESTS_SPLIT…), so tests
/// can pass a map instead of touching the process environment.
pub fn parse_collective_args(
    collective: &'static dyn Collective,
    argv: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Parsed> {
    parse_collective_args_with_defaults(collective, argv, env, &|_| {})
}

/// [`parse_collective_args`] with `defaults` filling in flags the command line left out
/// (`collbench accept`'s adaptive mode), before the values are checked.
pub fn parse_collective_args_with_defaults(
    collective: &'static dyn Collective,
    argv: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    defaults: &dyn Fn(&mut RawArgs),
) -> Result<Parsed> {
    let program = argv
        .first()
        .map(|p| program_short_name(p))
        .unwrap_or_else(|| collective.binary_name().to_string());
    let flags = argv.get(1..).unwrap_or(&[]);
    parse_flags(collective, &program, flags, env, argv.to_vec(), defaults)
}

/// Parses `flags` (no program name) for `collective`; `program` names it in the help text and
/// `full_args` is what the plan records as the command line.
pub(crate) fn parse_flags(
    collective: &'static dyn Collective,
    program: &str,
    flags: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    full_args: Vec<String>,
    defaults: &dyn Fn(&mut RawArgs),
) -> Result<Parsed> {
    let wants_help = |flags: &[String]| flags.iter().any(|f| f == "-h" || f == "--help");
    // Every program name of the multi-call binary answers --version (nccl-tests has no such flag).
    if flags.iter().any(|f| f == "--version") {
        return Ok(Parsed::Version(umbrella::version_text()));
    }
    let matches = match RawArgs::command().try_get_matches_from(flags) {
        Ok(matches) => matches,
        // Help wins over a bad flag elsewhere on the line, as with nccl-tests' getopt loop.
        Err(_) if wants_help(flags) => return Ok(Parsed::Help(help_text(collective, program))),
        Err(err) => return Err(usage_from_clap(&err)),
    };
    let mut raw = RawArgs::from_arg_matches(&matches).map_err(|err| usage_from_clap(&err))?;
    defaults(&mut raw);
    if raw.help {
        return Ok(Parsed::Help(help_text(collective, program)));
    }
    let plan = build::build_plan(collective, &raw, env, full_args)?;
    Ok(Parsed::Run(Box::new(plan)))
}

/// `/usr/bin/allreduce-perf` → `allreduce-perf`.
fn program_short_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// The flags `-h` lists, for "unknown flag" messages.
const ACCEPTED_FLAGS: &str =
    "-t -g -b -e -i -f -o -d -r -n -w -m -N -a -I -K -p -c -z -y -T -G -C -S \
     -J -R -M -u --backend --csv --collbench-json --seed --min-busbw --min-busbw-size --profile --jsonl \
     --prom-file --push-gateway --require-net --precision --max-time-per-size --time-budget -h (long forms as in nccl-tests; see -h)";

/// Turns clap's parse errors into our usage errors (clap never prints or exits for us).
fn usage_from_clap(err: &clap::Error) -> CollbenchError {
    let invalid_arg = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => Some(arg.clone()),
        _ => None,
    };
    let message = match (err.kind(), invalid_arg) {
        (ErrorKind::UnknownArgument, Some(arg)) => {
            let matching = long_names_starting_with(&arg);
            if matching.len() > 1 {
                format!(
                    "ambiguous flag '{arg}': it abbreviates {}; accepted: one of them in full",
                    matching.join(", ")
                )
            } else {
                format!("unknown flag or argument '{arg}'; accepted: {ACCEPTED_FLAGS}")
            }
        }
        (ErrorKind::InvalidValue, Some(arg)) => match build::flag_from_clap_name(&arg) {
            Some(flag) => format!("{flag} needs a value; accepted: {arg} (see -h)"),
            None => format!("{arg} needs a value; accepted: {arg} (see -h)"),
        },
        _ => {
            let rendered = err.to_string();
            let first_line = rendered.lines().next().unwrap_or("invalid command line");
            format!(
                "{}; accepted: {ACCEPTED_FLAGS}",
                first_line.trim_start_matches("error: ")
            )
        }
    };
    CollbenchError::Usage(message)
}

/// The long names (`--minbytes`) that `arg` (`--min`, `--min=8`) is a prefix of, as getopt_long
/// abbreviations; several mean the abbreviation is ambiguous.
fn long_names_starting_with(arg: &str) -> Vec<String> {
    let Some(prefix) = arg.strip_prefix("--") else {
        return Vec::new();
    };
    let prefix = prefix.split('=').next().unwrap_or(prefix);
    if prefix.is_empty() {
        return Vec::new();
    }
    RawArgs::command()
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long())
        .filter(|long| long.starts_with(prefix))
        .map(|long| format!("--{long}"))
        .collect()
}

/// clap's error as one line: its first paragraph without the `error: ` prefix, continuation lines
/// joined, so "the following required arguments were not provided: <NEW>" keeps the missing
/// argument (the first line alone ended at the colon) and no usage block or tip follows.
pub fn clap_error_summary(err: &clap::Error) -> String {
    let rendered = err.to_string();
    let summary = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.is_empty() && !line.starts_with("Usage:"))
        .collect::<Vec<_>>()
        .join(" ");
    let summary = summary.trim_start_matches("error: ").trim();
    if summary.is_empty() {
        "invalid command line".to_string()
    } else {
        summary.to_string()
    }
}

/// What `-h` prints: every flag with its nccl-tests default, then how collbench differs.
pub fn help_text(collective: &dyn Collective, program: &str) -> String {
    let mut command = RawArgs::command()
        .bin_name(program.to_string())
        .override_usage(format!("{program} [flags]"))
        .after_help(format!(
            "Runs {} ({}_perf in nccl-tests) with nccl-tests 2.19.6's flags and defaults.\n\n{}",
            collective.binary_name(),
            collective.name(),
            HELP_NOTES
        ));
    command.render_help().to_string()
}

/// The flags and notes of [`help_text`] without its usage line and "Runs …" sentence, for
/// commands that run a collective test under their own usage (`collbench accept`).
pub fn flags_help_text() -> String {
    let mut command = RawArgs::command()
        .help_template("{all-args}{after-help}")
        .after_help(HELP_NOTES);
    command.render_help().to_string()
}

/// The environment, the differences from nccl-tests and the exit codes (end of `-h`).
const HELP_NOTES: &str = "\
Environment:
  NCCL_TESTS_SPLIT       split ranks into groups that run the test in parallel: \"AND 0x7\", \"MOD 8\",
                         \"OR 0x7\", \"DIV 8\" (or &, %, |, /; collbench adds XOR/^); value decimal, 0x, 0b
  NCCL_TESTS_SPLIT_MASK  legacy: hex mask, same as NCCL_TESTS_SPLIT=\"AND <mask>\"; set only one of the two
  NCCL_TESTS_MIN_BW      GB/s: the footer says FAILED and the exit code is 7 when the average bus
                         bandwidth is below 90 % of it (nccl-tests' rule); a number >= 0
  NCCL_TESTS_DEVICE      index of the first GPU of this process, instead of local rank x -t x -g

Differences from nccl-tests (it silently runs these; collbench stops with exit code 6):
  unknown -d/-o/-z/-a/-R values, -f 0, -n 0, -m 0, -i 0 without a factor, -b > -e, negative or
  malformed numbers, 0/1 switches given other values, -K >= -n, sweeps of more than 10000 sizes,
  a malformed NCCL_TESTS_SPLIT. GPU-only flags (-g/-t > 1, -G, -R, -u, -y) are an error on
  the mpi backend instead of being ignored. -J always writes collbench's JSON (any file name),
  replacing an existing FILE (nccl-tests picks FILE.0, FILE.1...). -r all is every root (nccl-tests
  reads it as 0; -r -1 is every root in both).
  -x, -D and -V (NCCL CTA policy, device API) are not implemented.
  -o is checked but ignored by collectives that do not reduce; -r by those without a root.

Exit codes: 0 ok, 1 I/O, 2 CUDA, 3 NCCL, 4 timeout, 5 MPI/bootstrap, 6 usage, 7 wrong results or
failed threshold, 70 internal error (a bug: please report it), 130/143 interrupted.";
