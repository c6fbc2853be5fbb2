//! Result rows of fabric measurements (pure data, shared by the engine, the verdict and JSON).

use crate::error::{CollbenchError, Result};
use crate::fabric::stats::{BandwidthSummary, BatchTiming, LatencySummary};
use serde::{Deserialize, Serialize};

/// The data-moving operation a result row measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// fi_send / fi_recv. Latency is half the round trip of a ping-pong.
    SendRecv,
    /// fi_write (RMA). Latency is the time to the write's completion.
    Write,
    /// fi_read (RMA). Latency is the time to the read's completion (a full round trip).
    Read,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::SendRecv => "send/recv",
            Operation::Write => "write",
            Operation::Read => "read",
        }
    }
}

/// Measurements of one (operation, size), from the initiator; verification from both sides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowResult {
    pub operation: Operation,
    pub size_bytes: usize,
    pub window: usize,
    pub latency: Option<LatencySummary>,
    pub bandwidth: Option<BandwidthSummary>,
    /// Messages whose payload failed verification (either side).
    pub wrong_messages: u64,
    /// Messages verified (either side).
    pub verified_messages: u64,
}

/// What one side of a link produced.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SideOutcome {
    pub rows: Vec<RowResult>,
    /// The first payload mismatches, described (at most [`verify::MAX_LOGGED_MISMATCHES`](crate::fabric::engine::MAX_LOGGED_MISMATCHES)).
    pub mismatches: Vec<String>,
}

impl SideOutcome {
    /// Adds the other side's verification counts and mismatch notes to this side's rows.
    pub fn merge_verification(&mut self, other: &SideOutcome) -> Result<()> {
        if other.rows.len() != self.rows.len() {
            return Err(CollbenchError::Fabric(format!(
                "internal: the two sides of a link produced {} and {} result rows",
                self.rows.len(),
                other.rows.len()
            )));
        }
        for (mine, theirs) in self.rows.iter_mut().zip(&other.rows) {
            mine.wrong_messages += theirs.wrong_messages;
            mine.verified_messages += theirs.verified_messages;
            if mine.latency.is_none() {
                mine.latency = theirs.latency;
            }
            if mine.bandwidth.is_none() {
                mine.bandwidth = theirs.bandwidth;
            }
        }
        self.mismatches.extend(other.mismatches.iter().cloned());
        Ok(())
    }
}

/// Turns the initiator's latency samples and bandwidth batches into a row.
pub fn summarise(
    operation: Operation,
    size: usize,
    window: usize,
    latencies_us: &[f64],
    batches: &[BatchTiming],
) -> RowResult {
    RowResult {
        operation,
        size_bytes: size,
        window,
        latency: LatencySummary::from_samples(latencies_us),
        bandwidth: BandwidthSummary::from_batches(batches),
        wrong_messages: 0,
        verified_messages: 0,
    }
}
