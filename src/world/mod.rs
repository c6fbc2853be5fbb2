//! The world: ranks, hosts and the out-of-band operations the runner needs (barrier, small
//! reductions, gathering results to rank 0, broadcasting an NCCL unique id, abort).
//!
//! [`SingleProcess`] needs nothing; `MpiWorld` (feature `mpi`) wraps MPI_COMM_WORLD or a split of it.

use crate::error::Result;
use std::sync::Arc;

pub mod agree;
mod hostname;
#[cfg(feature = "mpi")]
mod mpi;
mod peer_probe;
pub(crate) mod single;

pub use hostname::{gather_hostnames, hostname};
#[cfg(feature = "mpi")]
pub use mpi::{MpiWorld, MpiWorldInit};
pub use peer_probe::PeerProbe;
pub use single::SingleProcess;

/// Which threads of the process call MPI while it runs: what MPI_Init_thread must ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadUse {
    /// No other thread of ours runs while MPI is called (MPI_THREAD_SINGLE): the host backend,
    /// whose fill and check threads are scoped and joined before the next MPI call.
    NoOtherThread,
    /// Only the main thread calls MPI, while other threads (GPU launch threads, the CUDA and NCCL
    /// runtimes') may run beside it (MPI_THREAD_FUNNELED).
    MainThreadOnly,
    /// Other threads call MPI while the main thread may be inside it (MPI_THREAD_MULTIPLE): the
    /// `-T` watchdog's MPI_Abort and the pairwise keepalives.
    OtherThreadsCallMpi,
}

/// Ends the whole job with an exit code; callable from any thread (the `-T` watchdog, the panic
/// hook). Under MPI it is MPI_Abort on MPI_COMM_WORLD.
pub type AbortHandle = Arc<dyn Fn(i32) + Send + Sync>;

/// See [`World::keepalive_sender`].
pub type KeepaliveSender = Arc<dyn Fn() + Send + Sync>;

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
    /// [`World::gather_bytes`] without blocking process 0 for ever: the others send and return;
    /// process 0 polls for their bytes and, between polls while some are missing, calls
    /// `watch(arrived)` (`arrived[r]`: process r's bytes are in, its own included). An error from
    /// `watch` ends the wait and is returned (the caller then aborts the job: a late sender's
    /// bytes would otherwise be taken for the next gather's). Used where the others may take an
    /// unknown time but a silent one must still be found (`accept --pairwise -T`).
    fn gather_bytes_watched(
        &self,
        bytes: &[u8],
        watch: &mut dyn FnMut(&[bool]) -> Result<()>,
    ) -> Result<Option<Vec<Vec<u8>>>>;
    /// Process 0's `bytes` to everyone.
    fn broadcast_bytes(&self, bytes: &mut Vec<u8>) -> Result<()>;
    /// [`World::broadcast_bytes`] that the others can give up on: process 0 sends and returns;
    /// the others poll for its bytes and, between polls, call `patience(silent)` with how long
    /// process 0 has said nothing (neither these bytes nor a [`World::keepalive_sender`] message).
    /// An error from `patience` ends the wait and is returned. Every process of the world must
    /// use this (not `broadcast_bytes`) for the same message.
    fn broadcast_bytes_watched(
        &self,
        bytes: &mut Vec<u8>,
        patience: &mut dyn FnMut(std::time::Duration) -> Result<()>,
    ) -> Result<()> {
        let _ = patience;
        self.broadcast_bytes(bytes)
    }
    /// On process 0: a function that tells every other process, from any thread, that process 0
    /// is still there (resetting their [`World::broadcast_bytes_watched`] silence). `None` when
    /// the world cannot send from another thread (MPI without MPI_THREAD_MULTIPLE, one process).
    fn keepalive_sender(&self) -> Option<KeepaliveSender> {
        None
    }
    /// Ends the whole job with `code` (MPI_Abort under MPI).
    fn abort(&self, code: i32) -> !;
    /// Name of the process-management layer for headers (`singleton`, `mpirun`, `srun/pmix`…).
    fn launcher(&self) -> String;
    /// A handle that ends the whole job from any thread (see [`AbortHandle`]).
    fn abort_handle(&self) -> AbortHandle;
    /// Splits the world into groups by MPI_Comm_split's rule: processes with the same `color` form
    /// one group, ordered by `key`. Every process must call it. Used for NCCL_TESTS_SPLIT.
    fn split(&self, color: u64, key: usize) -> Result<Box<dyn World>>;
    /// The MPI world behind this one, for backends that talk MPI themselves.
    #[cfg(feature = "mpi")]
    fn as_mpi(&self) -> Option<&MpiWorld> {
        None
    }
}

/// The rank the launcher announced in the environment (mpirun, srun, mpiexec), before MPI is
/// initialised; `None` when started without a launcher.
pub fn launcher_rank_hint() -> Option<usize> {
    [
        "OMPI_COMM_WORLD_RANK",
        "PMIX_RANK",
        "PMI_RANK",
        "SLURM_PROCID",
    ]
    .iter()
    .find_map(|name| std::env::var(name).ok()?.trim().parse().ok())
}

/// True when a launcher started this process as one task of a job: mpirun (OMPI_COMM_WORLD_SIZE),
/// a PMIx or PMI launcher such as `srun --mpi=pmix` (PMIX_RANK, PMI_RANK) or a Slurm job step of
/// several tasks (SLURM_STEP_ID with SLURM_PROCID). A process started by hand is a singleton, and so
/// is the only task of `srun -n 1` without a PMI plugin (the usual way to run `-g 8` on one node):
/// MPI_Init there has no PMI server to talk to and Open MPI aborts.
pub fn started_by_launcher() -> bool {
    started_by_launcher_in(|name| std::env::var(name).ok())
}

