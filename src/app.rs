//! Entry points shared by the thin binaries: parse, build the world and the backend, run, and turn
//! the result into the process exit code. This is the one place where errors become exit codes
//! (through [`CollbenchError::exit_code`]) and where they are printed.
//!
//! Error printing: usage errors are the same on every rank (all ranks parse the same command
//! line), so only rank 0 prints them; other errors are printed by the rank that hit them. Errors
//! before the sweep starts are agreed on by every rank and end the job cleanly; an error during the
//! sweep ends the whole job through MPI_Abort, so no rank is left waiting for it.
//!
//! A panic (a bug, never user input) prints `collbench: internal error …` and ends the job with
//! exit code 70.

use crate::aggregate::min_bus_bandwidth_from_env;
use crate::backend::host_mpi::{host_placement, HostBackend};
use crate::backend::nccl::net_capture::NcclLogCapture;
use crate::backend::Backend;
use crate::cli::{self, Parsed, Umbrella};
use crate::collectives;
use crate::error::{exit, CollbenchError, Result};
use crate::measure::hooks::TestHooks;
use crate::measure::memory_cap::lower_max_bytes_to_memory;
use crate::measure::runner::{self, RunInputs, RunOutcome, StopSignal};
use crate::measure::watchdog::{self, Phase};
use crate::plan::{BackendChoice, TestPlan};
use crate::sinks::{self, console, CsvSink, JsonSink, Sink, TextSink};
use crate::world::{self, Reduction, World};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;

/// Entry of a per-collective binary (`allreduce-perf`…): returns the process exit code.
pub fn collective_main(collective: &str) -> i32 {
    install_panic_hook();
    let argv = program_args();
    let Some(collective) = collectives::find(collective) else {
        return report_error(&CollbenchError::Usage(format!(
            "this binary runs '{collective}', which is not a collective of this build; accepted: {}",
            collectives::REGISTRY
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    match cli::parse_collective_args(collective, &argv, &cli::process_env) {
        Ok(parsed) => run_parsed(parsed),
        Err(error) => report_error(&error),
    }
}

/// Entry of the `collbench` umbrella binary.
pub fn umbrella_main() -> i32 {
    install_panic_hook();
    let argv = program_args();
    match cli::parse_umbrella(&argv, &cli::process_env) {
        Ok(Umbrella::Run(parsed)) => run_parsed(parsed),
        Ok(Umbrella::List(text)) | Ok(Umbrella::Version(text)) | Ok(Umbrella::Help(text)) => {
            console::print_line(&text);
            exit::OK
        }
        Ok(Umbrella::Other { name, args }) => other_command(&name, &args),
        Err(error) => report_error(&error),
    }
}

/// `collbench compare|plot|accept …`.
fn other_command(name: &str, args: &[String]) -> i32 {
    let mut stdout = console::Stdout;
    let result = match name {
        "compare" => crate::compare::command(args, &mut stdout),
        "plot" => crate::plot::command(args, &mut stdout),
        "accept" => return accept_main(args),
        // libfabric diagnostics (an Unsupported error without the feature).
        "fabric" => crate::fabric::run(args),
        _ => Err(CollbenchError::Usage(format!(
            "collbench {name}: this command is not part of this build; accepted: run <collective> \
             [flags], list, accept, compare, plot, fabric, --version, -h"
        ))),
    };
    match result {
        Ok(()) => exit::OK,
        Err(error) => report_error(&error),
    }
}

/// `collbench accept [--pairwise …] [flags]`: an acceptance run, or bad-node isolation by pairs.
fn accept_main(args: &[String]) -> i32 {
    use crate::accept::command::{parse, AcceptCommand};
    match parse(args, &cli::process_env) {
        Ok(AcceptCommand::Help(text)) => {
            if world::launcher_rank_hint().unwrap_or(0) == 0 {
                console::print_line(&text);
            }
            exit::OK
        }
        Ok(AcceptCommand::Run(plan)) => run_plan(*plan),
        Ok(AcceptCommand::Pairwise(plan, options)) => run_pairwise(*plan, &options),
        Err(error) => report_error(&error),
    }
}

/// The backend of one pair in `accept --pairwise`, on the pair's communicator (its ranks are
/// numbered within the pair).
fn pair_backend<'g>(
    plan: &TestPlan,
    group: &'g dyn World,
    hooks: &TestHooks,
) -> Result<Box<dyn Backend + 'g>> {
    let mut notices = Vec::new();
    // Pair runs report no network (`accept --pairwise` refuses --require-net).
    build_backend(plan, group, group, 0, &mut notices, None, hooks)
}

fn run_pairwise(plan: TestPlan, options: &crate::accept::command::PairwiseOptions) -> i32 {
    let (world, stop) = match start_world(&plan) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let result = crate::accept::pairwise::run(&plan, world.as_ref(), stop, options, &pair_backend);
    let code = match result {
        Ok(()) => exit::OK,
        Err(error) => {
            let code = report_error_at(&error, world.rank());
            // Usage, verdict and signal outcomes are agreed by every rank; anything else may
            // leave ranks waiting in a collective: end the whole job.
            let agreed = matches!(
                error,
                CollbenchError::Usage(_)
                    | CollbenchError::CheckFailed(_)
                    | CollbenchError::Interrupted { .. }
            );
            if !agreed && world.size() > 1 {
                world.abort(code);
            }
            code
        }
    };
    drop(world);
    code
}

/// The command line; arguments that are not UTF-8 are kept with replacement characters (the parser
/// then rejects them with a message instead of a panic).
fn program_args() -> Vec<String> {
    std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn run_parsed(parsed: Parsed) -> i32 {
    match parsed {
        Parsed::Help(text) => {
            // Under a launcher every rank parses the same line: print the help once.
            if world::launcher_rank_hint().unwrap_or(0) == 0 {
                console::print_line(&text);
            }
            exit::OK
        }
        Parsed::Run(plan) => run_plan(*plan),
    }
}

/// Prints `error` (before the world exists: the launcher's rank decides) and returns its exit code.
fn report_error(error: &CollbenchError) -> i32 {
    report_error_at(error, world::launcher_rank_hint().unwrap_or(0))
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "collbench: internal error (a bug in collbench, please report it): {info}; exiting \
             with code {}",
            exit::INTERNAL
        );
        if let Some(abort) = watchdog::abort_handle() {
            abort(exit::INTERNAL);
        }
        std::process::exit(exit::INTERNAL);
    }));
}

