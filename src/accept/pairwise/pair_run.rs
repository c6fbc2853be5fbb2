//! One pair's sweep in a round: this process's part of it, run on the pair's communicator with the
//! normal runner, and what it reports to rank 0 afterwards.

use super::messages::Contribution;
use super::BackendFactory;
use crate::error::Result;
use crate::faults::TestHooks;
use crate::plan::TestPlan;
use crate::sweep::memory_cap::lower_max_bytes_to_memory;
use crate::sweep::runner::{self, RunInputs, StopSignal};
use crate::verdict::{lowest_busbw, Criteria};
use crate::world::World;

/// The hooks of a pair run: a hook naming this process's global rank moves to its rank in the pair.
fn hooks_for_pair(hooks: &TestHooks, global_rank: usize, pair_rank: usize) -> TestHooks {
    let mine = |rank: usize| rank == global_rank;
    TestHooks {
        corrupt: hooks
            .corrupt
            .filter(|c| mine(c.0))
            .map(|c| (pair_rank, c.1)),
        delay: hooks.delay.filter(|d| mine(d.0)).map(|d| (pair_rank, d.1)),
        stall: hooks.stall.filter(|&s| mine(s)).map(|_| pair_rank),
        stream_hang: hooks.stream_hang.filter(|&s| mine(s)).map(|_| pair_rank),
        exit: hooks.exit.filter(|e| mine(e.0)).map(|e| (pair_rank, e.1)),
        panic: hooks.panic.filter(|&p| mine(p)).map(|_| pair_rank),
        // Acted on by the pairwise loop, not by a pair's run.
        hang_idle: None,
        hang_handoff: None,
        max_buffer: match hooks.max_buffer {
            Some((Some(rank), bytes)) if mine(rank) => Some((Some(pair_rank), bytes)),
            Some((None, bytes)) => Some((None, bytes)),
            _ => None,
        },
    }
}

/// Runs this process's part of `pair`'s sweep on the pair's communicator `group`; `me` is the
/// process's rank in the whole world.
pub(super) fn run_pair(
    plan: &TestPlan,
    group: &dyn World,
    build_backend: BackendFactory,
    hooks: &TestHooks,
    me: usize,
    stop: &StopSignal,
    pair: [usize; 2],
) -> Result<Contribution> {
    let mut contribution = Contribution::default();
    let pair_hooks = hooks_for_pair(hooks, me, group.rank());
    let mut backend = build_backend(plan, group, &pair_hooks)?;
    contribution.backend = Some(backend.info().name);
    // As a plain run: -e lowered to what every rank of the pair can allocate, with its notice.
    let mut capped_plan = None;
    let mut capped = plan.clone();
    if let Some(notice) = lower_max_bytes_to_memory(&mut capped, backend.as_ref(), group, me)? {
        if group.rank() == 0 {
            contribution.max_bytes_cap = Some((capped.max_bytes, notice));
        }
        capped_plan = Some(capped);
    }
    let plan = capped_plan.as_ref().unwrap_or(plan);
    if me == 0 {
        contribution.devices = backend
            .placements()
            .into_iter()
            .map(|p| p.device_name)
            .collect();
    }
    let outcome = runner::run(RunInputs {
        plan,
        world: group,
        backend: backend.as_mut(),
        sinks: Vec::new(),
        min_bus_bandwidth_gbps: None,
        stop: Some(stop.clone()),
        criteria: Criteria::default(),
    })?;
    drop(backend);
    contribution.signal = outcome.interrupted_by.unwrap_or(0);
    if let Some(report) = outcome.report {
        let rows: Vec<(u64, f64)> = report
            .results
            .iter()
            .filter_map(|r| lowest_busbw(r).map(|(_, m)| (r.size_bytes, m.bus_bandwidth_gbps)))
            .collect();
        let wrong = report
            .results
            .iter()
            .flat_map(|r| [&r.out_of_place, &r.in_place])
            .filter_map(|m| m.as_ref().and_then(|m| m.wrong))
            .sum();
        contribution.pair = Some((pair, rows, wrong));
    }
    Ok(contribution)
}
