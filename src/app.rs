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

use crate::backend::host_mpi::{host_placement, HostBackend};
use crate::backend::nccl::net_capture::NcclLogCapture;
use crate::backend::Backend;
use crate::cli::acceptance::min_bus_bandwidth_from_env;
use crate::cli::{self, Parsed, Umbrella};
use crate::collectives;
use crate::error::{exit, CollbenchError, Result};
use crate::faults::TestHooks;
use crate::io::console;
use crate::measure::watchdog::{self, Phase};
use crate::plan::{BackendChoice, TestPlan};
use crate::sinks::{self, nccl_tests_json, CsvSink, JsonSink, Sink, TextSink};
use crate::sweep::memory_cap::lower_max_bytes_to_memory;
use crate::sweep::runner::{self, RunInputs, RunOutcome, StopSignal};
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

/// Entry of the multi-call binary: the name it was started as picks the program, so one
/// installed binary serves every name through links. A collective's name in any of nccl-tests'
/// or collbench's spellings (`all_reduce_perf`, `allreduce-perf`, `all_reduce`, `allreduce`) runs
/// that collective; any other name (`collbench`) is the umbrella.
pub fn multicall_main() -> i32 {
    let name = std::env::args_os()
        .next()
        .and_then(|p| {
            std::path::Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    match collectives::find(&name) {
        Some(collective) => collective_main(collective.name()),
        None => umbrella_main(),
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
    // Pair runs report no network (`accept --pairwise` refuses --require-net).
    build_backend(plan, group, group, 0, None, hooks)
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
        // Under a launcher every rank parses the same line: print the text once.
        Parsed::Help(text) | Parsed::Version(text) => {
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
    if let Some(alltoallv) = &plan.alltoallv {
        crate::collectives::alltoallv::pattern::install(alltoallv.pattern.clone());
    }
    if let Some(timeout) = plan.timeout.filter(|t| !t.is_zero()) {
        watchdog::set_target(plan.collective.name(), 0);
        watchdog::start(timeout);
    }
    let world = {
        let _armed = watchdog::waiting(Phase::Init);
        init_world().map_err(|error| report_error(&error))?
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

#[cfg(feature = "mpi")]
fn init_world() -> Result<Box<dyn World>> {
    // Started by hand (no mpirun, srun or PMI around it) the run is one rank: skip MPI_Init, whose
    // singleton start forks a runtime daemon and costs a large part of a one-size run's start-up.
    if !world::started_by_launcher() {
        return Ok(Box::new(world::SingleProcess::new()));
    }
    let (world, init) = world::MpiWorld::init()?;
    if !init.thread_multiple && world.rank() == 0 {
        eprintln!(
            "collbench: warning: the MPI library does not provide MPI_THREAD_MULTIPLE; the -T \
             watchdog will still try MPI_Abort from its thread"
        );
    }
    Ok(Box::new(world))
}

#[cfg(not(feature = "mpi"))]
fn init_world() -> Result<Box<dyn World>> {
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
    min_bus_bandwidth_gbps: Option<f64>,
    /// Acceptance checks (rank 0; empty elsewhere).
    criteria: crate::plan::Criteria,
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
        min_bus_bandwidth_gbps,
        criteria,
    } = prepared;

    let outcome = runner::run(RunInputs {
        plan: &plan,
        world,
        backend: backend.as_mut(),
        sinks,
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

/// Rank 0 after the sweep: prints the verdict block to stderr (stdout stays nccl-tests' table,
/// see docs/output.md) and pushes the metrics to `--push-gateway`. A failed push is an I/O error
/// (exit 1) that only wins over a clean verdict.
fn finish_acceptance(plan: &TestPlan, report: &crate::report::Report) -> Result<()> {
    if let Some(v) = &report.verdict {
        eprint!("{}", crate::verdict::render::block(v));
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
        // Worded for merged logs (docs/output.md): the footer's own line is the one to parse.
        return Err(CollbenchError::CheckFailed(format!(
            "the footer's average busbw is below 90 % of NCCL_TESTS_MIN_BW{average}"
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
        net_log,
        &hooks,
    )?;
    hooks.check_ranks(world.size() * backend.placements().len())?;

    // nccl-tests lowers -e to what every rank can allocate, with a notice.
    let rank = world.rank();
    if let Some(notice) = lower_max_bytes_to_memory(plan, backend.as_ref(), world, rank)? {
        notices.push(notice);
    }

    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    let mut criteria = crate::plan::Criteria::default();
    if world.rank() == 0 {
        // `--profile auto` needs the device model: rank 0's own devices name it.
        let devices: Vec<String> = backend
            .placements()
            .into_iter()
            .map(|p| p.device_name)
            .collect();
        criteria = plan.acceptance.resolve_criteria(&devices)?;
        let mut preamble = Vec::new();
        let mut json_sink = None;
        if let Some(path) = &plan.json_path {
            crate::io::check_output_path("-J/--output_file", path)?;
            // nccl-tests keeps an existing file and names the one it writes on stdout's first line.
            let claimed = nccl_tests_json::claim(path)?;
            preamble.push(nccl_tests_json::announcement(&claimed));
            json_sink = Some(JsonSink::nccl_tests(claimed));
        }
        let mut text = TextSink::stdout()
            .with_preamble(preamble)
            .with_notices(std::mem::take(&mut notices));
        if let Some(notes) = alltoallv_summary(plan, group_world.size() * plan.ranks_per_process())
        {
            text = text.with_row_notes(notes);
        }
        sinks.push(Box::new(text));
        sinks.extend(json_sink.map(|s| Box::new(s) as Box<dyn Sink>));
        if let Some(path) = &plan.collbench_json_path {
            crate::io::check_output_path("--collbench-json", path)?;
            sinks.push(Box::new(JsonSink::new(path.clone())));
        }
        if let Some(path) = &plan.csv_path {
            crate::io::check_output_path("--csv", path)?;
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
        min_bus_bandwidth_gbps,
        criteria,
    })
}

/// `NCCL_TESTS_ALLTOALLV_PRINT_SUMMARY=1`: the per-rank lines before each alltoallv row, one block
/// per measured cell (out of place, in place) with that cell's time.
fn alltoallv_summary(plan: &TestPlan, nranks: usize) -> Option<sinks::text::RowNotes> {
    let options = plan.alltoallv.as_ref().filter(|o| o.print_summary)?;
    let pattern = options.pattern.clone();
    Some(Box::new(move |row: &crate::report::ResultRow| {
        let total = row.count * nranks as u64 * row.dtype.size_bytes() as u64;
        [&row.out_of_place, &row.in_place]
            .into_iter()
            .flatten()
            .map(|m| {
                crate::collectives::alltoallv::summary::lines(
                    &pattern,
                    nranks,
                    total,
                    m.time_us / 1.0e6,
                )
            })
            .collect()
    }))
}

/// The backend `--backend` asks for. `auto` takes NCCL when a GPU and libnccl are usable, else
/// the mpi backend with a one-line note on stderr saying why. `net_log`: the NCCL log capture installed
/// at the start of the run, handed to the NCCL backend (dropped, removing its files, otherwise).
fn build_backend<'w>(
    plan: &TestPlan,
    world: &'w dyn World,
    group: &dyn World,
    color: usize,
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
                Err(error) => fallback_cause(&error),
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
            // stderr: stdout is nccl-tests' table alone (docs/output.md).
            if world.rank() == 0 {
                eprintln!("collbench: note: no usable GPU/NCCL ({why}); using the mpi backend");
            }
            host_backend(plan, world, group, color, hooks)
        }
        BackendChoice::Mpi => {
            refuse_stream_hang(hooks)?;
            host_backend(plan, world, group, color, hooks)
        }
    }
}

/// Why the NCCL probe failed, for the fallback note: the first line, without the list of every
/// path the loader tried, and without the kind prefix (`CUDA error: `), so that a merged log's
/// `grep -i error` does not take a working run's note for a failure (docs/output.md).
fn fallback_cause(error: &CollbenchError) -> String {
    let text = match error {
        CollbenchError::Cuda(m) | CollbenchError::Nccl(m) | CollbenchError::Unsupported(m) => {
            m.clone()
        }
        other => other.to_string(),
    };
    let first = text.lines().next().unwrap_or_default();
    first.split("; tried").next().unwrap_or(first).to_string()
}

/// `COLLBENCH_TEST_STREAM_HANG` acts on GPU streams: on the host backend it would do nothing.
fn refuse_stream_hang(hooks: &TestHooks) -> Result<()> {
    use crate::faults::hooks::{STALL_VAR, STREAM_HANG_VAR};
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
    let mut options = GpuOptions::from_plan(plan);
    // The ranks as the backend numbers (and prints) them: by the process's rank in the group.
    let first_rank = group.rank() * plan.ranks_per_process();
    let my_ranks: Vec<usize> = (first_rank..first_rank + plan.ranks_per_process()).collect();
    options.wait_hook = crate::faults::gpu_wait_hook(hooks, &my_ranks);
    let setup = GpuSetup {
        options,
        world: group.split(0, group.rank())?,
        local_rank: world.local_rank(),
        group: color,
        net_log,
    };
    Ok(crate::faults::wrap(GpuBackend::new(setup)?, hooks))
}

fn host_backend<'w>(
    plan: &TestPlan,
    world: &'w dyn World,
    group: &dyn World,
    color: usize,
    hooks: &TestHooks,
) -> Result<Box<dyn Backend + 'w>> {
    plan.require_gpu_flags_unused("mpi")?;
    let placement = host_placement(world.rank(), color, world.hostname());
    let mut backend = host_backend_on(group, placement)?;
    if let Some(delay) = hooks.delay_for(&[world.rank()]) {
        backend = backend
            .decorate_transport(|inner| Box::new(crate::faults::SlowTransport::new(inner, delay)));
    }
    Ok(crate::faults::wrap(backend, hooks))
}

#[cfg(feature = "mpi")]
fn host_backend_on(
    group: &dyn World,
    placement: crate::report::RankPlacement,
) -> Result<HostBackend> {
    let Some(mpi_group) = group.as_mpi() else {
        // A process started without a launcher runs alone, without MPI (see init_world).
        if group.size() == 1 {
            return Ok(HostBackend::single(placement));
        }
        return Err(CollbenchError::Mpi(
            "the group world is not an MPI world (internal error)".to_string(),
        ));
    };
    let _armed = watchdog::waiting(Phase::Init);
    HostBackend::mpi(mpi_group, placement)
}

#[cfg(not(feature = "mpi"))]
fn host_backend_on(
    group: &dyn World,
    placement: crate::report::RankPlacement,
) -> Result<HostBackend> {
    let _ = group;
    Ok(HostBackend::single(placement))
}
