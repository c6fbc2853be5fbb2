//! One run lifecycle, for a plain run and for every group of `accept --pairwise` or `--bisect`:
//! agree the plan across ranks, read the faults, split the NCCL_TESTS_SPLIT groups, build the
//! backend (with the faults wrapped around it), cap the sizes to memory, open the sinks, sweep, and
//! map the outcome to the exit code. A plain run takes every step ([`run_plan`]); a group run takes
//! the ones a group needs on its own communicator ([`Lifecycle::group_sweep`]).

mod backends;
mod outcome;
mod outputs;
mod profile_fit;

pub use backends::build_backend;
pub use outcome::report_error_at;

use crate::backend::nccl::net_capture::NcclLogCapture;
use crate::backend::Backend;
use crate::error::Result;
use crate::faults::TestHooks;
use crate::measure::watchdog::{self, Phase};
use crate::plan::{Criteria, TestPlan};
use crate::sinks::Sink;
use crate::sweep::memory_cap::lower_max_bytes_to_memory;
use crate::sweep::runner::{self, RunInputs, RunOutcome, StopSignal};
use crate::world::{Reduction, World};
use std::time::Duration;

/// A plan on the communicator it runs on (the job, or one pair), with the faults to apply.
pub struct Lifecycle<'w> {
    plan: TestPlan,
    world: &'w dyn World,
    hooks: TestHooks,
}

/// What setup built for the sweep of a plain run.
struct Prepared<'w> {
    group_world: Box<dyn World>,
    backend: Box<dyn Backend + 'w>,
    /// Rank 0's outputs (none elsewhere).
    sinks: Vec<Box<dyn Sink>>,
    /// Acceptance checks (rank 0; empty elsewhere).
    criteria: Criteria,
}

/// Runs a validated plan end to end on `world` (every rank of the job) and returns this rank's
/// exit code. Every rank reaches each agreement, error or not, so a failure on any rank before
/// the sweep ends the job cleanly with the same exit code everywhere.
pub fn run_plan(
    plan: TestPlan,
    world: &dyn World,
    stop: StopSignal,
    net_log: Option<NcclLogCapture>,
) -> i32 {
    if let Err(error) = agree_plan(&plan, world) {
        return report_error_at(&error, world.rank());
    }
    if let Err(error) = arm_peer_probe(&plan, world) {
        return report_error_at(&error, world.rank());
    }
    let setup = TestHooks::from_process_env().and_then(|hooks| {
        let mut lifecycle = Lifecycle { plan, world, hooks };
        let prepared = lifecycle.prepare(net_log)?;
        Ok((lifecycle, prepared))
    });
    let (lifecycle, prepared) = match agree_setup(world, setup) {
        Ok(ready) => ready,
        Err(code) => return code,
    };
    let Prepared {
        group_world,
        mut backend,
        sinks,
        criteria,
    } = prepared;
    let min_bw = lifecycle.plan.acceptance.criteria.nccl_tests_min_bw;
    let outcome = lifecycle.sweep(backend.as_mut(), sinks, criteria, min_bw, Some(stop));
    // The backend's communicator is freed before its group's, before MPI is finalized.
    drop(backend);
    drop(group_world);
    outcome::exit_code(&lifecycle.plan, world, outcome)
}

/// Before anything collective depends on the plan: a rank with other flags would hang in a call
/// the others never make, or "find" wrong results in data that no rank got wrong.
fn agree_plan(plan: &TestPlan, world: &dyn World) -> Result<()> {
    let _armed = watchdog::waiting(Phase::Barrier);
    crate::world::agree::check_same_plan(world, &plan.agreement_fields())
}

/// Under `-T`, every rank of a job learns every other rank's liveness address, so that a rank
/// whose watchdog fires can name the peer that is lost (see `world::peer_probe`). Ranks may differ
/// in `-T`; they first agree whether any of them is watched, since the exchange is collective.
pub fn arm_peer_probe(plan: &TestPlan, world: &dyn World) -> Result<()> {
    let timeout = plan.timeout.filter(|t| !t.is_zero());
    if !agree_watched(world, timeout.is_some())? {
        return Ok(());
    }
    // An unwatched rank listens too: a watched one may ask it.
    let probe = {
        let _armed = watchdog::waiting(Phase::Init);
        crate::world::PeerProbe::exchange(world)?
    };
    if let Some(timeout) = timeout {
        // Long enough for a connection across a busy network, short next to the timeout.
        let within = (timeout / 5).clamp(Duration::from_millis(500), Duration::from_secs(2));
        watchdog::set_diagnosis(Box::new(move || probe.diagnosis(within)), within);
    }
    Ok(())
}

/// True on every rank when some rank of a job of several is watched.
fn agree_watched(world: &dyn World, watched: bool) -> Result<bool> {
    if world.size() < 2 {
        return Ok(false);
    }
    let _armed = watchdog::waiting(Phase::Barrier);
    let watched_ranks = world.allreduce_u64_sum(&[watched as u64])?;
    Ok(watched_ranks.first().copied().unwrap_or(0) > 0)
}

