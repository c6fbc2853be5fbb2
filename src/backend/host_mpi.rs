//! The host backend: every collective on host memory, moved by MPI (feature `mpi`, one rank per
//! process) or, in a single process, by local copies. It makes every path of collbench runnable
//! without GPUs, and its results are checked exactly like the GPU backend's.

use super::api::{Backend, CallSpec, CorruptOutput};
use super::host::buffer::HostBuffer;
use super::host::local::LocalTransport;
use super::host::prims::{HostPrims, Layout, PendingGroup};
use super::host::transport::Transport;
use crate::collectives::{Collective, LaunchArgs};
use crate::data::{
    check_output_parallel, copy_parallel, corrupt_bits, fill_input_parallel, CheckOutcome,
    GenParams, POISON_BYTE,
};
use crate::error::{CollbenchError, Result};
use crate::measure::timed_loop::{run_timed, LoopOps};
use crate::measure::{watchdog, Timing};
use crate::plan::human_bytes;
use crate::plan::TimingPlan;
use crate::report::memory::{self, MemoryKind, RankMemory};
use crate::report::{BackendInfo, RankPlacement};
use std::ops::Range;

/// Device name in the rank lines for host memory.
pub const HOST_DEVICE_NAME: &str = "host memory";

pub struct HostBackend {
    transport: Box<dyn Transport>,
    /// The transport's rank and size, kept here to spare a virtual call per operation.
    rank: usize,
    nranks: usize,
    placement: RankPlacement,
    library: String,
    /// Processes sharing this host (the memory limit is shared between them).
    processes_on_host: usize,
    send: HostBuffer,
    recv: HostBuffer,
    scratch: HostBuffer,
    group: PendingGroup,
    /// What the send buffer holds from its start, if a fill put it there (see [`HeldInput`]).
    held_input: Option<HeldInput>,
}

/// The input `fill_input` wrote at the start of the send buffer: elements `0..bytes / size` of
/// `rank`'s data under `params`. Collectives only read the send buffer (`HostPrims` holds it by
/// shared reference), so it stays valid until the buffers are reallocated; each cell then
/// regenerates only what a larger size adds, and in-place cells copy their input from it.
/// A collective that wrote its send buffer anyway would leave wrong inputs there, and the check
/// reports the wrong results that follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HeldInput {
    params: GenParams,
    rank: usize,
    bytes: usize,
}

/// This process's rank line: printed rank, NCCL_TESTS_SPLIT group, host, pid, `host memory`.
pub fn host_placement(rank: usize, group: usize, host: &str) -> RankPlacement {
    RankPlacement {
        rank,
        group,
        host: host.to_string(),
        pid: std::process::id(),
        device: None,
        bus_id: None,
        device_name: HOST_DEVICE_NAME.to_string(),
    }
}

impl HostBackend {
    /// A one-rank backend that needs no MPI (local copies).
    pub fn single(placement: RankPlacement) -> HostBackend {
        HostBackend::with_transport(
            Box::new(LocalTransport),
            placement,
            "none (single process, local copies)".to_string(),
            1,
        )
    }

    /// An MPI backend on (a duplicate of) `group`'s communicator. Collective over the group.
    #[cfg(feature = "mpi")]
    pub fn mpi(group: &crate::world::MpiWorld, placement: RankPlacement) -> Result<HostBackend> {
        use crate::world::World;
        let transport = super::host::mpi_comm::MpiTransport::new(group.comm())?;
        Ok(HostBackend::with_transport(
            Box::new(transport),
            placement,
            crate::world::MpiWorld::library_version(),
            group.local_size(),
        ))
    }

    /// This backend with its transport wrapped by `decorate` (how `crate::faults` slows a rank).
    pub fn decorate_transport(
        mut self,
        decorate: impl FnOnce(Box<dyn Transport>) -> Box<dyn Transport>,
    ) -> HostBackend {
        let placeholder: Box<dyn Transport> = Box::new(LocalTransport);
        self.transport = decorate(std::mem::replace(&mut self.transport, placeholder));
        self
    }

