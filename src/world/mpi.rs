//! The MPI world (feature `mpi`): MPI_COMM_WORLD, or a group split from it by NCCL_TESTS_SPLIT.
//!
//! MPI is initialised at the thread level the run needs ([`ThreadUse`]): MPI_THREAD_MULTIPLE only
//! for runs with `-T`, whose watchdog thread calls MPI_Abort (and whose pairwise keepalive thread
//! sends) while the main thread may be blocked inside MPI; MPI_THREAD_SINGLE for host-backend runs,
//! where no other thread of ours runs while MPI is called; MPI_THREAD_FUNNELED otherwise. Open MPI
//! takes a lock on every call at any level above MPI_THREAD_SINGLE (ompi_mpi_init.c:
//! `opal_set_using_threads(true)` unless SINGLE was provided): with FUNNELED, a fifth of an 8 B
//! all_reduce loop's profile was pthread_mutex_lock/unlock.

use super::{AbortHandle, KeepaliveSender, Reduction, ThreadUse, World};
use crate::error::{CollbenchError, Result};
use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;
use mpi::Threading;
use std::sync::Arc;

/// One process of an MPI job.
pub struct MpiWorld {
    // Field order matters: communicators are freed before the universe finalizes MPI.
    comm: SimpleCommunicator,
    rank: usize,
    size: usize,
    local_rank: usize,
    local_size: usize,
    host: String,
    universe: Arc<Universe>,
    threading: Threading,
}

/// What [`MpiWorld::init`] found besides the world.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpiWorldInit {
    /// True when the library granted MPI_THREAD_MULTIPLE (needed for an abort from the watchdog
    /// thread to be safe; without it the abort is still attempted).
    pub thread_multiple: bool,
}

impl MpiWorld {
    /// MPI_Init_thread asking for MPI_THREAD_MULTIPLE, and MPI_COMM_WORLD. Works as a singleton
    /// (no launcher), under mpirun and under `srun --mpi=pmix`.
    pub fn init() -> Result<(MpiWorld, MpiWorldInit)> {
        MpiWorld::init_for(ThreadUse::OtherThreadsCallMpi)
    }

    /// MPI_Init_thread at the level `threads` needs, and MPI_COMM_WORLD.
    pub fn init_for(threads: ThreadUse) -> Result<(MpiWorld, MpiWorldInit)> {
        let requested = match threads {
            ThreadUse::NoOtherThread => Threading::Single,
            ThreadUse::MainThreadOnly => Threading::Funneled,
            ThreadUse::OtherThreadsCallMpi => Threading::Multiple,
        };
        let (universe, threading) = mpi::initialize_with_threading(requested).ok_or_else(|| {
            CollbenchError::Mpi(
                "MPI was already initialised in this process; collbench must be the one to \
                     call MPI_Init_thread"
                    .to_string(),
            )
        })?;
        let comm = universe.world();
        let world = MpiWorld::from_comm(comm, Arc::new(universe), threading)?;
        let init = MpiWorldInit {
            thread_multiple: threading == Threading::Multiple,
        };
        Ok((world, init))
    }

    fn from_comm(
        comm: SimpleCommunicator,
        universe: Arc<Universe>,
        threading: Threading,
    ) -> Result<Self> {
        let rank = comm.rank() as usize;
        let size = comm.size() as usize;
        let mut world = MpiWorld {
            comm,
            rank,
            size,
            local_rank: 0,
            local_size: 1,
            host: super::hostname(),
            universe,
            threading,
        };
        // The processes of one host are those with its host name (nccl-tests' rule), found with
        // blocking collectives rather than MPI_Comm_split_type: see `create_group`.
        let hosts = world.host_names()?;
        (world.local_rank, world.local_size) = super::local_rank_from_hosts(&hosts, rank);
        Ok(world)
    }

    /// Every process's host name, in rank order, on every process.
    fn host_names(&self) -> Result<Vec<String>> {
        let mut joined = match self.gather_bytes(self.host.as_bytes())? {
            Some(names) => names.join(&b'\n'),
            None => Vec::new(),
        };
        self.broadcast_bytes(&mut joined)?;
        let names: Vec<String> = String::from_utf8_lossy(&joined)
            .split('\n')
            .map(str::to_string)
            .collect();
        if names.len() != self.size {
            return Err(CollbenchError::Mpi(format!(
                "gathering host names gave {} names for {} processes (a host name containing a \
                 newline?)",
                names.len(),
                self.size
            )));
        }
        Ok(names)
    }

    /// The communicator of this world (the backend duplicates it for its own traffic).
    pub fn comm(&self) -> &SimpleCommunicator {
        &self.comm
    }

    pub fn threading(&self) -> Threading {
        self.threading
    }

