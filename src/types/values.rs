//! Value parsers for flags: sizes (`1.5G`), integers (`20`, `0x10`), 0/1 switches. Each error names
//! the flag, repeats the value given and says what is accepted.

use crate::error::{CollbenchError, Result};
use std::fmt;

/// A flag as users type it, for messages: `-b/--minbytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag {
    pub short: Option<char>,
    pub long: &'static str,
}

impl Flag {
    pub const fn new(short: char, long: &'static str) -> Flag {
        Flag {
            short: Some(short),
            long,
        }
    }

    pub const fn long_only(long: &'static str) -> Flag {
        Flag { short: None, long }
    }

    /// `-b` when it has a letter, else `--backend`.
    pub fn shortest(&self) -> String {
        match self.short {
            Some(short) => format!("-{short}"),
            None => format!("--{}", self.long),
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.short {
            Some(short) => write!(f, "-{short}/--{}", self.long),
            None => write!(f, "--{}", self.long),
        }
    }
}

/// The usage error every bad value becomes: `-n/--iters '0': accepted: ...`.
pub fn bad_value(flag: Flag, value: &str, problem: &str, accepted: &str) -> CollbenchError {
    let problem = if problem.is_empty() {
        String::new()
    } else {
        format!(" {problem};")
    };
    CollbenchError::Usage(format!("{flag} '{value}':{problem} accepted: {accepted}"))
}

/// Largest value of the integer flags nccl-tests stores in a C `int`.
pub const INT_FLAG_MAX: u64 = i32::MAX as u64;

/// Why an integer did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntProblem {
    Empty,
    Negative,
    /// A leading zero: C's strtol (nccl-tests) reads `010` as octal 8, so it is ambiguous.
    LeadingZero,
    NotANumber,
    TooLarge,
}

impl IntProblem {
    pub fn describe(&self) -> &'static str {
        match self {
            IntProblem::Empty => "empty",
            IntProblem::Negative => "negative",
            IntProblem::LeadingZero => {
                "has a leading zero (nccl-tests reads it as octal); write it without the zero or with 0x"
            }
            IntProblem::NotANumber => "not an integer",
            IntProblem::TooLarge => "too large",
        }
    }
}

/// Parses a non-negative integer: decimal, `0x` hex or `0b` binary (surrounding blanks allowed).
pub fn parse_unsigned(text: &str) -> std::result::Result<u64, IntProblem> {
    let t = text.trim();
    if t.is_empty() {
        return Err(IntProblem::Empty);
    }
    if let Some(rest) = t.strip_prefix('-') {
        // "-0" is still zero, but a minus sign on a count is a mistake worth reporting.
        return if rest.chars().all(|c| c.is_ascii_alphanumeric()) && !rest.is_empty() {
            Err(IntProblem::Negative)
        } else {
            Err(IntProblem::NotANumber)
        };
    }
    let (digits, radix) = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (hex, 16)
    } else if let Some(bin) = t.strip_prefix("0b").or_else(|| t.strip_prefix("0B")) {
        (bin, 2)
    } else {
        if t.len() > 1 && t.starts_with('0') && t.chars().all(|c| c.is_ascii_digit()) {
            return Err(IntProblem::LeadingZero);
        }
        (t, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(IntProblem::NotANumber);
    }
    u64::from_str_radix(digits, radix).map_err(|_| IntProblem::TooLarge)
}

/// An integer flag within `min..=max`.
pub fn parse_int_flag(flag: Flag, text: &str, min: u64, max: u64) -> Result<u64> {
    let accepted = if max == u64::MAX {
        format!("an integer >= {min}")
    } else {
        format!("an integer from {min} to {max}")
    };
    match parse_unsigned(text) {
        Ok(value) if value < min => Err(bad_value(flag, text, "too small", &accepted)),
        Ok(value) if value > max => Err(bad_value(flag, text, "too large", &accepted)),
        Ok(value) => Ok(value),
        Err(problem) => Err(bad_value(flag, text, problem.describe(), &accepted)),
    }
}

/// A `0/1` switch (nccl-tests treats any non-zero as 1; we accept exactly 0 or 1).
pub fn parse_switch(flag: Flag, text: &str) -> Result<bool> {
    match text.trim() {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err(bad_value(flag, text, "", "0 or 1")),
    }
}

/// What a size accepts, for messages.
pub const SIZE_ACCEPTED: &str =
    "a byte count with an optional binary suffix K, M, G or T (KiB..TiB), \
     fractions allowed: 8, 64K, 16M, 1.5G";

