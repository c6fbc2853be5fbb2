//! Element-wise arithmetic on little-endian byte buffers of any [`DataType`]: the definition of
//! the user-defined MPI operators' reduction step (half, bfloat16, fp8, 8-bit integers), which
//! [`super::blockwise`] computes block by block, and the `mulsum` pre-multiplication and `avg`
//! division. Small float types are decoded to f64, combined, and rounded to nearest-even: the
//! correctly rounded result, since f64 holds a product of two such values exactly, and a sum
//! exactly or (bfloat16 values far apart) with more than twice their bits, where rounding twice
//! gives the same result.

use crate::data::{bits_to_f64, f64_to_bits, float_format};
use crate::types::{DataType, ReduceOp};
use half::{bf16, f16};

/// The operator an MPI library applies; `avg` and `mulsum` are sums with local pre/post steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireOp {
    Sum,
    Prod,
    Min,
    Max,
}

impl WireOp {
    pub fn for_op(op: ReduceOp) -> WireOp {
        match op {
            ReduceOp::Sum | ReduceOp::Avg | ReduceOp::MulSum => WireOp::Sum,
            ReduceOp::Prod => WireOp::Prod,
            ReduceOp::Min => WireOp::Min,
            ReduceOp::Max => WireOp::Max,
        }
    }

    pub const ALL: [WireOp; 4] = [WireOp::Sum, WireOp::Prod, WireOp::Min, WireOp::Max];
}

/// One element type's arithmetic.
trait Element: Copy {
    const SIZE: usize;
    fn read(bytes: &[u8]) -> Self;
    fn write(self, bytes: &mut [u8]);
    fn from_bits(bits: u64) -> Self;
    fn add(self, other: Self) -> Self;
    fn mul(self, other: Self) -> Self;
    fn min(self, other: Self) -> Self;
    fn max(self, other: Self) -> Self;
    fn div_count(self, n: u64) -> Self;
}

/// `SIZE`, `read` and `write` for a type with `from_le_bytes`/`to_le_bytes`.
macro_rules! le_bytes_codec {
    ($t:ty) => {
        const SIZE: usize = std::mem::size_of::<$t>();
        fn read(bytes: &[u8]) -> Self {
            <$t>::from_le_bytes(bytes.try_into().unwrap_or_default())
        }
        fn write(self, bytes: &mut [u8]) {
            bytes.copy_from_slice(&self.to_le_bytes());
        }
    };
}

macro_rules! integer_element {
    ($t:ty) => {
        impl Element for $t {
            le_bytes_codec!($t);
            fn from_bits(bits: u64) -> Self {
                bits as $t
            }
            fn add(self, other: Self) -> Self {
                self.wrapping_add(other)
            }
            fn mul(self, other: Self) -> Self {
                self.wrapping_mul(other)
            }
            fn min(self, other: Self) -> Self {
                Ord::min(self, other)
            }
            fn max(self, other: Self) -> Self {
                Ord::max(self, other)
            }
            fn div_count(self, n: u64) -> Self {
                // Integer averages divide the (wrapped) sum by the rank count, truncating toward
                // zero, like NCCL's SumPostDiv. In 64 bits: the rank count need not fit the type
                // (256 ranks is 0 as a u8, 200 is -56 as an i8), and the quotient is never larger
                // than the sum, so it converts back exactly. (128-bit division cost a library
                // call per element.)
                let n = Ord::max(n, 1);
                #[allow(unused_comparisons)]
                let signed = <$t>::MIN < 0;
                if !signed {
                    (self as u64 / n) as $t
                } else if n > i64::MAX as u64 {
                    0 // |sum| < n
                } else {
                    (self as i64 / n as i64) as $t
                }
            }
        }
    };
}

integer_element!(i8);
integer_element!(u8);
integer_element!(i32);
integer_element!(u32);
integer_element!(i64);
integer_element!(u64);

