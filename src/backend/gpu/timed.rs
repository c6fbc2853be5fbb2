//! The GPU timed loop (nccl-tests' BenchTime): `-n` × `-m` launches timed by the host clock after
//! the streams complete, with `-z` modes, `-C` launch time, `-G` CUDA-graph capture and replay,
//! `-I` per-iteration CUDA events, and buffer rotation. Waiting polls every stream and every
//! communicator's asynchronous error; on an error or `-T` expiry every communicator is aborted.
//! The launch path does no allocation, locking, logging or event tracking.

use super::launch::{RankOps, SlotLayout};
use super::{GpuWaitHook, LocalRank};
use crate::backend::cuda::device::stream_done;
use crate::backend::cuda::{buffer::DeviceBuffer, cuda_error};
use crate::backend::nccl::comm::{Nccl, RedOp};
use crate::collectives::{Collective, LaunchArgs};
use crate::error::{CollbenchError, Result};
use crate::measure::{watchdog, Timing};
use crate::plan::BlockingMode;
use crate::plan::TimingPlan;
use cudarc::driver::sys::{CUevent_flags, CUgraphInstantiate_flags, CUstreamCaptureMode};
use cudarc::driver::{CudaEvent, CudaGraph};
use std::time::{Duration, Instant};

/// One rank's part of one call: its buffers, slot layout, operator and launch arguments.
pub struct RankCall<'a> {
    pub rank: &'a LocalRank,
    pub send: &'a DeviceBuffer,
    pub recv: &'a DeviceBuffer,
    pub layout: SlotLayout,
    pub op: RedOp,
    pub args: LaunchArgs,
}

/// What every rank of a call shares.
pub struct CallContext<'a> {
    pub nccl: &'a Nccl,
    pub collective: &'a dyn Collective,
    /// Printed size of the call (bytes), for failure messages.
    pub size_bytes: usize,
    pub host: &'a str,
    pub timeout: Option<Duration>,
    /// Faults inside waits and between launches (`crate::faults`; empty in normal runs).
    pub wait_hook: GpuWaitHook,
}

/// How the threads of this process meet: the leader also synchronises the world (MPI barrier).
pub struct Rendezvous<'a> {
    pub threads: &'a super::sync::ThreadBarrier,
    /// Only the leader thread holds the world.
    pub world: Option<&'a dyn crate::world::World>,
}

impl Rendezvous<'_> {
    pub fn sync(&self) -> Result<()> {
        self.threads.wait()?;
        if let Some(world) = self.world {
            if let Err(e) = world.barrier() {
                self.threads.poison();
                return Err(e);
            }
        }
        self.threads.wait()
    }
}

