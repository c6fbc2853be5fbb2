//! The sweep runner: drives one backend over the plan with nccl-tests' `TimeTest`/`BenchTime`
//! semantics, gathers every rank's results to rank 0, aggregates them and feeds the sinks.
//!
//! For each type (`-d`), operator (`-o`) and root (`-r`): one barrier, `-w` warm-up operations at
//! the largest and then the smallest size (out of place), then `-N` times (cycles, nccl-tests'
//! order) for each size an out-of-place and an in-place cell. A cell is: (with `-c`) fill the inputs, one untimed
//! operation, barrier, the timed loop (`Backend::measure`; with `--precision` batches of it until
//! rank 0 says stop, `crate::sweep::batches`), barrier, then `-c` validation runs
//! (fill, one operation, check; stop at the first that finds wrong elements), each followed by a
//! sum of the wrong counts over all ranks. Every rank's sample is gathered to rank 0, which
//! aggregates it (`crate::aggregate`) into the row it hands to the sinks.
//!
//! With NCCL_TESTS_SPLIT the backend runs on the rank's group, while barriers, sums and the gather
//! span the whole world (as in nccl-tests, where they use MPI_COMM_WORLD): one table, printed by
//! world rank 0, with a row per measurement aggregated over every group.
//!
//! Every wait is armed in the `-T` watchdog; SIGINT/SIGTERM stop the sweep after the current row
//! (all ranks agree on it), leaving a complete report of the finished rows.

use crate::aggregate::{
    aggregate_measurement, decode_samples, encode_samples, AggregateOptions, RankSample,
    SummaryAccumulator,
};
use crate::backend::{Backend, CallSpec};
use crate::collectives::{Collective, Counts, OpColumn};
use crate::error::{CollbenchError, Result};
use crate::io::console;
use crate::measure::run_queue::RunQueueWatch;
use crate::measure::watchdog::{self, Phase};
use crate::plan::adaptive::AdaptivePlan;
use crate::plan::{Step, TestPlan};
use crate::report::memory::RankMemory;
use crate::report::network::{self as net_report, ProcessNetwork};
use crate::report::{
    self, Measurement, PrecisionOutcome, RankPlacement, Report, ResultRow, RunConfig, StopReason,
    TimeStats,
};
use crate::sinks::Sink;
use crate::sweep::batches::{self, BatchJudge};
use crate::sweep::cycles::CycleHistory;
use crate::types::ReduceOp;
use crate::world::{Reduction, World};
use serde::{de::DeserializeOwned, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Set (to the signal number) by the SIGINT/SIGTERM handler; the runner stops after the row.
pub type StopSignal = Arc<AtomicUsize>;

/// Everything a run needs.
pub struct RunInputs<'a> {
    pub plan: &'a TestPlan,
    /// The whole job (barriers, sums and the gather to rank 0 use it).
    pub world: &'a dyn World,
    pub backend: &'a mut dyn Backend,
    /// Output sinks; only world rank 0 has any.
    pub sinks: Vec<Box<dyn Sink>>,
    /// NCCL_TESTS_MIN_BW (GB/s).
    pub min_bus_bandwidth_gbps: Option<f64>,
    pub stop: Option<StopSignal>,
    /// Acceptance checks (`--min-busbw`, `--profile`, NCCL_TESTS_MIN_BW), judged on rank 0 before
    /// the sinks finish so every output carries the verdict. Empty: no verdict.
    pub criteria: crate::plan::Criteria,
}

/// How a run ended, the same on every rank.
#[derive(Debug)]
pub struct RunOutcome {
    /// Wrong elements over every cell and rank.
    pub wrong_elements: u64,
    /// No wrong element, the bandwidth check (NCCL_TESTS_MIN_BW) and the acceptance verdict held.
    pub passed: bool,
    /// The average bus bandwidth was below 90 % of NCCL_TESTS_MIN_BW.
    pub bandwidth_failed: bool,
    /// The signal that stopped the sweep early, if one did.
    pub interrupted_by: Option<i32>,
    /// The acceptance verdict (`RunInputs::criteria`) failed; the same on every rank.
    pub verdict_failed: bool,
    /// A `--warn-busbw` floor was missed (exit 8 when nothing failed); the same on every rank.
    pub verdict_warned: bool,
    /// The final report (world rank 0 only).
    pub report: Option<Report>,
    /// The first output (sink) that failed to finish (world rank 0 only). Not returned as the
    /// run's error: the verdict is still printed and pushed, and its exit code wins over this one.
    pub output_error: Option<CollbenchError>,
}

