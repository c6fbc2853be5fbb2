//! SendRecv: a ring shift; rank r sends its buffer to r+1 and receives r-1's (nccl-tests sendrecv.cu).
//! The `redop` column prints the selected operator although nothing is reduced, and in-place results
//! are not checked (N/A), both as nccl-tests does.

use super::{Collective, Counts, LaunchArgs, OpColumn, Primitives, Segment};
use crate::error::Result;

pub struct SendRecv;

impl Collective for SendRecv {
    fn name(&self) -> &'static str {
        "sendrecv"
    }
    fn binary_name(&self) -> &'static str {
        "sendrecv-perf"
    }
    fn op_column(&self) -> OpColumn {
        OpColumn::Ignored
    }
    fn uses_root(&self) -> bool {
        false
    }
    fn counts(&self, count: usize, _elt_size: usize, _nranks: usize) -> Counts {
        Counts::same(count)
    }
    fn bus_bw_factor(&self, _nranks: usize) -> f64 {
        1.0
    }
    fn expected(&self, rank: usize, nranks: usize, _root: usize, counts: &Counts) -> Vec<Segment> {
        let src_rank = (rank + nranks - 1) % nranks;
        if counts.recv_count == 0 {
            return Vec::new();
        }
        vec![Segment::Copy {
            dst_offset: 0,
            len: counts.recv_count,
            src_rank,
            src_offset: 0,
        }]
    }
    fn in_place_checked(&self) -> bool {
        false
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        let count = args.counts.param_count;
        let send_peer = (args.rank + 1) % args.nranks;
        let recv_peer = (args.rank + args.nranks - 1) % args.nranks;
        prims.group_start()?;
        prims.send(args, 0, count, send_peer)?;
        prims.recv(args, 0, count, recv_peer)?;
        prims.group_end()
    }
}
