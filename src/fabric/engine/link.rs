//! One side of a connected pair of endpoints: bounded waits, posting with -FI_EAGAIN retries,
//! and the small tagged control messages that keep the two sides in step.

use crate::error::{CollbenchError, Result};
use crate::fabric::ofi::{Completion, Endpoint, PeerAddr, Posted, RegionId, RemoteRegion};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Regions every engine endpoint registers, in this order.
pub const TX: RegionId = RegionId(0);
pub const RX: RegionId = RegionId(1);
pub const CTL_TX: RegionId = RegionId(2);
pub const CTL_RX: RegionId = RegionId(3);
const CTL_BYTES: usize = 16;

/// Operation labels, to count completions by kind.
pub const DATA_SEND: u32 = 0;
pub const DATA_RECV: u32 = 1;
pub const CTL_SEND: u32 = 2;
pub const CTL_RECV: u32 = 3;
pub const RMA: u32 = 4;
const LABELS: usize = 5;

/// Empty completion-queue reads before a waiting side starts yielding its core: short waits stay
/// pure spinning (latency), long ones let a peer sharing the core run.
const SPIN_POLLS_BEFORE_YIELD: u32 = 2000;

/// Tag of control messages; data messages are untagged, so the two never match each other.
const CTL_TAG: u64 = 0xC011_BE7C_0000_0001;

/// Control message codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// The responder has posted its receives (or prepared its buffers) for the batch.
    Ready = 1,
    /// The responder received the whole window.
    Ack = 2,
    /// The initiator's RMA operations of the batch completed.
    Done = 3,
}

/// Everything a peer needs to reach an engine endpoint, exchanged out of band.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCard {
    /// fi_getname of the endpoint.
    pub address: Vec<u8>,
    /// RMA access to its send buffer (read target) and receive buffer (write target).
    pub tx: RemoteRegion,
    pub rx: RemoteRegion,
    pub host: String,
}

impl EndpointCard {
    pub fn of(endpoint: &Endpoint, host: &str) -> Result<Self> {
        Ok(Self {
            address: endpoint.name()?,
            tx: endpoint.remote_region(TX)?,
            rx: endpoint.remote_region(RX)?,
            host: host.to_string(),
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an EndpointCard always serialises")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| {
            CollbenchError::Fabric(format!("peer sent an unreadable endpoint card: {e}"))
        })
    }
}

/// Region sizes of an engine endpoint with `buffer_bytes` send and receive buffers.
pub fn region_sizes(buffer_bytes: usize) -> [usize; 4] {
    [buffer_bytes, buffer_bytes, CTL_BYTES, CTL_BYTES]
}

/// One side of a pair.
pub struct Link<'e> {
    pub(super) role: super::Role,
    pub(super) endpoint: &'e mut Endpoint,
    pub(super) peer: PeerAddr,
    pub(super) peer_card: EndpointCard,
    timeout: Duration,
    /// Set by whoever fails first (the other thread of a loopback), so this side stops waiting.
    cancel: &'e AtomicBool,
    /// Completions per label since the link was created.
    completed: [u64; LABELS],
    /// Receive completions whose length differed from what was posted: (label, expected, got).
    pub(super) short_receives: Vec<(u32, usize, usize)>,
    expected_recv_len: [usize; LABELS],
    completions: Vec<Completion>,
    /// Ask RMA writes to complete only when the data is visible at the target (the provider does
    /// not order a later send after earlier writes).
    pub(super) write_delivery_complete: bool,
    control_batch_sent: u64,
    /// Batches started so far; both sides count in step, and the number goes into every
    /// payload so that no two messages of a run carry the same bytes.
    batches: u64,
    /// Test hook armed: corrupt the next window this side receives before verifying it.
    pub(super) corruption_pending: bool,
}

impl<'e> Link<'e> {
    pub fn connect(
        role: super::Role,
        endpoint: &'e mut Endpoint,
        peer_card: EndpointCard,
        timeout: Duration,
        cancel: &'e AtomicBool,
    ) -> Result<Self> {
        let peer = endpoint.insert_peer(&peer_card.address)?;
        let order = endpoint.domain().info().message_order();
        let write_delivery_complete = order & ofi_sys::FI_ORDER_SAW as u64 == 0;
        Ok(Self {
            role,
            endpoint,
            peer,
            peer_card,
            timeout,
            cancel,
            completed: [0; LABELS],
            short_receives: Vec::new(),
            expected_recv_len: [0; LABELS],
            completions: Vec::new(),
            write_delivery_complete,
            control_batch_sent: 0,
            batches: 0,
            corruption_pending: false,
        })
    }

    /// Test hook: corrupt the next window this side receives, before it is verified.
    pub fn arm_corruption(&mut self, armed: bool) {
        self.corruption_pending = armed;
    }

    /// Whether RMA writes ask for delivery completion (see `write_delivery_complete`).
    pub fn writes_complete_on_delivery(&self) -> bool {
        self.write_delivery_complete
    }

    pub fn peer_host(&self) -> &str {
        &self.peer_card.host
    }

    pub(super) fn next_batch(&mut self) -> u64 {
        self.batches += 1;
        self.batches
    }

