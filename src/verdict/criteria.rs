//! What a run is judged against: `--min-busbw`/`--min-busbw-size`, nccl-tests' `NCCL_TESTS_MIN_BW`
//! and `--profile`. Built before the run (flags and environment are validated up front, exit 6).

use super::profile::{self, Profile};
use crate::cli::args::AcceptanceArgs;
use crate::cli::values::{parse_size, Flag};
use crate::error::{CollbenchError, Result};
use crate::plan::AcceptancePlan;
use crate::sinks::pushgateway::GatewayUrl;
use std::path::{Path, PathBuf};

const MIN_BUSBW_SIZE: Flag = Flag::long_only("min-busbw-size");

/// `--profile`: a profile loaded (and validated) when the command line is parsed, or `auto`.
#[derive(Clone, Debug, PartialEq)]
pub enum ProfileChoice {
    /// Resolved once the devices are known: instance type (DMI product name), then GPU model.
    Auto,
    Given(Box<Profile>),
}

/// nccl-tests fails when the average bus bandwidth is below 90% of `NCCL_TESTS_MIN_BW`
/// (src/common.cu: `bw[0] < check_avg_bw*(0.9)`).
pub const NCCL_TESTS_MIN_BW_FRACTION: f64 = 0.9;

/// Sizes checked by `--min-busbw` when `--min-busbw-size` is not given: 1 GiB, or the largest size
/// run when the sweep stops below 1 GiB.
pub const DEFAULT_MIN_BUSBW_SIZE: u64 = 1 << 30;

#[derive(Clone, Debug, PartialEq)]
pub struct MinBusbw {
    pub gbps: f64,
    /// `--min-busbw-size`; `None`: [`DEFAULT_MIN_BUSBW_SIZE`] capped at the largest size run.
    pub min_size: Option<u64>,
}

