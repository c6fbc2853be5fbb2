//! AllToAllV: an alltoall with a different count for every (source, destination) pair, done with
//! grouped send/recv like nccl-tests' alltoallv.
//!
//! nccl-tests sends the same count to every peer, which measures nothing an alltoall does not. Here
//! the block from rank s to rank d has `w(k)` elements, k = (d - s) mod n:
//! `w(k) = floor(2 · per_peer · (k + 1) / (n + 1))` elements (the collective model has no element size,
//! so blocks are not rounded to 16 bytes; NCCL and MPI accept any offset). Every rank sends each
//! k once and receives each k once, so both its send and its receive side total at most
//! `n · per_peer` elements (the buffers nccl-tests sizes), spread from about per_peer·2/(n+1) to
//! 2·per_peer. Blocks are packed: the send block to d starts after the blocks to 0..d, the receive block
//! from s after the blocks from 0..s. `per_peer` (printed count), algbw and busbw are nccl-tests'
//! alltoall(v) ones, so rows compare with alltoall's. The receive buffer's tail after the blocks
//! must be left untouched. In-place results are not checked (N/A).

use super::{AllToAll, Collective, Counts, LaunchArgs, OpColumn, Primitives, Segment};
use crate::error::Result;

pub struct AllToAllV;

/// Block sizes and packed displacements for one (per_peer, nranks).
#[derive(Clone, Debug)]
pub struct AllToAllVLayout {
    nranks: usize,
    /// `weights[k]`: elements from rank s to rank (s + k) mod n.
    weights: Vec<usize>,
    /// `prefix[k]` = weights[0] + ... + weights[k-1].
    prefix: Vec<usize>,
}

impl AllToAllVLayout {
    pub fn new(per_peer: usize, nranks: usize) -> AllToAllVLayout {
        let nranks = nranks.max(1);
        let weights: Vec<usize> = (0..nranks)
            .map(|k| 2 * per_peer * (k + 1) / (nranks + 1))
            .collect();
        let mut prefix = Vec::with_capacity(nranks + 1);
        prefix.push(0);
        for w in &weights {
            prefix.push(prefix.last().copied().unwrap_or(0) + w);
        }
        AllToAllVLayout {
            nranks,
            weights,
            prefix,
        }
    }

    /// Sum of `weights[k]` for the `len` values k = start, start+1, ... (mod n).
    fn cyclic_sum(&self, start: usize, len: usize) -> usize {
        let n = self.nranks;
        if start + len <= n {
            self.prefix[start + len] - self.prefix[start]
        } else {
            (self.prefix[n] - self.prefix[start]) + self.prefix[start + len - n]
        }
    }

    /// Elements rank `src` sends to rank `dst`.
    pub fn block_count(&self, src: usize, dst: usize) -> usize {
        self.weights[(dst + self.nranks - src) % self.nranks]
    }

    /// Where, in `src`'s send buffer, the block for `dst` starts.
    pub fn send_displacement(&self, src: usize, dst: usize) -> usize {
        // Blocks to d' = 0..dst have k = (d' - src) mod n: consecutive from (n - src) mod n.
        self.cyclic_sum((self.nranks - src % self.nranks) % self.nranks, dst)
    }

    /// Where, in `dst`'s receive buffer, the block from `src` starts.
    pub fn recv_displacement(&self, dst: usize, src: usize) -> usize {
        // Blocks from s' = 0..src have k = (dst - s') mod n: dst, dst-1, ..., dst-src+1, i.e. the
        // consecutive run starting at (dst - src + 1) mod n.
        if src == 0 {
            return 0;
        }
        self.cyclic_sum((dst + 1 + self.nranks - src) % self.nranks, src)
    }

    /// Total elements a rank sends (equal to what each rank receives).
    pub fn total(&self) -> usize {
        self.prefix[self.nranks]
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
    // Buffers, printed count, algbw and busbw are alltoall's, so the rows compare.
    fn counts(&self, count: usize, elt_size: usize, nranks: usize) -> Counts {
        AllToAll.counts(count, elt_size, nranks)
    }
    fn alg_bytes(&self, counts: &Counts, elt_size: usize, nranks: usize) -> u64 {
        AllToAll.alg_bytes(counts, elt_size, nranks)
    }
    fn bus_bw_factor(&self, nranks: usize) -> f64 {
        AllToAll.bus_bw_factor(nranks)
    }
    fn expected(&self, rank: usize, nranks: usize, _root: usize, counts: &Counts) -> Vec<Segment> {
        let layout = AllToAllVLayout::new(counts.param_count, nranks);
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
        _rank: usize,
        nranks: usize,
        _root: usize,
        counts: &Counts,
        in_place: bool,
    ) -> Vec<Segment> {
        let received = AllToAllVLayout::new(counts.param_count, nranks).total();
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
        let layout = AllToAllVLayout::new(args.counts.param_count, args.nranks);
        let rank = args.rank;
        prims.group_start()?;
        for peer in 0..args.nranks {
            let send_count = layout.block_count(rank, peer);
            if send_count > 0 {
                prims.send(args, layout.send_displacement(rank, peer), send_count, peer)?;
            }
            let recv_count = layout.block_count(peer, rank);
            if recv_count > 0 {
                prims.recv(args, layout.recv_displacement(rank, peer), recv_count, peer)?;
            }
        }
        prims.group_end()
    }
}