/// Enqueues operation `op_index` on every rank of `calls` (one NCCL group when there are several).
#[inline]
pub fn launch(ctx: &CallContext, calls: &[RankCall], op_index: usize) -> Result<()> {
    let grouped = calls.len() > 1;
    if grouped {
        ctx.nccl.group_start()?;
    }
    let mut result = Ok(());
    for call in calls {
        let (send, recv) = match call.layout.regions(op_index, call.send, call.recv) {
            Ok(regions) => regions,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        let mut ops = RankOps {
            nccl: ctx.nccl,
            comm: &call.rank.comm,
            stream: &call.rank.device.stream,
            send,
            recv,
            op: call.op,
        };
        if let Err(e) = ctx.collective.launch(&mut ops, &call.args) {
            result = Err(e);
            break;
        }
    }
    if grouped {
        let end = ctx.nccl.group_end();
        result = result.and(end);
    }
    result.map_err(|e| failure(ctx, calls, e))
}

/// Waits for every rank's stream, polling NCCL's asynchronous errors and the `-T` deadline.
pub fn wait_all(ctx: &CallContext, calls: &[RankCall]) -> Result<()> {
    let start = Instant::now();
    let mut pending: u64 = if calls.len() >= 64 {
        u64::MAX
    } else {
        (1u64 << calls.len()) - 1
    };
    let mut done_big = vec![false; if calls.len() > 64 { calls.len() } else { 0 }];
    loop {
        let mut progressed = false;
        for (i, call) in calls.iter().enumerate() {
            let is_pending = if done_big.is_empty() {
                pending & (1 << i) != 0
            } else {
                !done_big[i]
            };
            if !is_pending {
                continue;
            }
            let done = if ctx.wait_hook.stream_hang == Some(call.rank.global_rank) {
                Ok(false)
            } else {
                stream_done(&call.rank.device.stream)
            };
            match done {
                Ok(true) => {
                    progressed = true;
                    if done_big.is_empty() {
                        pending &= !(1 << i);
                    } else {
                        done_big[i] = true;
                    }
                }
                Ok(false) => {
                    if let Err(e) = call.rank.comm.async_error() {
                        abort_all(calls);
                        return Err(failure(ctx, calls, e));
                    }
                }
                Err(e) => {
                    abort_all(calls);
                    return Err(failure(ctx, calls, e));
                }
            }
        }
        let all_done = if done_big.is_empty() {
            pending == 0
        } else {
            done_big.iter().all(|d| *d)
        };
        if all_done {
            return Ok(());
        }
        if let Some(timeout) = ctx.timeout {
            if start.elapsed() > timeout {
                // Ours to report: the process-wide -T watchdog, counting from about the same
                // moment, gets a fresh -T for the aborts and the error path (and still ends the
                // job should ncclCommAbort itself hang).
                watchdog::heartbeat_reset();
                abort_all(calls);
                return Err(CollbenchError::Timeout(format!(
                    "{}: operations did not complete within -T {} s; aborted every communicator of \
                     this process",
                    where_(ctx, calls),
                    timeout.as_secs_f64()
                )));
            }
        }
        if !progressed {
            std::thread::yield_now();
        }
    }
}

fn abort_all(calls: &[RankCall]) {
    for call in calls {
        call.rank.comm.abort();
    }
}

/// `rank 3 (host h, GPU 1 [0000:00:06]) all_reduce 8 B`, for every rank in `calls`.
fn where_(ctx: &CallContext, calls: &[RankCall]) -> String {
    let ranks: Vec<String> = calls
        .iter()
        .map(|c| {
            format!(
                "rank {} (host {}, GPU {} [{}])",
                c.rank.global_rank, ctx.host, c.rank.device.ordinal, c.rank.device.bus_id
            )
        })
        .collect();
    format!(
        "{} {} {} B",
        ranks.join(", "),
        ctx.collective.name(),
        ctx.size_bytes
    )
}

/// Prefixes an error with where it happened, keeping its kind (and so its exit code).
pub fn failure(ctx: &CallContext, calls: &[RankCall], e: CollbenchError) -> CollbenchError {
    let at = where_(ctx, calls);
    match e {
        CollbenchError::Nccl(m) => CollbenchError::Nccl(format!("{at}: {m}")),
        CollbenchError::Cuda(m) => CollbenchError::Cuda(format!("{at}: {m}")),
        other => other,
    }
}

/// Runs `iters` untimed operations (indices 0..iters) and waits.
pub fn warmup(ctx: &CallContext, calls: &[RankCall], iters: usize) -> Result<()> {
    for op_index in 0..iters {
        launch(ctx, calls, op_index)?;
    }
    wait_all(ctx, calls)
}

/// The timed loop over this thread's ranks. `rendezvous` synchronises before timing (and for the
/// `-z` modes that barrier).
pub fn timed(
    ctx: &CallContext,
    calls: &[RankCall],
    plan: &TimingPlan,
    rendezvous: &Rendezvous,
) -> Result<Timing> {
    let blocking = plan.blocking_mode;
    if plan.graph_launches > 0 {
        return timed_graph(ctx, calls, plan, rendezvous);
    }
    let iters = plan.iters.max(1);
    let agg = plan.agg_iters.max(1);
    let per_op_wait = matches!(
        blocking,
        BlockingMode::WaitAndBarrierEachOp | BlockingMode::WaitEachOp
    );
    let group_agg = agg > 1 && !per_op_wait;
    let delay = ctx.wait_hook.launch_delay;
    // `-z 3` waits and meets the other ranks between iterations: each iteration then gets its own
    // end event, so its sample leaves out the barrier as the time column does.
    let layout = if blocking == BlockingMode::WaitAndBarrierEachIter {
        EventLayout::StartEnd
    } else {
        EventLayout::Boundaries
    };
    let events = if plan.per_iteration {
        Some(iteration_events(calls, layout.events(iters))?)
    } else {
        None
    };
    let mut untimed = Duration::ZERO;
    rendezvous.sync()?;
    let start = Instant::now();
    for iter in 0..iters {
        if let Some(events) = &events {
            record(calls, events, layout.bounds(iter).0)?;
        }
        if group_agg {
            ctx.nccl.group_start()?;
        }
        for aggregated in 0..agg {
            launch(ctx, calls, iter * agg + aggregated)?;
            if per_op_wait {
                wait_all(ctx, calls)?;
                if blocking == BlockingMode::WaitAndBarrierEachOp {
                    rendezvous.sync()?;
                }
            }
            if let Some(delay) = delay {
                std::thread::sleep(delay);
            }
        }
        if group_agg {
            ctx.nccl.group_end().map_err(|e| failure(ctx, calls, e))?;
        }
        if let (Some(events), EventLayout::StartEnd) = (&events, layout) {
            record(calls, events, layout.bounds(iter).1)?;
        }
        if blocking == BlockingMode::WaitAndBarrierEachIter {
            wait_all(ctx, calls)?;
            let barrier_start = Instant::now();
            rendezvous.sync()?;
            untimed += barrier_start.elapsed();
        }
        watchdog::heartbeat(iter as u64 + 1);
    }
    if let (Some(events), EventLayout::Boundaries) = (&events, layout) {
        record(calls, events, iters)?;
    }
    let launch_seconds = (start.elapsed() - untimed.min(start.elapsed())).as_secs_f64();
    wait_all(ctx, calls)?;
    let total_seconds = (start.elapsed() - untimed.min(start.elapsed())).as_secs_f64();
    let ops = (iters * agg) as f64;
    Ok(Timing {
        seconds_per_op: total_seconds / ops,
        cpu_seconds_per_op: launch_seconds / ops,
        per_iteration_us: match &events {
            Some(events) => per_iteration_us(events, layout, iters, agg as f64)?,
            None => Vec::new(),
        },
    })
}

/// `-G N`: capture the whole loop into one graph per rank, then time N replays.
fn timed_graph(
    ctx: &CallContext,
    calls: &[RankCall],
    plan: &TimingPlan,
    rendezvous: &Rendezvous,
) -> Result<Timing> {
    let iters = plan.iters.max(1);
    let agg = plan.agg_iters.max(1);
    let graphs = capture(ctx, calls, iters, agg)?;
    for graph in &graphs {
        graph
            .upload()
            .map_err(|e| failure(ctx, calls, cuda_error("cuGraphUpload", e)))?;
    }
    wait_all(ctx, calls)?;
    let launches = plan.graph_launches;
    let events = if plan.per_iteration {
        Some(iteration_events(
            calls,
            EventLayout::Boundaries.events(launches),
        )?)
    } else {
        None
    };
    rendezvous.sync()?;
    let start = Instant::now();
    for launch_index in 0..launches {
        if let Some(events) = &events {
            record(calls, events, launch_index)?;
        }
        for graph in &graphs {
            graph
                .launch()
                .map_err(|e| failure(ctx, calls, cuda_error("cuGraphLaunch", e)))?;
        }
        watchdog::heartbeat(launch_index as u64 + 1);
    }
    if let Some(events) = &events {
        record(calls, events, launches)?;
    }
    let launch_seconds = start.elapsed().as_secs_f64();
    wait_all(ctx, calls)?;
    let total_seconds = start.elapsed().as_secs_f64();
    let ops = (iters * agg * launches) as f64;
    Ok(Timing {
        seconds_per_op: total_seconds / ops,
        // nccl-tests divides its graph cputime by iters × agg only, not by the launches.
        cpu_seconds_per_op: launch_seconds / (iters * agg) as f64,
        per_iteration_us: match &events {
            Some(events) => per_iteration_us(
                events,
                EventLayout::Boundaries,
                launches,
                (iters * agg) as f64,
            )?,
            None => Vec::new(),
        },
    })
}

/// Captures `iters × agg` launches on every rank's stream.
fn capture(
    ctx: &CallContext,
    calls: &[RankCall],
    iters: usize,
    agg: usize,
) -> Result<Vec<CudaGraph>> {
    let mut capturing = 0;
    let mut result = Ok(());
    for call in calls {
        // Thread-local mode: NCCL may allocate during the first capture (as nccl-tests notes).
        match call
            .rank
            .device
            .stream
            .begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
        {
            Ok(()) => capturing += 1,
            Err(e) => {
                result = Err(failure(ctx, calls, cuda_error("cuStreamBeginCapture", e)));
                break;
            }
        }
    }
    if result.is_ok() {
        'outer: for iter in 0..iters {
            if agg > 1 {
                if let Err(e) = ctx.nccl.group_start() {
                    result = Err(e);
                    break;
                }
            }
            for aggregated in 0..agg {
                if let Err(e) = launch(ctx, calls, iter * agg + aggregated) {
                    result = Err(e);
                    break 'outer;
                }
            }
            if agg > 1 {
                if let Err(e) = ctx.nccl.group_end() {
                    result = Err(e);
                    break;
                }
            }
        }
    }
    // Always end every capture that began, so the streams are usable afterwards.
    let mut graphs = Vec::with_capacity(calls.len());
    for call in calls.iter().take(capturing) {
        match call
            .rank
            .device
            .stream
            .end_capture(CUgraphInstantiate_flags(0))
        {
            Ok(Some(graph)) => graphs.push(graph),
            Ok(None) => {
                if result.is_ok() {
                    result = Err(failure(
                        ctx,
                        calls,
                        CollbenchError::Cuda("stream capture produced no graph".into()),
                    ));
                }
            }
            Err(e) => {
                if result.is_ok() {
                    result = Err(failure(
                        ctx,
                        calls,
                        cuda_error("cuStreamEndCapture/cuGraphInstantiate", e),
                    ));
                }
            }
        }
    }
    result.map(|_| graphs)
}

