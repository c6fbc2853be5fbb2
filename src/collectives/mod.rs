//! The collective model: one small file per collective behind the [`Collective`] trait, like
//! nccl-tests' per-collective `testColl` tables. Adding a collective is one file plus one line in
//! [`REGISTRY`].
//!
//! A collective says (a) how many elements each rank sends and receives for a size, (b) the bus
//! bandwidth factor, (c) where every output element comes from ([`Segment`]s, used by host and GPU
//! validation alike), and (d) how to launch itself from backend [`Primitives`].

use crate::error::{CollbenchError, Result};
use crate::types::{DataType, ReduceOp};

mod all_gather;
mod all_reduce;
mod alltoall;
pub mod alltoallv;
mod broadcast;
mod gather;
mod hypercube;
mod reduce;
mod reduce_scatter;
mod scatter;
mod sendrecv;

pub use all_gather::AllGather;
pub use all_reduce::AllReduce;
pub use alltoall::AllToAll;
pub use alltoallv::AllToAllV;
pub use broadcast::Broadcast;
pub use gather::Gather;
pub use hypercube::HyperCube;
pub use reduce::Reduce;
pub use reduce_scatter::ReduceScatter;
pub use scatter::Scatter;
pub use sendrecv::SendRecv;

/// Per-rank element counts for one size, with nccl-tests' `getCollByteCount` meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Counts {
    /// Elements in each rank's send buffer.
    pub send_count: usize,
    /// Elements in each rank's receive buffer.
    pub recv_count: usize,
    /// The count passed to the library call (and printed in the `count` column).
    pub param_count: usize,
    /// In-place: the send buffer starts this many elements into the receive buffer.
    pub send_inplace_offset: usize,
    /// In-place: the output starts this many elements into the receive buffer.
    pub recv_inplace_offset: usize,
    /// Bytes per element, for collectives whose blocks are sized in bytes (alltoallv); 0 when
    /// the collective does not need it.
    pub elt_size: usize,
}

impl Counts {
    /// Every buffer holds `count` elements and in place is the same memory (allreduce, broadcast,
    /// reduce, sendrecv).
    pub fn same(count: usize) -> Counts {
        Counts {
            send_count: count,
            recv_count: count,
            param_count: count,
            send_inplace_offset: 0,
            recv_inplace_offset: 0,
            elt_size: 0,
        }
    }

    /// The `size` column: the larger of the send and receive buffers, in bytes (nccl-tests prints
    /// `max(sendBytes, expectedBytes)`).
    pub fn size_bytes(&self, elt_size: usize) -> u64 {
        (self.send_count.max(self.recv_count) * elt_size) as u64
    }
}

/// Elements per rank for `count` elements split over `nranks`, rounded down to a multiple of 16 bytes
/// (nccl-tests' `(count/nranks) & -(16/eltSize)`).
pub fn per_rank_count(count: usize, elt_size: usize, nranks: usize) -> usize {
    let align = (16 / elt_size.clamp(1, 16)).max(1);
    (count / nranks.max(1)) & !(align - 1)
}

/// Where a run of a rank's output elements comes from. Offsets are in elements: `dst_offset` into the
/// rank's output (receive) buffer, `src_offset` into the source ranks' *input* (send) buffers, whose
/// contents are a pure function of (seed, rank, index) — see `crate::data`. [`Segment::Untouched`]
/// elements come from nowhere: the collective must not write them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    /// `out[dst_offset + j] == input(src_rank)[src_offset + j]` for `j < len`.
    Copy {
        dst_offset: usize,
        len: usize,
        src_rank: usize,
        src_offset: usize,
    },
    /// `out[dst_offset + j] == reduce over all ranks r of input(r)[src_offset + j]`.
    Reduce {
        dst_offset: usize,
        len: usize,
        src_offset: usize,
    },
    /// `out[dst_offset + j]` still holds the poison every backend writes over the output before an
    /// operation ([`crate::data::POISON_BYTE`] in every byte) for `j < len`: elements of a receive
    /// buffer the collective does not write (a non-root's reduce or gather output out of place).
    Untouched { dst_offset: usize, len: usize },
}

