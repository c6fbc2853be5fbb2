//! How long the measuring thread waited for a CPU while it was runnable (Linux's run-queue wait,
//! the second field of `/proc/thread-self/schedstat`). A rank that waits for a CPU holds up every
//! other rank of the collective, so this is how much of a timed loop another program took from
//! the run: `compare` will not call a slowdown a regression when this wait explains it.

use std::time::Instant;

const SCHEDSTAT: &str = "/proc/thread-self/schedstat";

/// The run-queue wait of the calling thread since [`RunQueueWatch::start`].
pub struct RunQueueWatch {
    wait_ns: u64,
    started: Instant,
}

impl RunQueueWatch {
    /// `None` where the kernel does not keep the figure (not Linux, or no schedstat).
    pub fn start() -> Option<Self> {
        Some(Self {
            wait_ns: thread_wait_ns()?,
            started: Instant::now(),
        })
    }

    /// The share (0 to 1) of the wall time since `start` that this thread spent runnable but
    /// waiting for a CPU; `None` if the figure could not be read again.
    pub fn share(&self) -> Option<f64> {
        let waited = thread_wait_ns()?.saturating_sub(self.wait_ns) as f64 * 1e-9;
        let elapsed = self.started.elapsed().as_secs_f64();
        Some(share_of(waited, elapsed))
    }
}

/// `waited` seconds of `elapsed`, clamped to 0..=1 (the two clocks are read a moment apart).
fn share_of(waited: f64, elapsed: f64) -> f64 {
    match elapsed > 0.0 {
        true => (waited / elapsed).clamp(0.0, 1.0),
        false => 0.0,
    }
}

fn thread_wait_ns() -> Option<u64> {
    parse_wait_ns(&std::fs::read_to_string(SCHEDSTAT).ok()?)
}

/// `schedstat` is "time on CPU, time waiting on a run queue, timeslices", in nanoseconds.
fn parse_wait_ns(schedstat: &str) -> Option<u64> {
    schedstat.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_the_second_field() {
        assert_eq!(parse_wait_ns("1234 5678 9\n"), Some(5678));
        assert_eq!(parse_wait_ns("1234"), None);
        assert_eq!(parse_wait_ns("a b c"), None);
    }

    #[test]
    fn the_share_is_clamped() {
        assert_eq!(share_of(0.5, 1.0), 0.5);
        assert_eq!(share_of(2.0, 1.0), 1.0);
        assert_eq!(share_of(1.0, 0.0), 0.0);
    }

    /// Twice as many spinning threads as CPUs take turns: each waits about half the time.
    #[test]
    fn a_thread_among_more_busy_threads_than_cpus_waits() {
        let Some(quiet) = RunQueueWatch::start() else {
            eprintln!("SKIPPED: {SCHEDSTAT} is not readable here");
            return;
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        // Sleeping is not waiting for a CPU.
        assert!(quiet.share().unwrap() < 0.5);
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let until = Instant::now() + std::time::Duration::from_millis(400);
        let spin = || {
            let watch = RunQueueWatch::start().unwrap();
            while Instant::now() < until {
                std::hint::spin_loop();
            }
            watch.share().unwrap()
        };
        let shares: Vec<f64> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..2 * cpus).map(|_| s.spawn(spin)).collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let mean = shares.iter().sum::<f64>() / shares.len() as f64;
        assert!(
            mean > 0.2,
            "{} threads on {cpus} CPUs waited {:.0} % on average",
            2 * cpus,
            mean * 100.0
        );
    }
}