/// How `-I` events delimit iterations.
#[derive(Clone, Copy, Debug, PartialEq)]
enum EventLayout {
    /// Back-to-back iterations: `count + 1` events, iteration `i` runs from event `i` to `i + 1`.
    Boundaries,
    /// Iterations separated by untimed host work: events `2i` and `2i + 1` delimit iteration `i`.
    StartEnd,
}

impl EventLayout {
    fn events(self, iterations: usize) -> usize {
        match self {
            EventLayout::Boundaries => iterations + 1,
            EventLayout::StartEnd => 2 * iterations,
        }
    }

    /// Indices of the events that start and end `iteration`.
    fn bounds(self, iteration: usize) -> (usize, usize) {
        match self {
            EventLayout::Boundaries => (iteration, iteration + 1),
            EventLayout::StartEnd => (2 * iteration, 2 * iteration + 1),
        }
    }
}

/// `count` timing events per rank, made before timing.
fn iteration_events(calls: &[RankCall], count: usize) -> Result<Vec<Vec<CudaEvent>>> {
    calls
        .iter()
        .map(|call| {
            (0..count)
                .map(|_| {
                    call.rank
                        .device
                        .ctx
                        .new_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
                        .map_err(|e| cuda_error("cuEventCreate", e))
                })
                .collect()
        })
        .collect()
}

