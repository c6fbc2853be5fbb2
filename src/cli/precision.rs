//! `--precision`, `--max-time-per-size`, `--time-budget` (the adaptive mode) checked into
//! [`AdaptivePlan`]; every bad value is a usage error naming the flag, the value and what is
//! accepted.

use crate::cli::args::RawArgs;
use crate::error::{CollbenchError, Result};
use crate::plan::adaptive::{AdaptivePlan, DEFAULT_MAX_TIME_PER_SIZE};
use crate::plan::flags::{MAX_TIME_PER_SIZE, PRECISION, TIME_BUDGET};
use crate::types::values::{bad_value, Flag};
use std::time::Duration;

const PRECISION_ACCEPTED: &str =
    "a percentage above 0 and below 100, e.g. 1% or 0.5 (the % is optional), or off";
const DURATION_ACCEPTED: &str =
    "a time above 0 with a unit, e.g. 500ms, 2s, 1.5m, 1h (a bare number is seconds)";

/// The checked adaptive plan; `None` for nccl-tests' fixed `-n`. `run_cycles` is `-N` (0: until
/// interrupted, which has no end to share a `--time-budget` over).
pub fn adaptive_plan(raw: &RawArgs, run_cycles: u64) -> Result<Option<AdaptivePlan>> {
    let precision = match raw.given(&PRECISION) {
        Some(text) => parse_precision(text)?,
        None => None,
    };
    let Some(precision_percent) = precision else {
        let budget = [MAX_TIME_PER_SIZE, TIME_BUDGET]
            .into_iter()
            .find_map(|spec| raw.given(&spec).map(|v| (spec.flag, v)));
        if let Some((flag, value)) = budget {
            return Err(CollbenchError::Usage(format!(
                "{flag} '{value}': a budget for the batches of --precision, which is {}; \
                 accepted: add --precision PCT (e.g. --precision 1%), or leave {flag} out",
                raw.given(&PRECISION).unwrap_or("not given")
            )));
        }
        return Ok(None);
    };
    let max_time_per_size = match raw.given(&MAX_TIME_PER_SIZE) {
        Some(text) => parse_duration(MAX_TIME_PER_SIZE.flag, text)?,
        None => DEFAULT_MAX_TIME_PER_SIZE,
    };
    let time_budget = raw
        .given(&TIME_BUDGET)
        .map(|text| parse_duration(TIME_BUDGET.flag, text))
        .transpose()?;
    if let (Some(text), 0) = (raw.given(&TIME_BUDGET), run_cycles) {
        return Err(bad_value(
            TIME_BUDGET.flag,
            text,
            "-N 0 runs until interrupted, so the sweep has no end to share the budget over",
            "-N 1 or more with --time-budget, or no --time-budget",
        ));
    }
    Ok(Some(AdaptivePlan {
        precision_percent,
        max_time_per_size,
        time_budget,
    }))
}

/// `1%`, `0.5`, `off` → `Some(1.0)`, `Some(0.5)`, `None`.
pub fn parse_precision(text: &str) -> Result<Option<f64>> {
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let number = trimmed.strip_suffix('%').unwrap_or(trimmed).trim();
    match number.parse::<f64>() {
        Ok(p) if p.is_finite() && p > 0.0 && p < 100.0 => Ok(Some(p)),
        Ok(p) if p.is_finite() => Err(bad_value(
            PRECISION.flag,
            text,
            "is outside 0..100 %",
            PRECISION_ACCEPTED,
        )),
        _ => Err(bad_value(
            PRECISION.flag,
            text,
            "is not a percentage",
            PRECISION_ACCEPTED,
        )),
    }
}

