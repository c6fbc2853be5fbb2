//! What a run is judged against: `--min-busbw`/`--min-busbw-size`, nccl-tests' `NCCL_TESTS_MIN_BW`
//! and `--profile`. Built before the run (flags and environment are validated up front, exit 6).

use super::profile::Profile;
use super::size::parse_size;
use crate::error::{CollbenchError, Result};

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
}

impl Criteria {
    pub fn is_empty(&self) -> bool {
        self.min_busbw.is_none() && self.nccl_tests_min_bw.is_none() && self.profile.is_none()
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
                    .map(|s| parse_size(s, "--min-busbw-size"))
                    .transpose()?,
            }),
            None if min_busbw_size.is_some() => {
                return Err(CollbenchError::Usage(
                    "--min-busbw-size: given without --min-busbw; add --min-busbw GBPS".into(),
                ))
            }
            None => None,
        };
        // nccl-tests treats -1 as "no check" (its unset sentinel); keep that spelling working.
        let nccl_tests_min_bw = nccl_tests_min_bw_env
            .filter(|text| text.trim() != "-1")
            .map(|text| parse_gbps(text, "NCCL_TESTS_MIN_BW"))
            .transpose()?;
        Ok(Criteria {
            min_busbw,
            nccl_tests_min_bw,
            profile: None,
        })
    }

    /// Reads `NCCL_TESTS_MIN_BW` from the environment (unset or empty: no check).
    pub fn nccl_tests_min_bw_from_env() -> Option<String> {
        std::env::var("NCCL_TESTS_MIN_BW")
            .ok()
            .filter(|v| !v.trim().is_empty())
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
