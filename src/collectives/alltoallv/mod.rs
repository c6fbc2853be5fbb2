//! AllToAllV: an alltoall with a different count for every (source, destination) pair, done with
//! grouped send/recv, as nccl-tests 2.19.6's alltoallv: its generated distance-weighted pattern
//! (`NCCL_TESTS_ALLTOALLV_SPREAD`) or an explicit byte matrix (`NCCL_TESTS_ALLTOALLV_MATRIX_FILE`,
//! `_SCALE`), see [`pattern`]. Blocks are packed: the send block to d starts after the blocks to
//! 0..d, the receive block from s after the blocks from 0..s.
//!
//! As in nccl-tests, the buffers (and the `size` column) hold the largest rank's send or receive
//! total, the `count` column is the per-peer count (0 with a matrix), algbw divides the largest
//! rank's bytes by the time, busbw is algbw × (n-1)/n, and in-place results are not checked (N/A).
//! The receive buffer's tail after the blocks must be left untouched.

pub mod matrix;
pub mod pattern;
pub mod summary;

use super::{Collective, Counts, LaunchArgs, OpColumn, Primitives, Segment};
use crate::error::Result;
use pattern::Pattern;

pub struct AllToAllV;

/// The element counts of one row: what every rank sends every other.
#[derive(Clone, Debug)]
pub struct AllToAllVLayout {
    nranks: usize,
    elt_size: usize,
    /// Each rank's generated total in bytes (`param_count × n × elt_size`).
    total: u64,
    pattern: std::sync::Arc<Pattern>,
}

impl AllToAllVLayout {
    /// The layout of a row with `counts` (from [`AllToAllV`]'s `counts`) under `pattern`.
    pub fn new(pattern: std::sync::Arc<Pattern>, counts: &Counts, nranks: usize) -> Self {
        let nranks = nranks.max(1);
        let elt_size = counts.elt_size.max(1);
        AllToAllVLayout {
            nranks,
            elt_size,
            total: (counts.param_count * nranks * elt_size) as u64,
            pattern,
        }
    }

    /// Elements rank `src` sends to rank `dst`.
    pub fn block_count(&self, src: usize, dst: usize) -> usize {
        self.pattern.peer_bytes(src, dst, self.nranks, self.total) as usize / self.elt_size
    }

    /// Where, in `src`'s send buffer, the block for `dst` starts.
    pub fn send_displacement(&self, src: usize, dst: usize) -> usize {
        (0..dst).map(|d| self.block_count(src, d)).sum()
    }

    /// Where, in `dst`'s receive buffer, the block from `src` starts.
    pub fn recv_displacement(&self, dst: usize, src: usize) -> usize {
        (0..src).map(|s| self.block_count(s, dst)).sum()
    }

    /// Elements `rank` receives in all.
    pub fn received(&self, rank: usize) -> usize {
        self.recv_displacement(rank, self.nranks)
    }
}

impl Collective for AllToAllV {
    fn name(&self) -> &'static str {
        "alltoallv"
    }
    fn binary_name(&self) -> &'static str {
        "alltoallv-perf"
    }
    fn op_column(&self) -> OpColumn {
        OpColumn::None
    }
    fn uses_root(&self) -> bool {
        false
    }
    /// nccl-tests' `AlltoAllvGetCollByteCount`: both buffers hold the largest rank's total.
    fn counts(&self, count: usize, elt_size: usize, nranks: usize) -> Counts {
        let pattern = pattern::current();
        let param_count = pattern.param_count(count, elt_size, nranks);
        let total = (param_count * nranks.max(1) * elt_size) as u64;
        let (sent, received) = pattern.max_rank_totals(nranks.max(1), total);
        Counts {
            send_count: sent as usize / elt_size.max(1),
            recv_count: received as usize / elt_size.max(1),
            param_count,
            send_inplace_offset: 0,
            recv_inplace_offset: 0,
            elt_size,
        }
    }
    /// nccl-tests' `AlltoAllvGetBw`: the largest rank's bytes, sent or received.
    fn alg_bytes(&self, counts: &Counts, elt_size: usize, _nranks: usize) -> u64 {
        (counts.send_count.max(counts.recv_count) * elt_size) as u64
    }
    fn bus_bw_factor(&self, nranks: usize) -> f64 {
        let n = nranks.max(1) as f64;
        (n - 1.0) / n
    }
    fn expected(&self, rank: usize, nranks: usize, _root: usize, counts: &Counts) -> Vec<Segment> {
        let layout = AllToAllVLayout::new(pattern::current(), counts, nranks);
        (0..nranks)
            .map(|src| Segment::Copy {
                dst_offset: layout.recv_displacement(rank, src),
                len: layout.block_count(src, rank),
                src_rank: src,
                src_offset: layout.send_displacement(src, rank),
            })
            .filter(|s| !s.is_empty())
            .collect()
    }
    /// The receive buffer is alltoall's size, but the blocks may total less: nothing may be
    /// written past them (a send or receive count too large would land there).
    fn untouched(
        &self,
        rank: usize,
        nranks: usize,
        _root: usize,
        counts: &Counts,
        in_place: bool,
    ) -> Vec<Segment> {
        let received = AllToAllVLayout::new(pattern::current(), counts, nranks).received(rank);
        if in_place || received >= counts.recv_count {
            return Vec::new();
        }
        vec![Segment::Untouched {
            dst_offset: received,
            len: counts.recv_count - received,
        }]
    }
    fn in_place_checked(&self) -> bool {
        false
    }
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()> {
        let layout = AllToAllVLayout::new(pattern::current(), &args.counts, args.nranks);
        let rank = args.rank;
        let (mut send_at, mut recv_at) = (0, 0);
        prims.group_start()?;
        for peer in 0..args.nranks {
            let send_count = layout.block_count(rank, peer);
            if send_count > 0 {
                prims.send(args, send_at, send_count, peer)?;
                send_at += send_count;
            }
            let recv_count = layout.block_count(peer, rank);
            if recv_count > 0 {
                prims.recv(args, recv_at, recv_count, peer)?;
                recv_at += recv_count;
            }
        }
        prims.group_end()
    }
}
