//! Counts, bandwidth factors and output segments of every collective, for 1, 2, 3, 4 and 8 ranks.

use super::*;
use crate::types::DataType;

const RANK_COUNTS: [usize; 5] = [1, 2, 3, 4, 8];

fn coll(name: &str) -> &'static dyn Collective {
    find(name).unwrap_or_else(|| panic!("{name} is registered"))
}

#[test]
fn registry_order_names_and_lookup() {
    let names: Vec<&str> = REGISTRY.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "all_reduce",
            "all_gather",
            "reduce_scatter",
            "alltoall",
            "alltoallv",
            "broadcast",
            "reduce",
            "sendrecv",
            "gather",
            "scatter",
            "hypercube"
        ]
    );
    let binaries: Vec<&str> = REGISTRY.iter().map(|c| c.binary_name()).collect();
    assert_eq!(
        binaries,
        [
            "allreduce-perf",
            "allgather-perf",
            "reducescatter-perf",
            "alltoall-perf",
            "alltoallv-perf",
            "broadcast-perf",
            "reduce-perf",
            "sendrecv-perf",
            "gather-perf",
            "scatter-perf",
            "hypercube-perf"
        ]
    );
    for c in REGISTRY {
        assert_eq!(find(c.name()).map(|f| f.name()), Some(c.name()));
        assert_eq!(find(c.binary_name()).map(|f| f.name()), Some(c.name()));
        assert_eq!(
            find(&format!("{}_perf", c.name())).map(|f| f.name()),
            Some(c.name())
        );
    }
    assert!(find("allreduce").is_some());
    assert!(find("all_reduce_perf").is_some());
    assert!(find("bogus").is_none());
}

#[test]
fn per_rank_counts_round_down_to_16_bytes() {
    assert_eq!(per_rank_count(2, 4, 1), 0); // 8 B of float: nccl-tests prints size 0
    assert_eq!(per_rank_count(4, 4, 1), 4);
    assert_eq!(per_rank_count(7, 4, 1), 4);
    assert_eq!(per_rank_count(100, 1, 3), 32); // 33 → 32 int8
    assert_eq!(per_rank_count(100, 8, 3), 32); // 33 → 32 doubles (multiple of 2)
    assert_eq!(per_rank_count(1 << 20, 2, 8), 1 << 17);
    assert_eq!(per_rank_count(1000, 4, 0), 1000 & !3); // nranks 0 never divides by zero
}

#[test]
fn columns_roots_and_in_place_checks_follow_nccl_tests() {
    let table = [
        ("all_reduce", OpColumn::Reduction, false, true),
        ("all_gather", OpColumn::None, false, true),
        ("reduce_scatter", OpColumn::Reduction, false, true),
        ("alltoall", OpColumn::None, false, false),
        ("alltoallv", OpColumn::None, false, false),
        ("broadcast", OpColumn::None, true, true),
        ("reduce", OpColumn::Reduction, true, true),
        ("sendrecv", OpColumn::Ignored, false, false),
        ("gather", OpColumn::None, true, true),
        ("scatter", OpColumn::None, true, true),
        ("hypercube", OpColumn::Blank, false, true),
    ];
    for (name, column, root, in_place) in table {
        let c = coll(name);
        assert_eq!(c.op_column(), column, "{name}");
        assert_eq!(c.uses_root(), root, "{name}");
        assert_eq!(c.in_place_checked(), in_place, "{name}");
    }
}

#[test]
fn bus_bandwidth_factors() {
    for n in RANK_COUNTS {
        let nf = n as f64;
        let expected = [
            ("all_reduce", 2.0 * (nf - 1.0) / nf),
            ("all_gather", (nf - 1.0) / nf),
            ("reduce_scatter", (nf - 1.0) / nf),
            ("alltoall", (nf - 1.0) / nf),
            ("alltoallv", (nf - 1.0) / nf),
            ("broadcast", 1.0),
            ("reduce", 1.0),
            ("sendrecv", 1.0),
            ("gather", (nf - 1.0) / nf),
            ("scatter", (nf - 1.0) / nf),
            ("hypercube", 1.0),
        ];
        for (name, factor) in expected {
            assert_eq!(coll(name).bus_bw_factor(n), factor, "{name} n={n}");
        }
    }
}

