//! The value scheme: what every rank's input holds, and what every reduction must produce.
//!
//! Non-reduction collectives (`op == None`) get rich values: random bits for integers, random finite
//! normal values across the whole exponent range for floats. Reductions must be exact whatever order a
//! library combines the ranks in, at any rank count, and checkable in O(K) per element. So each
//! element `i` has only `S = min(nranks, K = MAX_CONTRIBUTORS = 4)` *contributing* ranks — the consecutive
//! ranks `start(i), start(i)+1, ...` (mod nranks), `start(i)` hashed — and every other rank holds the
//! operator's neutral *background* value (0 for sum/avg/mulsum, 1 for prod, the lowest value for max,
//! the highest for min). Contributor `j` of element `i` holds a value hashed from (seed, i, j):
//!
//! | op            | integers                            | floats                                         |
//! |---------------|-------------------------------------|------------------------------------------------|
//! | sum, mulsum   | random bits (wrapping: exact mod 2^w) | m·2^e, m integer in [-M, M], e in [-4, 3] per element |
//! | prod          | random odd bits (wrapping)          | ±2^a, a in {-1, 0, 1, 2}                        |
//! | max, min      | random bits                         | random finite normal values                     |
//! | avg           | shares of n·v, v in [-V, V] (so the sum is n·v exactly) | m integer in [0, M]             |
//!
//! M = (largest exactly representable integer of the type) / (2·MAX_CONTRIBUTORS): half 2048 → 256,
//! bfloat16 256 → 32, e4m3 16 → 2, e5m2 8 → 1, float 2^24 → 2^21, double 2^53 → 2^50. Every partial
//! sum of at most K terms m·2^e (mulsum: times a factor 1 or 2) is then an integer multiple of 2^e
//! within the exact range, so it is exact in any order; products are powers of two within range; min
//! and max never round. Float avg is the only result that rounds (libraries compute sum/n or premultiply
//! by 1/n), so float averages have only S = min(nranks, AVG_FLOAT_CONTRIBUTORS = 2) contributors, which
//! keeps the rounding small: see `check::avg_float_tolerance`.
//!
//! `kernels/collbench.cu` mirrors this file: `cb_scheme`, `cb_input_bits`, `cb_contributor_bits`,
//! `cb_expected_reduce`.

mod blocks;

use super::formats::{
    bits_to_f64, f64_to_bits, float_format, int_value, pow2, sanitize_float, FloatFormat,
};
use super::hash::{
    below, below_by_limbs, element_hash, lane_key, mix64, LAYOUT_LANE, MULSUM_SALT, RANK_LANE_BASE,
};
use super::GenParams;
use crate::types::{DataType, ReduceOp};

/// K: the most ranks that contribute a non-neutral value to one element of a reduction.
pub const MAX_CONTRIBUTORS: usize = 4;

/// S for float averages: fewer terms, fewer roundings, a tighter tolerance (see `check.rs`).
pub const AVG_FLOAT_CONTRIBUTORS: usize = 2;

/// Integer averages keep n·v below this, so a contributor's share `n·v·(j+1)/S` fits in 64 bits.
const INT_AVG_TOTAL_LIMIT: u64 = 1 << 58;

/// The per-rank factor of `mulsum` (NCCL's pre-multiplied sum): 1 or 2, hashed from the rank.
pub fn mulsum_factor(rank: usize) -> u64 {
    1 + (mix64(rank as u64 ^ MULSUM_SALT) & 1)
}

/// The `mulsum` scalar of `rank` as a bit pattern of `dtype` (what `ncclRedOpCreatePreMulSum` takes).
/// The scalar depends only on the rank; `nranks` is part of the signature so backends need not change
/// if a future scheme depends on it.
pub fn mulsum_scalar(rank: usize, _nranks: usize, dtype: DataType) -> u64 {
    let factor = mulsum_factor(rank);
    match float_format(dtype) {
        Some(fmt) => f64_to_bits(fmt, factor as f64),
        None => factor,
    }
}

