//! The test hooks: environment variables that make one rank misbehave on purpose, so tests (and
//! operators checking their alerting) can prove that failures are caught. They are read once at
//! start-up; a malformed value is a usage error (exit 6). Ranks are global ranks.
//!
//! | Variable | Effect |
//! |---|---|
//! | `COLLBENCH_TEST_CORRUPT=<rank>:<index>` | After every validation run, output element `<index>` of rank `<rank>` is overwritten with a wrong value before it is checked (when the element exists at that size). The run then shows `#wrong` > 0, `FAILED` in the footer, and exits 7. |
//! | `COLLBENCH_TEST_DELAY=<rank>:<microseconds>` | Rank `<rank>` sleeps that long after every operation it makes (its collective calls on the host backend, its launches of the timed loop on the NCCL backend), making it the slow rank (bad-node isolation tests). On the host backend a delay below 1 ms is a busy wait, so a few µs plant a slowdown of a few percent (a sleep lasts at least the kernel's timer slack). |
//! | `COLLBENCH_TEST_STALL=<rank>` | Rank `<rank>` stops forever where its first timed loop would start (inside the armed watchdog), so the other ranks block in the collective. With `-T` the job ends with exit 4. |
//! | `COLLBENCH_TEST_STREAM_HANG=<rank>` | NCCL backend only: the waits of rank `<rank>` never see its stream finish (as if a peer never joined the collective), so its first wait ends after `-T` by aborting every communicator of its process (ncclCommAbort) with exit 4, naming rank, host, GPU, collective and size. Proves the GPU timeout path on one GPU. |
//! | `COLLBENCH_TEST_EXIT=<rank>[:<code>]` | Rank `<rank>` dies where its first timed loop would start: killed by SIGKILL, or with `:<code>` by exiting with that code without finalising MPI. Tests that the job does not hang. |
//! | `COLLBENCH_TEST_PANIC=<rank>` | Rank `<rank>` panics where its first timed loop would start, to prove the panic hook: it prints `collbench: internal error …` and ends the whole job with exit code 70. |
//! | `COLLBENCH_TEST_HANG_HANDOFF=<rank>:<round>` | `accept --pairwise` only: rank `<rank>` stops forever just before rank 0's word on round `<round>` (from 1), where every rank is in step. With `-T` the others' watchdog ends the job with exit 4 (phase `pairwise hand-off between rounds`); for rank 0 the others give up on it after `-T` of silence (exit 4). |
//! | `COLLBENCH_TEST_MAX_BUFFER=[<rank>:]<bytes>` | The backend of rank `<rank>` (of every rank without it) can allocate at most `<bytes>` per buffer, as if its host or GPU had that little memory free: `-e` above it is lowered with nccl-tests' `# Reducing maxBytes to <bytes> due to memory limitation`, and `-b` above it is a usage error. Proves the cap without filling the machine's memory. |
//! | `COLLBENCH_TEST_HANG_IDLE=<rank>:<round>` | `accept --pairwise` only: rank `<rank>` stops forever in round `<round>` (from 1) when its host is in no pair that round, before it reports to rank 0. With `-T` the job ends with exit 4 naming its host; nothing happens when the rank is in a pair that round. |

use crate::error::{CollbenchError, Result};
use std::time::Duration;

pub const CORRUPT_VAR: &str = "COLLBENCH_TEST_CORRUPT";
pub const DELAY_VAR: &str = "COLLBENCH_TEST_DELAY";
pub const STALL_VAR: &str = "COLLBENCH_TEST_STALL";
pub const STREAM_HANG_VAR: &str = "COLLBENCH_TEST_STREAM_HANG";
pub const EXIT_VAR: &str = "COLLBENCH_TEST_EXIT";
pub const PANIC_VAR: &str = "COLLBENCH_TEST_PANIC";
pub const HANG_IDLE_VAR: &str = "COLLBENCH_TEST_HANG_IDLE";
pub const HANG_HANDOFF_VAR: &str = "COLLBENCH_TEST_HANG_HANDOFF";
pub const MAX_BUFFER_VAR: &str = "COLLBENCH_TEST_MAX_BUFFER";

/// How a rank made to die by `COLLBENCH_TEST_EXIT` dies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Death {
    /// SIGKILL to itself (a crash nothing can clean up after).
    Kill,
    /// `_exit(code)` without MPI_Finalize.
    Exit(i32),
}

