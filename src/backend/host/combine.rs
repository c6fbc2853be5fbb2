//! The reduction step of the user-defined MPI operators, `inout[i] = input[i] op inout[i]`, at
//! memory speed. MPI calls it on every block it reduces, so it is the host backend's own
//! arithmetic inside the timed loop of half, bfloat16, fp8 and 8-bit integer reductions.
//!
//! Every result equals [`combine_each`]'s, the one-element-at-a-time definition:
//! - half and bfloat16 are decoded to f32 a block at a time (half with the CPU's conversion
//!   instructions where it has them), combined there and rounded once to nearest-even. A sum or
//!   product of two such values rounded in f32 and then to the 16-bit format equals the exactly
//!   rounded result: f32 carries at least 2p + 2 bits for their p-bit significands, where double
//!   rounding is known to be harmless. Min and max compare in f32 (exact) and keep the chosen
//!   input's bits.
//! - fp8 has 256 × 256 pairs: each (format, operator) is a 64 KiB table built once by
//!   [`combine_each`].
//! - Everything else is [`combine_each`], whose loops the compiler vectorises.

use super::elementwise::{combine_each, WireOp};
use crate::types::DataType;
use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};
use half::{bf16, f16};
use std::sync::OnceLock;

/// `inout[i] = input[i] op inout[i]` for every whole element both buffers hold.
pub fn combine(dtype: DataType, op: WireOp, input: &[u8], inout: &mut [u8]) {
    match dtype {
        DataType::Half => combine_in_f32::<f16>(op, input, inout),
        DataType::Bfloat16 => combine_in_f32::<bf16>(op, input, inout),
        DataType::Fp8E4M3 | DataType::Fp8E5M2 => combine_by_table(dtype, op, input, inout),
        _ => combine_each(dtype, op, input, inout),
    }
}

/// Elements per block: small enough for the stack, large enough for the conversions' vectors.
const BLOCK: usize = 512;

/// A 16-bit float format that converts whole slices to and from f32.
trait Half16: Copy + Default {
    fn to_f32_block(bits: &[u16], out: &mut [f32]);
    fn from_f32_block(values: &[f32], bits: &mut [u16]);
}

macro_rules! half16 {
    ($t:ty) => {
        impl Half16 for $t {
            fn to_f32_block(bits: &[u16], out: &mut [f32]) {
                bits.reinterpret_cast::<$t>().convert_to_f32_slice(out);
            }
            fn from_f32_block(values: &[f32], bits: &mut [u16]) {
                bits.reinterpret_cast_mut::<$t>()
                    .convert_from_f32_slice(values);
            }
        }
    };
}

half16!(f16);
half16!(bf16);

/// Little-endian 16-bit words of `bytes` (a whole number of them) into `words`.
fn read_words(bytes: &[u8], words: &mut [u16]) {
    for (word, pair) in words.iter_mut().zip(bytes.chunks_exact(2)) {
        *word = u16::from_le_bytes([pair[0], pair[1]]);
    }
}

fn write_words(words: &[u16], bytes: &mut [u8]) {
    for (word, pair) in words.iter().zip(bytes.chunks_exact_mut(2)) {
        pair.copy_from_slice(&word.to_le_bytes());
    }
}

fn combine_in_f32<T: Half16>(op: WireOp, input: &[u8], inout: &mut [u8]) {
    let elements = input.len().min(inout.len()) / 2;
    let (input, inout) = (&input[..elements * 2], &mut inout[..elements * 2]);
    let (mut a_bits, mut b_bits) = ([0u16; BLOCK], [0u16; BLOCK]);
    let (mut a, mut b) = ([0f32; BLOCK], [0f32; BLOCK]);
    for (in_block, inout_block) in input.chunks(2 * BLOCK).zip(inout.chunks_mut(2 * BLOCK)) {
        let n = in_block.len() / 2;
        let (a_bits, b_bits, a, b) = (&mut a_bits[..n], &mut b_bits[..n], &mut a[..n], &mut b[..n]);
        read_words(in_block, a_bits);
        read_words(inout_block, b_bits);
        T::to_f32_block(a_bits, a);
        T::to_f32_block(b_bits, b);
        match op {
            WireOp::Sum => {
                b.iter_mut().zip(a.iter()).for_each(|(b, a)| *b += *a);
                T::from_f32_block(b, b_bits);
            }
            WireOp::Prod => {
                b.iter_mut().zip(a.iter()).for_each(|(b, a)| *b *= *a);
                T::from_f32_block(b, b_bits);
            }
            // As the element functions: the output's value when it orders strictly before the
            // input's, else the input's (so NaN and equal zeros keep the input's bits).
            WireOp::Min => keep_where(b_bits, a_bits, a, b, |a, b| b < a),
            WireOp::Max => keep_where(b_bits, a_bits, a, b, |a, b| b > a),
        }
        write_words(b_bits, inout_block);
    }
}

