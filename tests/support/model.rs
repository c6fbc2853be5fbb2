//! Reference arithmetic for the model tests, performed IN the target type (rounding after every
//! operation), written independently of `collbench::data`'s bit-level conversions: half and bfloat16
//! go through the `half` crate (f32 arithmetic then one rounding, which is exactly rounded for these
//! types since f32 has more than 2p+2 bits), fp8 through a table of all 256 values built from the
//! format's definition and a nearest-value search.

use collbench::types::{DataType, ReduceOp};
use half::{bf16, f16};
use std::sync::OnceLock;

/// All finite values of an fp8 format, sorted, with their bit patterns.
struct Fp8Table {
    sorted: Vec<(f64, u8)>,
    values: [f64; 256],
}

fn fp8_definition(bits: u8, e4m3: bool) -> f64 {
    let sign = if bits & 0x80 != 0 { -1.0 } else { 1.0 };
    let (exp_bits, man_bits, bias) = if e4m3 { (4, 3, 7) } else { (5, 2, 15) };
    let e = ((bits as u32) >> man_bits) & ((1 << exp_bits) - 1);
    let m = (bits as u32) & ((1 << man_bits) - 1);
    let all_ones = (1 << exp_bits) - 1;
    if e4m3 && e == all_ones && m == 7 {
        return f64::NAN;
    }
    if !e4m3 && e == all_ones {
        return if m == 0 {
            sign * f64::INFINITY
        } else {
            f64::NAN
        };
    }
    let frac = m as f64 / (1u32 << man_bits) as f64;
    if e == 0 {
        sign * frac * 2f64.powi(1 - bias)
    } else {
        sign * (1.0 + frac) * 2f64.powi(e as i32 - bias)
    }
}

fn fp8_table(dtype: DataType) -> &'static Fp8Table {
    static E4M3: OnceLock<Fp8Table> = OnceLock::new();
    static E5M2: OnceLock<Fp8Table> = OnceLock::new();
    let e4m3 = dtype == DataType::Fp8E4M3;
    let cell = if e4m3 { &E4M3 } else { &E5M2 };
    cell.get_or_init(|| {
        let mut values = [0f64; 256];
        let mut sorted = Vec::new();
        for b in 0..=255u8 {
            values[b as usize] = fp8_definition(b, e4m3);
            // Skip -0 so zero maps to +0; skip non-finite values.
            if values[b as usize].is_finite() && b != 0x80 {
                sorted.push((values[b as usize], b));
            }
        }
        sorted.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        Fp8Table { sorted, values }
    })
}

/// Nearest fp8 value, ties to the even pattern; beyond the largest finite value: saturate (e4m3,
/// NVIDIA's satfinite) or infinity (e5m2).
fn fp8_round(dtype: DataType, x: f64) -> u64 {
    let table = fp8_table(dtype);
    let s = &table.sorted;
    if x.is_nan() {
        return if dtype == DataType::Fp8E4M3 {
            0x7F
        } else {
            0x7E
        };
    }
    let max = s.last().unwrap().0;
    if x.abs() > max {
        let limit_bits = if dtype == DataType::Fp8E4M3 {
            0x7E
        } else {
            // e5m2 rounds to infinity only beyond max + half an ulp.
            if x.abs() >= 57344.0 + 4096.0 {
                0x7C
            } else {
                0x7B
            }
        };
        return limit_bits | if x < 0.0 { 0x80 } else { 0 };
    }
    let pos = s.partition_point(|(v, _)| *v < x);
    let mut candidates = Vec::new();
    if pos < s.len() {
        candidates.push(s[pos]);
    }
    if pos > 0 {
        candidates.push(s[pos - 1]);
    }
    let best = candidates
        .iter()
        .min_by(|a, b| {
            let da = (a.0 - x).abs();
            let db = (b.0 - x).abs();
            da.partial_cmp(&db).unwrap().then((a.1 & 1).cmp(&(b.1 & 1)))
        })
        .unwrap();
    let bits = best.1 as u64;
    if bits == 0 && x.is_sign_negative() && x != 0.0 {
        0x80 // a negative value rounding to zero keeps its sign
    } else {
        bits
    }
}

/// The value of an element of a float type.
pub fn value(dtype: DataType, bits: u64) -> f64 {
    match dtype {
        DataType::Half => f16::from_bits(bits as u16).to_f64(),
        DataType::Bfloat16 => bf16::from_bits(bits as u16).to_f64(),
        DataType::Float => f32::from_bits(bits as u32) as f64,
        DataType::Double => f64::from_bits(bits),
        DataType::Fp8E4M3 | DataType::Fp8E5M2 => fp8_table(dtype).values[bits as usize & 0xFF],
        _ => panic!("value() of an integer type"),
    }
}

