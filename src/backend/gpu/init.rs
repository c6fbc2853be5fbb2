//! Communicator creation (one NCCL group, or one group per thread for `-p 1`) and loading of the
//! validation kernels on every local GPU.

use crate::backend::cuda::device::GpuDevice;
use crate::backend::cuda::kernels::ValidationKernels;
use crate::backend::nccl::comm::{CommConfig, Communicator, Nccl};
use crate::error::{CollbenchError, Result};
use std::collections::HashMap;
use std::sync::Arc;

/// One NCCL group of ncclCommInitRank (ncclCommInitRankConfig with a `config`): `devices` become
/// ranks `first_rank`, `first_rank + 1`, … (each call made with its device current).
pub(super) fn init_group(
    nccl: &Nccl,
    devices: &[GpuDevice],
    nranks: usize,
    first_rank: usize,
    id: &crate::backend::nccl::comm::UniqueId,
    config: Option<CommConfig>,
) -> Result<Vec<Communicator>> {
    let binds: Vec<Box<dyn Fn() -> Result<()> + '_>> = devices
        .iter()
        .map(|d| Box::new(move || d.bind()) as Box<dyn Fn() -> Result<()>>)
        .collect();
    let ranks: Vec<(usize, &dyn Fn() -> Result<()>)> = binds
        .iter()
        .enumerate()
        .map(|(i, b)| (first_rank + i, b.as_ref()))
        .collect();
    nccl.init_ranks(nranks, id, &ranks, config)
}

pub(super) fn init_in_threads(
    nccl: &Nccl,
    devices: &[GpuDevice],
    nranks: usize,
    first_rank: usize,
    ngpus: usize,
    id: &crate::backend::nccl::comm::UniqueId,
    config: Option<CommConfig>,
) -> Result<Vec<Communicator>> {
    // `-p 1`: every thread creates its GPUs' communicators concurrently (one group each).
    let results: Vec<Result<Vec<Communicator>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = devices
            .chunks(ngpus.max(1))
            .enumerate()
            .map(|(t, chunk)| {
                scope.spawn(move || {
                    init_group(nccl, chunk, nranks, first_rank + t * ngpus, id, config)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(CollbenchError::Nccl(
                        "a communicator-init thread panicked".into(),
                    ))
                })
            })
            .collect()
    });
    let mut comms = Vec::new();
    for r in results {
        comms.extend(r?);
    }
    Ok(comms)
}

/// Loads the validation module once per device (a module belongs to one context); the NVRTC
/// compile behind it is cached on disk per architecture, so a second GPU of the same kind reads it.
pub(super) fn load_kernels(devices: &[GpuDevice]) -> Result<Vec<Option<Arc<ValidationKernels>>>> {
    let mut out = Vec::with_capacity(devices.len());
    let mut per_device: HashMap<usize, Arc<ValidationKernels>> = HashMap::new();
    for device in devices {
        let kernels = match per_device.get(&device.ordinal) {
            Some(k) => k.clone(),
            None => {
                let k = Arc::new(ValidationKernels::load(device, crate::data::KERNEL_SOURCE)?);
                per_device.insert(device.ordinal, k.clone());
                k
            }
        };
        out.push(Some(kernels));
    }
    Ok(out)
}
