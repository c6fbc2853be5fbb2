//! The `-T SECONDS` watchdog: a thread that aborts the whole job when a rank has waited too long.
//!
//! The runner *arms* the watchdog around every wait (initialisation, barriers, warm-up, the timed
//! loop, validation, result gathering) with [`waiting`], and the timed loops call [`heartbeat`]
//! once per iteration. If the watchdog is armed and nothing moved for the timeout, it prints
//!
//! `collbench: timeout after T s on rank R (host H): stuck in <collective> size <S> B iteration <I> (<phase>)`
//!
//! to stderr and ends the job with exit code 4 through the world's abort handle (MPI_Abort under
//! MPI; a plain `_exit(4)` before the world exists, e.g. when stuck in MPI_Init).
//!
//! Local computation (filling and checking buffers) is not armed: it cannot hang on another rank.
//! State is process-global so every backend's timed loop can report progress without plumbing.

use crate::error::exit;
use crate::world::AbortHandle;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// What a rank is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// MPI_Init / communicator creation.
    Init,
    /// A barrier between measurements.
    Barrier,
    /// Warm-up operations.
    WarmUp,
    /// The timed loop.
    Timed,
    /// The validation run.
    Validation,
    /// Gathering per-rank results to rank 0.
    Gather,
    /// Agreeing on the end of the run.
    Finish,
    /// `--precision`: rank 0's word on whether another batch of `-n` runs.
    Batches,
    /// `accept --pairwise`: rank 0's word on the next round and the split into pairs, when
    /// every rank is in step (after the previous round's results reached rank 0).
    Handoff,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Init => "init",
            Phase::Barrier => "barrier",
            Phase::WarmUp => "warm-up",
            Phase::Timed => "timed loop",
            Phase::Validation => "validation",
            Phase::Gather => "gathering results",
            Phase::Finish => "finish",
            Phase::Batches => "agreeing on the next --precision batch",
            Phase::Handoff => "pairwise hand-off between rounds",
        })
    }
}

/// Where this rank is, for the timeout message.
#[derive(Clone, Debug)]
struct Location {
    rank: Option<usize>,
    host: String,
    collective: String,
    size_bytes: u64,
    phase: Phase,
}

/// Incremented on every arm and disarm. Together with [`ITERATION`] it is what the watchdog
/// thread watches: a change of either is progress.
static BEATS: AtomicU64 = AtomicU64::new(0);
/// Iteration reported by the running loop (a plain store per iteration, no read-modify-write).
static ITERATION: AtomicU64 = AtomicU64::new(0);
/// Number of live [`WaitGuard`]s (nested waits keep it armed).
static ARMED: AtomicUsize = AtomicUsize::new(0);
static LOCATION: Mutex<Option<Location>> = Mutex::new(None);
static ABORT: Mutex<Option<AbortHandle>> = Mutex::new(None);
static STARTED: OnceLock<Duration> = OnceLock::new();
/// Asked after the timeout message, before the abort: a line on what the rest of the job is
/// doing (which peer is lost), bounded in time by whoever installs it.
static DIAGNOSIS: Mutex<Option<(Arc<Diagnosis>, Duration)>> = Mutex::new(None);

/// See [`set_diagnosis`].
pub type Diagnosis = dyn Fn() -> String + Send + Sync;

fn with_location(update: impl FnOnce(&mut Location)) {
    let mut guard = LOCATION.lock().unwrap_or_else(|p| p.into_inner());
    let location = guard.get_or_insert_with(|| Location {
        rank: crate::world::launcher_rank_hint(),
        host: crate::world::hostname(),
        collective: String::new(),
        size_bytes: 0,
        phase: Phase::Init,
    });
    update(location);
}

/// Records which rank and host this process is (once the world exists).
pub fn set_identity(rank: usize, host: &str) {
    with_location(|l| {
        l.rank = Some(rank);
        l.host = host.to_string();
    });
}

/// Installs how to end the whole job (the world's abort handle).
pub fn set_abort_handle(handle: AbortHandle) {
    *ABORT.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
}

/// The abort handle, if a world installed one (also used by the panic hook).
pub fn abort_handle() -> Option<AbortHandle> {
    ABORT.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Installs a second line for the timeout (`collbench: timeout: ` and its text). It takes up to
/// `lead`, so it is asked that long before the timeout (on another thread, dropped if the wait
/// moves on) and the job still ends at the timeout.
pub fn set_diagnosis(diagnosis: Box<Diagnosis>, lead: Duration) {
    *DIAGNOSIS.lock().unwrap_or_else(|p| p.into_inner()) = Some((Arc::from(diagnosis), lead));
}

/// A diagnosis asked ahead of a timeout that may come.
struct Pending(std::sync::mpsc::Receiver<String>);

fn ask_diagnosis() -> Option<Pending> {
    let (diagnosis, _) = DIAGNOSIS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()?;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("collbench-diagnosis".into())
        .spawn(move || {
            let _ = sender.send(diagnosis());
        })
        .ok()?;
    Some(Pending(receiver))
}

fn diagnosis_lead() -> Duration {
    DIAGNOSIS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|(_, lead)| *lead)
        .unwrap_or_default()
}

/// Records the collective and size being measured.
pub fn set_target(collective: &str, size_bytes: u64) {
    with_location(|l| {
        l.collective = collective.to_string();
        l.size_bytes = size_bytes;
    });
}