    fn with_transport(
        transport: Box<dyn Transport>,
        placement: RankPlacement,
        library: String,
        processes_on_host: usize,
    ) -> HostBackend {
        HostBackend {
            rank: transport.rank(),
            nranks: transport.nranks(),
            transport,
            placement,
            library,
            processes_on_host: processes_on_host.max(1),
            send: HostBuffer::default(),
            recv: HostBuffer::default(),
            scratch: HostBuffer::default(),
            group: PendingGroup::default(),
            held_input: None,
        }
    }

    fn params(&self, call: &CallSpec) -> GenParams {
        GenParams {
            seed: call.seed,
            nranks: self.transport.nranks(),
            dtype: call.dtype,
            op: call.op,
        }
    }

    fn layout(&self, call: &CallSpec, shift: usize) -> Layout {
        Layout::new(
            call.in_place,
            shift,
            &call.counts,
            self.transport.rank(),
            call.dtype,
        )
    }

    /// Bytes of one operation's footprint (nccl-tests' `max(sendBytes, expectedBytes)`).
    fn footprint(call: &CallSpec) -> usize {
        call.counts.send_count.max(call.counts.recv_count) * call.dtype.size_bytes()
    }

    /// How many footprints fit the buffers: operation `i` runs at offset `footprint × (i mod
    /// steps)`, like nccl-tests' `startColl` shift.
    fn shift_steps(&self, call: &CallSpec) -> (usize, usize) {
        let footprint = Self::footprint(call);
        let capacity = self.send.len().min(self.recv.len());
        (
            footprint,
            capacity.checked_div(footprint).unwrap_or(1).max(1),
        )
    }

    /// What every operation of `call` launches with: its arguments and its views unshifted.
    fn launch_of(&self, call: &CallSpec) -> (LaunchArgs, Layout) {
        let args = LaunchArgs {
            rank: self.rank,
            nranks: self.nranks,
            root: call.root,
            dtype: call.dtype,
            op: call.op,
            counts: call.counts,
        };
        (args, self.layout(call, 0))
    }

    /// The buffers and transport every operation of a loop works on, views at `unshifted`; each
    /// operation only moves `layout.shift` (built once per loop: it shows at 8 B).
    fn prims(&mut self, unshifted: Layout) -> HostPrims<'_> {
        HostPrims {
            send: &self.send,
            recv: &mut self.recv,
            scratch: &mut self.scratch,
            transport: self.transport.as_mut(),
            layout: unshifted,
            group: &mut self.group,
        }
    }

    /// Threads that filling and checking may use: the cores this process may run on, shared with
    /// the other processes of the host (one process alone on two cores gets two; ranks bound to
    /// a core each get one).
    fn validation_threads(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores / self.processes_on_host).max(1)
    }

    /// Makes the send buffer's first `send_len` bytes this rank's input for `call`, generating
    /// only what [`HeldInput`] does not already cover (inputs are a pure function of the index).
    fn hold_input(&mut self, call: &CallSpec, send_len: usize) -> Result<()> {
        let params = self.params(call);
        let rank = self.transport.rank();
        let held = match self.held_input {
            Some(held) if held.params == params && held.rank == rank => held.bytes,
            _ => 0,
        };
        if held < send_len {
            let capacity = self.send.len();
            let threads = self.validation_threads();
            let missing = self
                .send
                .bytes_mut()
                .get_mut(held..send_len)
                .ok_or_else(|| {
                    CollbenchError::Mpi(format!(
                    "the input of {send_len} bytes does not fit the {capacity}-byte send buffer"
                ))
                })?;
            let first_element = held / call.dtype.size_bytes();
            fill_input_parallel(&params, rank, first_element, missing, threads);
            self.held_input = Some(HeldInput {
                params,
                rank,
                bytes: send_len,
            });
        }
        Ok(())
    }

    fn output_range(&self, call: &CallSpec) -> Result<(usize, usize)> {
        let start = self.layout(call, 0).recv_start();
        let len = call.counts.recv_count * call.dtype.size_bytes();
        if start + len > self.recv.len() {
            return Err(CollbenchError::Mpi(format!(
                "the output of {} bytes at offset {start} does not fit the {}-byte receive buffer \
                 (allocate() was called with too small a size)",
                len,
                self.recv.len()
            )));
        }
        Ok((start, len))
    }
}

