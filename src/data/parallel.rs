//! [`fill_input`], [`check_output`] and the copy of an in-place input split over several threads,
//! for a run that leaves cores idle (one process on a multi-core host): each thread takes a
//! contiguous share of every segment. The results are those of the one-thread functions, element
//! for element.

use super::{check_output, fill_input, CheckOutcome, GenParams};
use crate::collectives::Segment;

/// Below this many bytes a thread's start-up costs more than it saves.
const MIN_BYTES_PER_THREAD: usize = 1 << 20;

/// Threads worth using for `bytes` of work, at most `threads`.
fn useful_threads(bytes: usize, threads: usize) -> usize {
    threads.clamp(1, (bytes / MIN_BYTES_PER_THREAD).max(1))
}

/// [`fill_input`] of `out` over up to `threads` threads.
pub fn fill_input_parallel(
    p: &GenParams,
    rank: usize,
    start_index: usize,
    out: &mut [u8],
    threads: usize,
) {
    let elt_size = p.dtype.size_bytes();
    let threads = useful_threads(out.len(), threads);
    if threads == 1 {
        return fill_input(p, rank, start_index, out);
    }
    let share = (out.len() / elt_size).div_ceil(threads) * elt_size;
    std::thread::scope(|scope| {
        for (t, part) in out.chunks_mut(share).enumerate() {
            let start = start_index + t * share / elt_size;
            scope.spawn(move || fill_input(p, rank, start, part));
        }
    });
}

/// `dst.copy_from_slice(src)` over up to `threads` threads: one core's copy does not reach the
/// memory bandwidth of two (64 MiB: about 9 ms on one core here, 5-6 ms on two).
pub fn copy_parallel(dst: &mut [u8], src: &[u8], threads: usize) {
    let threads = useful_threads(dst.len(), threads);
    if threads == 1 {
        return dst.copy_from_slice(src);
    }
    assert_eq!(dst.len(), src.len(), "copy_parallel: lengths differ");
    let share = dst.len().div_ceil(threads);
    std::thread::scope(|scope| {
        for (to, from) in dst.chunks_mut(share).zip(src.chunks(share)) {
            scope.spawn(move || to.copy_from_slice(from));
        }
    });
}

