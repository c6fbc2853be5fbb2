//! The generator's block loops: [`Scheme::input_block`] and [`Scheme::expected_reduce_block`]
//! give the bits of [`Scheme::input_bits_keyed`] and [`Scheme::expected_reduce`] for a run of
//! consecutive elements. The operator and format are decided once per block, so each arm is a
//! plain loop over indices, branch-free and vectorised ([`vectorised`]); the element functions
//! stay the definition, and the pinned-digest test holds the two to the same bits.

use super::{int_average, scale_exponent_of, with_sign, Layout, Scheme, MAX_CONTRIBUTORS};
use crate::data::formats::{
    finite_f64_to_small, pow2_bits, sanitize_float, FloatFormat, DOUBLE, FLOAT,
};
use crate::data::hash::{
    below_by_limbs, below_u32, element_hash, mix64, scrambled_hash, GOLDEN, MULSUM_SALT,
};
use crate::data::vectorised::vectorised;
use crate::types::ReduceOp;

/// Runs `$body` with `$sum` bound to the [`SumFormat`] of the float format `$fmt` that draws
/// integers in `-$offset..$range - $offset`.
macro_rules! with_sum_format {
    ($fmt:expr, $range:expr, $offset:expr, |$sum:ident| $body:expr) => {{
        let (range, offset): (u64, i64) = ($range, $offset as i64);
        match $fmt {
            DOUBLE => {
                let $sum = DoubleSum { range, offset };
                $body
            }
            FLOAT => {
                let $sum = FloatSum {
                    range: range as u32,
                    offset,
                };
                $body
            }
            fmt => {
                let float = FloatSum {
                    range: range as u32,
                    offset,
                };
                let $sum = NarrowSum { fmt, float };
                $body
            }
        }
    }};
}

/// `$out[i] = $expected(Contributors of element $start + i)`: the loop every expected-reduction
/// block runs. A macro, like [`vectorised!`], so that each instruction set's copy of the loop has
/// its own copy of `$expected`, called from one place and so always inlined (a closure shared by
/// the three copies was not, for larger bodies: the half average ran at 0.15 GB/s).
macro_rules! reduce_block {
    ($scheme:expr, $start:expr, $out:expr, $expected:expr) => {{
        let scheme: &Scheme = $scheme;
        let (layout_key, keys, nranks) =
            (scheme.layout_key, scheme.contributor_keys, scheme.nranks);
        let (start, out): (u64, &mut [u64]) = ($start, $out);
        vectorised!({
            let expected = $expected;
            fill_scrambled(start, out, move |g| {
                expected(Contributors::of(layout_key, keys, nranks, g))
            })
        })
    }};
}