    /// `MPI_Get_library_version`, first line (e.g. `Open MPI v4.1.4, package: …`).
    pub fn library_version() -> String {
        mpi::environment::library_version()
            // Open MPI's string ends with a NUL that Rust's trim() keeps.
            .map(|v| {
                v.lines()
                    .next()
                    .unwrap_or("")
                    .trim_matches(|c: char| c.is_whitespace() || c == '\0')
                    .to_string()
            })
            .unwrap_or_else(|_| "unknown MPI".to_string())
    }
}

/// The tag of [`World::gather_bytes_watched`]'s messages. Nothing else sends point-to-point on a
/// world's communicator (backends duplicate it), and a process sends once per gather.
const WATCHED_GATHER_TAG: i32 = 0x6362;
/// How long process 0 sleeps between polls of a watched gather while nothing arrives: short
/// against any `-T`, long enough to leave the cores to the ranks being measured.
const WATCHED_GATHER_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// The tags of [`World::broadcast_bytes_watched`]'s bytes and of process 0's keepalives.
const WATCHED_BROADCAST_TAG: i32 = 0x6363;
const KEEPALIVE_TAG: i32 = 0x6364;

/// A communicator handle that a keepalive thread may use: only made when the library granted
/// MPI_THREAD_MULTIPLE, under which any thread may call MPI on any communicator.
struct ThreadSafeComm(mpi::ffi::MPI_Comm);
// SAFETY: see above; the handle is an opaque reference that MPI itself synchronises.
unsafe impl Send for ThreadSafeComm {}
// SAFETY: as for Send.
unsafe impl Sync for ThreadSafeComm {}

impl ThreadSafeComm {
    /// An empty message with [`KEEPALIVE_TAG`] to every process but 0.
    fn send_keepalives(&self, size: usize) {
        let storage = [0u8; 1];
        for dest in 1..size {
            // SAFETY: a valid buffer of at least 0 bytes, a predefined datatype, and a
            // communicator that lives as long as the world that made this handle.
            unsafe {
                mpi::ffi::MPI_Send(
                    storage.as_ptr().cast(),
                    0,
                    u8::equivalent_datatype().as_raw(),
                    dest as i32,
                    KEEPALIVE_TAG,
                    self.0,
                );
            }
        }
    }
}

/// MPI_Abort on MPI_COMM_WORLD: ends every process of the job.
fn abort_job(code: i32) -> ! {
    // SAFETY: MPI_Abort takes a valid communicator handle and an int; it does not return.
    unsafe {
        mpi::ffi::MPI_Abort(mpi::ffi::RSMPI_COMM_WORLD, code);
    }
    std::process::exit(code)
}

/// The ranks whose color is `color`, from every rank's `[color, key]` pair in rank order, in
/// MPI_Comm_split's order: by key, then by rank.
fn split_members(color_key_pairs: &[i64], color: i64) -> Vec<i32> {
    let mut members: Vec<(i64, i32)> = color_key_pairs
        .chunks_exact(2)
        .zip(0..)
        .filter(|(pair, _)| pair[0] == color)
        .map(|(pair, rank)| (pair[1], rank))
        .collect();
    members.sort_unstable();
    members.into_iter().map(|(_, rank)| rank).collect()
}

/// The tag of the group creation in [`World::split`].
const SPLIT_TAG: i32 = 0x6365;

/// A communicator of `ranks` of `comm` (in that order), made with MPI_Comm_create_group, which
/// only the processes in `ranks` call. Open MPI 4.1 agrees on the id of a communicator made by
/// MPI_Comm_dup, MPI_Comm_split or MPI_Comm_split_type with a nonblocking allreduce, after which
/// libnbc's progress function stays registered and runs in every later MPI call of the process
/// (2-6 % of a small collective's time, `benches/comm-progress.sh`); MPI_Comm_create_group agrees
/// on it point to point, and leaves nothing behind.
fn create_group(comm: &SimpleCommunicator, ranks: &[i32], tag: i32) -> Option<SimpleCommunicator> {
    let group = comm.group().include(ranks);
    comm.split_by_subgroup_with_tag(&group, tag)
}

/// Which launcher started this process, from the environment it left.
fn detect_launcher(size: usize) -> String {
    let has = |name: &str| std::env::var_os(name).is_some();
    if has("SLURM_STEP_ID") && has("PMIX_RANK") {
        "srun/pmix".to_string()
    } else if has("SLURM_STEP_ID") && (has("PMI_RANK") || has("SLURM_PROCID")) && size > 1 {
        "srun".to_string()
    } else if has("OMPI_COMM_WORLD_SIZE") {
        "mpirun".to_string()
    } else if has("PMI_RANK") || has("PMIX_RANK") {
        "mpiexec".to_string()
    } else {
        "singleton".to_string()
    }
}

