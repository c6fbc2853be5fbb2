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
pub mod commands;
pub mod help;
pub mod precision;
pub mod split;
pub mod umbrella;

pub use commands::version_text;
pub use help::help_text;
pub use umbrella::{parse_umbrella, parse_umbrella_with, Umbrella};

use crate::collectives::Collective;
use crate::error::{CollbenchError, Result};
use crate::plan::TestPlan;
use args::RawArgs;
use clap::error::{ContextKind, ContextValue, ErrorKind};

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
        return Ok(Parsed::Version(version_text()));
    }
    let matches = match args::command().try_get_matches_from(flags) {
        Ok(matches) => matches,
        // Help wins over a bad flag elsewhere on the line, as with nccl-tests' getopt loop.
        Err(_) if wants_help(flags) => return Ok(Parsed::Help(help_text(collective, program))),
        Err(err) => return Err(usage_from_clap(&err)),
    };
    let mut raw = RawArgs::from_matches(&matches);
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

/// The flags `-h` lists, for "unknown flag" messages: each visible flag's short form, else its
/// long one, from the flag table ([`crate::plan::flags::FLAGS`]).
fn accepted_flags() -> String {
    let flags: Vec<String> = args::command()
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| match (a.get_short(), a.get_long()) {
            (Some(short), _) => Some(format!("-{short}")),
            (None, Some(long)) => Some(format!("--{long}")),
            (None, None) => None,
        })
        .collect();
    format!("{} (long forms as in nccl-tests; see -h)", flags.join(" "))
}

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
                format!(
                    "unknown flag or argument '{arg}'; accepted: {}",
                    accepted_flags()
                )
            }
        }
        (ErrorKind::InvalidValue, Some(arg)) => match crate::plan::flags::find_by_clap_name(&arg) {
            Some(spec) => format!("{} needs a value; accepted: {arg} (see -h)", spec.flag),
            None => format!("{arg} needs a value; accepted: {arg} (see -h)"),
        },
        _ => {
            let rendered = err.to_string();
            let first_line = rendered.lines().next().unwrap_or("invalid command line");
            format!(
                "{}; accepted: {}",
                first_line.trim_start_matches("error: "),
                accepted_flags()
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
    args::command()
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
