//! The world: ranks, hosts and the out-of-band operations the runner needs (barrier, small
//! reductions, gathering results to rank 0, broadcasting an NCCL unique id, abort).
//!
//! [`SingleProcess`] needs nothing; `MpiWorld` (feature `mpi`) wraps MPI_COMM_WORLD or a split of it.

use crate::error::Result;

/// Reduction for [`World::allreduce_f64`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    Min,
    Max,
    Sum,
}

/// Out-of-band communication between the processes of a run. Collective calls must be made by
/// every process of the world in the same order.
pub trait World {
    /// This process's index in the world.
    fn rank(&self) -> usize;
    /// Number of processes.
    fn size(&self) -> usize;
    fn hostname(&self) -> &str;
    /// Index of this process among the processes on its host (for device mapping).
    fn local_rank(&self) -> usize;
    /// Number of processes on this host.
    fn local_size(&self) -> usize;
    fn barrier(&self) -> Result<()>;
    fn allreduce_f64(&self, values: &[f64], op: Reduction) -> Result<Vec<f64>>;
    fn allreduce_u64_sum(&self, values: &[u64]) -> Result<Vec<u64>>;
    /// Gathers every process's bytes to process 0 (`Some` there, `None` elsewhere).
    fn gather_bytes(&self, bytes: &[u8]) -> Result<Option<Vec<Vec<u8>>>>;
    /// Process 0's `bytes` to everyone.
    fn broadcast_bytes(&self, bytes: &mut Vec<u8>) -> Result<()>;
    /// Ends the whole job with `code` (MPI_Abort under MPI).
    fn abort(&self, code: i32) -> !;
    /// Name of the process-management layer for headers (`singleton`, `mpirun`, `srun/pmix`…).
    fn launcher(&self) -> String;
}