/// What the `redop` column prints for `op` (nccl-tests' spellings per collective).
pub fn redop_label(collective: &dyn Collective, op: Option<ReduceOp>) -> String {
    match collective.op_column() {
        OpColumn::Reduction | OpColumn::Ignored => op.unwrap_or(ReduceOp::Sum).name().to_string(),
        OpColumn::None => "none".to_string(),
        OpColumn::Blank => String::new(),
    }
}

/// The operators to loop over: the plan's for reductions (and sendrecv's ignored `-o`), else one
/// pass without an operator.
fn op_passes(plan: &TestPlan) -> Vec<Option<ReduceOp>> {
    if plan.sweep.ops.is_empty() {
        vec![None]
    } else {
        plan.sweep.ops.iter().copied().map(Some).collect()
    }
}

/// The `config` section of the report, from the plan.
pub fn run_config(plan: &TestPlan, nranks: usize) -> RunConfig {
    let (step_kind, step_value) = match plan.sweep.step {
        Step::Factor(f) => ("factor", f),
        Step::Bytes(b) => ("bytes", b as f64),
    };
    let roots = if plan.collective.uses_root() {
        plan.roots(nranks).iter().map(|&r| r as i64).collect()
    } else {
        vec![-1]
    };
    RunConfig {
        nthreads: plan.gpu.nthreads,
        ngpus: plan.gpu.ngpus,
        min_bytes: plan.sweep.min_bytes,
        max_bytes: plan.sweep.max_bytes,
        step_kind: step_kind.to_string(),
        step_value,
        warmup_iters: plan.warmup_iters,
        iters: plan.timing.iters,
        agg_iters: plan.timing.agg_iters,
        check_iters: plan.check_iters,
        graph_launches: plan.timing.graph_launches,
        blocking: plan.timing.blocks(),
        average_mode: plan.average.name().to_string(),
        per_iteration_timing: plan.timing.per_iteration,
        per_iteration_skip: plan.timing.per_iteration_skip,
        run_cycles: plan.run_cycles,
        seed: plan.seed,
        dtypes: plan.sweep.dtypes.clone(),
        ops: op_passes(plan)
            .iter()
            .filter_map(|op| op.map(|o| o.name().to_string()))
            .collect(),
        roots,
        blocking_mode: plan.timing.blocking_mode.flag(),
        unalign: plan.gpu.unalign,
        parallel_init: plan.gpu.parallel_init,
        report_cputime: plan.timing.report_cputime,
        report_timestamps: plan.report_timestamps,
        adaptive: plan.adaptive.map(|a| a.config()),
    }
}

/// How the rows' samples become measurements (`crate::aggregate`).
fn aggregate_options(plan: &TestPlan) -> AggregateOptions {
    AggregateOptions {
        mode: plan.average,
        per_iteration_skip: plan.timing.per_iteration_skip,
        report_cputime: plan.timing.report_cputime,
        center_is_reported: plan.adaptive.is_some(),
    }
}

/// Measurements (table cells) the sweep runs: 2 per size, type, operator, root and cycle.
fn cell_count(plan: &TestPlan, nranks: usize) -> usize {
    plan.sweep.sizes.len()
        * 2
        * plan.sweep.dtypes.len()
        * op_passes(plan).len()
        * plan.roots(nranks).len()
        * plan.run_cycles.max(1)
}