impl World for MpiWorld {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn hostname(&self) -> &str {
        &self.host
    }
    fn local_rank(&self) -> usize {
        self.local_rank
    }
    fn local_size(&self) -> usize {
        self.local_size
    }

    fn barrier(&self) -> Result<()> {
        self.comm.barrier();
        Ok(())
    }

    fn allreduce_f64(&self, values: &[f64], op: Reduction) -> Result<Vec<f64>> {
        let mut out = vec![0.0f64; values.len()];
        let op = match op {
            Reduction::Min => SystemOperation::min(),
            Reduction::Max => SystemOperation::max(),
            Reduction::Sum => SystemOperation::sum(),
        };
        self.comm.all_reduce_into(values, &mut out[..], op);
        Ok(out)
    }

    fn allreduce_u64_sum(&self, values: &[u64]) -> Result<Vec<u64>> {
        let mut out = vec![0u64; values.len()];
        self.comm
            .all_reduce_into(values, &mut out[..], SystemOperation::sum());
        Ok(out)
    }

    fn gather_bytes(&self, bytes: &[u8]) -> Result<Option<Vec<Vec<u8>>>> {
        // An empty slice points at address 1, which Open MPI reads as MPI_IN_PLACE: give MPI a
        // real address (with a count of 0) instead.
        let storage = [0u8; 1];
        let bytes = if bytes.is_empty() {
            &storage[..0]
        } else {
            bytes
        };
        let len = i32::try_from(bytes.len()).map_err(|_| {
            CollbenchError::Mpi(format!(
                "cannot gather {} bytes from one rank: MPI counts are limited to {} bytes",
                bytes.len(),
                i32::MAX
            ))
        })?;
        let root = self.comm.process_at_rank(0);
        if self.rank != 0 {
            root.gather_into(&len);
            root.gather_varcount_into(bytes);
            return Ok(None);
        }
        let mut lengths = vec![0i32; self.size];
        root.gather_into_root(&len, &mut lengths[..]);
        let mut displacements = Vec::with_capacity(self.size);
        let mut total: i64 = 0;
        for &l in &lengths {
            displacements.push(i32::try_from(total).map_err(|_| {
                CollbenchError::Mpi(format!(
                    "gathered results exceed {} bytes at rank 0",
                    i32::MAX
                ))
            })?);
            total += i64::from(l);
        }
        // At least one byte: an empty Vec would point at address 1 (MPI_IN_PLACE), see above.
        let mut buffer = vec![0u8; (total as usize).max(1)];
        {
            let mut partition =
                PartitionMut::new(&mut buffer[..], &lengths[..], &displacements[..]);
            root.gather_varcount_into_root(bytes, &mut partition);
        }
        let parts = lengths
            .iter()
            .zip(&displacements)
            .map(|(&l, &d)| buffer[d as usize..(d + l) as usize].to_vec())
            .collect();
        Ok(Some(parts))
    }

    fn gather_bytes_watched(
        &self,
        bytes: &[u8],
        watch: &mut dyn FnMut(&[bool]) -> Result<()>,
    ) -> Result<Option<Vec<Vec<u8>>>> {
        if self.rank != 0 {
            // A real address for an empty slice (see gather_bytes).
            let storage = [0u8; 1];
            let bytes = if bytes.is_empty() {
                &storage[..0]
            } else {
                bytes
            };
            self.comm
                .process_at_rank(0)
                .send_with_tag(bytes, WATCHED_GATHER_TAG);
            return Ok(None);
        }
        let mut parts: Vec<Option<Vec<u8>>> = vec![None; self.size];
        let mut arrived = vec![false; self.size];
        parts[0] = Some(bytes.to_vec());
        arrived[0] = true;
        let mut missing = self.size - 1;
        while missing > 0 {
            let Some((message, status)) = self
                .comm
                .any_process()
                .immediate_matched_probe_with_tag(WATCHED_GATHER_TAG)
            else {
                watch(&arrived)?;
                std::thread::sleep(WATCHED_GATHER_POLL);
                continue;
            };
            let source = usize::try_from(status.source_rank()).unwrap_or(usize::MAX);
            let count = usize::try_from(status.count(u8::equivalent_datatype())).unwrap_or(0);
            // At least one byte: an empty Vec's address is 1 (see gather_bytes).
            let mut buffer = vec![0u8; count.max(1)];
            message.matched_receive_into(&mut buffer[..count]);
            buffer.truncate(count);
            match arrived.get(source) {
                Some(false) => {
                    arrived[source] = true;
                    parts[source] = Some(buffer);
                    missing -= 1;
                }
                _ => {
                    return Err(CollbenchError::Mpi(format!(
                        "watched gather: a second contribution (or one from outside the world) \
                         came from rank {source} of {}; are all ranks running the same collbench \
                         build?",
                        self.size
                    )))
                }
            }
        }
        Ok(Some(
            parts.into_iter().map(Option::unwrap_or_default).collect(),
        ))
    }