/// `500ms`, `2s`, `1.5m`, `1h`, `30` (seconds) → a duration above 0.
pub fn parse_duration(flag: Flag, text: &str) -> Result<Duration> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let scale = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "ms" => 1e-3,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(bad_value(
                flag,
                text,
                &format!("has the unknown unit '{other}'"),
                DURATION_ACCEPTED,
            ))
        }
    };
    let seconds = number.parse::<f64>().map(|v| v * scale);
    match seconds {
        // Up to a year: anything longer is a typo, and Duration would overflow near 1.8e19 s.
        Ok(s) if s.is_finite() && s > 0.0 && s <= 365.0 * 86400.0 => Ok(Duration::from_secs_f64(s)),
        Ok(_) => Err(bad_value(
            flag,
            text,
            "is not above 0 (or is more than a year)",
            DURATION_ACCEPTED,
        )),
        Err(_) => Err(bad_value(flag, text, "is not a time", DURATION_ACCEPTED)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(precision: Option<&str>, per_size: Option<&str>, budget: Option<&str>) -> RawArgs {
        let mut raw = RawArgs::default();
        for (spec, value) in [
            (PRECISION, precision),
            (MAX_TIME_PER_SIZE, per_size),
            (TIME_BUDGET, budget),
        ] {
            if let Some(value) = value {
                raw.set(&spec, value);
            }
        }
        raw
    }

    #[test]
    fn precision_values() {
        assert_eq!(parse_precision("1%").unwrap(), Some(1.0));
        assert_eq!(parse_precision(" 0.5 ").unwrap(), Some(0.5));
        assert_eq!(parse_precision("OFF").unwrap(), None);
        for (bad, why) in [
            ("0", "outside 0..100 %"),
            ("100%", "outside 0..100 %"),
            ("-1", "outside 0..100 %"),
            ("1x", "not a percentage"),
            ("", "not a percentage"),
            ("nan", "not a percentage"),
        ] {
            let err = parse_precision(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("--precision '{bad}'")), "{err}");
            assert!(err.contains(why), "{err}");
            assert!(err.contains("accepted: a percentage above 0"), "{err}");
        }
    }

    #[test]
    fn durations() {
        let d = |t| parse_duration(TIME_BUDGET.flag, t).unwrap();
        assert_eq!(d("2s"), Duration::from_secs(2));
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("1.5m"), Duration::from_secs(90));
        assert_eq!(d("1h"), Duration::from_secs(3600));
        assert_eq!(d("30"), Duration::from_secs(30));
        for (bad, why) in [
            ("0s", "not above 0"),
            ("2 weeks", "unknown unit 'weeks'"),
            ("s", "not a time"),
            ("-1s", "unknown unit '-1s'"),
            ("1e9h", "unknown unit 'e9h'"),
            ("99999999h", "more than a year"),
        ] {
            let err = parse_duration(TIME_BUDGET.flag, bad)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("--time-budget '{bad}'")), "{err}");
            assert!(err.contains(why), "{bad}: {err}");
            assert!(err.contains("accepted: a time above 0"), "{err}");
        }
    }

    #[test]
    fn budgets_need_precision_and_an_end() {
        assert_eq!(adaptive_plan(&raw(None, None, None), 1).unwrap(), None);
        assert_eq!(
            adaptive_plan(&raw(Some("off"), None, None), 1).unwrap(),
            None
        );
        let plan = adaptive_plan(&raw(Some("2%"), None, Some("1m")), 3)
            .unwrap()
            .unwrap();
        assert_eq!(plan.precision_percent, 2.0);
        assert_eq!(plan.max_time_per_size, DEFAULT_MAX_TIME_PER_SIZE);
        assert_eq!(plan.time_budget, Some(Duration::from_secs(60)));
        let err = adaptive_plan(&raw(None, Some("2s"), None), 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--max-time-per-size '2s': a budget for the batches of --precision, which is not given"),
            "{err}"
        );
        assert!(err.contains("accepted: add --precision PCT"), "{err}");
        let err = adaptive_plan(&raw(Some("off"), None, Some("5s")), 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--time-budget '5s'") && err.contains("which is off"),
            "{err}"
        );
        let err = adaptive_plan(&raw(Some("1"), None, Some("5s")), 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("-N 0 runs until interrupted"), "{err}");
    }
}