#[test]
fn counts_and_alg_bytes_for_four_ranks_of_floats() {
    // 1 MiB of float = 262144 elements over 4 ranks.
    let count = 262_144;
    let block = 65_536;
    let c = |name: &str| coll(name).counts(count, 4, 4);
    let ar = c("all_reduce");
    assert_eq!(
        (ar.send_count, ar.recv_count, ar.param_count),
        (count, count, count)
    );
    assert_eq!(coll("all_reduce").alg_bytes(&ar, 4, 4), 1 << 20);
    let ag = c("all_gather");
    assert_eq!(
        (ag.send_count, ag.recv_count, ag.param_count),
        (block, count, block)
    );
    assert_eq!((ag.send_inplace_offset, ag.recv_inplace_offset), (block, 0));
    assert_eq!(coll("all_gather").alg_bytes(&ag, 4, 4), 1 << 20);
    let rs = c("reduce_scatter");
    assert_eq!(
        (rs.send_count, rs.recv_count, rs.param_count),
        (count, block, block)
    );
    assert_eq!((rs.send_inplace_offset, rs.recv_inplace_offset), (0, block));
    let a2a = c("alltoall");
    assert_eq!(
        (a2a.send_count, a2a.recv_count, a2a.param_count),
        (count, count, block)
    );
    let g = c("gather");
    assert_eq!(
        (g.send_count, g.recv_count, g.send_inplace_offset),
        (block, count, block)
    );
    let s = c("scatter");
    assert_eq!(
        (s.send_count, s.recv_count, s.recv_inplace_offset),
        (count, block, block)
    );
    let hc = c("hypercube");
    assert_eq!((hc.send_count, hc.recv_count), (block, count));
    assert_eq!(coll("hypercube").alg_bytes(&hc, 4, 4), 3 * block as u64 * 4);
    for name in ["broadcast", "reduce", "sendrecv"] {
        let k = c(name);
        assert_eq!(
            (k.send_count, k.recv_count, k.param_count),
            (count, count, count),
            "{name}"
        );
        assert_eq!(coll(name).alg_bytes(&k, 4, 4), 1 << 20, "{name}");
    }
    // Printed size: max of the two buffers.
    assert_eq!(ag.size_bytes(4), 1 << 20);
    assert_eq!(rs.size_bytes(4), 1 << 20);
}

/// Checks one rank's segments: inside the output and the sources' send buffers, no overlap, and
/// covering exactly `defined` output elements.
fn assert_segments(
    name: &str,
    segments: &[Segment],
    counts: &Counts,
    nranks: usize,
    defined: usize,
) {
    let mut covered = vec![false; counts.recv_count];
    for seg in segments {
        let (dst, len) = match *seg {
            Segment::Copy {
                dst_offset,
                len,
                src_rank,
                src_offset,
            } => {
                assert!(
                    src_rank < nranks,
                    "{name}: source rank {src_rank} of {nranks}"
                );
                assert!(
                    src_offset + len <= counts.send_count,
                    "{name}: source beyond the send buffer: {seg:?}"
                );
                (dst_offset, len)
            }
            Segment::Reduce {
                dst_offset,
                len,
                src_offset,
            } => {
                assert!(
                    src_offset + len <= counts.send_count,
                    "{name}: source beyond the send buffer: {seg:?}"
                );
                (dst_offset, len)
            }
            Segment::Untouched { dst_offset, len } => (dst_offset, len),
        };
        assert!(len > 0, "{name}: empty segment {seg:?}");
        assert!(
            dst + len <= counts.recv_count,
            "{name}: {seg:?} beyond recv_count {}",
            counts.recv_count
        );
        for c in &mut covered[dst..dst + len] {
            assert!(!*c, "{name}: overlapping segments at {seg:?}");
            *c = true;
        }
    }
    let total = covered.iter().filter(|c| **c).count();
    assert_eq!(
        total, defined,
        "{name}: {total} elements covered, {defined} defined"
    );
    if defined == counts.recv_count {
        assert!(covered.iter().all(|c| *c));
    }
}

