//! The plan's GPU settings, what the caller hands the backend, and which local GPUs this
//! process drives (nccl-tests' local-rank mapping, NCCL_TESTS_DEVICE).

use crate::backend::nccl::net_capture::NcclLogCapture;
use crate::error::{CollbenchError, Result};
use crate::plan::device_api::{CtaPolicy, DeviceImplementation};
use crate::plan::{AverageMode, TestPlan};
use crate::world::World;
use std::time::Duration;

/// The plan's GPU settings (see [`GpuOptions::from_plan`]).
#[derive(Clone, Debug, PartialEq)]
pub struct GpuOptions {
    /// `-t`.
    pub nthreads: usize,
    /// `-g`.
    pub ngpus: usize,
    /// `-p`.
    pub parallel_init: bool,
    /// `-c` > 0: load the validation kernels.
    pub validate: bool,
    /// `-R` 0/1/2.
    pub register: u8,
    /// `-u` elements.
    pub unalign: usize,
    /// `-T`.
    pub timeout: Option<Duration>,
    /// `-y 1`: launch on the CUDA null stream.
    pub stream_null: bool,
    /// `-a`: how the `-t` threads' times become the process's (see `combine_threads`).
    pub average: AverageMode,
    /// Set only by `crate::faults` (a COLLBENCH_TEST_* variable): what no decorator outside the
    /// backend can reach.
    pub wait_hook: GpuWaitHook,
    /// NCCL_TESTS_DEVICE as given (see [`device_override`]).
    pub device_base: Option<String>,
    /// `-x`.
    pub cta_policy: Option<CtaPolicy>,
    /// `-D` > 0 with its `-V`.
    pub device_implementation: Option<DeviceImplementation>,
}

/// The one narrow hook of the GPU backend, for faults that happen inside a stream wait or
/// between the launches of the timed loop, where a decorator around the backend cannot reach.
/// Empty (the default) in every run that sets no COLLBENCH_TEST_* variable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuWaitHook {
    /// The global rank whose stream waits never see its stream finish.
    pub stream_hang: Option<usize>,
    /// A pause after every timed launch of this process (a slow rank).
    pub launch_delay: Option<Duration>,
}

impl GpuOptions {
    pub fn from_plan(plan: &TestPlan) -> GpuOptions {
        GpuOptions {
            nthreads: plan.gpu.nthreads.max(1),
            ngpus: plan.gpu.ngpus.max(1),
            parallel_init: plan.gpu.parallel_init,
            validate: plan.check_iters > 0,
            register: plan.gpu.local_register,
            unalign: plan.gpu.unalign,
            timeout: plan.timeout,
            stream_null: plan.gpu.stream_null,
            average: plan.average,
            wait_hook: GpuWaitHook::default(),
            device_base: plan.gpu.nccl_tests_device.clone(),
            cta_policy: plan.gpu.cta_policy,
            device_implementation: plan.gpu.device_implementation,
        }
    }
}

/// What the backend needs from the caller.
pub struct GpuSetup {
    pub options: GpuOptions,
    /// The communicator of this test (after NCCL_TESTS_SPLIT), owned by the backend: it carries
    /// the NCCL unique id and the timed loop's barriers.
    pub world: Box<dyn World>,
    /// This process's index among all processes on its host (before any split): picks its GPUs.
    pub local_rank: usize,
    /// NCCL_TESTS_SPLIT group (placement column).
    pub group: usize,
    /// The NCCL log capture installed before NCCL started (`NcclLogCapture::install`): read once
    /// the communicators exist, to report the network NCCL selected. `None`: not reported.
    pub net_log: Option<NcclLogCapture>,
}