/// Rounds an exact (or f32-computed, for half/bf16) result to the type.
fn round_from_f32(dtype: DataType, x: f32) -> u64 {
    match dtype {
        DataType::Half => f16::from_f32(x).to_bits() as u64,
        DataType::Bfloat16 => bf16::from_f32(x).to_bits() as u64,
        DataType::Float => x.to_bits() as u64,
        _ => unreachable!(),
    }
}

/// Rounds an exactly known f64 value to the type (used where the f64 result is exact).
pub fn round(dtype: DataType, x: f64) -> u64 {
    match dtype {
        DataType::Double => x.to_bits(),
        DataType::Fp8E4M3 | DataType::Fp8E5M2 => fp8_round(dtype, x),
        // f64 → f32 → half/bf16 is correct when x came from one operation on values of the type
        // (f32 has ≥ 2p+2 bits); x = q exact quotient of small integers qualifies too.
        _ => round_from_f32(dtype, x as f32),
    }
}

fn width_mask(dtype: DataType) -> u64 {
    match dtype.size_bytes() {
        8 => u64::MAX,
        n => (1u64 << (8 * n)) - 1,
    }
}

fn signed(dtype: DataType, bits: u64) -> i64 {
    let shift = 64 - 8 * dtype.size_bytes() as u32;
    ((bits << shift) as i64) >> shift
}

/// a ∘ b in the type, rounded once.
pub fn combine(dtype: DataType, op: ReduceOp, a: u64, b: u64) -> u64 {
    if !dtype.is_float() {
        let m = width_mask(dtype);
        let greater = |x: u64, y: u64| {
            if dtype.is_signed_int() {
                signed(dtype, x) > signed(dtype, y)
            } else {
                x > y
            }
        };
        return match op {
            ReduceOp::Sum | ReduceOp::Avg | ReduceOp::MulSum => a.wrapping_add(b) & m,
            ReduceOp::Prod => a.wrapping_mul(b) & m,
            ReduceOp::Max => {
                if greater(b, a) {
                    b
                } else {
                    a
                }
            }
            ReduceOp::Min => {
                if greater(a, b) {
                    b
                } else {
                    a
                }
            }
        };
    }
    let (x, y) = (value(dtype, a), value(dtype, b));
    match op {
        ReduceOp::Max => return if y > x { b } else { a },
        ReduceOp::Min => return if y < x { b } else { a },
        _ => {}
    }
    let is_mul = op == ReduceOp::Prod;
    match dtype {
        DataType::Half | DataType::Bfloat16 | DataType::Float => {
            let (x, y) = (x as f32, y as f32);
            round_from_f32(dtype, if is_mul { x * y } else { x + y })
        }
        DataType::Double => (if is_mul { x * y } else { x + y }).to_bits(),
        // fp8 × fp8 and fp8 + fp8 are exact in f64.
        _ => fp8_round(dtype, if is_mul { x * y } else { x + y }),
    }
}

/// x · scalar in the type (mulsum's pre-multiplication), rounded once.
pub fn premultiply(dtype: DataType, x: u64, scalar: u64) -> u64 {
    if dtype.is_float() {
        combine(dtype, ReduceOp::Prod, x, scalar)
    } else {
        x.wrapping_mul(scalar) & width_mask(dtype)
    }
}

/// An integer sum divided by n the way NCCL's SumPostDiv does (truncating toward zero).
pub fn int_divide(dtype: DataType, sum: u64, n: usize) -> u64 {
    let m = width_mask(dtype);
    if dtype.is_signed_int() {
        ((signed(dtype, sum) / n as i64) as u64) & m
    } else {
        (sum / n as u64) & m
    }
}

/// Folds `values` in the given order with `op` in the type.
pub fn fold(dtype: DataType, op: ReduceOp, values: &[u64], order: &[usize]) -> u64 {
    let mut acc = values[order[0]];
    for &i in &order[1..] {
        acc = combine(dtype, op, acc, values[i]);
    }
    acc
}

/// Pairwise (tree) reduction over `order`.
pub fn tree(dtype: DataType, op: ReduceOp, values: &[u64], order: &[usize]) -> u64 {
    let mut level: Vec<u64> = order.iter().map(|&i| values[i]).collect();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            next.push(if pair.len() == 2 {
                combine(dtype, op, pair[0], pair[1])
            } else {
                pair[0]
            });
        }
        level = next;
    }
    level[0]
}