    fn broadcast_bytes(&self, bytes: &mut Vec<u8>) -> Result<()> {
        let root = self.comm.process_at_rank(0);
        let mut len = bytes.len() as u64;
        root.broadcast_into(&mut len);
        bytes.resize(len as usize, 0);
        if len > 0 {
            root.broadcast_into(&mut bytes[..]);
        }
        Ok(())
    }

    fn broadcast_bytes_watched(
        &self,
        bytes: &mut Vec<u8>,
        patience: &mut dyn FnMut(std::time::Duration) -> Result<()>,
    ) -> Result<()> {
        if self.rank == 0 {
            // A real address for an empty message (see gather_bytes).
            let storage = [0u8; 1];
            let message = if bytes.is_empty() {
                &storage[..0]
            } else {
                &bytes[..]
            };
            for dest in 1..self.size {
                self.comm
                    .process_at_rank(dest as i32)
                    .send_with_tag(message, WATCHED_BROADCAST_TAG);
            }
            return Ok(());
        }
        let root = self.comm.process_at_rank(0);
        let mut last_word = std::time::Instant::now();
        loop {
            while let Some((keepalive, _)) = root.immediate_matched_probe_with_tag(KEEPALIVE_TAG) {
                let mut storage = [0u8; 1];
                keepalive.matched_receive_into(&mut storage[..0]);
                last_word = std::time::Instant::now();
            }
            if let Some((message, status)) =
                root.immediate_matched_probe_with_tag(WATCHED_BROADCAST_TAG)
            {
                let count = usize::try_from(status.count(u8::equivalent_datatype())).unwrap_or(0);
                // At least one byte: an empty Vec's address is 1 (see gather_bytes).
                let mut buffer = vec![0u8; count.max(1)];
                message.matched_receive_into(&mut buffer[..count]);
                buffer.truncate(count);
                *bytes = buffer;
                return Ok(());
            }
            patience(last_word.elapsed())?;
            std::thread::sleep(WATCHED_GATHER_POLL);
        }
    }

    fn keepalive_sender(&self) -> Option<KeepaliveSender> {
        if self.rank != 0 || self.size < 2 || self.threading != Threading::Multiple {
            return None;
        }
        let comm = ThreadSafeComm(self.comm.as_raw());
        let size = self.size;
        Some(Arc::new(move || comm.send_keepalives(size)))
    }

    fn abort(&self, code: i32) -> ! {
        abort_job(code)
    }

    fn launcher(&self) -> String {
        detect_launcher(self.size)
    }

    fn abort_handle(&self) -> AbortHandle {
        Arc::new(|code| abort_job(code))
    }

    fn as_mpi(&self) -> Option<&MpiWorld> {
        Some(self)
    }

    fn split(&self, color: u64, key: usize) -> Result<Box<dyn World>> {
        let color_value = i32::try_from(color).map_err(|_| {
            CollbenchError::Usage(format!(
                "NCCL_TESTS_SPLIT gives rank {} the color {color}; colors must be between 0 and {}",
                self.rank,
                i32::MAX
            ))
        })?;
        let mine = [i64::from(color_value), key as i64];
        let mut all = vec![0i64; 2 * self.size];
        self.comm.all_gather_into(&mine[..], &mut all[..]);
        let ranks = split_members(&all, i64::from(color_value));
        let comm = create_group(&self.comm, &ranks, SPLIT_TAG).ok_or_else(|| {
            CollbenchError::Mpi(format!(
                "MPI_Comm_create_group returned no communicator for rank {} (color {color}, \
                 group of ranks {ranks:?})",
                self.rank
            ))
        })?;
        Ok(Box::new(MpiWorld::from_comm(
            comm,
            Arc::clone(&self.universe),
            self.threading,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::split_members;

    #[test]
    fn split_members_keep_their_color_ordered_by_key_then_rank() {
        // Ranks 0..5 as [color, key]: color 1 holds ranks 1, 3 and 4.
        let pairs = [0, 0, 1, 9, 0, 2, 1, 3, 1, 3, 2, 0];
        assert_eq!(split_members(&pairs, 1), vec![3, 4, 1]);
        assert_eq!(split_members(&pairs, 0), vec![0, 2]);
        assert_eq!(split_members(&pairs, 2), vec![5]);
        assert!(split_members(&pairs, 7).is_empty());
    }
}