    pub(super) fn completed(&self, label: u32) -> u64 {
        self.completed[label as usize]
    }

    pub(super) fn set_expected_receive_length(&mut self, label: u32, len: usize) {
        self.expected_recv_len[label as usize] = len;
    }

    /// Reads the completion queue once and counts what finished.
    fn progress(&mut self) -> Result<()> {
        self.completions.clear();
        self.endpoint.poll(&mut self.completions)?;
        for completion in &self.completions {
            let label = completion.label as usize;
            self.completed[label] += 1;
            if (completion.label == DATA_RECV || completion.label == CTL_RECV)
                && completion.len != self.expected_recv_len[label]
            {
                self.short_receives.push((
                    completion.label,
                    self.expected_recv_len[label],
                    completion.len,
                ));
            }
        }
        Ok(())
    }

    fn check_deadline(&self, started: Instant, what: &dyn Fn() -> String) -> Result<()> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(CollbenchError::Fabric(format!(
                "stopped while {} because the other side failed",
                what()
            )));
        }
        if started.elapsed() > self.timeout {
            return Err(CollbenchError::Timeout(format!(
                "no progress for {:.1} s while {} (peer {}, provider {}); raise --timeout if the fabric is just slow",
                self.timeout.as_secs_f64(),
                what(),
                self.peer_card.host,
                self.endpoint.domain().label()
            )));
        }
        Ok(())
    }

    /// Progresses until `label` has at least `count` completions, or the timeout.
    pub(super) fn wait_for(
        &mut self,
        label: u32,
        count: u64,
        what: &dyn Fn() -> String,
    ) -> Result<()> {
        let started = Instant::now();
        let mut idle_polls = 0u32;
        while self.completed[label as usize] < count {
            let before = self.completed.iter().sum::<u64>();
            self.progress()?;
            if self.completed[label as usize] >= count {
                break;
            }
            idle_polls = if self.completed.iter().sum::<u64>() == before {
                idle_polls + 1
            } else {
                0
            };
            if idle_polls > SPIN_POLLS_BEFORE_YIELD {
                // The peer (another thread or an oversubscribed rank) may need this core.
                std::thread::yield_now();
            }
            self.check_deadline(started, what)?;
        }
        Ok(())
    }

    /// Posts with `post`, progressing and retrying while the provider answers -FI_EAGAIN.
    pub(super) fn post(
        &mut self,
        what: &dyn Fn() -> String,
        mut post: impl FnMut(&mut Endpoint, PeerAddr) -> Result<Posted>,
    ) -> Result<()> {
        let started = Instant::now();
        loop {
            match post(self.endpoint, self.peer)? {
                Posted::Queued => return Ok(()),
                Posted::Busy => {
                    self.progress()?;
                    self.check_deadline(started, what)?;
                }
            }
        }
    }

    /// Sends a control message (waits for the previous one to leave the buffer first).
    pub(super) fn send_control(&mut self, code: Control, batch: u64) -> Result<()> {
        let sent = self.control_batch_sent;
        self.wait_for(CTL_SEND, sent, &|| {
            format!("sending control message {code:?}")
        })?;
        let buffer = self.endpoint.region_mut(CTL_TX)?;
        buffer[..8].copy_from_slice(&(code as u64).to_le_bytes());
        buffer[8..16].copy_from_slice(&batch.to_le_bytes());
        self.post(
            &|| format!("posting control message {code:?} for batch {batch}"),
            |ep, peer| ep.tagged_send(peer, CTL_TX, 0, CTL_BYTES, CTL_TAG, CTL_SEND),
        )?;
        self.control_batch_sent += 1;
        Ok(())
    }

    /// Waits for the peer's control message `code` for `batch`.
    pub(super) fn expect_control(&mut self, code: Control, batch: u64) -> Result<()> {
        self.set_expected_receive_length(CTL_RECV, CTL_BYTES);
        let before = self.completed(CTL_RECV);
        self.post(
            &|| format!("posting the receive for control message {code:?}"),
            |ep, _| ep.tagged_recv(CTL_RX, 0, CTL_BYTES, CTL_TAG, CTL_RECV),
        )?;
        self.wait_for(CTL_RECV, before + 1, &|| {
            format!("waiting for control message {code:?} of batch {batch} from the peer")
        })?;
        let buffer = self.endpoint.region(CTL_RX)?;
        let got_code = u64::from_le_bytes(buffer[..8].try_into().expect("8 bytes"));
        let got_batch = u64::from_le_bytes(buffer[8..16].try_into().expect("8 bytes"));
        if got_code != code as u64 || got_batch != batch {
            return Err(CollbenchError::Fabric(format!(
                "protocol error with peer {}: expected control message {code:?} for batch {batch}, got code {got_code} for batch {got_batch} (are both sides running the same collbench version and flags?)",
                self.peer_card.host
            )));
        }
        Ok(())
    }

    /// Waits until every posted control send has completed (end of a batch).
    pub(super) fn drain_controls(&mut self) -> Result<()> {
        let sent = self.control_batch_sent;
        self.wait_for(CTL_SEND, sent, &|| {
            "waiting for control sends to complete".to_string()
        })
    }
}
