//! One rank's launches: where its send and receive regions are for an operation (nccl-tests'
//! in-place layout, `-u` misalignment, and the rotation that moves every operation to a fresh slot
//! of the buffers so large sizes are not timed out of L2), and the [`Primitives`] a collective
//! composes itself from.

use crate::backend::cuda::buffer::{DeviceBuffer, DeviceRegion};
use crate::backend::nccl::comm::{Communicator, Nccl, RedOp, Transfer};
use crate::collectives::{Counts, LaunchArgs, Primitives};
use crate::error::{CollbenchError, Result};
use crate::types::DataType;
use cudarc::driver::CudaStream;

/// Byte layout of one call on one rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotLayout {
    pub send_bytes: usize,
    pub recv_bytes: usize,
    /// In-place: where the send data starts inside the receive buffer (nccl-tests:
    /// `sendInplaceOffset × rank`).
    pub send_inplace_bytes: usize,
    /// In-place: where the output starts inside the receive buffer (`recvInplaceOffset × rank`).
    pub recv_inplace_bytes: usize,
    /// `-u`: every buffer starts this many bytes into its allocation.
    pub unalign_bytes: usize,
    /// Distance between rotation slots: `max(send, recv)` bytes, like nccl-tests' startColl.
    pub stride: usize,
    /// Number of slots that fit in the allocations (≥ 1).
    pub steps: usize,
    pub in_place: bool,
}

impl SlotLayout {
    /// `send_capacity`/`recv_capacity`: allocation sizes in bytes.
    pub fn new(
        counts: &Counts,
        dtype: DataType,
        rank: usize,
        in_place: bool,
        unalign: usize,
        send_capacity: usize,
        recv_capacity: usize,
    ) -> SlotLayout {
        let elt = dtype.size_bytes();
        let send_bytes = counts.send_count * elt;
        let recv_bytes = counts.recv_count * elt;
        let send_inplace_bytes = counts.send_inplace_offset * rank * elt;
        let recv_inplace_bytes = counts.recv_inplace_offset * rank * elt;
        let unalign_bytes = unalign * elt;
        let stride = send_bytes.max(recv_bytes);
        let usable = if in_place {
            recv_capacity
        } else {
            send_capacity.min(recv_capacity)
        }
        .saturating_sub(unalign_bytes);
        let steps = usable.checked_div(stride).map_or(1, |steps| steps.max(1));
        SlotLayout {
            send_bytes,
            recv_bytes,
            send_inplace_bytes,
            recv_inplace_bytes,
            unalign_bytes,
            stride,
            steps,
            in_place,
        }
    }

    /// Byte offset of operation `op_index`'s slot.
    #[inline]
    pub fn shift(&self, op_index: usize) -> usize {
        self.unalign_bytes + self.stride * (op_index % self.steps)
    }

    /// (send, recv) regions of operation `op_index`.
    #[inline]
    pub fn regions<'a>(
        &self,
        op_index: usize,
        send: &'a DeviceBuffer,
        recv: &'a DeviceBuffer,
    ) -> Result<(DeviceRegion<'a>, DeviceRegion<'a>)> {
        let shift = self.shift(op_index);
        let recv_region = recv.region(
            shift
                + if self.in_place {
                    self.recv_inplace_bytes
                } else {
                    0
                },
            self.recv_bytes,
        )?;
        let send_region = if self.in_place {
            recv.region(shift + self.send_inplace_bytes, self.send_bytes)?
        } else {
            send.region(shift, self.send_bytes)?
        };
        Ok((send_region, recv_region))
    }

    /// The region holding the rank's output of operation 0 (what validation reads).
    pub fn output<'a>(&self, recv: &'a DeviceBuffer) -> Result<DeviceRegion<'a>> {
        Ok(self.regions(0, recv, recv)?.1)
    }

    /// The region holding the rank's input of operation 0 (what `prepare` fills).
    pub fn input<'a>(
        &self,
        send: &'a DeviceBuffer,
        recv: &'a DeviceBuffer,
    ) -> Result<DeviceRegion<'a>> {
        Ok(self.regions(0, send, recv)?.0)
    }
}

