//! The validation kernels (kernels/collbench.cu, `crate::data::KERNEL_SOURCE`): compiled once per
//! architecture (disk-cached), loaded per device, launched on the rank's stream.
//!
//! ABI (fixed, mirrored by the .cu file):
//! `cb_fill(out, count, start_index, seed, rank, nranks, dtype, op)` writes
//! `out[i] = input(rank)[start_index + i]` for `i < count`;
//! `cb_verify(out, dst_offset, len, kind, src_rank, src_offset, seed, nranks, dtype, op,
//! wrong_count, first_wrong_index)` checks `out[dst_offset + j]` for `j < len` against a copy
//! (kind 0) of `input(src_rank)[src_offset + j]`, the reduction (kind 1) over all ranks, or, for
//! kind 2 (`Segment::Untouched`), the poison bit pattern passed in `src_offset`, adding to
//! `*wrong_count` and atomically lowering `*first_wrong_index`. Both use grid-stride loops.

use super::buffer::DeviceRegion;
use super::device::GpuDevice;
use super::{cuda_error, kernel_cache, nvrtc};
use crate::error::{CollbenchError, Result};
use cudarc::driver::{CudaFunction, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::Ptx;

const THREADS_PER_BLOCK: u32 = 256;

/// Where a device's kernels came from (for the header / diagnostics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelOrigin {
    /// Read from the disk cache.
    Cache(String),
    /// Compiled by NVRTC now (and stored when the cache was writable).
    Compiled { nvrtc: String },
}

pub struct ValidationKernels {
    fill: CudaFunction,
    verify: CudaFunction,
    max_blocks: u32,
    pub origin: KernelOrigin,
}

/// Which reference `cb_verify` compares with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyKind {
    Copy = 0,
    Reduce = 1,
    /// Every element must equal the bit pattern passed as `src_offset` (the poison).
    Untouched = 2,
}

/// Generator parameters as the kernels take them.
#[derive(Clone, Copy, Debug)]
pub struct KernelParams {
    pub seed: u64,
    pub nranks: i32,
    /// `DataType::nccl_enum()`.
    pub dtype: i32,
    /// Index in `ReduceOp::ALL`, or -1 for no operator.
    pub op: i32,
}

impl ValidationKernels {
    /// Loads `source` for `device`'s architecture, from the cache or by compiling it.
    pub fn load(device: &GpuDevice, source: &str) -> Result<ValidationKernels> {
        let arch = device.arch();
        let dir = kernel_cache::default_dir();
        let nvrtc_version = nvrtc::version_string();
        let cached_file = match &nvrtc_version {
            Ok(version) => kernel_cache::cache_file_name(source, &arch, version, "cubin"),
            Err(_) => String::new(),
        };
        let (image, origin, file) = match (&nvrtc_version, kernel_cache::read(&dir, &cached_file)) {
            (Ok(_), Some(bytes)) => {
                let origin = KernelOrigin::Cache(dir.join(&cached_file).display().to_string());
                (bytes, origin, cached_file)
            }
            (Ok(version), None) => {
                let (bytes, _) = nvrtc::compile(source, &arch, "collbench.cu")?;
                let _ = kernel_cache::write(&dir, &cached_file, &bytes);
                (bytes, KernelOrigin::Compiled { nvrtc: version.clone() }, cached_file)
            }
            // No NVRTC here: a build cached by any NVRTC for this source and arch still works.
            (Err(no_nvrtc), _) => match kernel_cache::find_any_version(&dir, source, &arch, "cubin") {
                Some((name, bytes)) => {
                    let origin = KernelOrigin::Cache(dir.join(&name).display().to_string());
                    (bytes, origin, name)
                }
                None => {
                    return Err(CollbenchError::Cuda(format!(
                        "{no_nvrtc}\n(the validation kernels are compiled at run time; with no NVRTC \
                         on this node, run once where NVRTC exists with COLLBENCH_KERNEL_CACHE on a \
                         shared folder, or pass -c 0 to skip validation)"
                    )))
                }
            },
        };
        let module = match device.ctx.load_module(Ptx::from_binary(image)) {
            Ok(m) => m,
            Err(e) => {
                if let KernelOrigin::Cache(_) = origin {
                    kernel_cache::remove(&dir, &file);
                }
                return Err(cuda_error(
                    format!(
                        "loading the validation kernels ({arch}, {origin:?}) on GPU {}",
                        device.ordinal
                    ),
                    e,
                ));
            }
        };
        let function = |name: &str| {
            module
                .load_function(name)
                .map_err(|e| cuda_error(format!("kernel {name} in kernels/collbench.cu"), e))
        };
        Ok(ValidationKernels {
            fill: function("cb_fill")?,
            verify: function("cb_verify")?,
            max_blocks: device.multiprocessors * 16,
            origin,
        })
    }

