//! Device memory: owned allocations and bounds-checked regions of them. Regions are what NCCL calls
//! and kernels receive, so every pointer handed to a library was checked against its allocation.

use super::{cuda_error, is_out_of_memory};
use crate::backend::nccl::loader::NcclLibrary;
use crate::error::{CollbenchError, Result};
use cudarc::driver::{result, sys, CudaContext, CudaStream};
use std::marker::PhantomData;
use std::sync::Arc;

enum Allocator {
    /// cuMemAlloc: plain device memory, like nccl-tests' cudaMalloc.
    Driver,
    /// ncclMemAlloc: what NCCL wants for symmetric window registration (`-R 2`).
    Nccl(Arc<NcclLibrary>),
}

/// An owned device allocation, freed on drop.
pub struct DeviceBuffer {
    ptr: sys::CUdeviceptr,
    bytes: usize,
    ctx: Arc<CudaContext>,
    allocator: Allocator,
}

// SAFETY: the allocation is plain device memory owned by this value; CUDA calls on it bind `ctx`.
unsafe impl Send for DeviceBuffer {}
unsafe impl Sync for DeviceBuffer {}

/// A checked window `[ptr, ptr + bytes)` inside a [`DeviceBuffer`] that outlives it.
#[derive(Clone, Copy, Debug)]
pub struct DeviceRegion<'a> {
    pub ptr: u64,
    pub bytes: usize,
    _buffer: PhantomData<&'a DeviceBuffer>,
}

impl DeviceBuffer {
    /// Allocates `bytes` (at least 1) on `ctx`'s device. Out of memory is a clear error with the
    /// size asked for and the memory free.
    pub fn alloc(
        ctx: &Arc<CudaContext>,
        bytes: usize,
        nccl: Option<&Arc<NcclLibrary>>,
    ) -> Result<Self> {
        let bytes = bytes.max(1);
        ctx.bind_to_thread()
            .map_err(|e| cuda_error("cuCtxSetCurrent", e))?;
        // ncclMemAlloc only when ncclMemFree can release it.
        let nccl = nccl.filter(|lib| lib.api.mem_free.is_some());
        let ptr = match nccl.and_then(|lib| lib.api.mem_alloc.map(|f| (lib, f))) {
            Some((lib, mem_alloc)) => {
                let mut raw: *mut std::ffi::c_void = std::ptr::null_mut();
                // SAFETY: ncclMemAlloc writes one pointer.
                let rc = unsafe { mem_alloc(&mut raw, bytes) };
                if rc != 0 {
                    return Err(oom_or(
                        ctx,
                        bytes,
                        format!("ncclMemAlloc failed with NCCL code {rc}"),
                    ));
                }
                return Ok(DeviceBuffer {
                    ptr: raw as u64,
                    bytes,
                    ctx: ctx.clone(),
                    allocator: Allocator::Nccl(lib.clone()),
                });
            }
            // SAFETY: cuMemAlloc with the context bound above.
            None => unsafe { result::malloc_sync(bytes) }.map_err(|e| {
                if is_out_of_memory(&e) {
                    oom_or(ctx, bytes, String::new())
                } else {
                    cuda_error(format!("cuMemAlloc({bytes} bytes)"), e)
                }
            })?,
        };
        Ok(DeviceBuffer {
            ptr,
            bytes,
            ctx: ctx.clone(),
            allocator: Allocator::Driver,
        })
    }

    pub fn len_bytes(&self) -> usize {
        self.bytes
    }

    /// `[offset, offset + bytes)`, checked against the allocation.
    pub fn region(&self, offset: usize, bytes: usize) -> Result<DeviceRegion<'_>> {
        self.all().sub(offset, bytes)
    }

    /// The whole allocation.
    pub fn all(&self) -> DeviceRegion<'_> {
        DeviceRegion {
            ptr: self.ptr,
            bytes: self.bytes,
            _buffer: PhantomData,
        }
    }
}