/// The [`Primitives`] of one rank for one operation.
pub struct RankOps<'a> {
    pub nccl: &'a Nccl,
    pub comm: &'a Communicator,
    pub stream: &'a CudaStream,
    pub send: DeviceRegion<'a>,
    pub recv: DeviceRegion<'a>,
    /// The operator handle (built-in or a per-communicator PreMulSum); ignored by copies.
    pub op: RedOp,
}

impl<'a> RankOps<'a> {
    /// Runs `calls` inside one NCCL group (the send/recv fallbacks for NCCL < 2.28); the group
    /// is ended even when a call failed, and the first error wins.
    fn grouped(&self, calls: impl FnOnce() -> Result<()>) -> Result<()> {
        self.nccl.group_start()?;
        let result = calls();
        let end = self.nccl.group_end();
        result.and(end)
    }

    /// The whole send and recv regions for a two-buffer collective.
    fn transfer(&self, args: &LaunchArgs) -> Transfer<'a> {
        Transfer {
            send: self.send,
            recv: self.recv,
            dtype: args.dtype,
            stream: self.stream,
        }
    }
}

/// `count` elements from element `offset` of `region`.
fn elements<'r>(
    args: &LaunchArgs,
    offset: usize,
    count: usize,
    region: DeviceRegion<'r>,
) -> Result<DeviceRegion<'r>> {
    let elt = args.dtype.size_bytes();
    match (offset.checked_mul(elt), count.checked_mul(elt)) {
        (Some(start), Some(len)) => region.sub(start, len),
        _ => Err(CollbenchError::Nccl(format!(
            "internal: element range {offset}+{count} overflows"
        ))),
    }
}

