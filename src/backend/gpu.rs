//! The NCCL GPU backend: one communicator per local GPU (`-t` threads × `-g` GPUs per thread),
//! device buffers with nccl-tests' rotation, validation kernels on the device, and the timed loop
//! in `gpu/timed.rs`. Created by [`GpuBackend::new`]; driven through [`Backend`].
//!
//! Flow the runner follows for one (size, dtype, op, root, placement): `prepare` (poison + fill
//! slot 0), `warmup(call, 1)` (operation 0 writes slot 0), `check` (verifies slot 0),
//! `warmup(call, w)`, `measure`. Operation `i` of any loop uses rotation slot `i mod steps`.

mod launch;
mod sync;
mod timed;
mod validate;

pub use validate::{SelfTestLine, POISON_BYTE};

use crate::backend::cuda::buffer::DeviceBuffer;
use crate::backend::cuda::device::{self, GpuDevice};
use crate::backend::cuda::kernels::ValidationKernels;
use crate::backend::nccl::comm::{Communicator, Nccl, RedOp, Registration};
use crate::backend::nccl::loader;
use crate::backend::nccl::net_capture::NcclLogCapture;
use crate::backend::{Backend, CallSpec};
use crate::collectives::LaunchArgs;
use crate::data::{CheckOutcome, GenParams};
use crate::error::{CollbenchError, Result};
use crate::measure::{Timing, TimingPlan};
use crate::plan::TestPlan;
use crate::report::memory::{MemoryKind, RankMemory};
use crate::report::network::ProcessNetwork;
use crate::report::{BackendInfo, RankPlacement};
use crate::types::{DataType, ReduceOp};
use crate::world::World;
use launch::SlotLayout;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use sync::ThreadBarrier;
use timed::{CallContext, RankCall, Rendezvous};

/// Memory kept free for NCCL's own buffers and the CUDA context when capping maxBytes.
const MEMORY_RESERVE_BYTES: usize = 1 << 30;

/// The plan's GPU settings (see [`GpuOptions::from_plan`]).
#[derive(Clone, Debug, PartialEq)]
pub struct GpuOptions {
    /// `-t`.
    pub nthreads: usize,
    /// `-g`.
    pub ngpus: usize,
    /// `-p`.
    pub parallel_init: bool,
    /// `-c` > 0: load the validation kernels.
    pub validate: bool,
    /// `-R` 0/1/2.
    pub register: u8,
    /// `-u` elements.
    pub unalign: usize,
    /// `-T`.
    pub timeout: Option<Duration>,
    /// `-y 1`: launch on the CUDA null stream.
    pub stream_null: bool,
}

impl GpuOptions {
    pub fn from_plan(plan: &TestPlan) -> GpuOptions {
        GpuOptions {
            nthreads: plan.nthreads.max(1),
            ngpus: plan.ngpus.max(1),
            parallel_init: plan.parallel_init,
            validate: plan.check_iters > 0,
            register: plan.local_register,
            unalign: plan.unalign,
            timeout: plan.timeout,
            stream_null: plan.stream_null,
        }
    }
}

/// What the backend needs from the caller.
pub struct GpuSetup {
    pub options: GpuOptions,
    /// The communicator of this test (after NCCL_TESTS_SPLIT), owned by the backend: it carries
    /// the NCCL unique id and the timed loop's barriers.
    pub world: Box<dyn World>,
    /// This process's index among all processes on its host (before any split): picks its GPUs.
    pub local_rank: usize,
    /// NCCL_TESTS_SPLIT group (placement column).
    pub group: usize,
    /// The NCCL log capture installed before NCCL started (`NcclLogCapture::install`): read once
    /// the communicators exist, to report the network NCCL selected. `None`: not reported.
    pub net_log: Option<NcclLogCapture>,
}

