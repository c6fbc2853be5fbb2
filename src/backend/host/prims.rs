//! [`Primitives`] on host buffers: how each collective's launch becomes one transport call.
//!
//! Buffers follow nccl-tests: out of place, the call reads the send buffer and writes the receive
//! buffer; in place, the send data sits inside the receive buffer at `send_inplace_offset × rank`
//! and the output at `recv_inplace_offset × rank`. Both views move by `shift` bytes per operation
//! (nccl-tests' cache-avoiding offset). When that layout is MPI's in-place convention the call uses
//! MPI_IN_PLACE; otherwise (reduce_scatter) the result is moved to where nccl-tests expects it, or
//! the input is staged through a scratch buffer, so results are always where the check looks.
//!
//! `mulsum` multiplies this rank's input by `data::mulsum_scalar` before an MPI sum (in place, or
//! into scratch); `avg` divides the summed output by the rank count.

use super::blockwise::{divide_in_place, scale_in_place, scale_into};
use super::buffer::HostBuffer;
use super::elementwise::WireOp;
use super::transport::{Sink, Source, Transfer, Transport};
use crate::collectives::{Counts, LaunchArgs, Primitives};
use crate::data::mulsum_scalar;
use crate::error::{CollbenchError, Result};
use crate::types::{DataType, ReduceOp};

/// Where this operation's views start, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub in_place: bool,
    /// Offset of both views for this operation (nccl-tests moves buffers per iteration).
    pub shift: usize,
    /// In place: send view offset inside the receive buffer (`send_inplace_offset × rank × size`).
    pub send_inplace: usize,
    /// In place: output view offset inside the receive buffer.
    pub recv_inplace: usize,
}

impl Layout {
    pub fn new(
        in_place: bool,
        shift: usize,
        counts: &Counts,
        rank: usize,
        dtype: DataType,
    ) -> Layout {
        let elt = dtype.size_bytes();
        Layout {
            in_place,
            shift,
            send_inplace: counts.send_inplace_offset * rank * elt,
            recv_inplace: counts.recv_inplace_offset * rank * elt,
        }
    }

    /// Start of the send view (in the receive buffer when in place).
    pub fn send_start(&self) -> usize {
        self.shift + if self.in_place { self.send_inplace } else { 0 }
    }

    /// Start of the output view in the receive buffer.
    pub fn recv_start(&self) -> usize {
        self.shift + if self.in_place { self.recv_inplace } else { 0 }
    }
}

/// Point-to-point calls collected between `group_start` and `group_end`.
#[derive(Default)]
pub struct PendingGroup {
    depth: usize,
    /// Element type of the group's transfers (every transfer of a launch uses the launch's type).
    dtype: Option<DataType>,
    sends: Vec<Transfer>,
    /// For each send: true when it reads the receive buffer (in place, or `send_from_recv`).
    sends_from_recv: Vec<bool>,
    recvs: Vec<Transfer>,
}

/// The buffers and transport one launch works on.
pub struct HostPrims<'a> {
    pub send: &'a HostBuffer,
    pub recv: &'a mut HostBuffer,
    pub scratch: &'a mut HostBuffer,
    pub transport: &'a mut dyn Transport,
    pub layout: Layout,
    pub group: &'a mut PendingGroup,
}

// Cold and out of line: the checks that call it run on every operation of a timed loop.
#[cold]
#[inline(never)]
fn range_error(what: &str, start: usize, len: usize, available: usize) -> CollbenchError {
    CollbenchError::Mpi(format!(
        "{what}: bytes {start}..{} are outside the {available}-byte host buffer (internal size \
         mismatch between the collective and the backend's allocation)",
        start + len
    ))
}

#[inline]
fn slice<'b>(what: &str, buffer: &'b [u8], start: usize, len: usize) -> Result<&'b [u8]> {
    let available = buffer.len();
    buffer
        .get(start..start.saturating_add(len))
        .ok_or_else(|| range_error(what, start, len, available))
}

#[inline]
fn slice_mut<'b>(
    what: &str,
    buffer: &'b mut [u8],
    start: usize,
    len: usize,
) -> Result<&'b mut [u8]> {
    let available = buffer.len();
    buffer
        .get_mut(start..start.saturating_add(len))
        .ok_or_else(|| range_error(what, start, len, available))
}

