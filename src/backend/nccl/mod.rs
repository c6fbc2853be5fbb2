//! NCCL through our own thin FFI (`sys`), loader (`loader`) and safe layer (`comm`). cudarc's NCCL
//! module is not used: its loader never tries `libnccl.so.2` and panics when it fails.

pub mod comm;
pub mod loader;
pub mod net_capture;
pub mod net_log;
pub mod requirements;
pub mod sys;

use crate::error::Result;

/// What `--backend auto` needs to know: can NCCL run here?
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeInfo {
    pub gpu_count: usize,
    pub library_path: String,
    pub version: String,
    pub version_code: i32,
}

/// Succeeds when a CUDA driver with at least one GPU and a loadable NCCL are present.
/// Errors: no driver / no GPU → `Cuda` (exit 2); no NCCL → `Nccl` (exit 3), listing what was tried.
pub fn probe() -> Result<ProbeInfo> {
    let gpu_count = crate::backend::cuda::device::device_count()?;
    if gpu_count == 0 {
        return Err(crate::error::CollbenchError::Cuda(
            "the CUDA driver is present but reports 0 GPUs (check CUDA_VISIBLE_DEVICES and nvidia-smi)"
                .into(),
        ));
    }
    let lib = loader::load()?;
    Ok(ProbeInfo {
        gpu_count,
        library_path: lib.path.clone(),
        version: lib.version_string(),
        version_code: lib.version_code,
    })
}