/// One local GPU and everything that belongs to its rank.
pub struct LocalRank {
    pub global_rank: usize,
    pub device: GpuDevice,
    pub comm: Communicator,
    send: Option<DeviceBuffer>,
    recv: Option<DeviceBuffer>,
    /// Wrong-element counter and first-wrong index for `cb_verify`.
    counters: Option<DeviceBuffer>,
    registrations: Vec<Registration>,
    kernels: Option<Arc<ValidationKernels>>,
}

/// Device memory of one rank at the points `-M` reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryUsage {
    pub rank: usize,
    pub device: usize,
    pub total_bytes: usize,
    pub free_before_init: usize,
    pub free_after_init: usize,
    pub free_after_buffers: Option<usize>,
}

pub struct GpuBackend {
    world: Box<dyn World>,
    nccl: Nccl,
    ranks: Vec<LocalRank>,
    nthreads: usize,
    ngpus: usize,
    nranks: usize,
    host: String,
    group: usize,
    validate: bool,
    register: u8,
    unalign: usize,
    timeout: Option<Duration>,
    max_buffer_bytes: u64,
    memory: Vec<MemoryUsage>,
    /// What NCCL's log said about the network, when a capture was given.
    network: Option<ProcessNetwork>,
}

/// `NCCL_TESTS_DEVICE`: the first GPU this process uses (overrides the local-rank mapping).
fn device_override() -> Result<Option<usize>> {
    match std::env::var("NCCL_TESTS_DEVICE") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map(Some).map_err(|_| {
            CollbenchError::Usage(format!(
                "NCCL_TESTS_DEVICE={v:?} is not a GPU index; accepted: a non-negative integer"
            ))
        }),
        _ => Ok(None),
    }
}

/// GPUs of this process: `base + i` for its `nthreads × ngpus` local ranks, where base is
/// NCCL_TESTS_DEVICE or `local_rank × nthreads × ngpus` (nccl-tests' mapping). A process that
/// sees exactly its own `nthreads × ngpus` GPUs was handed them by the launcher (Slurm
/// `--gpus-per-task`, `--gpu-bind`, a per-rank CUDA_VISIBLE_DEVICES, one MIG instance each) and
/// uses them from 0, where nccl-tests fails unless NCCL_TESTS_DEVICE=0 is set.
pub fn local_devices(
    local_rank: usize,
    per_process: usize,
    override_base: Option<usize>,
    visible: usize,
) -> Result<Vec<usize>> {
    let by_local_rank = local_rank.saturating_mul(per_process);
    let base = match override_base {
        Some(base) => base,
        None if by_local_rank.saturating_add(per_process) > visible && visible == per_process => 0,
        None => by_local_rank,
    };
    // Saturating: a huge NCCL_TESTS_DEVICE must fail the check below, not overflow (a panic in
    // debug builds, an empty GPU list in release builds).
    let end = base.saturating_add(per_process);
    if end > visible {
        return Err(CollbenchError::Cuda(format!(
            "this process (local rank {local_rank}{}) needs GPUs {}..={} but sees {visible} GPU(s); \
             run at most {} process(es) per node with -t × -g = {per_process}, lower -t/-g, or \
             give each process its own {per_process} GPU(s) (srun --gpus-per-task={per_process})",
            override_base.map(|b| format!(", NCCL_TESTS_DEVICE={b}")).unwrap_or_default(),
            base,
            end.saturating_sub(1),
            (visible / per_process.max(1)).max(1)
        )));
    }
    Ok((base..end).collect())
}