/// `b_bits[i]` stays where `keep_output(a[i], b[i])`, else becomes `a_bits[i]`.
#[inline(always)]
fn keep_where(
    b_bits: &mut [u16],
    a_bits: &[u16],
    a: &[f32],
    b: &[f32],
    keep_output: impl Fn(f32, f32) -> bool,
) {
    for (((out, &input), &a), &b) in b_bits.iter_mut().zip(a_bits).zip(a).zip(b) {
        if !keep_output(a, b) {
            *out = input;
        }
    }
}

/// One table per (fp8 format, operator), indexed by `input << 8 | inout`.
type PairTable = [u8; 1 << 16];

fn pair_table(dtype: DataType, op: WireOp) -> &'static PairTable {
    static TABLES: [[OnceLock<Box<PairTable>>; 4]; 2] =
        [const { [const { OnceLock::new() }; 4] }; 2];
    let format = usize::from(dtype == DataType::Fp8E5M2);
    TABLES[format][op as usize].get_or_init(|| {
        let input: Vec<u8> = (0..1usize << 16).map(|i| (i >> 8) as u8).collect();
        let mut table: Box<PairTable> = Box::new([0; 1 << 16]);
        for (i, out) in table.iter_mut().enumerate() {
            *out = i as u8;
        }
        combine_each(dtype, op, &input, &mut table[..]);
        table
    })
}