impl MinBusbw {
    /// The smallest size checked, given the largest size the run measured.
    pub fn effective_min_size(&self, largest_size: u64) -> u64 {
        match self.min_size {
            Some(size) => size,
            None => DEFAULT_MIN_BUSBW_SIZE.min(largest_size),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Criteria {
    pub min_busbw: Option<MinBusbw>,
    /// `NCCL_TESTS_MIN_BW` in GB/s, as given (the check applies 90%).
    pub nccl_tests_min_bw: Option<f64>,
    pub profile: Option<Profile>,
    /// `--require-net NAME`: NCCL must have selected this network on every rank (NCCL backend).
    pub require_net: Option<String>,
    /// `collbench accept` with none of the above: still a verdict, on what is left to judge (no
    /// wrong element, every row measured), so an acceptance run always ends in `# Verdict:`.
    pub judge_without_threshold: bool,
}

impl Criteria {
    pub fn is_empty(&self) -> bool {
        self.min_busbw.is_none()
            && self.nccl_tests_min_bw.is_none()
            && self.profile.is_none()
            && self.require_net.is_none()
    }

    /// Builds the criteria from the flag values (as typed) and the `NCCL_TESTS_MIN_BW` value.
    /// The profile is resolved separately (`--profile auto` needs the device names).
    pub fn from_flags(
        min_busbw: Option<&str>,
        min_busbw_size: Option<&str>,
        nccl_tests_min_bw_env: Option<&str>,
    ) -> Result<Criteria> {
        let min_busbw = match min_busbw {
            Some(text) => Some(MinBusbw {
                gbps: parse_gbps(text, "--min-busbw")?,
                min_size: min_busbw_size
                    .map(|s| parse_size(MIN_BUSBW_SIZE, s))
                    .transpose()?,
            }),
            None if min_busbw_size.is_some() => {
                return Err(CollbenchError::Usage(
                    "--min-busbw-size: given without --min-busbw; add --min-busbw GBPS".into(),
                ))
            }
            None => None,
        };
        let nccl_tests_min_bw =
            crate::aggregate::min_bus_bandwidth_from_env(nccl_tests_min_bw_env)?;
        Ok(Criteria {
            min_busbw,
            nccl_tests_min_bw,
            profile: None,
            require_net: None,
            judge_without_threshold: false,
        })
    }
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

/// The word nccl-tests prints after `# Avg bus bandwidth    : X` when NCCL_TESTS_MIN_BW is set:
/// `OK` or `FAILED` (nothing when it is not set). For the text sink's footer.
pub fn avg_bw_footer_word(
    avg_bus_bandwidth_gbps: f64,
    nccl_tests_min_bw: Option<f64>,
) -> &'static str {
    match nccl_tests_min_bw {
        None => "",
        Some(min) if avg_bus_bandwidth_gbps < min * NCCL_TESTS_MIN_BW_FRACTION => "FAILED",
        Some(_) => "OK",
    }
}

/// Checks the acceptance flags (and `NCCL_TESTS_MIN_BW` through `env`) into the plan's acceptance
/// section, before any work: every bad value is a usage error (exit 6).
pub fn acceptance_plan(
    raw: &AcceptanceArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AcceptancePlan> {
    let mut criteria = Criteria::from_flags(
        raw.min_busbw.as_deref(),
        raw.min_busbw_size.as_deref(),
        None,
    )?;
    // One parser for NCCL_TESTS_MIN_BW: the footer's (crate::aggregate) and the verdict's agree.
    criteria.nccl_tests_min_bw =
        crate::aggregate::min_bus_bandwidth_from_env(env("NCCL_TESTS_MIN_BW").as_deref())?;
    criteria.require_net = raw
        .require_net
        .as_deref()
        .map(parse_required_network)
        .transpose()?;
    let profile = match raw.profile.as_deref() {
        None => None,
        Some("auto") => Some(ProfileChoice::Auto),
        Some(value) => Some(ProfileChoice::Given(Box::new(Profile::load(value)?))),
    };
    let jsonl_path = output_path("--jsonl", raw.jsonl.as_deref())?;
    let prom_file = output_path("--prom-file", raw.prom_file.as_deref())?;
    if let (Some(a), Some(b)) = (&jsonl_path, &prom_file) {
        if a == b {
            return Err(CollbenchError::Usage(format!(
                "--jsonl and --prom-file both name '{}'; accepted: two different files",
                a.display()
            )));
        }
    }
    let push_gateway = match raw.push_gateway.as_deref() {
        Some(url) => {
            GatewayUrl::parse(url)?;
            Some(url.to_string())
        }
        None => None,
    };
    Ok(AcceptancePlan {
        criteria,
        profile,
        jsonl_path,
        prom_file,
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

/// An output file flag: names a file whose directory exists (checked before any work).
fn output_path(flag: &str, value: Option<&str>) -> Result<Option<PathBuf>> {
    let Some(text) = value else {
        return Ok(None);
    };
    let path = PathBuf::from(text);
    crate::sinks::check_output_path(flag, &path)?;
    Ok(Some(path))
}

impl AcceptancePlan {
    /// The criteria to judge the run by, with `--profile auto` resolved from this machine's DMI
    /// product name and the devices of the run (rank 0 calls it once the placements are known).
    pub fn resolve_criteria(&self, device_names: &[String]) -> Result<Criteria> {
        self.resolve_criteria_with(device_names, Path::new(profile::DMI_PRODUCT_NAME))
    }

    /// [`Self::resolve_criteria`] reading the instance type from `product_name_path`.
    pub fn resolve_criteria_with(
        &self,
        device_names: &[String],
        product_name_path: &Path,
    ) -> Result<Criteria> {
        let mut criteria = self.criteria.clone();
        criteria.profile = match &self.profile {
            None => None,
            Some(ProfileChoice::Given(p)) => Some((**p).clone()),
            Some(ProfileChoice::Auto) => {
                let product = profile::read_product_name(product_name_path);
                Some(profile::resolve("auto", product.as_deref(), device_names)?)
            }
        };
        Ok(criteria)
    }

    /// True when a verdict will be computed (some check was asked for).
    pub fn has_checks(&self) -> bool {
        !self.criteria.is_empty() || self.profile.is_some()
    }
}