impl GpuBackend {
    pub fn new(mut setup: GpuSetup) -> Result<GpuBackend> {
        let net_log = setup.net_log.take();
        let plan = &setup.options;
        let world = setup.world.as_ref();
        let lib = loader::load()?;
        let nccl = Nccl::new(lib);
        let visible = device::device_count()?;
        if visible == 0 {
            return Err(CollbenchError::Cuda(
                "the CUDA driver reports 0 GPUs on this node".into(),
            ));
        }
        let per_process = plan.nthreads * plan.ngpus;
        let ordinals = local_devices(setup.local_rank, per_process, device_override()?, visible)?;
        let devices = ordinals
            .iter()
            .map(|&o| GpuDevice::open(o, plan.stream_null))
            .collect::<Result<Vec<_>>>()?;
        let free_before: Vec<usize> = devices
            .iter()
            .map(|d| d.memory_info().map(|m| m.0))
            .collect::<Result<_>>()?;

        // The unique id comes from process 0 of this test's communicator.
        let mut id_bytes = if world.rank() == 0 {
            nccl.unique_id()?.to_bytes()
        } else {
            Vec::new()
        };
        world.broadcast_bytes(&mut id_bytes)?;
        let id = crate::backend::nccl::comm::UniqueId::from_bytes(&id_bytes)?;
        let nranks = world.size() * per_process;
        let first_rank = world.rank() * per_process;

        let comms = if world.size() == 1 && !plan.parallel_init {
            let list: Vec<i32> = ordinals.iter().map(|&o| o as i32).collect();
            nccl.init_all(&list)?
        } else if plan.parallel_init && plan.nthreads > 1 {
            init_in_threads(&nccl, &devices, nranks, first_rank, plan.ngpus, &id)?
        } else {
            init_group(&nccl, &devices, nranks, first_rank, &id)?
        };
        for (i, comm) in comms.iter().enumerate() {
            let (rank, dev) = (comm.user_rank()?, comm.cu_device()?);
            if rank != first_rank + i || dev as usize != ordinals[i] {
                return Err(CollbenchError::Nccl(format!(
                    "communicator {i} reports rank {rank} on GPU {dev}; expected rank {} on GPU {}",
                    first_rank + i,
                    ordinals[i]
                )));
            }
        }

        // Every communicator has logged "Using network …" by now.
        let network = net_log.map(|mut capture| {
            capture.read(
                world.hostname(),
                (first_rank..first_rank + per_process).collect(),
            )
        });

        let validate = plan.validate;
        let kernels = if validate {
            load_kernels(&devices)?
        } else {
            vec![None; devices.len()]
        };
        let mut memory = Vec::new();
        let mut ranks = Vec::new();
        for (i, ((device, comm), kernels)) in
            devices.into_iter().zip(comms).zip(kernels).enumerate()
        {
            let (free, total) = device.memory_info()?;
            memory.push(MemoryUsage {
                rank: first_rank + i,
                device: device.ordinal,
                total_bytes: total,
                free_before_init: free_before[i],
                free_after_init: free,
                free_after_buffers: None,
            });
            ranks.push(LocalRank {
                global_rank: first_rank + i,
                device,
                comm,
                send: None,
                recv: None,
                counters: None,
                registrations: Vec::new(),
                kernels,
            });
        }
        let min_free = memory.iter().map(|m| m.free_after_init).min().unwrap_or(0);
        // Send and receive buffers of maxBytes each, like nccl-tests (expected values live on no
        // buffer: the verify kernel computes them).
        let max_buffer_bytes = (min_free.saturating_sub(MEMORY_RESERVE_BYTES) / 2) as u64;
        let host = world.hostname().to_string();
        Ok(GpuBackend {
            world: setup.world,
            nccl,
            ranks,
            nthreads: plan.nthreads,
            ngpus: plan.ngpus,
            nranks,
            host,
            group: setup.group,
            validate,
            register: plan.register,
            unalign: plan.unalign,
            timeout: plan.timeout,
            max_buffer_bytes,
            memory,
            network,
        })
    }

    /// Device self-test: GPU fill == host fill, bit for bit, for every dtype and value range.
    pub fn selftest_fill(&self, elements: usize, seed: u64) -> Result<Vec<SelfTestLine>> {
        let rank = self
            .ranks
            .first()
            .ok_or_else(|| CollbenchError::Cuda("no local GPU".into()))?;
        validate::selftest_fill(rank, elements, seed, self.nranks)
    }

