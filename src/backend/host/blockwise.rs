//! The host backend's arithmetic at memory speed: the reduction step of the user-defined MPI
//! operators (`inout[i] = input[i] op inout[i]`, which MPI calls on every block it reduces for
//! half, bfloat16, fp8 and 8-bit integers), `mulsum`'s pre-multiplication and `avg`'s division.
//! All three run inside the timed loop.
//!
//! Every result equals [`super::elementwise`]'s, the one-element-at-a-time definition:
//! - half and bfloat16 are decoded to f32 a block at a time (half with the CPU's conversion
//!   instructions where it has them), computed there and rounded once to nearest-even. A sum,
//!   product or quotient (by a rank count up to 2^24, exact in f32) of such values rounded in f32
//!   and then to the 16-bit format equals the exactly rounded result: f32 carries at least 2p + 2
//!   bits for their p-bit significands, where double rounding is known to be harmless. Min and
//!   max compare in f32 (exact) and keep the chosen input's bits.
//! - fp8 has 256 × 256 pairs: each (format, operator) is a 64 KiB table built once from the
//!   definition; scaling or dividing a buffer of at least 256 one-byte elements looks each value
//!   up in a 256-entry table built per call from the definition (a shorter buffer is computed
//!   element by element: building the table would cost more).
//! - Everything else is the definition, whose loops the compiler vectorises.

use super::elementwise::{self, combine_each, WireOp};
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

/// `dst[i] = src[i] × scalar` (scalar given as a bit pattern of `dtype`), rounded once: `mulsum`'s
/// pre-multiplication, out of place.
pub fn scale_into(dtype: DataType, src: &[u8], dst: &mut [u8], scalar_bits: u64) {
    match dtype {
        DataType::Half => {
            let scalar = half_value::<f16>(scalar_bits);
            map_into::<f16>(src, dst, |x| x * scalar)
        }
        DataType::Bfloat16 => {
            let scalar = half_value::<bf16>(scalar_bits);
            map_into::<bf16>(src, dst, |x| x * scalar)
        }
        _ if by_byte_table(dtype, src.len()) => {
            let table = byte_table(|t| elementwise::scale_in_place(dtype, t, scalar_bits));
            for (a, b) in src.iter().zip(dst.iter_mut()) {
                *b = table[usize::from(*a)];
            }
        }
        _ => elementwise::scale_into(dtype, src, dst, scalar_bits),
    }
}

/// `data[i] ×= scalar`: `mulsum`'s pre-multiplication, in place.
pub fn scale_in_place(dtype: DataType, data: &mut [u8], scalar_bits: u64) {
    match dtype {
        DataType::Half => {
            let scalar = half_value::<f16>(scalar_bits);
            map_in_place::<f16>(data, |x| x * scalar)
        }
        DataType::Bfloat16 => {
            let scalar = half_value::<bf16>(scalar_bits);
            map_in_place::<bf16>(data, |x| x * scalar)
        }
        _ if by_byte_table(dtype, data.len()) => {
            let table = byte_table(|t| elementwise::scale_in_place(dtype, t, scalar_bits));
            look_up_in_place(&table, data);
        }
        _ => elementwise::scale_in_place(dtype, data, scalar_bits),
    }
}

/// Rank counts up to this are exact in f32 (the quotient's double-rounding argument needs that).
const EXACT_IN_F32: u64 = 1 << 24;

/// `data[i] /= n`: the `avg` step after the sum (integers divide exactly, floats round once).
pub fn divide_in_place(dtype: DataType, data: &mut [u8], n: u64) {
    match dtype {
        _ if n == 1 => {} // x / 1 is x in every type (a one-process run's average).
        DataType::Half if n <= EXACT_IN_F32 => {
            let n = n as f32;
            map_in_place::<f16>(data, |x| x / n)
        }
        DataType::Bfloat16 if n <= EXACT_IN_F32 => {
            let n = n as f32;
            map_in_place::<bf16>(data, |x| x / n)
        }
        _ if by_byte_table(dtype, data.len()) => {
            let table = byte_table(|t| elementwise::divide_in_place(dtype, t, n));
            look_up_in_place(&table, data);
        }
        _ => elementwise::divide_in_place(dtype, data, n),
    }
}

/// Whether `len` bytes of `dtype` are scaled or divided through a [`byte_table`]: one-byte types
/// with at least as many elements as the table has entries. The table is built per call (inside
/// the timed loop with `mulsum` and `avg`), so a shorter buffer is cheaper element by element.
fn by_byte_table(dtype: DataType, len: usize) -> bool {
    dtype.size_bytes() == 1 && len >= 256
}

