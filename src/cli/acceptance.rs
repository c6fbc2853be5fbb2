//! Acceptance flags and `NCCL_TESTS_MIN_BW` checked into the plan's acceptance section
//! (`crate::plan::acceptance`), before any work: every bad value is a usage error (exit 6).

use crate::cli::args::RawArgs;
use crate::error::{CollbenchError, Result};
use crate::plan::acceptance::BusbwFloors;
use crate::plan::flags::{
    MIN_BUSBW, MIN_BUSBW_SIZE, PROFILE, PUSH_GATEWAY, REQUIRE_NET, WARN_BUSBW,
};
use crate::plan::profile::Profile;
use crate::plan::{AcceptancePlan, Criteria, MinBusbw, ProfileChoice};
use crate::sinks::pushgateway::GatewayUrl;
use crate::types::values::parse_size;

/// The one reader of NCCL_TESTS_MIN_BW: the footer and the verdict use what it returns.
/// Parses NCCL_TESTS_MIN_BW (GB/s). Unset or empty: no check. Unlike nccl-tests' `atof`, text
/// that is not a finite number ≥ 0 is a usage error instead of a silent 0.
pub fn min_bus_bandwidth_from_env(value: Option<&str>) -> Result<Option<f64>> {
    let Some(raw) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
        _ => Err(CollbenchError::Usage(format!(
            "NCCL_TESTS_MIN_BW={raw:?} is not a bandwidth; expected a number of GB/s ≥ 0 such as 180 or 92.5"
        ))),
    }
}

impl Criteria {
    /// Builds the criteria from the flag values (as typed) and the `NCCL_TESTS_MIN_BW` value.
    /// The profile is resolved separately (`--profile auto` needs the device names).
    pub fn from_flags(
        min_busbw: Option<&str>,
        min_busbw_size: Option<&str>,
        nccl_tests_min_bw_env: Option<&str>,
    ) -> Result<Criteria> {
        let fail = parse_floors("--min-busbw", min_busbw, min_busbw_size)?;
        if min_busbw.is_none() && min_busbw_size.is_some() {
            return Err(CollbenchError::Usage(
                "--min-busbw-size: given without --min-busbw; add --min-busbw GBPS".into(),
            ));
        }
        let nccl_tests_min_bw = min_bus_bandwidth_from_env(nccl_tests_min_bw_env)?;
        Ok(Criteria {
            min_busbw: fail.from_size,
            min_busbw_per_size: fail.per_size,
            nccl_tests_min_bw,
            ..Criteria::default()
        })
    }

    /// Adds `--warn-busbw` (same forms as `--min-busbw`; a uniform one starts at
    /// `--min-busbw-size` too). Each warn floor must lie above the fail floor of its sizes.
    pub fn with_warn(
        mut self,
        warn_busbw: Option<&str>,
        min_busbw_size: Option<&str>,
    ) -> Result<Criteria> {
        self.warn_busbw = parse_floors("--warn-busbw", warn_busbw, min_busbw_size)?;
        let fail_at = |size: u64| -> Option<f64> {
            self.min_busbw_per_size
                .iter()
                .find(|(s, _)| *s == size)
                .map(|(_, g)| *g)
                .or(self.min_busbw.as_ref().map(|m| m.gbps))
        };
        let warn: Vec<(Option<u64>, f64)> = self
            .warn_busbw
            .per_size
            .iter()
            .map(|(s, g)| (Some(*s), *g))
            .chain(self.warn_busbw.from_size.as_ref().map(|m| (None, m.gbps)))
            .collect();
        for (size, gbps) in warn {
            let fail = match size {
                Some(size) => fail_at(size),
                None => self.min_busbw.as_ref().map(|m| m.gbps),
            };
            if let Some(fail) = fail.filter(|fail| gbps < *fail) {
                return Err(CollbenchError::Usage(format!(
                    "--warn-busbw: {gbps} GB/s{} is below the --min-busbw floor {fail} GB/s; \
                     accepted: a warn floor at or above the fail floor (a row warns between the two)",
                    size.map(|s| format!(" at {s} B")).unwrap_or_default()
                )));
            }
        }
        Ok(self)
    }
}

const PER_SIZE_FORM: &str = "GBPS (every size from --min-busbw-size) or SIZE=GBPS,SIZE=GBPS,... \
     (each listed size, e.g. 1M=5,16M=40,1G=180)";

