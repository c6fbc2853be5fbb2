//! AllToAll: block d of rank s's send buffer lands at block s of rank d's output (nccl-tests
//! alltoall.cu). nccl-tests does not check in-place results (prints N/A): neither do we.

use super::{per_rank_count, Collective, Counts, LaunchArgs, OpColumn, Primitives, Segment};
use crate::error::Result;

pub struct AllToAll;

impl Collective for AllToAll {
    fn name(&self) -> &'static str {
        "alltoall"
    }
    fn binary_name(&self) -> &'static str {
        "alltoall-perf"
    }
    fn op_column(&self) -> OpColumn {
        OpColumn::None
    }
    fn uses_root(&self) -> bool {
        false
    }
    fn counts(&self, count: usize, elt_size: usize, nranks: usize) -> Counts {
        let per_peer = per_rank_count(count, elt_size, nranks);
        Counts {
            send_count: per_peer * nranks,
            recv_count: per_peer * nranks,
            param_count: per_peer,
            send_inplace_offset: 0,
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
    fn expected(&self, rank: usize, nranks: usize, _root: usize, counts: &Counts) -> Vec<Segment> {
        let block = counts.param_count;
        (0..nranks)
            .filter(|_| block > 0)
            .map(|s| Segment::Copy {
                dst_offset: s * block,
                len: block,
                src_rank: s,
                src_offset: rank * block,
            })
            .collect()
    }
    fn in_place_checked(&self) -> bool {
        false
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        prims.all_to_all(args, args.counts.param_count)
    }
}
