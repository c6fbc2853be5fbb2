//! The acceptance part of the plan: what a run is judged against (`--min-busbw`/`--min-busbw-size`,
//! nccl-tests' `NCCL_TESTS_MIN_BW`, `--profile`, `--require-net`) and where its verdict goes. Built
//! by `crate::cli::acceptance` before the run; judged by `crate::verdict`.

use super::profile::{self, Profile};
use crate::error::Result;
use std::path::Path;

/// Acceptance verdict options (`--min-busbw`, `--profile`, `--push-gateway`, `--require-net`). Owned by the acceptance work: add fields here and in
/// the flag table (`super::flags`); nothing else in the plan needs to change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AcceptancePlan {
    /// `--min-busbw` / `--min-busbw-size` and `NCCL_TESTS_MIN_BW` (the profile is in `profile`).
    pub criteria: Criteria,
    /// `--profile`: loaded and validated at parse time, or `auto` (resolved once devices are known).
    pub profile: Option<ProfileChoice>,
    /// `--push-gateway`, checked.
    pub push_gateway: Option<String>,
}

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

/// Bus-bandwidth floors of one level (fail or warn): one floor for every size from a size up
/// (`--min-busbw GBPS`), and/or a floor per listed size (`--min-busbw 1M=5,16M=40`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BusbwFloors {
    pub from_size: Option<MinBusbw>,
    /// (size in bytes, GB/s), each judged on the rows of exactly that size, ascending by size.
    pub per_size: Vec<(u64, f64)>,
}

impl BusbwFloors {
    pub fn is_empty(&self) -> bool {
        self.from_size.is_none() && self.per_size.is_empty()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Criteria {
    /// `--min-busbw GBPS`: the fail floor for sizes from `--min-busbw-size`.
    pub min_busbw: Option<MinBusbw>,
    /// `--min-busbw SIZE=GBPS,...`: fail floors per size.
    pub min_busbw_per_size: Vec<(u64, f64)>,
    /// `--warn-busbw GBPS` or `SIZE=GBPS,...`: below it a row warns (exit 8) instead of failing.
    pub warn_busbw: BusbwFloors,
    /// `NCCL_TESTS_MIN_BW` in GB/s, as given (the check applies 90%).
    pub nccl_tests_min_bw: Option<f64>,
    pub profile: Option<Profile>,
    /// `--require-net NAME`: NCCL must have selected this network on every rank (NCCL backend).
    pub require_net: Option<String>,
    /// `collbench accept` with none of the above: still a verdict, on what is left to judge (no
    /// wrong element, every row measured), so an acceptance run always ends in `# Verdict:`.
    pub judge_without_threshold: bool,
    /// Why an asked-for check could not apply (`--profile auto` on a machine no profile covers);
    /// printed in the verdict block and stored in the verdict.
    pub note: Option<String>,
    /// What `--profile auto` looked for and did not find (`instance type '…' or devices […]`).
    pub unmatched_auto_profile: Option<String>,
}

impl Criteria {
    pub fn is_empty(&self) -> bool {
        self.min_busbw.is_none()
            && self.min_busbw_per_size.is_empty()
            && self.warn_busbw.is_empty()
            && self.nccl_tests_min_bw.is_none()
            && self.profile.is_none()
            && self.require_net.is_none()
    }
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
                let profiles = Profile::builtin()?;
                let chosen = profile::select_auto(&profiles, product.as_deref(), device_names);
                if chosen.is_none() {
                    // An instance type without a profile is still judged on what needs no
                    // expectation (data, completeness, other thresholds), and says so.
                    let subject = profile::no_match_subject(product.as_deref(), device_names);
                    criteria.note = Some(profile::no_auto_match(&subject));
                    criteria.unmatched_auto_profile = Some(subject);
                    criteria.judge_without_threshold |= criteria.is_empty();
                }
                chosen.cloned()
            }
        };
        Ok(criteria)
    }

    /// True when a verdict will be computed (some check was asked for).
    pub fn has_checks(&self) -> bool {
        !self.criteria.is_empty() || self.profile.is_some()
    }
}