macro_rules! native_float_element {
    ($t:ty, $bits:ty) => {
        impl Element for $t {
            le_bytes_codec!($t);
            fn from_bits(bits: u64) -> Self {
                <$t>::from_bits(bits as $bits)
            }
            fn add(self, other: Self) -> Self {
                self + other
            }
            fn mul(self, other: Self) -> Self {
                self * other
            }
            fn min(self, other: Self) -> Self {
                <$t>::min(self, other)
            }
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            fn div_count(self, n: u64) -> Self {
                ((self as f64) / (n as f64)) as $t
            }
        }
    };
}

native_float_element!(f32, u32);
native_float_element!(f64, u64);

macro_rules! half_element {
    ($t:ty) => {
        impl Element for $t {
            le_bytes_codec!($t);
            fn from_bits(bits: u64) -> Self {
                <$t>::from_bits(bits as u16)
            }
            fn add(self, other: Self) -> Self {
                <$t>::from_f64(self.to_f64() + other.to_f64())
            }
            fn mul(self, other: Self) -> Self {
                <$t>::from_f64(self.to_f64() * other.to_f64())
            }
            fn min(self, other: Self) -> Self {
                if other.to_f64() < self.to_f64() {
                    other
                } else {
                    self
                }
            }
            fn max(self, other: Self) -> Self {
                if other.to_f64() > self.to_f64() {
                    other
                } else {
                    self
                }
            }
            fn div_count(self, n: u64) -> Self {
                <$t>::from_f64(self.to_f64() / n as f64)
            }
        }
    };
}

half_element!(f16);
half_element!(bf16);

/// An fp8 value (`E4M3 == true`: e4m3, else e5m2), converted through the data module's codecs so
/// rounding and saturation match the generator and the GPU kernels.
#[derive(Clone, Copy)]
struct Fp8<const E4M3: bool>(u8);

impl<const E4M3: bool> Fp8<E4M3> {
    fn dtype() -> DataType {
        if E4M3 {
            DataType::Fp8E4M3
        } else {
            DataType::Fp8E5M2
        }
    }
    fn value(self) -> f64 {
        match float_format(Self::dtype()) {
            Some(format) => bits_to_f64(format, u64::from(self.0)),
            None => f64::NAN,
        }
    }
    fn from_value(x: f64) -> Self {
        match float_format(Self::dtype()) {
            Some(format) => Fp8(f64_to_bits(format, x) as u8),
            None => Fp8(0),
        }
    }
}

impl<const E4M3: bool> Element for Fp8<E4M3> {
    const SIZE: usize = 1;
    fn read(bytes: &[u8]) -> Self {
        Fp8(bytes[0])
    }
    fn write(self, bytes: &mut [u8]) {
        bytes[0] = self.0;
    }
    fn from_bits(bits: u64) -> Self {
        Fp8(bits as u8)
    }
    fn add(self, other: Self) -> Self {
        Self::from_value(self.value() + other.value())
    }
    fn mul(self, other: Self) -> Self {
        Self::from_value(self.value() * other.value())
    }
    fn min(self, other: Self) -> Self {
        if other.value() < self.value() {
            other
        } else {
            self
        }
    }
    fn max(self, other: Self) -> Self {
        if other.value() > self.value() {
            other
        } else {
            self
        }
    }
    fn div_count(self, n: u64) -> Self {
        Self::from_value(self.value() / n as f64)
    }
}

/// Calls `$body` with `$T` bound to the element type of `$dtype`.
macro_rules! with_element {
    ($dtype:expr, $T:ident => $body:expr) => {
        with_element!(@arms $dtype, $T, $body, [
            Int8: i8, Uint8: u8, Int32: i32, Uint32: u32, Int64: i64, Uint64: u64,
            Half: f16, Float: f32, Double: f64, Bfloat16: bf16,
            Fp8E4M3: Fp8<true>, Fp8E5M2: Fp8<false>
        ])
    };
    (@arms $dtype:expr, $T:ident, $body:expr, [$($variant:ident: $ty:ty),*]) => {
        match $dtype {
            $(DataType::$variant => {
                type $T = $ty;
                $body
            })*
        }
    };
}

