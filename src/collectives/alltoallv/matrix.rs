//! `NCCL_TESTS_ALLTOALLV_MATRIX_FILE`: an explicit traffic matrix, cell (i, j) the bytes rank i
//! sends to rank j, scaled by `NCCL_TESTS_ALLTOALLV_MATRIX_SCALE` and rounded down to 16 bytes as nccl-tests
//! 2.19.6 does (its src/alltoallv.cu). Whitespace-separated numbers, one matrix row per non-blank
//! line, square, at least as large as the rank count (the top-left nranks × nranks block is used).
//!
//! nccl-tests multiplies in `long double` (x86: a 64-bit mantissa) and truncates; [`scaled_bytes`]
//! rounds the exact product the same way, so a cell just below a multiple of 16 after scaling
//! lands where nccl-tests puts it. Unlike nccl-tests, a value that is not a finite number ≥ 0
//! (`inf`, `nan`, `-3`, `12abc`) and a bad scale are refused (exit 6) naming the line and value.

use crate::error::{CollbenchError, Result};

/// The matrix as read and scaled: bytes per (source, destination), multiples of 16.
#[derive(Clone, Debug, PartialEq)]
pub struct TrafficMatrix {
    /// Rows (= columns) in the file.
    pub dim: usize,
    /// Row-major, `dim × dim`.
    bytes: Vec<u64>,
    /// `NCCL_TESTS_ALLTOALLV_MATRIX_SCALE` (printed by the summary).
    pub scale: f64,
}

impl TrafficMatrix {
    /// Bytes from `src` to `dst` (both below `dim`).
    pub fn bytes(&self, src: usize, dst: usize) -> u64 {
        self.bytes[src * self.dim + dst]
    }

    /// Parses the text of `origin` (the file's path, for messages), scaling every cell.
    pub fn parse(text: &str, origin: &str, scale: f64) -> Result<TrafficMatrix> {
        let bad = |what: String| {
            CollbenchError::Usage(format!(
                "NCCL_TESTS_ALLTOALLV_MATRIX_FILE {origin}: {what}; accepted: a square matrix of \
                 byte counts (finite numbers >= 0), one row per line, whitespace-separated, at \
                 least as many rows as ranks"
            ))
        };
        let mut rows: Vec<(usize, Vec<u64>)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let mut row = Vec::new();
            for word in line.split_whitespace() {
                let value: f64 = word
                    .parse()
                    .map_err(|_| bad(format!("line {number}: value '{word}' is not a number")))?;
                if !value.is_finite() || value < 0.0 {
                    return Err(bad(format!(
                        "line {number}: value '{word}' is not a byte count >= 0"
                    )));
                }
                let bytes = scaled_bytes(value, scale).ok_or_else(|| {
                    bad(format!(
                        "line {number}: value '{word}' times scale {scale} does not fit in 64 bits"
                    ))
                })?;
                row.push(bytes & !15);
            }
            if row.is_empty() {
                continue;
            }
            if let Some((first_line, first)) = rows.first() {
                if row.len() != first.len() {
                    return Err(bad(format!(
                        "line {number} has {} values but line {first_line} has {}",
                        row.len(),
                        first.len()
                    )));
                }
            }
            rows.push((number, row));
        }
        let Some((_, first)) = rows.first() else {
            return Err(bad("the file holds no values".to_string()));
        };
        let dim = first.len();
        if rows.len() != dim {
            return Err(bad(format!(
                "the matrix is not square: {} rows of {dim} values",
                rows.len()
            )));
        }
        Ok(TrafficMatrix {
            dim,
            bytes: rows.into_iter().flat_map(|(_, row)| row).collect(),
            scale,
        })
    }

    /// Reads and parses `path`.
    pub fn read(path: &str, scale: f64) -> Result<TrafficMatrix> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CollbenchError::Usage(format!(
                "NCCL_TESTS_ALLTOALLV_MATRIX_FILE {path}: cannot be read ({e}); accepted: a \
                 readable text file of byte counts"
            ))
        })?;
        TrafficMatrix::parse(&text, path, scale)
    }
}

