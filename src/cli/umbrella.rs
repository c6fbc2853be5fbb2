//! The `collbench` umbrella: `collbench run <collective> [flags]`, `collbench list`,
//! `collbench --version`, `collbench -h`, and the subcommands other parts of collbench add
//! (`accept`, `compare`, `plot`, `fabric`), handed over unparsed as [`Umbrella::Other`]. The
//! commands and their one-line descriptions live in [`super::commands::COMMANDS`].

use super::commands::{
    accepted_commands, collective_names, find_command, list_help, run_help, umbrella_help,
    version_text,
};
use super::{parse_flags, Parsed};
use crate::collectives::{Collective, REGISTRY};
use crate::error::{CollbenchError, Result};

/// What the `collbench` command line asks for.
#[derive(Debug)]
pub enum Umbrella {
    /// `collbench run <collective> [flags]`: help for that collective, or a plan to run.
    Run(Parsed),
    /// `collbench list`: the text to print (one line per collective).
    List(String),
    /// `collbench --version` / `-V` / `version`.
    Version(String),
    /// `collbench -h` / `--help` / `help [command]`.
    Help(String),
    /// `collbench` alone: the umbrella's help, printed to stderr with the usage exit code.
    NoCommand(String),
    /// `accept`, `compare`, `plot`, `fabric`: the name and the arguments after it.
    Other { name: String, args: Vec<String> },
}

/// Parses the umbrella's argv (`argv[0]` = program name) against the collectives registry.
pub fn parse_umbrella(argv: &[String], env: &dyn Fn(&str) -> Option<String>) -> Result<Umbrella> {
    parse_umbrella_with(REGISTRY, argv, env)
}

/// [`parse_umbrella`] with an explicit registry (tests use their own collectives).
pub fn parse_umbrella_with(
    registry: &[&'static dyn Collective],
    argv: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Umbrella> {
    let Some(command) = argv.get(1) else {
        return Ok(Umbrella::NoCommand(umbrella_help(registry)));
    };
    let rest = &argv[2..];
    match command.as_str() {
        "run" => parse_run(registry, rest, env, argv),
        "list" => match rest.first().map(String::as_str) {
            None => Ok(Umbrella::List(list_text(registry))),
            Some("-h" | "--help") => Ok(Umbrella::Help(list_help())),
            Some("--version" | "-V") => Ok(Umbrella::Version(version_text())),
            Some(extra) => Err(CollbenchError::Usage(format!(
                "collbench list '{extra}': list takes no arguments; accepted: collbench list"
            ))),
        },
        "--version" | "-V" | "version" => Ok(Umbrella::Version(version_text())),
        "-h" | "--help" => Ok(Umbrella::Help(umbrella_help(registry))),
        "help" => help_for(registry, rest, env),
        other => match find_command(other) {
            Some(info) if info.parsed_elsewhere => Ok(Umbrella::Other {
                name: other.to_string(),
                args: rest.to_vec(),
            }),
            _ => Err(CollbenchError::Usage(format!(
                "collbench '{other}': unknown command; accepted: {}",
                accepted_commands()
            ))),
        },
    }
}

/// `collbench run <collective> [flags]`.
fn parse_run(
    registry: &[&'static dyn Collective],
    rest: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    argv: &[String],
) -> Result<Umbrella> {
    let Some(name) = rest.first() else {
        return Err(CollbenchError::Usage(format!(
            "collbench run: missing collective; accepted: {}",
            collective_names(registry)
        )));
    };
    match name.as_str() {
        "-h" | "--help" | "help" => return Ok(Umbrella::Help(run_help(registry))),
        "--version" | "-V" => return Ok(Umbrella::Version(version_text())),
        _ => {}
    }
    let collective = find_in(registry, name).ok_or_else(|| {
        CollbenchError::Usage(format!(
            "collbench run '{name}': unknown collective; accepted: {}",
            collective_names(registry)
        ))
    })?;
    let program = format!("collbench run {}", collective.name());
    parse_flags(collective, &program, &rest[1..], env, argv.to_vec()).map(Umbrella::Run)
}

/// `collbench help [command [subcommand]]`: that command's help, as `collbench <command>
/// [subcommand] --help` prints it (a collective's name gives its flags).
fn help_for(
    registry: &[&'static dyn Collective],
    rest: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Umbrella> {
    let help_flag = vec!["--help".to_string()];
    match rest.first().map(String::as_str) {
        None | Some("help") => Ok(Umbrella::Help(umbrella_help(registry))),
        Some("run") => Ok(Umbrella::Help(run_help(registry))),
        Some("list") => Ok(Umbrella::Help(list_help())),
        Some(name) => match (find_command(name), find_in(registry, name)) {
            (Some(info), _) => Ok(Umbrella::Other {
                name: info.name.to_string(),
                args: [&rest[1..], &help_flag].concat(),
            }),
            (None, Some(collective)) => {
                let program = format!("collbench run {}", collective.name());
                parse_flags(collective, &program, &help_flag, env, Vec::new()).map(Umbrella::Run)
            }
            (None, None) => Err(CollbenchError::Usage(format!(
                "collbench help '{name}': unknown command; accepted: {} or a collective ({})",
                accepted_commands(),
                collective_names(registry)
            ))),
        },
    }
}

/// Same matching as `crate::collectives::find`: nccl-tests name (`all_reduce`), our binary
/// (`allreduce-perf`), nccl-tests' binary (`all_reduce_perf`) or the name without underscores.
fn find_in(registry: &[&'static dyn Collective], name: &str) -> Option<&'static dyn Collective> {
    registry.iter().copied().find(|c| {
        c.name() == name
            || c.binary_name() == name
            || format!("{}_perf", c.name()) == name
            || c.name().replace('_', "") == name
    })
}

/// One line per collective: name, our binary, nccl-tests' binary.
pub fn list_text(registry: &[&'static dyn Collective]) -> String {
    let mut text = format!("{:<16} {:<22} {}\n", "collective", "binary", "nccl-tests");
    for c in registry {
        text.push_str(&format!(
            "{:<16} {:<22} {}_perf\n",
            c.name(),
            c.binary_name(),
            c.name()
        ));
    }
    text
}