    /// Kernel provenance per local rank (cache file or NVRTC version).
    pub fn kernel_origins(&self) -> Vec<String> {
        self.ranks
            .iter()
            .map(|r| match &r.kernels {
                Some(k) => format!("{:?}", k.origin),
                None => "not loaded (-c 0)".into(),
            })
            .collect()
    }

    fn params(&self, call: &CallSpec) -> GenParams {
        GenParams {
            seed: call.seed,
            nranks: self.nranks,
            dtype: call.dtype,
            op: call.op,
        }
    }

    fn layout(&self, call: &CallSpec, rank: &LocalRank) -> Result<SlotLayout> {
        let (send, recv) = buffers(rank)?;
        Ok(SlotLayout::new(
            &call.counts,
            call.dtype,
            rank.global_rank,
            call.in_place,
            self.unalign,
            send.len_bytes(),
            recv.len_bytes(),
        ))
    }

    fn check_usable(&self) -> Result<()> {
        if self.ranks.iter().any(|r| r.comm.is_aborted()) {
            return Err(CollbenchError::Nccl(
                "the communicators were aborted after an earlier error".into(),
            ));
        }
        Ok(())
    }

    fn context<'a>(&'a self, call: &'a CallSpec) -> CallContext<'a> {
        CallContext {
            nccl: &self.nccl,
            collective: call.collective,
            size_bytes: call.counts.send_count.max(call.counts.recv_count)
                * call.dtype.size_bytes(),
            host: &self.host,
            timeout: self.timeout,
        }
    }
}

fn buffers(rank: &LocalRank) -> Result<(&DeviceBuffer, &DeviceBuffer)> {
    match (&rank.send, &rank.recv) {
        (Some(s), Some(r)) => Ok((s, r)),
        _ => Err(CollbenchError::Cuda(
            "internal: buffers used before allocate()".into(),
        )),
    }
}

/// One NCCL group of ncclCommInitRank: `devices` become ranks `first_rank`, `first_rank + 1`, …
/// (each call made with its device current).
fn init_group(
    nccl: &Nccl,
    devices: &[GpuDevice],
    nranks: usize,
    first_rank: usize,
    id: &crate::backend::nccl::comm::UniqueId,
) -> Result<Vec<Communicator>> {
    let binds: Vec<Box<dyn Fn() -> Result<()> + '_>> = devices
        .iter()
        .map(|d| Box::new(move || d.bind()) as Box<dyn Fn() -> Result<()>>)
        .collect();
    let ranks: Vec<(usize, &dyn Fn() -> Result<()>)> = binds
        .iter()
        .enumerate()
        .map(|(i, b)| (first_rank + i, b.as_ref()))
        .collect();
    nccl.init_ranks(nranks, id, &ranks)
}

fn init_in_threads(
    nccl: &Nccl,
    devices: &[GpuDevice],
    nranks: usize,
    first_rank: usize,
    ngpus: usize,
    id: &crate::backend::nccl::comm::UniqueId,
) -> Result<Vec<Communicator>> {
    // `-p 1`: every thread creates its GPUs' communicators concurrently (one group each).
    let results: Vec<Result<Vec<Communicator>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = devices
            .chunks(ngpus.max(1))
            .enumerate()
            .map(|(t, chunk)| {
                scope.spawn(move || init_group(nccl, chunk, nranks, first_rank + t * ngpus, id))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(CollbenchError::Nccl(
                        "a communicator-init thread panicked".into(),
                    ))
                })
            })
            .collect()
    });
    let mut comms = Vec::new();
    for r in results {
        comms.extend(r?);
    }
    Ok(comms)
}