/// Every rank learns the worst exit code of the setup: `Err(code)` when any rank failed (each
/// printed its own error; the job ends with the highest code).
fn agree_setup<T>(world: &dyn World, setup: Result<T>) -> std::result::Result<T, i32> {
    let own_code = setup.as_ref().err().map(|e| e.exit_code()).unwrap_or(0);
    if let Err(error) = &setup {
        report_error_at(error, world.rank());
    }
    let agreed = {
        let _armed = watchdog::waiting(Phase::Barrier);
        world.allreduce_f64(&[own_code as f64], Reduction::Max)
    };
    let agreed_code = match agreed {
        Ok(values) => values.first().copied().unwrap_or(0.0) as i32,
        Err(error) => return Err(report_error_at(&error, world.rank())),
    };
    match setup {
        Ok(ready) if agreed_code == 0 => Ok(ready),
        // Another rank failed and printed why; exit with its code.
        _ => Err(agreed_code.max(own_code)),
    }
}

impl<'w> Lifecycle<'w> {
    /// The lifecycle of one group (a pair under `--pairwise`) of an isolation run, on the group's
    /// communicator `group` with the hooks moved to the group's ranks.
    pub fn for_group(plan: TestPlan, group: &'w dyn World, hooks: TestHooks) -> Lifecycle<'w> {
        Lifecycle {
            plan,
            world: group,
            hooks,
        }
    }

    /// The plan as it runs (after the memory cap).
    pub fn plan(&self) -> &TestPlan {
        &self.plan
    }

    /// Everything before the sweep of a plain run: NCCL_TESTS_SPLIT groups, the backend with its
    /// faults, the rank-count checks of the hooks, the memory cap, rank 0's criteria (a profile
    /// that could judge nothing refused) and its sinks.
    fn prepare(&mut self, net_log: Option<NcclLogCapture>) -> Result<Prepared<'w>> {
        let world = self.world;
        let color = self
            .plan
            .split
            .map(|rule| rule.color(world.rank() as u64))
            .unwrap_or(0);
        // Checked for every group on every rank, before any of them goes on alone.
        self.plan.validate_for_groups(world.size())?;
        let group_world = {
            let _armed = watchdog::waiting(Phase::Init);
            world.split(color, world.rank())?
        };
        let backend = build_backend(
            &self.plan,
            world,
            group_world.as_ref(),
            color as usize,
            net_log,
            &self.hooks,
        )?;
        self.hooks
            .check_ranks(world.size() * backend.placements().len())?;
        let notices: Vec<String> = self
            .cap_memory(backend.as_ref(), world.rank())?
            .into_iter()
            .collect();
        let hosts = profile_fit::gather_hosts(&self.plan, world)?;
        let (sinks, criteria) = if world.rank() == 0 {
            let criteria = outputs::criteria(&self.plan, backend.as_ref())?;
            let per_process = self.plan.ranks_per_process();
            let nranks = group_world.size() * per_process;
            profile_fit::refuse_unjudgeable_profile(
                &self.plan,
                &criteria,
                (world.size() * per_process, nranks),
                &hosts.unwrap_or_default(),
            )?;
            let sinks = outputs::open(&self.plan, backend.as_ref(), nranks, notices)?;
            (sinks, criteria)
        } else {
            (Vec::new(), Criteria::default())
        };
        Ok(Prepared {
            group_world,
            backend,
            sinks,
            criteria,
        })
    }

    /// nccl-tests lowers -e to what every rank can allocate, with a notice (collective over the
    /// lifecycle's communicator). `global_rank`: this process's rank in the whole job.
    pub fn cap_memory(
        &mut self,
        backend: &dyn Backend,
        global_rank: usize,
    ) -> Result<Option<String>> {
        lower_max_bytes_to_memory(&mut self.plan, backend, self.world, global_rank)
    }

    /// The backend of a group run, on the group's communicator (its ranks are numbered within the
    /// group; group runs report no network: `accept --pairwise` and `--bisect` refuse
    /// --require-net).
    pub fn group_backend(&self) -> Result<Box<dyn Backend + 'w>> {
        build_backend(&self.plan, self.world, self.world, 0, None, &self.hooks)
    }

    /// The sweep of a group: no sinks, no verdict, no footer threshold; the rows go back to rank 0
    /// of the job, which judges the groups.
    pub fn group_sweep(&self, backend: &mut dyn Backend, stop: &StopSignal) -> Result<RunOutcome> {
        self.sweep(
            backend,
            Vec::new(),
            Criteria::default(),
            None,
            Some(stop.clone()),
        )
    }

    fn sweep(
        &self,
        backend: &mut dyn Backend,
        sinks: Vec<Box<dyn Sink>>,
        criteria: Criteria,
        min_bus_bandwidth_gbps: Option<f64>,
        stop: Option<StopSignal>,
    ) -> Result<RunOutcome> {
        runner::run(RunInputs {
            plan: &self.plan,
            world: self.world,
            backend,
            sinks,
            min_bus_bandwidth_gbps,
            stop,
            criteria,
        })
    }
}
