//! AllGather: rank r's block lands at block r of every rank's output (nccl-tests all_gather.cu).
//! In place, each rank's send buffer is its own block of the receive buffer.

use super::{per_rank_count, Collective, Counts, LaunchArgs, OpColumn, Primitives, Segment};
use crate::error::Result;

pub struct AllGather;

/// A gather of `count` elements in all: one block per rank sent, all blocks received, in place at
/// the rank's own block (shared with hypercube).
pub(crate) fn gathered_counts(count: usize, elt_size: usize, nranks: usize) -> Counts {
    let base = per_rank_count(count, elt_size, nranks);
    Counts {
        send_count: base,
        recv_count: base * nranks,
        param_count: base,
        send_inplace_offset: base,
        recv_inplace_offset: 0,
        elt_size: 0,
    }
}

/// Block `s` of the output is source rank `s`'s whole send buffer (shared with hypercube).
pub(crate) fn gathered_blocks(nranks: usize, block: usize) -> Vec<Segment> {
    (0..nranks)
        .filter(|_| block > 0)
        .map(|s| Segment::Copy {
            dst_offset: s * block,
            len: block,
            src_rank: s,
            src_offset: 0,
        })
        .collect()
}

impl Collective for AllGather {
    fn name(&self) -> &'static str {
        "all_gather"
    }
    fn binary_name(&self) -> &'static str {
        "allgather-perf"
    }
    fn op_column(&self) -> OpColumn {
        OpColumn::None
    }
    fn uses_root(&self) -> bool {
        false
    }
    fn counts(&self, count: usize, elt_size: usize, nranks: usize) -> Counts {
        gathered_counts(count, elt_size, nranks)
    }
    fn alg_bytes(&self, counts: &Counts, elt_size: usize, nranks: usize) -> u64 {
        (counts.param_count * elt_size * nranks) as u64
    }
    fn bus_bw_factor(&self, nranks: usize) -> f64 {
        (nranks as f64 - 1.0) / nranks as f64
    }
    fn expected(&self, _rank: usize, nranks: usize, _root: usize, counts: &Counts) -> Vec<Segment> {
        gathered_blocks(nranks, counts.send_count)
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        prims.all_gather(args, args.counts.param_count)
    }
}
