//! HyperCube: an allgather done as log2(n) pairwise exchanges (nccl-tests hypercube.cu). At step
//! `mask`, rank r swaps the `mask` blocks it has gathered so far with rank r ^ mask. Needs a
//! power-of-two rank count. algbw counts the (n-1) blocks received; busbw = algbw.

use super::all_gather::{gathered_blocks, gathered_counts};
use super::{Collective, Counts, LaunchArgs, OpColumn, Primitives, Segment};
use crate::error::Result;

pub struct HyperCube;

impl Collective for HyperCube {
    fn name(&self) -> &'static str {
        "hypercube"
    }
    fn binary_name(&self) -> &'static str {
        "hypercube-perf"
    }
    fn op_column(&self) -> OpColumn {
        OpColumn::Blank
    }
    fn uses_root(&self) -> bool {
        false
    }
    fn counts(&self, count: usize, elt_size: usize, nranks: usize) -> Counts {
        gathered_counts(count, elt_size, nranks)
    }
    fn alg_bytes(&self, counts: &Counts, elt_size: usize, nranks: usize) -> u64 {
        (counts.param_count * elt_size * nranks.saturating_sub(1)) as u64
    }
    fn bus_bw_factor(&self, _nranks: usize) -> f64 {
        1.0
    }
    fn expected(&self, _rank: usize, nranks: usize, _root: usize, counts: &Counts) -> Vec<Segment> {
        gathered_blocks(nranks, counts.send_count)
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        let block = args.counts.param_count;
        let rank = args.rank;
        // Own block first (a no-op in place, where the send buffer already is that block).
        prims.copy_send_to_recv(args, 0, rank * block, block)?;
        let mut mask = 1;
        while mask < args.nranks {
            let peer = rank ^ mask;
            let first_sent = rank & !(mask - 1);
            let first_received = first_sent ^ mask;
            prims.group_start()?;
            prims.send_from_recv(args, first_sent * block, mask * block, peer)?;
            prims.recv(args, first_received * block, mask * block, peer)?;
            prims.group_end()?;
            mask <<= 1;
        }
        Ok(())
    }
    fn rank_count_problem(&self, nranks: usize) -> Option<String> {
        if nranks.is_power_of_two() {
            None
        } else {
            Some(format!(
                "hypercube needs a power-of-two number of ranks (1, 2, 4, 8, ...); got {nranks}"
            ))
        }
    }
}