#[test]
fn segments_cover_exactly_the_defined_output() {
    for n in RANK_COUNTS {
        for dtype in [
            DataType::Int8,
            DataType::Half,
            DataType::Float,
            DataType::Double,
        ] {
            for bytes in [0usize, 8, 16, 1000, 4096, 65_536 + 24] {
                let count = bytes / dtype.size_bytes();
                for c in REGISTRY {
                    if c.rank_count_problem(n).is_some() {
                        continue;
                    }
                    let counts = c.counts(count, dtype.size_bytes(), n);
                    let roots: Vec<usize> = if c.uses_root() {
                        (0..n).collect()
                    } else {
                        vec![0]
                    };
                    for root in roots {
                        for rank in 0..n {
                            let segments = c.expected(rank, n, root, &counts);
                            let defined = match c.name() {
                                "reduce" | "gather" if rank != root => 0,
                                "alltoallv" => alltoallv::AllToAllVLayout::new(
                                    alltoallv::pattern::current(),
                                    &counts,
                                    n,
                                )
                                .received(rank),
                                _ => counts.recv_count,
                            };
                            assert_segments(c.name(), &segments, &counts, n, defined);
                        }
                    }
                }
            }
        }
    }
}

/// nccl-tests compares every rank's whole receive buffer with `expected` (for a rank that receives
/// nothing, the buffer as it was before the call), so `checked` covers the whole output of every
/// rank, root or not, in and out of place (alltoallv's tail past its blocks: untouched).
#[test]
fn checked_segments_cover_every_ranks_whole_output_as_nccl_tests_does() {
    let mut untouched_ranks = 0;
    for n in RANK_COUNTS {
        for bytes in [0usize, 16, 1000, 65_536 + 24] {
            let dtype = DataType::Float;
            let count = bytes / dtype.size_bytes();
            for c in REGISTRY {
                if c.rank_count_problem(n).is_some() {
                    continue;
                }
                let counts = c.counts(count, dtype.size_bytes(), n);
                let roots: Vec<usize> = if c.uses_root() {
                    (0..n).collect()
                } else {
                    vec![0]
                };
                for root in roots {
                    for rank in 0..n {
                        for in_place in [false, true] {
                            if in_place && !c.in_place_checked() {
                                continue;
                            }
                            let segments = c.checked(rank, n, root, &counts, in_place);
                            let defined = counts.recv_count;
                            let what = format!(
                                "{} n={n} root {root} rank {rank} in_place {in_place}",
                                c.name()
                            );
                            assert_segments(&what, &segments, &counts, n, defined);
                            let untouched = segments
                                .iter()
                                .any(|s| matches!(s, Segment::Untouched { .. }));
                            let receives_nothing =
                                matches!(c.name(), "reduce" | "gather") && rank != root;
                            let alltoallv_tail = c.name() == "alltoallv"
                                && alltoallv::AllToAllVLayout::new(
                                    alltoallv::pattern::current(),
                                    &counts,
                                    n,
                                )
                                .received(rank)
                                    < counts.recv_count;
                            let expect_untouched = (receives_nothing
                                && counts.recv_count > 0
                                && !(in_place && c.name() == "reduce"))
                                || alltoallv_tail;
                            assert_eq!(untouched, expect_untouched, "{what}: {segments:?}");
                            untouched_ranks += usize::from(untouched);
                        }
                    }
                }
            }
        }
    }
    assert!(untouched_ranks > 100, "{untouched_ranks}");
    // Gather in place: a non-root's own block is its input, the blocks around it the poison.
    let counts = coll("gather").counts(16, 4, 4);
    assert_eq!(
        coll("gather").checked(1, 4, 0, &counts, true),
        vec![
            Segment::Copy {
                dst_offset: 4,
                len: 4,
                src_rank: 1,
                src_offset: 0
            },
            Segment::Untouched {
                dst_offset: 0,
                len: 4
            },
            Segment::Untouched {
                dst_offset: 8,
                len: 8
            },
        ]
    );
    // Reduce out of place: a non-root's whole buffer is the poison; the root's is the reduction.
    let counts = coll("reduce").counts(10, 4, 4);
    assert_eq!(
        coll("reduce").checked(3, 4, 2, &counts, false),
        vec![Segment::Untouched {
            dst_offset: 0,
            len: 10
        }]
    );
    assert_eq!(coll("reduce").checked(3, 4, 2, &counts, true).len(), 1);
    assert!(matches!(
        coll("reduce").checked(2, 4, 2, &counts, false)[..],
        [Segment::Reduce { .. }]
    ));
}

