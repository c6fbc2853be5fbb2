//! The measurement protocol between two endpoints: an initiator that times and a responder that
//! answers, each driven by its own thread or process, synchronised only by small tagged control
//! messages over the fabric itself. Used by `loopback` (two threads) and `pingpong` (MPI ranks).
//!
//! Per message size: ping-pong latency (send/recv), windowed streaming bandwidth (send/recv) and,
//! when the provider has RMA, fi_write and fi_read latency (one operation at a time) and
//! bandwidth (a window in flight). Every message's payload is verified by whoever received it.

pub mod link;
mod phases;
mod verify;

pub use link::{EndpointCard, Link};
pub use verify::{MismatchLog, MAX_LOGGED_MISMATCHES};

pub use crate::fabric::results::{Operation, RowResult, SideOutcome};

use crate::error::Result;
use crate::fabric::results::summarise;
use std::time::Duration;

/// Which side of a link this thread or process drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Posts first and takes the timings.
    Initiator,
    /// Answers, and verifies what the initiator sent.
    Responder,
}

/// What both sides of a link run, identically.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepPlan {
    /// Message sizes in bytes, ascending.
    pub sizes: Vec<usize>,
    /// Timed ping-pongs (and sequential RMA operations) per size.
    pub latency_iterations: usize,
    /// Timed windows per size for bandwidth.
    pub bandwidth_batches: usize,
    /// Untimed (but verified) ping-pongs and one untimed window before each size.
    pub warmup_iterations: usize,
    /// Messages in flight during a bandwidth window (capped by the buffer budget).
    pub window: usize,
    /// Bytes of each of the send and receive buffers of one endpoint.
    pub buffer_bytes: usize,
    /// Measure fi_write and fi_read as well (the provider has FI_RMA).
    pub rma: bool,
    /// Longest wait for any single completion or control message.
    pub timeout: Duration,
    /// Test hook: corrupt one received payload (the first message of the first send/recv
    /// bandwidth window) before it is verified.
    pub inject_corruption: bool,
}

/// Upper bound on each of the send and receive buffers of an endpoint.
pub const BUFFER_BUDGET_BYTES: usize = 64 << 20;

impl SweepPlan {
    /// Buffer bytes needed for `max_size` messages with `window` of them in flight, within the
    /// budget (the window shrinks for large messages, never below one message).
    pub fn buffer_bytes_for(max_size: usize, window: usize) -> usize {
        let messages = (BUFFER_BUDGET_BYTES / max_size.max(1)).clamp(1, window.max(1));
        messages * max_size.max(1)
    }

    /// Messages in flight for `size`: the window, limited by what the buffers hold.
    pub fn window_for(&self, size: usize) -> usize {
        (self.buffer_bytes / size.max(1)).clamp(1, self.window.max(1))
    }

    /// Operations measured, in order.
    pub fn operations(&self) -> Vec<Operation> {
        if self.rma {
            vec![Operation::SendRecv, Operation::Write, Operation::Read]
        } else {
            vec![Operation::SendRecv]
        }
    }
}

/// Runs the whole sweep on one side of a connected link.
pub fn run_sweep(link: &mut Link<'_>, plan: &SweepPlan) -> Result<SideOutcome> {
    let mut outcome = SideOutcome::default();
    let mut mismatches = MismatchLog::default();
    for operation in plan.operations() {
        for &size in &plan.sizes {
            let row = phases::measure(link, plan, operation, size, &mut mismatches)?;
            outcome.rows.push(row);
        }
    }
    outcome.mismatches = mismatches.into_notes();
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::cli::TransferArgs;
    use crate::fabric::transfer_setup::{open_endpoint, prepare};
    use std::sync::atomic::AtomicBool;

    fn shm_args() -> TransferArgs {
        let args: Vec<String> = [
            "loopback",
            "--provider",
            "shm",
            "-b",
            "8",
            "-e",
            "8",
            "--timeout",
            "0.5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        match crate::fabric::cli::parse(&args).unwrap().command {
            crate::fabric::FabricCommand::Loopback(a) => a.transfer,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_silent_peer_makes_the_wait_time_out_with_exit_4() {
        // Real shm endpoints; the peer is opened but never driven, so READY never comes.
        let (selected, plan) = prepare(&shm_args()).expect("shm provider");
        let mut waiting = open_endpoint(&selected.info, &plan).unwrap();
        let silent = open_endpoint(&selected.info, &plan).unwrap();
        let card = EndpointCard::of(&silent, "silent").unwrap();
        let cancel = AtomicBool::new(false);
        let mut link =
            Link::connect(Role::Initiator, &mut waiting, card, plan.timeout, &cancel).unwrap();
        let started = std::time::Instant::now();
        let error = run_sweep(&mut link, &plan).expect_err("must time out");
        assert_eq!(error.exit_code(), 4, "{error}");
        assert!(
            error
                .to_string()
                .contains("waiting for control message Ready"),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_cancelled_link_stops_waiting() {
        let (selected, plan) = prepare(&shm_args()).expect("shm provider");
        let mut waiting = open_endpoint(&selected.info, &plan).unwrap();
        let silent = open_endpoint(&selected.info, &plan).unwrap();
        let card = EndpointCard::of(&silent, "silent").unwrap();
        let cancel = AtomicBool::new(true);
        let mut link = Link::connect(
            Role::Responder,
            &mut waiting,
            card,
            Duration::from_secs(60),
            &cancel,
        )
        .unwrap();
        let error = run_sweep(&mut link, &plan).expect_err("must stop");
        assert!(
            error.to_string().contains("because the other side failed"),
            "{error}"
        );
    }

    #[test]
    fn window_shrinks_for_large_messages_within_the_budget() {
        let buffer_bytes = SweepPlan::buffer_bytes_for(8 << 20, 64);
        assert_eq!(buffer_bytes, 64 << 20);
        let plan = SweepPlan {
            sizes: vec![8, 8 << 20],
            latency_iterations: 1,
            bandwidth_batches: 1,
            warmup_iterations: 0,
            window: 64,
            buffer_bytes,
            rma: false,
            timeout: Duration::from_secs(1),
            inject_corruption: false,
        };
        assert_eq!(plan.window_for(8), 64);
        assert_eq!(plan.window_for(8 << 20), 8);
        assert_eq!(SweepPlan::buffer_bytes_for(1 << 30, 64), 1 << 30);
        assert_eq!(SweepPlan::buffer_bytes_for(4096, 16), 16 * 4096);
    }
}
