//! Broadcast: every rank ends with the root's buffer (nccl-tests broadcast.cu).

use super::{Collective, Counts, LaunchArgs, OpColumn, Primitives, Segment};
use crate::error::Result;

pub struct Broadcast;

impl Collective for Broadcast {
    fn name(&self) -> &'static str {
        "broadcast"
    }
    fn binary_name(&self) -> &'static str {
        "broadcast-perf"
    }
    fn op_column(&self) -> OpColumn {
        OpColumn::None
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
    fn expected(&self, _rank: usize, _nranks: usize, root: usize, counts: &Counts) -> Vec<Segment> {
        if counts.recv_count == 0 {
            return Vec::new();
        }
        vec![Segment::Copy {
            dst_offset: 0,
            len: counts.recv_count,
            src_rank: root,
            src_offset: 0,
        }]
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        prims.broadcast(args, args.counts.param_count, args.root)
    }
}
