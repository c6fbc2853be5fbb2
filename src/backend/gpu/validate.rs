//! Validation on the device: inputs filled by `cb_fill`, outputs poisoned then checked by
//! `cb_verify` against expected values computed on the GPU; only the wrong count and the first
//! wrong index come back, and that one element is read and formatted on the host.

use super::launch::SlotLayout;
use super::LocalRank;
use crate::backend::cuda::buffer::{DeviceBuffer, DeviceRegion};
use crate::backend::cuda::kernels::{KernelParams, ValidationKernels, VerifyKind};
use crate::collectives::Segment;
use crate::data::{self, CheckOutcome, ElementSource, GenParams, WrongElement};
use crate::error::{CollbenchError, Result};
use crate::types::{DataType, ReduceOp};

/// Byte written over every output before an operation: the host backend's too, so that
/// [`Segment::Untouched`] means the same on both (see [`data::POISON_BYTE`]).
pub use crate::data::POISON_BYTE;

pub fn kernel_params(p: &GenParams) -> KernelParams {
    KernelParams {
        seed: p.seed,
        nranks: p.nranks as i32,
        dtype: data::kernels::dtype_code(p.dtype),
        op: data::kernels::op_code(p.op),
    }
}

fn kernels(rank: &LocalRank) -> Result<&ValidationKernels> {
    rank.kernels
        .as_deref()
        .ok_or_else(|| CollbenchError::Cuda("internal: validation kernels were not loaded".into()))
}

/// Poisons the rank's whole receive slot 0 and writes its input (for in-place runs, inside the
/// receive buffer at nccl-tests' offset).
pub fn prepare(
    rank: &LocalRank,
    layout: &SlotLayout,
    send: &DeviceBuffer,
    recv: &DeviceBuffer,
    p: &GenParams,
) -> Result<()> {
    let kernels = kernels(rank)?;
    // With `-g` > 1 one thread drives several GPUs: the raw memset below runs in this rank's
    // context, not whichever GPU was bound last.
    rank.device.bind()?;
    let stream = &rank.device.stream;
    let span = layout.stride.max(layout.recv_bytes);
    recv.region(layout.unalign_bytes, span)?
        .memset_async(POISON_BYTE, stream)?;
    let input = layout.input(send, recv)?;
    let count = (layout.send_bytes / p.dtype.size_bytes()) as u64;
    kernels.fill(
        &rank.device,
        input,
        count,
        0,
        rank.global_rank as i32,
        kernel_params(p),
    )?;
    rank.device.synchronize()
}

/// Counts the rank's wrong output elements for `segments` (offsets relative to its output).
pub fn check(
    rank: &LocalRank,
    layout: &SlotLayout,
    recv: &DeviceBuffer,
    counters: &DeviceBuffer,
    segments: &[Segment],
    p: &GenParams,
) -> Result<CheckOutcome> {
    let kernels = kernels(rank)?;
    rank.device.bind()?;
    let stream = &rank.device.stream;
    let output = layout.output(recv)?;
    let elt = p.dtype.size_bytes() as u64;
    let counter_region = counters.region(0, 16)?;
    let init: Vec<u8> = [0u64, u64::MAX]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    counter_region.copy_from_host(&init, stream)?;
    let params = kernel_params(p);
    for segment in segments {
        let (dst_offset, len, kind, src_rank, src_offset) =
            data::kernels::verify_args(segment, p.dtype);
        let end = (dst_offset + len) * elt;
        if end > output.bytes as u64 {
            return Err(CollbenchError::Cuda(format!(
                "internal: segment {segment:?} reaches byte {end} of a {}-byte output",
                output.bytes
            )));
        }
        let kind = match kind {
            data::kernels::VERIFY_KIND_REDUCE => VerifyKind::Reduce,
            data::kernels::VERIFY_KIND_UNTOUCHED => VerifyKind::Untouched,
            _ => VerifyKind::Copy,
        };
        kernels.verify(
            &rank.device,
            output,
            dst_offset,
            len,
            kind,
            src_rank,
            src_offset,
            params,
            counter_region,
        )?;
    }
    let mut back = [0u8; 16];
    counter_region.copy_to_host(&mut back, stream)?;
    let wrong = u64::from_le_bytes(back[..8].try_into().unwrap_or([0; 8]));
    let first_index = u64::from_le_bytes(back[8..].try_into().unwrap_or([0; 8]));
    if wrong == 0 {
        return Ok(CheckOutcome {
            wrong: 0,
            first: None,
        });
    }
    let first = describe_element(
        rank.global_rank,
        output,
        first_index as usize,
        segments,
        p,
        stream,
    )
    .ok();
    Ok(CheckOutcome { wrong, first })
}