struct HostLoop<'a, 'c> {
    prims: HostPrims<'a>,
    collective: &'c dyn Collective,
    args: LaunchArgs,
    footprint: usize,
    steps: usize,
    /// `op_index mod steps`, kept incrementally (a division per operation shows at 8 B).
    slot: usize,
    next_index: usize,
}

impl LoopOps for HostLoop<'_, '_> {
    fn launch(&mut self, op_index: usize) -> Result<()> {
        if op_index != self.next_index {
            self.slot = op_index % self.steps;
        }
        let shift = self.footprint * self.slot;
        self.slot += 1;
        if self.slot == self.steps {
            self.slot = 0;
        }
        self.next_index = op_index + 1;
        self.prims.layout.shift = shift;
        self.collective.launch(&mut self.prims, &self.args)
    }
    /// MPI calls return when complete: nothing is outstanding.
    fn complete(&mut self) -> Result<()> {
        Ok(())
    }
    fn barrier(&mut self) -> Result<()> {
        self.prims.transport.barrier()
    }
}

impl Backend for HostBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            name: "mpi".to_string(),
            library: self.library.clone(),
            library_path: None,
            version_code: None,
            network: None,
            network_by_process: Vec::new(),
        }
    }

    fn placements(&self) -> Vec<RankPlacement> {
        vec![self.placement.clone()]
    }

    fn local_ranks(&self) -> Vec<usize> {
        vec![self.transport.rank()]
    }

    fn nranks(&self) -> usize {
        self.transport.nranks()
    }

    /// See [`host_buffer_limit`].
    fn max_buffer_bytes(&self) -> Option<u64> {
        let (available, total) = memory::host_memory_bytes();
        available.map(|a| host_buffer_limit(a, total.unwrap_or(a), self.processes_on_host))
    }

    fn max_buffer_basis(&self) -> Option<String> {
        let (available, total) = memory::host_memory_bytes();
        let available = available?;
        let total = total.unwrap_or(available);
        Some(format!(
            "this host has {} available of {} installed, less a reserve of {} kept free (1 GiB \
             per 16 GiB installed, at most 4 GiB, plus 1 GiB), shared by {} process(es) on it, \
             3 buffers each",
            human_bytes(available),
            human_bytes(total),
            human_bytes(host_memory_reserve(total)),
            self.processes_on_host
        ))
    }

    fn memory_usage(&self) -> Result<Vec<RankMemory>> {
        let (free_bytes, total_bytes) = memory::host_memory_bytes();
        Ok(vec![RankMemory {
            rank: self.placement.rank,
            kind: MemoryKind::Host,
            device: None,
            communicator_bytes: None,
            buffer_bytes: (self.send.len() + self.recv.len() + self.scratch.len()) as u64,
            free_bytes,
            total_bytes,
            process_peak_rss_bytes: memory::process_peak_rss_bytes(),
        }])
    }

    fn allocate(&mut self, send_bytes: usize, recv_bytes: usize) -> Result<()> {
        // Both views of an in-place run live in the receive buffer, and the per-operation shift
        // moves both views together: size both buffers for the larger footprint.
        let bytes = send_bytes.max(recv_bytes);
        self.send = HostBuffer::new(bytes, "send buffer")?;
        self.recv = HostBuffer::new(bytes, "receive buffer")?;
        self.scratch = HostBuffer::new(bytes, "scratch buffer")?;
        self.held_input = None;
        Ok(())
    }

    fn prepare(&mut self, call: &CallSpec) -> Result<()> {
        let (out_start, out_len) = self.output_range(call)?;
        // In place, the input is copied over part of the output next (all of it for all_reduce):
        // only the bytes it does not cover need the poison.
        let input = if call.in_place {
            let send_start = self.layout(call, 0).send_start();
            send_start..send_start + call.counts.send_count * call.dtype.size_bytes()
        } else {
            0..0
        };
        let recv = self.recv.bytes_mut();
        for part in outside(out_start..out_start + out_len, input) {
            recv[part].fill(POISON_BYTE);
        }
        self.fill_inputs(call)
    }

    fn fill_inputs(&mut self, call: &CallSpec) -> Result<()> {
        let send_len = call.counts.send_count * call.dtype.size_bytes();
        self.hold_input(call, send_len)?;
        if call.in_place {
            let threads = self.validation_threads();
            // The input sits inside the receive buffer, over (part of) the output.
            let send_start = self.layout(call, 0).send_start();
            let capacity = self.recv.len();
            let input = self
                .recv
                .bytes_mut()
                .get_mut(send_start..send_start + send_len)
                .ok_or_else(|| {
                    CollbenchError::Mpi(format!(
                        "the in-place input of {send_len} bytes at offset {send_start} does not \
                         fit the {capacity}-byte receive buffer"
                    ))
                })?;
            copy_parallel(input, &self.send.bytes()[..send_len], threads);
        }
        Ok(())
    }

    fn warmup(&mut self, call: &CallSpec, iters: usize) -> Result<()> {
        let (footprint, steps) = self.shift_steps(call);
        let (args, unshifted) = self.launch_of(call);
        let mut prims = self.prims(unshifted);
        for iter in 0..iters {
            prims.layout.shift = footprint * (iter % steps);
            call.collective.launch(&mut prims, &args)?;
            watchdog::heartbeat(iter as u64 + 1);
        }
        Ok(())
    }

    fn measure(&mut self, call: &CallSpec, plan: &TimingPlan) -> Result<Timing> {
        if plan.graph_launches > 0 {
            return Err(CollbenchError::Unsupported(format!(
                "-G/--cudagraph {} needs CUDA graphs, which the mpi backend does not have; use -G 0 \
                 or --backend nccl",
                plan.graph_launches
            )));
        }
        let (footprint, steps) = self.shift_steps(call);
        let (args, unshifted) = self.launch_of(call);
        let mut ops = HostLoop {
            prims: self.prims(unshifted),
            collective: call.collective,
            args,
            footprint,
            steps,
            slot: 0,
            next_index: 0,
        };
        run_timed(plan, &mut ops)
    }

    fn check(&mut self, call: &CallSpec) -> Result<CheckOutcome> {
        let params = self.params(call);
        let rank = self.transport.rank();
        let segments = call.collective.checked(
            rank,
            self.transport.nranks(),
            call.root,
            &call.counts,
            call.in_place,
        );
        let (start, len) = self.output_range(call)?;
        let mut outcome = check_output_parallel(
            &params,
            rank,
            &segments,
            &self.recv.bytes()[start..start + len],
            self.validation_threads(),
        );
        // Report the rank as printed (global), not the rank inside an NCCL_TESTS_SPLIT group.
        if let Some(first) = outcome.first.as_mut() {
            first.rank = self.placement.rank;
        }
        Ok(outcome)
    }
}

