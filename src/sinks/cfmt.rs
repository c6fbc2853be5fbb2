//! The few C `printf` conversions nccl-tests' text output depends on, reproduced exactly: `%*.Nf`,
//! `%*.Ne` (sign and at least two exponent digits), `%g`, and nccl-tests' rule that prints a
//! number with the first of those that fits its column (`1002.3`, `17008`, `1e+06`).
//!
//! Rust's float formatting rounds the exact binary value half-to-even, like glibc, so the digits
//! agree; only the spelling of exponents and non-finite values differs and is fixed up here.

/// C's spelling of a non-finite value (`nan`, `inf`, `-inf`), or `None` for a finite one.
fn non_finite(value: f64) -> Option<&'static str> {
    if value.is_nan() {
        Some("nan")
    } else if value == f64::INFINITY {
        Some("inf")
    } else if value == f64::NEG_INFINITY {
        Some("-inf")
    } else {
        None
    }
}

/// `%{width}.{precision}f`.
pub fn fixed(value: f64, width: usize, precision: usize) -> String {
    match non_finite(value) {
        Some(s) => format!("{s:>width$}"),
        None => format!("{value:>width$.precision$}"),
    }
}

/// `%.{precision}e` without padding: mantissa, `e`, sign, exponent of at least two digits.
fn exponent_unpadded(value: f64, precision: usize) -> String {
    if let Some(s) = non_finite(value) {
        return s.to_string();
    }
    let rust = format!("{value:.precision$e}");
    let (mantissa, exponent) = rust.split_once('e').unwrap_or((rust.as_str(), "0"));
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// `%{width}.{precision}e`.
pub fn exponent(value: f64, width: usize, precision: usize) -> String {
    format!("{:>width$}", exponent_unpadded(value, precision))
}

/// `%{width}g` (precision 6, trailing zeros removed, like C without the `#` flag).
pub fn general(value: f64, width: usize) -> String {
    format!("{:>width$}", general_unpadded(value, 6))
}

fn general_unpadded(value: f64, precision: usize) -> String {
    if let Some(s) = non_finite(value) {
        return s.to_string();
    }
    let precision = precision.max(1);
    // C decides between the styles on the exponent the %e conversion would print.
    let e_form = exponent_unpadded(value, precision - 1);
    let exp: i64 = e_form
        .rsplit_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    if exp < -4 || exp >= precision as i64 {
        let (mantissa, exp_part) = e_form.split_once('e').unwrap_or((e_form.as_str(), "+00"));
        format!("{}e{}", strip_fraction_zeros(mantissa), exp_part)
    } else {
        let decimals = (precision as i64 - 1 - exp).max(0) as usize;
        strip_fraction_zeros(&format!("{value:.decimals$}")).to_string()
    }
}

fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// nccl-tests' column rule: the first of `%.2f`, `%.1f`, `%.0f` whose text fits `width`, else
/// exponent notation (`%.1e` for columns of 7 or more, `%.0e` below).
pub fn column(value: f64, width: usize) -> String {
    for precision in [2, 1, 0] {
        let text = fixed(value, width, precision);
        if text.len() <= width {
            return text;
        }
    }
    exponent(value, width, if width >= 7 { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected strings were produced by C printf (glibc, via Python's % operator) for the same
    // conversions.
    #[test]
    fn fixed_and_exponent_match_c() {
        let cases: &[(f64, &str, &str, &str)] = &[
            // value, "%7.2f", "%6.0e", "%7.1e"
            (0.125, "   0.12", " 1e-01", "1.2e-01"),
            (2.5, "   2.50", " 2e+00", "2.5e+00"),
            (1e6, "1000000.00", " 1e+06", "1.0e+06"),
            (1.5e6, "1500000.00", " 2e+06", "1.5e+06"),
            (2.5e6, "2500000.00", " 2e+06", "2.5e+06"),
            (123456789.0, "123456789.00", " 1e+08", "1.2e+08"),
            (1.0e100, "10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469985856815104.00", "1e+100", "1.0e+100"),
            (0.000123456, "   0.00", " 1e-04", "1.2e-04"),
            (f64::NAN, "    nan", "   nan", "    nan"),
            (f64::INFINITY, "    inf", "   inf", "    inf"),
        ];
        for (v, f72, e60, e71) in cases {
            assert_eq!(fixed(*v, 7, 2), *f72, "%7.2f of {v}");
            assert_eq!(exponent(*v, 6, 0), *e60, "%6.0e of {v}");
            assert_eq!(exponent(*v, 7, 1), *e71, "%7.1e of {v}");
        }
    }

    #[test]
    fn general_matches_c() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (197114.123, "197114"),
            (50163.8123, "50163.8"),
            (1234567.0, "1.23457e+06"),
            (999999.5, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (100.0, "100"),
            (1.5, "1.5"),
            (42.0, "42"),
            (123456.0, "123456"),
            (0.1 + 0.2, "0.3"),
            (f64::NAN, "nan"),
        ];
        for (v, want) in cases {
            assert_eq!(general(*v, 0), *want, "%g of {v}");
        }
        assert_eq!(general(0.0, 6), "     0");
        assert_eq!(general(17.0, 6), "    17");
        assert_eq!(general(1234567.0, 6), "1.23457e+06");
    }

    #[test]
    fn column_rule_matches_the_anchor_spellings() {
        // width 6 (algbw/busbw): the spellings seen in nccl-tests 2.19.6 output.
        assert_eq!(column(0.0, 6), "  0.00");
        assert_eq!(column(513.79, 6), "513.79");
        assert_eq!(column(1002.34, 6), "1002.3");
        assert_eq!(column(6474.31, 6), "6474.3");
        assert_eq!(column(17008.2, 6), " 17008");
        assert_eq!(column(738922.4, 6), "738922");
        assert_eq!(column(1.4e6, 6), " 1e+06");
        assert_eq!(column(2.6e6, 6), " 3e+06");
        // width 7 (time).
        assert_eq!(column(6.52, 7), "   6.52");
        assert_eq!(column(2839.07, 7), "2839.07");
        assert_eq!(column(12345.67, 7), "12345.7");
        assert_eq!(column(123456.7, 7), " 123457");
        assert_eq!(column(1234567.8, 7), "1234568");
        assert_eq!(column(12345678.9, 7), "1.2e+07");
        // Rounding up across a boundary drops to the next precision that fits.
        assert_eq!(column(999.999, 6), "1000.0");
        assert_eq!(column(99999.6, 6), "100000");
        assert_eq!(column(999999.6, 6), " 1e+06");
        assert_eq!(column(-1.5, 6), " -1.50");
        // Non-finite values keep the column width.
        assert_eq!(column(f64::INFINITY, 6), "   inf");
        assert_eq!(column(f64::NAN, 7), "    nan");
    }
}
