//! For the cli tests: the three collective shapes the CLI cares about, and parse helpers that pass
//! the environment as a map instead of touching the process environment.

use collbench::cli::{parse_collective_args, Parsed};
use collbench::collectives::{AllReduce, Broadcast, Collective, HyperCube};
use collbench::error::{CollbenchError, Result};
use collbench::plan::TestPlan;
use std::collections::HashMap;

/// The three shapes the CLI cares about, as the real collectives: a reduction, a rooted
/// non-reduction (`none` in the redop column), a power-of-two-only exchange (blank redop column).
pub const REDUCTION: &dyn Collective = &AllReduce;
pub const ROOTED: &dyn Collective = &Broadcast;
pub const POWER_OF_TWO: &dyn Collective = &HyperCube;

pub fn argv(program: &str, flags: &[&str]) -> Vec<String> {
    std::iter::once(program)
        .chain(flags.iter().copied())
        .map(String::from)
        .collect()
}

/// Parses with the given environment variables (nothing else is visible).
pub fn parse_with_env(
    collective: &'static dyn Collective,
    flags: &[&str],
    env: &[(&str, &str)],
) -> Result<Parsed> {
    let vars: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |name: &str| vars.get(name).cloned();
    parse_collective_args(collective, &argv(collective.binary_name(), flags), &lookup)
}

pub fn parse(collective: &'static dyn Collective, flags: &[&str]) -> Result<Parsed> {
    parse_with_env(collective, flags, &[])
}

/// The plan, failing the test with the error when the line is rejected.
pub fn plan(collective: &'static dyn Collective, flags: &[&str]) -> TestPlan {
    plan_with_env(collective, flags, &[])
}

pub fn plan_with_env(
    collective: &'static dyn Collective,
    flags: &[&str],
    env: &[(&str, &str)],
) -> TestPlan {
    match parse_with_env(collective, flags, env) {
        Ok(Parsed::Run(plan)) => *plan,
        Ok(Parsed::Help(_) | Parsed::Version(_)) => {
            panic!("{flags:?} printed help instead of running")
        }
        Err(err) => panic!("{flags:?} was rejected: {err}"),
    }
}

/// Asserts `result` is a usage-class error (exit code 6) whose message contains every fragment.
pub fn assert_usage_error<T: std::fmt::Debug>(result: Result<T>, what: &str, fragments: &[&str]) {
    let err = match result {
        Ok(value) => panic!("{what}: accepted ({value:?}), expected a usage error"),
        Err(err) => err,
    };
    assert_eq!(err.exit_code(), 6, "{what}: exit code of {err}");
    assert!(
        matches!(
            err,
            CollbenchError::Usage(_) | CollbenchError::Unsupported(_)
        ),
        "{what}: wrong error kind {err:?}"
    );
    let message = err.to_string();
    for fragment in fragments {
        assert!(
            message.contains(fragment),
            "{what}: message does not contain {fragment:?}: {message}"
        );
    }
    assert!(
        message.contains("accepted"),
        "{what}: message does not say what is accepted: {message}"
    );
}
