//! The raw command line as clap reads it, with clap's arguments derived from the flag table
//! ([`crate::plan::flags::FLAGS`]). Every value stays a string here: `crate::cli::build` checks it,
//! so each bad value gets our own message (flag, value, what is accepted) and exit 6.
//!
//! Spellings and defaults are nccl-tests 2.19.6's (getopt short and long names). Like getopt, a
//! flag's value may start with `-` (`-r -1`), `-n20` and `--iters=20` work, any unambiguous prefix
//! of a long name does (`--warmup 5`), and a repeated flag keeps its last value.

use crate::plan::flags::{FlagSpec, FLAGS};
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::collections::BTreeMap;

/// The flags of one collective test as given (`allreduce-perf …`, `collbench run all_reduce …`):
/// each flag's text by its long name, unchecked.
#[derive(Debug, Clone, Default)]
pub struct RawArgs {
    values: BTreeMap<&'static str, String>,
    /// `-h/--help`.
    pub help: bool,
}

impl RawArgs {
    /// The value given for `spec`, if any.
    pub fn given(&self, spec: &FlagSpec) -> Option<&str> {
        self.values.get(spec.flag.long).map(String::as_str)
    }

    /// The value given for `spec`, else its table default (`None` for flags whose default is
    /// "not set").
    pub fn value(&self, spec: &FlagSpec) -> Option<&str> {
        self.given(spec).or(spec.default_value())
    }

    /// Sets `spec` as if given on the command line.
    pub fn set(&mut self, spec: &FlagSpec, value: impl Into<String>) {
        self.values.insert(spec.flag.long, value.into());
    }

    /// Parses `flags` (no program name) the way [`command`] defines them.
    pub fn parse<I, T>(flags: I) -> Result<RawArgs, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        command()
            .try_get_matches_from(flags)
            .map(|matches| RawArgs::from_matches(&matches))
    }

    /// The values of a successful parse of [`command`].
    pub fn from_matches(matches: &ArgMatches) -> RawArgs {
        let values = FLAGS
            .iter()
            .filter_map(|spec| {
                let value = matches.get_one::<String>(spec.flag.long)?;
                Some((spec.flag.long, value.clone()))
            })
            .collect();
        RawArgs {
            values,
            help: matches.get_flag("help"),
        }
    }
}

/// clap's command for the flags of one collective test, one argument per row of the table, then
/// `-h` and `--version`.
pub fn command() -> Command {
    let command = Command::new("collbench")
        .no_binary_name(true)
        .disable_help_flag(true)
        .disable_version_flag(true)
        .args_override_self(true)
        // getopt_long takes any unambiguous prefix of a long name (`--warmup 5`, `--iter 10`).
        .infer_long_args(true);
    FLAGS
        .iter()
        .map(argument)
        .fold(command, Command::arg)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::SetTrue)
                .help("Print help"),
        )
        // Answered before parsing (every program name prints collbench's version); listed for -h.
        .arg(
            Arg::new("version")
                .long("version")
                .action(ArgAction::SetTrue)
                .help("Print version"),
        )
}

fn argument(spec: &FlagSpec) -> Arg {
    let mut arg = Arg::new(spec.flag.long)
        .long(spec.flag.long)
        .value_name(spec.value_name)
        .action(ArgAction::Set)
        .allow_hyphen_values(true);
    if let Some(short) = spec.flag.short {
        arg = arg.short(short);
    }
    if let Some(alias) = spec.alias {
        arg = arg.visible_alias(alias);
    }
    arg.help(spec.help_line())
}
