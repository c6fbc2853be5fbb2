//! The CUDA source of the fill and verify kernels, compiled at run time by NVRTC, and the integer
//! encodings of their `dtype` and `op` arguments. The kernels mirror `scheme/mod.rs`, `formats.rs`,
//! `hash.rs` and `check.rs` function by function.
//!
//! ABI (stable; the GPU backend launches these):
//! ```text
//! extern "C" __global__ void cb_fill(void* out, unsigned long long count,
//!     unsigned long long start_index, unsigned long long seed, int rank, int nranks, int dtype, int op);
//! extern "C" __global__ void cb_verify(const void* out, unsigned long long dst_offset,
//!     unsigned long long len, int kind /*0 = Copy, 1 = Reduce, 2 = Untouched*/, int src_rank,
//!     unsigned long long src_offset, unsigned long long seed, int nranks, int dtype, int op,
//!     unsigned long long* wrong_count, unsigned long long* first_wrong_index);
//! ```
//! `out` of `cb_verify` is the start of the rank's output buffer; element `dst_offset + j` is compared
//! with the expected element `src_offset + j`, or, for kind 2 (`Segment::Untouched`), with the bit
//! pattern passed in `src_offset` (the poison, [`super::poison_bits`]): the kernel has no poison
//! constant of its own, so host and device cannot disagree on it. `first_wrong_index` is combined with atomicMin, so the
//! host initialises it to `u64::MAX`. Both kernels use grid-stride loops: any grid size works.

use crate::collectives::Segment;
use crate::types::{DataType, ReduceOp};

/// `kernels/collbench.cu`, embedded at build time.
pub const KERNEL_SOURCE: &str = include_str!("../../kernels/collbench.cu");

/// Kernel names, as NVRTC must keep them (`extern "C"`).
pub const FILL_KERNEL: &str = "cb_fill";
pub const VERIFY_KERNEL: &str = "cb_verify";

/// `dtype` argument: the `ncclDataType_t` value.
pub fn dtype_code(dtype: DataType) -> i32 {
    dtype.nccl_enum()
}

/// `op` argument: -1 for no reduction, else the position in [`ReduceOp::ALL`] (sum 0, prod 1, max 2,
/// min 3, avg 4, mulsum 5).
pub fn op_code(op: Option<ReduceOp>) -> i32 {
    match op {
        None => -1,
        Some(op) => ReduceOp::ALL
            .iter()
            .position(|o| *o == op)
            .map(|i| i as i32)
            .unwrap_or(-1),
    }
}

/// `kind` argument of `cb_verify`.
pub const VERIFY_KIND_COPY: i32 = 0;
pub const VERIFY_KIND_REDUCE: i32 = 1;
pub const VERIFY_KIND_UNTOUCHED: i32 = 2;

/// The `cb_verify` arguments that describe one segment of a `dtype` output: (dst_offset, len, kind,
/// src_rank, src_offset). For [`Segment::Untouched`], `src_offset` carries the poison bits.
pub fn verify_args(segment: &Segment, dtype: DataType) -> (u64, u64, i32, i32, u64) {
    match *segment {
        Segment::Copy {
            dst_offset,
            len,
            src_rank,
            src_offset,
        } => (
            dst_offset as u64,
            len as u64,
            VERIFY_KIND_COPY,
            src_rank as i32,
            src_offset as u64,
        ),
        Segment::Reduce {
            dst_offset,
            len,
            src_offset,
        } => (
            dst_offset as u64,
            len as u64,
            VERIFY_KIND_REDUCE,
            0,
            src_offset as u64,
        ),
        Segment::Untouched { dst_offset, len } => (
            dst_offset as u64,
            len as u64,
            VERIFY_KIND_UNTOUCHED,
            0,
            super::poison_bits(dtype),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_codes_follow_reduce_op_all() {
        assert_eq!(op_code(None), -1);
        assert_eq!(op_code(Some(ReduceOp::Sum)), 0);
        assert_eq!(op_code(Some(ReduceOp::Prod)), 1);
        assert_eq!(op_code(Some(ReduceOp::Max)), 2);
        assert_eq!(op_code(Some(ReduceOp::Min)), 3);
        assert_eq!(op_code(Some(ReduceOp::Avg)), 4);
        assert_eq!(op_code(Some(ReduceOp::MulSum)), 5);
        assert_eq!(dtype_code(DataType::Fp8E5M2), 11);
    }

    #[test]
    fn untouched_segments_pass_the_poison_of_the_element_type() {
        let segment = Segment::Untouched {
            dst_offset: 7,
            len: 9,
        };
        assert_eq!(
            verify_args(&segment, DataType::Float),
            (7, 9, VERIFY_KIND_UNTOUCHED, 0, 0xFFFF_FFFF)
        );
        assert_eq!(verify_args(&segment, DataType::Int8).4, 0xFF);
        assert_eq!(verify_args(&segment, DataType::Double).4, u64::MAX);
        // The kernel knows the three kinds by these numbers.
        for (name, value) in [
            ("CB_VERIFY_COPY", VERIFY_KIND_COPY),
            ("CB_VERIFY_REDUCE", VERIFY_KIND_REDUCE),
            ("CB_VERIFY_UNTOUCHED", VERIFY_KIND_UNTOUCHED),
        ] {
            assert!(
                KERNEL_SOURCE.contains(&format!("#define {name} {value}\n")),
                "{name} = {value} missing from kernels/collbench.cu"
            );
        }
    }

    #[test]
    fn kernel_source_has_the_abi_and_no_includes() {
        assert!(KERNEL_SOURCE
            .contains("extern \"C\" __global__ void cb_fill(void* out, unsigned long long count"));
        assert!(KERNEL_SOURCE.contains("extern \"C\" __global__ void cb_verify(const void* out"));
        assert!(!KERNEL_SOURCE
            .lines()
            .any(|l| l.trim_start().starts_with("#include")));
    }
}
