//! Opening a GPU: driver presence (without cudarc's panic), device count, one context and one
//! non-blocking stream per device, and the facts the header prints (name, PCI id, memory).

use super::cuda_error;
use crate::error::{CollbenchError, Result};
use cudarc::driver::sys::CUdevice_attribute as Attr;
use cudarc::driver::{CudaContext, CudaStream};
use std::sync::Arc;

/// Checks that the CUDA driver library can be opened; the error lists the names tried.
pub fn ensure_driver() -> Result<()> {
    // SAFETY: only tries to dlopen the candidate names.
    if unsafe { cudarc::driver::sys::is_culib_present() } {
        return Ok(());
    }
    let mut tried: Vec<String> = Vec::new();
    for name in cudarc::get_lib_name_candidates("cuda") {
        if !tried.contains(&name) {
            tried.push(name);
        }
    }
    Err(CollbenchError::Cuda(format!(
        "no CUDA driver: could not load libcuda (is an NVIDIA driver installed and is this a GPU \
         node?); tried {}",
        tried.join(", ")
    )))
}

/// Number of CUDA devices visible to this process (after CUDA_VISIBLE_DEVICES).
pub fn device_count() -> Result<usize> {
    ensure_driver()?;
    let count = guard("cuDeviceGetCount", CudaContext::device_count)?;
    Ok(count.max(0) as usize)
}

/// Runs a cudarc call, turning both its errors and its panics (missing symbols) into CUDA errors.
fn guard<T>(
    what: &str,
    f: impl FnOnce() -> std::result::Result<T, cudarc::driver::DriverError>,
) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(cuda_error(what, e)),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown failure".into());
            Err(CollbenchError::Cuda(format!("{what}: {msg}")))
        }
    }
}

/// One opened GPU: its primary context, the stream every operation of its rank runs on, and facts.
pub struct GpuDevice {
    pub ordinal: usize,
    pub ctx: Arc<CudaContext>,
    pub stream: Arc<CudaStream>,
    pub name: String,
    /// `0000:00:06` (domain:bus:device), like nccl-tests' `[...]`.
    pub bus_id: String,
    pub compute_capability: (i32, i32),
    pub multiprocessors: u32,
    pub total_memory: usize,
}

impl GpuDevice {
    /// Opens GPU `ordinal` with a new non-blocking stream, or the legacy null stream when
    /// `null_stream` (`-y 1`).
    pub fn open(ordinal: usize, null_stream: bool) -> Result<GpuDevice> {
        ensure_driver()?;
        let count = device_count()?;
        if ordinal >= count {
            return Err(CollbenchError::Cuda(format!(
                "GPU {ordinal} requested but this process sees {count} CUDA device(s) \
                 (CUDA_VISIBLE_DEVICES={}); accepted: 0..{}",
                std::env::var("CUDA_VISIBLE_DEVICES").unwrap_or_else(|_| "<unset>".into()),
                count.saturating_sub(1)
            )));
        }
        let what = format!("opening GPU {ordinal}");
        let ctx = guard(&what, || CudaContext::new(ordinal))?;
        // Benchmark buffers are used on one stream each; cudarc's per-buffer event tracking would
        // add event records around every use.
        // SAFETY: every buffer of this context is used on `stream` only (kernels, copies, NCCL).
        unsafe { ctx.disable_event_tracking() };
        let stream = if null_stream {
            ctx.default_stream()
        } else {
            guard(&what, || ctx.new_stream())?
        };
        let attr = |a: Attr| guard(&what, || ctx.attribute(a));
        let bus_id = format!(
            "{:04x}:{:02x}:{:02x}",
            attr(Attr::CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID)?,
            attr(Attr::CU_DEVICE_ATTRIBUTE_PCI_BUS_ID)?,
            attr(Attr::CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID)?
        );
        Ok(GpuDevice {
            ordinal,
            name: guard(&what, || ctx.name())?,
            bus_id,
            compute_capability: guard(&what, || ctx.compute_capability())?,
            multiprocessors: attr(Attr::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?.max(1) as u32,
            total_memory: guard(&what, || ctx.total_mem())?,
            ctx,
            stream,
        })
    }

    /// (free, total) device memory in bytes.
    pub fn memory_info(&self) -> Result<(usize, usize)> {
        guard("cuMemGetInfo", || self.ctx.mem_get_info())
    }

    /// `sm_90` for compute capability 9.0.
    pub fn arch(&self) -> String {
        format!(
            "sm_{}{}",
            self.compute_capability.0, self.compute_capability.1
        )
    }

    /// fp8 collectives need compute capability 9.0 or newer (NCCL's rule).
    pub fn supports_fp8(&self) -> bool {
        self.compute_capability.0 >= 9
    }

    /// CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED: NVLink SHARP multimem, which the multimem device
    /// kernels (`-D 3/4`) need.
    pub fn multicast_supported(&self) -> Result<bool> {
        let what = format!("GPU {} multicast attribute", self.ordinal);
        guard(&what, || {
            self.ctx
                .attribute(Attr::CU_DEVICE_ATTRIBUTE_MULTICAST_SUPPORTED)
        })
        .map(|value| value != 0)
    }

    /// Makes this device's context current on the calling thread (NCCL uses the current device).
    pub fn bind(&self) -> Result<()> {
        guard("cuCtxSetCurrent", || self.ctx.bind_to_thread())
    }

    pub fn synchronize(&self) -> Result<()> {
        guard("cuStreamSynchronize", || self.stream.synchronize())
    }
}

/// cuStreamQuery: `Ok(true)` when all work queued on `stream` has finished, `Ok(false)` while it
/// runs, `Err` for a CUDA error raised by that work.
#[inline]
pub fn stream_done(stream: &CudaStream) -> Result<bool> {
    use cudarc::driver::sys::{cuStreamQuery, CUresult};
    // SAFETY: the stream is live for the borrow.
    match unsafe { cuStreamQuery(stream.cu_stream()) } {
        CUresult::CUDA_SUCCESS => Ok(true),
        CUresult::CUDA_ERROR_NOT_READY => Ok(false),
        other => Err(cuda_error(
            "cuStreamQuery",
            cudarc::driver::DriverError(other),
        )),
    }
}
