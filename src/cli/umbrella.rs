//! The `collbench` umbrella: `collbench run <collective> [flags]`, `collbench list`,
//! `collbench --version`, `collbench -h`, and the subcommands other parts of collbench add
//! (`accept`, `compare`, `plot`, `fabric`), handed over unparsed as [`Umbrella::Other`].

use super::{parse_flags, Parsed};
use crate::collectives::{Collective, REGISTRY};
use crate::error::{CollbenchError, Result};

/// Subcommands parsed elsewhere: their arguments are passed through untouched.
pub const OTHER_COMMANDS: [&str; 4] = ["accept", "compare", "plot", "fabric"];

const ACCEPTED_COMMANDS: &str =
    "run <collective> [flags], list, accept, compare, plot, fabric, --version, -h";

/// What the `collbench` command line asks for.
#[derive(Debug)]
pub enum Umbrella {
    /// `collbench run <collective> [flags]`: help for that collective, or a plan to run.
    Run(Parsed),
    /// `collbench list`: the text to print (one line per collective).
    List(String),
    /// `collbench --version` / `-V` / `version`.
    Version(String),
    /// `collbench -h` / `--help` / `help`.
    Help(String),
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
        return Err(CollbenchError::Usage(format!(
            "collbench: missing command; accepted: {ACCEPTED_COMMANDS}"
        )));
    };
    let rest = &argv[2..];
    match command.as_str() {
        "run" => {
            let Some(name) = rest.first() else {
                return Err(CollbenchError::Usage(format!(
                    "collbench run: missing collective; accepted: {}",
                    collective_names(registry)
                )));
            };
            if matches!(name.as_str(), "-h" | "--help" | "help") {
                return Ok(Umbrella::Help(run_help(registry)));
            }
            let collective = find_in(registry, name).ok_or_else(|| {
                CollbenchError::Usage(format!(
                    "collbench run '{name}': unknown collective; accepted: {}",
                    collective_names(registry)
                ))
            })?;
            let program = format!("collbench run {}", collective.name());
            parse_flags(
                collective,
                &program,
                &rest[1..],
                env,
                argv.to_vec(),
                &|_| {},
            )
            .map(Umbrella::Run)
        }
        "list" => {
            if let Some(extra) = rest.first() {
                return Err(CollbenchError::Usage(format!(
                    "collbench list '{extra}': list takes no arguments; accepted: collbench list"
                )));
            }
            Ok(Umbrella::List(list_text(registry)))
        }
        "--version" | "-V" | "version" => Ok(Umbrella::Version(version_text())),
        "-h" | "--help" | "help" => Ok(Umbrella::Help(umbrella_help(registry))),
        other if OTHER_COMMANDS.contains(&other) => Ok(Umbrella::Other {
            name: other.to_string(),
            args: rest.to_vec(),
        }),
        other => Err(CollbenchError::Usage(format!(
            "collbench '{other}': unknown command; accepted: {ACCEPTED_COMMANDS}"
        ))),
    }
}

/// `collbench <version>`.
pub fn version_text() -> String {
    format!("collbench {}", env!("CARGO_PKG_VERSION"))
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

fn collective_names(registry: &[&'static dyn Collective]) -> String {
    if registry.is_empty() {
        return "(no collective is registered in this build)".to_string();
    }
    registry
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
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

/// `collbench run -h`: which collectives there are and where their flags are listed.
fn run_help(registry: &[&'static dyn Collective]) -> String {
    format!(
        "USAGE:\n  collbench run <collective> [flags]\n\nRuns one collective test, as its *-perf \
         binary does. Its flags (the nccl-tests set): collbench run <collective> -h\n\n\
         Collectives: {}\n",
        collective_names(registry)
    )
}

fn umbrella_help(registry: &[&'static dyn Collective]) -> String {
    format!(
        "{}\n\nUSAGE:\n  collbench run <collective> [flags]   run one collective test \
         (its flags: collbench run <collective> -h)\n  \
         collbench list                       list the collectives and their binary names\n  \
         collbench accept|compare|plot|fabric [args]\n  \
         collbench --version\n\nCollectives: {}\n",
        version_text(),
        collective_names(registry)
    )
}
