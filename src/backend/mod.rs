//! Backends: where buffers live and what launches the collectives. One trait, [`Backend`]; the host
//! MPI backend (`host_mpi`) and the NCCL GPU backend (`gpu`) implement it. The runner
//! (`crate::sweep`) drives every backend through the same calls, so the multi-rank logic proven on
//! the host backend is the logic the GPU backend runs.

pub mod cuda;
pub mod gpu;
pub mod nccl;

mod api;
pub mod host;
pub mod host_mpi;

pub use api::{Backend, CallSpec, CorruptOutput};
