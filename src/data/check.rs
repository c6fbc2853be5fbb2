//! Filling inputs and counting wrong output elements on the host. `kernels/collbench.cu` (`cb_fill`,
//! `cb_verify`, `cb_within_avg_tolerance`) does the same on the GPU.

use super::formats::{bits_to_f64, float_format, format_bits};
use super::scheme::Scheme;
use super::{CheckOutcome, GenParams, WrongElement};
use crate::collectives::Segment;
use crate::types::{DataType, ReduceOp};

/// Float `avg` results may differ from the exact quotient T/n by this many units of the type's
/// epsilon, relative to the quotient (plus as many smallest subnormals). Libraries compute the average
/// either as sum/n (exact sum, one rounding) or by pre-multiplying each input by a rounded 1/n and
/// summing (NCCL's `PreMulSum` for floats): with at most K = 4 non-zero, non-negative terms that is at
/// most K+2 roundings of at most half an epsilon each, so 8 epsilons bound every order with margin.
/// For fp8 this is a coarse bound (e5m2's epsilon is 0.25): that is the type's precision, not slack.
/// Every other (dtype, op) result is checked bit for bit.
pub const AVG_FLOAT_TOLERANCE_ULPS: f64 = 8.0;

/// Whether `got` is an acceptable float average of exact value `quotient` for `dtype`.
pub fn within_avg_tolerance(dtype: DataType, got_bits: u64, quotient: f64) -> bool {
    match float_format(dtype) {
        Some(fmt) => {
            let got = bits_to_f64(fmt, got_bits);
            let tolerance = AVG_FLOAT_TOLERANCE_ULPS * (fmt.epsilon() * quotient.abs() + fmt.min_subnormal());
            // Written so that NaN fails.
            (got - quotient).abs() <= tolerance
        }
        None => false,
    }
}

/// Where an expected element comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementSource {
    /// Element `index` of `src_rank`'s input.
    Copy { src_rank: usize },
    /// The reduction over all ranks of element `index` of their inputs.
    Reduce,
}

/// Bit pattern an output element must hold. For float `avg` this is the correctly rounded quotient;
/// results within [`AVG_FLOAT_TOLERANCE_ULPS`] of it are also accepted by [`check_output`].
pub fn expected_bits(p: &GenParams, source: ElementSource, index: usize) -> u64 {
    let scheme = Scheme::new(p);
    match source {
        ElementSource::Copy { src_rank } => scheme.input_bits(src_rank, index as u64),
        ElementSource::Reduce => scheme.expected_reduce(index as u64).0,
    }
}

/// One element of `rank`'s input.
pub fn input_bits(p: &GenParams, rank: usize, index: usize) -> u64 {
    Scheme::new(p).input_bits(rank, index as u64)
}

/// Writes elements `start_index..start_index + out.len() / elt_size` of `rank`'s input, little-endian.
/// A trailing partial element (a length not a multiple of the element size) is left untouched.
pub fn fill_input(p: &GenParams, rank: usize, start_index: usize, out: &mut [u8]) {
    let scheme = Scheme::new(p);
    let rank_key = scheme.rank_key(rank);
    let start = start_index as u64;
    // One loop per element width so the compiler sees fixed-size stores.
    match p.dtype.size_bytes() {
        1 => {
            for (i, b) in out.iter_mut().enumerate() {
                *b = scheme.input_bits_keyed(rank, rank_key, start + i as u64) as u8;
            }
        }
        2 => {
            for (i, c) in out.chunks_exact_mut(2).enumerate() {
                let v = scheme.input_bits_keyed(rank, rank_key, start + i as u64) as u16;
                c.copy_from_slice(&v.to_le_bytes());
            }
        }
        4 => {
            for (i, c) in out.chunks_exact_mut(4).enumerate() {
                let v = scheme.input_bits_keyed(rank, rank_key, start + i as u64) as u32;
                c.copy_from_slice(&v.to_le_bytes());
            }
        }
        _ => {
            for (i, c) in out.chunks_exact_mut(8).enumerate() {
                let v = scheme.input_bits_keyed(rank, rank_key, start + i as u64);
                c.copy_from_slice(&v.to_le_bytes());
            }
        }
    }
}

/// Element `index` of a little-endian buffer of `elt_size`-byte elements, if it is inside the buffer.
#[inline(always)]
fn read_element(output: &[u8], elt_size: usize, index: usize) -> Option<u64> {
    let bytes = output.get(index.checked_mul(elt_size)?..(index + 1).checked_mul(elt_size)?)?;
    let mut padded = [0u8; 8];
    padded[..elt_size].copy_from_slice(bytes);
    Some(u64::from_le_bytes(padded))
}

/// A bit pattern that is certainly wrong where `bits` was expected (for the corruption test hook):
/// integers flip the lowest bit, floats the top exponent bit (a change of at least 2^8 in magnitude,
/// far outside the avg tolerance; zero becomes a large value).
pub fn corrupt_bits(dtype: DataType, bits: u64) -> u64 {
    match float_format(dtype) {
        Some(fmt) => bits ^ (1u64 << (fmt.exp_bits + fmt.man_bits - 1)),
        None => bits ^ 1,
    }
}

/// Counts the wrong elements of `rank`'s `output` (its receive buffer, as the collective's
/// [`Segment`]s describe it) and records the lowest-index wrong element. Elements no segment covers are
/// not checked; segment elements beyond the end of `output` count as wrong (a size mismatch between a
/// collective and a backend must never pass silently). Cost: O(elements × K), never O(× nranks).
pub fn check_output(p: &GenParams, rank: usize, segments: &[Segment], output: &[u8]) -> CheckOutcome {
    let scheme = Scheme::new(p);
    let elt_size = p.dtype.size_bytes();
    let float_avg = p.op == Some(ReduceOp::Avg) && p.dtype.is_float();
    let mut wrong = 0u64;
    let mut first: Option<(usize, u64, Option<u64>)> = None;
    let mut record = |index: usize, expected: u64, got: Option<u64>, wrong: &mut u64| {
        *wrong += 1;
        if first.is_none_or(|(i, _, _)| index < i) {
            first = Some((index, expected, got));
        }
    };
    for segment in segments {
        match *segment {
            Segment::Copy { dst_offset, len, src_rank, src_offset } => {
                let rank_key = scheme.rank_key(src_rank);
                for j in 0..len {
                    let expected = scheme.input_bits_keyed(src_rank, rank_key, (src_offset + j) as u64);
                    let got = read_element(output, elt_size, dst_offset + j);
                    if got != Some(expected) {
                        record(dst_offset + j, expected, got, &mut wrong);
                    }
                }
            }
            Segment::Reduce { dst_offset, len, src_offset } => {
                for j in 0..len {
                    let (expected, quotient) = scheme.expected_reduce((src_offset + j) as u64);
                    let got = read_element(output, elt_size, dst_offset + j);
                    let ok = match got {
                        Some(bits) if float_avg => within_avg_tolerance(p.dtype, bits, quotient),
                        Some(bits) => bits == expected,
                        None => false,
                    };
                    if !ok {
                        record(dst_offset + j, expected, got, &mut wrong);
                    }
                }
            }
        }
    }
    CheckOutcome {
        wrong,
        first: first.map(|(index, expected, got)| WrongElement {
            rank,
            index,
            expected: format_bits(p.dtype, expected),
            got: match got {
                Some(bits) => format_bits(p.dtype, bits),
                None => "(beyond the end of the output buffer)".to_string(),
            },
        }),
    }
}
