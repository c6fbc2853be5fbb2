//! Bandwidth as people read it in verdict and acceptance lines: two decimals, as nccl-tests
//! prints GB/s, but never a nonzero value rounded to `0.00` (a `--min-busbw 0.001` threshold
//! read "busbw 0.00 < 0.00 GB/s").

/// `value` GB/s with two decimals, or two significant digits when it is below 0.01.
pub fn format_gbps(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude == 0.0 || magnitude >= 0.01 || !magnitude.is_finite() {
        return format!("{value:.2}");
    }
    // Decimals that keep two significant digits: 0.0042 → 4, 0.000001 → 7.
    let decimals = (-magnitude.log10()).ceil() as usize + 1;
    format!("{value:.decimals$}", decimals = decimals.min(12))
}

#[cfg(test)]
mod tests {
    use super::format_gbps;

    #[test]
    fn small_values_keep_two_significant_digits() {
        assert_eq!(format_gbps(120.0), "120.00");
        assert_eq!(format_gbps(0.01), "0.01");
        assert_eq!(format_gbps(0.0), "0.00");
        assert_eq!(format_gbps(0.0042), "0.0042");
        assert_eq!(format_gbps(0.000001), "0.0000010");
        assert_eq!(format_gbps(0.00123), "0.0012");
        assert_eq!(format_gbps(f64::NAN), "NaN");
    }
}
