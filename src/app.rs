//! Entry points of the binaries: parse, start the world (signal handlers, the `-T` watchdog, MPI)
//! and hand the plan to the run lifecycle (`crate::lifecycle`), whose `report_error_at` is the one
//! place where errors become printed lines and exit codes (through [`CollbenchError::exit_code`]).
//!
//! Error printing: usage errors are the same on every rank (all ranks parse the same command
//! line), so only rank 0 prints them; other errors are printed by the rank that hit them. Errors
//! before the sweep starts are agreed on by every rank and end the job cleanly; an error during the
//! sweep ends the whole job through MPI_Abort, so no rank is left waiting for it.
//!
//! A panic (a bug, never user input) prints `collbench: internal error …` and ends the job with
//! exit code 70.

use crate::backend::nccl::net_capture::NcclLogCapture;
use crate::cli::{self, Parsed, Umbrella};
use crate::collectives;
use crate::error::{exit, CollbenchError, Result};
use crate::io::console;
use crate::lifecycle::report_error_at;
use crate::measure::watchdog::{self, Phase};
use crate::plan::{BackendChoice, TestPlan};
use crate::sweep::runner::StopSignal;
use crate::world::{self, World};
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
        Ok(Umbrella::NoCommand(text)) => {
            use std::io::Write;
            let _ = std::io::stderr().write_all(text.as_bytes());
            exit::USAGE
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
            "collbench {name}: this command is not part of this build; accepted: {}",
            cli::commands::accepted_commands()
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

fn run_pairwise(plan: TestPlan, options: &crate::accept::command::PairwiseOptions) -> i32 {
    let (world, stop) = match start_world(&plan) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let result = crate::accept::pairwise::run(&plan, world.as_ref(), stop, options);
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
                    | CollbenchError::CheckWarned(_)
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
        crate::io::console::error_line(&format!(
            "collbench: internal error (a bug in collbench, please report it): {info}; exiting \
             with code {}",
            exit::INTERNAL
        ));
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
            crate::io::console::error_line(&format!(
                "collbench: could not install a handler for signal {signal}: {error}"
            ));
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
        init_world(mpi_thread_use(plan)).map_err(|error| report_error(&error))?
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
    if runs_on_host_only(&plan) {
        crate::backend::host::heap::keep_freed_memory();
    }
    let (world, stop) = match start_world(&plan) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let code = crate::lifecycle::run_plan(plan, world.as_ref(), stop, net_log);
    drop(world);
    code
}

/// Which threads will call MPI: the `-T` watchdog's thread (MPI_Abort, pairwise keepalives) beside
/// the main thread; else the main thread alone, with no thread of ours beside it on the host
/// backend (chosen, or the only one `--backend auto` can pick where no CUDA driver loads) and GPU
/// threads beside it otherwise.
fn mpi_thread_use(plan: &TestPlan) -> world::ThreadUse {
    if plan.timeout.is_some_and(|t| !t.is_zero()) {
        return world::ThreadUse::OtherThreadsCallMpi;
    }
    match runs_on_host_only(plan) {
        true => world::ThreadUse::NoOtherThread,
        false => world::ThreadUse::MainThreadOnly,
    }
}

/// The host backend, chosen or the only one `--backend auto` can pick (no CUDA driver loads).
fn runs_on_host_only(plan: &TestPlan) -> bool {
    match plan.backend {
        BackendChoice::Mpi => true,
        BackendChoice::Auto => crate::backend::cuda::device::ensure_driver().is_err(),
        BackendChoice::Nccl => false,
    }
}

#[cfg(feature = "mpi")]
fn init_world(threads: world::ThreadUse) -> Result<Box<dyn World>> {
    // Started by hand (no mpirun, srun or PMI around it) the run is one rank: skip MPI_Init, whose
    // singleton start forks a runtime daemon and costs a large part of a one-size run's start-up.
    if !world::started_by_launcher() {
        return Ok(Box::new(world::SingleProcess::new()));
    }
    let (world, init) = world::MpiWorld::init_for(threads)?;
    if threads == world::ThreadUse::OtherThreadsCallMpi
        && !init.thread_multiple
        && world.rank() == 0
    {
        crate::io::console::error_line(
            "collbench: warning: the MPI library does not provide MPI_THREAD_MULTIPLE; the -T \
             watchdog will still try MPI_Abort from its thread",
        );
    }
    Ok(Box::new(world))
}

#[cfg(not(feature = "mpi"))]
fn init_world(_threads: world::ThreadUse) -> Result<Box<dyn World>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse_collective_args;
    use crate::world::ThreadUse;

    fn plan(args: &[&str]) -> TestPlan {
        let mut argv = vec!["allreduce-perf".to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        match parse_collective_args(collectives::find("all_reduce").unwrap(), &argv, &|_| None) {
            Ok(Parsed::Run(plan)) => *plan,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mpi_is_asked_for_the_thread_level_the_run_needs() {
        // Open MPI locks every call above SINGLE: only a watchdog or GPU threads justify more.
        let cases: [(&[&str], ThreadUse); 5] = [
            (&["--backend", "mpi"], ThreadUse::NoOtherThread),
            (&["--backend", "mpi", "-T", "0"], ThreadUse::NoOtherThread),
            (
                &["--backend", "mpi", "-T", "5"],
                ThreadUse::OtherThreadsCallMpi,
            ),
            (&["--backend", "nccl"], ThreadUse::MainThreadOnly),
            (
                &["--backend", "nccl", "-T", "5"],
                ThreadUse::OtherThreadsCallMpi,
            ),
        ];
        for (args, expected) in cases {
            assert_eq!(mpi_thread_use(&plan(args)), expected, "{args:?}");
        }
        let auto = match crate::backend::cuda::device::ensure_driver() {
            Ok(()) => ThreadUse::MainThreadOnly,
            Err(_) => ThreadUse::NoOtherThread,
        };
        assert_eq!(mpi_thread_use(&plan(&[])), auto);
    }
}