/// [`started_by_launcher`] over any environment (`env(name)` is the variable's value).
fn started_by_launcher_in(env: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| env(name).is_some();
    // A step's task count: SLURM_STEP_NUM_TASKS, or SLURM_NTASKS (srun sets it to the step's).
    let step_tasks = first_count(&env, &["SLURM_STEP_NUM_TASKS", "SLURM_NTASKS"]).unwrap_or(1);
    set("OMPI_COMM_WORLD_SIZE")
        || set("PMIX_RANK")
        || set("PMI_RANK")
        || set("PMI_SIZE")
        || (set("SLURM_STEP_ID") && set("SLURM_PROCID") && step_tasks > 1)
}

/// How many copies of this program the launcher started: mpirun's world size, a PMI launcher's
/// size, or a Slurm job step's task count; 1 when started by hand. A batch script or `salloc` shell
/// is no step: its SLURM_NTASKS is the allocation's size, not a count of running copies.
pub fn launcher_task_count() -> usize {
    launcher_task_count_in(|name| std::env::var(name).ok())
}

fn launcher_task_count_in(env: impl Fn(&str) -> Option<String>) -> usize {
    first_count(
        &env,
        &["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"],
    )
    .unwrap_or(1)
}

/// The first of `names` whose value is a count.
fn first_count(env: &impl Fn(&str) -> Option<String>, names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|name| env(name)?.trim().parse::<usize>().ok())
}

/// Splits `world` by `color` (see [`World::split`]).
pub fn split(world: &dyn World, color: u64, key: usize) -> Result<Box<dyn World>> {
    world.split(color, key)
}

/// Index of this process among the processes whose host name equals its own, and how many there
/// are, from every process's host name in rank order (nccl-tests' host-hash rule).
pub fn local_rank_from_hosts(hosts: &[String], rank: usize) -> (usize, usize) {
    let own = &hosts[rank];
    let local_rank = hosts[..rank].iter().filter(|h| *h == own).count();
    let local_size = hosts.iter().filter(|h| *h == own).count();
    (local_rank, local_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment holding only `vars`.
    fn env_of<'a>(vars: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn started_with(vars: &[(&str, &str)]) -> bool {
        started_by_launcher_in(env_of(vars))
    }

    #[test]
    fn the_task_count_is_the_launchers_not_the_allocations() {
        let count = |vars: &[(&str, &str)]| launcher_task_count_in(env_of(vars));
        assert_eq!(count(&[]), 1);
        // A batch script (or salloc shell) of a 4-task allocation runs one copy.
        assert_eq!(count(&[("SLURM_NTASKS", "4"), ("SLURM_PROCID", "0")]), 1);
        assert_eq!(
            count(&[
                ("SLURM_NTASKS", "4"),
                ("SLURM_STEP_ID", "0"),
                ("SLURM_STEP_NUM_TASKS", "4")
            ]),
            4
        );
        assert_eq!(count(&[("OMPI_COMM_WORLD_SIZE", "2")]), 2);
        assert_eq!(count(&[("PMI_SIZE", "3")]), 3);
    }

    #[test]
    fn a_one_task_srun_without_pmi_is_a_singleton_and_launched_tasks_are_not() {
        assert!(!started_with(&[]));
        // `srun -n 1` with MpiDefault=none: no PMI server, so no MPI_Init.
        let one_task = [
            ("SLURM_STEP_ID", "0"),
            ("SLURM_PROCID", "0"),
            ("SLURM_STEP_NUM_TASKS", "1"),
            ("SLURM_NTASKS", "1"),
        ];
        assert!(!started_with(&one_task));
        // The batch script itself (SLURM_PROCID, no step id).
        assert!(!started_with(&[
            ("SLURM_PROCID", "0"),
            ("SLURM_NTASKS", "4")
        ]));
        // Several tasks of a step, with or without a PMI plugin.
        let four_tasks = [
            ("SLURM_STEP_ID", "0"),
            ("SLURM_PROCID", "2"),
            ("SLURM_STEP_NUM_TASKS", "4"),
        ];
        assert!(started_with(&four_tasks));
        assert!(started_with(&[
            ("SLURM_STEP_ID", "0"),
            ("SLURM_PROCID", "0"),
            ("SLURM_NTASKS", "2"),
        ]));
        // `srun --mpi=pmix -n 1` and mpirun -np 1 still initialise MPI.
        assert!(started_with(&[
            ("SLURM_STEP_ID", "0"),
            ("SLURM_PROCID", "0"),
            ("SLURM_STEP_NUM_TASKS", "1"),
            ("PMIX_RANK", "0"),
        ]));
        assert!(started_with(&[("OMPI_COMM_WORLD_SIZE", "1")]));
    }

    #[test]
    fn local_rank_counts_earlier_processes_on_the_same_host() {
        let hosts: Vec<String> = ["a", "b", "a", "a", "b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(local_rank_from_hosts(&hosts, 0), (0, 3));
        assert_eq!(local_rank_from_hosts(&hosts, 1), (0, 2));
        assert_eq!(local_rank_from_hosts(&hosts, 3), (2, 3));
        assert_eq!(local_rank_from_hosts(&hosts, 4), (1, 2));
    }
}
