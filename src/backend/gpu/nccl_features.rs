//! `-x` and `-D` in the GPU backend: the NCCL release they need, checked as NCCL is loaded; the
//! multicast support of the GPUs; the LSA team of the communicators. The rules themselves are in
//! `crate::backend::nccl::requirements`.

use super::options::GpuOptions;
use crate::backend::cuda::device::GpuDevice;
use crate::backend::nccl::comm::Communicator;
use crate::backend::nccl::loader::{self, NcclLibrary};
use crate::backend::nccl::requirements::{self, CtaPolicySetting, LibraryFacts, MulticastSupport};
use crate::error::{CollbenchError, Result};
use std::sync::Arc;

/// Loads NCCL and checks it against `-x` and `-D` before any GPU is touched. Without any NCCL,
/// the loader's error also names the releases these flags need.
pub(super) fn load_nccl(options: &GpuOptions) -> Result<(Arc<NcclLibrary>, CtaPolicySetting)> {
    let device = options.device_implementation.as_ref();
    let lib = loader::load().map_err(|error| {
        match (
            requirements::needed_release(options.cta_policy, device),
            error,
        ) {
            (Some(needs), CollbenchError::Nccl(message)) => {
                CollbenchError::Nccl(format!("{message}\n({needs})"))
            }
            (_, error) => error,
        }
    })?;
    let facts = LibraryFacts::of(&lib);
    let cta_policy = requirements::cta_policy(&facts, options.cta_policy)?;
    requirements::device_api(&facts, device)?;
    Ok((lib, cta_policy))
}

/// The multimem kernels (`-D 3/4` of all_reduce): multicast on every local GPU.
pub(super) fn check_multicast(options: &GpuOptions, devices: &[GpuDevice]) -> Result<()> {
    let device = options.device_implementation.as_ref();
    if !device.is_some_and(|d| d.kernel.needs.multimem) {
        return Ok(());
    }
    let gpus = devices
        .iter()
        .map(|d| {
            Ok(MulticastSupport {
                ordinal: d.ordinal,
                name: d.name.clone(),
                supported: d.multicast_supported()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    requirements::multicast(device, &gpus)
}

/// `-D > 0` once the communicators exist: one LSA team, then the refusal (the device kernels are
/// not implemented). `Ok` without `-D`.
pub(super) fn refuse_device_kernels(
    options: &GpuOptions,
    comms: &[Communicator],
    first_rank: usize,
    nranks: usize,
) -> Result<()> {
    let Some(device) = options.device_implementation.as_ref() else {
        return Ok(());
    };
    let lsa_sizes: Vec<(usize, usize)> = comms
        .iter()
        .enumerate()
        .map(|(i, c)| (first_rank + i, c.lsa_team_size().unwrap_or(0)))
        .collect();
    requirements::one_lsa_team(Some(device), nranks, &lsa_sizes)?;
    Err(requirements::device_kernels_not_implemented(device, nranks))
}
