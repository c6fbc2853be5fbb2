//! Deterministic data and exact validation.
//!
//! Each rank's input is a pure function of (seed, rank, index) — and of the dtype, operator and rank
//! count, which pick values whose every partial reduction is exactly representable, so results are
//! exact whatever order a library reduces in (the scheme: `scheme/mod.rs`). Each rank computes its expected
//! output locally from the collective's [`Segment`](crate::collectives::Segment)s, with no data
//! exchange, in O(elements × K). `kernels/collbench.cu` mirrors this module line by line.

mod check;
pub mod formats;
mod hash;
pub mod kernels;
mod parallel;
mod scheme;
mod vectorised;

pub use check::{
    avg_float_tolerance, check_output, corrupt_bits, expected_bits, fill_input, input_bits,
    poison_bits, within_avg_tolerance, ElementSource, AVG_FLOAT_TOLERANCE_ROUNDINGS, POISON_BYTE,
};
pub use formats::{bits_to_f64, f64_to_bits, float_format, format_bits, int_value, FloatFormat};
pub use hash::{element_hash, lane_key, mix64};
pub use kernels::KERNEL_SOURCE;
pub use parallel::{check_output_parallel, copy_parallel, fill_input_parallel};
pub use scheme::{mulsum_factor, mulsum_scalar, Scheme, AVG_FLOAT_CONTRIBUTORS, MAX_CONTRIBUTORS};

use crate::types::{DataType, ReduceOp};
use serde::{Deserialize, Serialize};

/// Everything the generator needs besides (rank, index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenParams {
    pub seed: u64,
    pub nranks: usize,
    pub dtype: DataType,
    /// `None` for non-reduction collectives (data then spans the type's whole exact range).
    pub op: Option<ReduceOp>,
}

/// The first wrong element a rank found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WrongElement {
    pub rank: usize,
    /// Element index in the rank's output buffer.
    pub index: usize,
    /// Values formatted for people (e.g. `3`, `1.5`, `0x7e00`).
    pub expected: String,
    pub got: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub wrong: u64,
    pub first: Option<WrongElement>,
}

impl CheckOutcome {
    /// Combines outcomes of several ranks: wrong counts add, the lowest rank's first element wins.
    pub fn merge(mut self, other: CheckOutcome) -> CheckOutcome {
        self.wrong += other.wrong;
        self.first = match (self.first.take(), other.first) {
            (Some(a), Some(b)) => Some(if b.rank < a.rank { b } else { a }),
            (a, b) => a.or(b),
        };
        self
    }
}
