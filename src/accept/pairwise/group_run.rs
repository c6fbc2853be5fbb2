//! One group's sweep in a round: this process's part of it, run on the group's communicator with the
//! normal runner, and what it reports to rank 0 afterwards.

use super::messages::Contribution;
use crate::error::Result;
use crate::faults::TestHooks;
use crate::lifecycle::Lifecycle;
use crate::plan::TestPlan;
use crate::sweep::runner::StopSignal;
use crate::verdict::lowest_busbw;
use crate::world::World;

/// The hooks of a group run: a hook naming this process's global rank moves to its rank in the group.
fn hooks_for_group(hooks: &TestHooks, global_rank: usize, group_rank: usize) -> TestHooks {
    let mine = |rank: usize| rank == global_rank;
    TestHooks {
        corrupt: hooks
            .corrupt
            .filter(|c| mine(c.0))
            .map(|c| (group_rank, c.1)),
        delay: hooks.delay.filter(|d| mine(d.0)).map(|d| (group_rank, d.1)),
        stall: hooks.stall.filter(|&s| mine(s)).map(|_| group_rank),
        stream_hang: hooks.stream_hang.filter(|&s| mine(s)).map(|_| group_rank),
        exit: hooks.exit.filter(|e| mine(e.0)).map(|e| (group_rank, e.1)),
        panic: hooks.panic.filter(|&p| mine(p)).map(|_| group_rank),
        // Acted on by the pairwise loop, not by a group's run.
        hang_idle: None,
        hang_handoff: None,
        max_buffer: match hooks.max_buffer {
            Some((Some(rank), bytes)) if mine(rank) => Some((Some(group_rank), bytes)),
            Some((None, bytes)) => Some((None, bytes)),
            _ => None,
        },
    }
}

/// Runs this process's part of the sweep of the group of `hosts` on its communicator `group` (the
/// run lifecycle of a pair or group); `me` is the process's rank in the whole world.
pub(super) fn run_group(
    plan: &TestPlan,
    group: &dyn World,
    hooks: &TestHooks,
    me: usize,
    stop: &StopSignal,
    hosts: &[usize],
) -> Result<Contribution> {
    let mut contribution = Contribution::default();
    let group_hooks = hooks_for_group(hooks, me, group.rank());
    let mut lifecycle = Lifecycle::for_group(plan.clone(), group, group_hooks);
    let mut backend = lifecycle.group_backend()?;
    contribution.backend = Some(backend.info().name);
    // As a plain run: -e lowered to what every rank of the group can allocate, with its notice.
    if let Some(notice) = lifecycle.cap_memory(backend.as_ref(), me)? {
        if group.rank() == 0 {
            contribution.max_bytes_cap = Some((lifecycle.plan().sweep.max_bytes, notice));
        }
    }
    if me == 0 {
        contribution.devices = backend
            .placements()
            .into_iter()
            .map(|p| p.device_name)
            .collect();
    }
    let outcome = lifecycle.group_sweep(backend.as_mut(), stop)?;
    drop(backend);
    contribution.signal = outcome.interrupted_by.unwrap_or(0);
    if let Some(report) = outcome.report {
        contribution.group = Some((hosts.to_vec(), group_rows(&report), wrong_elements(&report)));
    }
    Ok(contribution)
}

/// The group's rows as (size, the lower busbw of its two placements).
fn group_rows(report: &crate::report::Report) -> Vec<(u64, f64)> {
    report
        .results
        .iter()
        .filter_map(|r| lowest_busbw(r).map(|(_, m)| (r.size_bytes, m.bus_bandwidth_gbps)))
        .collect()
}

fn wrong_elements(report: &crate::report::Report) -> u64 {
    report
        .results
        .iter()
        .flat_map(|r| [&r.out_of_place, &r.in_place])
        .filter_map(|m| m.as_ref().and_then(|m| m.wrong))
        .sum()
}