#[test]
fn sources_are_the_right_ranks_and_offsets() {
    let n = 4;
    let counts = coll("all_gather").counts(64, 4, n);
    assert_eq!(
        coll("all_gather").expected(2, n, 0, &counts)[3],
        Segment::Copy {
            dst_offset: 48,
            len: 16,
            src_rank: 3,
            src_offset: 0
        }
    );
    let counts = coll("alltoall").counts(64, 4, n);
    assert_eq!(
        coll("alltoall").expected(2, n, 0, &counts)[1],
        Segment::Copy {
            dst_offset: 16,
            len: 16,
            src_rank: 1,
            src_offset: 32
        }
    );
    let counts = coll("reduce_scatter").counts(64, 4, n);
    assert_eq!(
        coll("reduce_scatter").expected(3, n, 0, &counts),
        vec![Segment::Reduce {
            dst_offset: 0,
            len: 16,
            src_offset: 48
        }]
    );
    let counts = coll("scatter").counts(64, 4, n);
    assert_eq!(
        coll("scatter").expected(1, n, 2, &counts),
        vec![Segment::Copy {
            dst_offset: 0,
            len: 16,
            src_rank: 2,
            src_offset: 16
        }]
    );
    let counts = coll("sendrecv").counts(10, 4, n);
    assert_eq!(
        coll("sendrecv").expected(0, n, 0, &counts),
        vec![Segment::Copy {
            dst_offset: 0,
            len: 10,
            src_rank: 3,
            src_offset: 0
        }]
    );
    let counts = coll("broadcast").counts(10, 4, n);
    assert_eq!(
        coll("broadcast").expected(0, n, 3, &counts),
        vec![Segment::Copy {
            dst_offset: 0,
            len: 10,
            src_rank: 3,
            src_offset: 0
        }]
    );
}

#[test]
fn alltoallv_blocks_are_packed_and_fit_the_buffers() {
    for n in [1usize, 2, 3, 4, 8, 64] {
        let c = coll("alltoallv");
        let counts = c.counts(1 << 20, 4, n);
        let layout = alltoallv::AllToAllVLayout::new(alltoallv::pattern::current(), &counts, n);
        for r in 0..n {
            let sent: usize = (0..n).map(|d| layout.block_count(r, d)).sum();
            assert!(sent <= counts.send_count, "n={n} r={r}");
            assert!(layout.received(r) <= counts.recv_count, "n={n} r={r}");
            // Packed: each send block starts where the previous one ends.
            let mut offset = 0;
            for d in 0..n {
                assert_eq!(layout.send_displacement(r, d), offset, "n={n} r={r} d={d}");
                offset += layout.block_count(r, d);
            }
            let mut offset = 0;
            for s in 0..n {
                assert_eq!(layout.recv_displacement(r, s), offset, "n={n} r={r} s={s}");
                offset += layout.block_count(s, r);
            }
        }
        if n >= 3 {
            let sizes: std::collections::HashSet<usize> =
                (0..n).map(|d| layout.block_count(0, d)).collect();
            assert_eq!(sizes.len(), n, "n={n}: every peer gets a different count");
        }
    }
}

#[test]
fn hypercube_needs_a_power_of_two() {
    let h = coll("hypercube");
    for n in [1, 2, 4, 8, 1024] {
        assert_eq!(h.rank_count_problem(n), None);
    }
    for n in [3, 6, 12] {
        let msg = h.rank_count_problem(n).expect("not a power of two");
        assert!(
            msg.contains(&n.to_string()) && msg.contains("power-of-two"),
            "{msg}"
        );
    }
    for c in REGISTRY.iter().filter(|c| c.name() != "hypercube") {
        assert_eq!(c.rank_count_problem(3), None, "{}", c.name());
    }
}
