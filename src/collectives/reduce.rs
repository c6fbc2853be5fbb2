//! Reduce: the root ends with the reduction of all ranks' buffers (nccl-tests reduce.cu). Other
//! ranks' receive buffers are not written, and nccl-tests checks that they are as before the call:
//! in place, where they are the input, they must still hold it; out of place, the poison.

use super::{Collective, Counts, LaunchArgs, OpColumn, Primitives, Segment};
use crate::error::Result;

pub struct Reduce;

impl Collective for Reduce {
    fn name(&self) -> &'static str {
        "reduce"
    }
    fn binary_name(&self) -> &'static str {
        "reduce-perf"
    }
    fn op_column(&self) -> OpColumn {
        OpColumn::Reduction
    }
    fn uses_root(&self) -> bool {
        true
    }
    fn counts(&self, count: usize, _elt_size: usize, _nranks: usize) -> Counts {
        Counts::same(count)
    }
    fn bus_bw_factor(&self, _nranks: usize) -> f64 {
        1.0
    }
    fn expected(&self, rank: usize, _nranks: usize, root: usize, counts: &Counts) -> Vec<Segment> {
        if rank != root || counts.recv_count == 0 {
            return Vec::new();
        }
        vec![Segment::Reduce {
            dst_offset: 0,
            len: counts.recv_count,
            src_offset: 0,
        }]
    }
    fn unchanged_in_place(
        &self,
        rank: usize,
        _nranks: usize,
        root: usize,
        counts: &Counts,
    ) -> Vec<Segment> {
        if rank == root || counts.send_count == 0 {
            return Vec::new();
        }
        vec![Segment::Copy {
            dst_offset: 0,
            len: counts.send_count,
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
        if rank == root || in_place || counts.recv_count == 0 {
            return Vec::new();
        }
        vec![Segment::Untouched {
            dst_offset: 0,
            len: counts.recv_count,
        }]
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        prims.reduce(args, args.counts.param_count, args.root)
    }
}
