//! AllReduce: every rank ends with the reduction of all ranks' buffers (nccl-tests all_reduce.cu).

use super::{Collective, Counts, LaunchArgs, OpColumn, Primitives, Segment};
use crate::error::Result;

pub struct AllReduce;

impl Collective for AllReduce {
    fn name(&self) -> &'static str {
        "all_reduce"
    }
    fn binary_name(&self) -> &'static str {
        "allreduce-perf"
    }
    fn op_column(&self) -> OpColumn {
        OpColumn::Reduction
    }
    fn uses_root(&self) -> bool {
        false
    }
    fn counts(&self, count: usize, _elt_size: usize, _nranks: usize) -> Counts {
        Counts::same(count)
    }
    /// 2(n-1)/n: a ring reduce-scatter plus a ring allgather. (nccl-tests uses (n-1)/(n+1) when the
    /// user forces NCCL_ALGO=NVLS; that is an environment-specific override left to the runner.)
    fn bus_bw_factor(&self, nranks: usize) -> f64 {
        2.0 * (nranks as f64 - 1.0) / nranks as f64
    }
    fn expected(
        &self,
        _rank: usize,
        _nranks: usize,
        _root: usize,
        counts: &Counts,
    ) -> Vec<Segment> {
        if counts.recv_count == 0 {
            return Vec::new();
        }
        vec![Segment::Reduce {
            dst_offset: 0,
            len: counts.recv_count,
            src_offset: 0,
        }]
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        prims.all_reduce(args, args.counts.param_count)
    }
}