/// `value × scale` rounded to a 64-bit mantissa (x86 `long double`), then truncated to whole
/// bytes; `None` above 2^64 - 1. Both inputs are finite and ≥ 0.
pub fn scaled_bytes(value: f64, scale: f64) -> Option<u64> {
    let (Some((mv, ev)), Some((ms, es))) = (mantissa_exponent(value), mantissa_exponent(scale))
    else {
        return Some(0);
    };
    // The exact product: at most 106 bits.
    let mut product = u128::from(mv) * u128::from(ms);
    let mut exponent = ev + es;
    let bits = 128 - product.leading_zeros() as i32;
    if bits > 64 {
        let shift = bits - 64;
        let rest = product & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        product >>= shift;
        exponent += shift;
        // Round to nearest, ties to even.
        if rest > half || (rest == half && product & 1 == 1) {
            product += 1;
            if product == 1u128 << 64 {
                product >>= 1;
                exponent += 1;
            }
        }
    }
    if exponent >= 0 {
        let whole = product.checked_shl(exponent as u32)?;
        if exponent >= 64 || whole > u128::from(u64::MAX) {
            return None;
        }
        Some(whole as u64)
    } else if -exponent >= 128 {
        Some(0)
    } else {
        Some((product >> (-exponent) as u32) as u64)
    }
}

/// A finite `v > 0` as (integer mantissa, power of two); `None` for 0.
fn mantissa_exponent(v: f64) -> Option<(u64, i32)> {
    if v == 0.0 {
        return None;
    }
    let bits = v.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    Some(if exponent == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), exponent - 1075)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_scaled_and_rounded_down_to_16_bytes() {
        let m = TrafficMatrix::parse("100 200 150\n\n 50\t100 75 \n300 150 200\n", "m.txt", 1.0)
            .unwrap();
        assert_eq!(m.dim, 3);
        let cells: Vec<u64> = (0..3)
            .flat_map(|i| (0..3).map(move |j| (i, j)))
            .map(|(i, j)| m.bytes(i, j))
            .collect();
        assert_eq!(cells, [96, 192, 144, 48, 96, 64, 288, 144, 192]);
        let doubled = TrafficMatrix::parse("8 1e3\n16 0\n", "m.txt", 2.0).unwrap();
        assert_eq!(
            (0..2)
                .flat_map(|i| (0..2).map(move |j| (i, j)))
                .map(|(i, j)| doubled.bytes(i, j))
                .collect::<Vec<_>>(),
            [16, 2000, 32, 0]
        );
    }

    #[test]
    fn bad_files_name_the_line_and_value() {
        for (text, wanted) in [
            ("1 2\n3\n", "line 2 has 1 values but line 1 has 2"),
            ("1 2\n3 4\n5 6\n", "not square: 3 rows of 2 values"),
            ("1 x\n3 4\n", "line 1: value 'x' is not a number"),
            ("1 2\n3 -4\n", "line 2: value '-4' is not a byte count >= 0"),
            (
                "1 2\n3 inf\n",
                "line 2: value 'inf' is not a byte count >= 0",
            ),
            ("\n  \n", "holds no values"),
        ] {
            let err = TrafficMatrix::parse(text, "bad.txt", 1.0)
                .unwrap_err()
                .to_string();
            assert!(err.contains(wanted), "{text:?}: {err}");
            assert!(
                err.contains("NCCL_TESTS_ALLTOALLV_MATRIX_FILE bad.txt"),
                "{err}"
            );
        }
        let err = TrafficMatrix::parse("1e300\n", "big.txt", 1e300)
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not fit in 64 bits"), "{err}");
    }

    #[test]
    fn scaling_rounds_like_a_64_bit_mantissa_product() {
        assert_eq!(scaled_bytes(100.0, 1.0), Some(100));
        assert_eq!(scaled_bytes(0.0, 3.0), Some(0));
        assert_eq!(scaled_bytes(1.5, 3.0), Some(4));
        // 48 × 0.333… is 15.999999999999999 exactly; a double product rounds it up to 16, a
        // 64-bit mantissa keeps it below, and truncation gives 15 (nccl-tests: 0 after & ~15).
        assert_eq!(48.0 * (1.0 / 3.0), 16.0);
        assert_eq!(scaled_bytes(48.0, 1.0 / 3.0), Some(15));
        assert_eq!(scaled_bytes(2f64.powi(63), 2.0), None);
        assert_eq!(scaled_bytes(2f64.powi(63), 1.0), Some(1 << 63));
        assert_eq!(scaled_bytes(1e-300, 1e-300), Some(0));
    }
}
