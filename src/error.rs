//! The library's one error type and the one place that maps errors to the documented exit codes.
//!
//! Exit codes (README "Exit codes"): 0 ok, 1 I/O error writing outputs, 2 CUDA error, 3 NCCL error,
//! 4 timeout, 5 MPI/bootstrap error, 6 usage error, 7 wrong results or a failed threshold,
//! 130/143 interrupted by SIGINT/SIGTERM; 70 internal error (a panic: a bug in collbench).

use thiserror::Error;

pub type Result<T, E = CollbenchError> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum CollbenchError {
    /// A flag, environment variable or file had a value we do not accept. The message names the
    /// flag, the value given and what would be accepted.
    #[error("usage error: {0}")]
    Usage(String),

    #[error("CUDA error: {0}")]
    Cuda(String),

    #[error("NCCL error: {0}")]
    Nccl(String),

    /// The `-T` watchdog fired; the message says where the rank was stuck.
    #[error("timeout: {0}")]
    Timeout(String),

    #[error("MPI/bootstrap error: {0}")]
    Mpi(String),

    /// A libfabric call failed (`collbench fabric …`); the message names the call, the provider
    /// and fi_strerror's text. Same exit code as MPI/bootstrap: the transport could not be set up
    /// or broke down.
    #[error("libfabric error: {0}")]
    Fabric(String),

    /// Validation found wrong elements (the table has already been printed).
    #[error("wrong results: {0}")]
    WrongResults(String),

    /// A verdict check (threshold, profile, required network) failed.
    #[error("check failed: {0}")]
    CheckFailed(String),

    /// Only warn-level checks (`--warn-busbw`) missed their floor; nothing failed.
    #[error("check warned: {0}")]
    CheckWarned(String),

    /// The backend cannot run this request (e.g. a GPU-only flag on the host backend).
    #[error("not supported: {0}")]
    Unsupported(String),

    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// SIGINT (130) or SIGTERM (143) arrived mid-sweep.
    #[error("interrupted by signal {signal}")]
    Interrupted { signal: i32 },
}

impl CollbenchError {
    /// The documented process exit code for this error. Keep in sync with the README table.
    pub fn exit_code(&self) -> i32 {
        match self {
            CollbenchError::Io { .. } => 1,
            CollbenchError::Cuda(_) => 2,
            CollbenchError::Nccl(_) => 3,
            CollbenchError::Timeout(_) => 4,
            CollbenchError::Mpi(_) | CollbenchError::Fabric(_) => 5,
            CollbenchError::Usage(_) | CollbenchError::Unsupported(_) => 6,
            CollbenchError::WrongResults(_) | CollbenchError::CheckFailed(_) => 7,
            CollbenchError::CheckWarned(_) => exit::WARNED,
            CollbenchError::Interrupted { signal } => 128 + signal,
        }
    }

    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        CollbenchError::Io {
            path: path.into(),
            source,
        }
    }
}

pub mod exit {
    pub const OK: i32 = 0;
    pub const IO: i32 = 1;
    pub const CUDA: i32 = 2;
    pub const NCCL: i32 = 3;
    pub const TIMEOUT: i32 = 4;
    pub const MPI: i32 = 5;
    pub const USAGE: i32 = 6;
    pub const WRONG_OR_FAILED: i32 = 7;
    /// The verdict passed every fail-level check but missed a `--warn-busbw` floor.
    pub const WARNED: i32 = 8;
    /// A panic (a bug in collbench, never user input): sysexits' EX_SOFTWARE.
    pub const INTERNAL: i32 = 70;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_match_the_readme_table() {
        assert_eq!(CollbenchError::Cuda("x".into()).exit_code(), exit::CUDA);
        assert_eq!(CollbenchError::Nccl("x".into()).exit_code(), exit::NCCL);
        assert_eq!(
            CollbenchError::Timeout("x".into()).exit_code(),
            exit::TIMEOUT
        );
        assert_eq!(CollbenchError::Mpi("x".into()).exit_code(), exit::MPI);
        assert_eq!(CollbenchError::Fabric("x".into()).exit_code(), exit::MPI);
        assert_eq!(CollbenchError::Usage("x".into()).exit_code(), exit::USAGE);
        assert_eq!(
            CollbenchError::WrongResults("x".into()).exit_code(),
            exit::WRONG_OR_FAILED
        );
        assert_eq!(CollbenchError::Interrupted { signal: 15 }.exit_code(), 143);
        assert_eq!(CollbenchError::Interrupted { signal: 2 }.exit_code(), 130);
    }
}