/// Everything the generator needs that does not depend on (rank, index), computed once per fill or
/// check (`cb_scheme_init` in the kernel).
#[derive(Clone, Copy, Debug)]
pub struct Scheme {
    pub params: GenParams,
    nranks: u64,
    /// S = min(nranks, K) (K = 2 for float avg).
    contributors: u64,
    layout_key: u64,
    contributor_keys: [u64; MAX_CONTRIBUTORS],
    width_mask: u64,
    fmt: Option<FloatFormat>,
    /// M for float sum/mulsum/avg.
    float_magnitude: u64,
    /// V for integer avg.
    int_avg_limit: u64,
    /// [`Scheme::background_bits`], cached.
    background: u64,
}

/// The layout of one element of a reduction.
#[derive(Clone, Copy, Debug)]
struct Layout {
    hash: u64,
    start: u64,
}

impl Scheme {
    pub fn new(p: &GenParams) -> Scheme {
        let nranks = p.nranks.max(1) as u64;
        let width = p.dtype.size_bytes() as u32 * 8;
        let width_mask = if width == 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        };
        let fmt = float_format(p.dtype);
        let exact_integer_bits = fmt.map(|f| f.man_bits + 1).unwrap_or(0);
        let float_magnitude = if fmt.is_some() {
            (1u64 << exact_integer_bits) / (2 * MAX_CONTRIBUTORS as u64)
        } else {
            0
        };
        let type_max = if p.dtype.is_signed_int() {
            width_mask >> 1
        } else {
            width_mask
        };
        let int_avg_limit = type_max.min(INT_AVG_TOTAL_LIMIT) / nranks;
        let mut contributor_keys = [0u64; MAX_CONTRIBUTORS];
        for (j, key) in contributor_keys.iter_mut().enumerate() {
            *key = lane_key(p.seed, j as u64);
        }
        let mut scheme = Scheme {
            params: *p,
            nranks,
            contributors: nranks.min(if fmt.is_some() && p.op == Some(ReduceOp::Avg) {
                AVG_FLOAT_CONTRIBUTORS as u64
            } else {
                MAX_CONTRIBUTORS as u64
            }),
            layout_key: lane_key(p.seed, LAYOUT_LANE),
            contributor_keys,
            width_mask,
            fmt,
            float_magnitude,
            int_avg_limit,
            background: 0,
        };
        scheme.background = scheme.background_bits();
        scheme
    }

    /// Key of a rank's stream for non-reduction data.
    pub fn rank_key(&self, rank: usize) -> u64 {
        lane_key(self.params.seed, RANK_LANE_BASE + rank as u64)
    }

    #[inline(always)]
    fn layout(&self, index: u64) -> Layout {
        let hash = element_hash(self.layout_key, index);
        // Multiply-high instead of `%`: uniform enough, cheap on GPUs.
        let start = ((hash & 0xFFFF_FFFF) * self.nranks) >> 32;
        Layout { hash, start }
    }

    /// Scale exponent e in [-4, 3] of float sum/mulsum values of an element.
    #[inline(always)]
    fn scale_exponent(layout: Layout) -> i32 {
        scale_exponent_of(layout.hash)
    }

    /// Integer avg: the element's average v (as magnitude and sign); the total is n·v.
    #[inline(always)]
    fn int_avg_value(&self, layout: Layout) -> (u64, bool) {
        int_average(
            layout.hash,
            self.int_avg_limit + 1,
            self.params.dtype.is_signed_int(),
        )
    }

    #[inline(always)]
    fn negate_if(&self, magnitude: u64, negative: bool) -> u64 {
        with_sign(magnitude, negative, self.width_mask)
    }

    /// 2M + 1: how many integers a float sum's contributor draws from.
    fn float_sum_range(&self) -> u64 {
        2 * self.float_magnitude + 1
    }

    /// Float sum/mulsum contributor: signed integer m in [-M, M].
    #[inline(always)]
    fn float_sum_integer(&self, contributor_hash: u64) -> i64 {
        below(contributor_hash, self.float_sum_range()) as i64 - self.float_magnitude as i64
    }

    /// Float prod contributor: (negative, a) for ±2^a.
    #[inline(always)]
    fn float_prod_factor(contributor_hash: u64) -> (bool, i32) {
        (
            (contributor_hash >> 2) & 1 == 1,
            (contributor_hash & 3) as i32 - 1,
        )
    }

    /// The neutral value a non-contributing rank holds.
    pub fn background_bits(&self) -> u64 {
        let op = match self.params.op {
            Some(op) => op,
            None => return 0,
        };
        match self.fmt {
            Some(fmt) => match op {
                ReduceOp::Sum | ReduceOp::Avg | ReduceOp::MulSum => 0,
                ReduceOp::Prod => f64_to_bits(fmt, 1.0),
                ReduceOp::Max => fmt.max_finite_bits() | fmt.sign_bit(),
                ReduceOp::Min => fmt.max_finite_bits(),
            },
            None => {
                let signed = self.params.dtype.is_signed_int();
                match op {
                    ReduceOp::Sum | ReduceOp::Avg | ReduceOp::MulSum => 0,
                    ReduceOp::Prod => 1,
                    ReduceOp::Max if signed => (self.width_mask >> 1) + 1,
                    ReduceOp::Max => 0,
                    ReduceOp::Min if signed => self.width_mask >> 1,
                    ReduceOp::Min => self.width_mask,
                }
            }
        }
    }

    /// The value contributor `j` of an element holds.
    #[inline(always)]
    fn contributor_bits(&self, op: ReduceOp, layout: Layout, j: u64, contributor_hash: u64) -> u64 {
        match self.fmt {
            None => match op {
                ReduceOp::Sum | ReduceOp::MulSum | ReduceOp::Max | ReduceOp::Min => {
                    contributor_hash & self.width_mask
                }
                ReduceOp::Prod => (contributor_hash | 1) & self.width_mask,
                ReduceOp::Avg => {
                    // Shares of the total n·v that add up to it exactly (floor differences).
                    let (v, negative) = self.int_avg_value(layout);
                    let total = v * self.nranks;
                    let share = total * (j + 1) / self.contributors - total * j / self.contributors;
                    self.negate_if(share, negative)
                }
            },
            Some(fmt) => match op {
                ReduceOp::Sum | ReduceOp::MulSum => {
                    let m = self.float_sum_integer(contributor_hash);
                    f64_to_bits(fmt, m as f64 * pow2(Self::scale_exponent(layout)))
                }
                ReduceOp::Prod => {
                    let (negative, a) = Self::float_prod_factor(contributor_hash);
                    let magnitude = pow2(a);
                    f64_to_bits(fmt, if negative { -magnitude } else { magnitude })
                }
                ReduceOp::Max | ReduceOp::Min => {
                    sanitize_float(fmt, contributor_hash & self.width_mask)
                }
                ReduceOp::Avg => f64_to_bits(
                    fmt,
                    below(contributor_hash, self.float_magnitude + 1) as f64,
                ),
            },
        }
    }

    /// Bit pattern of element `index` of `rank`'s input (`rank_key` = [`Scheme::rank_key`]`(rank)`,
    /// only used when `op` is `None`).
    #[inline(always)]
    pub fn input_bits_keyed(&self, rank: usize, rank_key: u64, index: u64) -> u64 {
        let op = match self.params.op {
            None => {
                let h = element_hash(rank_key, index);
                return match self.fmt {
                    Some(fmt) => sanitize_float(fmt, h & self.width_mask),
                    None => h & self.width_mask,
                };
            }
            Some(op) => op,
        };
        let layout = self.layout(index);
        let rank = rank as u64;
        let j = if rank >= layout.start {
            rank - layout.start
        } else {
            rank + self.nranks - layout.start
        };
        if j >= self.contributors {
            return self.background;
        }
        let contributor_hash = element_hash(self.contributor_keys[j as usize], index);
        self.contributor_bits(op, layout, j, contributor_hash)
    }

    pub fn input_bits(&self, rank: usize, index: u64) -> u64 {
        self.input_bits_keyed(rank, self.rank_key(rank), index)
    }

    /// The reduction of every rank's element `index`, in O(K). Returns the result's bits and, for a
    /// float average, the exact quotient the result must approximate (`NaN` otherwise).
    pub fn expected_reduce(&self, index: u64) -> (u64, f64) {
        let op = match self.params.op {
            Some(op) => op,
            // Not a reduction: nothing combines; a "reduce" of copy data is rank 0's value.
            None => return (self.input_bits(0, index), f64::NAN),
        };
        let layout = self.layout(index);
        let s = self.contributors;
        let hash_of = |j: u64| element_hash(self.contributor_keys[j as usize], index);
        let rank_of = |j: u64| ((layout.start + j) % self.nranks) as usize;
        match self.fmt {
            None => {
                let bits = match op {
                    ReduceOp::Sum | ReduceOp::MulSum => {
                        let mut acc = 0u64;
                        for j in 0..s {
                            let v = self.contributor_bits(op, layout, j, hash_of(j));
                            let factor = if op == ReduceOp::MulSum {
                                mulsum_factor(rank_of(j))
                            } else {
                                1
                            };
                            acc = acc.wrapping_add(v.wrapping_mul(factor));
                        }
                        acc
                    }
                    ReduceOp::Prod => {
                        let mut acc = 1u64;
                        for j in 0..s {
                            acc =
                                acc.wrapping_mul(self.contributor_bits(op, layout, j, hash_of(j)));
                        }
                        acc
                    }
                    ReduceOp::Max | ReduceOp::Min => {
                        let mut best = self.contributor_bits(op, layout, 0, hash_of(0));
                        for j in 1..s {
                            let v = self.contributor_bits(op, layout, j, hash_of(j));
                            let (a, b) = (
                                int_value(self.params.dtype, v),
                                int_value(self.params.dtype, best),
                            );
                            if (op == ReduceOp::Max && a > b) || (op == ReduceOp::Min && a < b) {
                                best = v;
                            }
                        }
                        best
                    }
                    ReduceOp::Avg => {
                        let (v, negative) = self.int_avg_value(layout);
                        self.negate_if(v, negative)
                    }
                };
                (bits & self.width_mask, f64::NAN)
            }
            Some(fmt) => match op {
                ReduceOp::Sum | ReduceOp::MulSum => {
                    let mut total = 0i64;
                    for j in 0..s {
                        let factor = if op == ReduceOp::MulSum {
                            mulsum_factor(rank_of(j)) as i64
                        } else {
                            1
                        };
                        total += factor * self.float_sum_integer(hash_of(j));
                    }
                    (
                        f64_to_bits(fmt, total as f64 * pow2(Self::scale_exponent(layout))),
                        f64::NAN,
                    )
                }
                ReduceOp::Prod => {
                    let mut negative = false;
                    let mut exponent = 0i32;
                    for j in 0..s {
                        let (neg, a) = Self::float_prod_factor(hash_of(j));
                        negative ^= neg;
                        exponent += a;
                    }
                    let magnitude = pow2(exponent);
                    (
                        f64_to_bits(fmt, if negative { -magnitude } else { magnitude }),
                        f64::NAN,
                    )
                }
                ReduceOp::Max | ReduceOp::Min => {
                    let mut best = self.contributor_bits(op, layout, 0, hash_of(0));
                    for j in 1..s {
                        let v = self.contributor_bits(op, layout, j, hash_of(j));
                        let (a, b) = (bits_to_f64(fmt, v), bits_to_f64(fmt, best));
                        if (op == ReduceOp::Max && a > b) || (op == ReduceOp::Min && a < b) {
                            best = v;
                        }
                    }
                    (best, f64::NAN)
                }
                ReduceOp::Avg => {
                    let mut total = 0u64;
                    for j in 0..s {
                        total += below(hash_of(j), self.float_magnitude + 1);
                    }
                    let quotient = total as f64 / self.nranks as f64;
                    (f64_to_bits(fmt, quotient), quotient)
                }
            },
        }
    }
}

