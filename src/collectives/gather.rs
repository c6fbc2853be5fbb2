//! Gather: rank s's buffer lands at block s of the root's output (nccl-tests gather.cu). Non-root
//! receive buffers are not written, and nccl-tests checks that they are as before the call: in
//! place, a non-root's own block (its input) must still hold it; every other block, in and out of
//! place, the poison. In place, the root's send buffer is its own block.

use super::all_gather::gathered_blocks;
use super::{per_rank_count, Collective, Counts, LaunchArgs, OpColumn, Primitives, Segment};
use crate::error::Result;

pub struct Gather;

impl Collective for Gather {
    fn name(&self) -> &'static str {
        "gather"
    }
    fn binary_name(&self) -> &'static str {
        "gather-perf"
    }
    fn op_column(&self) -> OpColumn {
        OpColumn::None
    }
    fn uses_root(&self) -> bool {
        true
    }
    fn counts(&self, count: usize, elt_size: usize, nranks: usize) -> Counts {
        let block = per_rank_count(count, elt_size, nranks);
        Counts {
            send_count: block,
            recv_count: block * nranks,
            param_count: block,
            send_inplace_offset: block,
            recv_inplace_offset: 0,
            elt_size: 0,
        }
    }
    fn alg_bytes(&self, counts: &Counts, elt_size: usize, nranks: usize) -> u64 {
        (counts.param_count * elt_size * nranks) as u64
    }
    fn bus_bw_factor(&self, nranks: usize) -> f64 {
        (nranks as f64 - 1.0) / nranks as f64
    }
    fn expected(&self, rank: usize, nranks: usize, root: usize, counts: &Counts) -> Vec<Segment> {
        if rank != root {
            return Vec::new();
        }
        gathered_blocks(nranks, counts.send_count)
    }
    fn unchanged_in_place(
        &self,
        rank: usize,
        _nranks: usize,
        root: usize,
        counts: &Counts,
    ) -> Vec<Segment> {
        let block = counts.send_count;
        if rank == root || block == 0 {
            return Vec::new();
        }
        vec![Segment::Copy {
            dst_offset: rank * block,
            len: block,
            src_rank: rank,
            src_offset: 0,
        }]
    }
    fn untouched(
        &self,
        rank: usize,
        _nranks: usize,
        root: usize,
        counts: &Counts,
        in_place: bool,
    ) -> Vec<Segment> {
        let block = counts.send_count;
        if rank == root || block == 0 {
            return Vec::new();
        }
        if !in_place {
            return vec![Segment::Untouched {
                dst_offset: 0,
                len: counts.recv_count,
            }];
        }
        // In place the rank's own block is its input (`unchanged_in_place`): the blocks around it.
        let before = rank * block;
        let after = (rank + 1) * block;
        [
            (0, before),
            (after, counts.recv_count.saturating_sub(after)),
        ]
        .into_iter()
        .filter(|&(_, len)| len > 0)
        .map(|(dst_offset, len)| Segment::Untouched { dst_offset, len })
        .collect()
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        prims.gather(args, args.counts.param_count, args.root)
    }
}