impl Scheme {
    /// [`Scheme::input_bits_keyed`] of elements `start..start + out.len()`, into `out`: one
    /// branch-free, vectorised arm per operator and kind of type (rank counts beyond 32 bits keep
    /// the element function).
    pub fn input_block(&self, rank: usize, rank_key: u64, start: u64, out: &mut [u64]) {
        let mask = self.width_mask;
        let op = match (self.params.op, self.fmt) {
            (None, None) => {
                return vectorised!({
                    fill_scrambled(start, out, move |g| scrambled_hash(rank_key, g) & mask)
                })
            }
            (None, Some(fmt)) => {
                return vectorised!({
                    fill_scrambled(start, out, move |g| {
                        sanitize_float(fmt, scrambled_hash(rank_key, g) & mask)
                    })
                })
            }
            (Some(op), _) => op,
        };
        let rank = rank as u64;
        if self.nranks > u32::MAX as u64 {
            return self.contributions(rank, start, out, |layout, j, hash| {
                self.contributor_bits(op, layout, j, hash)
            });
        }
        match (self.fmt, op) {
            (None, ReduceOp::Sum | ReduceOp::MulSum | ReduceOp::Max | ReduceOp::Min) => {
                self.contributions_branch_free(rank, start, out, move |_, _, hash| hash & mask)
            }
            (None, ReduceOp::Prod) => {
                self.contributions_branch_free(rank, start, out, move |_, _, hash| {
                    (hash | 1) & mask
                })
            }
            (Some(fmt), ReduceOp::Max | ReduceOp::Min) => {
                self.contributions_branch_free(rank, start, out, move |_, _, hash| {
                    sanitize_float(fmt, hash & mask)
                })
            }
            (Some(fmt), ReduceOp::Sum | ReduceOp::MulSum) => {
                with_sum_format!(fmt, self.float_sum_range(), self.float_magnitude, |sum| {
                    self.contributions_branch_free(rank, start, out, move |layout_hash, _, hash| {
                        sum.bits(sum.integer(hash), scale_exponent_of(layout_hash))
                    })
                })
            }
            (None, ReduceOp::Avg) => match self.contributors {
                1 => self.int_avg_input::<1>(rank, start, out),
                2 => self.int_avg_input::<2>(rank, start, out),
                3 => self.int_avg_input::<3>(rank, start, out),
                _ => self.int_avg_input::<4>(rank, start, out),
            },
            (Some(fmt), ReduceOp::Avg) => {
                with_sum_format!(fmt, self.float_magnitude + 1, 0, |avg| {
                    self.contributions_branch_free(rank, start, out, move |_, _, hash| {
                        avg.bits(avg.integer(hash), 0)
                    })
                })
            }
            (Some(fmt), ReduceOp::Prod) => {
                self.contributions_branch_free(rank, start, out, move |_, _, hash| {
                    let (negative, a) = Self::float_prod_factor(hash);
                    pow2_bits(fmt, negative, a)
                })
            }
        }
    }

    /// Integer averages of `S` contributors: contributor j's share of the total n·v
    /// ([`Scheme::contributor_bits`]), divided by the constant S, which compiles to multiplies.
    fn int_avg_input<const S: usize>(&self, rank: u64, start: u64, out: &mut [u64]) {
        let (limit, nranks, mask) = (self.int_avg_limit + 1, self.nranks, self.width_mask);
        let signed = self.params.dtype.is_signed_int();
        self.contributions_branch_free(rank, start, out, move |layout_hash, j, _| {
            let (v, negative) = int_average(layout_hash, limit, signed);
            let total = v * nranks;
            // S itself, not a captured copy: the closure runs inside `vectorised!`'s
            // target-feature function, where only constants written in it are known.
            // j >= S (a rank that does not contribute) gives a value that is discarded.
            let share = total.wrapping_mul(j + 1) / S as u64 - total.wrapping_mul(j) / S as u64;
            with_sign(share, negative, mask)
        })
    }

    /// Elements `start..` of the input of `rank` for a reduction: `value(layout, j, hash)` where
    /// the rank is contributor `j` of the element, the background elsewhere.
    #[inline(always)]
    fn contributions(
        &self,
        rank: u64,
        start: u64,
        out: &mut [u64],
        value: impl Fn(Layout, u64, u64) -> u64,
    ) {
        let (nranks, contributors, background) = (self.nranks, self.contributors, self.background);
        fill_indexed(start, out, |index| {
            let layout = self.layout(index);
            let j = if rank >= layout.start {
                rank - layout.start
            } else {
                rank + nranks - layout.start
            };
            if j >= contributors {
                return background;
            }
            value(
                layout,
                j,
                element_hash(self.contributor_keys[j as usize], index),
            )
        });
    }

