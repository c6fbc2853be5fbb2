//! Sizes for people: the inverse of `crate::types::values::parse_size` (which parses `-b`/`-e`,
//! `--min-busbw-size` and profile sizes alike).

/// Formats bytes the way people write sizes (`16G`, `1.5M`, `8`), exact: `parse_size` reads it back.
pub fn format_size(bytes: u64) -> String {
    for (shift, suffix) in [(40, 'T'), (30, 'G'), (20, 'M'), (10, 'K')] {
        let unit = 1u64 << shift;
        if bytes >= unit {
            if bytes % unit == 0 {
                return format!("{}{suffix}", bytes / unit);
            }
            // Halves and quarters read well; anything else falls through to a smaller unit.
            if (u128::from(bytes) * 4) % u128::from(unit) == 0 {
                // Exact digits (no float): .25, .5 or .75 of the unit.
                let quarters = (bytes % unit) / (unit / 4);
                let fraction = ["", "25", "5", "75"][quarters as usize];
                return format!("{}.{fraction}{suffix}", bytes / unit);
            }
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::values::{parse_size, Flag};

    #[test]
    fn format_round_trips_through_the_cli_size_parser() {
        let flag = Flag::long_only("size");
        for bytes in [0, 8, 1000, 1024, 1536, 3 << 29, 17179869184, (1 << 40) + 1] {
            assert_eq!(parse_size(flag, &format_size(bytes)).unwrap(), bytes);
        }
        assert_eq!(format_size(17179869184), "16G");
        assert_eq!(format_size(3 << 29), "1.5G");
    }
}
