//! Message payloads that identify themselves: every byte of message (size, iteration, sequence)
//! is a pure function of those three numbers, so a receiver can check each message it got
//! without any side channel, and a message delivered to the wrong buffer, truncated, stale from an
//! earlier iteration or corrupted in flight fails the check.

/// Identity of one message in a sweep: its size, the iteration (batch) it belongs to and its
/// sequence number inside that batch (plus which side sent it, folded into `sequence`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageId {
    pub size: usize,
    pub iteration: u64,
    pub sequence: u64,
}

/// Byte used where no message identity is known (tests, spare buffer space).
pub const POISON_BYTE: u8 = 0xA5;

/// splitmix64 finaliser: a cheap bijective mix, good enough that neighbouring ids and offsets
/// give unrelated words.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn seed_of(id: MessageId) -> u64 {
    mix(mix(mix(id.size as u64) ^ id.iteration) ^ id.sequence.rotate_left(32))
}

/// The 8 payload bytes starting at byte offset `word * 8`.
fn word_at(seed: u64, word: usize) -> [u8; 8] {
    mix(seed ^ (word as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93)).to_le_bytes()
}

/// Fills `buffer` (exactly `id.size` bytes) with the payload of `id`.
pub fn fill(buffer: &mut [u8], id: MessageId) {
    debug_assert_eq!(buffer.len(), id.size);
    let seed = seed_of(id);
    let mut chunks = buffer.chunks_exact_mut(8);
    for (word, chunk) in (&mut chunks).enumerate() {
        chunk.copy_from_slice(&word_at(seed, word));
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        let word = id.size / 8;
        let bytes = word_at(seed, word);
        tail.copy_from_slice(&bytes[..tail.len()]);
    }
}

/// Fills a receive buffer with the bitwise complement of the payload `id` should bring, so that a
/// buffer the fabric never wrote fails verification at every byte, even for 1-byte messages.
pub fn poison(buffer: &mut [u8], id: MessageId) {
    fill(buffer, id);
    for byte in buffer.iter_mut() {
        *byte = !*byte;
    }
}

/// First difference between a received buffer and the payload `id` should have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub offset: usize,
    pub expected: u8,
    pub found: u8,
    /// How many bytes of the buffer differ in total.
    pub wrong_bytes: usize,
}

/// Checks `buffer` against the payload of `id`; `None` when every byte matches.
pub fn verify(buffer: &[u8], id: MessageId) -> Option<Mismatch> {
    if buffer.len() != id.size {
        return Some(Mismatch {
            offset: buffer.len().min(id.size),
            expected: 0,
            found: 0,
            wrong_bytes: buffer.len().abs_diff(id.size),
        });
    }
    let seed = seed_of(id);
    let mut first: Option<(usize, u8, u8)> = None;
    let mut wrong_bytes = 0usize;
    for (word, chunk) in buffer.chunks(8).enumerate() {
        let expected = word_at(seed, word);
        if chunk != &expected[..chunk.len()] {
            for (i, (&found, &want)) in chunk.iter().zip(expected.iter()).enumerate() {
                if found != want {
                    wrong_bytes += 1;
                    first.get_or_insert((word * 8 + i, want, found));
                }
            }
        }
    }
    first.map(|(offset, expected, found)| Mismatch {
        offset,
        expected,
        found,
        wrong_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(size: usize, iteration: u64, sequence: u64) -> MessageId {
        MessageId {
            size,
            iteration,
            sequence,
        }
    }

    #[test]
    fn filled_buffers_verify_for_odd_and_even_sizes() {
        for size in [1usize, 7, 8, 9, 63, 64, 4097] {
            let mut buffer = vec![POISON_BYTE; size];
            fill(&mut buffer, id(size, 3, 5));
            assert_eq!(verify(&buffer, id(size, 3, 5)), None, "size {size}");
        }
    }

    #[test]
    fn a_flipped_byte_is_reported_with_its_offset() {
        let mut buffer = vec![0u8; 1000];
        fill(&mut buffer, id(1000, 0, 0));
        buffer[517] ^= 0x40;
        let mismatch = verify(&buffer, id(1000, 0, 0)).expect("corruption must be found");
        assert_eq!(mismatch.offset, 517);
        assert_eq!(mismatch.wrong_bytes, 1);
        assert_eq!(mismatch.found ^ mismatch.expected, 0x40);
    }

    #[test]
    fn payloads_differ_between_iterations_sequences_and_sizes() {
        let mut a = vec![0u8; 64];
        fill(&mut a, id(64, 1, 0));
        assert!(
            verify(&a, id(64, 2, 0)).is_some(),
            "stale iteration accepted"
        );
        assert!(
            verify(&a, id(64, 1, 1)).is_some(),
            "wrong sequence accepted"
        );
        assert!(
            verify(&a[..32], id(32, 1, 0)).is_some(),
            "truncation accepted"
        );
    }

    #[test]
    fn poisoned_and_wrong_length_buffers_fail() {
        for size in [1usize, 2, 16] {
            let mut buffer = vec![0u8; size];
            poison(&mut buffer, id(size, 4, 2));
            let mismatch = verify(&buffer, id(size, 4, 2)).expect("poison must not verify");
            assert_eq!(mismatch.wrong_bytes, size);
        }
        assert!(verify(&[0u8; 15], id(16, 0, 0)).is_some());
    }
}