/// `(wire operator, mulsum scalar bits, divide by nranks)` for a reduction.
#[inline]
fn reduction(args: &LaunchArgs) -> Result<(WireOp, Option<u64>, bool)> {
    let op = args.op.ok_or_else(|| {
        CollbenchError::Mpi(
            "a reduction was launched without an operator (internal error)".to_string(),
        )
    })?;
    let scalar =
        (op == ReduceOp::MulSum).then(|| mulsum_scalar(args.rank, args.nranks, args.dtype));
    Ok((WireOp::for_op(op), scalar, op == ReduceOp::Avg))
}

/// The input of an out-of-place call: scratch when it was staged there, else the send view.
#[inline]
fn input_view<'b>(
    send: &'b HostBuffer,
    scratch: &'b HostBuffer,
    staged: bool,
    send_start: usize,
    len: usize,
) -> Result<&'b [u8]> {
    if staged {
        slice("scratch", scratch.bytes(), 0, len)
    } else {
        slice("send view", send.bytes(), send_start, len)
    }
}

/// The in-place view of a reduction, pre-multiplied by the `mulsum` scalar when there is one.
#[inline]
fn scaled_in_place(
    recv: &mut HostBuffer,
    start: usize,
    len: usize,
    dtype: DataType,
    scalar: Option<u64>,
) -> Result<&mut [u8]> {
    let data = slice_mut("in-place view", recv.bytes_mut(), start, len)?;
    if let Some(scalar) = scalar {
        scale_in_place(dtype, data, scalar);
    }
    Ok(data)
}

impl HostPrims<'_> {
    fn bytes(&self, count: usize, dtype: DataType) -> usize {
        count * dtype.size_bytes()
    }

    /// The send view's first `len` bytes, copied into scratch (optionally pre-multiplied).
    fn stage(&mut self, len: usize, dtype: DataType, scalar: Option<u64>) -> Result<()> {
        let start = self.layout.send_start();
        let source = if self.layout.in_place {
            self.recv.bytes()
        } else {
            self.send.bytes()
        };
        let from = slice("send view", source, start, len)?;
        let to = slice_mut("scratch", self.scratch.bytes_mut(), 0, len)?;
        match scalar {
            Some(scalar) => scale_into(dtype, from, to, scalar),
            None => to.copy_from_slice(from),
        }
        Ok(())
    }

    /// `stage` when the input must go through scratch (in place, or pre-multiplied).
    #[inline]
    fn stage_if(
        &mut self,
        staged: bool,
        len: usize,
        dtype: DataType,
        scalar: Option<u64>,
    ) -> Result<()> {
        if staged {
            self.stage(len, dtype, scalar)?;
        }
        Ok(())
    }

    fn divide_output(&mut self, len: usize, dtype: DataType, nranks: usize) -> Result<()> {
        let start = self.layout.recv_start();
        let out = slice_mut("output view", self.recv.bytes_mut(), start, len)?;
        divide_in_place(dtype, out, nranks as u64);
        Ok(())
    }

    fn flush_group(&mut self, dtype: DataType) -> Result<()> {
        self.group.dtype = None;
        let mut sends = std::mem::take(&mut self.group.sends);
        let mut from_recv = std::mem::take(&mut self.group.sends_from_recv);
        let mut recvs = std::mem::take(&mut self.group.recvs);
        let result = if from_recv.iter().any(|&f| f) {
            // Some sends read the buffer that receives write: stage every send in scratch so MPI
            // never sees a send buffer overlapping a receive buffer.
            let mut at = 0;
            let mut staged = Ok(());
            for (send, &reads_recv) in sends.iter_mut().zip(&from_recv) {
                let source = if reads_recv {
                    self.recv.bytes()
                } else {
                    self.send.bytes()
                };
                let copied = slice("send view", source, send.offset, send.len).and_then(|from| {
                    slice_mut("scratch", self.scratch.bytes_mut(), at, send.len)
                        .map(|to| to.copy_from_slice(from))
                });
                if let Err(error) = copied {
                    staged = Err(error);
                    break;
                }
                send.offset = at;
                at += send.len;
            }
            staged.and_then(|()| {
                self.transport.exchange(
                    self.scratch.bytes(),
                    &sends,
                    self.recv.bytes_mut(),
                    &recvs,
                    dtype,
                )
            })
        } else {
            self.transport.exchange(
                self.send.bytes(),
                &sends,
                self.recv.bytes_mut(),
                &recvs,
                dtype,
            )
        };
        // Keep the vectors' capacity for the next group.
        sends.clear();
        from_recv.clear();
        recvs.clear();
        self.group.sends = sends;
        self.group.sends_from_recv = from_recv;
        self.group.recvs = recvs;
        result
    }

    fn push_send(
        &mut self,
        args: &LaunchArgs,
        offset: usize,
        count: usize,
        peer: usize,
        reads_recv: bool,
    ) -> Result<()> {
        self.group.dtype = Some(args.dtype);
        self.group.sends.push(Transfer {
            offset,
            len: self.bytes(count, args.dtype),
            peer,
        });
        self.group.sends_from_recv.push(reads_recv);
        if self.group.depth == 0 {
            return self.flush_group(args.dtype);
        }
        Ok(())
    }
}