fn combine_typed<T: Element>(op: WireOp, input: &[u8], inout: &mut [u8]) {
    // One loop per operator: a function pointer chosen per call would be called per element.
    match op {
        WireOp::Sum => combine_with(input, inout, T::add),
        WireOp::Prod => combine_with(input, inout, T::mul),
        WireOp::Min => combine_with(input, inout, T::min),
        WireOp::Max => combine_with(input, inout, T::max),
    }
}

#[inline(always)]
fn combine_with<T: Element>(input: &[u8], inout: &mut [u8], apply: impl Fn(T, T) -> T) {
    for (a, b) in input
        .chunks_exact(T::SIZE)
        .zip(inout.chunks_exact_mut(T::SIZE))
    {
        apply(T::read(a), T::read(b)).write(b);
    }
}

/// `inout[i] = input[i] op inout[i]` for every whole element both buffers hold, one element at a
/// time: the definition [`super::blockwise::combine`] computes faster for half, bfloat16 and fp8.
pub fn combine_each(dtype: DataType, op: WireOp, input: &[u8], inout: &mut [u8]) {
    with_element!(dtype, T => combine_typed::<T>(op, input, inout))
}

fn scale_typed<T: Element>(src: &[u8], dst: &mut [u8], scalar_bits: u64) {
    let scalar = T::from_bits(scalar_bits);
    for (a, b) in src.chunks_exact(T::SIZE).zip(dst.chunks_exact_mut(T::SIZE)) {
        T::read(a).mul(scalar).write(b);
    }
}

/// `dst[i] = src[i] × scalar` (scalar given as a bit pattern of `dtype`), rounded once: `mulsum`'s
/// pre-multiplication, out of place.
pub fn scale_into(dtype: DataType, src: &[u8], dst: &mut [u8], scalar_bits: u64) {
    with_element!(dtype, T => scale_typed::<T>(src, dst, scalar_bits))
}

fn scale_in_place_typed<T: Element>(data: &mut [u8], scalar_bits: u64) {
    let scalar = T::from_bits(scalar_bits);
    for chunk in data.chunks_exact_mut(T::SIZE) {
        T::read(chunk).mul(scalar).write(chunk);
    }
}

/// `data[i] ×= scalar`: `mulsum`'s pre-multiplication, in place.
pub fn scale_in_place(dtype: DataType, data: &mut [u8], scalar_bits: u64) {
    with_element!(dtype, T => scale_in_place_typed::<T>(data, scalar_bits))
}

fn divide_typed<T: Element>(data: &mut [u8], n: u64) {
    if n == 1 {
        // x / 1 is x in every type (a one-process run's average).
        return;
    }
    for chunk in data.chunks_exact_mut(T::SIZE) {
        T::read(chunk).div_count(n).write(chunk);
    }
}