/// Compiles (or reads from the cache) once per architecture and loads the module on every device.
fn load_kernels(devices: &[GpuDevice]) -> Result<Vec<Option<Arc<ValidationKernels>>>> {
    let mut out = Vec::with_capacity(devices.len());
    let mut per_device: HashMap<usize, Arc<ValidationKernels>> = HashMap::new();
    for device in devices {
        let kernels = match per_device.get(&device.ordinal) {
            Some(k) => k.clone(),
            None => {
                let k = Arc::new(ValidationKernels::load(device, crate::data::KERNEL_SOURCE)?);
                per_device.insert(device.ordinal, k.clone());
                k
            }
        };
        out.push(Some(kernels));
    }
    Ok(out)
}

/// The operator handle of `op` for one rank (mulsum: a PreMulSum created on its communicator).
fn red_op(
    rank: &LocalRank,
    op: Option<ReduceOp>,
    dtype: DataType,
    nranks: usize,
) -> Result<(RedOp, bool)> {
    match op {
        None => Ok((RedOp(0), false)),
        Some(ReduceOp::MulSum) => {
            let scalar = validate::mulsum_scalar_bytes(rank.global_rank, nranks, dtype);
            Ok((rank.comm.create_pre_mul_sum(&scalar, dtype)?, true))
        }
        Some(other) => Ok((RedOp(other.nccl_enum().unwrap_or(0)), false)),
    }
}

/// Builds the per-rank calls of `ranks`, runs `body`, then destroys any operator it created.
fn with_calls<T>(
    ranks: &[LocalRank],
    call: &CallSpec,
    nranks: usize,
    unalign: usize,
    body: impl FnOnce(&[RankCall]) -> Result<T>,
) -> Result<T> {
    let mut calls = Vec::with_capacity(ranks.len());
    let mut created = Vec::new();
    let mut setup = || -> Result<()> {
        for rank in ranks {
            let (send, recv) = buffers(rank)?;
            let layout = SlotLayout::new(
                &call.counts,
                call.dtype,
                rank.global_rank,
                call.in_place,
                unalign,
                send.len_bytes(),
                recv.len_bytes(),
            );
            let (op, owned) = red_op(rank, call.op, call.dtype, nranks)?;
            if owned {
                created.push((rank, op));
            }
            calls.push(RankCall {
                rank,
                send,
                recv,
                layout,
                op,
                args: LaunchArgs {
                    rank: rank.global_rank,
                    nranks,
                    root: call.root,
                    dtype: call.dtype,
                    op: call.op,
                    counts: call.counts,
                },
            });
        }
        Ok(())
    };
    let result = setup().and_then(|_| body(&calls));
    for (rank, op) in created {
        if !rank.comm.is_aborted() {
            let _ = rank.comm.destroy_red_op(op);
        }
    }
    result
}

impl Backend for GpuBackend {
    fn info(&self) -> BackendInfo {
        let lib = &self.nccl.lib;
        BackendInfo {
            name: "nccl".into(),
            library: format!("NCCL {}", lib.version_string()),
            library_path: Some(lib.path.clone()),
            version_code: Some(lib.version_code as i64),
            // Rank 0 fills both from every process's `network()` (crate::measure::runner).
            network: None,
            network_by_process: Vec::new(),
        }
    }

    fn network(&self) -> Option<ProcessNetwork> {
        self.network.clone()
    }

    fn placements(&self) -> Vec<RankPlacement> {
        self.ranks
            .iter()
            .map(|r| RankPlacement {
                rank: r.global_rank,
                group: self.group,
                host: self.host.clone(),
                pid: std::process::id(),
                device: Some(r.device.ordinal as i32),
                bus_id: Some(r.device.bus_id.clone()),
                device_name: r.device.name.clone(),
            })
            .collect()
    }

    fn local_ranks(&self) -> Vec<usize> {
        self.ranks.iter().map(|r| r.global_rank).collect()
    }

    fn nranks(&self) -> usize {
        self.nranks
    }

    fn max_buffer_bytes(&self) -> Option<u64> {
        Some(self.max_buffer_bytes)
    }