/// Reads output element `index` and the value it should hold.
fn describe_element(
    global_rank: usize,
    output: DeviceRegion<'_>,
    index: usize,
    segments: &[Segment],
    p: &GenParams,
    stream: &cudarc::driver::CudaStream,
) -> Result<WrongElement> {
    let got = read_bits(output, index, p.dtype, stream)?;
    let expected = segments.iter().find_map(|s| match *s {
        Segment::Copy {
            dst_offset,
            len,
            src_rank,
            src_offset,
        } if (dst_offset..dst_offset + len).contains(&index) => Some(data::expected_bits(
            p,
            ElementSource::Copy { src_rank },
            src_offset + index - dst_offset,
        )),
        Segment::Reduce {
            dst_offset,
            len,
            src_offset,
        } if (dst_offset..dst_offset + len).contains(&index) => Some(data::expected_bits(
            p,
            ElementSource::Reduce,
            src_offset + index - dst_offset,
        )),
        Segment::Untouched { dst_offset, len }
            if (dst_offset..dst_offset + len).contains(&index) =>
        {
            Some(data::poison_bits(p.dtype))
        }
        _ => None,
    });
    Ok(WrongElement {
        rank: global_rank,
        index,
        expected: expected
            .map(|b| data::format_bits(p.dtype, b))
            .unwrap_or_else(|| "?".into()),
        got: data::format_bits(p.dtype, got),
    })
}

fn read_bits(
    region: DeviceRegion<'_>,
    index: usize,
    dtype: DataType,
    stream: &cudarc::driver::CudaStream,
) -> Result<u64> {
    let elt = dtype.size_bytes();
    let mut bytes = [0u8; 8];
    region
        .sub(index * elt, elt)?
        .copy_to_host(&mut bytes[..elt], stream)?;
    Ok(u64::from_le_bytes(bytes))
}

/// Overwrites output element `index` with a value that is certainly wrong (test hook). Returns
/// false when the output has no such element at this size.
pub fn corrupt(
    rank: &LocalRank,
    layout: &SlotLayout,
    recv: &DeviceBuffer,
    index: usize,
    dtype: DataType,
) -> Result<bool> {
    let output = layout.output(recv)?;
    let elt = dtype.size_bytes();
    if (index + 1) * elt > output.bytes {
        return Ok(false);
    }
    let stream = &rank.device.stream;
    let bits = data::corrupt_bits(dtype, read_bits(output, index, dtype, stream)?);
    output
        .sub(index * elt, elt)?
        .copy_from_host(&bits.to_le_bytes()[..elt], stream)?;
    Ok(true)
}

/// The host bytes of the `mulsum` pre-multiplier for `rank` (what ncclRedOpCreatePreMulSum reads).
pub fn mulsum_scalar_bytes(rank: usize, nranks: usize, dtype: DataType) -> Vec<u8> {
    let bits = data::mulsum_scalar(rank, nranks, dtype);
    bits.to_le_bytes()[..dtype.size_bytes()].to_vec()
}

/// One line of the device self-test.
#[derive(Clone, Debug, PartialEq)]
pub struct SelfTestLine {
    pub dtype: DataType,
    pub op: Option<ReduceOp>,
    pub elements: usize,
    pub mismatches: usize,
    pub first_mismatch: Option<usize>,
}

/// Fills `elements` inputs of `rank` on the GPU and on the host for every dtype (and every
/// operator's value range) and compares the bytes.
pub fn selftest_fill(
    rank: &LocalRank,
    elements: usize,
    seed: u64,
    nranks: usize,
) -> Result<Vec<SelfTestLine>> {
    let kernels = kernels(rank)?;
    let stream = &rank.device.stream;
    let buffer = DeviceBuffer::alloc(&rank.device.ctx, elements * 8, None)?;
    let mut lines = Vec::new();
    let mut ops: Vec<Option<ReduceOp>> = vec![None];
    ops.extend(ReduceOp::ALL.iter().map(|o| Some(*o)));
    for dtype in DataType::ALL {
        for &op in &ops {
            let p = GenParams {
                seed,
                nranks,
                dtype,
                op,
            };
            let bytes = elements * dtype.size_bytes();
            let region = buffer.region(0, bytes)?;
            region.memset_async(POISON_BYTE, stream)?;
            // An odd start index proves the kernel uses it.
            let start = 12_345usize;
            kernels.fill(
                &rank.device,
                region,
                elements as u64,
                start as u64,
                rank.global_rank as i32,
                kernel_params(&p),
            )?;
            let mut gpu = vec![0u8; bytes];
            region.copy_to_host(&mut gpu, stream)?;
            let mut host = vec![0u8; bytes];
            data::fill_input(&p, rank.global_rank, start, &mut host);
            let elt = dtype.size_bytes();
            let mismatched: Vec<usize> = (0..elements)
                .filter(|&i| gpu[i * elt..(i + 1) * elt] != host[i * elt..(i + 1) * elt])
                .collect();
            lines.push(SelfTestLine {
                dtype,
                op,
                elements,
                mismatches: mismatched.len(),
                first_mismatch: mismatched.first().copied(),
            });
        }
    }
    Ok(lines)
}
