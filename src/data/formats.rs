//! Bit-level conversions between element bit patterns and f64, for every float type, without any
//! library: `kernels/collbench.cu` mirrors these functions (`cb_format`, `cb_pow2`, `cb_small_to_f64`,
//! `cb_f64_to_small`, `cb_bits_to_f64`, `cb_f64_to_bits`, `cb_sanitize_float`).
//!
//! Small formats (half, bfloat16, fp8) are described by a [`FloatFormat`] and handled by one generic
//! decoder and one round-to-nearest-even encoder. fp8 e4m3 is the OCP "fn" variant NVIDIA uses: no
//! infinities, one NaN pattern per sign (S.1111.111), largest finite 448; encoding saturates to ±448
//! like `__NV_SATFINITE`. The other formats are IEEE-like (all-ones exponent = inf/NaN).

use crate::types::DataType;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloatFormat {
    pub exp_bits: u32,
    pub man_bits: u32,
    pub bias: i32,
    /// IEEE-like: the all-ones exponent means infinity or NaN. False for e4m3.
    pub has_inf: bool,
}

pub const HALF: FloatFormat = FloatFormat {
    exp_bits: 5,
    man_bits: 10,
    bias: 15,
    has_inf: true,
};
pub const BFLOAT16: FloatFormat = FloatFormat {
    exp_bits: 8,
    man_bits: 7,
    bias: 127,
    has_inf: true,
};
pub const FLOAT: FloatFormat = FloatFormat {
    exp_bits: 8,
    man_bits: 23,
    bias: 127,
    has_inf: true,
};
pub const DOUBLE: FloatFormat = FloatFormat {
    exp_bits: 11,
    man_bits: 52,
    bias: 1023,
    has_inf: true,
};
pub const FP8_E4M3: FloatFormat = FloatFormat {
    exp_bits: 4,
    man_bits: 3,
    bias: 7,
    has_inf: false,
};
pub const FP8_E5M2: FloatFormat = FloatFormat {
    exp_bits: 5,
    man_bits: 2,
    bias: 15,
    has_inf: true,
};

/// The format of a float type; `None` for integer types.
pub fn float_format(dtype: DataType) -> Option<FloatFormat> {
    match dtype {
        DataType::Half => Some(HALF),
        DataType::Bfloat16 => Some(BFLOAT16),
        DataType::Float => Some(FLOAT),
        DataType::Double => Some(DOUBLE),
        DataType::Fp8E4M3 => Some(FP8_E4M3),
        DataType::Fp8E5M2 => Some(FP8_E5M2),
        _ => None,
    }
}

impl FloatFormat {
    pub fn exp_all_ones(self) -> u64 {
        (1u64 << self.exp_bits) - 1
    }

    pub fn man_mask(self) -> u64 {
        (1u64 << self.man_bits) - 1
    }

    pub fn sign_bit(self) -> u64 {
        1u64 << (self.exp_bits + self.man_bits)
    }

    /// Bit pattern of the largest finite value (448 for e4m3, 65504 for half...).
    pub fn max_finite_bits(self) -> u64 {
        if self.has_inf {
            ((self.exp_all_ones() - 1) << self.man_bits) | self.man_mask()
        } else {
            (self.exp_all_ones() << self.man_bits) | (self.man_mask() - 1)
        }
    }

    /// Machine epsilon: the distance from 1 to the next value.
    pub fn epsilon(self) -> f64 {
        pow2(-(self.man_bits as i32))
    }

    /// Smallest positive (subnormal) value. Double's 2^-1074 is below [`pow2`]'s range.
    pub fn min_subnormal(self) -> f64 {
        if self == DOUBLE {
            f64::from_bits(1)
        } else {
            pow2(1 - self.bias - self.man_bits as i32)
        }
    }
}