impl Primitives for HostPrims<'_> {
    fn all_reduce(&mut self, args: &LaunchArgs, count: usize) -> Result<()> {
        let (op, scalar, average) = reduction(args)?;
        let len = self.bytes(count, args.dtype);
        let (s, r) = (self.layout.send_start(), self.layout.recv_start());
        if self.layout.in_place && s == r {
            let data = scaled_in_place(self.recv, r, len, args.dtype, scalar)?;
            self.transport
                .all_reduce(Source::InPlace, data, count, args.dtype, op)?;
        } else {
            let staged = self.layout.in_place || scalar.is_some();
            self.stage_if(staged, len, args.dtype, scalar)?;
            let src = input_view(self.send, self.scratch, staged, s, len)?;
            let dst = slice_mut("output view", self.recv.bytes_mut(), r, len)?;
            self.transport
                .all_reduce(Source::Buffer(src), dst, count, args.dtype, op)?;
        }
        if average {
            self.divide_output(len, args.dtype, args.nranks)?;
        }
        Ok(())
    }

    fn reduce(&mut self, args: &LaunchArgs, count: usize, root: usize) -> Result<()> {
        let (op, scalar, average) = reduction(args)?;
        let len = self.bytes(count, args.dtype);
        let (s, r) = (self.layout.send_start(), self.layout.recv_start());
        let is_root = args.rank == root;
        let mut nothing: [u8; 0] = [];
        if self.layout.in_place && is_root && s == r {
            let data = scaled_in_place(self.recv, r, len, args.dtype, scalar)?;
            self.transport
                .reduce(Source::InPlace, data, count, args.dtype, op, root)?;
        } else if self.layout.in_place && !is_root && scalar.is_none() {
            // A non-root's output is not written: its send view may be read where it lies.
            let src = slice("send view", self.recv.bytes(), s, len)?;
            self.transport.reduce(
                Source::Buffer(src),
                &mut nothing,
                count,
                args.dtype,
                op,
                root,
            )?;
        } else {
            let staged = self.layout.in_place || scalar.is_some();
            self.stage_if(staged, len, args.dtype, scalar)?;
            let src = input_view(self.send, self.scratch, staged, s, len)?;
            let dst = if is_root {
                slice_mut("output view", self.recv.bytes_mut(), r, len)?
            } else {
                &mut nothing[..]
            };
            self.transport
                .reduce(Source::Buffer(src), dst, count, args.dtype, op, root)?;
        }
        if average && is_root {
            self.divide_output(len, args.dtype, args.nranks)?;
        }
        Ok(())
    }

    fn broadcast(&mut self, args: &LaunchArgs, count: usize, root: usize) -> Result<()> {
        let len = self.bytes(count, args.dtype);
        let (s, r) = (self.layout.send_start(), self.layout.recv_start());
        if args.rank == root && self.layout.in_place && s != r {
            self.recv.bytes_mut().copy_within(s..s + len, r);
        }
        // NCCL's out-of-place broadcast also fills the root's receive buffer: the transport
        // copies the send view there.
        let src = if self.layout.in_place {
            Source::InPlace
        } else {
            Source::Buffer(slice("send view", self.send.bytes(), s, len)?)
        };
        let data = slice_mut("output view", self.recv.bytes_mut(), r, len)?;
        self.transport.broadcast(src, data, count, args.dtype, root)
    }

    fn all_gather(&mut self, args: &LaunchArgs, send_count: usize) -> Result<()> {
        let len = self.bytes(send_count, args.dtype);
        let (s, r) = (self.layout.send_start(), self.layout.recv_start());
        let total = len * args.nranks;
        if self.layout.in_place && s == r + args.rank * len {
            let dst = slice_mut("output view", self.recv.bytes_mut(), r, total)?;
            return self
                .transport
                .all_gather(Source::InPlace, dst, send_count, args.dtype);
        }
        let staged = self.layout.in_place;
        self.stage_if(staged, len, args.dtype, None)?;
        let src = input_view(self.send, self.scratch, staged, s, len)?;
        let dst = slice_mut("output view", self.recv.bytes_mut(), r, total)?;
        self.transport
            .all_gather(Source::Buffer(src), dst, send_count, args.dtype)
    }

    fn reduce_scatter(&mut self, args: &LaunchArgs, recv_count: usize) -> Result<()> {
        let (op, scalar, average) = reduction(args)?;
        let len = self.bytes(recv_count, args.dtype);
        let total = len * args.nranks;
        let (s, r) = (self.layout.send_start(), self.layout.recv_start());
        if self.layout.in_place && r == s + args.rank * len {
            // MPI_IN_PLACE leaves the result at the start of the input; nccl-tests expects it at
            // this rank's block, so move it there afterwards.
            let data = scaled_in_place(self.recv, s, total, args.dtype, scalar)?;
            self.transport.reduce_scatter_block(
                Source::InPlace,
                data,
                recv_count,
                args.dtype,
                op,
            )?;
            if r != s {
                self.recv.bytes_mut().copy_within(s..s + len, r);
            }
        } else {
            let staged = self.layout.in_place || scalar.is_some();
            self.stage_if(staged, total, args.dtype, scalar)?;
            let src = input_view(self.send, self.scratch, staged, s, total)?;
            let dst = slice_mut("output view", self.recv.bytes_mut(), r, len)?;
            self.transport.reduce_scatter_block(
                Source::Buffer(src),
                dst,
                recv_count,
                args.dtype,
                op,
            )?;
        }
        if average {
            self.divide_output(len, args.dtype, args.nranks)?;
        }
        Ok(())
    }

    fn all_to_all(&mut self, args: &LaunchArgs, count_per_peer: usize) -> Result<()> {
        let total = self.bytes(count_per_peer, args.dtype) * args.nranks;
        let (s, r) = (self.layout.send_start(), self.layout.recv_start());
        if self.layout.in_place && s == r {
            let data = slice_mut("in-place view", self.recv.bytes_mut(), r, total)?;
            return self
                .transport
                .all_to_all(Source::InPlace, data, count_per_peer, args.dtype);
        }
        let staged = self.layout.in_place;
        self.stage_if(staged, total, args.dtype, None)?;
        let src = input_view(self.send, self.scratch, staged, s, total)?;
        let dst = slice_mut("output view", self.recv.bytes_mut(), r, total)?;
        self.transport
            .all_to_all(Source::Buffer(src), dst, count_per_peer, args.dtype)
    }

    fn gather(&mut self, args: &LaunchArgs, send_count: usize, root: usize) -> Result<()> {
        let len = self.bytes(send_count, args.dtype);
        let total = len * args.nranks;
        let (s, r) = (self.layout.send_start(), self.layout.recv_start());
        let is_root = args.rank == root;
        let mut nothing: [u8; 0] = [];
        if is_root && self.layout.in_place && s == r + root * len {
            let dst = slice_mut("output view", self.recv.bytes_mut(), r, total)?;
            return self
                .transport
                .gather(Source::InPlace, dst, send_count, args.dtype, root);
        }
        if !is_root {
            let source = if self.layout.in_place {
                self.recv.bytes()
            } else {
                self.send.bytes()
            };
            let src = slice("send view", source, s, len)?;
            return self.transport.gather(
                Source::Buffer(src),
                &mut nothing,
                send_count,
                args.dtype,
                root,
            );
        }
        let staged = self.layout.in_place;
        self.stage_if(staged, len, args.dtype, None)?;
        let src = input_view(self.send, self.scratch, staged, s, len)?;
        let dst = slice_mut("output view", self.recv.bytes_mut(), r, total)?;
        self.transport
            .gather(Source::Buffer(src), dst, send_count, args.dtype, root)
    }

    fn scatter(&mut self, args: &LaunchArgs, recv_count: usize, root: usize) -> Result<()> {
        let len = self.bytes(recv_count, args.dtype);
        let total = len * args.nranks;
        let (s, r) = (self.layout.send_start(), self.layout.recv_start());
        let is_root = args.rank == root;
        if !is_root {
            let dst = slice_mut("output view", self.recv.bytes_mut(), r, len)?;
            return self
                .transport
                .scatter(&[], Sink::Buffer(dst), recv_count, args.dtype, root);
        }
        if self.layout.in_place && r == s + root * len {
            let src = slice("send view", self.recv.bytes(), s, total)?;
            return self
                .transport
                .scatter(src, Sink::InPlace, recv_count, args.dtype, root);
        }
        let staged = self.layout.in_place;
        self.stage_if(staged, total, args.dtype, None)?;
        let src = input_view(self.send, self.scratch, staged, s, total)?;
        let dst = slice_mut("output view", self.recv.bytes_mut(), r, len)?;
        self.transport
            .scatter(src, Sink::Buffer(dst), recv_count, args.dtype, root)
    }

    fn group_start(&mut self) -> Result<()> {
        self.group.depth += 1;
        Ok(())
    }

    fn group_end(&mut self) -> Result<()> {
        if self.group.depth == 0 {
            return Err(CollbenchError::Mpi(
                "group_end without a matching group_start (internal error in a collective's launch)"
                    .to_string(),
            ));
        }
        self.group.depth -= 1;
        if self.group.depth > 0 {
            return Ok(());
        }
        match self.group.dtype.take() {
            Some(dtype) => self.flush_group(dtype),
            None => Ok(()),
        }
    }

    fn send(
        &mut self,
        args: &LaunchArgs,
        send_offset: usize,
        count: usize,
        peer: usize,
    ) -> Result<()> {
        let offset = self.layout.send_start() + self.bytes(send_offset, args.dtype);
        self.push_send(args, offset, count, peer, self.layout.in_place)
    }

    fn send_from_recv(
        &mut self,
        args: &LaunchArgs,
        recv_offset: usize,
        count: usize,
        peer: usize,
    ) -> Result<()> {
        let offset = self.layout.recv_start() + self.bytes(recv_offset, args.dtype);
        self.push_send(args, offset, count, peer, true)
    }

    fn copy_send_to_recv(
        &mut self,
        args: &LaunchArgs,
        send_offset: usize,
        recv_offset: usize,
        count: usize,
    ) -> Result<()> {
        let len = self.bytes(count, args.dtype);
        let from = self.layout.send_start() + self.bytes(send_offset, args.dtype);
        let to = self.layout.recv_start() + self.bytes(recv_offset, args.dtype);
        if self.layout.in_place {
            if from != to {
                slice("send view", self.recv.bytes(), from, len)?;
                slice("output view", self.recv.bytes(), to, len)?;
                self.recv.bytes_mut().copy_within(from..from + len, to);
            }
            return Ok(());
        }
        let source = slice("send view", self.send.bytes(), from, len)?;
        slice_mut("output view", self.recv.bytes_mut(), to, len)?.copy_from_slice(source);
        Ok(())
    }

    fn recv(
        &mut self,
        args: &LaunchArgs,
        recv_offset: usize,
        count: usize,
        peer: usize,
    ) -> Result<()> {
        self.group.dtype = Some(args.dtype);
        self.group.recvs.push(Transfer {
            offset: self.layout.recv_start() + self.bytes(recv_offset, args.dtype),
            len: self.bytes(count, args.dtype),
            peer,
        });
        if self.group.depth == 0 {
            return self.flush_group(args.dtype);
        }
        Ok(())
    }
}
