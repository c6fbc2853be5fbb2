//! What moves host data between ranks: MPI ([`super::mpi_comm::MpiTransport`], feature `mpi`) or,
//! for a single process, local copies ([`super::local::LocalTransport`]). Buffers are byte slices;
//! counts are in elements of `dtype`. The calls and their in-place rules are MPI's.

use super::elementwise::WireOp;
use crate::error::{CollbenchError, Result};
use crate::types::DataType;

/// Where a call's input comes from.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    Buffer(&'a [u8]),
    /// MPI_IN_PLACE: the input already sits in the output buffer (where depends on the call).
    InPlace,
}

/// Where a call's output goes (only `scatter` needs an in-place output).
pub enum Sink<'a> {
    Buffer(&'a mut [u8]),
    /// MPI_IN_PLACE at the scatter root: its own part stays where it is in the send buffer.
    InPlace,
}

/// One point-to-point transfer of a group: `len` bytes at byte `offset` of the group's send (or
/// receive) buffer, to (or from) `peer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub offset: usize,
    pub len: usize,
    pub peer: usize,
}

pub trait Transport {
    fn rank(&self) -> usize;
    fn nranks(&self) -> usize;
    /// MPI_Barrier on the backend's communicator (`-z 1`).
    fn barrier(&mut self) -> Result<()>;
    fn all_reduce(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        op: WireOp,
    ) -> Result<()>;
    /// `dst` matters only at `root`; `Source::InPlace` only at `root`.
    fn reduce(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        op: WireOp,
        root: usize,
    ) -> Result<()>;
    /// `buffer` ends with the root's data on every rank. At the root, `Source::Buffer` is that
    /// data (an out-of-place broadcast: the root's `buffer` gets a copy of it) and
    /// `Source::InPlace` means it already sits in `buffer`; other ranks ignore `src`.
    fn broadcast(
        &mut self,
        src: Source,
        buffer: &mut [u8],
        count: usize,
        dtype: DataType,
        root: usize,
    ) -> Result<()>;
    /// In place: this rank's part already sits at `dst[rank × count]`.
    fn all_gather(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
    ) -> Result<()>;
    /// In place: the input is `dst` (count × nranks elements) and the result lands at its start.
    fn reduce_scatter_block(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        op: WireOp,
    ) -> Result<()>;
    /// In place: input and output are both `dst`.
    fn all_to_all(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
    ) -> Result<()>;
    /// `dst` matters only at `root`; in place (root only): root's part already sits at
    /// `dst[root × count]`.
    fn gather(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        root: usize,
    ) -> Result<()>;
    /// `src` matters only at `root`; `Sink::InPlace` only at `root`.
    fn scatter(
        &mut self,
        src: &[u8],
        dst: Sink,
        count: usize,
        dtype: DataType,
        root: usize,
    ) -> Result<()>;
    /// Starts every send and receive, then waits for all of them (Isend/Irecv + Waitall).
    /// Receive ranges must not overlap each other.
    fn exchange(
        &mut self,
        send_buffer: &[u8],
        sends: &[Transfer],
        recv_buffer: &mut [u8],
        recvs: &[Transfer],
        dtype: DataType,
    ) -> Result<()>;
}

/// `count` elements of `dtype` in bytes, checked against a buffer of `available` bytes.
pub fn checked_bytes(what: &str, count: usize, dtype: DataType, available: usize) -> Result<usize> {
    count
        .checked_mul(dtype.size_bytes())
        .filter(|&b| b <= available)
        .ok_or_else(|| size_mismatch(what, count, dtype, available))
}

// Cold and out of line: `checked_bytes` runs on every operation of a timed loop.
#[cold]
#[inline(never)]
fn size_mismatch(what: &str, count: usize, dtype: DataType, available: usize) -> CollbenchError {
    CollbenchError::Mpi(format!(
        "{what}: {count} {dtype} elements do not fit the {available}-byte buffer the host backend \
         allocated (internal size mismatch)"
    ))
}

/// Receive transfers must not overlap (MPI forbids it and the result would be undefined).
pub fn check_disjoint(recvs: &[Transfer]) -> Result<()> {
    let mut ranges: Vec<(usize, usize)> = recvs
        .iter()
        .filter(|t| t.len > 0)
        .map(|t| (t.offset, t.offset + t.len))
        .collect();
    ranges.sort_unstable();
    for pair in ranges.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(CollbenchError::Mpi(format!(
                "two receives of one group overlap (bytes {}..{} and {}..{}); a collective's \
                 launch must give every receive its own range",
                pair[0].0, pair[0].1, pair[1].0, pair[1].1
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked_against_buffers() {
        assert_eq!(checked_bytes("x", 4, DataType::Float, 16).unwrap(), 16);
        assert!(checked_bytes("x", 5, DataType::Float, 16).is_err());
        assert!(checked_bytes("x", usize::MAX, DataType::Double, usize::MAX).is_err());
    }

    #[test]
    fn overlapping_receives_are_rejected() {
        let t = |offset, len| Transfer {
            offset,
            len,
            peer: 0,
        };
        assert!(check_disjoint(&[t(0, 4), t(4, 4), t(100, 0), t(100, 0)]).is_ok());
        assert!(check_disjoint(&[t(8, 4), t(0, 9)]).is_err());
    }
}
