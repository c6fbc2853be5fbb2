//! CUDA through cudarc: the driver (contexts, streams, events, memory, graphs), NVRTC compilation
//! of the validation kernels with an on-disk cache, and the kernels' launch wrappers.
//! Everything is loaded at run time (cudarc's `dynamic-loading`), so builds need no CUDA.

pub mod buffer;
pub mod device;
pub mod kernel_cache;
pub mod kernels;
pub mod nvrtc;

use crate::error::CollbenchError;
use cudarc::driver::DriverError;

/// A driver error as a [`CollbenchError::Cuda`] naming what we were doing.
pub fn cuda_error(what: impl std::fmt::Display, err: DriverError) -> CollbenchError {
    let name = err
        .error_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("{:?}", err.0));
    let text = err
        .error_string()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    CollbenchError::Cuda(format!("{what}: {name} ({text})"))
}

/// True when `err` is CUDA_ERROR_OUT_OF_MEMORY.
pub fn is_out_of_memory(err: &DriverError) -> bool {
    err.0 == cudarc::driver::sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY
}