    fn unsupported(&self, dtype: DataType, op: Option<ReduceOp>) -> Option<String> {
        let lib = &self.nccl.lib;
        if dtype.is_fp8() {
            if matches!(op, Some(ReduceOp::Avg) | Some(ReduceOp::MulSum)) {
                // Seen on NCCL 2.28 / H100: ncclAllReduce(fp8, avg) returns ncclInvalidArgument.
                return Some(format!(
                    "NCCL implements {} only for sum/prod/min/max, not {}",
                    dtype,
                    op.map(|o| o.name()).unwrap_or("")
                ));
            }
            if let Some(r) = self.ranks.iter().find(|r| !r.device.supports_fp8()) {
                let (major, minor) = r.device.compute_capability;
                return Some(format!(
                    "{dtype} needs compute capability 9.0 or newer; GPU {} ({}) is {major}.{minor}",
                    r.device.ordinal, r.device.name
                ));
            }
            if lib.version_code < 22400 {
                return Some(format!(
                    "{dtype} needs NCCL 2.24 or newer; loaded NCCL {}",
                    lib.version_string()
                ));
            }
        }
        if op == Some(ReduceOp::MulSum) && lib.api.red_op_create_pre_mul_sum.is_none() {
            return Some(format!(
                "mulsum needs ncclRedOpCreatePreMulSum (NCCL 2.11+); loaded NCCL {}",
                lib.version_string()
            ));
        }
        None
    }

    fn memory_usage(&self) -> Result<Vec<RankMemory>> {
        Ok(self
            .memory
            .iter()
            .map(|m| {
                let after_buffers = m.free_after_buffers.unwrap_or(m.free_after_init);
                RankMemory {
                    rank: m.rank,
                    kind: MemoryKind::Device,
                    device: Some(m.device as i32),
                    communicator_bytes: Some(
                        m.free_before_init.saturating_sub(m.free_after_init) as u64
                    ),
                    // What the allocations took from the device, allocation granularity included.
                    buffer_bytes: m.free_after_init.saturating_sub(after_buffers) as u64,
                    free_bytes: Some(after_buffers as u64),
                    total_bytes: Some(m.total_bytes as u64),
                    process_peak_rss_bytes: None,
                }
            })
            .collect())
    }

    fn allocate(&mut self, send_bytes: usize, recv_bytes: usize) -> Result<()> {
        self.check_usable()?;
        // `-u` moves every buffer by up to unalign × 8 bytes.
        let pad = self.unalign * 8;
        let symmetric = self.register == 2;
        for (rank, memory) in self.ranks.iter_mut().zip(self.memory.iter_mut()) {
            for registration in rank.registrations.drain(..) {
                let _ = rank.comm.deregister(registration);
            }
            rank.send = None;
            rank.recv = None;
            let allocator = if symmetric {
                Some(&self.nccl.lib)
            } else {
                None
            };
            let send = DeviceBuffer::alloc(&rank.device.ctx, send_bytes + pad, allocator)?;
            let recv = DeviceBuffer::alloc(&rank.device.ctx, recv_bytes + pad, allocator)?;
            if rank.counters.is_none() {
                rank.counters = Some(DeviceBuffer::alloc(&rank.device.ctx, 16, None)?);
            }
            if self.register > 0 {
                rank.registrations
                    .push(rank.comm.register(send.all(), symmetric)?);
                rank.registrations
                    .push(rank.comm.register(recv.all(), symmetric)?);
            }
            rank.send = Some(send);
            rank.recv = Some(recv);
            memory.free_after_buffers = Some(rank.device.memory_info()?.0);
        }
        Ok(())
    }

    fn prepare(&mut self, call: &CallSpec) -> Result<()> {
        self.check_usable()?;
        if !self.validate {
            return Ok(());
        }
        let p = self.params(call);
        for rank in &self.ranks {
            let (send, recv) = buffers(rank)?;
            let layout = self.layout(call, rank)?;
            validate::prepare(rank, &layout, send, recv, &p)?;
        }
        Ok(())
    }