impl Primitives for RankOps<'_> {
    fn all_reduce(&mut self, args: &LaunchArgs, count: usize) -> Result<()> {
        self.comm.all_reduce(&self.transfer(args), count, self.op)
    }

    fn reduce(&mut self, args: &LaunchArgs, count: usize, root: usize) -> Result<()> {
        self.comm.reduce(&self.transfer(args), count, self.op, root)
    }

    fn broadcast(&mut self, args: &LaunchArgs, count: usize, root: usize) -> Result<()> {
        self.comm.broadcast(&self.transfer(args), count, root)
    }

    fn all_gather(&mut self, args: &LaunchArgs, send_count: usize) -> Result<()> {
        self.comm
            .all_gather(&self.transfer(args), send_count, args.nranks)
    }

    fn reduce_scatter(&mut self, args: &LaunchArgs, recv_count: usize) -> Result<()> {
        let transfer = self.transfer(args);
        self.comm
            .reduce_scatter(&transfer, recv_count, args.nranks, self.op)
    }

    fn all_to_all(&mut self, args: &LaunchArgs, count_per_peer: usize) -> Result<()> {
        if self.comm.has_all_to_all() {
            return self
                .comm
                .all_to_all(&self.transfer(args), count_per_peer, args.nranks);
        }
        // NCCL < 2.28: grouped send/recv, one pair per peer.
        self.grouped(|| {
            (0..args.nranks).try_for_each(|peer| {
                let send = elements(args, peer * count_per_peer, count_per_peer, self.send)?;
                let recv = elements(args, peer * count_per_peer, count_per_peer, self.recv)?;
                self.comm
                    .send(send, count_per_peer, args.dtype, peer, self.stream)?;
                self.comm
                    .recv(recv, count_per_peer, args.dtype, peer, self.stream)
            })
        })
    }

    fn gather(&mut self, args: &LaunchArgs, send_count: usize, root: usize) -> Result<()> {
        if self.comm.has_gather() {
            return self
                .comm
                .gather(&self.transfer(args), send_count, args.nranks, root);
        }
        self.grouped(|| {
            if args.rank == root {
                for peer in 0..args.nranks {
                    let recv = elements(args, peer * send_count, send_count, self.recv)?;
                    self.comm
                        .recv(recv, send_count, args.dtype, peer, self.stream)?;
                }
            }
            self.comm
                .send(self.send, send_count, args.dtype, root, self.stream)
        })
    }

    fn scatter(&mut self, args: &LaunchArgs, recv_count: usize, root: usize) -> Result<()> {
        if self.comm.has_scatter() {
            return self
                .comm
                .scatter(&self.transfer(args), recv_count, args.nranks, root);
        }
        self.grouped(|| {
            if args.rank == root {
                for peer in 0..args.nranks {
                    let send = elements(args, peer * recv_count, recv_count, self.send)?;
                    self.comm
                        .send(send, recv_count, args.dtype, peer, self.stream)?;
                }
            }
            self.comm
                .recv(self.recv, recv_count, args.dtype, root, self.stream)
        })
    }

    fn group_start(&mut self) -> Result<()> {
        self.nccl.group_start()
    }

    fn group_end(&mut self) -> Result<()> {
        self.nccl.group_end()
    }

    fn send(
        &mut self,
        args: &LaunchArgs,
        send_offset: usize,
        count: usize,
        peer: usize,
    ) -> Result<()> {
        let region = elements(args, send_offset, count, self.send)?;
        self.comm.send(region, count, args.dtype, peer, self.stream)
    }

    fn recv(
        &mut self,
        args: &LaunchArgs,
        recv_offset: usize,
        count: usize,
        peer: usize,
    ) -> Result<()> {
        let region = elements(args, recv_offset, count, self.recv)?;
        self.comm.recv(region, count, args.dtype, peer, self.stream)
    }

    fn send_from_recv(
        &mut self,
        args: &LaunchArgs,
        recv_offset: usize,
        count: usize,
        peer: usize,
    ) -> Result<()> {
        let region = elements(args, recv_offset, count, self.recv)?;
        self.comm.send(region, count, args.dtype, peer, self.stream)
    }

    fn copy_send_to_recv(
        &mut self,
        args: &LaunchArgs,
        send_offset: usize,
        recv_offset: usize,
        count: usize,
    ) -> Result<()> {
        let src = elements(args, send_offset, count, self.send)?;
        let dst = elements(args, recv_offset, count, self.recv)?;
        if src.ptr == dst.ptr || count == 0 {
            return Ok(());
        }
        dst.copy_from_device_async(&src, self.stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(send: usize, recv: usize, send_off: usize, recv_off: usize) -> Counts {
        Counts {
            send_count: send,
            recv_count: recv,
            param_count: send,
            send_inplace_offset: send_off,
            recv_inplace_offset: recv_off,
            elt_size: 0,
        }
    }

    #[test]
    fn rotation_walks_the_buffer_in_slots_of_the_larger_side() {
        // 8 MiB float all_reduce in 4 GiB buffers: 512 slots, like nccl-tests.
        let c = counts(2 << 20, 2 << 20, 0, 0);
        let l = SlotLayout::new(&c, DataType::Float, 0, false, 0, 4 << 30, 4 << 30);
        assert_eq!((l.stride, l.steps), (8 << 20, 512));
        assert_eq!(l.shift(0), 0);
        assert_eq!(l.shift(1), 8 << 20);
        assert_eq!(l.shift(512), 0);
        // The largest size fills the buffer: one slot, never moves.
        let big = counts(1 << 30, 1 << 30, 0, 0);
        let l = SlotLayout::new(&big, DataType::Float, 0, false, 0, 4 << 30, 4 << 30);
        assert_eq!((l.steps, l.shift(7)), (1, 0));
    }

    #[test]
    fn in_place_offsets_scale_with_rank_and_unalign_shifts_everything() {
        // all_gather on 4 ranks, 256 floats each: rank 2 sends from recv + 2×256 floats.
        let c = counts(256, 1024, 256, 0);
        let l = SlotLayout::new(&c, DataType::Float, 2, true, 3, 1 << 20, 1 << 20);
        assert_eq!(l.send_inplace_bytes, 2 * 256 * 4);
        assert_eq!(l.recv_inplace_bytes, 0);
        assert_eq!(l.unalign_bytes, 12);
        assert_eq!(l.shift(0), 12);
        assert_eq!(l.stride, 4096);
        assert_eq!(l.steps, ((1 << 20) - 12) / 4096);
    }

    #[test]
    fn zero_sized_calls_have_one_slot() {
        let l = SlotLayout::new(&counts(0, 0, 0, 0), DataType::Int8, 0, false, 0, 64, 64);
        assert_eq!((l.stride, l.steps, l.shift(5)), (0, 1, 0));
    }
}