    /// [`Scheme::contributions`] for values cheap enough to compute for every element:
    /// `value(layout hash, j, contributor hash)` is computed whether or not the rank contributes and
    /// the background selected afterwards, so the loop has no branch and vectorises. Needs a rank
    /// count that fits 32 bits ([`narrow_start`]).
    #[inline(always)]
    fn contributions_branch_free(
        &self,
        rank: u64,
        start: u64,
        out: &mut [u64],
        value: impl Fn(u64, u64, u64) -> u64 + Copy,
    ) {
        // Plain values, not loads through `self`, so the compiler knows the loop's stores
        // cannot change them and vectorises it.
        let (nranks, contributors, background) = (self.nranks, self.contributors, self.background);
        let (layout_key, keys) = (self.layout_key, self.contributor_keys);
        if nranks == 1 && rank == 0 {
            // One rank is contributor 0 of every element: no rank arithmetic, no key selection
            // and no background (fills then cost what checks do).
            let key = keys[0];
            return vectorised!({
                fill_scrambled(start, out, move |g| {
                    value(scrambled_hash(layout_key, g), 0, scrambled_hash(key, g))
                })
            });
        }
        vectorised!({
            fill_scrambled(start, out, move |g| {
                let layout_hash = scrambled_hash(layout_key, g);
                let first = narrow_start(layout_hash, nranks);
                let j = if rank >= first {
                    rank - first
                } else {
                    rank + nranks - first
                };
                let bits = value(layout_hash, j, scrambled_hash(select_key(keys, j), g));
                if j < contributors {
                    bits
                } else {
                    background
                }
            })
        })
    }

    /// [`Scheme::expected_reduce`]'s bits for elements `start..start + out.len()`, into `out`.
    /// Rank counts beyond 32 bits keep the element function.
    pub fn expected_reduce_block(&self, start: u64, out: &mut [u64]) {
        let op = match self.params.op {
            Some(op) if self.nranks <= u32::MAX as u64 => op,
            _ => return fill_indexed(start, out, |i| self.expected_reduce(i).0),
        };
        match self.contributors {
            1 => self.expected_block_of::<1>(op, start, out),
            2 => self.expected_block_of::<2>(op, start, out),
            3 => self.expected_block_of::<3>(op, start, out),
            _ => self.expected_block_of::<4>(op, start, out),
        }
    }

    /// [`Scheme::expected_reduce_block`] for `S` contributors and any operator: each arm is
    /// [`Scheme::expected_reduce`]'s arithmetic on the contributors' hashes.
    fn expected_block_of<const S: usize>(&self, op: ReduceOp, start: u64, out: &mut [u64]) {
        match self.fmt {
            None => self.int_expected_block::<S>(op, start, out),
            Some(fmt) => self.float_expected_block::<S>(fmt, op, start, out),
        }
    }

    /// [`Scheme::expected_block_of`] for integer types.
    fn int_expected_block<const S: usize>(&self, op: ReduceOp, start: u64, out: &mut [u64]) {
        let (mask, nranks) = (self.width_mask, self.nranks);
        match op {
            ReduceOp::Sum => reduce_block!(self, start, out, move |e: Contributors<S>| {
                e.hashes.iter().fold(0u64, |t, h| t.wrapping_add(*h)) & mask
            }),
            ReduceOp::MulSum => reduce_block!(self, start, out, move |e: Contributors<S>| {
                let terms = e.hashes.iter().enumerate();
                let total = terms.fold(0u64, |t, (j, h)| {
                    t.wrapping_add((h & mask).wrapping_mul(e.mulsum_factor(j, nranks)))
                });
                total & mask
            }),
            ReduceOp::Prod => reduce_block!(self, start, out, move |e: Contributors<S>| {
                let product = e.hashes.iter().fold(1u64, |t, h| t.wrapping_mul(h | 1));
                product & mask
            }),
            ReduceOp::Max | ReduceOp::Min => {
                let order = IntOrder::of(self);
                let (value, key) = (move |h| h & mask, move |b| order.key(b));
                match op {
                    ReduceOp::Max => self.extreme_block::<S, true>(start, out, value, key),
                    _ => self.extreme_block::<S, false>(start, out, value, key),
                }
            }
            ReduceOp::Avg => {
                // The shares add up to n·v: the average is v.
                let limit = self.int_avg_limit + 1;
                let signed = self.params.dtype.is_signed_int();
                reduce_block!(self, start, out, move |e: Contributors<S>| {
                    let (v, negative) = int_average(e.layout_hash, limit, signed);
                    with_sign(v, negative, mask)
                })
            }
        }
    }

