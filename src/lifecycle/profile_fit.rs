//! Before the sweep of a plain run: a `--profile` (`auto` resolved) that can judge no row of this
//! job is refused now, exit 6, instead of after a whole sweep whose verdict could only say
//! "nothing to compare" (`verdict::coverage`). The memory cap has set the sizes by then, so the
//! answer is already certain.

use crate::error::{CollbenchError, Result};
use crate::measure::watchdog::{self, Phase};
use crate::plan::{Criteria, TestPlan};
use crate::verdict::coverage::{self, RunShape};
use crate::world::World;
use std::collections::BTreeSet;

/// Every process's host, on rank 0 (`None` elsewhere). Only when the plan has a `--profile`,
/// which the ranks have agreed on, so all of them make this collective call or none does.
pub(super) fn gather_hosts(plan: &TestPlan, world: &dyn World) -> Result<Option<Vec<String>>> {
    if plan.acceptance.profile.is_none() {
        return Ok(None);
    }
    let _armed = watchdog::waiting(Phase::Init);
    crate::world::gather_hostnames(world)
}

/// Rank 0: a usage error when `criteria`'s profile has nothing to judge in this job's sweep.
/// `job_ranks`: ranks of the whole job (what the report counts); `group_ranks`: ranks of the
/// NCCL_TESTS_SPLIT group, which size the rows; `hosts`: each process's host.
pub(super) fn refuse_unjudgeable_profile(
    plan: &TestPlan,
    criteria: &Criteria,
    (job_ranks, group_ranks): (usize, usize),
    hosts: &[String],
) -> Result<()> {
    let Some(profile) = &criteria.profile else {
        return Ok(());
    };
    let shape = RunShape {
        collective: plan.collective.name(),
        nranks: job_ranks,
        nodes: hosts.iter().collect::<BTreeSet<_>>().len().max(1),
    };
    match coverage::uncovered(profile, shape, &plan.row_shapes(group_ranks)) {
        None => Ok(()),
        Some(why) => Err(CollbenchError::Usage(format!(
            "{}; {}",
            why.explain(profile, shape),
            why.remedy(profile)
        ))),
    }
}
