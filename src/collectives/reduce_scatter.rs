//! ReduceScatter: rank r ends with block r of the reduction of all ranks' buffers (nccl-tests
//! reduce_scatter.cu). In place, rank r's output is block r of its (send = receive) buffer.

use super::{per_rank_count, Collective, Counts, LaunchArgs, OpColumn, Primitives, Segment};
use crate::error::Result;

pub struct ReduceScatter;

impl Collective for ReduceScatter {
    fn name(&self) -> &'static str {
        "reduce_scatter"
    }
    fn binary_name(&self) -> &'static str {
        "reducescatter-perf"
    }
    fn op_column(&self) -> OpColumn {
        OpColumn::Reduction
    }
    fn uses_root(&self) -> bool {
        false
    }
    fn counts(&self, count: usize, elt_size: usize, nranks: usize) -> Counts {
        let base = per_rank_count(count, elt_size, nranks);
        Counts {
            send_count: base * nranks,
            recv_count: base,
            param_count: base,
            send_inplace_offset: 0,
            recv_inplace_offset: base,
            elt_size: 0,
        }
    }
    fn alg_bytes(&self, counts: &Counts, elt_size: usize, nranks: usize) -> u64 {
        (counts.param_count * elt_size * nranks) as u64
    }
    fn bus_bw_factor(&self, nranks: usize) -> f64 {
        (nranks as f64 - 1.0) / nranks as f64
    }
    fn expected(&self, rank: usize, _nranks: usize, _root: usize, counts: &Counts) -> Vec<Segment> {
        let block = counts.recv_count;
        if block == 0 {
            return Vec::new();
        }
        vec![Segment::Reduce {
            dst_offset: 0,
            len: block,
            src_offset: rank * block,
        }]
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        prims.reduce_scatter(args, args.counts.param_count)
    }
}
