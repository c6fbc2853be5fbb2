//! Scatter: block r of the root's send buffer lands in rank r's output (nccl-tests scatter.cu). In
//! place, each rank's output is its own block of the (send = receive) buffer.

use super::{per_rank_count, Collective, Counts, LaunchArgs, OpColumn, Primitives, Segment};
use crate::error::Result;

pub struct Scatter;

impl Collective for Scatter {
    fn name(&self) -> &'static str {
        "scatter"
    }
    fn binary_name(&self) -> &'static str {
        "scatter-perf"
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
            send_count: block * nranks,
            recv_count: block,
            param_count: block,
            send_inplace_offset: 0,
            recv_inplace_offset: block,
            elt_size: 0,
        }
    }
    fn alg_bytes(&self, counts: &Counts, elt_size: usize, nranks: usize) -> u64 {
        (counts.param_count * elt_size * nranks) as u64
    }
    fn bus_bw_factor(&self, nranks: usize) -> f64 {
        (nranks as f64 - 1.0) / nranks as f64
    }
    fn expected(&self, rank: usize, _nranks: usize, root: usize, counts: &Counts) -> Vec<Segment> {
        let block = counts.recv_count;
        if block == 0 {
            return Vec::new();
        }
        vec![Segment::Copy {
            dst_offset: 0,
            len: block,
            src_rank: root,
            src_offset: rank * block,
        }]
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        prims.scatter(args, args.counts.param_count, args.root)
    }
}