/// The test hooks that are set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestHooks {
    /// (rank, output element index).
    pub corrupt: Option<(usize, usize)>,
    /// (rank, delay after every timed operation).
    pub delay: Option<(usize, Duration)>,
    pub stall: Option<usize>,
    /// Rank whose GPU stream waits never complete (NCCL backend).
    pub stream_hang: Option<usize>,
    pub exit: Option<(usize, Death)>,
    pub panic: Option<usize>,
    /// (rank, round from 1): hang when idle in that round of `accept --pairwise`.
    pub hang_idle: Option<(usize, usize)>,
    /// (rank, round from 1): hang before that round's word from rank 0 in `accept --pairwise`.
    pub hang_handoff: Option<(usize, usize)>,
    /// (rank, or every rank for `None`; bytes per buffer its backend can allocate at most).
    pub max_buffer: Option<(Option<usize>, u64)>,
}

impl TestHooks {
    /// Reads the hooks through `env` (a lookup like `std::env::var`).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<TestHooks> {
        let mut hooks = TestHooks::default();
        if let Some(value) = env(CORRUPT_VAR) {
            let (rank, index) = split_pair(CORRUPT_VAR, &value, "<rank>:<index>, e.g. 0:0")?;
            hooks.corrupt = Some((
                parse_number(CORRUPT_VAR, &value, rank, "<rank>:<index>, e.g. 0:0")?,
                parse_number(CORRUPT_VAR, &value, index, "<rank>:<index>, e.g. 0:0")?,
            ));
        }
        if let Some(value) = env(DELAY_VAR) {
            let accepted = "<rank>:<microseconds>, e.g. 1:500";
            let (rank, micros) = split_pair(DELAY_VAR, &value, accepted)?;
            hooks.delay = Some((
                parse_number(DELAY_VAR, &value, rank, accepted)?,
                Duration::from_micros(parse_number(DELAY_VAR, &value, micros, accepted)? as u64),
            ));
        }
        if let Some(value) = env(STALL_VAR) {
            hooks.stall = Some(parse_number(STALL_VAR, &value, &value, "<rank>, e.g. 2")?);
        }
        if let Some(value) = env(STREAM_HANG_VAR) {
            hooks.stream_hang = Some(parse_number(
                STREAM_HANG_VAR,
                &value,
                &value,
                "<rank>, e.g. 0",
            )?);
        }
        if let Some(value) = env(PANIC_VAR) {
            hooks.panic = Some(parse_number(PANIC_VAR, &value, &value, "<rank>, e.g. 1")?);
        }
        if let Some(value) = env(HANG_IDLE_VAR) {
            hooks.hang_idle = Some(parse_rank_round(HANG_IDLE_VAR, &value)?);
        }
        if let Some(value) = env(HANG_HANDOFF_VAR) {
            hooks.hang_handoff = Some(parse_rank_round(HANG_HANDOFF_VAR, &value)?);
        }
        if let Some(value) = env(MAX_BUFFER_VAR) {
            let accepted = "[<rank>:]<bytes> with bytes above 0, e.g. 1048576 or 3:1048576";
            let (rank, bytes) = match value.split_once(':') {
                Some((rank, bytes)) => (
                    Some(parse_number(MAX_BUFFER_VAR, &value, rank, accepted)?),
                    bytes,
                ),
                None => (None, value.as_str()),
            };
            match parse_number(MAX_BUFFER_VAR, &value, bytes, accepted)? {
                0 => return Err(bad(MAX_BUFFER_VAR, &value, accepted)),
                bytes => hooks.max_buffer = Some((rank, bytes as u64)),
            }
        }
        if let Some(value) = env(EXIT_VAR) {
            let accepted = "<rank> (SIGKILL) or <rank>:<exit code>, e.g. 2 or 2:1";
            hooks.exit = Some(match value.split_once(':') {
                None => (
                    parse_number(EXIT_VAR, &value, &value, accepted)?,
                    Death::Kill,
                ),
                Some((rank, code)) => {
                    let code = parse_number(EXIT_VAR, &value, code, accepted)?;
                    if code > 255 {
                        return Err(bad(EXIT_VAR, &value, accepted));
                    }
                    (
                        parse_number(EXIT_VAR, &value, rank, accepted)?,
                        Death::Exit(code as i32),
                    )
                }
            });
        }
        Ok(hooks)
    }

    /// Reads the hooks from the process environment.
    pub fn from_process_env() -> Result<TestHooks> {
        Self::from_env(&|name| std::env::var(name).ok())
    }

    /// The first rank a hook names that does not exist among `nranks`, as a usage error.
    pub fn check_ranks(&self, nranks: usize) -> Result<()> {
        let named = [
            (CORRUPT_VAR, self.corrupt.map(|c| c.0)),
            (DELAY_VAR, self.delay.map(|d| d.0)),
            (STALL_VAR, self.stall),
            (STREAM_HANG_VAR, self.stream_hang),
            (EXIT_VAR, self.exit.map(|e| e.0)),
            (PANIC_VAR, self.panic),
            (HANG_IDLE_VAR, self.hang_idle.map(|h| h.0)),
            (HANG_HANDOFF_VAR, self.hang_handoff.map(|h| h.0)),
            (MAX_BUFFER_VAR, self.max_buffer.and_then(|m| m.0)),
        ];
        for (name, rank) in named {
            if let Some(rank) = rank.filter(|&r| r >= nranks) {
                return Err(CollbenchError::Usage(format!(
                    "{name} names rank {rank}, but the job has {nranks} ranks (0..{})",
                    nranks - 1
                )));
            }
        }
        Ok(())
    }

    /// True when a hook acts where the runner meets the backend ([`super::FaultyBackend`]).
    pub fn acts_on_backend(&self) -> bool {
        self.corrupt.is_some()
            || self.stall.is_some()
            || self.exit.is_some()
            || self.panic.is_some()
            || self.max_buffer.is_some()
    }

    /// `COLLBENCH_TEST_DELAY`'s pause when it names one of `ranks` (this process's ranks).
    pub fn delay_for(&self, ranks: &[usize]) -> Option<Duration> {
        self.delay
            .filter(|(rank, _)| ranks.contains(rank))
            .map(|(_, delay)| delay)
    }

    /// The bytes per buffer `rank`'s backend can allocate (`backend_limit`, from its memory),
    /// lowered by `COLLBENCH_TEST_MAX_BUFFER`.
    pub fn buffer_limit(&self, rank: usize, backend_limit: Option<u64>) -> Option<u64> {
        let hook = self
            .max_buffer
            .filter(|(named, _)| named.is_none_or(|named| named == rank))
            .map(|(_, bytes)| bytes);
        match (backend_limit, hook) {
            (Some(limit), Some(hook)) => Some(limit.min(hook)),
            (limit, hook) => limit.or(hook),
        }
    }

    /// `COLLBENCH_TEST_HANG_IDLE`: stops forever when it names `rank` and `round` (from 1) of an
    /// `accept --pairwise` run in which `rank` is idle. Returns normally otherwise.
    pub fn when_idle(&self, rank: usize, round: usize) {
        if self.hang_idle == Some((rank, round)) {
            crate::io::console::error_line(&format!(
                "collbench: {HANG_IDLE_VAR}: rank {rank} hangs now, idle in round {round}"
            ));
            hang_forever();
        }
    }

    /// `COLLBENCH_TEST_HANG_HANDOFF`: stops forever when it names `rank` and the `round` (from 1)
    /// about to start in `accept --pairwise`. Returns normally otherwise.
    pub fn before_round(&self, rank: usize, round: usize) {
        if self.hang_handoff == Some((rank, round)) {
            crate::io::console::error_line(&format!(
                "collbench: {HANG_HANDOFF_VAR}: rank {rank} hangs now, before round {round}"
            ));
            hang_forever();
        }
    }

    /// Applies the hooks that concern `rank` where a timed loop is about to start: stalls, dies or
    /// panics when told to. Returns normally otherwise.
    pub fn before_timed_loop(&self, rank: usize) {
        if let Some((_, death)) = self.exit.filter(|e| e.0 == rank) {
            crate::io::console::error_line(&format!(
                "collbench: {EXIT_VAR}: rank {rank} dies now ({death:?})"
            ));
            match death {
                // SAFETY: raising a signal on our own process; no memory is involved.
                Death::Kill => unsafe {
                    libc::raise(libc::SIGKILL);
                },
                // SAFETY: _exit ends the process at once, skipping MPI_Finalize on purpose.
                Death::Exit(code) => unsafe { libc::_exit(code) },
            }
        }
        if self.panic == Some(rank) {
            panic!("{PANIC_VAR}: rank {rank} panics on purpose (test hook)");
        }
        if self.stall == Some(rank) {
            crate::io::console::error_line(&format!(
                "collbench: {STALL_VAR}: rank {rank} stalls now"
            ));
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    }
}

