//! The real binaries at run time: as a singleton and under a real `mpirun`, every collective
//! exact, exit codes, signals, timeouts and the MPI world itself.
//!
//! One file per module; the helpers they share live in tests/support/.
//! - `alltoallv_pattern`: nccl-tests' alltoallv counts and traffic matrices under `mpirun -np 4`;
//! - `mpi`: the binaries under `mpirun -np 4`;
//! - `single`: the binaries without a launcher;
//! - `world`: `MpiWorld` under `mpirun -np 4` (this binary runs itself as the ranks).

#[path = "../support/mod.rs"]
mod support;

mod alltoallv_pattern;
mod mpi;
mod single;
mod world;