impl<'a> DeviceRegion<'a> {
    /// A sub-window `[offset, offset + bytes)` of this region.
    pub fn sub(&self, offset: usize, bytes: usize) -> Result<DeviceRegion<'a>> {
        match offset.checked_add(bytes) {
            Some(end) if end <= self.bytes => Ok(DeviceRegion {
                ptr: self.ptr + offset as u64,
                bytes,
                _buffer: PhantomData,
            }),
            _ => Err(CollbenchError::Cuda(format!(
                "internal: sub-region [{offset}, +{bytes}) is outside a {}-byte region",
                self.bytes
            ))),
        }
    }

    /// Fills the region with `byte` on `stream`.
    pub fn memset_async(&self, byte: u8, stream: &CudaStream) -> Result<()> {
        // SAFETY: the region lies inside a live allocation (checked at construction).
        unsafe { result::memset_d8_async(self.ptr, byte, self.bytes, stream.cu_stream()) }
            .map_err(|e| cuda_error("cuMemsetD8Async", e))
    }

    /// Copies `src` (same length) into this region, in `stream` order.
    pub fn copy_from_device_async(
        &self,
        src: &DeviceRegion<'_>,
        stream: &CudaStream,
    ) -> Result<()> {
        if src.bytes != self.bytes {
            return Err(CollbenchError::Cuda(format!(
                "internal: copying a {}-byte region into a {}-byte region",
                src.bytes, self.bytes
            )));
        }
        // SAFETY: both regions lie inside live allocations of this context (checked at construction).
        unsafe { result::memcpy_dtod_async(self.ptr, src.ptr, self.bytes, stream.cu_stream()) }
            .map_err(|e| cuda_error("cuMemcpyDtoDAsync", e))
    }

    /// Copies the region to `host` (same length) after the work queued on `stream`.
    pub fn copy_to_host(&self, host: &mut [u8], stream: &CudaStream) -> Result<()> {
        if host.len() != self.bytes {
            return Err(CollbenchError::Cuda(format!(
                "internal: copying a {}-byte region into a {}-byte host buffer",
                self.bytes,
                host.len()
            )));
        }
        // SAFETY: sizes match; the stream is synchronized before `host` is read.
        unsafe { result::memcpy_dtoh_async(host, self.ptr, stream.cu_stream()) }
            .map_err(|e| cuda_error("cuMemcpyDtoHAsync", e))?;
        stream
            .synchronize()
            .map_err(|e| cuda_error("cuStreamSynchronize", e))
    }

    /// Copies `host` (same length) into the region, ordered on `stream`, and waits.
    pub fn copy_from_host(&self, host: &[u8], stream: &CudaStream) -> Result<()> {
        if host.len() != self.bytes {
            return Err(CollbenchError::Cuda(format!(
                "internal: copying {} host bytes into a {}-byte region",
                host.len(),
                self.bytes
            )));
        }
        // SAFETY: sizes match; we wait before `host` may be freed.
        unsafe { result::memcpy_htod_async(self.ptr, host, stream.cu_stream()) }
            .map_err(|e| cuda_error("cuMemcpyHtoDAsync", e))?;
        stream
            .synchronize()
            .map_err(|e| cuda_error("cuStreamSynchronize", e))
    }
}

fn oom_or(ctx: &Arc<CudaContext>, bytes: usize, detail: String) -> CollbenchError {
    let (free, total) = ctx.mem_get_info().unwrap_or((0, 0));
    let gib = |b: usize| b as f64 / (1u64 << 30) as f64;
    CollbenchError::Cuda(format!(
        "out of device memory on GPU {}: cannot allocate {bytes} bytes ({:.2} GiB); {free} bytes \
         ({:.2} GiB) free of {:.2} GiB{}; lower -e (maxBytes) or run fewer ranks per GPU",
        ctx.ordinal(),
        gib(bytes),
        gib(free),
        gib(total),
        if detail.is_empty() {
            String::new()
        } else {
            format!(" ({detail})")
        }
    ))
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        let _ = self.ctx.bind_to_thread();
        match &self.allocator {
            // SAFETY: allocated by cuMemAlloc in this context and freed once.
            Allocator::Driver => unsafe {
                let _ = result::free_sync(self.ptr);
            },
            Allocator::Nccl(lib) => {
                if let Some(mem_free) = lib.api.mem_free {
                    // SAFETY: allocated by ncclMemAlloc and freed once.
                    unsafe {
                        mem_free(self.ptr as *mut std::ffi::c_void);
                    }
                }
            }
        }
    }
}