/// `NCCL_TESTS_DEVICE` (as read with the flags): the first GPU this process uses (overrides the
/// local-rank mapping).
pub(super) fn device_override(value: Option<&str>) -> Result<Option<usize>> {
    match value {
        Some(v) if !v.trim().is_empty() => v.trim().parse().map(Some).map_err(|_| {
            CollbenchError::Usage(format!(
                "NCCL_TESTS_DEVICE={v:?} is not a GPU index; accepted: a non-negative integer"
            ))
        }),
        _ => Ok(None),
    }
}

/// GPUs of this process: `base + i` for its `nthreads × ngpus` local ranks, where base is
/// NCCL_TESTS_DEVICE or `local_rank × nthreads × ngpus` (nccl-tests' mapping). A process that
/// sees exactly its own `nthreads × ngpus` GPUs was handed them by the launcher (Slurm
/// `--gpus-per-task`, `--gpu-bind`, a per-rank CUDA_VISIBLE_DEVICES, one MIG instance each) and
/// uses them from 0, where nccl-tests fails unless NCCL_TESTS_DEVICE=0 is set.
pub fn local_devices(
    local_rank: usize,
    per_process: usize,
    override_base: Option<usize>,
    visible: usize,
) -> Result<Vec<usize>> {
    let by_local_rank = local_rank.saturating_mul(per_process);
    let base = match override_base {
        Some(base) => base,
        None if by_local_rank.saturating_add(per_process) > visible && visible == per_process => 0,
        None => by_local_rank,
    };
    // Saturating: a huge NCCL_TESTS_DEVICE must fail the check below, not overflow (a panic in
    // debug builds, an empty GPU list in release builds).
    let end = base.saturating_add(per_process);
    if end > visible {
        return Err(CollbenchError::Cuda(format!(
            "this process (local rank {local_rank}{}) needs GPUs {}..={} but sees {visible} GPU(s); \
             run at most {} process(es) per node with -t × -g = {per_process}, lower -t/-g, or \
             give each process its own {per_process} GPU(s) (srun --gpus-per-task={per_process})",
            override_base.map(|b| format!(", NCCL_TESTS_DEVICE={b}")).unwrap_or_default(),
            base,
            end.saturating_sub(1),
            (visible / per_process.max(1)).max(1)
        )));
    }
    Ok((base..end).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_follow_local_rank_or_the_override() {
        assert_eq!(local_devices(0, 1, None, 8).unwrap(), vec![0]);
        assert_eq!(local_devices(3, 2, None, 8).unwrap(), vec![6, 7]);
        assert_eq!(local_devices(0, 2, Some(5), 8).unwrap(), vec![5, 6]);
        let err = local_devices(2, 1, None, 2).err().unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("needs GPUs 2..=2 but sees 2 GPU"),
            "{err}"
        );
        let err = local_devices(2, 2, None, 4).err().unwrap();
        assert!(
            err.to_string().contains("needs GPUs 4..=5 but sees 4 GPU"),
            "{err}"
        );
        // NCCL_TESTS_DEVICE is taken as given, even where the process sees only its own GPUs.
        let err = local_devices(0, 1, Some(1), 1).err().unwrap();
        assert!(err.to_string().contains("NCCL_TESTS_DEVICE=1"), "{err}");
        // NCCL_TESTS_DEVICE at the top of usize: an error, not a wrap-around to no/zero GPUs.
        let err = local_devices(0, 2, Some(usize::MAX), 8).err().unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("NCCL_TESTS_DEVICE="), "{err}");
    }

    #[test]
    fn a_process_handed_only_its_own_gpus_uses_them_from_zero() {
        // srun --gpus-per-task=1: local rank 3 sees one GPU, its own (nccl-tests wants GPU 3).
        assert_eq!(local_devices(3, 1, None, 1).unwrap(), vec![0]);
        // -g 2 with two GPUs per task.
        assert_eq!(local_devices(1, 2, None, 2).unwrap(), vec![0, 1]);
        // Local rank 0 is the same either way.
        assert_eq!(local_devices(0, 2, None, 2).unwrap(), vec![0, 1]);
    }
}