/// SIGINT/SIGTERM: the first asks the sweep to stop after the current row (all ranks agree);
/// a second one ends the process at once with 128 + signal.
fn install_signal_handlers() -> StopSignal {
    let stop: StopSignal = Arc::new(AtomicUsize::new(0));
    let asked = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // signal-hook chains to the handler that was there before, and a shared library may have
        // installed one when it was loaded: libinfinipath (Debian's libfabric pulls it in through
        // libpsm_infinipath) calls exit(1) on SIGTERM, which ended every rank of a cancelled
        // Slurm job with exit 1 before the sweep could stop. These signals are collbench's:
        // start from the default action.
        // SAFETY: resetting a disposition to SIG_DFL runs no code; we are still single-threaded.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
        }
        // Registration order is call order: the shutdown fires only if a signal came before.
        let registered = signal_hook::flag::register_conditional_shutdown(
            signal,
            128 + signal,
            Arc::clone(&asked),
        )
        .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&asked)))
        .and_then(|_| signal_hook::flag::register_usize(signal, Arc::clone(&stop), signal as usize))
        .and_then(|_| signal_hook::flag::register(signal, console::stop_flag()));
        if let Err(error) = registered {
            eprintln!("collbench: could not install a handler for signal {signal}: {error}");
        }
    }
    stop
}

/// Asks CUDA to load every kernel of a module when the module loads, unless the user chose a mode.
/// With CUDA's default lazy loading, NCCL's kernels are loaded on first use, inside the first timed
/// loop that uses them: on an H100 the first row's in-place time doubled (0.47-0.62 µs against
/// 0.29-0.34 µs eager), at no measurable start-up cost. Must run before CUDA initialises and while
/// this is the only thread (environment writes are not thread-safe).
fn load_cuda_modules_eagerly() {
    if std::env::var_os("CUDA_MODULE_LOADING").is_none() {
        std::env::set_var("CUDA_MODULE_LOADING", "EAGER");
        // The report's environment is the user's: collbench's own choice is not recorded there.
        crate::report::env::record_own_settings(vec![("CUDA_MODULE_LOADING".into(), None)]);
    }
}

