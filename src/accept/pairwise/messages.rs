//! What the ranks of a pairwise run tell each other: rank 0's word before each round, each process's
//! report after it, and rank 0's final status, as JSON bytes over the world's broadcast and gather.

use crate::error::{CollbenchError, Result};
use serde::{Deserialize, Serialize};

/// Rank 0's word to everyone before each round.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Control {
    Round(Vec<Vec<usize>>),
    Done,
    /// Stop every rank with this error (exit code, message).
    Fail(i32, String),
}

/// A group (host indices), its rows (size, lowest busbw) and its wrong elements.
pub(super) type GroupRows = (Vec<usize>, Vec<(u64, f64)>, u64);

/// What one process reports after a round.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Contribution {
    /// The group (host indices) and its rows (size, lowest busbw), sent by the group's rank 0.
    pub(super) group: Option<GroupRows>,
    /// A signal this process's sweep stopped on (0: none).
    pub(super) signal: i32,
    /// Rank 0's device names (for `--profile auto`).
    pub(super) devices: Vec<String>,
    /// The backend the pair's run used (`mpi` or `nccl`; the plan may say `auto`).
    #[serde(default)]
    pub(super) backend: Option<String>,
    /// The pair's `-e` lowered to what its ranks can allocate, with the notice a plain run prints
    /// (`# Reducing maxBytes to …`), sent by the pair's rank 0.
    #[serde(default)]
    pub(super) max_bytes_cap: Option<(u64, String)>,
    /// A usage error the pair's run found (exit code, message), sent by each of its ranks: rank 0
    /// stops every rank with it instead of leaving the other pairs waiting.
    #[serde(default)]
    pub(super) error: Option<(i32, String)>,
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| CollbenchError::Mpi(format!("could not encode a pairwise message: {e}")))
}

pub(super) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        CollbenchError::Mpi(format!(
            "malformed pairwise message ({e}); are all ranks running the same collbench build?"
        ))
    })
}

pub(super) fn error_message(e: &CollbenchError) -> String {
    match e {
        CollbenchError::Usage(m)
        | CollbenchError::CheckFailed(m)
        | CollbenchError::WrongResults(m)
        | CollbenchError::Mpi(m)
        | CollbenchError::Unsupported(m) => m.clone(),
        other => other.to_string(),
    }
}

/// The error every rank returns for rank 0's status.
pub(super) fn error_from_code(code: i32, message: String) -> CollbenchError {
    match code {
        6 => CollbenchError::Usage(message),
        7 => CollbenchError::CheckFailed(message),
        130 | 143 => CollbenchError::Interrupted { signal: code - 128 },
        1 => CollbenchError::io("outputs", std::io::Error::other(message)),
        _ => CollbenchError::Mpi(message),
    }
}
