//! Rank 0's keepalives under `-T`. Between rounds the other ranks wait for rank 0's word for as
//! long as the slowest pair takes, so they cannot hold rank 0 to `-T` itself; instead a thread of
//! rank 0 tells them every quarter of `-T` that rank 0 is still getting somewhere, and they give
//! up on a rank 0 that said nothing for `-T` (exit 4, naming it).
//!
//! "Getting somewhere": rank 0's watchdog is armed (a wait it will end itself after `-T`), its
//! watchdog progress changed (a sweep's operations), its main thread pulsed (polling the
//! end-of-round gather) or vouched for bounded work of its own (writing the outputs, `--drain`).
//! A rank 0 stuck anywhere else falls silent.

use crate::measure::watchdog;
use crate::world::KeepaliveSender;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Signals {
    stop: AtomicBool,
    pulses: AtomicU64,
    vouchers: AtomicUsize,
}

/// The keepalive thread of rank 0 (stopped when dropped).
pub(super) struct Beacon {
    signals: Arc<Signals>,
    thread: Option<JoinHandle<()>>,
}

/// Rank 0 vouches for itself while this lives (see [`Beacon::vouch`]).
pub(super) struct Vouch<'b>(&'b Signals);

impl Drop for Vouch<'_> {
    fn drop(&mut self) {
        self.0.vouchers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Beacon {
    /// Starts sending through `send` every quarter of `timeout` while rank 0 gets somewhere.
    pub(super) fn start(send: KeepaliveSender, timeout: Duration) -> Beacon {
        let signals = Arc::new(Signals::default());
        let period = (timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(5));
        let shared = Arc::clone(&signals);
        let thread = std::thread::Builder::new()
            .name("collbench-keepalive".to_string())
            .spawn(move || beat(&shared, &send, period));
        if let Err(error) = &thread {
            // Without it the others may give up on a healthy rank 0 waiting for a slow pair.
            crate::io::console::error_line(&format!(
                "collbench: could not start the -T keepalive thread: {error}"
            ));
        }
        Beacon {
            signals,
            thread: thread.ok(),
        }
    }

    /// The main thread is alive (call it from every poll of a wait).
    pub(super) fn pulse(&self) {
        self.signals.pulses.fetch_add(1, Ordering::Relaxed);
    }

    /// Keepalives go on while the guard lives, for bounded work that neither pulses nor arms.
    pub(super) fn vouch(&self) -> Vouch<'_> {
        self.signals.vouchers.fetch_add(1, Ordering::SeqCst);
        Vouch(&self.signals)
    }

    /// Stops the thread and waits for it: no keepalive is sent after this returns (before rank
    /// 0's last message, after which the others leave MPI).
    pub(super) fn stop(&mut self) {
        self.signals.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Beacon {
    fn drop(&mut self) {
        self.stop();
    }
}

fn beat(signals: &Signals, send: &KeepaliveSender, period: Duration) {
    let mut last_progress = None;
    let mut next = Instant::now();
    while !signals.stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now < next {
            std::thread::sleep((next - now).min(Duration::from_millis(20)));
            continue;
        }
        next = now + period;
        let (armed, progress) = watchdog::progress();
        let progress = progress.wrapping_add(signals.pulses.load(Ordering::Relaxed));
        let vouched = signals.vouchers.load(Ordering::SeqCst) > 0;
        if armed || vouched || last_progress != Some(progress) {
            send();
        }
        last_progress = Some(progress);
    }
}
