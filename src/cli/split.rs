//! NCCL_TESTS_SPLIT and NCCL_TESTS_SPLIT_MASK → [`SplitRule`], with nccl-tests' syntax:
//! `<op><value>` where op is `AND`/`&`, `OR`/`|`, `MOD`/`%`, `DIV`/`/` (case-insensitive, blanks
//! allowed between), value decimal, `0x` hex or `0b` binary; `NCCL_TESTS_SPLIT_MASK=<hex>` means
//! `AND <hex>` (always read as hex, as nccl-tests' `strtoul(…, 16)` does: `10` is 16).
//!
//! Stricter than nccl-tests, which silently falls back to one group: an unknown operator, a
//! malformed or trailing-garbage value, `MOD 0`/`DIV 0`, or both variables set is a usage error
//! naming the variable. collbench adds `XOR`/`^` (color = rank ^ value).

use crate::error::{CollbenchError, Result};
use crate::plan::SplitRule;
use crate::types::values::{parse_unsigned, IntProblem};

pub const SPLIT_VAR: &str = "NCCL_TESTS_SPLIT";
pub const SPLIT_MASK_VAR: &str = "NCCL_TESTS_SPLIT_MASK";

/// Colors are MPI_Comm_split colors: non-negative C ints.
const MAX_SPLIT_VALUE: u64 = i32::MAX as u64;

const SPLIT_ACCEPTED: &str =
    "<op> <value> with op AND, OR, XOR, MOD, DIV (or &, |, ^, %, /) and value \
     decimal, 0x hex or 0b binary, e.g. \"AND 0x7\", \"MOD 8\", \"/8\"";

const MASK_ACCEPTED: &str = "a hexadecimal mask (0x prefix optional), e.g. 0x7";

/// Reads both variables through `env` (so tests need not touch the process environment).
/// Empty values count as unset (launchers often export empty variables).
pub fn split_rule_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<SplitRule>> {
    let read = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let split = read(SPLIT_VAR);
    let mask = read(SPLIT_MASK_VAR);
    match (split, mask) {
        (None, None) => Ok(None),
        (Some(split), Some(mask)) => Err(CollbenchError::Usage(format!(
            "{SPLIT_VAR}='{split}' and {SPLIT_MASK_VAR}='{mask}' are both set (nccl-tests would silently \
             use only the mask); accepted: one of them"
        ))),
        (Some(split), None) => parse_split(&split).map(Some),
        (None, Some(mask)) => parse_split_mask(&mask).map(Some),
    }
}

/// `NCCL_TESTS_SPLIT_MASK`: hex, meaning `AND <mask>`.
pub fn parse_split_mask(text: &str) -> Result<SplitRule> {
    let bad = |problem: &str| {
        CollbenchError::Usage(format!(
            "{SPLIT_MASK_VAR}='{text}': {problem}; accepted: {MASK_ACCEPTED}"
        ))
    };
    let t = text.trim();
    if t.starts_with('-') {
        return Err(bad("negative"));
    }
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad("not a hexadecimal number"));
    }
    let value = u64::from_str_radix(digits, 16).map_err(|_| bad("too large"))?;
    if value > MAX_SPLIT_VALUE {
        return Err(bad(&format!("larger than {MAX_SPLIT_VALUE:#x}")));
    }
    Ok(SplitRule::And(value))
}

/// Builds the rule for one operator spelling.
type MakeRule = fn(u64) -> SplitRule;

/// `NCCL_TESTS_SPLIT`: `<op><value>`.
pub fn parse_split(text: &str) -> Result<SplitRule> {
    let bad = |problem: &str| {
        CollbenchError::Usage(format!(
            "{SPLIT_VAR}='{text}': {problem}; accepted: {SPLIT_ACCEPTED}"
        ))
    };
    let t = text.trim();
    // Longest names first is not needed (no name is a prefix of another), but words before symbols.
    const OPERATORS: [(&str, MakeRule); 10] = [
        ("AND", SplitRule::And),
        ("XOR", SplitRule::Xor),
        ("OR", SplitRule::Or),
        ("MOD", SplitRule::Mod),
        ("DIV", SplitRule::Div),
        ("&", SplitRule::And),
        ("^", SplitRule::Xor),
        ("|", SplitRule::Or),
        ("%", SplitRule::Mod),
        ("/", SplitRule::Div),
    ];
    let (name, make, rest) = OPERATORS
        .iter()
        .find_map(|(name, make)| {
            let head = t.get(..name.len())?;
            head.eq_ignore_ascii_case(name)
                .then(|| (*name, *make, &t[name.len()..]))
        })
        .ok_or_else(|| bad("unknown operator"))?;
    let value = parse_unsigned(rest).map_err(|problem| match problem {
        IntProblem::Empty => bad(&format!("{name} needs a value")),
        other => bad(&format!("value '{}': {}", rest.trim(), other.describe())),
    })?;
    if value > MAX_SPLIT_VALUE {
        return Err(bad(&format!("value larger than {MAX_SPLIT_VALUE}")));
    }
    let rule = make(value);
    if matches!(rule, SplitRule::Mod(0) | SplitRule::Div(0)) {
        return Err(bad(&format!(
            "{name} 0 divides by zero; the value must be >= 1"
        )));
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nccl_tests_spellings() {
        assert_eq!(parse_split("AND 0x7").unwrap(), SplitRule::And(7));
        assert_eq!(parse_split("and0x7").unwrap(), SplitRule::And(7));
        assert_eq!(parse_split("&0x1").unwrap(), SplitRule::And(1));
        assert_eq!(parse_split("OR 0x7").unwrap(), SplitRule::Or(7));
        assert_eq!(parse_split("|3").unwrap(), SplitRule::Or(3));
        assert_eq!(parse_split("MOD 8").unwrap(), SplitRule::Mod(8));
        assert_eq!(parse_split("%8").unwrap(), SplitRule::Mod(8));
        assert_eq!(parse_split("DIV 8").unwrap(), SplitRule::Div(8));
        assert_eq!(parse_split("/8").unwrap(), SplitRule::Div(8));
        assert_eq!(parse_split(" Div 0b1000 ").unwrap(), SplitRule::Div(8));
        assert_eq!(parse_split("XOR 1").unwrap(), SplitRule::Xor(1));
        assert_eq!(parse_split("^1").unwrap(), SplitRule::Xor(1));
        assert_eq!(parse_split_mask("0x7").unwrap(), SplitRule::And(7));
        assert_eq!(parse_split_mask("10").unwrap(), SplitRule::And(16));
    }

    #[test]
    fn malformed_values_name_the_variable() {
        for bad in [
            "",
            "FOO 3",
            "AND",
            "AND x",
            "MOD 0",
            "/0",
            "MOD -2",
            "AND 7 junk",
            "AND 010",
            "% 99999999999",
        ] {
            let err = parse_split(bad).unwrap_err().to_string();
            assert!(err.contains("NCCL_TESTS_SPLIT="), "{err}");
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
        for bad in ["zz", "-1", "0x", "0x1ffffffff"] {
            let err = parse_split_mask(bad).unwrap_err().to_string();
            assert!(err.contains("NCCL_TESTS_SPLIT_MASK="), "{err}");
        }
    }
}