    fn warmup(&mut self, call: &CallSpec, iters: usize) -> Result<()> {
        self.check_usable()?;
        let ctx = self.context(call);
        with_calls(&self.ranks, call, self.nranks, self.unalign, |calls| {
            timed::warmup(&ctx, calls, iters)
        })
    }

    fn measure(&mut self, call: &CallSpec, plan: &TimingPlan) -> Result<Timing> {
        self.check_usable()?;
        let (nranks, unalign) = (self.nranks, self.unalign);
        if self.nthreads <= 1 {
            let ctx = self.context(call);
            let barrier = ThreadBarrier::new(1);
            let rendezvous = Rendezvous {
                threads: &barrier,
                world: Some(self.world.as_ref()),
            };
            return with_calls(&self.ranks, call, nranks, unalign, |calls| {
                timed::timed(&ctx, calls, plan, &rendezvous)
            });
        }
        // `-t`: each thread drives its own `-g` GPUs (so every communicator is used by one thread);
        // the leader also meets the other processes.
        let ctx = CallContext {
            nccl: &self.nccl,
            collective: call.collective,
            size_bytes: call.counts.send_count.max(call.counts.recv_count)
                * call.dtype.size_bytes(),
            host: &self.host,
            timeout: self.timeout,
        };
        let barrier = ThreadBarrier::new(self.nthreads);
        let world = self.world.as_ref();
        let mut chunks = self.ranks.chunks_mut(self.ngpus.max(1));
        let leader_chunk: &[LocalRank] = chunks.next().map(|c| &*c).unwrap_or(&[]);
        let results: Vec<Result<Timing>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .map(|chunk| {
                    let (ctx, barrier) = (&ctx, &barrier);
                    scope.spawn(move || {
                        let chunk: &[LocalRank] = chunk;
                        let rendezvous = Rendezvous {
                            threads: barrier,
                            world: None,
                        };
                        let r = with_calls(chunk, call, nranks, unalign, |calls| {
                            timed::timed(ctx, calls, plan, &rendezvous)
                        });
                        if r.is_err() {
                            barrier.poison();
                        }
                        r
                    })
                })
                .collect();
            let rendezvous = Rendezvous {
                threads: &barrier,
                world: Some(world),
            };
            let leader = with_calls(leader_chunk, call, nranks, unalign, |calls| {
                timed::timed(&ctx, calls, plan, &rendezvous)
            });
            if leader.is_err() {
                barrier.poison();
            }
            let mut all = vec![leader];
            all.extend(handles.into_iter().map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(CollbenchError::Nccl("a launch thread panicked".into()))
                })
            }));
            all
        });
        combine_threads(results)
    }

    fn check(&mut self, call: &CallSpec) -> Result<CheckOutcome> {
        self.check_usable()?;
        if !self.validate || (call.in_place && !call.collective.in_place_checked()) {
            return Ok(CheckOutcome::default());
        }
        let p = self.params(call);
        let mut outcome = CheckOutcome::default();
        for rank in &self.ranks {
            let (_, recv) = buffers(rank)?;
            let counters = rank
                .counters
                .as_ref()
                .ok_or_else(|| CollbenchError::Cuda("internal: no counters".into()))?;
            let layout = self.layout(call, rank)?;
            let segments = call.collective.checked(
                rank.global_rank,
                self.nranks,
                call.root,
                &call.counts,
                call.in_place,
            );
            outcome = outcome.merge(validate::check(
                rank, &layout, recv, counters, &segments, &p,
            )?);
        }
        Ok(outcome)
    }

    fn plant_corruption(
        &mut self,
        call: &CallSpec,
        global_rank: usize,
        index: usize,
    ) -> Result<()> {
        let Some(rank) = self.ranks.iter().find(|r| r.global_rank == global_rank) else {
            return Ok(());
        };
        let (_, recv) = buffers(rank)?;
        let layout = self.layout(call, rank)?;
        validate::corrupt(rank, &layout, recv, index, call.dtype).map(|_| ())
    }
}

