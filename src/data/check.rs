//! Filling inputs and counting wrong output elements on the host. `kernels/collbench.cu` (`cb_fill`,
//! `cb_verify`, `cb_within_avg_tolerance`) does the same on the GPU.

use super::formats::{bits_to_f64, float_format, format_bits, FloatFormat};
use super::scheme::Scheme;
use super::vectorised::{vectorised, vectorised_avx2};
use super::{CheckOutcome, GenParams, WrongElement};
use crate::collectives::Segment;
use crate::types::{DataType, ReduceOp};

/// Float `avg` is the one result that may round: libraries compute it as sum/n (exact sum, one
/// rounding) or, like NCCL for floats, by pre-multiplying each input by 1/n rounded to the type and
/// summing. Float averages therefore have at most `AVG_FLOAT_CONTRIBUTORS` = 2 non-zero, non-negative
/// terms, so the premultiplied path rounds at most 3 times (1/n, the products, one addition); we allow
/// `AVG_FLOAT_TOLERANCE_ROUNDINGS` = 4 roundings of at most half an epsilon each:
/// `|got - T/n| <= ((1 + eps/2)^4 - 1)·|T/n| + 4·min_subnormal`. That is 2.0 epsilons relative for
/// half/bfloat16/float/double, 27% for e4m3 and 60% for e5m2 (the precision of those types: still far
/// from zero, a swapped or missing rank, or a wrong exponent). Every other (dtype, op) result is checked
/// bit for bit.
pub const AVG_FLOAT_TOLERANCE_ROUNDINGS: i32 = 4;

/// The largest accepted |got - quotient| for a float average of exact value `quotient`.
pub fn avg_float_tolerance(fmt: FloatFormat, quotient: f64) -> f64 {
    // (1 + u)^4 - 1 expanded, since 1 + u itself rounds to 1 in f64 for double's u.
    let u = fmt.epsilon() / 2.0;
    let relative = u * (4.0 + u * (6.0 + u * (4.0 + u)));
    relative * quotient.abs() + AVG_FLOAT_TOLERANCE_ROUNDINGS as f64 * fmt.min_subnormal()
}

/// Whether `got` is an acceptable float average of exact value `quotient` for `dtype`.
pub fn within_avg_tolerance(dtype: DataType, got_bits: u64, quotient: f64) -> bool {
    match float_format(dtype) {
        // Written so that NaN fails.
        Some(fmt) => {
            (bits_to_f64(fmt, got_bits) - quotient).abs() <= avg_float_tolerance(fmt, quotient)
        }
        None => false,
    }
}

/// Byte every backend writes over a rank's whole output before a validation run, so an element
/// the collective should have written cannot pass by holding a stale value, and an element it must
/// not write ([`Segment::Untouched`]) can be checked. All ones is a NaN in every float type, never a
/// generated (finite) value; integer inputs are random bits, so no pattern avoids them.
pub const POISON_BYTE: u8 = 0xFF;