/// An integer average's v, as magnitude and sign, from the element's layout hash: magnitude in
/// `0..limit` (limit = V + 1), negative for signed types by a bit of the hash.
#[inline(always)]
fn int_average(layout_hash: u64, limit: u64, signed: bool) -> (u64, bool) {
    let magnitude = below_by_limbs(layout_hash, limit);
    (magnitude, signed && (layout_hash >> 34) & 1 == 1)
}

/// The bits of ±`magnitude` in a `mask`-wide integer type (two's complement).
#[inline(always)]
fn with_sign(magnitude: u64, negative: bool, mask: u64) -> u64 {
    let value = if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    value & mask
}

/// [`Scheme::scale_exponent`] from the element's layout hash.
#[inline(always)]
fn scale_exponent_of(layout_hash: u64) -> i32 {
    ((layout_hash >> 32) & 7) as i32 - 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::vectorised::{at_most, Isa};

    /// FNV-1a over the bits of every rank's input and of the expected reduction, for every type,
    /// operator and a few rank counts, from a block start that is not a multiple of the vector
    /// width.
    fn digest(block: bool) -> u64 {
        let mut hash = 0xCBF2_9CE4_8422_2325u64;
        let mut eat = |bits: u64| hash = (hash ^ bits).wrapping_mul(0x0000_0100_0000_01B3);
        let ops = std::iter::once(None).chain(ReduceOp::ALL.into_iter().map(Some));
        let ops: Vec<Option<ReduceOp>> = ops.collect();
        let (start, n) = (1_000_003u64, 203usize);
        for nranks in [1, 2, 3, 6] {
            for dtype in DataType::ALL {
                for &op in &ops {
                    let scheme = Scheme::new(&GenParams {
                        seed: 0x5EED,
                        nranks,
                        dtype,
                        op,
                    });
                    let mut values = vec![0u64; n];
                    for rank in 0..nranks {
                        let key = scheme.rank_key(rank);
                        if block {
                            scheme.input_block(rank, key, start, &mut values);
                        } else {
                            for (i, v) in values.iter_mut().enumerate() {
                                *v = scheme.input_bits_keyed(rank, key, start + i as u64);
                            }
                        }
                        values.iter().for_each(|&v| eat(v));
                    }
                    if op.is_some() {
                        if block {
                            scheme.expected_reduce_block(start, &mut values);
                        } else {
                            for (i, v) in values.iter_mut().enumerate() {
                                *v = scheme.expected_reduce(start + i as u64).0;
                            }
                        }
                        values.iter().for_each(|&v| eat(v));
                    }
                }
            }
        }
        hash
    }

    /// The values are pinned: the GPU kernel (kernels/collbench.cu) generates the same bits, so
    /// a change here is a change of the scheme, not an optimisation. The digest was taken from
    /// the element functions before the block loops were vectorised.
    #[test]
    fn generated_values_are_pinned_on_every_path() {
        const PINNED: u64 = 0xB648_64B1_37AA_BE08;
        let elements = digest(false);
        assert_eq!(elements, PINNED, "element functions: {elements:#x}");
        for isa in [Isa::Avx512, Isa::Avx2, Isa::Portable] {
            let blocks = at_most(isa, || digest(true));
            assert_eq!(
                blocks, PINNED,
                "block loops on {isa:?} at most: {blocks:#x}"
            );
        }
    }
}
