//! Shared by the tests/cli_*.rs files: small collectives with the three shapes the CLI cares about
//! (a reduction, a rooted non-reduction, a power-of-two-only exchange), and parse helpers that pass
//! the environment as a map instead of touching the process environment.
#![allow(dead_code)]

use collbench::cli::{parse_collective_args, Parsed};
use collbench::collectives::{Collective, Counts, LaunchArgs, OpColumn, Primitives, Segment};
use collbench::error::{CollbenchError, Result};
use collbench::plan::TestPlan;
use std::collections::HashMap;

/// Allreduce-shaped: every rank reduces `count` elements.
pub struct Reduction;

impl Collective for Reduction {
    fn name(&self) -> &'static str {
        "all_reduce"
    }
    fn binary_name(&self) -> &'static str {
        "allreduce-perf"
    }
    fn op_column(&self) -> OpColumn {
        OpColumn::Reduction
    }
    fn uses_root(&self) -> bool {
        false
    }
    fn counts(&self, count: usize, _elt_size: usize, _nranks: usize) -> Counts {
        Counts {
            send_count: count,
            recv_count: count,
            param_count: count,
            send_inplace_offset: 0,
            recv_inplace_offset: 0,
        }
    }
    fn bus_bw_factor(&self, nranks: usize) -> f64 {
        2.0 * (nranks as f64 - 1.0) / nranks as f64
    }
    fn expected(
        &self,
        _rank: usize,
        _nranks: usize,
        _root: usize,
        counts: &Counts,
    ) -> Vec<Segment> {
        vec![Segment::Reduce {
            dst_offset: 0,
            len: counts.recv_count,
            src_offset: 0,
        }]
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        prims.all_reduce(args, args.counts.param_count)
    }
}

/// Broadcast-shaped: a root, no reduction (`none` in the redop column).
pub struct Rooted;

impl Collective for Rooted {
    fn name(&self) -> &'static str {
        "broadcast"
    }
    fn binary_name(&self) -> &'static str {
        "broadcast-perf"
    }
    fn op_column(&self) -> OpColumn {
        OpColumn::None
    }
    fn uses_root(&self) -> bool {
        true
    }
    fn counts(&self, count: usize, _elt_size: usize, _nranks: usize) -> Counts {
        Counts {
            send_count: count,
            recv_count: count,
            param_count: count,
            send_inplace_offset: 0,
            recv_inplace_offset: 0,
        }
    }
    fn bus_bw_factor(&self, _nranks: usize) -> f64 {
        1.0
    }
    fn expected(&self, _rank: usize, _nranks: usize, root: usize, counts: &Counts) -> Vec<Segment> {
        vec![Segment::Copy {
            dst_offset: 0,
            len: counts.recv_count,
            src_rank: root,
            src_offset: 0,
        }]
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        prims.broadcast(args, args.counts.param_count, args.root)
    }
}

/// Hypercube-shaped: only powers of two, blank redop column.
pub struct PowerOfTwo;

impl Collective for PowerOfTwo {
    fn name(&self) -> &'static str {
        "hypercube"
    }
    fn binary_name(&self) -> &'static str {
        "hypercube-perf"
    }
    fn op_column(&self) -> OpColumn {
        OpColumn::Blank
    }
    fn uses_root(&self) -> bool {
        false
    }
    fn counts(&self, count: usize, _elt_size: usize, nranks: usize) -> Counts {
        Counts {
            send_count: count,
            recv_count: count * nranks,
            param_count: count,
            send_inplace_offset: 0,
            recv_inplace_offset: count,
        }
    }
    fn bus_bw_factor(&self, nranks: usize) -> f64 {
        (nranks as f64 - 1.0) / nranks as f64
    }
    fn expected(&self, _rank: usize, nranks: usize, _root: usize, counts: &Counts) -> Vec<Segment> {
        (0..nranks)
            .map(|src| Segment::Copy {
                dst_offset: src * counts.send_count,
                len: counts.send_count,
                src_rank: src,
                src_offset: 0,
            })
            .collect()
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        prims.all_gather(args, args.counts.send_count)
    }
    fn rank_count_problem(&self, nranks: usize) -> Option<String> {
        (!nranks.is_power_of_two())
            .then(|| format!("needs a power-of-two rank count, not {nranks}"))
    }
}

pub static REDUCTION: Reduction = Reduction;
pub static ROOTED: Rooted = Rooted;
pub static POWER_OF_TWO: PowerOfTwo = PowerOfTwo;

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
        Ok(Parsed::Help(_)) => panic!("{flags:?} printed help instead of running"),
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
