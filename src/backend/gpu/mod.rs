//! The NCCL GPU backend: one communicator per local GPU (`-t` threads × `-g` GPUs per thread),
//! device buffers with nccl-tests' rotation, validation kernels on the device, and the timed loop
//! in `gpu/timed.rs`. Created by [`GpuBackend::new`]; driven through [`Backend`].
//!
//! Flow the runner follows for one (size, dtype, op, root, placement): `prepare` (poison + fill
//! slot 0), `warmup(call, 1)` (operation 0 writes slot 0), `check` (verifies slot 0),
//! `warmup(call, w)`, `measure`. Operation `i` of any loop uses rotation slot `i mod steps`.

mod calls;
mod init;
mod launch;
mod nccl_features;
mod options;
mod sync;
mod threads;
mod timed;
mod validate;

pub use options::{local_devices, GpuOptions, GpuSetup, GpuWaitHook};
pub use validate::{SelfTestLine, POISON_BYTE};

use crate::backend::api::{Backend, CallSpec, CorruptOutput};
use crate::backend::cuda::buffer::DeviceBuffer;
use crate::backend::cuda::device::{self, GpuDevice};
use crate::backend::cuda::kernels::ValidationKernels;
use crate::backend::nccl::comm::{Communicator, Nccl, Registration};
use crate::data::{CheckOutcome, GenParams};
use crate::error::{CollbenchError, Result};
use crate::measure::Timing;
use crate::plan::AverageMode;
use crate::plan::TimingPlan;
use crate::report::memory::{MemoryKind, RankMemory};
use crate::report::network::ProcessNetwork;
use crate::report::{BackendInfo, RankPlacement};
use crate::types::{DataType, ReduceOp};
use crate::world::World;
use calls::with_calls;
use init::{init_group, init_in_threads, load_kernels};
use launch::SlotLayout;
use options::device_override;
use std::sync::Arc;
use std::time::Duration;
use sync::ThreadBarrier;
use threads::combine_threads;
use timed::{CallContext, Rendezvous};

/// Memory kept free for NCCL's own buffers and the CUDA context when capping maxBytes.
const MEMORY_RESERVE_BYTES: usize = 1 << 30;

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
    /// `COLLBENCH_TEST_STREAM_HANG`: the global rank whose stream waits never complete.
    wait_hook: GpuWaitHook,
    average: AverageMode,
    max_buffer_bytes: u64,
    memory: Vec<MemoryUsage>,
    /// What NCCL's log said about the network, when a capture was given.
    network: Option<ProcessNetwork>,
    /// nccl-tests' notices about flags the loaded NCCL cannot honour (`-x 2` before 2.28).
    setup_notices: Vec<String>,
}

impl GpuBackend {
    pub fn new(mut setup: GpuSetup) -> Result<GpuBackend> {
        let net_log = setup.net_log.take();
        let plan = &setup.options;
        let world = setup.world.as_ref();
        let (lib, cta_policy) = nccl_features::load_nccl(plan)?;
        let nccl = Nccl::new(lib);
        let visible = device::device_count()?;
        if visible == 0 {
            return Err(CollbenchError::Cuda(
                "the CUDA driver reports 0 GPUs on this node".into(),
            ));
        }
        let per_process = plan.nthreads * plan.ngpus;
        let ordinals = local_devices(
            setup.local_rank,
            per_process,
            device_override(plan.device_base.as_deref())?,
            visible,
        )?;
        let devices = ordinals
            .iter()
            .map(|&o| GpuDevice::open(o, plan.stream_null))
            .collect::<Result<Vec<_>>>()?;
        nccl_features::check_multicast(plan, &devices)?;
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

        let config = cta_policy.config;
        let comms = if world.size() == 1 && !plan.parallel_init && config.is_none() {
            let list: Vec<i32> = ordinals.iter().map(|&o| o as i32).collect();
            nccl.init_all(&list)?
        } else if plan.parallel_init && plan.nthreads > 1 {
            init_in_threads(&nccl, &devices, nranks, first_rank, plan.ngpus, &id, config)?
        } else {
            init_group(&nccl, &devices, nranks, first_rank, &id, config)?
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

        nccl_features::refuse_device_kernels(plan, &comms, first_rank, nranks)?;

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
            wait_hook: plan.wait_hook,
            average: plan.average,
            max_buffer_bytes,
            memory,
            network,
            setup_notices: cta_policy.notice.into_iter().collect(),
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
        call_context(&self.nccl, &self.host, self.timeout, self.wait_hook, call)
    }
}

/// What every rank of `call` shares (a free function: the `-t` path borrows the ranks mutably
/// beside it).
fn call_context<'a>(
    nccl: &'a Nccl,
    host: &'a str,
    timeout: Option<Duration>,
    wait_hook: GpuWaitHook,
    call: &'a CallSpec,
) -> CallContext<'a> {
    CallContext {
        nccl,
        collective: call.collective,
        size_bytes: call.counts.send_count.max(call.counts.recv_count) * call.dtype.size_bytes(),
        host,
        timeout,
        wait_hook,
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

impl Backend for GpuBackend {
    fn info(&self) -> BackendInfo {
        let lib = &self.nccl.lib;
        BackendInfo {
            name: "nccl".into(),
            library: format!("NCCL {}", lib.version_string()),
            library_path: Some(lib.path.clone()),
            version_code: Some(lib.version_code as i64),
            // Rank 0 fills both from every process's `network()` (crate::sweep::runner).
            network: None,
            network_by_process: Vec::new(),
        }
    }

    fn network(&self) -> Option<ProcessNetwork> {
        self.network.clone()
    }

    fn setup_notices(&self) -> Vec<String> {
        self.setup_notices.clone()
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

    fn max_buffer_basis(&self) -> Option<String> {
        let tightest = self.memory.iter().min_by_key(|m| m.free_after_init)?;
        Some(format!(
            "GPU {} has {} free of {} after NCCL's initialisation, less a reserve of {} kept \
             free, for a send and a receive buffer",
            tightest.device,
            crate::plan::human_bytes(tightest.free_after_init as u64),
            crate::plan::human_bytes(tightest.total_bytes as u64),
            crate::plan::human_bytes(MEMORY_RESERVE_BYTES as u64)
        ))
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
        let ctx = call_context(&self.nccl, &self.host, self.timeout, self.wait_hook, call);
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
                        // A new thread has no current CUDA context; raw driver calls on its
                        // streams (cuStreamQuery, device-to-device copies) need one.
                        if let Some(first) = chunk.first() {
                            if let Err(e) = first.device.bind() {
                                barrier.poison();
                                return Err(e);
                            }
                        }
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
        combine_threads(results, self.average)
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
}

impl CorruptOutput for GpuBackend {
    fn corrupt_output(&mut self, call: &CallSpec, comm_rank: usize, index: usize) -> Result<()> {
        let Some(rank) = self.ranks.iter().find(|r| r.global_rank == comm_rank) else {
            return Ok(());
        };
        let (_, recv) = buffers(rank)?;
        let layout = self.layout(call, rank)?;
        validate::corrupt(rank, &layout, recv, index, call.dtype).map(|_| ())
    }
}