/// What every run starts with: SIGINT/SIGTERM handlers, the `-T` watchdog (armed before MPI_Init,
/// which can hang too) and the world. `Err` holds the exit code of a world that could not start.
fn start_world(plan: &TestPlan) -> std::result::Result<(Box<dyn World>, StopSignal), i32> {
    let stop = install_signal_handlers();
    if let Some(timeout) = plan.timeout.filter(|t| !t.is_zero()) {
        watchdog::set_target(plan.collective.name(), 0);
        watchdog::start(timeout);
    }
    let watched = plan.timeout.is_some_and(|t| !t.is_zero());
    let world = {
        let _armed = watchdog::waiting(Phase::Init);
        init_world(watched).map_err(|error| report_error(&error))?
    };
    watchdog::set_identity(world.rank(), world.hostname());
    watchdog::set_abort_handle(world.abort_handle());
    Ok((world, stop))
}

/// Runs a validated plan end to end and returns the exit code.
fn run_plan(plan: TestPlan) -> i32 {
    // First, while this is the only thread: NCCL's log settings are environment variables (see
    // NcclLogCapture::install). Not for --backend mpi, which never loads NCCL.
    let net_log = match plan.backend {
        BackendChoice::Nccl | BackendChoice::Auto => {
            load_cuda_modules_eagerly();
            Some(NcclLogCapture::install())
        }
        BackendChoice::Mpi => None,
    };
    let (world, stop) = match start_world(&plan) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let code = run_in_world(plan, world.as_ref(), stop, net_log);
    drop(world);
    code
}

/// `watched`: the run has a `-T` watchdog, whose thread calls MPI_Abort (and, pairwise, sends
/// keepalives) while the main thread may be inside MPI: only then is MPI_THREAD_MULTIPLE asked for,
/// since Open MPI then locks on every call.
#[cfg(feature = "mpi")]
fn init_world(watched: bool) -> Result<Box<dyn World>> {
    // Started by hand (no mpirun, srun or PMI around it) the run is one rank: skip MPI_Init, whose
    // singleton start forks a runtime daemon and costs a large part of a one-size run's start-up.
    if !world::started_by_launcher() {
        return Ok(Box::new(world::SingleProcess::new()));
    }
    if !watched {
        let (world, _) = world::MpiWorld::init_for(world::ThreadUse::MainThreadOnly)?;
        return Ok(Box::new(world));
    }
    let (world, init) = world::MpiWorld::init_for(world::ThreadUse::OtherThreadsCallMpi)?;
    if !init.thread_multiple && world.rank() == 0 {
        eprintln!(
            "collbench: warning: the MPI library does not provide MPI_THREAD_MULTIPLE; the -T \
             watchdog will still try MPI_Abort from its thread"
        );
    }
    Ok(Box::new(world))
}

#[cfg(not(feature = "mpi"))]
fn init_world(_watched: bool) -> Result<Box<dyn World>> {
    // Launched by mpirun/srun with several tasks, a build without MPI would run every task as its
    // own rank 0 of 1 and print N tables: refuse instead.
    let tasks = world::launcher_task_count();
    if tasks > 1 {
        return Err(CollbenchError::Mpi(format!(
            "started as one of {tasks} tasks, but this collbench was built without MPI support; \
             rebuild with `cargo build --release --features mpi`"
        )));
    }
    Ok(Box::new(world::SingleProcess::new()))
}

/// What setup produced for the sweep.
struct Prepared<'w> {
    group_world: Box<dyn World>,
    backend: Box<dyn Backend + 'w>,
    sinks: Vec<Box<dyn Sink>>,
    hooks: TestHooks,
    min_bus_bandwidth_gbps: Option<f64>,
    /// Acceptance checks (rank 0; empty elsewhere).
    criteria: crate::verdict::Criteria,
}