    fn config(&self, elements: u64) -> LaunchConfig {
        let blocks = elements
            .div_ceil(THREADS_PER_BLOCK as u64)
            .clamp(1, self.max_blocks as u64);
        LaunchConfig {
            grid_dim: (blocks as u32, 1, 1),
            block_dim: (THREADS_PER_BLOCK, 1, 1),
            shared_mem_bytes: 0,
        }
    }

    /// `out[i] = input(rank)[start_index + i]` for `i < count` (out must hold count elements).
    pub fn fill(
        &self,
        device: &GpuDevice,
        out: DeviceRegion<'_>,
        count: u64,
        start_index: u64,
        rank: i32,
        params: KernelParams,
    ) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        let out_ptr = out.ptr;
        let mut launch = device.stream.launch_builder(&self.fill);
        launch
            .arg(&out_ptr)
            .arg(&count)
            .arg(&start_index)
            .arg(&params.seed)
            .arg(&rank)
            .arg(&params.nranks)
            .arg(&params.dtype)
            .arg(&params.op);
        // SAFETY: argument list matches cb_fill's signature; `out` is a checked region.
        unsafe { launch.launch(self.config(count)) }
            .map(|_| ())
            .map_err(|e| cuda_error("launching cb_fill", e))
    }

    /// Adds the wrong elements of `out[dst_offset .. dst_offset + len]` to `counters[0]` and lowers
    /// `counters[1]` to the first wrong index. `counters` is two u64s.
    #[allow(clippy::too_many_arguments)]
    pub fn verify(
        &self,
        device: &GpuDevice,
        out: DeviceRegion<'_>,
        dst_offset: u64,
        len: u64,
        kind: VerifyKind,
        src_rank: i32,
        src_offset: u64,
        params: KernelParams,
        counters: DeviceRegion<'_>,
    ) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        if counters.bytes < 16 {
            return Err(CollbenchError::Cuda(
                "internal: verify counters need 16 bytes".into(),
            ));
        }
        let out_ptr = out.ptr;
        let wrong_ptr = counters.ptr;
        let first_ptr = counters.ptr + 8;
        let kind = kind as i32;
        let mut launch = device.stream.launch_builder(&self.verify);
        launch
            .arg(&out_ptr)
            .arg(&dst_offset)
            .arg(&len)
            .arg(&kind)
            .arg(&src_rank)
            .arg(&src_offset)
            .arg(&params.seed)
            .arg(&params.nranks)
            .arg(&params.dtype)
            .arg(&params.op)
            .arg(&wrong_ptr)
            .arg(&first_ptr);
        // SAFETY: argument list matches cb_verify's signature; regions are checked.
        unsafe { launch.launch(self.config(len)) }
            .map(|_| ())
            .map_err(|e| cuda_error("launching cb_verify", e))
    }
}

#[cfg(test)]
mod tests {
    use super::VerifyKind;
    use crate::data::kernels::{VERIFY_KIND_COPY, VERIFY_KIND_REDUCE, VERIFY_KIND_UNTOUCHED};

    #[test]
    fn verify_kinds_are_the_kernel_abi_numbers() {
        assert_eq!(VerifyKind::Copy as i32, VERIFY_KIND_COPY);
        assert_eq!(VerifyKind::Reduce as i32, VERIFY_KIND_REDUCE);
        assert_eq!(VerifyKind::Untouched as i32, VERIFY_KIND_UNTOUCHED);
    }
}