/// Arms the watchdog for a wait in `phase` until the guard is dropped; resets the iteration.
pub fn waiting(phase: Phase) -> WaitGuard {
    with_location(|l| l.phase = phase);
    ITERATION.store(0, Ordering::Relaxed);
    BEATS.fetch_add(1, Ordering::Relaxed);
    ARMED.fetch_add(1, Ordering::SeqCst);
    WaitGuard { _private: () }
}

/// Counts as progress without changing the phase: a backend that detected a stuck wait itself
/// (and now aborts and reports it) gives the watchdog a fresh `-T` before it would fire too.
pub fn heartbeat_reset() {
    BEATS.fetch_add(1, Ordering::Relaxed);
}

/// Progress inside a loop: call once per iteration with increasing numbers (one relaxed store).
#[inline]
pub fn heartbeat(iteration: u64) {
    ITERATION.store(iteration, Ordering::Relaxed);
}

/// Whether the watchdog is armed now, and a number that changes with every arm, disarm and
/// heartbeat: a process that another thread sees armed or changing is not stuck unwatched.
pub fn progress() -> (bool, u64) {
    (
        ARMED.load(Ordering::SeqCst) > 0,
        BEATS
            .load(Ordering::Relaxed)
            .wrapping_add(ITERATION.load(Ordering::Relaxed)),
    )
}

/// Disarms the watchdog when dropped.
#[must_use = "the watchdog is armed only while the guard lives"]
pub struct WaitGuard {
    _private: (),
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        BEATS.fetch_add(1, Ordering::Relaxed);
        ARMED.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The message printed when the watchdog fires.
pub fn timeout_message(timeout: Duration) -> String {
    let location = LOCATION
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or(Location {
            rank: crate::world::launcher_rank_hint(),
            host: crate::world::hostname(),
            collective: String::new(),
            size_bytes: 0,
            phase: Phase::Init,
        });
    let rank = location
        .rank
        .map(|r| r.to_string())
        .unwrap_or_else(|| "?".to_string());
    let collective = if location.collective.is_empty() {
        "(not started)"
    } else {
        &location.collective
    };
    format!(
        "collbench: timeout after {} s on rank {} (host {}): stuck in {} size {} B iteration {} ({})",
        format_seconds(timeout),
        rank,
        location.host,
        collective,
        location.size_bytes,
        ITERATION.load(Ordering::Relaxed),
        location.phase
    )
}

fn format_seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", s as u64)
    } else {
        format!("{s}")
    }
}

/// Starts the watchdog thread (once per process; later calls are ignored). `timeout` must be > 0.
pub fn start(timeout: Duration) {
    if STARTED.set(timeout).is_err() {
        return;
    }
    let poll = (timeout / 20).clamp(Duration::from_millis(10), Duration::from_millis(250));
    let spawned = std::thread::Builder::new()
        .name("collbench-watchdog".to_string())
        .spawn(move || watch(timeout, poll));
    if let Err(error) = spawned {
        crate::io::console::error_line(&format!(
            "collbench: could not start the -T watchdog thread: {error}"
        ));
    }
}

fn watch(timeout: Duration, poll: Duration) {
    let progress = || {
        (
            BEATS.load(Ordering::Relaxed),
            ITERATION.load(Ordering::Relaxed),
        )
    };
    let mut last_beats = progress();
    let mut last_change = Instant::now();
    let mut pending: Option<Pending> = None;
    loop {
        std::thread::sleep(poll);
        let beats = progress();
        let now = Instant::now();
        if beats != last_beats {
            last_beats = beats;
            last_change = now;
            pending = None;
            continue;
        }
        if ARMED.load(Ordering::SeqCst) == 0 {
            continue;
        }
        let stalled = now.duration_since(last_change);
        if pending.is_none() && stalled + diagnosis_lead() >= timeout {
            pending = ask_diagnosis();
        }
        if stalled >= timeout {
            fire(timeout, pending.take());
        }
    }
}

fn fire(timeout: Duration, pending: Option<Pending>) -> ! {
    crate::io::console::error_line(&timeout_message(timeout));
    // Started `lead` ago, so it has (nearly) finished; a short grace covers a late start.
    if let Some(Ok(text)) = pending.map(|p| p.0.recv_timeout(Duration::from_millis(500))) {
        crate::io::console::error_line(&format!("collbench: timeout: {text}"));
    }
    match abort_handle() {
        Some(abort) => {
            abort(exit::TIMEOUT);
            // An abort handle returns only if it failed; make sure the process still ends.
            // SAFETY: _exit ends the process immediately; nothing is touched afterwards.
            unsafe { libc::_exit(exit::TIMEOUT) }
        }
        // No world yet (stuck in MPI_Init): end this process; the launcher ends the others.
        // SAFETY: as above.
        None => unsafe { libc::_exit(exit::TIMEOUT) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_rank_host_collective_size_iteration_and_phase() {
        set_identity(3, "node-7");
        set_target("all_reduce", 1048576);
        let guard = waiting(Phase::Timed);
        heartbeat(17);
        let message = timeout_message(Duration::from_secs(5));
        drop(guard);
        assert_eq!(
            message,
            "collbench: timeout after 5 s on rank 3 (host node-7): stuck in all_reduce size \
             1048576 B iteration 17 (timed loop)"
        );
        assert_eq!(format_seconds(Duration::from_millis(2500)), "2.5");
    }
}
