//! The `collbench` subcommands, each written once: the umbrella's help (a line per command), the
//! accepted-commands list of its usage errors and the names handed to other modules all come from
//! [`COMMANDS`].

use crate::collectives::Collective;
use clap::Command;

/// One subcommand of `collbench`.
pub struct CommandInfo {
    pub name: &'static str,
    /// Its arguments as the usage line shows them.
    pub args: &'static str,
    /// One line for `collbench --help`.
    pub about: &'static str,
    /// Parsed by its own module (`accept`, `compare`, …), which gets the arguments untouched.
    pub parsed_elsewhere: bool,
}

const fn command(
    name: &'static str,
    args: &'static str,
    about: &'static str,
    parsed_elsewhere: bool,
) -> CommandInfo {
    CommandInfo {
        name,
        args,
        about,
        parsed_elsewhere,
    }
}

/// Every subcommand, in the order `collbench --help` lists them.
pub const COMMANDS: [CommandInfo; 7] = [
    command(
        "run",
        "<collective> [flags]",
        "Run one collective test with nccl-tests' flags, as its *-perf binary does",
        false,
    ),
    command(
        "list",
        "",
        "List the collectives and their binary names",
        false,
    ),
    command(
        "accept",
        "[--pairwise | --bisect] [flags]",
        "Acceptance run: pass/fail exit code; --pairwise or --bisect names the bad hosts",
        true,
    ),
    command(
        "compare",
        "<BASELINE> <NEW>",
        "Compare two runs per size; exit 7 on a regression",
        true,
    ),
    command(
        "plot",
        "<RUNS>... -o <FILE>",
        "Plot busbw (and time) against size as PNG or SVG",
        true,
    ),
    command(
        "fabric",
        "<info|loopback|pingpong>",
        "libfabric diagnostics: providers, loopback, pairwise ping-pong",
        true,
    ),
    command(
        "help",
        "[command]",
        "Print this help or the help of one command",
        false,
    ),
];

/// The command named `name`, if any.
pub fn find_command(name: &str) -> Option<&'static CommandInfo> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// What a usage error lists as accepted: `run <collective> [flags], list, …, --version, -h`.
pub fn accepted_commands() -> String {
    let mut items: Vec<String> = COMMANDS
        .iter()
        .map(|c| match c.args {
            "" => c.name.to_string(),
            args => format!("{} {args}", c.name),
        })
        .collect();
    items.extend(["--version".to_string(), "-h".to_string()]);
    items.join(", ")
}

/// `collbench <version>`.
pub fn version_text() -> String {
    format!("collbench {}", env!("CARGO_PKG_VERSION"))
}

/// The collectives' nccl-tests names, comma-separated.
pub fn collective_names(registry: &[&'static dyn Collective]) -> String {
    if registry.is_empty() {
        return "(no collective is registered in this build)".to_string();
    }
    registry
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `collbench --help`: a line per command, then the collectives.
pub fn umbrella_help(registry: &[&'static dyn Collective]) -> String {
    let mut cmd = Command::new("collbench")
        .version(env!("CARGO_PKG_VERSION"))
        .about(
            "Collective-communication benchmarks with nccl-tests' flags and output, \
             acceptance verdicts, comparisons, plots and libfabric diagnostics",
        )
        .override_usage("collbench <COMMAND> [args]")
        .disable_help_subcommand(true)
        .after_help(format!(
            "Collectives: {}\nEach also runs as its own binary (allreduce-perf, ...); \
             `collbench help <command>` prints a command's flags.",
            collective_names(registry)
        ));
    for c in &COMMANDS {
        cmd = cmd.subcommand(Command::new(c.name).about(c.about));
    }
    cmd.render_help().to_string()
}

/// `collbench run -h`: which collectives there are and where their flags are listed.
pub fn run_help(registry: &[&'static dyn Collective]) -> String {
    simple_help(
        "run",
        format!(
            "Collectives: {}\nIts flags (the nccl-tests set): collbench run <collective> -h",
            collective_names(registry)
        ),
    )
}

/// `collbench list -h`.
pub fn list_help() -> String {
    simple_help(
        "list",
        "Columns: collective (nccl-tests' name), binary (collbench's), nccl-tests (its binary)",
    )
}

/// Help of a command without flags of its own, in clap's layout like every other help.
fn simple_help(name: &str, after: impl Into<String>) -> String {
    let info = find_command(name).expect("a command of the table");
    Command::new(info.name)
        .about(info.about)
        .override_usage(
            format!("collbench {name} {}", info.args)
                .trim_end()
                .to_string(),
        )
        .disable_version_flag(false)
        .version(env!("CARGO_PKG_VERSION"))
        .after_help(after.into())
        .render_help()
        .to_string()
}

/// What a subcommand parsed with clap prints instead of running: its help, or collbench's version
/// line (the same on every command, not clap's `<command name> <version>`).
pub fn help_or_version(error: &clap::Error) -> Option<String> {
    match error.kind() {
        clap::error::ErrorKind::DisplayHelp => Some(error.to_string()),
        clap::error::ErrorKind::DisplayVersion => Some(format!("{}\n", version_text())),
        _ => None,
    }
}
