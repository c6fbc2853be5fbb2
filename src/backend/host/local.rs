//! The transport of a one-rank world (no MPI): every collective of one rank is a local copy.

use super::elementwise::WireOp;
use super::transport::{check_disjoint, checked_bytes, Sink, Source, Transfer, Transport};
use crate::error::{CollbenchError, Result};
use crate::types::DataType;

/// Rank 0 of 1.
#[derive(Debug, Default)]
pub struct LocalTransport;

fn copy_source(
    what: &str,
    src: Source,
    dst: &mut [u8],
    count: usize,
    dtype: DataType,
) -> Result<()> {
    let bytes = checked_bytes(what, count, dtype, dst.len())?;
    if let Source::Buffer(src) = src {
        let bytes_in = checked_bytes(what, count, dtype, src.len())?;
        dst[..bytes].copy_from_slice(&src[..bytes_in]);
    }
    Ok(())
}

fn only_rank_zero(what: &str, rank: usize) -> Result<()> {
    if rank == 0 {
        Ok(())
    } else {
        Err(CollbenchError::Usage(format!(
            "{what} names rank {rank}, but a single-process run has only rank 0"
        )))
    }
}

impl Transport for LocalTransport {
    fn rank(&self) -> usize {
        0
    }
    fn nranks(&self) -> usize {
        1
    }
    fn barrier(&mut self) -> Result<()> {
        Ok(())
    }
    fn all_reduce(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        _op: WireOp,
    ) -> Result<()> {
        copy_source("all_reduce", src, dst, count, dtype)
    }
    fn reduce(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        _op: WireOp,
        root: usize,
    ) -> Result<()> {
        only_rank_zero("reduce root", root)?;
        copy_source("reduce", src, dst, count, dtype)
    }
    fn broadcast(
        &mut self,
        src: Source,
        buffer: &mut [u8],
        count: usize,
        dtype: DataType,
        root: usize,
    ) -> Result<()> {
        only_rank_zero("broadcast root", root)?;
        copy_source("broadcast", src, buffer, count, dtype)
    }
    fn all_gather(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
    ) -> Result<()> {
        copy_source("all_gather", src, dst, count, dtype)
    }
    fn reduce_scatter_block(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        _op: WireOp,
    ) -> Result<()> {
        copy_source("reduce_scatter", src, dst, count, dtype)
    }
    fn all_to_all(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
    ) -> Result<()> {
        copy_source("all_to_all", src, dst, count, dtype)
    }
    fn gather(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        root: usize,
    ) -> Result<()> {
        only_rank_zero("gather root", root)?;
        copy_source("gather", src, dst, count, dtype)
    }
    fn scatter(
        &mut self,
        src: &[u8],
        dst: Sink,
        count: usize,
        dtype: DataType,
        root: usize,
    ) -> Result<()> {
        only_rank_zero("scatter root", root)?;
        match dst {
            Sink::Buffer(dst) => copy_source("scatter", Source::Buffer(src), dst, count, dtype),
            Sink::InPlace => Ok(()),
        }
    }
    fn exchange(
        &mut self,
        send_buffer: &[u8],
        sends: &[Transfer],
        recv_buffer: &mut [u8],
        recvs: &[Transfer],
        _dtype: DataType,
    ) -> Result<()> {
        check_disjoint(recvs)?;
        // With one rank every transfer is to itself; MPI matches them in the order they were posted.
        if sends.len() != recvs.len() {
            return Err(CollbenchError::Mpi(format!(
                "a single rank posted {} sends to itself but {} receives; they must pair up",
                sends.len(),
                recvs.len()
            )));
        }
        for (send, recv) in sends.iter().zip(recvs) {
            only_rank_zero("send peer", send.peer)?;
            only_rank_zero("receive peer", recv.peer)?;
            if send.len != recv.len {
                return Err(CollbenchError::Mpi(format!(
                    "a send of {} bytes met a receive of {} bytes",
                    send.len, recv.len
                )));
            }
            let from = send_buffer.get(send.offset..send.offset + send.len);
            let to = recv_buffer.get_mut(recv.offset..recv.offset + recv.len);
            match (from, to) {
                (Some(from), Some(to)) => to.copy_from_slice(from),
                _ => return Err(CollbenchError::Mpi(
                    "a transfer lies outside the host backend's buffers (internal size mismatch)"
                        .to_string(),
                )),
            }
        }
        Ok(())
    }
}
