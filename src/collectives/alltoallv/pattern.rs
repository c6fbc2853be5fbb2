//! Who sends how many bytes to whom: nccl-tests 2.19.6's rules (its src/alltoallv.cu).
//!
//! - Generated (default): a row's size is what each rank sends in all, `total` bytes. Rank `s`
//!   sends rank `d`, at distance `k = (d - s) mod n`, a blend of an equal share and a share
//!   growing with the distance: `(1 - spread) · total/n + spread · k · total / (n(n-1)/2)` bytes,
//!   rounded down to 16 bytes (one rank: `total` rounded down). `spread` is
//!   `NCCL_TESTS_ALLTOALLV_SPREAD`, 0 (uniform) to 1 (default: nothing to itself, most to the
//!   farthest peer). Every rank sends and receives the same total.
//! - Matrix (`NCCL_TESTS_ALLTOALLV_MATRIX_FILE`): cell (s, d) of the file, scaled
//!   ([`super::matrix`]); `-b` must equal `-e`, which must hold the largest rank's send or receive
//!   total.
//!
//! The pattern of a run is set once, before the sweep ([`install`]); the collective reads it with
//! [`current`] (nccl-tests keeps it in globals too: the collective interface has no room for it).

use super::matrix::TrafficMatrix;
use crate::error::{CollbenchError, Result};
use std::sync::{Arc, RwLock};

/// The traffic pattern of an alltoallv run.
#[derive(Clone, Debug, PartialEq)]
pub enum Pattern {
    /// Distance-weighted blend; `spread` in 0..=1.
    Generated {
        spread: f64,
    },
    Matrix(Arc<TrafficMatrix>),
}

impl Default for Pattern {
    fn default() -> Self {
        Pattern::Generated { spread: 1.0 }
    }
}

impl Pattern {
    /// Bytes rank `src` sends to rank `dst` in a row whose generated total per rank is `total`
    /// bytes (unused by a matrix).
    pub fn peer_bytes(&self, src: usize, dst: usize, nranks: usize, total: u64) -> u64 {
        match self {
            Pattern::Matrix(m) => m.bytes(src, dst),
            Pattern::Generated { spread } => {
                if nranks <= 1 {
                    return total & !15;
                }
                let distance = (dst + nranks - src % nranks) % nranks;
                let sum_of_distances = (nranks * (nranks - 1) / 2) as f64;
                let total = total as f64;
                let equal_share = total / nranks as f64;
                let by_distance = distance as f64 * total / sum_of_distances;
                let bytes = (1.0 - spread) * equal_share + spread * by_distance;
                (bytes as u64) & !15
            }
        }
    }

    /// The per-peer element count printed in the `count` column (nccl-tests' `paramcount`):
    /// `count / n` rounded down to 16 bytes for a generated pattern, 0 for a matrix.
    pub fn param_count(&self, count: usize, elt_size: usize, nranks: usize) -> usize {
        match self {
            Pattern::Matrix(_) => 0,
            Pattern::Generated { .. } => super::super::per_rank_count(count, elt_size, nranks),
        }
    }

    /// The largest send and receive totals of any rank, in bytes.
    pub fn max_rank_totals(&self, nranks: usize, total: u64) -> (u64, u64) {
        let mut most = (0, 0);
        for rank in 0..nranks {
            let (sent, received) = self.rank_totals(rank, nranks, total);
            most = (most.0.max(sent), most.1.max(received));
            // Generated patterns are the same for every rank.
            if matches!(self, Pattern::Generated { .. }) {
                break;
            }
        }
        most
    }

    /// What `rank` sends and receives in all, in bytes.
    pub fn rank_totals(&self, rank: usize, nranks: usize, total: u64) -> (u64, u64) {
        (0..nranks).fold((0, 0), |(sent, received), peer| {
            (
                sent + self.peer_bytes(rank, peer, nranks, total),
                received + self.peer_bytes(peer, rank, nranks, total),
            )
        })
    }

