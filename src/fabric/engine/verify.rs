//! Checking a batch of received messages against the payloads they should carry.

use super::Operation;
use crate::fabric::payload::{self, MessageId, Mismatch};
use std::collections::HashMap;

/// How many mismatches are described in full; the rest are only counted.
pub const MAX_LOGGED_MISMATCHES: usize = 10;

/// Descriptions of the first payload mismatches of a run.
#[derive(Debug, Default)]
pub struct MismatchLog {
    notes: Vec<String>,
}

impl MismatchLog {
    pub fn record(
        &mut self,
        operation: Operation,
        id: MessageId,
        mismatch: &Mismatch,
        detail: &str,
    ) {
        if self.notes.len() < MAX_LOGGED_MISMATCHES {
            self.notes.push(format!(
                "{} size {} batch {} message {}: byte {} expected 0x{:02x} got 0x{:02x} ({} wrong bytes){detail}",
                operation.name(),
                id.size,
                id.iteration,
                id.sequence,
                mismatch.offset,
                mismatch.expected,
                mismatch.found,
                mismatch.wrong_bytes
            ));
        }
    }

    pub fn note(&mut self, text: String) {
        if self.notes.len() < MAX_LOGGED_MISMATCHES {
            self.notes.push(text);
        }
    }

    pub fn into_notes(self) -> Vec<String> {
        self.notes
    }
}

/// Verification counts of one batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchCheck {
    pub verified: u64,
    pub wrong: u64,
}

impl BatchCheck {
    /// Adds another batch's counts to these.
    pub fn add(&mut self, other: BatchCheck) {
        self.verified += other.verified;
        self.wrong += other.wrong;
    }
}

/// Message `k` must sit at `k * size` of `region` (RMA targets, ping-pong receives).
pub fn verify_in_place(
    region: &[u8],
    ids: &[MessageId],
    operation: Operation,
    log: &mut MismatchLog,
) -> BatchCheck {
    let mut check = BatchCheck::default();
    for (k, id) in ids.iter().enumerate() {
        let bytes = &region[k * id.size..(k + 1) * id.size];
        check.verified += 1;
        if let Some(mismatch) = payload::verify(bytes, *id) {
            check.wrong += 1;
            log.record(operation, *id, &mismatch, "");
        }
    }
    check
}

/// The receive buffers `0..ids.len()` of `region` must hold the messages `ids` in some order:
/// untagged messages of a window may be matched to posted receives out of order when the
/// provider does not promise send-after-send ordering. Every id must be found exactly once.
pub fn verify_any_order(
    region: &[u8],
    ids: &[MessageId],
    operation: Operation,
    log: &mut MismatchLog,
) -> BatchCheck {
    let size = ids.first().map_or(0, |id| id.size);
    let mut check = BatchCheck {
        verified: ids.len() as u64,
        wrong: 0,
    };
    let mut expected_prefix: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
    let prefix_len = size.min(8);
    for (k, id) in ids.iter().enumerate() {
        let mut first = vec![0u8; size];
        payload::fill(&mut first, *id);
        expected_prefix
            .entry(first[..prefix_len].to_vec())
            .or_default()
            .push(k);
    }
    // Pass 1: messages in their posting order (the usual case). Pass 2: the rest, against the
    // messages of the window nobody claimed yet.
    let slot_bytes = |slot: usize| &region[slot * size..(slot + 1) * size];
    let mut matched: Vec<bool> = ids
        .iter()
        .enumerate()
        .map(|(slot, id)| payload::verify(slot_bytes(slot), *id).is_none())
        .collect();
    let in_order = matched.clone();
    let mut unmatched_slots = Vec::new();
    for slot in (0..ids.len()).filter(|&slot| !in_order[slot]) {
        let bytes = slot_bytes(slot);
        let candidate = expected_prefix.get(&bytes[..prefix_len]).and_then(|ks| {
            ks.iter()
                .copied()
                .find(|&k| !matched[k] && payload::verify(bytes, ids[k]).is_none())
        });
        match candidate {
            Some(k) => matched[k] = true,
            None => unmatched_slots.push(slot),
        }
    }
    for slot in unmatched_slots {
        check.wrong += 1;
        // Describe the difference against the message the slot holds in an in-order delivery.
        let id = ids[slot];
        let bytes = &region[slot * size..(slot + 1) * size];
        match payload::verify(bytes, id) {
            Some(mismatch) => log.record(
                operation,
                id,
                &mismatch,
                " (matches no message of its window)",
            ),
            None => log.note(format!(
                "{} size {size} batch {} message {slot}: a message of the window arrived twice",
                operation.name(),
                id.iteration
            )),
        }
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(size: usize, n: u64) -> Vec<MessageId> {
        (0..n)
            .map(|k| MessageId {
                size,
                iteration: 9,
                sequence: k,
            })
            .collect()
    }

    fn region_with(order: &[usize], ids: &[MessageId]) -> Vec<u8> {
        let size = ids[0].size;
        let mut region = vec![0u8; size * ids.len()];
        for (slot, &k) in order.iter().enumerate() {
            payload::fill(&mut region[slot * size..(slot + 1) * size], ids[k]);
        }
        region
    }

    #[test]
    fn reordered_windows_verify_and_duplicates_do_not() {
        for size in [1usize, 3, 8, 100] {
            let ids = ids(size, 4);
            let mut log = MismatchLog::default();
            let region = region_with(&[2, 0, 3, 1], &ids);
            let check = verify_any_order(&region, &ids, Operation::SendRecv, &mut log);
            assert_eq!(
                check,
                BatchCheck {
                    verified: 4,
                    wrong: 0
                },
                "size {size}"
            );
            // Message 1 delivered twice, message 3 lost.
            let region = region_with(&[0, 1, 2, 1], &ids);
            let check = verify_any_order(&region, &ids, Operation::SendRecv, &mut log);
            assert_eq!(check.wrong, 1, "size {size}");
        }
    }

    #[test]
    fn a_corrupted_one_byte_message_is_described_even_if_it_looks_like_another() {
        // Message 0 corrupted into the value of message 3: still one wrong message, described.
        let ids = ids(1, 4);
        let mut region = region_with(&[0, 1, 2, 3], &ids);
        region[0] = region[3];
        let mut log = MismatchLog::default();
        let check = verify_any_order(&region, &ids, Operation::SendRecv, &mut log);
        assert_eq!(check.wrong, 1);
        let notes = log.into_notes();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("message 0: byte 0"), "{}", notes[0]);
    }

    #[test]
    fn a_corrupted_byte_is_counted_and_logged() {
        let ids = ids(64, 3);
        let mut region = region_with(&[0, 1, 2], &ids);
        region[64 + 5] ^= 1;
        let mut log = MismatchLog::default();
        assert_eq!(
            verify_in_place(&region, &ids, Operation::Write, &mut log).wrong,
            1
        );
        assert_eq!(
            verify_any_order(&region, &ids, Operation::SendRecv, &mut log).wrong,
            1
        );
        let notes = log.into_notes();
        assert_eq!(notes.len(), 2);
        assert!(
            notes[0].contains("write size 64 batch 9 message 1: byte 5"),
            "{}",
            notes[0]
        );
    }
}