fn run_in_world(
    mut plan: TestPlan,
    world: &dyn World,
    stop: StopSignal,
    net_log: Option<NcclLogCapture>,
) -> i32 {
    // Before anything collective depends on the plan: a rank with other flags would hang in a
    // call the others never make, or "find" wrong results in data that no rank got wrong.
    let agreed_plan = {
        let _armed = watchdog::waiting(Phase::Barrier);
        world::agree::check_same_plan(world, &plan.agreement_fields())
    };
    if let Err(error) = agreed_plan {
        return report_error_at(&error, world.rank());
    }
    // Setup: every rank reaches the agreement below, error or not, so a failure on any rank ends
    // the job cleanly with the same exit code everywhere.
    let setup = prepare(&mut plan, world, net_log);
    let own_code = setup.as_ref().err().map(|e| e.exit_code()).unwrap_or(0);
    if let Err(error) = &setup {
        report_error_at(error, world.rank());
    }
    let agreed = {
        let _armed = watchdog::waiting(Phase::Barrier);
        world.allreduce_f64(&[own_code as f64], Reduction::Max)
    };
    let agreed_code = match agreed {
        Ok(values) => values.first().copied().unwrap_or(0.0) as i32,
        Err(error) => return report_error_at(&error, world.rank()),
    };
    let prepared = match setup {
        Ok(prepared) if agreed_code == 0 => prepared,
        // Another rank failed and printed why; exit with its code.
        _ => return agreed_code.max(own_code),
    };
    let Prepared {
        group_world,
        mut backend,
        sinks,
        hooks,
        min_bus_bandwidth_gbps,
        criteria,
    } = prepared;

    let outcome = runner::run(RunInputs {
        plan: &plan,
        world,
        backend: backend.as_mut(),
        sinks,
        hooks,
        min_bus_bandwidth_gbps,
        stop: Some(stop),
        criteria,
    });
    // The backend's communicator is freed before its group's, before MPI is finalized.
    drop(backend);
    drop(group_world);
    let result = outcome.and_then(|mut outcome| {
        let output = outcome.output_error.take().map_or(Ok(()), Err);
        let push = match &outcome.report {
            Some(report) => finish_acceptance(&plan, report),
            None => Ok(()),
        };
        // The verdict's exit code (7, 130/143) wins over a failed output file or push (1), but
        // every failure is said: a FAIL that never reached its file or the dashboard must not go
        // unnoticed.
        let mut errors = [verdict(&outcome), output, push]
            .into_iter()
            .filter_map(Result::err);
        match errors.next() {
            None => Ok(()),
            Some(first) => {
                for later in errors {
                    eprintln!("collbench: {later}");
                }
                Err(first)
            }
        }
    });
    match result {
        Ok(()) => exit::OK,
        Err(error) => {
            let code = report_error_at(&error, world.rank());
            let mid_sweep = !matches!(
                error,
                CollbenchError::WrongResults(_)
                    | CollbenchError::CheckFailed(_)
                    | CollbenchError::Interrupted { .. }
            );
            if mid_sweep && world.size() > 1 {
                // The other ranks may be waiting for this one in a collective: end them too.
                world.abort(code);
            }
            code
        }
    }
}

/// Prints `error` where it should be seen once: errors every rank has alike (usage, the run's
/// verdict) only on rank 0, the others on the rank that hit them. Returns the exit code.
fn report_error_at(error: &CollbenchError, rank: usize) -> i32 {
    let same_on_every_rank = matches!(
        error,
        CollbenchError::Usage(_)
            | CollbenchError::Unsupported(_)
            | CollbenchError::WrongResults(_)
            | CollbenchError::CheckFailed(_)
            | CollbenchError::Interrupted { .. }
    );
    if !same_on_every_rank || rank == 0 {
        eprintln!("collbench: {error}");
    }
    error.exit_code()
}

/// Rank 0 after the sweep: prints the verdict block after the table and pushes the metrics to
/// `--push-gateway`. A failed push is an I/O error (exit 1) that only wins over a clean verdict.
fn finish_acceptance(plan: &TestPlan, report: &crate::report::Report) -> Result<()> {
    if let Some(v) = &report.verdict {
        console::print_line(&crate::verdict::render::block(v));
    }
    match &plan.acceptance.push_gateway {
        Some(url) => crate::sinks::pushgateway::PushGatewaySink::new(url)?.push(report),
        None => Ok(()),
    }
}