    /// [`Scheme::expected_block_of`] for the float type of format `fmt`.
    fn float_expected_block<const S: usize>(
        &self,
        fmt: FloatFormat,
        op: ReduceOp,
        start: u64,
        out: &mut [u64],
    ) {
        let (mask, nranks) = (self.width_mask, self.nranks);
        let (range, magnitude) = (self.float_sum_range(), self.float_magnitude);
        match op {
            ReduceOp::Sum => with_sum_format!(fmt, range, magnitude, |sum| {
                self.float_sum_block(sum, start, out, |_: Contributors<S>, _| 1)
            }),
            ReduceOp::MulSum => with_sum_format!(fmt, range, magnitude, |sum| {
                self.float_sum_block(sum, start, out, move |e: Contributors<S>, j| {
                    e.mulsum_factor(j, nranks) as i64
                })
            }),
            ReduceOp::Prod => reduce_block!(self, start, out, move |e: Contributors<S>| {
                let (negative, exponent) = e.hashes.iter().fold((false, 0), |(n, x), h| {
                    let (negative, a) = Self::float_prod_factor(*h);
                    (n ^ negative, x + a)
                });
                pow2_bits(fmt, negative, exponent)
            }),
            ReduceOp::Max | ReduceOp::Min => {
                let value = move |h| sanitize_float(fmt, h & mask);
                let key = move |b| float_order_key(fmt, b);
                match op {
                    ReduceOp::Max => self.extreme_block::<S, true>(start, out, value, key),
                    _ => self.extreme_block::<S, false>(start, out, value, key),
                }
            }
            ReduceOp::Avg => {
                // The correctly rounded quotient of the exact integer total (a float average is
                // checked against it within a tolerance: see `check::within_avg_tolerance`).
                let divisor = nranks as f64;
                with_sum_format!(fmt, self.float_magnitude + 1, 0, |avg| {
                    reduce_block!(self, start, out, move |e: Contributors<S>| {
                        let total = e.hashes.iter().fold(0i64, |t, h| t + avg.integer(*h));
                        avg.round(total as f64 / divisor)
                    })
                })
            }
        }
    }

    /// Float sums and mulsums: contributor j's integer times `factor(element, j)` (1 for sum)
    /// add exactly (|total| <= 2·4·M), and the scale 2^e keeps them exact in the format, so no
    /// rounding happens anywhere and the bits are those of [`Scheme::expected_reduce`].
    fn float_sum_block<const S: usize>(
        &self,
        sum: impl SumFormat,
        start: u64,
        out: &mut [u64],
        factor: impl Fn(Contributors<S>, usize) -> i64 + Copy,
    ) {
        reduce_block!(self, start, out, move |e: Contributors<S>| {
            let terms = e.hashes.iter().enumerate();
            let total = terms.fold(0i64, |t, (j, h)| t + factor(e, j) * sum.integer(*h));
            sum.bits(total, scale_exponent_of(e.layout_hash))
        })
    }

    /// Max and min: the contributor whose `value` has the largest (smallest) `key`; equal keys
    /// are equal bits, so which of them wins does not matter.
    fn extreme_block<const S: usize, const MAX: bool>(
        &self,
        start: u64,
        out: &mut [u64],
        value: impl Fn(u64) -> u64 + Copy,
        key: impl Fn(u64) -> u64 + Copy,
    ) {
        reduce_block!(self, start, out, move |e: Contributors<S>| {
            let mut best = value(e.hashes[0]);
            for h in &e.hashes[1..] {
                let candidate = value(*h);
                let better = match MAX {
                    true => key(candidate) > key(best),
                    false => key(candidate) < key(best),
                };
                best = if better { candidate } else { best };
            }
            best
        })
    }
}

/// One element of a reduction, as the expected-value loops see it.
#[derive(Clone, Copy)]
struct Contributors<const S: usize> {
    layout_hash: u64,
    /// Contributor j's hash, j < S.
    hashes: [u64; S],
    /// The rank that is contributor 0 ([`narrow_start`]); contributor j is the next j-th rank.
    first: u64,
}

