//! Sizes in profiles and `--min-busbw-size`: bytes with an optional binary suffix (K, M, G, T) and
//! fractions (`1.5G`), the spelling nccl-tests' `-b`/`-e` accept. Untrusted input: every malformed
//! value is an error that says what was given and what is accepted.

use crate::error::{CollbenchError, Result};

const ACCEPTED: &str =
    "a whole number of bytes, optionally with a binary suffix K, M, G or T and a \
                        fraction (e.g. 8, 64K, 1.5G, 16G)";

/// Parses `text` as a byte count. `what` names the flag or field for the error message.
pub fn parse_size(text: &str, what: &str) -> Result<u64> {
    let trimmed = text.trim();
    let bad = |why: &str| {
        CollbenchError::Usage(format!(
            "{what}: '{text}' is not a size ({why}); expected {ACCEPTED}"
        ))
    };
    if trimmed.is_empty() {
        return Err(bad("empty"));
    }
    let (number, multiplier) = match trimmed.char_indices().last() {
        Some((at, suffix)) if suffix.is_ascii_alphabetic() => {
            let shift = match suffix.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(bad("unknown suffix")),
            };
            (&trimmed[..at], 1u64 << shift)
        }
        _ => (trimmed, 1u64),
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) || number.ends_with('.') {
        return Err(bad("not a non-negative decimal number"));
    }
    if fraction.len() > 12 {
        return Err(bad("too many fraction digits"));
    }
    let whole: u64 = whole.parse().map_err(|_| bad("too large"))?;
    let whole_bytes = whole
        .checked_mul(multiplier)
        .ok_or_else(|| bad("too large"))?;
    // Exact fraction arithmetic: fraction_digits / 10^len × multiplier must be a whole number.
    let fraction_bytes = if fraction.is_empty() {
        0
    } else {
        let numerator: u128 = fraction.parse().map_err(|_| bad("bad fraction"))?;
        let denominator = 10u128.pow(fraction.len() as u32);
        let scaled = numerator * multiplier as u128;
        if scaled % denominator != 0 {
            return Err(bad("not a whole number of bytes"));
        }
        u64::try_from(scaled / denominator).map_err(|_| bad("too large"))?
    };
    whole_bytes
        .checked_add(fraction_bytes)
        .ok_or_else(|| bad("too large"))
}

/// Formats bytes the way people write sizes (`16G`, `1.5M`, `8`), exact: `parse_size` reads it back.
pub fn format_size(bytes: u64) -> String {
    for (shift, suffix) in [(40, 'T'), (30, 'G'), (20, 'M'), (10, 'K')] {
        let unit = 1u64 << shift;
        if bytes >= unit {
            if bytes % unit == 0 {
                return format!("{}{suffix}", bytes / unit);
            }
            // Halves and quarters read well; anything else falls through to a smaller unit.
            if (bytes * 4) % unit == 0 {
                let value = bytes as f64 / unit as f64;
                return format!("{value}{suffix}");
            }
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_nccl_tests_spellings() {
        assert_eq!(parse_size("8", "x").unwrap(), 8);
        assert_eq!(parse_size("64K", "x").unwrap(), 65536);
        assert_eq!(parse_size("64k", "x").unwrap(), 65536);
        assert_eq!(parse_size("1.5G", "x").unwrap(), 3 << 29);
        assert_eq!(parse_size("16G", "x").unwrap(), 17179869184);
        assert_eq!(parse_size("1T", "x").unwrap(), 1 << 40);
        assert_eq!(parse_size(" 0 ", "x").unwrap(), 0);
    }

    #[test]
    fn rejects_malformed_sizes_naming_the_field() {
        for bad in [
            "",
            "G",
            "-1",
            "1.",
            ".5K",
            "1e9",
            "1.3",
            "12X",
            "1..2K",
            "99999999999999999999",
            "17179869184T",
            "1 G",
            "0x10",
        ] {
            let err = parse_size(bad, "--min-busbw-size").unwrap_err().to_string();
            assert!(err.contains("--min-busbw-size"), "{bad}: {err}");
            assert!(err.contains(&format!("'{bad}'")), "{bad}: {err}");
        }
    }

    #[test]
    fn format_round_trips() {
        for bytes in [0, 8, 1000, 1024, 1536, 3 << 29, 17179869184, (1 << 40) + 1] {
            assert_eq!(parse_size(&format_size(bytes), "x").unwrap(), bytes);
        }
        assert_eq!(format_size(17179869184), "16G");
        assert_eq!(format_size(3 << 29), "1.5G");
    }
}