/// The run's verdict as an error (exit 7, 130/143) or success; the same on every rank.
fn verdict(outcome: &RunOutcome) -> Result<()> {
    if outcome.wrong_elements > 0 {
        let first = outcome
            .report
            .as_ref()
            .and_then(|r| r.summary.first_wrong.clone())
            .map(|w| {
                format!(
                    "; first on rank {} at element {}: expected {}, got {}",
                    w.rank, w.index, w.expected, w.got
                )
            })
            .unwrap_or_default();
        return Err(CollbenchError::WrongResults(format!(
            "{} wrong element(s) in the validated results{first}",
            outcome.wrong_elements
        )));
    }
    if outcome.bandwidth_failed {
        let average = outcome
            .report
            .as_ref()
            .map(|r| {
                format!(
                    " ({} GB/s against NCCL_TESTS_MIN_BW {} GB/s)",
                    r.summary.avg_bus_bandwidth_gbps,
                    r.summary.min_bus_bandwidth_gbps.unwrap_or(0.0)
                )
            })
            .unwrap_or_default();
        return Err(CollbenchError::CheckFailed(format!(
            "the average bus bandwidth is below 90 % of NCCL_TESTS_MIN_BW{average}"
        )));
    }
    if let Some(signal) = outcome.interrupted_by {
        return Err(CollbenchError::Interrupted { signal });
    }
    if outcome.verdict_failed {
        let detail = outcome
            .report
            .as_ref()
            .and_then(|r| r.verdict.as_ref())
            .and_then(|v| v.to_result().err())
            .map(|e| match e {
                CollbenchError::CheckFailed(m) => m,
                other => other.to_string(),
            })
            .unwrap_or_else(|| "see rank 0's verdict block".to_string());
        return Err(CollbenchError::CheckFailed(format!(
            "acceptance verdict FAIL: {detail}"
        )));
    }
    Ok(())
}

/// Everything before the sweep: test hooks, NCCL_TESTS_SPLIT groups, rank-count checks, the
/// backend, the memory cap and the sinks.
fn prepare<'w>(
    plan: &mut TestPlan,
    world: &'w dyn World,
    net_log: Option<NcclLogCapture>,
) -> Result<Prepared<'w>> {
    let hooks = TestHooks::from_process_env()?;
    let min_bus_bandwidth_gbps =
        min_bus_bandwidth_from_env(std::env::var("NCCL_TESTS_MIN_BW").ok().as_deref())?;
    let color = plan
        .split
        .map(|rule| rule.color(world.rank() as u64))
        .unwrap_or(0);
    // Checked for every group on every rank, before any of them goes on alone.
    plan.validate_for_groups(world.size())?;
    let group_world = {
        let _armed = watchdog::waiting(Phase::Init);
        world.split(color, world.rank())?
    };
    let mut notices = Vec::new();
    let backend = build_backend(
        plan,
        world,
        group_world.as_ref(),
        color as usize,
        &mut notices,
        net_log,
        &hooks,
    )?;

    // nccl-tests lowers -e to what every rank can allocate, with a notice.
    let rank = world.rank();
    if let Some(notice) = lower_max_bytes_to_memory(plan, backend.as_ref(), world, &hooks, rank)? {
        notices.push(notice);
    }

    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    let mut criteria = crate::verdict::Criteria::default();
    if world.rank() == 0 {
        // `--profile auto` needs the device model: rank 0's own devices name it.
        let devices: Vec<String> = backend
            .placements()
            .into_iter()
            .map(|p| p.device_name)
            .collect();
        criteria = plan.acceptance.resolve_criteria(&devices)?;
        sinks.push(Box::new(
            TextSink::stdout().with_notices(std::mem::take(&mut notices)),
        ));
        if let Some(path) = &plan.json_path {
            sinks::check_output_path("-J/--output_file", path)?;
            sinks.push(Box::new(JsonSink::new(path.clone())));
        }
        if let Some(path) = &plan.csv_path {
            sinks::check_output_path("--csv", path)?;
            sinks.push(Box::new(CsvSink::new(path.clone())));
        }
        if let Some(path) = &plan.acceptance.jsonl_path {
            sinks.push(Box::new(crate::sinks::jsonl::JsonlSink::open(path)?));
        }
        if let Some(path) = &plan.acceptance.prom_file {
            sinks.push(Box::new(crate::sinks::prometheus::PromFileSink::new(path)));
        }
    }
    Ok(Prepared {
        group_world,
        backend,
        sinks,
        hooks,
        min_bus_bandwidth_gbps,
        criteria,
    })
}