impl<const S: usize> Contributors<S> {
    /// [`super::mulsum_factor`] of contributor `j`'s rank, (first + j) mod `nranks`, in
    /// arithmetic that vectorises.
    #[inline(always)]
    fn mulsum_factor(self, j: usize, nranks: u64) -> u64 {
        let rank = self.first + j as u64;
        let rank = if rank >= nranks { rank - nranks } else { rank };
        1 + (mix64(rank ^ MULSUM_SALT) & 1)
    }

    /// Element `g / GOLDEN` ([`fill_scrambled`]'s argument) of the streams `layout_key` and `keys`.
    #[inline(always)]
    fn of(layout_key: u64, keys: [u64; MAX_CONTRIBUTORS], nranks: u64, g: u64) -> Contributors<S> {
        let layout_hash = scrambled_hash(layout_key, g);
        let mut hashes = [0u64; S];
        for (hash, key) in hashes.iter_mut().zip(keys) {
            *hash = scrambled_hash(key, g);
        }
        Contributors {
            layout_hash,
            hashes,
            first: narrow_start(layout_hash, nranks),
        }
    }
}

/// How one float format draws a sum's contributor integers and encodes m·2^e: a type per kind
/// of format, so that each loop is compiled for one (a choice made inside the loop, even the
/// same every time, stops it vectorising).
trait SumFormat: Copy {
    /// An integer in `-offset..range - offset` from the contributor's hash: m in [-M, M] of a sum
    /// ([`Scheme::float_sum_integer`]), m in [0, M] of an average.
    fn integer(self, hash: u64) -> i64;
    /// Bits of m·2^e, e in [-4, 3], for the |m| the scheme allows the format (float 2^24,
    /// double 2^53, half 2^11 ...): exact, so the same bits as rounding the `f64` product.
    fn bits(self, m: i64, e: i32) -> u64;
    /// Bits of the format's nearest value to `x`, ties to even ([`crate::data::formats::f64_to_bits`]).
    fn round(self, x: f64) -> u64;
}

/// Float: the range (at most 2M + 1) fits 32 bits.
#[derive(Clone, Copy)]
struct FloatSum {
    range: u32,
    offset: i64,
}

/// Double: 2M + 1 = 2^51 + 1, drawn by 32-bit limbs.
#[derive(Clone, Copy)]
struct DoubleSum {
    range: u64,
    offset: i64,
}

/// Half, bfloat16 and fp8: drawn and computed as in float, whose value is exact in them too.
#[derive(Clone, Copy)]
struct NarrowSum {
    fmt: FloatFormat,
    float: FloatSum,
}

impl SumFormat for FloatSum {
    #[inline(always)]
    fn integer(self, hash: u64) -> i64 {
        below_u32(hash, self.range) as i64 - self.offset
    }

    #[inline(always)]
    fn bits(self, m: i64, e: i32) -> u64 {
        scaled_f32_bits(m as i32, e)
    }

    #[inline(always)]
    fn round(self, x: f64) -> u64 {
        (x as f32).to_bits() as u64
    }
}

impl SumFormat for DoubleSum {
    #[inline(always)]
    fn integer(self, hash: u64) -> i64 {
        below_by_limbs(hash, self.range) as i64 - self.offset
    }

    #[inline(always)]
    fn bits(self, m: i64, e: i32) -> u64 {
        (m as f64 * f64::from_bits(((e + 1023) as u64) << 52)).to_bits()
    }

    #[inline(always)]
    fn round(self, x: f64) -> u64 {
        x.to_bits()
    }
}

impl SumFormat for NarrowSum {
    #[inline(always)]
    fn integer(self, hash: u64) -> i64 {
        self.float.integer(hash)
    }

    #[inline(always)]
    fn bits(self, m: i64, e: i32) -> u64 {
        exact_from_f32_bits(self.fmt, self.float.bits(m, e))
    }