/// Per-process timing from the threads' timings: mean time per operation (nccl-tests averages
/// over threads), the first thread's launch time (nccl-tests prints thread 0's cputime, it is
/// not averaged), per-iteration samples as the slowest thread's.
fn combine_threads(results: Vec<Result<Timing>>) -> Result<Timing> {
    let mut timings = Vec::with_capacity(results.len());
    for r in results {
        timings.push(r?);
    }
    let n = timings.len().max(1) as f64;
    let seconds_per_op = timings.iter().map(|t| t.seconds_per_op).sum::<f64>() / n;
    let samples = timings
        .iter()
        .map(|t| t.per_iteration_us.len())
        .max()
        .unwrap_or(0);
    let per_iteration_us = (0..samples)
        .map(|i| {
            timings
                .iter()
                .filter_map(|t| t.per_iteration_us.get(i))
                .fold(0f64, |a, &b| a.max(b))
        })
        .collect();
    Ok(Timing {
        seconds_per_op,
        cpu_seconds_per_op: timings.first().map_or(0.0, |t| t.cpu_seconds_per_op),
        per_iteration_us,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_follow_local_rank_or_the_override() {
        assert_eq!(local_devices(0, 1, None, 8).unwrap(), vec![0]);
        assert_eq!(local_devices(3, 2, None, 8).unwrap(), vec![6, 7]);
        assert_eq!(local_devices(0, 2, Some(5), 8).unwrap(), vec![5, 6]);
        let err = local_devices(2, 1, None, 2).err().unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("needs GPUs 2..=2 but sees 2 GPU"),
            "{err}"
        );
        let err = local_devices(2, 2, None, 4).err().unwrap();
        assert!(
            err.to_string().contains("needs GPUs 4..=5 but sees 4 GPU"),
            "{err}"
        );
        // NCCL_TESTS_DEVICE is taken as given, even where the process sees only its own GPUs.
        let err = local_devices(0, 1, Some(1), 1).err().unwrap();
        assert!(err.to_string().contains("NCCL_TESTS_DEVICE=1"), "{err}");
        // NCCL_TESTS_DEVICE at the top of usize: an error, not a wrap-around to no/zero GPUs.
        let err = local_devices(0, 2, Some(usize::MAX), 8).err().unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("NCCL_TESTS_DEVICE="), "{err}");
    }

    #[test]
    fn a_process_handed_only_its_own_gpus_uses_them_from_zero() {
        // srun --gpus-per-task=1: local rank 3 sees one GPU, its own (nccl-tests wants GPU 3).
        assert_eq!(local_devices(3, 1, None, 1).unwrap(), vec![0]);
        // -g 2 with two GPUs per task.
        assert_eq!(local_devices(1, 2, None, 2).unwrap(), vec![0, 1]);
        // Local rank 0 is the same either way.
        assert_eq!(local_devices(0, 2, None, 2).unwrap(), vec![0, 1]);
    }

    #[test]
    fn threads_combine_as_mean_time_and_slowest_iteration() {
        let a = Timing {
            seconds_per_op: 1.0,
            cpu_seconds_per_op: 0.25,
            per_iteration_us: vec![1.0, 5.0],
        };
        let b = Timing {
            seconds_per_op: 3.0,
            cpu_seconds_per_op: 0.5,
            per_iteration_us: vec![2.0, 4.0],
        };
        let t = combine_threads(vec![Ok(a), Ok(b)]).unwrap();
        assert_eq!(t.seconds_per_op, 2.0);
        assert_eq!(
            t.cpu_seconds_per_op, 0.25,
            "thread 0's launch time, as nccl-tests prints"
        );
        assert_eq!(t.per_iteration_us, vec![2.0, 5.0]);
        assert!(combine_threads(vec![Err(CollbenchError::Nccl("x".into()))]).is_err());
    }
}