/// [`check_output`] over up to `threads` threads.
pub fn check_output_parallel(
    p: &GenParams,
    rank: usize,
    segments: &[Segment],
    output: &[u8],
    threads: usize,
) -> CheckOutcome {
    let elements: usize = segments.iter().map(Segment::len).sum();
    let threads = useful_threads(elements * p.dtype.size_bytes(), threads);
    if threads == 1 {
        return check_output(p, rank, segments, output);
    }
    let shares: Vec<Vec<Segment>> = (0..threads)
        .map(|t| {
            segments
                .iter()
                .filter_map(|s| share_of(s, t, threads))
                .collect()
        })
        .collect();
    let outcomes: Vec<CheckOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .iter()
            .map(|share| scope.spawn(move || check_output(p, rank, share, output)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut merged = CheckOutcome::default();
    for outcome in outcomes {
        merged.wrong += outcome.wrong;
        merged.first = match (merged.first.take(), outcome.first) {
            (Some(a), Some(b)) => Some(if b.index < a.index { b } else { a }),
            (a, b) => a.or(b),
        };
    }
    merged
}

/// Part `t` of `threads` contiguous parts of a segment's elements; `None` when empty.
fn share_of(segment: &Segment, t: usize, threads: usize) -> Option<Segment> {
    let share = segment.len().div_ceil(threads);
    let from = (t * share).min(segment.len());
    let len = share.min(segment.len() - from);
    if len == 0 {
        return None;
    }
    Some(match *segment {
        Segment::Copy {
            dst_offset,
            src_rank,
            src_offset,
            ..
        } => Segment::Copy {
            dst_offset: dst_offset + from,
            len,
            src_rank,
            src_offset: src_offset + from,
        },
        Segment::Reduce {
            dst_offset,
            src_offset,
            ..
        } => Segment::Reduce {
            dst_offset: dst_offset + from,
            len,
            src_offset: src_offset + from,
        },
        Segment::Untouched { dst_offset, .. } => Segment::Untouched {
            dst_offset: dst_offset + from,
            len,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::check::{corrupt_bits, expected_bits, ElementSource, POISON_BYTE};
    use crate::types::{DataType, ReduceOp};

    #[test]
    fn parallel_fill_and_check_equal_the_single_thread_ones() {
        let p = GenParams {
            seed: 5,
            nranks: 3,
            dtype: DataType::Float,
            op: Some(ReduceOp::Sum),
        };
        // 3 MiB of output: three threads' worth, and an odd element count.
        let len = (3 << 20) / 4 + 3;
        let mut one = vec![0u8; len * 4];
        let mut three = vec![0u8; len * 4];
        fill_input(&p, 1, 7, &mut one);
        fill_input_parallel(&p, 1, 7, &mut three, 3);
        assert!(one == three, "fills differ");

        let mut out = vec![POISON_BYTE; (len + 10) * 4];
        for i in 0..len {
            let bits = expected_bits(&p, ElementSource::Reduce, i);
            out[i * 4..(i + 1) * 4].copy_from_slice(&(bits as u32).to_le_bytes());
        }
        let segments = [
            Segment::Reduce {
                dst_offset: 0,
                len,
                src_offset: 0,
            },
            Segment::Untouched {
                dst_offset: len,
                len: 10,
            },
        ];
        assert_eq!(check_output_parallel(&p, 2, &segments, &out, 3).wrong, 0);
        for index in [len - 1, len / 2, 5] {
            let bits = expected_bits(&p, ElementSource::Reduce, index);
            let bad = corrupt_bits(DataType::Float, bits) as u32;
            out[index * 4..(index + 1) * 4].copy_from_slice(&bad.to_le_bytes());
        }
        out[(len + 4) * 4] = 0;
        let parallel = check_output_parallel(&p, 2, &segments, &out, 3);
        assert_eq!(parallel, check_output(&p, 2, &segments, &out));
        assert_eq!(parallel.wrong, 4);
        assert_eq!(parallel.first.unwrap().index, 5);
    }

    /// Wrong elements planted on both sides of every thread's share border, in a Copy, a Reduce
    /// and an Untouched segment: the count and the first wrong element equal the one-thread
    /// check's, for every thread count, and each planted element is counted once.
    #[test]
    fn corruption_at_share_borders_is_reported_as_by_one_thread() {
        let p = GenParams {
            seed: 11,
            nranks: 4,
            dtype: DataType::Int32,
            op: Some(ReduceOp::Sum),
        };
        let (copy_len, reduce_len, untouched_len) = ((1 << 20) + 5, (1 << 20) + 7, (1 << 18) + 1);
        let segments = [
            Segment::Copy {
                dst_offset: 0,
                len: copy_len,
                src_rank: 2,
                src_offset: 3,
            },
            Segment::Reduce {
                dst_offset: copy_len,
                len: reduce_len,
                src_offset: 9,
            },
            Segment::Untouched {
                dst_offset: copy_len + reduce_len,
                len: untouched_len,
            },
        ];
        let total = copy_len + reduce_len + untouched_len;
        let mut out = vec![POISON_BYTE; total * 4];
        for i in 0..copy_len {
            let bits = expected_bits(&p, ElementSource::Copy { src_rank: 2 }, 3 + i);
            out[i * 4..(i + 1) * 4].copy_from_slice(&(bits as u32).to_le_bytes());
        }
        for i in 0..reduce_len {
            let bits = expected_bits(&p, ElementSource::Reduce, 9 + i) as u32;
            let at = (copy_len + i) * 4;
            out[at..at + 4].copy_from_slice(&bits.to_le_bytes());
        }
        let clean = out.clone();
        for threads in 2..=4 {
            out.copy_from_slice(&clean);
            let mut planted = std::collections::BTreeSet::new();
            for segment in &segments {
                for t in 1..threads {
                    let border = share_of(segment, t, threads).unwrap().dst_offset();
                    planted.extend([border - 1, border]);
                }
            }
            for &index in &planted {
                out[index * 4] ^= 1;
            }
            let serial = check_output(&p, 1, &segments, &out);
            assert_eq!(serial.wrong, planted.len() as u64, "{threads} threads");
            assert_eq!(
                check_output_parallel(&p, 1, &segments, &out, threads),
                serial
            );
        }
        // The first wrong element is the lowest index even when a later share finds it first.
        out.copy_from_slice(&clean);
        out[(total - 1) * 4] = 0;
        out[(copy_len + reduce_len / 2) * 4] ^= 1;
        let serial = check_output(&p, 1, &segments, &out);
        assert_eq!(
            serial.first.as_ref().unwrap().index,
            copy_len + reduce_len / 2
        );
        assert_eq!(check_output_parallel(&p, 1, &segments, &out, 3), serial);
    }

    #[test]
    fn parallel_copy_equals_copy_from_slice() {
        let src: Vec<u8> = (0..(3 << 20) + 5).map(|i| (i * 7 % 251) as u8).collect();
        for threads in 1..=4 {
            let mut dst = vec![0u8; src.len()];
            copy_parallel(&mut dst, &src, threads);
            assert!(dst == src, "{threads} threads");
        }
    }

    #[test]
    fn small_buffers_use_one_thread() {
        assert_eq!(useful_threads(1000, 8), 1);
        assert_eq!(useful_threads(3 << 20, 8), 3);
        assert_eq!(useful_threads(64 << 20, 2), 2);
        assert_eq!(useful_threads(64 << 20, 0), 1);
    }
}