/// What `apply` makes of each of the 256 values of a one-byte type, indexed by the value: a
/// lookup per element instead of a round trip through f64 (fp8) or a division.
fn byte_table(apply: impl FnOnce(&mut [u8])) -> [u8; 256] {
    let mut table = std::array::from_fn(|byte| byte as u8);
    apply(&mut table);
    table
}

fn look_up_in_place(table: &[u8; 256], data: &mut [u8]) {
    data.iter_mut().for_each(|b| *b = table[usize::from(*b)]);
}

/// Elements per block: small enough for the stack, large enough for the conversions' vectors.
const BLOCK: usize = 512;

/// A 16-bit float format that converts whole slices to and from f32.
trait Half16 {
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

/// The value of a 16-bit pattern of `T`, exactly.
fn half_value<T: Half16>(bits: u64) -> f32 {
    let mut value = [0f32];
    T::to_f32_block(&[bits as u16], &mut value);
    value[0]
}

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

/// `bits[i] = round(f(value of bits[i]))` through f32.
#[inline(always)]
fn apply_in_f32<T: Half16>(bits: &mut [u16], values: &mut [f32], f: &impl Fn(f32) -> f32) {
    T::to_f32_block(bits, values);
    values.iter_mut().for_each(|v| *v = f(*v));
    T::from_f32_block(values, bits);
}

fn map_into<T: Half16>(src: &[u8], dst: &mut [u8], f: impl Fn(f32) -> f32) {
    let (mut bits, mut values) = ([0u16; BLOCK], [0f32; BLOCK]);
    for (from, to) in src.chunks(2 * BLOCK).zip(dst.chunks_mut(2 * BLOCK)) {
        let n = from.len().min(to.len()) / 2;
        read_words(from, &mut bits[..n]);
        apply_in_f32::<T>(&mut bits[..n], &mut values[..n], &f);
        write_words(&bits[..n], to);
    }
}

fn map_in_place<T: Half16>(data: &mut [u8], f: impl Fn(f32) -> f32) {
    let (mut bits, mut values) = ([0u16; BLOCK], [0f32; BLOCK]);
    for block in data.chunks_mut(2 * BLOCK) {
        let n = block.len() / 2;
        read_words(block, &mut bits[..n]);
        apply_in_f32::<T>(&mut bits[..n], &mut values[..n], &f);
        write_words(&bits[..n], block);
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

    /// The 16-bit word `i` of `bytes`.
    fn word(bytes: &[u8], i: usize) -> u16 {
        u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]])
    }

    /// The words of `fast` and `each` are the same, any NaN matching any NaN; `describe(i)` says
    /// what element `i` was computed from.
    fn assert_same_words(
        dtype: DataType,
        fast: &[u8],
        each: &[u8],
        describe: impl Fn(usize) -> String,
    ) {
        let nan = |w: u16| match dtype {
            DataType::Half => f16::from_bits(w).is_nan(),
            _ => bf16::from_bits(w).is_nan(),
        };
        assert_eq!(fast.len(), each.len());
        for i in 0..fast.len() / 2 {
            let (f, e) = (word(fast, i), word(each, i));
            assert!(
                f == e || (nan(f) && nan(e)),
                "{dtype:?} element {i}, {}: block {f:#06x}, element by element {e:#06x}",
                describe(i)
            );
        }
    }

    /// Both combines on the same buffers give the same words.
    fn assert_same_as_each(dtype: DataType, op: WireOp, input: &[u8], inout: &[u8]) {
        let mut fast = inout.to_vec();
        let mut each = inout.to_vec();
        combine(dtype, op, input, &mut fast);
        combine_each(dtype, op, input, &mut each);
        assert_same_words(dtype, &fast, &each, |i| {
            format!(
                "{op:?} of input {:#06x} and inout {:#06x}",
                word(input, i),
                word(inout, i)
            )
        });
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
    /// release build: `cargo test --release --lib blockwise -- --ignored`).
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

    /// Rank counts: small ones, powers of two, the largest exact in f32 and beyond it.
    const RANK_COUNTS: [u64; 12] = [
        1,
        2,
        3,
        5,
        7,
        24,
        255,
        256,
        1000,
        EXACT_IN_F32,
        EXACT_IN_F32 + 1,
        1 << 40,
    ];

    fn assert_division_matches(dtype: DataType, values: &[u8], counts: impl Iterator<Item = u64>) {
        for n in counts {
            let mut fast = values.to_vec();
            let mut each = values.to_vec();
            divide_in_place(dtype, &mut fast, n);
            elementwise::divide_in_place(dtype, &mut each, n);
            match dtype.size_bytes() {
                1 => assert_eq!(fast, each, "{dtype:?} / {n}"),
                _ => assert_same_words(dtype, &fast, &each, |i| {
                    format!("{:#06x} / {n}", word(values, i))
                }),
            }
        }
    }

    #[test]
    fn scaling_and_averages_equal_the_element_definition_on_every_value() {
        let every: Vec<u8> = (0..=u16::MAX).flat_map(|w| w.to_le_bytes()).collect();
        for dtype in [DataType::Half, DataType::Bfloat16] {
            // Scalars: one, a half, three, the largest finite, the smallest subnormal, -2 and
            // random patterns.
            let mut scalars: Vec<u64> = match dtype {
                DataType::Half => vec![0x3c00, 0x3800, 0x4200, 0x7bff, 0x0001, 0xc000],
                _ => vec![0x3f80, 0x3f00, 0x4040, 0x7f7f, 0x0001, 0xc000],
            };
            scalars.extend(
                bytes(16, 7)
                    .chunks_exact(2)
                    .map(|c| u64::from(c[0]) << 8 | u64::from(c[1])),
            );
            for scalar in scalars {
                let mut each = every.clone();
                elementwise::scale_in_place(dtype, &mut each, scalar);
                let mut into = vec![0u8; every.len()];
                scale_into(dtype, &every, &mut into, scalar);
                assert_same_words(dtype, &into, &each, |i| {
                    format!("{:#06x} x {scalar:#06x} into", word(&every, i))
                });
                let mut in_place = every.clone();
                scale_in_place(dtype, &mut in_place, scalar);
                assert_same_words(dtype, &in_place, &each, |i| {
                    format!("{:#06x} x {scalar:#06x} in place", word(&every, i))
                });
            }
            assert_division_matches(dtype, &every, RANK_COUNTS.into_iter());
        }
        let every_byte: Vec<u8> = (0..=u8::MAX).collect();
        for dtype in [
            DataType::Fp8E4M3,
            DataType::Fp8E5M2,
            DataType::Int8,
            DataType::Uint8,
        ] {
            assert_division_matches(dtype, &every_byte, RANK_COUNTS.into_iter());
            assert_division_matches(dtype, &every_byte[..9], RANK_COUNTS.into_iter());
        }
    }

    #[test]
    fn scaling_one_byte_types_by_table_equals_scaling_each_element() {
        let every_byte: Vec<u8> = (0..=255).collect();
        for dtype in [
            DataType::Fp8E4M3,
            DataType::Fp8E5M2,
            DataType::Int8,
            DataType::Uint8,
        ] {
            for scalar_bits in [0x38, 0x40, 0x3C, 0xB8, 1, 2, 0xFF] {
                let mut expected = every_byte.clone();
                elementwise::scale_in_place(dtype, &mut expected, scalar_bits);
                let mut scaled = vec![0u8; 256];
                scale_into(dtype, &every_byte, &mut scaled, scalar_bits);
                assert_eq!(scaled, expected, "{dtype} x {scalar_bits:#x} out of place");
                let mut in_place = every_byte.clone();
                scale_in_place(dtype, &mut in_place, scalar_bits);
                assert_eq!(in_place, expected, "{dtype} x {scalar_bits:#x} in place");
                // Shorter than the table: element by element, the same values.
                let mut short = every_byte[..9].to_vec();
                scale_in_place(dtype, &mut short, scalar_bits);
                assert_eq!(
                    short,
                    expected[..9],
                    "{dtype} x {scalar_bits:#x}, 9 elements"
                );
            }
        }
    }

    /// Every 16-bit value divided by every rank count up to 4096 (a minute or two in a release build).
    #[test]
    #[ignore = "minutes: 2^16 values by 4096 rank counts"]
    fn averages_equal_the_element_definition_for_every_rank_count_to_4096() {
        let every: Vec<u8> = (0..=u16::MAX).flat_map(|w| w.to_le_bytes()).collect();
        for dtype in [DataType::Half, DataType::Bfloat16] {
            assert_division_matches(dtype, &every, 1..=4096);
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
