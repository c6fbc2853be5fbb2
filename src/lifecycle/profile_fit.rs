//! Before the sweep of a plain run: a `--profile` (`auto` resolved) that can judge no row of this
//! job is refused now, exit 6, instead of after a whole sweep whose verdict could only say
//! "nothing to compare" (`verdict::coverage`). The memory cap has set the sizes by then, so the
//! answer is already certain.

use crate::backend::Backend;
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
    let gathered = {
        let _armed = watchdog::waiting(Phase::Init);
        world.gather_bytes(world.hostname().as_bytes())?
    };
    Ok(gathered.map(|all| {
        all.iter()
            .map(|host| String::from_utf8_lossy(host).into_owned())
            .collect()
    }))
}

/// Rank 0: a usage error when `criteria`'s profile has nothing to judge in this job's sweep.
/// `job_ranks`: ranks of the whole job (what the report counts); `hosts`: each process's host.
pub(super) fn refuse_unjudgeable_profile(
    plan: &TestPlan,
    criteria: &Criteria,
    backend: &dyn Backend,
    job_ranks: usize,
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
    // Rows are sized by the ranks of the backend's group, as the sweep sizes them.
    match coverage::uncovered(profile, shape, &plan.row_shapes(backend.nranks())) {
        None => Ok(()),
        Some(why) => Err(CollbenchError::Usage(format!(
            "{}; {}",
            why.explain(profile, shape),
            why.remedy(profile)
        ))),
    }
}