/// Send and receive bytes the backend must allocate: the largest over the plan's types at the
/// largest size.
pub fn buffer_bytes(plan: &TestPlan, nranks: usize) -> (usize, usize) {
    let mut send = 0;
    let mut recv = 0;
    for &dtype in &plan.sweep.dtypes {
        let elt = dtype.size_bytes();
        let counts = plan
            .collective
            .counts(plan.sweep.max_bytes as usize / elt, elt, nranks);
        send = send.max(counts.send_count * elt);
        recv = recv.max(counts.recv_count * elt);
    }
    (send, recv)
}

struct Runner<'a> {
    plan: &'a TestPlan,
    world: &'a dyn World,
    backend: &'a mut dyn Backend,
    sinks: Vec<Box<dyn Sink>>,
    stop: Option<StopSignal>,
    criteria: crate::plan::Criteria,
    /// Every rank's placement, by rank (world rank 0 only).
    placements: Vec<RankPlacement>,
    /// Every process's network as NCCL's log names it (world rank 0, NCCL runs only).
    networks: Vec<ProcessNetwork>,
    /// `-M`: every rank's memory after allocation, by rank (world rank 0 only).
    memory: Vec<RankMemory>,
    /// This process's printed ranks.
    my_ranks: Vec<usize>,
    summary: SummaryAccumulator,
    wrong_elements: u64,
    /// `--precision`: decides when a measurement's batches stop (rank 0; followed elsewhere).
    judge: Option<BatchJudge>,
    /// `-N`: every measurement's time per cycle (rank 0).
    cycles: CycleHistory,
}

/// One rank's sample of a measurement, and (rank 0 of a `--precision` run) why its batches
/// stopped.
type CellSample = (RankSample, Option<StopReason>);