impl Segment {
    /// Number of output elements the segment describes.
    pub fn len(&self) -> usize {
        match *self {
            Segment::Copy { len, .. }
            | Segment::Reduce { len, .. }
            | Segment::Untouched { len, .. } => len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// First output element the segment describes.
    pub fn dst_offset(&self) -> usize {
        match *self {
            Segment::Copy { dst_offset, .. }
            | Segment::Reduce { dst_offset, .. }
            | Segment::Untouched { dst_offset, .. } => dst_offset,
        }
    }
}

/// What the `redop` column prints for a collective.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpColumn {
    /// A reduction: the operator's name, and `-o` selects operators.
    Reduction,
    /// Not a reduction: prints `none`.
    None,
    /// Prints the selected operator's name although it is ignored (nccl-tests' sendrecv).
    Ignored,
    /// Prints nothing (nccl-tests' hypercube).
    Blank,
}

/// Arguments of one launch for one local rank.
#[derive(Clone, Copy, Debug)]
pub struct LaunchArgs {
    pub rank: usize,
    pub nranks: usize,
    pub root: usize,
    pub dtype: DataType,
    pub op: Option<ReduceOp>,
    pub counts: Counts,
}

/// What a backend offers a collective to launch itself with. Buffers are the backend's current send
/// and receive buffers for `args.rank` (in-place runs already point send into receive). Offsets and
/// counts are in elements of `args.dtype`.
pub trait Primitives {
    fn all_reduce(&mut self, args: &LaunchArgs, count: usize) -> Result<()>;
    fn reduce(&mut self, args: &LaunchArgs, count: usize, root: usize) -> Result<()>;
    fn broadcast(&mut self, args: &LaunchArgs, count: usize, root: usize) -> Result<()>;
    fn all_gather(&mut self, args: &LaunchArgs, send_count: usize) -> Result<()>;
    fn reduce_scatter(&mut self, args: &LaunchArgs, recv_count: usize) -> Result<()>;
    fn all_to_all(&mut self, args: &LaunchArgs, count_per_peer: usize) -> Result<()>;
    fn gather(&mut self, args: &LaunchArgs, send_count: usize, root: usize) -> Result<()>;
    fn scatter(&mut self, args: &LaunchArgs, recv_count: usize, root: usize) -> Result<()>;
    /// Point-to-point calls between `group_start` and `group_end` are issued together.
    fn group_start(&mut self) -> Result<()>;
    fn group_end(&mut self) -> Result<()>;
    fn send(
        &mut self,
        args: &LaunchArgs,
        send_offset: usize,
        count: usize,
        peer: usize,
    ) -> Result<()>;
    fn recv(
        &mut self,
        args: &LaunchArgs,
        recv_offset: usize,
        count: usize,
        peer: usize,
    ) -> Result<()>;
    /// Like `send`, but reads from the *receive* buffer at `recv_offset` (hypercube forwards blocks it
    /// has received). Issued between `group_start` and `group_end`.
    fn send_from_recv(
        &mut self,
        _args: &LaunchArgs,
        _recv_offset: usize,
        _count: usize,
        _peer: usize,
    ) -> Result<()> {
        Err(CollbenchError::Unsupported(
            "this backend does not implement Primitives::send_from_recv (needed by hypercube); \
             collectives that only use the other primitives still run"
                .to_string(),
        ))
    }
    /// Copies `count` elements from the send buffer at `send_offset` to the receive buffer at
    /// `recv_offset` on the same rank, in stream order; a no-op when both are the same memory (in-place).
    fn copy_send_to_recv(
        &mut self,
        _args: &LaunchArgs,
        _send_offset: usize,
        _recv_offset: usize,
        _count: usize,
    ) -> Result<()> {
        Err(CollbenchError::Unsupported(
            "this backend does not implement Primitives::copy_send_to_recv (needed by hypercube); \
             collectives that only use the other primitives still run"
                .to_string(),
        ))
    }
}

pub trait Collective: Send + Sync {
    /// nccl-tests' test name without `_perf`, e.g. `all_reduce`.
    fn name(&self) -> &'static str;
    /// Our binary name, e.g. `allreduce-perf`.
    fn binary_name(&self) -> &'static str;
    fn op_column(&self) -> OpColumn;
    /// True when `-r` selects a root (printed in the `root` column); false prints -1.
    fn uses_root(&self) -> bool;
    /// Element counts for `count` elements of `elt_size` bytes (count = size / elt_size).
    fn counts(&self, count: usize, elt_size: usize, nranks: usize) -> Counts;
    /// Bytes that algbw divides by the time (nccl-tests' `getBw` numerator). The default,
    /// `param_count × elt_size`, is allreduce/broadcast/reduce/sendrecv's; collectives whose count is
    /// per rank (allgather: `count × size × n`) override it.
    fn alg_bytes(&self, counts: &Counts, elt_size: usize, _nranks: usize) -> u64 {
        (counts.param_count * elt_size) as u64
    }
    /// busbw = algbw × this factor.
    fn bus_bw_factor(&self, nranks: usize) -> f64;
    /// Where each checked output element of `rank` comes from. Elements not covered are not checked.
    fn expected(&self, rank: usize, nranks: usize, root: usize, counts: &Counts) -> Vec<Segment>;
    /// In place, the elements of `rank`'s receive buffer that the collective must leave as they
    /// were: its own input. nccl-tests checks this for the ranks whose buffer a rooted collective
    /// does not write (a non-root's reduce buffer, a non-root's own block in gather).
    fn unchanged_in_place(
        &self,
        _rank: usize,
        _nranks: usize,
        _root: usize,
        _counts: &Counts,
    ) -> Vec<Segment> {
        Vec::new()
    }
    /// The elements of `rank`'s receive buffer (as [`Segment::Untouched`]) that the collective must
    /// not write at all: they still hold the poison after the call. nccl-tests checks these too:
    /// its `*InitData` sets the expected output of a rank that receives nothing to the receive
    /// buffer as it was before the call (a non-root's reduce buffer and gather buffer).
    fn untouched(
        &self,
        _rank: usize,
        _nranks: usize,
        _root: usize,
        _counts: &Counts,
        _in_place: bool,
    ) -> Vec<Segment> {
        Vec::new()
    }
    /// Every checked element of `rank`'s output after one operation: [`Collective::expected`],
    /// in place [`Collective::unchanged_in_place`], and [`Collective::untouched`]. What the
    /// backends check.
    fn checked(
        &self,
        rank: usize,
        nranks: usize,
        root: usize,
        counts: &Counts,
        in_place: bool,
    ) -> Vec<Segment> {
        let mut segments = self.expected(rank, nranks, root, counts);
        if in_place {
            segments.extend(self.unchanged_in_place(rank, nranks, root, counts));
        }
        segments.extend(self.untouched(rank, nranks, root, counts, in_place));
        segments
    }
    /// False when nccl-tests prints `N/A` for the in-place #wrong column.
    fn in_place_checked(&self) -> bool {
        true
    }
    /// Enqueue one operation.
    fn launch(&self, prims: &mut dyn Primitives, args: &LaunchArgs) -> Result<()>;
    /// Why this collective cannot run with `nranks` ranks, if it cannot (e.g. hypercube needs a power of two).
    fn rank_count_problem(&self, _nranks: usize) -> Option<String> {
        None
    }
}

/// A plan or a call names its collective by its nccl-tests name.
impl std::fmt::Debug for dyn Collective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every collective, in `collbench list` order. One line per collective.
pub static REGISTRY: &[&dyn Collective] = &[
    &AllReduce,
    &AllGather,
    &ReduceScatter,
    &AllToAll,
    &AllToAllV,
    &Broadcast,
    &Reduce,
    &SendRecv,
    &Gather,
    &Scatter,
    &HyperCube,
];

/// Looks a collective up by its nccl-tests name (`all_reduce`), its binary name (`allreduce-perf`) or
/// the nccl-tests binary name (`all_reduce_perf`).
pub fn find(name: &str) -> Option<&'static dyn Collective> {
    REGISTRY.iter().copied().find(|c| {
        c.name() == name
            || c.binary_name() == name
            || format!("{}_perf", c.name()) == name
            || c.name().replace('_', "") == name
    })
}

#[cfg(test)]
mod tests;