fn record(calls: &[RankCall], events: &[Vec<CudaEvent>], index: usize) -> Result<()> {
    for (call, rank_events) in calls.iter().zip(events) {
        rank_events[index]
            .record(&call.rank.device.stream)
            .map_err(|e| cuda_error("cuEventRecord", e))?;
    }
    Ok(())
}

/// Per-iteration microseconds per operation: the slowest local rank for each iteration.
fn per_iteration_us(
    events: &[Vec<CudaEvent>],
    layout: EventLayout,
    count: usize,
    ops_per_sample: f64,
) -> Result<Vec<f64>> {
    let mut samples = vec![0f64; count];
    for rank_events in events {
        for (i, sample) in samples.iter_mut().enumerate() {
            let (first, last) = layout.bounds(i);
            let ms = rank_events[first]
                .elapsed_ms(&rank_events[last])
                .map_err(|e| cuda_error("cuEventElapsedTime", e))?;
            *sample = sample.max(ms as f64 * 1e3 / ops_per_sample);
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::EventLayout;

    #[test]
    fn every_iteration_has_its_events_and_start_end_pairs_never_share_one() {
        for layout in [EventLayout::Boundaries, EventLayout::StartEnd] {
            for iterations in [1, 2, 7] {
                let events = layout.events(iterations);
                let bounds: Vec<_> = (0..iterations).map(|i| layout.bounds(i)).collect();
                assert!(
                    bounds.iter().all(|&(s, e)| s < e && e < events),
                    "{layout:?}"
                );
                // Back-to-back iterations share a boundary; separated ones must not, or the
                // untimed host work between them would land in a sample.
                let shared = bounds.windows(2).all(|w| w[0].1 == w[1].0);
                assert_eq!(shared, layout == EventLayout::Boundaries || iterations == 1);
            }
        }
        assert_eq!(EventLayout::Boundaries.events(5), 6);
        assert_eq!(EventLayout::StartEnd.events(5), 10);
    }
}