impl Runner<'_> {
    fn is_root(&self) -> bool {
        self.world.rank() == 0
    }

    fn barrier(&self) -> Result<()> {
        let _armed = watchdog::waiting(Phase::Barrier);
        self.world.barrier()
    }

    /// Gathers one JSON-encoded value per process to rank 0 (`None` elsewhere); `what` names the
    /// value in errors.
    fn gather_json<T: Serialize + DeserializeOwned>(
        &self,
        mine: &T,
        what: &str,
    ) -> Result<Option<Vec<T>>> {
        let bytes = serde_json::to_vec(mine).map_err(|e| {
            CollbenchError::Mpi(format!("could not encode this rank's {what}: {e}"))
        })?;
        let gathered = {
            let _armed = watchdog::waiting(Phase::Gather);
            self.world.gather_bytes(&bytes)?
        };
        let Some(parts) = gathered else {
            return Ok(None);
        };
        let mut values = Vec::with_capacity(parts.len());
        for (process, part) in parts.iter().enumerate() {
            values.push(serde_json::from_slice(part).map_err(|e| {
                CollbenchError::Mpi(format!(
                    "process {process} sent a malformed {what} ({e}); are all ranks running the \
                     same collbench build?"
                ))
            })?);
        }
        Ok(Some(values))
    }

    /// Gathers every process's placements to rank 0, ordered by rank.
    fn gather_placements(&mut self) -> Result<()> {
        let mine = self.backend.placements();
        if let Some(parts) = self.gather_json(&mine, "placement")? {
            let mut all: Vec<RankPlacement> = parts.into_iter().flatten().collect();
            all.sort_by_key(|p| p.rank);
            self.placements = all;
        }
        Ok(())
    }

    /// Gathers every process's network selection to rank 0 (backends that report one).
    fn gather_networks(&mut self) -> Result<()> {
        let Some(mine) = self.backend.network() else {
            return Ok(());
        };
        self.networks = self
            .gather_json(&mine, "network selection")?
            .unwrap_or_default();
        Ok(())
    }

    /// `-M`: gathers every rank's memory after allocation to rank 0, ordered by rank.
    fn gather_memory(&mut self) -> Result<()> {
        if !self.plan.memory_report {
            return Ok(());
        }
        let mine = self.backend.memory_usage()?;
        if let Some(parts) = self.gather_json(&mine, "memory report")? {
            let mut all: Vec<RankMemory> = parts.into_iter().flatten().collect();
            all.sort_by_key(|m| m.rank);
            self.memory = all;
        }
        Ok(())
    }

    fn header(&self, group_size: usize) -> Report {
        let env: Vec<(String, String)> = report::env::process_environment().collect();
        let mut backend = self.backend.info();
        if !self.networks.is_empty() {
            backend.network = net_report::summarize(&self.networks);
            backend.network_by_process = self.networks.clone();
        }
        Report {
            schema_version: report::SCHEMA_VERSION,
            tool: report::meta::tool_info(),
            args: self.plan.args.clone(),
            start_time: report::time::now_rfc3339(),
            end_time: None,
            complete: false,
            backend,
            collective: self.plan.collective.name().to_string(),
            nranks: self.placements.len(),
            hosts: report::meta::hosts_in_rank_order(&self.placements),
            ranks: self.placements.clone(),
            memory: self.memory.clone(),
            slurm: report::slurm::from_env(env.iter().cloned()),
            environment: report::env::allowlisted_environment(env),
            config: run_config(self.plan, group_size),
            results: Vec::new(),
            summary: self.summary.summary(None, None),
            verdict: None,
        }
    }

    /// Whether any rank was asked to stop (every rank gets the same answer).
    fn stop_requested(&self) -> Result<Option<i32>> {
        let local = self
            .stop
            .as_ref()
            .map(|s| s.load(Ordering::SeqCst))
            .unwrap_or(0);
        let _armed = watchdog::waiting(Phase::Finish);
        let any = self.world.allreduce_f64(&[local as f64], Reduction::Max)?;
        let signal = any.first().copied().unwrap_or(0.0) as i32;
        Ok((signal != 0).then_some(signal))
    }

    /// One out-of-place or in-place cell; returns this process's sample.
    fn cell(&mut self, call: &CallSpec) -> Result<CellSample> {
        let plan = self.plan;
        if plan.check_iters > 0 {
            self.backend.fill_inputs(call)?;
        }
        {
            let _armed = watchdog::waiting(Phase::WarmUp);
            self.backend.warmup(call, 1)?;
        }
        self.barrier()?;
        if let Some(judge) = self.judge.as_mut() {
            judge.begin_cell(call.in_place);
        }
        let run_queue = RunQueueWatch::start();
        let timing = batches::run(
            self.backend,
            self.world,
            call,
            &plan.timing,
            self.judge.as_mut(),
        )?;
        let run_queue_share = run_queue.and_then(|watch| watch.share());
        if let Some(judge) = self.judge.as_mut() {
            judge.end_cell();
        }
        self.barrier()?;
        let checked =
            plan.check_iters > 0 && (!call.in_place || call.collective.in_place_checked());
        let mut wrong = None;
        let mut first_wrong = None;
        if checked {
            for _ in 0..plan.check_iters {
                self.backend.prepare(call)?;
                {
                    let _armed = watchdog::waiting(Phase::Validation);
                    self.backend.warmup(call, 1)?;
                }
                let outcome = self.backend.check(call)?;
                let total = {
                    let _armed = watchdog::waiting(Phase::Validation);
                    self.world.allreduce_u64_sum(&[outcome.wrong])?
                };
                wrong = Some(outcome.wrong);
                first_wrong = outcome.first;
                let total = total.first().copied().unwrap_or(0);
                self.wrong_elements += total;
                if total > 0 {
                    break;
                }
            }
        }
        let sample = RankSample {
            rank: self.my_ranks.first().copied().unwrap_or(0),
            seconds_per_op: timing.mean_seconds_per_op,
            cpu_seconds_per_op: timing.mean_cpu_seconds_per_op,
            wrong,
            first_wrong,
            per_iteration_us: timing.per_iteration_us,
            batch_seconds_per_op: timing.seconds_per_op,
            run_queue_share,
        };
        Ok((sample, timing.stopped_by))
    }

    /// Gathers a cell's samples to rank 0 and aggregates them there.
    fn aggregate(&self, cell: CellSample, call: &CallSpec) -> Result<Option<Measurement>> {
        let (sample, stopped_by) = cell;
        let gathered = {
            let _armed = watchdog::waiting(Phase::Gather);
            self.world.gather_bytes(&encode_samples(&[sample]))?
        };
        let Some(parts) = gathered else {
            return Ok(None);
        };
        let mut samples = Vec::with_capacity(parts.len());
        for part in parts {
            samples.extend(decode_samples(&part)?);
        }
        let nranks = self.backend.nranks();
        let elt = call.dtype.size_bytes();
        let mut measurement = aggregate_measurement(
            &samples,
            &self.placements,
            call.collective.alg_bytes(&call.counts, elt, nranks) as f64,
            call.collective.bus_bw_factor(nranks),
            aggregate_options(self.plan),
        )?;
        if let (Some(adaptive), Some(stopped_by)) = (&self.plan.adaptive, stopped_by) {
            let batches = samples.first().map_or(0, |s| s.batch_seconds_per_op.len());
            if let Some(stats) = measurement.stats.as_mut() {
                stats.precision = Some(precision_outcome(stats, adaptive, batches, stopped_by));
            }
        }
        Ok(Some(measurement))
    }

    fn warm_up(&mut self, spec: &CallSpec, nranks: usize) -> Result<()> {
        let plan = self.plan;
        if plan.warmup_iters == 0 {
            return Ok(());
        }
        let elt = spec.dtype.size_bytes();
        let collective = spec.collective;
        // Both placements: a library's first in-place call can take a path of its own (NCCL with
        // one rank), which would otherwise land in the first row's timed in-place loop.
        for bytes in [plan.sweep.max_bytes, plan.sweep.min_bytes] {
            for in_place in [false, true] {
                watchdog::set_target(collective.name(), bytes);
                let call = CallSpec {
                    counts: collective.counts(bytes as usize / elt, elt, nranks),
                    in_place,
                    ..*spec
                };
                let _armed = watchdog::waiting(Phase::WarmUp);
                self.backend.warmup(&call, plan.warmup_iters)?;
            }
        }
        Ok(())
    }

    /// Runs every size of one (type, operator, root), `-N` times after one warm-up, like
    /// nccl-tests' `TimeTest` (its cycles repeat the size loop inside each type, operator and
    /// root); the signal when a stop was requested.
    fn sweep(
        &mut self,
        report: &mut Report,
        spec: CallSpec,
        printed_op: Option<ReduceOp>,
    ) -> Result<Option<i32>> {
        let plan = self.plan;
        let nranks = self.backend.nranks();
        self.barrier()?;
        self.warm_up(&spec, nranks)?;
        let mut cycle = 0;
        while plan.run_cycles == 0 || cycle < plan.run_cycles {
            if let Some(signal) = self.sweep_sizes(report, spec, printed_op, cycle)? {
                return Ok(Some(signal));
            }
            cycle += 1;
        }
        Ok(None)
    }

    /// One pass over the sizes (one `-N` cycle); the signal when a stop was requested.
    fn sweep_sizes(
        &mut self,
        report: &mut Report,
        spec: CallSpec,
        printed_op: Option<ReduceOp>,
        cycle: usize,
    ) -> Result<Option<i32>> {
        let plan = self.plan;
        let nranks = self.backend.nranks();
        let elt = spec.dtype.size_bytes();
        let collective = spec.collective;
        for &size in &plan.sweep.sizes {
            let counts: Counts = collective.counts(size as usize / elt, elt, nranks);
            watchdog::set_target(collective.name(), counts.size_bytes(elt));
            let mut cells = [None, None];
            for (slot, in_place) in [false, true].into_iter().enumerate() {
                let call = CallSpec {
                    counts,
                    in_place,
                    ..spec
                };
                let cell = self.cell(&call)?;
                cells[slot] = self.aggregate(cell, &call)?;
            }
            if self.is_root() {
                let [mut out_of_place, mut in_place] = cells;
                let printed = redop_label(collective, printed_op);
                let root = if collective.uses_root() {
                    spec.root as i64
                } else {
                    -1
                };
                for (placement, cell) in [(false, &mut out_of_place), (true, &mut in_place)] {
                    if let Some(m) = cell.as_mut() {
                        let key = (spec.dtype, printed.clone(), root, size, placement);
                        self.cycles.record(key, m);
                    }
                }
                let row = ResultRow {
                    collective: collective.name().to_string(),
                    size_bytes: counts.size_bytes(elt),
                    count: counts.param_count as u64,
                    dtype: spec.dtype,
                    redop: printed,
                    root,
                    out_of_place,
                    in_place,
                    cycle,
                };
                self.summary.add_row(&row);
                for sink in self.sinks.iter_mut() {
                    sink.row(report, &row)?;
                }
                report.results.push(row);
            }
            if let Some(signal) = self.stop_requested()? {
                return Ok(Some(signal));
            }
        }
        Ok(None)
    }

    fn run(mut self, min_bw: Option<f64>) -> Result<RunOutcome> {
        let plan = self.plan;
        let nranks = self.backend.nranks();
        self.my_ranks = self.backend.placements().iter().map(|p| p.rank).collect();
        self.gather_placements()?;
        self.gather_networks()?;
        let (send_bytes, recv_bytes) = buffer_bytes(plan, nranks);
        if self.is_root() {
            for note in super::notes::before_sweep(plan, nranks, send_bytes + recv_bytes) {
                eprintln!("collbench: note: {note}");
            }
        }
        self.backend.allocate(send_bytes, recv_bytes)?;
        self.gather_memory()?;
        self.judge = plan.adaptive.map(|adaptive| {
            let cells = cell_count(plan, nranks);
            BatchJudge::new(adaptive, aggregate_options(plan), cells, self.stop.clone())
        });

        let mut report = self.header(nranks);
        report.summary = self.summary.summary(min_bw, None);
        if self.is_root() {
            for sink in self.sinks.iter_mut() {
                sink.begin(&report)?;
            }
        }

        let roots = plan.roots(nranks);
        let mut interrupted_by = None;
        'passes: for &dtype in &plan.sweep.dtypes {
            for printed_op in op_passes(plan) {
                // Only reductions apply the operator; sendrecv prints `-o` but ignores it.
                let op = match plan.collective.op_column() {
                    OpColumn::Reduction => printed_op,
                    _ => None,
                };
                // Backend limits (fp8 on GPUs before sm_90, fp8 avg in NCCL): a skip line,
                // identical on every rank, instead of an error.
                if let Some(why) = self.backend.unsupported(dtype, op) {
                    if self.is_root() {
                        console::print_line(&format!(
                            "# Skipping {} {}: {why}",
                            dtype.name(),
                            op.map(|o| o.name()).unwrap_or("none")
                        ));
                    }
                    continue;
                }
                for &root in &roots {
                    let spec = CallSpec {
                        collective: plan.collective,
                        dtype,
                        op,
                        root,
                        counts: Counts::default(),
                        in_place: false,
                        seed: plan.seed,
                    };
                    if let Some(signal) = self.sweep(&mut report, spec, printed_op)? {
                        interrupted_by = Some(signal);
                        break 'passes;
                    }
                }
            }
        }

        let interrupted = interrupted_by.map(|signal| {
            format!(
                "stopped by signal {signal} ({}) after {} rows",
                signal_name(signal),
                report.results.len()
            )
        });
        let summary = self.summary.summary(min_bw, interrupted);
        let bandwidth_failed = summary.bus_bandwidth_ok() == Some(false);
        let mut verdict_failed = false;
        let mut verdict_warned = false;
        if self.is_root() {
            report.summary = summary;
            report.end_time = Some(report::time::now_rfc3339());
            report.complete = interrupted_by.is_none();
            report.verdict = crate::verdict::evaluate(&report, &self.criteria);
            verdict_failed = report.verdict.as_ref().is_some_and(|v| !v.passed);
            verdict_warned = report.verdict.as_ref().is_some_and(|v| v.warned);
        }
        // Rank 0 alone knows the bandwidth and acceptance verdicts: share them so every rank
        // exits alike.
        let mut verdict = vec![
            u8::from(bandwidth_failed),
            u8::from(verdict_failed),
            u8::from(verdict_warned),
        ];
        {
            let _armed = watchdog::waiting(Phase::Finish);
            self.world.broadcast_bytes(&mut verdict)?;
        }
        let bandwidth_failed = verdict.first() == Some(&1);
        let verdict_failed = verdict.get(1) == Some(&1);
        let verdict_warned = verdict.get(2) == Some(&1);
        let passed = self.wrong_elements == 0 && !bandwidth_failed && !verdict_failed;
        let (report, finished) = if self.is_root() {
            // Every sink gets its chance to finish even when one fails; the first error wins.
            let results: Vec<Result<()>> = self
                .sinks
                .iter_mut()
                .map(|sink| sink.finish(&report))
                .collect();
            let finished = results.into_iter().collect::<Result<()>>();
            (Some(report), finished)
        } else {
            (None, Ok(()))
        };
        // No rank may exit before rank 0 has written its files: a launcher that ends the job when
        // one rank exits non-zero (srun --kill-on-bad-exit, mpirun) would otherwise kill rank 0
        // mid-write whenever the run fails (exit 7) or is interrupted (143).
        {
            let _armed = watchdog::waiting(Phase::Finish);
            self.world.barrier()?;
        }
        Ok(RunOutcome {
            wrong_elements: self.wrong_elements,
            passed,
            bandwidth_failed,
            interrupted_by,
            verdict_failed,
            verdict_warned,
            report,
            output_error: finished.err(),
        })
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