/// 2^k for k in the normal f64 exponent range [-1022, 1023], built from its bits.
#[inline(always)]
pub fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// Bits of ±2^k in `fmt`, for k in the format's normal range: the generator's products.
#[inline(always)]
pub fn pow2_bits(fmt: FloatFormat, negative: bool, k: i32) -> u64 {
    ((negative as u64) << (fmt.exp_bits + fmt.man_bits)) | (((k + fmt.bias) as u64) << fmt.man_bits)
}

/// Exact value of a small-format bit pattern.
#[inline(always)]
pub fn small_to_f64(fmt: FloatFormat, bits: u64) -> f64 {
    let negative = (bits >> (fmt.exp_bits + fmt.man_bits)) & 1 == 1;
    let exp = (bits >> fmt.man_bits) & fmt.exp_all_ones();
    let man = bits & fmt.man_mask();
    let magnitude = if exp == 0 {
        man as f64 * pow2(1 - fmt.bias - fmt.man_bits as i32)
    } else if fmt.has_inf && exp == fmt.exp_all_ones() {
        if man == 0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    } else if !fmt.has_inf && exp == fmt.exp_all_ones() && man == fmt.man_mask() {
        f64::NAN
    } else {
        (man + (1u64 << fmt.man_bits)) as f64 * pow2(exp as i32 - fmt.bias - fmt.man_bits as i32)
    };
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// Rounds `x` to the nearest small-format value, ties to even. Overflow gives infinity (IEEE-like
/// formats) or saturates to the largest finite value (e4m3); NaN gives the canonical NaN.
#[inline(always)]
pub fn f64_to_small(fmt: FloatFormat, x: f64) -> u64 {
    let xb = x.to_bits();
    let sign = (xb >> 63) << (fmt.exp_bits + fmt.man_bits);
    let exp_field = ((xb >> 52) & 0x7FF) as i32;
    if exp_field == 0x7FF && (xb & 0x000F_FFFF_FFFF_FFFF) != 0 {
        // NaN: all-ones exponent with the top mantissa bit (e4m3: S.1111.111).
        return sign | (fmt.exp_all_ones() << fmt.man_bits) | (1u64 << (fmt.man_bits - 1)) | {
            if fmt.has_inf {
                0
            } else {
                fmt.man_mask()
            }
        };
    }
    let magnitude = if exp_field == 0x7FF {
        u64::MAX // infinity: handled by the overflow test below
    } else if exp_field == 0 {
        0 // zero or an f64 subnormal: far below every small format's smallest value
    } else {
        let significand = (xb & 0x000F_FFFF_FFFF_FFFF) | (1u64 << 52);
        let biased = exp_field - 1023 + fmt.bias;
        // Bits of the 53-bit significand dropped to fit man_bits (more below the normal range).
        let shift = if biased >= 1 {
            52 - fmt.man_bits
        } else {
            52 - fmt.man_bits + (1 - biased) as u32
        };
        if shift > 60 {
            0
        } else {
            let mut kept = significand >> shift;
            let rest = significand & ((1u64 << shift) - 1);
            let half = 1u64 << (shift - 1);
            if rest > half || (rest == half && (kept & 1) == 1) {
                kept += 1;
            }
            if biased >= 1 {
                // A carry out of the mantissa bumps the exponent, as it should.
                ((biased as u64) << fmt.man_bits) + kept - (1u64 << fmt.man_bits)
            } else {
                kept // subnormal; a carry gives exactly the smallest normal
            }
        }
    };
    if magnitude > fmt.max_finite_bits() {
        if fmt.has_inf {
            sign | (fmt.exp_all_ones() << fmt.man_bits)
        } else {
            sign | fmt.max_finite_bits()
        }
    } else {
        sign | magnitude
    }
}

/// [`f64_to_small`] for a finite `x`, with selects where it branches, so that a loop of it
/// vectorises: the same bits for every finite value (a unit test compares the two).
#[inline(always)]
pub fn finite_f64_to_small(fmt: FloatFormat, x: f64) -> u64 {
    let xb = x.to_bits();
    let sign = (xb >> 63) << (fmt.exp_bits + fmt.man_bits);
    let exp_field = ((xb >> 52) & 0x7FF) as i64;
    let significand = (xb & 0x000F_FFFF_FFFF_FFFF) | (1u64 << 52);
    let biased = exp_field - 1023 + fmt.bias as i64;
    let below_normal = if biased >= 1 { 0 } else { 1 - biased };
    let shift = 52 - fmt.man_bits as i64 + below_normal;
    // At most 60, so the shifts stay defined; a larger shift gives zero below.
    let clamped = shift.min(60) as u32;
    let kept = significand >> clamped;
    let rest = significand & ((1u64 << clamped) - 1);
    let half = 1u64 << (clamped - 1);
    let kept = kept + (rest > half || (rest == half && kept & 1 == 1)) as u64;
    let normal = ((biased.max(1) as u64) << fmt.man_bits) + kept - (1u64 << fmt.man_bits);
    let magnitude = if biased >= 1 { normal } else { kept };
    let magnitude = if exp_field == 0 || shift > 60 {
        0
    } else {
        magnitude
    };
    let overflow = match fmt.has_inf {
        true => fmt.exp_all_ones() << fmt.man_bits,
        false => fmt.max_finite_bits(),
    };
    sign | if magnitude > fmt.max_finite_bits() {
        overflow
    } else {
        magnitude
    }
}

/// Exact value of an element's bit pattern for a float type (integer types: not meaningful, use the
/// integer helpers).
#[inline(always)]
pub fn bits_to_f64(fmt: FloatFormat, bits: u64) -> f64 {
    if fmt == DOUBLE {
        f64::from_bits(bits)
    } else if fmt == FLOAT {
        f32::from_bits(bits as u32) as f64
    } else {
        small_to_f64(fmt, bits)
    }
}

/// Nearest value of the float type (ties to even), as bits.
#[inline(always)]
pub fn f64_to_bits(fmt: FloatFormat, x: f64) -> u64 {
    if fmt == DOUBLE {
        x.to_bits()
    } else if fmt == FLOAT {
        (x as f32).to_bits() as u64
    } else {
        f64_to_small(fmt, x)
    }
}

/// Turns random bits into a finite, normal, non-zero value of the format (no NaN, infinity, zero,
/// negative zero or subnormal: comparisons and copies of those may legitimately differ between
/// libraries, e.g. flush-to-zero or fmin(+0,-0)).
#[inline(always)]
pub fn sanitize_float(fmt: FloatFormat, bits: u64) -> u64 {
    let sign = bits & fmt.sign_bit();
    let mut exp = (bits >> fmt.man_bits) & fmt.exp_all_ones();
    let mut man = bits & fmt.man_mask();
    if exp == 0 {
        exp = 1;
    }
    if exp == fmt.exp_all_ones() {
        if fmt.has_inf {
            exp -= 1;
        } else if man == fmt.man_mask() {
            man -= 1;
        }
    }
    sign | (exp << fmt.man_bits) | man
}

/// Bits of an element, as an integer type's two's-complement value (sign-extended for signed types).
#[inline(always)]
pub fn int_value(dtype: DataType, bits: u64) -> i128 {
    let width = dtype.size_bytes() as u32 * 8;
    if dtype.is_signed_int() {
        let shift = 64 - width;
        (((bits << shift) as i64) >> shift) as i128
    } else {
        bits as i128
    }
}

/// How people read an element: integers in decimal, floats as their value with the bit pattern.
pub fn format_bits(dtype: DataType, bits: u64) -> String {
    match float_format(dtype) {
        None => int_value(dtype, bits).to_string(),
        Some(fmt) => {
            let digits = dtype.size_bytes() * 2;
            format!("{} (0x{:0digits$x})", bits_to_f64(fmt, bits), bits)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::{bf16, f16};

    #[test]
    fn half_and_bfloat16_decode_like_the_half_crate_for_every_pattern() {
        for b in 0..=u16::MAX as u64 {
            let ours = small_to_f64(HALF, b);
            let theirs = f16::from_bits(b as u16).to_f64();
            assert!(
                ours == theirs || (ours.is_nan() && theirs.is_nan()),
                "half {b:#x}"
            );
            let ours = small_to_f64(BFLOAT16, b);
            let theirs = bf16::from_bits(b as u16).to_f64();
            assert!(
                ours == theirs || (ours.is_nan() && theirs.is_nan()),
                "bf16 {b:#x}"
            );
        }
    }

    #[test]
    fn finite_f64_to_small_rounds_like_f64_to_small() {
        for fmt in [HALF, BFLOAT16, FP8_E4M3, FP8_E5M2] {
            let width = 1 + fmt.exp_bits + fmt.man_bits;
            // Every value of the format, the midpoints between neighbours (ties) and the f64
            // values just beside them, then random finite f64 bits over the whole range.
            let values: Vec<f64> = (0..1u64 << width)
                .map(|bits| small_to_f64(fmt, bits))
                .filter(|v| v.is_finite())
                .collect();
            let mut xs = Vec::new();
            for pair in values.windows(2) {
                let middle = (pair[0] + pair[1]) / 2.0;
                let beside = |d: i64| f64::from_bits((middle.to_bits() as i64 + d) as u64);
                xs.extend([pair[0], middle, beside(-1), beside(1)]);
            }
            xs.extend((0..100_000u64).map(|i| f64::from_bits(super::super::hash::mix64(i))));
            xs.extend([0.0, -0.0, f64::MAX, f64::MIN_POSITIVE, 5e-324, 1e6, -1e6]);
            for x in xs.into_iter().filter(|x| x.is_finite()) {
                assert_eq!(
                    finite_f64_to_small(fmt, x),
                    f64_to_small(fmt, x),
                    "{fmt:?} {x:e}"
                );
            }
        }
    }

    #[test]
    fn half_and_bfloat16_round_like_the_half_crate() {
        // Every representable value, every midpoint between neighbours (ties), and the f32 values
        // next to the midpoints, including subnormals and overflow. (The half crate converts f64
        // through f32, and its bf16::from_f64 misrounds some subnormals, so the oracle is from_f32 on
        // f32-exact inputs.)
        let f32_neighbours = |x: f64| {
            let b = (x as f32).to_bits();
            [f32::from_bits(b + 1) as f64, f32::from_bits(b - 1) as f64]
        };
        for b in 0..0x7C00u64 {
            for fmt in [HALF, BFLOAT16] {
                let lo = small_to_f64(fmt, b);
                let hi = small_to_f64(fmt, b + 1);
                let mid = (lo + hi) / 2.0;
                if !mid.is_finite() || mid as f32 == 0.0 || (mid as f32).is_infinite() {
                    continue;
                }
                let [above, below] = f32_neighbours(mid);
                for x in [lo, mid, above, below, -mid, -lo] {
                    let expected = if fmt == HALF {
                        f16::from_f32(x as f32).to_bits()
                    } else {
                        bf16::from_f32(x as f32).to_bits()
                    };
                    assert_eq!(f64_to_small(fmt, x), expected as u64, "x={x:e} fmt={fmt:?}");
                }
            }
        }
        // Just above half the smallest subnormal rounds up; exactly half is a tie to even (zero).
        assert_eq!(f64_to_small(HALF, pow2(-25) * (1.0 + pow2(-40))), 1);
        assert_eq!(f64_to_small(HALF, pow2(-25)), 0);
        assert_eq!(f64_to_small(HALF, 3.0 * pow2(-25)), 2);
        assert_eq!(f64_to_small(HALF, 1.0 + pow2(-11) + pow2(-40)), 0x3C01);
        assert_eq!(f64_to_small(HALF, 1.0 + pow2(-11)), 0x3C00);
        assert_eq!(f64_to_small(HALF, 65520.0), 0x7C00); // rounds past the largest finite value
        assert_eq!(f64_to_small(HALF, 65519.0), 0x7BFF);
        assert_eq!(f64_to_small(HALF, 1e9), 0x7C00);
        assert_eq!(f64_to_small(HALF, -1e9), 0xFC00);
        assert_eq!(f64_to_small(HALF, 1e-30), 0);
    }

    #[test]
    fn float_conversions_are_native_casts() {
        for x in [0.1f64, -3.5, 1e-40, 3.4e38, 1e39] {
            assert_eq!(f64_to_bits(FLOAT, x), (x as f32).to_bits() as u64);
            assert_eq!(bits_to_f64(FLOAT, f64_to_bits(FLOAT, x)), (x as f32) as f64);
            assert_eq!(bits_to_f64(DOUBLE, f64_to_bits(DOUBLE, x)), x);
        }
    }

    #[test]
    fn fp8_values_and_limits() {
        assert_eq!(small_to_f64(FP8_E4M3, 0x7E), 448.0);
        assert!(small_to_f64(FP8_E4M3, 0x7F).is_nan());
        assert_eq!(small_to_f64(FP8_E4M3, 0x78), 256.0); // exponent 1111 is a normal binade
        assert_eq!(small_to_f64(FP8_E4M3, 0x01), 2f64.powi(-9));
        assert_eq!(small_to_f64(FP8_E5M2, 0x7B), 57344.0);
        assert_eq!(small_to_f64(FP8_E5M2, 0x7C), f64::INFINITY);
        assert_eq!(f64_to_small(FP8_E4M3, 1000.0), 0x7E);
        assert_eq!(f64_to_small(FP8_E4M3, -1000.0), 0xFE);
        assert_eq!(f64_to_small(FP8_E5M2, 1e6), 0x7C);
        assert_eq!(f64_to_small(FP8_E4M3, f64::NAN), 0x7F);
        assert_eq!(f64_to_small(HALF, f64::NAN), 0x7E00);
        // Round trip of every finite fp8 value.
        for fmt in [FP8_E4M3, FP8_E5M2] {
            for b in 0..256u64 {
                let v = small_to_f64(fmt, b);
                if v.is_finite() {
                    assert_eq!(f64_to_small(fmt, v), b, "{fmt:?} {b:#x}");
                }
            }
        }
    }

    #[test]
    fn sanitize_gives_finite_normal_nonzero_values() {
        for fmt in [HALF, BFLOAT16, FP8_E4M3, FP8_E5M2] {
            let width = fmt.exp_bits + fmt.man_bits + 1;
            for b in 0..(1u64 << width) {
                let s = sanitize_float(fmt, b);
                let v = small_to_f64(fmt, s);
                assert!(
                    v.is_finite() && v.abs() >= pow2(1 - fmt.bias),
                    "{fmt:?} {b:#x} -> {s:#x}"
                );
                let original = small_to_f64(fmt, b);
                if original.is_finite() && original.abs() >= pow2(1 - fmt.bias) {
                    assert_eq!(s, b, "normal values are kept");
                }
            }
        }
        assert!(f64::from_bits(sanitize_float(DOUBLE, 0x7FF0_0000_0000_0001)).is_finite());
        assert!(f32::from_bits(sanitize_float(FLOAT, 0x8000_0000) as u32).is_normal());
    }

    #[test]
    fn format_bits_is_readable() {
        assert_eq!(format_bits(DataType::Int8, 0xFF), "-1");
        assert_eq!(format_bits(DataType::Uint8, 0xFF), "255");
        assert_eq!(format_bits(DataType::Int64, u64::MAX), "-1");
        assert_eq!(format_bits(DataType::Half, 0x3E00), "1.5 (0x3e00)");
        assert_eq!(format_bits(DataType::Fp8E4M3, 0x7E), "448 (0x7e)");
    }
}