/// `GBPS` (one floor from `min_size` up) or `SIZE=GBPS,...` (a floor per listed size).
fn parse_floors(flag: &str, text: Option<&str>, min_size: Option<&str>) -> Result<BusbwFloors> {
    let Some(text) = text else {
        return Ok(BusbwFloors::default());
    };
    if !text.contains('=') {
        return Ok(BusbwFloors {
            from_size: Some(MinBusbw {
                gbps: parse_gbps(text, flag)?,
                min_size: min_size
                    .map(|s| parse_size(MIN_BUSBW_SIZE.flag, s))
                    .transpose()?,
            }),
            per_size: Vec::new(),
        });
    }
    let mut per_size: Vec<(u64, f64)> = Vec::new();
    for item in text.split(',') {
        let Some((size, gbps)) = item.split_once('=') else {
            return Err(CollbenchError::Usage(format!(
                "{flag} '{text}': '{item}' is not SIZE=GBPS; accepted: {PER_SIZE_FORM}"
            )));
        };
        let size_flag = match flag {
            "--warn-busbw" => WARN_BUSBW.flag,
            _ => MIN_BUSBW.flag,
        };
        let size = parse_size(size_flag, size.trim())?;
        if per_size.iter().any(|(s, _)| *s == size) {
            return Err(CollbenchError::Usage(format!(
                "{flag} '{text}': size {size} B is listed twice; accepted: {PER_SIZE_FORM}"
            )));
        }
        per_size.push((size, parse_gbps(gbps, flag)?));
    }
    per_size.sort_by_key(|(s, _)| *s);
    Ok(BusbwFloors {
        from_size: None,
        per_size,
    })
}

/// A bandwidth in GB/s: a finite number ≥ 0. nccl-tests reads NCCL_TESTS_MIN_BW with atof, which
/// turns garbage into 0 (no check); we reject it instead.
pub fn parse_gbps(text: &str, what: &str) -> Result<f64> {
    let value: f64 = text.trim().parse().map_err(|_| {
        CollbenchError::Usage(format!(
            "{what}: '{text}' is not a bandwidth; expected a number of GB/s such as 400 or 87.5"
        ))
    })?;
    if !value.is_finite() || value < 0.0 {
        return Err(CollbenchError::Usage(format!(
            "{what}: '{text}' is not a bandwidth; expected a finite number of GB/s >= 0"
        )));
    }
    Ok(value)
}

/// Checks the acceptance flags (and `NCCL_TESTS_MIN_BW` through `env`) into the plan's acceptance
/// section, before any work: every bad value is a usage error (exit 6).
pub fn acceptance_plan(
    raw: &RawArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AcceptancePlan> {
    let min_busbw_size = raw.given(&MIN_BUSBW_SIZE);
    let mut criteria = Criteria::from_flags(raw.given(&MIN_BUSBW), min_busbw_size, None)?
        .with_warn(raw.given(&WARN_BUSBW), min_busbw_size)?;
    // One parser for NCCL_TESTS_MIN_BW: the footer's (crate::aggregate) and the verdict's agree.
    criteria.nccl_tests_min_bw = min_bus_bandwidth_from_env(env("NCCL_TESTS_MIN_BW").as_deref())?;
    criteria.require_net = raw
        .given(&REQUIRE_NET)
        .map(parse_required_network)
        .transpose()?;
    let profile = match raw.given(&PROFILE) {
        None => None,
        Some("auto") => Some(ProfileChoice::Auto),
        Some(value) => Some(ProfileChoice::Given(Box::new(Profile::load(value)?))),
    };
    let push_gateway = match raw.given(&PUSH_GATEWAY) {
        Some(url) => {
            GatewayUrl::parse(url)?;
            Some(url.to_string())
        }
        None => None,
    };
    Ok(AcceptancePlan {
        criteria,
        profile,
        push_gateway,
    })
}

/// The short names `--require-net` understands (`NetSelection::satisfies`); any other value must
/// equal the network name NCCL prints (`Socket`, `IB`, `AWS Libfabric`, a plugin's name).
pub const REQUIRE_NET_NAMES: &str = "socket (or tcp), ib (or infiniband, roce), ofi (or \
                                     libfabric), efa, or a network name exactly as NCCL prints it \
                                     (e.g. \"AWS Libfabric\")";

/// `--require-net`: a network name (trimmed); empty or control characters are rejected.
pub fn parse_required_network(text: &str) -> Result<String> {
    let name = text.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(CollbenchError::Usage(format!(
            "--require-net '{}': not a network name; accepted: {REQUIRE_NET_NAMES}",
            text.escape_debug()
        )));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_bandwidth_env_is_strict() {
        assert_eq!(min_bus_bandwidth_from_env(None).unwrap(), None);
        assert_eq!(min_bus_bandwidth_from_env(Some(" ")).unwrap(), None);
        assert_eq!(
            min_bus_bandwidth_from_env(Some("92.5")).unwrap(),
            Some(92.5)
        );
        for bad in ["fast", "-1", "inf", "NaN", "12GB"] {
            let err = min_bus_bandwidth_from_env(Some(bad)).unwrap_err();
            assert_eq!(err.exit_code(), 6);
            assert!(err.to_string().contains("NCCL_TESTS_MIN_BW"), "{err}");
        }
    }
}