/// `data[i] /= n`: the `avg` step after the sum (integers divide exactly, floats round once).
pub fn divide_in_place(dtype: DataType, data: &mut [u8], n: u64) {
    with_element!(dtype, T => divide_typed::<T>(data, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_f16(values: &[f32]) -> Vec<u8> {
        values
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect()
    }

    fn f16_values(bytes: &[u8]) -> Vec<f32> {
        bytes
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect()
    }

    #[test]
    fn half_sum_is_correctly_rounded_once() {
        // 2048 + 1 is a tie in half precision (spacing 2 above 2048): rounds to even, 2048.
        let input = bytes_f16(&[1.0, 1.5, -3.0]);
        let mut inout = bytes_f16(&[2048.0, 2.25, 7.0]);
        combine_each(DataType::Half, WireOp::Sum, &input, &mut inout);
        assert_eq!(f16_values(&inout), vec![2048.0, 3.75, 4.0]);
    }

    #[test]
    fn min_max_prod_on_bfloat16_and_integers() {
        let to_bf = |v: &[f32]| -> Vec<u8> {
            v.iter()
                .flat_map(|&x| bf16::from_f32(x).to_le_bytes())
                .collect()
        };
        let mut inout = to_bf(&[1.0, -2.0]);
        combine_each(
            DataType::Bfloat16,
            WireOp::Max,
            &to_bf(&[3.0, -4.0]),
            &mut inout,
        );
        assert_eq!(inout, to_bf(&[3.0, -2.0]));
        combine_each(
            DataType::Bfloat16,
            WireOp::Prod,
            &to_bf(&[0.5, 4.0]),
            &mut inout,
        );
        assert_eq!(inout, to_bf(&[1.5, -8.0]));

        let mut ints: Vec<u8> = [5i32, -7].iter().flat_map(|v| v.to_le_bytes()).collect();
        let other: Vec<u8> = [-9i32, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
        combine_each(DataType::Int32, WireOp::Min, &other, &mut ints);
        let back: Vec<i32> = ints
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(back, vec![-9, -7]);
    }

    #[test]
    fn fp8_uses_the_data_codecs_and_saturates_e4m3() {
        let e4m3 = float_format(DataType::Fp8E4M3).unwrap();
        let enc = |x: f64| f64_to_bits(e4m3, x) as u8;
        let mut inout = vec![enc(1.5), enc(448.0)];
        combine_each(
            DataType::Fp8E4M3,
            WireOp::Sum,
            &[enc(0.5), enc(448.0)],
            &mut inout,
        );
        assert_eq!(inout, vec![enc(2.0), enc(448.0)]);
    }

    #[test]
    fn scaling_and_average_division() {
        let src: Vec<u8> = [3u8, 200].to_vec();
        let mut dst = vec![0u8; 2];
        scale_into(DataType::Uint8, &src, &mut dst, 2);
        assert_eq!(dst, vec![6, 144]); // 400 wraps modulo 256, like the GPU
        let mut floats: Vec<u8> = [3.0f64, -8.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        scale_in_place(DataType::Double, &mut floats, 2.0f64.to_bits());
        divide_in_place(DataType::Double, &mut floats, 4);
        let back: Vec<f64> = floats
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(back, vec![1.5, -4.0]);
        let mut signed: Vec<u8> = [-12i64].iter().flat_map(|v| v.to_le_bytes()).collect();
        divide_in_place(DataType::Int64, &mut signed, 3);
        assert_eq!(i64::from_le_bytes(signed.try_into().unwrap()), -4);
    }

    #[test]
    fn integer_average_divides_by_rank_counts_the_type_cannot_hold() {
        // (type, sum's bits, ranks, quotient's bits): truncation toward zero of the sum, read as
        // the type, by the whole rank count (NCCL's SumPostDiv divides by a 32-bit rank count).
        let cases: [(DataType, u64, u64, u64); 11] = [
            (DataType::Uint8, 200, 256, 0), // 256 as u8 is 0: a division by zero panicked
            (DataType::Int8, 0, 256, 0),    // the same for i8
            (DataType::Uint8, 250, 300, 0), // 300 as u8 is 44: gave 5
            (DataType::Int8, 100, 200, 0),  // 200 as i8 is -56: gave -1
            (DataType::Int8, 0x81, 100, 0xFF), // -127 / 100 = -1 (toward zero)
            (DataType::Int8, 0x80, 2, 0xC0), // -128 / 2 = -64
            (DataType::Int32, 0xFFFF_FFFF, 3_000_000_000, 0), // -1 / 3e9 = 0; 3e9 as i32 < 0
            (DataType::Uint64, u64::MAX, 3, u64::MAX / 3),
            (DataType::Int64, i64::MIN as u64, u64::MAX, 0), // a count beyond i64
            (DataType::Int64, -7i64 as u64, 2, -3i64 as u64),
            (DataType::Int32, 0xFFFF_FFF9, 1, 0xFFFF_FFF9), // -7 / 1
        ];
        for (dtype, sum, ranks, quotient) in cases {
            let size = dtype.size_bytes();
            let mut data = sum.to_le_bytes()[..size].to_vec();
            divide_in_place(dtype, &mut data, ranks);
            let mut bits = [0u8; 8];
            bits[..size].copy_from_slice(&data);
            assert_eq!(
                u64::from_le_bytes(bits),
                quotient,
                "{dtype}: {sum:#x} / {ranks}"
            );
        }
    }
}