/// Runs the plan's sweep (see the module documentation). Collective over the world.
pub fn run(inputs: RunInputs) -> Result<RunOutcome> {
    let runner = Runner {
        plan: inputs.plan,
        world: inputs.world,
        backend: inputs.backend,
        sinks: inputs.sinks,
        stop: inputs.stop,
        criteria: inputs.criteria,
        placements: Vec::new(),
        networks: Vec::new(),
        memory: Vec::new(),
        my_ranks: Vec::new(),
        summary: SummaryAccumulator::new(),
        wrong_elements: 0,
        judge: None,
        cycles: CycleHistory::default(),
    };
    runner.run(inputs.min_bus_bandwidth_gbps)
}

/// How a `--precision` measurement ended, from its final statistics.
fn precision_outcome(
    stats: &TimeStats,
    adaptive: &AdaptivePlan,
    batches: usize,
    stopped_by: StopReason,
) -> PrecisionOutcome {
    let achieved_percent = stats.half_width_percent();
    PrecisionOutcome {
        target_percent: adaptive.precision_percent,
        achieved_percent,
        reached: achieved_percent <= adaptive.precision_percent
            && stats.confidence >= crate::aggregate::CONFIDENCE,
        batches,
        stopped_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectives::find;
    use crate::types::DataType;

    #[test]
    fn redop_column_follows_nccl_tests_per_collective() {
        let all_reduce = find("all_reduce").unwrap();
        assert_eq!(redop_label(all_reduce, Some(ReduceOp::Max)), "max");
        assert_eq!(redop_label(find("gather").unwrap(), None), "none");
        assert_eq!(redop_label(find("sendrecv").unwrap(), None), "sum");
        assert_eq!(redop_label(find("hypercube").unwrap(), None), "");
    }

    #[test]
    fn buffers_cover_the_largest_size_of_every_type() {
        let plan = crate::cli::parse_collective_args(
            find("all_gather").unwrap(),
            &[
                "allgather-perf",
                "-b",
                "8",
                "-e",
                "1M",
                "-f",
                "2",
                "-d",
                "all",
            ]
            .map(String::from),
            &|_| None,
        )
        .unwrap();
        let crate::cli::Parsed::Run(plan) = plan else {
            panic!("expected a plan")
        };
        let (send, recv) = buffer_bytes(&plan, 4);
        assert_eq!((send, recv), (1 << 18, 1 << 20));
        let config = run_config(&plan, 4);
        assert_eq!(config.dtypes.len(), DataType::ALL.len());
        assert_eq!(config.roots, vec![-1]);
        assert_eq!(config.step_kind, "factor");
    }
}