impl CorruptOutput for HostBackend {
    fn corrupt_output(&mut self, call: &CallSpec, comm_rank: usize, index: usize) -> Result<()> {
        if comm_rank != self.transport.rank() || index >= call.counts.recv_count {
            return Ok(());
        }
        let elt = call.dtype.size_bytes();
        let (start, _) = self.output_range(call)?;
        let at = start + index * elt;
        let element = &mut self.recv.bytes_mut()[at..at + elt];
        let mut bits = [0u8; 8];
        bits[..elt].copy_from_slice(element);
        let corrupted = corrupt_bits(call.dtype, u64::from_le_bytes(bits)).to_le_bytes();
        element.copy_from_slice(&corrupted[..elt]);
        Ok(())
    }
}

/// The parts of `range` before and after `hole` (either may be empty).
fn outside(range: Range<usize>, hole: Range<usize>) -> [Range<usize>; 2] {
    let before_end = hole.start.clamp(range.start, range.end);
    let after_start = hole.end.clamp(before_end, range.end);
    [range.start..before_end, after_start..range.end]
}

const GIB: u64 = 1 << 30;

/// The largest buffer each of `processes` processes on a host may allocate: a third of its share
/// (send, receive and scratch buffers each take up to the largest size) of the available memory
/// less nccl-tests' reserve (1 GiB per 16 GiB installed, at most 4 GiB, plus 1 GiB for the rest),
/// so a large -e leaves the host room to work instead of taking all of it.
pub(crate) fn host_buffer_limit(available: u64, total: u64, processes: usize) -> u64 {
    available.saturating_sub(host_memory_reserve(total)) / processes.max(1) as u64 / 3
}

