//! Help texts of the collective tests (`allreduce-perf -h`, `collbench run all_reduce -h`,
//! `collbench accept -h`), rendered by clap from the flag table (`crate::plan::flags`) in the
//! same layout as every other collbench help: description, `Usage:`, options, notes.

use clap::{Arg, ArgAction};

/// What `-h` prints: every flag with its nccl-tests default, then how collbench differs.
pub fn help_text(collective: &dyn crate::collectives::Collective, program: &str) -> String {
    super::args::command()
        .bin_name(program.to_string())
        .about(format!(
            "Runs {} ({}_perf in nccl-tests) with nccl-tests 2.19.6's flags and defaults.",
            collective.binary_name(),
            collective.name(),
        ))
        .override_usage(format!("{program} [flags]"))
        .after_help(HELP_NOTES)
        .render_help()
        .to_string()
}

/// One option of a command that adds its own flags to the collective test's (`accept`).
pub struct ExtraFlag {
    pub long: &'static str,
    pub value_name: Option<&'static str>,
    pub help: String,
}

/// The help of a command that runs a collective test under its own usage and adds `extra` flags
/// (`collbench accept`): its flags first, under `heading`, then the test's flags and notes.
pub fn help_with_extra_flags(
    about: &str,
    usage: &str,
    heading: &'static str,
    extra: Vec<ExtraFlag>,
) -> String {
    let mut command = super::args::command()
        .about(about.to_string())
        .override_usage(usage.to_string())
        .after_help(HELP_NOTES)
        .next_help_heading(heading);
    for (order, flag) in extra.into_iter().enumerate() {
        let arg = Arg::new(flag.long).long(flag.long).help(flag.help);
        let arg = match flag.value_name {
            Some(name) => arg.value_name(name),
            None => arg.action(ArgAction::SetTrue),
        };
        command = command.arg(arg.display_order(order));
    }
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
  unknown -d/-o/-z/-a/-R/-x values, -f 0, -n 0, -m 0, -i 0 without a factor, -b > -e, negative or
  malformed numbers, 0/1 switches given other values, -K >= -n, sweeps of more than 10000 sizes,
  a malformed NCCL_TESTS_SPLIT, -V outside 1-127 or without -D, -D with a collective, -d or -o
  that has no device kernel. GPU-only flags (-g/-t > 1, -G, -R, -u, -y, -x, -D) are an error on
  the mpi backend instead of being ignored. -J always writes collbench's JSON (any file name),
  replacing an existing FILE (nccl-tests picks FILE.0, FILE.1...). -r all is every root (nccl-tests
  reads it as 0; -r -1 is every root in both).
  -x on NCCL < 2.27 is an error (nccl-tests passes it to NCCL). -D checks its requirements (NCCL
  >= 2.28, -R 2, one LSA team, multimem for 3/4), then stops: its kernels are not implemented.
  -o is checked but ignored by collectives that do not reduce; -r by those without a root.

Exit codes: 0 ok, 1 I/O, 2 CUDA, 3 NCCL, 4 timeout, 5 MPI/bootstrap, 6 usage, 7 wrong results or
failed threshold, 70 internal error (a bug: please report it), 130/143 interrupted.";