fn hang_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// `<rank>:<round>` with rounds counted from 1.
fn parse_rank_round(name: &str, value: &str) -> Result<(usize, usize)> {
    let accepted = "<rank>:<round>, rounds counted from 1, e.g. 4:1";
    let (rank, round) = split_pair(name, value, accepted)?;
    let round = parse_number(name, value, round, accepted)?;
    if round == 0 {
        return Err(bad(name, value, accepted));
    }
    Ok((parse_number(name, value, rank, accepted)?, round))
}

fn bad(name: &str, value: &str, accepted: &str) -> CollbenchError {
    CollbenchError::Usage(format!(
        "{name}={value:?} is not valid; expected {accepted}"
    ))
}

fn split_pair<'a>(name: &str, value: &'a str, accepted: &str) -> Result<(&'a str, &'a str)> {
    value
        .split_once(':')
        .ok_or_else(|| bad(name, value, accepted))
}

fn parse_number(name: &str, value: &str, part: &str, accepted: &str) -> Result<usize> {
    part.trim()
        .parse::<usize>()
        .map_err(|_| bad(name, value, accepted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn hooks(vars: &[(&str, &str)]) -> Result<TestHooks> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TestHooks::from_env(&|name| map.get(name).cloned())
    }

    #[test]
    fn parses_every_hook() {
        let h = hooks(&[
            (CORRUPT_VAR, "1:5"),
            (DELAY_VAR, "2:250"),
            (STALL_VAR, "3"),
            (STREAM_HANG_VAR, "1"),
            (EXIT_VAR, "0:9"),
            (PANIC_VAR, "2"),
            (HANG_IDLE_VAR, "4:3"),
            (HANG_HANDOFF_VAR, "1:2"),
            (MAX_BUFFER_VAR, "4096"),
        ])
        .unwrap();
        assert_eq!(h.max_buffer, Some((None, 4096)));
        assert_eq!(h.buffer_limit(3, Some(1 << 30)), Some(4096));
        assert_eq!(h.buffer_limit(0, Some(100)), Some(100));
        assert_eq!(h.buffer_limit(1, None), Some(4096));
        assert_eq!(TestHooks::default().buffer_limit(0, Some(7)), Some(7));
        let one_rank = hooks(&[(MAX_BUFFER_VAR, "2:4096")]).unwrap();
        assert_eq!(one_rank.buffer_limit(2, Some(1 << 30)), Some(4096));
        assert_eq!(one_rank.buffer_limit(1, Some(1 << 30)), Some(1 << 30));
        assert_eq!(h.hang_idle, Some((4, 3)));
        assert_eq!(h.hang_handoff, Some((1, 2)));
        assert_eq!(h.panic, Some(2));
        assert_eq!(h.corrupt, Some((1, 5)));
        assert_eq!(h.delay, Some((2, Duration::from_micros(250))));
        assert_eq!(h.stall, Some(3));
        assert_eq!(h.stream_hang, Some(1));
        assert_eq!(h.exit, Some((0, Death::Exit(9))));
        assert_eq!(
            hooks(&[(EXIT_VAR, "2")]).unwrap().exit,
            Some((2, Death::Kill))
        );
        assert_eq!(hooks(&[]).unwrap(), TestHooks::default());
    }

    #[test]
    fn malformed_hooks_are_usage_errors_naming_the_variable() {
        for (name, value) in [
            (CORRUPT_VAR, "1"),
            (CORRUPT_VAR, "a:b"),
            (CORRUPT_VAR, "-1:0"),
            (DELAY_VAR, "1:"),
            (STALL_VAR, "x"),
            (STREAM_HANG_VAR, "0:1"),
            (EXIT_VAR, "1:300"),
            (PANIC_VAR, "one"),
            (HANG_IDLE_VAR, "4"),
            (HANG_IDLE_VAR, "4:0"),
            (HANG_IDLE_VAR, "x:1"),
            (HANG_HANDOFF_VAR, "2:0"),
            (MAX_BUFFER_VAR, "0"),
            (MAX_BUFFER_VAR, "1M"),
            (MAX_BUFFER_VAR, "x:4096"),
        ] {
            let error = hooks(&[(name, value)]).unwrap_err();
            assert_eq!(error.exit_code(), 6);
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn ranks_beyond_the_job_are_rejected() {
        let h = hooks(&[(STALL_VAR, "4")]).unwrap();
        assert!(h.check_ranks(5).is_ok());
        let error = h.check_ranks(4).unwrap_err();
        assert!(error.to_string().contains("rank 4"), "{error}");
        let h = hooks(&[(HANG_IDLE_VAR, "5:1")]).unwrap();
        let error = h.check_ranks(5).unwrap_err();
        assert!(error.to_string().contains(HANG_IDLE_VAR), "{error}");
    }
}