    #[inline(always)]
    fn round(self, x: f64) -> u64 {
        finite_f64_to_small(self.fmt, x)
    }
}

/// Bits in `fmt` (no wider than float) of a value given as float bits, exactly representable and
/// zero or normal in `fmt`: the exponent rebiased and the mantissa cut, no rounding to do.
#[inline(always)]
fn exact_from_f32_bits(fmt: FloatFormat, float_bits: u64) -> u64 {
    let sign = (float_bits >> 31) << (fmt.exp_bits + fmt.man_bits);
    let magnitude = float_bits & 0x7FFF_FFFF;
    let exponent = (magnitude >> 23).wrapping_add((fmt.bias - 127) as i64 as u64);
    let mantissa = (magnitude & 0x7F_FFFF) >> (23 - fmt.man_bits);
    let encoded = (exponent << fmt.man_bits) | mantissa;
    sign | if magnitude == 0 { 0 } else { encoded }
}

/// A float's bits as a number that orders like its value, for finite non-NaN values (the
/// generator's max and min values are finite and non-zero).
#[inline(always)]
fn float_order_key(fmt: FloatFormat, bits: u64) -> u64 {
    let top = bits << (63 - fmt.exp_bits - fmt.man_bits);
    if top >> 63 == 1 {
        !top
    } else {
        top | 1 << 63
    }
}

/// Integer bits as a number that orders like the type's value: the value moved to the top bits,
/// and the sign bit flipped for signed types (two's complement then orders as unsigned).
#[derive(Clone, Copy)]
struct IntOrder {
    shift: u32,
    flip: u64,
}

impl IntOrder {
    fn of(scheme: &Scheme) -> IntOrder {
        let dtype = scheme.params.dtype;
        IntOrder {
            shift: 64 - dtype.size_bytes() as u32 * 8,
            flip: if dtype.is_signed_int() { 1 << 63 } else { 0 },
        }
    }

    #[inline(always)]
    fn key(self, bits: u64) -> u64 {
        (bits << self.shift) ^ self.flip
    }
}

/// [`Scheme::layout`]'s start rank by a 32×32-bit multiply: the same value while the rank count
/// fits 32 bits (the callers check), in arithmetic that vectorises.
#[inline(always)]
fn narrow_start(layout_hash: u64, nranks: u64) -> u64 {
    ((layout_hash & 0xFFFF_FFFF) * (nranks as u32 as u64)) >> 32
}

/// `keys[j]` by selects rather than an indexed load, so that it vectorises; any key for
/// `j >= MAX_CONTRIBUTORS` (whose value the callers discard).
#[inline(always)]
fn select_key(keys: [u64; MAX_CONTRIBUTORS], j: u64) -> u64 {
    let [k0, k1, k2, k3] = keys;
    let key = if j == 1 { k1 } else { k0 };
    let key = if j == 2 { k2 } else { key };
    if j == 3 {
        k3
    } else {
        key
    }
}

/// Bits of the float `m·2^e` for |m| <= 2^24 and e in [-4, 3]: exact in `f32`, so the same bits
/// as rounding the `f64` product to float.
#[inline(always)]
fn scaled_f32_bits(m: i32, e: i32) -> u64 {
    (m as f32 * f32::from_bits(((e + 127) as u32) << 23)).to_bits() as u64
}

/// `out[i] = value((start + i) × GOLDEN)`, the product kept by an addition per element: the loop of
/// the vectorised block generators, whose values depend on the index only through
/// [`scrambled_hash`].
#[inline(always)]
fn fill_scrambled(start: u64, out: &mut [u64], value: impl Fn(u64) -> u64) {
    let mut scrambled = start.wrapping_mul(GOLDEN);
    for o in out.iter_mut() {
        *o = value(scrambled);
        scrambled = scrambled.wrapping_add(GOLDEN);
    }
}

/// `out[i] = value(start + i)`: the loop every block generator runs.
#[inline(always)]
fn fill_indexed(start: u64, out: &mut [u64], value: impl Fn(u64) -> u64) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = value(start + i as u64);
    }
}