/// The memory a host keeps free: 1 GiB per 16 GiB installed (at most 4 GiB) plus 1 GiB.
fn host_memory_reserve(total: u64) -> u64 {
    total.div_ceil(16 * GIB).min(4) * GIB + GIB
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_limit_keeps_nccl_tests_reserve_free() {
        // 24 GiB host, all available, one process: 24 - (2 + 1) GiB left, a third per buffer.
        assert_eq!(host_buffer_limit(24 * GIB, 24 * GIB, 1), 7 * GIB);
        // The three buffers leave the reserve free.
        let limit = host_buffer_limit(23 * GIB, 24 * GIB, 1);
        assert!(23 * GIB - 3 * limit >= 3 * GIB, "{limit}");
        // 4 processes share it; a large host reserves at most 4 + 1 GiB.
        assert_eq!(host_buffer_limit(24 * GIB, 24 * GIB, 4), 7 * GIB / 4);
        assert_eq!(
            host_buffer_limit(1029 * GIB, 1029 * GIB, 1),
            341 * GIB + GIB / 3
        );
        // Less available than the reserve: nothing (the plan then refuses -b with a clear error).
        assert_eq!(host_buffer_limit(2 * GIB, 24 * GIB, 1), 0);
    }
    use crate::collectives::{OpColumn, REGISTRY};
    use crate::types::{DataType, ReduceOp};

    fn call<'a>(
        collective: &'a dyn crate::collectives::Collective,
        dtype: DataType,
        op: Option<ReduceOp>,
        bytes: usize,
        in_place: bool,
    ) -> CallSpec<'a> {
        let count = bytes / dtype.size_bytes();
        CallSpec {
            collective,
            dtype,
            op,
            root: 0,
            counts: collective.counts(count, dtype.size_bytes(), 1),
            in_place,
            seed: 42,
        }
    }

    fn ops_for(collective: &dyn crate::collectives::Collective) -> Vec<Option<ReduceOp>> {
        match collective.op_column() {
            OpColumn::Reduction => ReduceOp::ALL.iter().copied().map(Some).collect(),
            _ => vec![None],
        }
    }

    #[test]
    fn every_collective_type_and_op_is_exact_on_one_rank() {
        let mut backend = HostBackend::single(host_placement(0, 0, "test-host"));
        backend.allocate(4096, 4096).unwrap();
        for &collective in REGISTRY {
            for dtype in DataType::ALL {
                for op in ops_for(collective) {
                    for in_place in [false, true] {
                        let c = call(collective, dtype, op, 4096, in_place);
                        backend.prepare(&c).unwrap();
                        backend.warmup(&c, 1).unwrap();
                        let outcome = backend.check(&c).unwrap();
                        assert_eq!(
                            outcome.wrong,
                            0,
                            "{} {dtype} {op:?} in_place={in_place}: {:?}",
                            collective.name(),
                            outcome.first
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_planted_corruption_is_counted_and_reported_with_the_printed_rank() {
        let mut backend = HostBackend::single(host_placement(5, 0, "test-host"));
        backend.allocate(1024, 1024).unwrap();
        let collective = REGISTRY[0];
        let c = call(
            collective,
            DataType::Float,
            Some(ReduceOp::Sum),
            1024,
            false,
        );
        backend.prepare(&c).unwrap();
        backend.warmup(&c, 1).unwrap();
        backend.corrupt_output(&c, 0, 3).unwrap();
        let outcome = backend.check(&c).unwrap();
        assert_eq!(outcome.wrong, 1);
        let first = outcome.first.unwrap();
        assert_eq!((first.rank, first.index), (5, 3));
    }

    #[test]
    fn a_skipped_operation_leaves_poison_that_the_check_catches() {
        let mut backend = HostBackend::single(host_placement(0, 0, "test-host"));
        backend.allocate(256, 256).unwrap();
        let c = call(
            REGISTRY[0],
            DataType::Int32,
            Some(ReduceOp::Max),
            256,
            false,
        );
        backend.prepare(&c).unwrap();
        let outcome = backend.check(&c).unwrap();
        assert_eq!(outcome.wrong, 64);
    }

    #[test]
    fn outside_leaves_out_the_hole() {
        assert_eq!(outside(0..10, 0..0), [0..0, 0..10]);
        assert_eq!(outside(0..10, 0..10), [0..0, 10..10]);
        assert_eq!(outside(0..10, 3..5), [0..3, 5..10]);
        assert_eq!(outside(4..10, 0..6), [4..4, 6..10]);
        assert_eq!(outside(4..10, 8..20), [4..8, 10..10]);
        assert_eq!(outside(4..10, 12..20), [4..10, 10..10]);
    }

    /// Poison goes only where the in-place input does not land; the output is then the input
    /// where it lies and poison everywhere else, as when the whole output was poisoned first.
    #[test]
    fn in_place_preparation_poisons_all_the_output_the_input_does_not_cover() {
        let mut backend = HostBackend::single(host_placement(0, 0, "test-host"));
        backend.allocate(4096, 4096).unwrap();
        for &collective in REGISTRY {
            let op = ops_for(collective)[0];
            let c = call(collective, DataType::Int32, op, 4096, true);
            backend.recv.bytes_mut().fill(0x5A);
            backend.prepare(&c).unwrap();
            let (out_start, out_len) = backend.output_range(&c).unwrap();
            let input_start = backend.layout(&c, 0).send_start();
            let input_len = c.counts.send_count * 4;
            let output = &backend.recv.bytes()[out_start..out_start + out_len];
            for (at, &byte) in (out_start..).zip(output) {
                let expected = if (input_start..input_start + input_len).contains(&at) {
                    backend.send.bytes()[at - input_start]
                } else {
                    POISON_BYTE
                };
                assert_eq!(byte, expected, "{} byte {at}", collective.name());
            }
        }
    }

    #[test]
    fn timed_loop_moves_buffers_and_reports_a_time() {
        let mut backend = HostBackend::single(host_placement(0, 0, "test-host"));
        backend.allocate(1 << 16, 1 << 16).unwrap();
        let c = call(
            REGISTRY[0],
            DataType::Float,
            Some(ReduceOp::Sum),
            1024,
            false,
        );
        let plan = TimingPlan {
            iters: 20,
            agg_iters: 2,
            graph_launches: 0,
            blocking_mode: crate::plan::BlockingMode::Off,
            per_iteration: true,
            per_iteration_skip: 0,
            report_cputime: false,
        };
        let timing = backend.measure(&c, &plan).unwrap();
        assert!(timing.seconds_per_op > 0.0);
        assert_eq!(timing.per_iteration_us.len(), 20);
    }
}
