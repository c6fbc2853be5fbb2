//! Pieces of the host backend ([`super::host_mpi::HostBackend`]): buffers, element arithmetic,
//! the transports (MPI or local copies) and the [`crate::collectives::Primitives`] on top of them.

pub mod blockwise;
pub mod buffer;
pub mod elementwise;
pub mod heap;
pub mod local;
#[cfg(feature = "mpi")]
pub mod mpi_comm;
pub mod prims;
pub mod transport;
