//! Before round 1, on every rank: the same plan everywhere, the hooks, rank 0's output path, the
//! host table, and every group a round may form checked against the plan and a given profile.
//! Every refusal here ends every rank together.

use super::hosts::{share_host_table, HostTable};
use super::judge::refuse_uncovered_profile;
use super::messages::{decode, encode, error_from_code, error_message};
use crate::accept::pairing::Search;
use crate::error::{CollbenchError, Result};
use crate::faults::TestHooks;
use crate::measure::watchdog::{self, Phase};
use crate::plan::OutputFormat;
use crate::plan::TestPlan;
use crate::world::World;

/// What every rank knows once the run may start.
pub(super) struct Checked {
    pub(super) hooks: TestHooks,
    pub(super) table: HostTable,
}

/// Collective over `world`.
pub(super) fn agree_and_check(
    plan: &TestPlan,
    world: &dyn World,
    search: Search,
) -> Result<Checked> {
    // Before anything collective depends on the plan, as a plain run: a rank with other flags
    // (an mpirun ':' section) would hang its pair in a call the partner never makes.
    {
        let _armed = watchdog::waiting(Phase::Init);
        crate::world::agree::check_same_plan(world, &plan.agreement_fields())?;
    }
    crate::lifecycle::arm_peer_probe(plan, world)?;
    let hooks = TestHooks::from_process_env()?;
    hooks.check_ranks(world.size())?;
    refuse_unwritable_report(plan, world)?;
    // Which host every rank is on, in first-rank order (the same table on every rank).
    let table = share_host_table(world)?;
    check_host_count(plan, world, &table, search)?;
    check_every_group(plan, &table, search)?;
    refuse_uncovered_profile(plan, &table.group_shapes(search))?;
    Ok(Checked { hooks, table })
}

/// Rank 0 writes --collbench-json at the end: refuse a path it cannot write before any round runs
/// (the other outputs' paths are checked when the flags are parsed).
fn refuse_unwritable_report(plan: &TestPlan, world: &dyn World) -> Result<()> {
    let mut path_check = if world.rank() == 0 {
        let refused = plan
            .outputs
            .path(OutputFormat::CollbenchJson)
            .and_then(|path| {
                crate::io::check_output_path("--collbench-json", path)
                    .err()
                    .map(|e| (e.exit_code(), error_message(&e)))
            });
        encode(&refused)?
    } else {
        Vec::new()
    };
    {
        let _armed = watchdog::waiting(Phase::Init);
        world.broadcast_bytes(&mut path_check)?;
    }
    match decode::<Option<(i32, String)>>(&path_check)? {
        Some((code, message)) => Err(error_from_code(code, message)),
        None => Ok(()),
    }
}

fn check_host_count(
    plan: &TestPlan,
    world: &dyn World,
    table: &HostTable,
    search: Search,
) -> Result<()> {
    let relative =
        plan.acceptance.criteria.min_busbw.is_none() && plan.acceptance.profile.is_none();
    if table.hosts.len() < 2 {
        return Err(CollbenchError::Usage(format!(
            "accept {}: all {} ranks are on one host ({}); it needs ranks on at least 2 hosts \
             (e.g. srun --nodes=2 or more)",
            search.flag(),
            world.size(),
            table.hosts[0]
        )));
    }
    if relative && table.hosts.len() < 4 {
        return Err(CollbenchError::Usage(format!(
            "accept --pairwise on {} hosts: with fewer than 4 hosts there is no reference pair; give \
             --min-busbw GBPS or --profile NAME",
            table.hosts.len()
        )));
    }
    Ok(())
}

/// Every rank checks every group a round may form, from the same table: a group the plan cannot
/// run on (`-r` beyond its ranks, hypercube on 3 ranks) is refused by all ranks before round 1,
/// instead of failing on that group's ranks alone while the others wait for them.
fn check_every_group(plan: &TestPlan, table: &HostTable, search: Search) -> Result<()> {
    for (group, nranks) in table.possible_groups(search) {
        plan.validate_for_world(nranks)
            .map_err(|error| match error {
                CollbenchError::Usage(message) => CollbenchError::Usage(format!(
                    "accept {}: the {} has {nranks} ranks: {message}",
                    search.flag(),
                    table.describe(&group)
                )),
                other => other,
            })?;
    }
    Ok(())
}