fn combine_by_table(dtype: DataType, op: WireOp, input: &[u8], inout: &mut [u8]) {
    let table = pair_table(dtype, op);
    for (a, b) in input.iter().zip(inout.iter_mut()) {
        *b = table[usize::from(*a) << 8 | usize::from(*b)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generator of test bytes (splitmix64), so failures reproduce.
    fn bytes(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                (z ^ (z >> 31)) as u8
            })
            .collect()
    }

    /// Both functions on the same buffers: the same bits, NaNs aside (any NaN is one NaN).
    fn assert_same_as_each(dtype: DataType, op: WireOp, input: &[u8], inout: &[u8]) {
        let mut fast = inout.to_vec();
        let mut each = inout.to_vec();
        combine(dtype, op, input, &mut fast);
        combine_each(dtype, op, input, &mut each);
        let nan = |w: u16| match dtype {
            DataType::Half => f16::from_bits(w).is_nan(),
            _ => bf16::from_bits(w).is_nan(),
        };
        for (i, (f, e)) in fast.chunks_exact(2).zip(each.chunks_exact(2)).enumerate() {
            let (f, e) = (
                u16::from_le_bytes([f[0], f[1]]),
                u16::from_le_bytes([e[0], e[1]]),
            );
            assert!(
                f == e || (nan(f) && nan(e)),
                "{dtype:?} {op:?} element {i}: input {:#06x} inout {:#06x}: block {f:#06x}, \
                 element by element {e:#06x}",
                u16::from_le_bytes([input[2 * i], input[2 * i + 1]]),
                u16::from_le_bytes([inout[2 * i], inout[2 * i + 1]]),
            );
        }
    }

    #[test]
    fn half_and_bfloat16_blocks_equal_the_element_definition_on_every_input_against_samples() {
        // Every 16-bit pattern as the input, against 16 random outputs each (and the reverse),
        // plus random pairs: ties, subnormals, overflow to infinity, zeros of both signs.
        let every: Vec<u8> = (0..=u16::MAX).flat_map(|w| w.to_le_bytes()).collect();
        for dtype in [DataType::Half, DataType::Bfloat16] {
            for op in WireOp::ALL {
                for seed in 0..16 {
                    let other = bytes(every.len(), seed);
                    assert_same_as_each(dtype, op, &every, &other);
                    assert_same_as_each(dtype, op, &other, &every);
                }
            }
        }
    }

    #[test]
    fn half_and_bfloat16_blocks_equal_the_element_definition_on_every_pair_of_special_values() {
        // Zeros of both signs, the smallest subnormals, the largest finite values, infinities,
        // NaNs, one and the smallest normal, each format's bits.
        let specials: [(DataType, [u16; 14]); 2] = [
            (
                DataType::Half,
                [
                    0x0000, 0x8000, 0x0001, 0x8001, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0xfe01,
                    0x3c00, 0xbc00, 0x0400, 0x8400,
                ],
            ),
            (
                DataType::Bfloat16,
                [
                    0x0000, 0x8000, 0x0001, 0x8001, 0x7f7f, 0xff7f, 0x7f80, 0xff80, 0x7fc0, 0xffc1,
                    0x3f80, 0xbf80, 0x0080, 0x8080,
                ],
            ),
        ];
        for (dtype, values) in specials {
            let (mut input, mut inout) = (Vec::new(), Vec::new());
            for a in values {
                for b in values {
                    input.extend(a.to_le_bytes());
                    inout.extend(b.to_le_bytes());
                }
            }
            for op in WireOp::ALL {
                assert_same_as_each(dtype, op, &input, &inout);
            }
        }
    }

    /// Every one of the 2^32 pairs of each format, for every operator (4-5 minutes in a
    /// release build: `cargo test --release --lib combine -- --ignored`).
    #[test]
    #[ignore = "minutes: every pair of 16-bit values"]
    fn half_and_bfloat16_blocks_equal_the_element_definition_on_every_pair() {
        let every: Vec<u8> = (0..=u16::MAX).flat_map(|w| w.to_le_bytes()).collect();
        for dtype in [DataType::Half, DataType::Bfloat16] {
            for op in WireOp::ALL {
                for b in 0..=u16::MAX {
                    let inout: Vec<u8> = std::iter::repeat_n(b.to_le_bytes(), 1 << 16)
                        .flatten()
                        .collect();
                    assert_same_as_each(dtype, op, &every, &inout);
                }
            }
        }
    }

    #[test]
    fn a_length_that_is_not_a_whole_number_of_blocks_or_elements_is_combined_to_its_last_element() {
        let input = bytes(2 * BLOCK * 3 + 7, 1);
        let inout = bytes(2 * BLOCK * 3 + 5, 2);
        for dtype in [DataType::Half, DataType::Bfloat16] {
            assert_same_as_each(dtype, WireOp::Sum, &input, &inout);
            let mut out = inout.clone();
            combine(dtype, WireOp::Sum, &input, &mut out);
            assert_eq!(out.last(), inout.last(), "the odd byte is no element");
        }
    }

    #[test]
    fn fp8_tables_equal_the_element_definition_on_every_pair() {
        let input: Vec<u8> = (0..1usize << 16).map(|i| (i >> 8) as u8).collect();
        let inout: Vec<u8> = (0..1usize << 16).map(|i| i as u8).collect();
        for dtype in [DataType::Fp8E4M3, DataType::Fp8E5M2] {
            for op in WireOp::ALL {
                let mut fast = inout.clone();
                let mut each = inout.clone();
                combine(dtype, op, &input, &mut fast);
                combine_each(dtype, op, &input, &mut each);
                assert_eq!(fast, each, "{dtype:?} {op:?}");
            }
        }
    }

    #[test]
    fn half_sum_rounds_a_tie_to_even_and_overflows_to_infinity() {
        let words = |v: &[f32]| -> Vec<u8> {
            v.iter()
                .flat_map(|&x| f16::from_f32(x).to_le_bytes())
                .collect()
        };
        // 2048 + 1 is a tie (spacing 2 above 2048): even, 2048; 2050 + 1: even, 2052.
        let mut inout = words(&[2048.0, 2050.0, 65504.0]);
        combine(
            DataType::Half,
            WireOp::Sum,
            &words(&[1.0, 1.0, 16.0]),
            &mut inout,
        );
        assert_eq!(inout, words(&[2048.0, 2052.0, f32::INFINITY]));
    }
}