    /// Whether the pattern can run on `nranks` ranks with `-e max_bytes`: a matrix must have a row
    /// per rank, and -e must hold the largest rank's total.
    pub fn check_world(&self, nranks: usize, max_bytes: u64) -> Result<()> {
        let Pattern::Matrix(m) = self else {
            return Ok(());
        };
        if m.dim < nranks {
            return Err(CollbenchError::Usage(format!(
                "NCCL_TESTS_ALLTOALLV_MATRIX_FILE has a {0}x{0} matrix but the test runs on \
                 {nranks} ranks; accepted: a matrix with at least {nranks} rows and columns",
                m.dim
            )));
        }
        let (sent, received) = self.max_rank_totals(nranks, 0);
        let needed = sent.max(received);
        if max_bytes < needed {
            return Err(CollbenchError::Usage(format!(
                "-e {max_bytes}: the traffic matrix (NCCL_TESTS_ALLTOALLV_MATRIX_FILE) has a rank \
                 that sends or receives {needed} bytes; accepted: -b and -e of at least {needed}"
            )));
        }
        Ok(())
    }
}

static INSTALLED: RwLock<Option<Arc<Pattern>>> = RwLock::new(None);

/// Sets the pattern of this process's run (before the sweep).
pub fn install(pattern: Pattern) {
    *INSTALLED.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(pattern));
}

/// The installed pattern, or the default (generated, spread 1).
pub fn current() -> Arc<Pattern> {
    INSTALLED
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default()
}

/// What the environment asks of an alltoallv run.
#[derive(Clone, Debug, PartialEq)]
pub struct AllToAllVOptions {
    pub pattern: Pattern,
    /// `NCCL_TESTS_ALLTOALLV_PRINT_SUMMARY` ≠ 0.
    pub print_summary: bool,
}

/// Reads `NCCL_TESTS_ALLTOALLV_SPREAD`, `_MATRIX_FILE`, `_MATRIX_SCALE` and `_PRINT_SUMMARY`
/// through `env`. nccl-tests ignores a value it cannot read and clamps one out of range; here
/// either is a usage error naming it. A matrix requires `-b` = `-e` (`min_bytes`, `max_bytes`).
pub fn options_from_env(
    env: &dyn Fn(&str) -> Option<String>,
    min_bytes: u64,
    max_bytes: u64,
) -> Result<AllToAllVOptions> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let number =
        |name: &str, default: f64, accepted: &str, ok: &dyn Fn(f64) -> bool| match set(name) {
            None => Ok(default),
            Some(text) => match text.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && ok(v) => Ok(v),
                _ => Err(CollbenchError::Usage(format!(
                    "{name}={text:?} is not accepted; accepted: {accepted}"
                ))),
            },
        };
    let spread = number(
        "NCCL_TESTS_ALLTOALLV_SPREAD",
        1.0,
        "a number from 0.0 (the same bytes to every peer) to 1.0 (bytes grow with the distance)",
        &|v| (0.0..=1.0).contains(&v),
    )?;
    let scale = number(
        "NCCL_TESTS_ALLTOALLV_MATRIX_SCALE",
        1.0,
        "a number >= 0 that multiplies every cell of the matrix, e.g. 0.5 or 4",
        &|v| v >= 0.0,
    )?;
    let print_summary = match set("NCCL_TESTS_ALLTOALLV_PRINT_SUMMARY") {
        None => false,
        Some(text) => {
            text.trim().parse::<i64>().map_err(|_| {
                CollbenchError::Usage(format!(
                    "NCCL_TESTS_ALLTOALLV_PRINT_SUMMARY={text:?} is not an integer; accepted: 1 \
                     to print the per-rank summary, 0 not to"
                ))
            })? != 0
        }
    };
    let pattern = match set("NCCL_TESTS_ALLTOALLV_MATRIX_FILE") {
        None => Pattern::Generated { spread },
        Some(path) => {
            if min_bytes != max_bytes {
                return Err(CollbenchError::Usage(format!(
                    "-b {min_bytes} and -e {max_bytes} differ, but NCCL_TESTS_ALLTOALLV_MATRIX_FILE \
                     sets every block itself; accepted: -b equal to -e (e.g. -b 32M -e 32M)"
                )));
            }
            Pattern::Matrix(Arc::new(TrafficMatrix::read(&path, scale)?))
        }
    };
    Ok(AllToAllVOptions {
        pattern,
        print_summary,
    })
}