/// The backend `--backend` asks for. `auto` takes NCCL when a GPU and libnccl are usable, else
/// the mpi backend with a one-line notice saying why. `net_log`: the NCCL log capture installed
/// at the start of the run, handed to the NCCL backend (dropped, removing its files, otherwise).
fn build_backend<'w>(
    plan: &TestPlan,
    world: &'w dyn World,
    group: &dyn World,
    color: usize,
    notices: &mut Vec<String>,
    net_log: Option<NcclLogCapture>,
    hooks: &TestHooks,
) -> Result<Box<dyn Backend + 'w>> {
    match plan.backend {
        BackendChoice::Nccl => gpu_backend(plan, world, group, color, net_log, hooks),
        BackendChoice::Auto => {
            // Every rank must pick the same backend: NCCL only if it is usable everywhere.
            let probe = crate::backend::nccl::probe();
            let usable_here = if probe.is_ok() { 1.0 } else { 0.0 };
            let usable_everywhere = {
                let _armed = watchdog::waiting(Phase::Init);
                world.allreduce_f64(&[usable_here], Reduction::Min)?
            };
            if usable_everywhere.first() == Some(&1.0) {
                return gpu_backend(plan, world, group, color, net_log, hooks);
            }
            let why = match probe {
                // The first line, without the list of every path the loader tried.
                Err(error) => {
                    let text = error.to_string();
                    let first = text.lines().next().unwrap_or_default();
                    first.split("; tried").next().unwrap_or(first).to_string()
                }
                Ok(_) => "another rank of the job has none".to_string(),
            };
            // GPU-only flags (--require-net too) cannot fall back: say why auto chose mpi.
            plan.require_gpu_flags_unused("mpi")
                .map_err(|error| match error {
                    CollbenchError::Unsupported(message) => CollbenchError::Unsupported(format!(
                        "{message} (--backend auto chose mpi: no usable GPU/NCCL: {why})"
                    )),
                    other => other,
                })?;
            refuse_stream_hang(hooks)?;
            notices.push(format!(
                "# collbench: no usable GPU/NCCL ({why}); using the mpi backend"
            ));
            host_backend(plan, world, group, color)
        }
        BackendChoice::Mpi => {
            refuse_stream_hang(hooks)?;
            host_backend(plan, world, group, color)
        }
    }
}

/// `COLLBENCH_TEST_STREAM_HANG` acts on GPU streams: on the host backend it would do nothing.
fn refuse_stream_hang(hooks: &TestHooks) -> Result<()> {
    use crate::measure::hooks::{STALL_VAR, STREAM_HANG_VAR};
    match hooks.stream_hang {
        Some(rank) => Err(CollbenchError::Usage(format!(
            "{STREAM_HANG_VAR}={rank}: the mpi backend has no GPU streams to hang; accepted: \
             the NCCL backend on GPUs, or {STALL_VAR}={rank} to stop a rank on any backend"
        ))),
        None => Ok(()),
    }
}

/// The NCCL backend: GPUs picked by the process's local rank on its host (the whole job's, before
/// NCCL_TESTS_SPLIT), communicators over the test's group.
fn gpu_backend<'w>(
    plan: &TestPlan,
    world: &'w dyn World,
    group: &dyn World,
    color: usize,
    net_log: Option<NcclLogCapture>,
    hooks: &TestHooks,
) -> Result<Box<dyn Backend + 'w>> {
    use crate::backend::gpu::{GpuBackend, GpuOptions, GpuSetup};
    let _armed = watchdog::waiting(Phase::Init);
    let setup = GpuSetup {
        options: GpuOptions::from_plan(plan, hooks),
        world: group.split(0, group.rank())?,
        local_rank: world.local_rank(),
        group: color,
        net_log,
    };
    Ok(Box::new(GpuBackend::new(setup)?))
}

fn host_backend<'w>(
    plan: &TestPlan,
    world: &'w dyn World,
    group: &dyn World,
    color: usize,
) -> Result<Box<dyn Backend + 'w>> {
    plan.require_gpu_flags_unused("mpi")?;
    let placement = host_placement(world.rank(), color, world.hostname());
    host_backend_on(group, placement)
}

#[cfg(feature = "mpi")]
fn host_backend_on<'w>(
    group: &dyn World,
    placement: crate::report::RankPlacement,
) -> Result<Box<dyn Backend + 'w>> {
    let Some(mpi_group) = group.as_mpi() else {
        // A process started without a launcher runs alone, without MPI (see init_world).
        if group.size() == 1 {
            return Ok(Box::new(HostBackend::single(placement)));
        }
        return Err(CollbenchError::Mpi(
            "the group world is not an MPI world (internal error)".to_string(),
        ));
    };
    let _armed = watchdog::waiting(Phase::Init);
    Ok(Box::new(HostBackend::mpi(mpi_group, placement)?))
}

#[cfg(not(feature = "mpi"))]
fn host_backend_on<'w>(
    group: &dyn World,
    placement: crate::report::RankPlacement,
) -> Result<Box<dyn Backend + 'w>> {
    let _ = group;
    Ok(Box::new(HostBackend::single(placement)))
}