/// Parses a size like nccl-tests (`8`, `64K`, `16M`, `1.5G`, plus `T`), binary units, fractions
/// rounded down to whole bytes (as nccl-tests' `(size_t)` cast does). `16MB`/`16MiB`/`16 M` are
/// accepted too; anything else after the number, negatives and values above 2^64-1 are errors.
pub fn parse_size(flag: Flag, text: &str) -> Result<u64> {
    let bad = |problem: &str| bad_value(flag, text, problem, SIZE_ACCEPTED);
    let t = text.trim();
    if t.is_empty() {
        return Err(bad("empty"));
    }
    if t.starts_with('-') {
        return Err(bad("negative"));
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let (number, unit_text) = split_number(t);
    if number.is_empty() {
        return Err(bad("not a number"));
    }
    let unit: u128 = match unit_text.trim_start() {
        "" | "B" | "b" => 1,
        "K" | "k" | "KB" | "kB" | "kb" | "KiB" | "kiB" => 1 << 10,
        "M" | "m" | "MB" | "mb" | "MiB" | "miB" => 1 << 20,
        "G" | "g" | "GB" | "gb" | "GiB" | "giB" => 1 << 30,
        "T" | "t" | "TB" | "tb" | "TiB" | "tiB" => 1 << 40,
        _ => return Err(bad("unknown suffix")),
    };
    let bytes = exact_decimal_times(number, unit).ok_or_else(|| bad("not a number"))?;
    u64::try_from(bytes).map_err(|_| bad("too large (more than 2^64-1 bytes)"))
}

/// Splits `1.5e3G` into (`1.5e3`, `G`): the longest prefix shaped like a decimal number.
fn split_number(t: &str) -> (&str, &str) {
    let bytes = t.as_bytes();
    let mut i = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
    }
    // An exponent only counts when digits follow it (so `1e` is `1` with suffix `e`).
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        let digits_start = j;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        if j > digits_start {
            i = j;
        }
    }
    (&t[..i], &t[i..])
}

/// `number × unit`, rounded down, computed exactly in integers (no float rounding on large sizes).
/// `None` when `number` has no digits. Saturates at u128::MAX so the caller reports "too large".
fn exact_decimal_times(number: &str, unit: u128) -> Option<u128> {
    let (mantissa, exponent) = match number.find(['e', 'E']) {
        Some(pos) => (&number[..pos], number[pos + 1..].parse::<i64>().ok()?),
        None => (number, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(pos) => (&mantissa[..pos], &mantissa[pos + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let digits: String = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    // value = digits × 10^(exponent - frac_len) × unit
    let scale = exponent - frac_part.len() as i64;
    if digits.is_empty() {
        return Some(0);
    }
    if digits.len() > 38 || scale > 38 {
        return Some(u128::MAX);
    }
    let mut value: u128 = digits.parse().ok()?;
    value = value.saturating_mul(unit);
    if scale >= 0 {
        for _ in 0..scale {
            value = value.saturating_mul(10);
        }
        Some(value)
    } else {
        let divisor_digits = (-scale) as u32;
        if divisor_digits > 38 {
            return Some(0);
        }
        Some(value / 10u128.pow(divisor_digits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Flag = Flag::new('b', "minbytes");

    #[test]
    fn sizes_like_nccl_tests() {
        assert_eq!(parse_size(B, "8").unwrap(), 8);
        assert_eq!(parse_size(B, "64K").unwrap(), 65536);
        assert_eq!(parse_size(B, "16m").unwrap(), 16 << 20);
        assert_eq!(parse_size(B, "1.5G").unwrap(), 1_610_612_736);
        assert_eq!(parse_size(B, "2T").unwrap(), 2 << 40);
        assert_eq!(parse_size(B, "16MB").unwrap(), 16 << 20);
        assert_eq!(parse_size(B, "16 MiB").unwrap(), 16 << 20);
        assert_eq!(parse_size(B, "1.3K").unwrap(), 1331);
        assert_eq!(parse_size(B, "1e3").unwrap(), 1000);
        assert_eq!(parse_size(B, ".5K").unwrap(), 512);
        assert_eq!(parse_size(B, "0").unwrap(), 0);
        assert_eq!(parse_size(B, "18446744073709551615").unwrap(), u64::MAX);
    }

    #[test]
    fn bad_sizes_are_rejected() {
        for bad in [
            "",
            "abc",
            "-8",
            "8X",
            "1.5.5G",
            "16Mfoo",
            "1e400",
            "16777216T",
            "18446744073709551616",
            "inf",
            "nan",
            "0x10",
        ] {
            let err = parse_size(B, bad).unwrap_err().to_string();
            assert!(err.contains("-b/--minbytes"), "{err}");
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
    }

    #[test]
    fn integers() {
        assert_eq!(parse_unsigned("20"), Ok(20));
        assert_eq!(parse_unsigned("0x10"), Ok(16));
        assert_eq!(parse_unsigned("0b101"), Ok(5));
        assert_eq!(parse_unsigned("0"), Ok(0));
        assert_eq!(parse_unsigned("-3"), Err(IntProblem::Negative));
        assert_eq!(parse_unsigned("010"), Err(IntProblem::LeadingZero));
        assert_eq!(parse_unsigned("1.5"), Err(IntProblem::NotANumber));
        assert_eq!(parse_unsigned("0x"), Err(IntProblem::NotANumber));
        assert_eq!(
            parse_unsigned("99999999999999999999"),
            Err(IntProblem::TooLarge)
        );
    }
}
