//! The backend a run asks for (`--backend auto|nccl|mpi`), built on the test's communicator, with
//! the faults the COLLBENCH_TEST_* variables ask for (`crate::faults`) wrapped around it.

use crate::backend::host_mpi::{host_placement, HostBackend};
use crate::backend::nccl::net_capture::NcclLogCapture;
use crate::backend::Backend;
use crate::error::{CollbenchError, Result};
use crate::faults::TestHooks;
use crate::measure::watchdog::{self, Phase};
use crate::plan::{BackendChoice, TestPlan};
use crate::world::{Reduction, World};

/// The backend `--backend` asks for. `auto` takes NCCL when a GPU and libnccl are usable, else
/// the mpi backend with a one-line note on stderr saying why. `net_log`: the NCCL log capture installed
/// at the start of the run, handed to the NCCL backend (dropped, removing its files, otherwise).
pub fn build_backend<'w>(
    plan: &TestPlan,
    world: &'w dyn World,
    group: &dyn World,
    color: usize,
    net_log: Option<NcclLogCapture>,
    hooks: &TestHooks,
) -> Result<Box<dyn Backend + 'w>> {
    match plan.backend {
        BackendChoice::Nccl => gpu_backend(plan, world, group, color, net_log, hooks),
        BackendChoice::Auto => {
            // Every rank must pick the same backend: NCCL only if it is usable everywhere.
            let probe = crate::backend::nccl::probe();
            let usable_here = if probe.is_ok() { 1.0 } else { 0.0 };
            let usable_everywhere = {
                let _armed = watchdog::waiting(Phase::Init);
                world.allreduce_f64(&[usable_here], Reduction::Min)?
            };
            if usable_everywhere.first() == Some(&1.0) {
                return gpu_backend(plan, world, group, color, net_log, hooks);
            }
            let why = match probe {
                Err(error) => fallback_cause(&error),
                Ok(_) => "another rank of the job has none".to_string(),
            };
            // GPU-only flags (--require-net too) cannot fall back: say why auto chose mpi.
            plan.require_gpu_flags_unused("mpi")
                .map_err(|error| match error {
                    CollbenchError::Unsupported(message) => CollbenchError::Unsupported(format!(
                        "{message} (--backend auto chose mpi: no usable GPU/NCCL: {why})"
                    )),
                    other => other,
                })?;
            refuse_stream_hang(hooks)?;
            // stderr: stdout is nccl-tests' table alone (docs/output.md).
            if world.rank() == 0 {
                crate::io::console::error_line(&format!(
                    "collbench: note: no usable GPU/NCCL ({why}); using the mpi backend"
                ));
            }
            host_backend(plan, world, group, color, hooks)
        }
        BackendChoice::Mpi => {
            refuse_stream_hang(hooks)?;
            host_backend(plan, world, group, color, hooks)
        }
    }
}

/// Why the NCCL probe failed, for the fallback note: the first line, without the list of every
/// path the loader tried, and without the kind prefix (`CUDA error: `), so that a merged log's
/// `grep -i error` does not take a working run's note for a failure (docs/output.md).
fn fallback_cause(error: &CollbenchError) -> String {
    let text = match error {
        CollbenchError::Cuda(m) | CollbenchError::Nccl(m) | CollbenchError::Unsupported(m) => {
            m.clone()
        }
        other => other.to_string(),
    };
    let first = text.lines().next().unwrap_or_default();
    first.split("; tried").next().unwrap_or(first).to_string()
}

/// `COLLBENCH_TEST_STREAM_HANG` acts on GPU streams: on the host backend it would do nothing.
fn refuse_stream_hang(hooks: &TestHooks) -> Result<()> {
    use crate::faults::hooks::{STALL_VAR, STREAM_HANG_VAR};
    match hooks.stream_hang {
        Some(rank) => Err(CollbenchError::Usage(format!(
            "{STREAM_HANG_VAR}={rank}: the mpi backend has no GPU streams to hang; accepted: \
             the NCCL backend on GPUs, or {STALL_VAR}={rank} to stop a rank on any backend"
        ))),
        None => Ok(()),
    }
}

/// The NCCL backend: GPUs picked by the process's local rank on its host (the whole job's, before
/// NCCL_TESTS_SPLIT), communicators over the test's group.
fn gpu_backend<'w>(
    plan: &TestPlan,
    world: &'w dyn World,
    group: &dyn World,
    color: usize,
    net_log: Option<NcclLogCapture>,
    hooks: &TestHooks,
) -> Result<Box<dyn Backend + 'w>> {
    use crate::backend::gpu::{GpuBackend, GpuOptions, GpuSetup};
    let _armed = watchdog::waiting(Phase::Init);
    let mut options = GpuOptions::from_plan(plan);
    // The ranks as the backend numbers (and prints) them: by the process's rank in the group.
    let first_rank = group.rank() * plan.ranks_per_process();
    let my_ranks: Vec<usize> = (first_rank..first_rank + plan.ranks_per_process()).collect();
    options.wait_hook = crate::faults::gpu_wait_hook(hooks, &my_ranks);
    let setup = GpuSetup {
        options,
        world: group.split(0, group.rank())?,
        local_rank: world.local_rank(),
        group: color,
        net_log,
    };
    Ok(crate::faults::wrap(GpuBackend::new(setup)?, hooks))
}

fn host_backend<'w>(
    plan: &TestPlan,
    world: &'w dyn World,
    group: &dyn World,
    color: usize,
    hooks: &TestHooks,
) -> Result<Box<dyn Backend + 'w>> {
    plan.require_gpu_flags_unused("mpi")?;
    let placement = host_placement(world.rank(), color, world.hostname());
    let mut backend = host_backend_on(group, placement)?;
    if let Some(delay) = hooks.delay_for(&[world.rank()]) {
        backend = backend
            .decorate_transport(|inner| Box::new(crate::faults::SlowTransport::new(inner, delay)));
    }
    Ok(crate::faults::wrap(backend, hooks))
}

#[cfg(feature = "mpi")]
fn host_backend_on(
    group: &dyn World,
    placement: crate::report::RankPlacement,
) -> Result<HostBackend> {
    let Some(mpi_group) = group.as_mpi() else {
        // A process started without a launcher runs alone, without MPI (see init_world).
        if group.size() == 1 {
            return Ok(HostBackend::single(placement));
        }
        return Err(CollbenchError::Mpi(
            "the group world is not an MPI world (internal error)".to_string(),
        ));
    };
    let _armed = watchdog::waiting(Phase::Init);
    HostBackend::mpi(mpi_group, placement)
}

#[cfg(not(feature = "mpi"))]
fn host_backend_on(
    group: &dyn World,
    placement: crate::report::RankPlacement,
) -> Result<HostBackend> {
    let _ = group;
    Ok(HostBackend::single(placement))
}