/// The bits of one poisoned element of `dtype` (what a [`Segment::Untouched`] element must hold).
pub fn poison_bits(dtype: DataType) -> u64 {
    u64::from_le_bytes([POISON_BYTE; 8]) >> (64 - 8 * dtype.size_bytes())
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
/// results within [`avg_float_tolerance`] of the exact quotient are also accepted by [`check_output`].
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

/// Elements generated per step: a block of expected values stays in L1 while it is written out
/// or compared.
const BLOCK: usize = 1024;

/// Writes elements `start_index..start_index + out.len() / elt_size` of `rank`'s input, little-endian.
/// A trailing partial element (a length not a multiple of the element size) is left untouched.
pub fn fill_input(p: &GenParams, rank: usize, start_index: usize, out: &mut [u8]) {
    let scheme = Scheme::new(p);
    let rank_key = scheme.rank_key(rank);
    let elt_size = p.dtype.size_bytes();
    let mut values = [0u64; BLOCK];
    for (b, chunk) in out.chunks_mut(BLOCK * elt_size).enumerate() {
        let n = chunk.len() / elt_size;
        let values = &mut values[..n];
        scheme.input_block(rank, rank_key, (start_index + b * BLOCK) as u64, values);
        store_elements(elt_size, values, chunk);
    }
}

/// Stores `values` as little-endian `elt_size`-byte elements at the start of `out`: one loop per
/// element width, so each is a plain vectorisable narrowing store.
fn store_elements(elt_size: usize, values: &[u64], out: &mut [u8]) {
    #[inline(always)]
    fn store<const W: usize>(values: &[u64], out: &mut [u8]) {
        for (c, v) in out.chunks_exact_mut(W).zip(values) {
            c.copy_from_slice(&v.to_le_bytes()[..W]);
        }
    }
    // Per width, the build that stores fastest here (benches/data.rs): AVX-512 for bytes (int8
    // fill 3.3-3.6 GB/s against 2.4-3.0), AVX2 for wider elements (float 4.0 against 3.3).
    match elt_size {
        1 => vectorised!(store::<1>(values, out)),
        2 => vectorised_avx2!(store::<2>(values, out)),
        4 => vectorised_avx2!(store::<4>(values, out)),
        _ => vectorised_avx2!(store::<8>(values, out)),
    }
}

/// Whether the `elt_size`-byte elements at the start of `output` hold exactly `expected`: one
/// branch-free loop per element width (it ORs the differences), so the common case of a correct
/// block costs about a read of it.
fn block_matches(elt_size: usize, output: &[u8], expected: &[u64]) -> bool {
    #[inline(always)]
    fn differences<const W: usize>(output: &[u8], expected: &[u64]) -> u64 {
        let mut padded = [0u8; 8];
        output
            .chunks_exact(W)
            .zip(expected)
            .fold(0, |acc, (c, &e)| {
                padded[..W].copy_from_slice(c);
                acc | (u64::from_le_bytes(padded) ^ e)
            })
    }
    let found = vectorised!(match elt_size {
        1 => differences::<1>(output, expected),
        2 => differences::<2>(output, expected),
        4 => differences::<4>(output, expected),
        _ => differences::<8>(output, expected),
    });
    found == 0
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
pub fn check_output(
    p: &GenParams,
    rank: usize,
    segments: &[Segment],
    output: &[u8],
) -> CheckOutcome {
    let scheme = Scheme::new(p);
    let float_avg = p.op == Some(ReduceOp::Avg) && p.dtype.is_float();
    let mut tally = Tally::new(p.dtype.size_bytes(), output);
    for segment in segments {
        match *segment {
            Segment::Copy {
                dst_offset,
                len,
                src_rank,
                src_offset,
            } => {
                let rank_key = scheme.rank_key(src_rank);
                tally.run(dst_offset, len, |j, expected| {
                    scheme.input_block(src_rank, rank_key, (src_offset + j) as u64, expected)
                });
            }
            Segment::Untouched { dst_offset, len } => {
                let poison = poison_bits(p.dtype);
                tally.run(dst_offset, len, |_, expected| expected.fill(poison));
            }
            Segment::Reduce {
                dst_offset,
                len,
                src_offset,
            } => {
                // A float average may round differently from the correctly rounded quotient the
                // block holds: an element that differs is still right within the tolerance.
                let within_tolerance = |j: usize, got: Option<u64>| {
                    float_avg
                        && got.is_some_and(|bits| {
                            let quotient = scheme.expected_reduce((src_offset + j) as u64).1;
                            within_avg_tolerance(p.dtype, bits, quotient)
                        })
                };
                tally.run_tolerant(
                    dst_offset,
                    len,
                    |j, expected| scheme.expected_reduce_block((src_offset + j) as u64, expected),
                    within_tolerance,
                )
            }
        }
    }
    tally.outcome(p.dtype, rank)
}

/// Wrong elements found so far, and the lowest-index one.
struct Tally<'o> {
    elt_size: usize,
    output: &'o [u8],
    wrong: u64,
    /// (index, expected bits, bits found or `None` beyond the end of the output).
    first: Option<(usize, u64, Option<u64>)>,
}

impl<'o> Tally<'o> {
    fn new(elt_size: usize, output: &'o [u8]) -> Tally<'o> {
        Tally {
            elt_size,
            output,
            wrong: 0,
            first: None,
        }
    }

    fn record(&mut self, index: usize, expected: u64, got: Option<u64>) {
        self.wrong += 1;
        if self.first.is_none_or(|(i, _, _)| index < i) {
            self.first = Some((index, expected, got));
        }
    }

    /// Checks output elements `dst_offset..dst_offset + len` against `expected(j, block)`, which
    /// writes the expected bits of segment elements `j..j + block.len()`, a block at a time.
    fn run(&mut self, dst_offset: usize, len: usize, expected: impl Fn(usize, &mut [u64])) {
        self.run_tolerant(dst_offset, len, expected, |_, _| false)
    }

    /// [`Tally::run`], where an element whose bits differ is still right when
    /// `within_tolerance(j, bits found)` says so (asked only in a block with a difference).
    fn run_tolerant(
        &mut self,
        dst_offset: usize,
        len: usize,
        expected: impl Fn(usize, &mut [u64]),
        within_tolerance: impl Fn(usize, Option<u64>) -> bool,
    ) {
        let elt = self.elt_size;
        let in_output = (self.output.len() / elt)
            .saturating_sub(dst_offset)
            .min(len);
        let mut block = [0u64; BLOCK];
        let mut j = 0;
        while j < len {
            let n = BLOCK.min(len - j);
            let block = &mut block[..n];
            expected(j, block);
            let inside = in_output.saturating_sub(j).min(n);
            let start = (dst_offset + j) * elt;
            let output = &self.output[start.min(self.output.len())..];
            if inside < n || !block_matches(elt, &output[..inside * elt], block) {
                for (k, &bits) in block.iter().enumerate() {
                    let got = read_element(self.output, elt, dst_offset + j + k);
                    if got != Some(bits) && !within_tolerance(j + k, got) {
                        self.record(dst_offset + j + k, bits, got);
                    }
                }
            }
            j += n;
        }
    }

    fn outcome(self, dtype: DataType, rank: usize) -> CheckOutcome {
        CheckOutcome {
            wrong: self.wrong,
            first: self.first.map(|(index, expected, got)| WrongElement {
                rank,
                index,
                expected: format_bits(dtype, expected),
                got: match got {
                    Some(bits) => format_bits(dtype, bits),
                    None => "(beyond the end of the output buffer)".to_string(),
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ReduceOp;

    fn params(nranks: usize, dtype: DataType, op: Option<ReduceOp>) -> GenParams {
        GenParams {
            seed: 99,
            nranks,
            dtype,
            op,
        }
    }

    #[test]
    fn fill_is_a_pure_function_of_rank_and_index() {
        for dtype in DataType::ALL {
            for op in [None, Some(ReduceOp::Sum), Some(ReduceOp::Min)] {
                let p = params(5, dtype, op);
                let elt = dtype.size_bytes();
                let mut whole = vec![0u8; 100 * elt];
                fill_input(&p, 3, 0, &mut whole);
                let mut tail = vec![0u8; 40 * elt];
                fill_input(&p, 3, 60, &mut tail);
                assert_eq!(&whole[60 * elt..], &tail[..], "{dtype} {op:?}");
                for i in [0usize, 17, 99] {
                    let bits = read_element(&whole, elt, i).unwrap();
                    assert_eq!(bits, input_bits(&p, 3, i), "{dtype} {op:?} {i}");
                    assert_eq!(
                        bits,
                        expected_bits(&p, ElementSource::Copy { src_rank: 3 }, i)
                    );
                }
                let mut other_rank = vec![0u8; 100 * elt];
                fill_input(&p, 2, 0, &mut other_rank);
                if op.is_none() {
                    assert_ne!(whole, other_rank, "{dtype}: ranks hold different data");
                }
            }
        }
    }

    #[test]
    fn a_single_flipped_element_is_one_wrong_at_its_index() {
        for dtype in DataType::ALL {
            for op in ReduceOp::ALL {
                let p = params(4, dtype, Some(op));
                let elt = dtype.size_bytes();
                let len = 300;
                // A correct allreduce output, built from expected values.
                let mut out = vec![0u8; len * elt];
                for i in 0..len {
                    let bits = expected_bits(&p, ElementSource::Reduce, i);
                    out[i * elt..(i + 1) * elt].copy_from_slice(&bits.to_le_bytes()[..elt]);
                }
                let segments = [Segment::Reduce {
                    dst_offset: 0,
                    len,
                    src_offset: 0,
                }];
                assert_eq!(
                    check_output(&p, 1, &segments, &out).wrong,
                    0,
                    "{dtype} {op}"
                );
                for index in [0usize, 123, len - 1] {
                    let mut bad = out.clone();
                    let bits = read_element(&bad, elt, index).unwrap();
                    bad[index * elt..(index + 1) * elt]
                        .copy_from_slice(&corrupt_bits(dtype, bits).to_le_bytes()[..elt]);
                    let outcome = check_output(&p, 1, &segments, &bad);
                    assert_eq!(outcome.wrong, 1, "{dtype} {op} index {index}");
                    let first = outcome.first.unwrap();
                    assert_eq!((first.rank, first.index), (1, index));
                    assert_eq!(first.expected, format_bits(dtype, bits));
                    assert_eq!(first.got, format_bits(dtype, corrupt_bits(dtype, bits)));
                }
            }
        }
    }

    #[test]
    fn block_generators_match_the_element_functions() {
        use crate::data::scheme::Scheme;
        let ops = std::iter::once(None).chain(ReduceOp::ALL.into_iter().map(Some));
        let ops: Vec<Option<ReduceOp>> = ops.collect();
        // Two blocks and a partial third, from an offset that is not a block boundary.
        let n = 2 * BLOCK + 37;
        for nranks in [1, 2, 3, 7] {
            for dtype in DataType::ALL {
                for &op in &ops {
                    let p = params(nranks, dtype, op);
                    let elt = dtype.size_bytes();
                    for rank in [0, nranks - 1] {
                        let mut out = vec![0u8; n * elt];
                        fill_input(&p, rank, 5, &mut out);
                        for i in 0..n {
                            assert_eq!(
                                read_element(&out, elt, i),
                                Some(input_bits(&p, rank, 5 + i)),
                                "{nranks} ranks {dtype} {op:?} rank {rank} element {i}"
                            );
                        }
                    }
                    if op.is_some() {
                        let mut block = vec![0u64; n];
                        Scheme::new(&p).expected_reduce_block(9, &mut block);
                        for (i, &bits) in block.iter().enumerate() {
                            assert_eq!(
                                bits,
                                expected_bits(&p, ElementSource::Reduce, 9 + i),
                                "{nranks} ranks {dtype} {op:?} element {i}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn wrong_elements_are_counted_and_located_across_blocks() {
        let p = params(3, DataType::Float, Some(ReduceOp::Sum));
        let len = 3 * BLOCK + 5;
        let mut out = vec![0u8; len * 4];
        for i in 0..len {
            let bits = expected_bits(&p, ElementSource::Reduce, i + 2);
            out[i * 4..(i + 1) * 4].copy_from_slice(&(bits as u32).to_le_bytes());
        }
        let segments = [Segment::Reduce {
            dst_offset: 0,
            len,
            src_offset: 2,
        }];
        assert_eq!(check_output(&p, 0, &segments, &out).wrong, 0);
        let mut bad = out.clone();
        for index in [len - 1, BLOCK + 7, 2 * BLOCK] {
            bad[index * 4] ^= 1;
        }
        let outcome = check_output(&p, 0, &segments, &bad);
        assert_eq!(outcome.wrong, 3);
        assert_eq!(outcome.first.unwrap().index, BLOCK + 7);
        // An output that ends inside a block: the missing elements are wrong, the rest are not.
        let short = &out[..(2 * BLOCK + 100) * 4 + 2];
        let outcome = check_output(&p, 0, &segments, short);
        assert_eq!(outcome.wrong, (len - 2 * BLOCK - 100) as u64);
        assert_eq!(outcome.first.unwrap().index, 2 * BLOCK + 100);
    }

    #[test]
    fn copy_segments_check_the_source_rank_and_offset() {
        let p = params(3, DataType::Int32, None);
        let mut out = vec![0u8; 20 * 4];
        fill_input(&p, 2, 5, &mut out[40..]); // elements 10..20 = rank 2's 5..15
        fill_input(&p, 1, 0, &mut out[..40]); // elements 0..10 = rank 1's 0..10
        let good = [
            Segment::Copy {
                dst_offset: 10,
                len: 10,
                src_rank: 2,
                src_offset: 5,
            },
            Segment::Copy {
                dst_offset: 0,
                len: 10,
                src_rank: 1,
                src_offset: 0,
            },
        ];
        assert_eq!(check_output(&p, 0, &good, &out).wrong, 0);
        let wrong_rank = [Segment::Copy {
            dst_offset: 10,
            len: 10,
            src_rank: 1,
            src_offset: 5,
        }];
        let outcome = check_output(&p, 0, &wrong_rank, &out);
        assert_eq!(outcome.wrong, 10);
        assert_eq!(outcome.first.unwrap().index, 10);
    }

    #[test]
    fn untouched_segments_want_the_poison_and_report_it_as_expected() {
        for dtype in DataType::ALL {
            let p = params(4, dtype, None);
            let elt = dtype.size_bytes();
            let poison = poison_bits(dtype);
            assert_eq!(poison.to_le_bytes()[..elt], vec![POISON_BYTE; elt][..]);
            if elt < 8 {
                assert_eq!(poison >> (8 * elt), 0, "{dtype}: only the element's bytes");
            }
            let mut out = vec![POISON_BYTE; 40 * elt];
            // Elements 0..10 are a copy, 10..40 must be untouched.
            fill_input(&p, 2, 0, &mut out[..10 * elt]);
            let segments = [
                Segment::Copy {
                    dst_offset: 0,
                    len: 10,
                    src_rank: 2,
                    src_offset: 0,
                },
                Segment::Untouched {
                    dst_offset: 10,
                    len: 30,
                },
            ];
            assert_eq!(check_output(&p, 3, &segments, &out).wrong, 0, "{dtype}");
            // A collective that zeroed two untouched elements.
            let mut scribbled = out.clone();
            scribbled[25 * elt..27 * elt].fill(0);
            let outcome = check_output(&p, 3, &segments, &scribbled);
            assert_eq!(outcome.wrong, 2, "{dtype}");
            let first = outcome.first.unwrap();
            assert_eq!((first.rank, first.index), (3, 25), "{dtype}");
            assert_eq!(first.expected, format_bits(dtype, poison), "{dtype}");
            assert_eq!(first.got, format_bits(dtype, 0), "{dtype}");
            // The corruption hook changes a poisoned element too.
            assert_ne!(corrupt_bits(dtype, poison), poison);
            // Beyond the end counts as wrong, as for the other kinds.
            assert_eq!(check_output(&p, 3, &segments, &out[..35 * elt]).wrong, 5);
        }
    }

    #[test]
    fn elements_beyond_the_output_count_as_wrong() {
        let p = params(2, DataType::Float, Some(ReduceOp::Sum));
        let out = vec![0u8; 4 * 4];
        let segments = [Segment::Reduce {
            dst_offset: 2,
            len: 5,
            src_offset: 0,
        }];
        let outcome = check_output(&p, 0, &segments, &out);
        // 2 elements are inside (and most likely wrong: zeros), 3 are missing.
        assert!(outcome.wrong >= 3, "{outcome:?}");
        let empty = check_output(&p, 0, &segments, &[]);
        assert_eq!(empty.wrong, 5);
        assert!(empty.first.unwrap().got.contains("beyond the end"));
    }

    #[test]
    fn checking_costs_o_k_per_element_not_o_nranks() {
        // With a million ranks an O(nranks) check of 20,000 elements would take minutes.
        let started = std::time::Instant::now();
        for op in ReduceOp::ALL {
            let p = params(1 << 20, DataType::Float, Some(op));
            let out = vec![0u8; 20_000 * 4];
            let segments = [Segment::Reduce {
                dst_offset: 0,
                len: 20_000,
                src_offset: 0,
            }];
            check_output(&p, 0, &segments, &out);
        }
        assert!(
            started.elapsed().as_secs() < 20,
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_float_average_one_step_off_the_rounded_quotient_is_right_and_a_wrong_one_is_not() {
        for dtype in [
            DataType::Float,
            DataType::Double,
            DataType::Half,
            DataType::Bfloat16,
        ] {
            // Three ranks: quotients of thirds, which round.
            let p = params(3, dtype, Some(ReduceOp::Avg));
            let (elt, len) = (dtype.size_bytes(), 2 * BLOCK + 5);
            let mut out = vec![0u8; len * elt];
            let write = |out: &mut [u8], i: usize, bits: u64| {
                out[i * elt..(i + 1) * elt].copy_from_slice(&bits.to_le_bytes()[..elt])
            };
            for i in 0..len {
                write(&mut out, i, expected_bits(&p, ElementSource::Reduce, i));
            }
            let segments = [Segment::Reduce {
                dst_offset: 0,
                len,
                src_offset: 0,
            }];
            // The neighbour of a rounded quotient that is not a whole number, in the block
            // after the first: a library that divides differently may give it.
            let scheme = Scheme::new(&p);
            let rounded = (BLOCK..len)
                .find(|&i| scheme.expected_reduce(i as u64).1.fract() != 0.0)
                .unwrap();
            let neighbour = read_element(&out, elt, rounded).unwrap() + 1;
            write(&mut out, rounded, neighbour);
            assert_eq!(check_output(&p, 0, &segments, &out).wrong, 0, "{dtype}");
            let wrong = len - 1;
            let bits = read_element(&out, elt, wrong).unwrap();
            write(&mut out, wrong, corrupt_bits(dtype, bits));
            let outcome = check_output(&p, 0, &segments, &out);
            assert_eq!(outcome.wrong, 1, "{dtype}");
            assert_eq!(outcome.first.unwrap().index, wrong, "{dtype}");
        }
    }

    #[test]
    fn avg_tolerance_accepts_rounding_and_rejects_real_errors() {
        for dtype in DataType::ALL.into_iter().filter(|d| d.is_float()) {
            let fmt = float_format(dtype).unwrap();
            let q = 5.0 / 3.0;
            let nearest = super::super::formats::f64_to_bits(fmt, q);
            assert!(
                within_avg_tolerance(dtype, nearest, q),
                "{dtype}: the rounded quotient"
            );
            let zero = 0;
            assert!(!within_avg_tolerance(dtype, zero, q), "{dtype}: zero");
            let nan = super::super::formats::f64_to_bits(fmt, f64::NAN);
            assert!(!within_avg_tolerance(dtype, nan, q), "{dtype}: NaN");
            let double = super::super::formats::f64_to_bits(fmt, 2.0 * q);
            assert!(
                !within_avg_tolerance(dtype, double, q),
                "{dtype}: twice the value"
            );
            if !dtype.is_fp8() {
                // One contributor of three missing: 4/3 instead of 5/3.
                let missing = super::super::formats::f64_to_bits(fmt, 4.0 / 3.0);
                assert!(
                    !within_avg_tolerance(dtype, missing, q),
                    "{dtype}: a missing rank"
                );
            }
        }
        assert!(!within_avg_tolerance(DataType::Int32, 1, 1.0));
    }
}
