//! The per-rank calls of one `CallSpec` (buffers, rotation layout, operator handle) for the
//! launch loops.

use super::launch::SlotLayout;
use super::timed::RankCall;
use super::{buffers, validate, LocalRank};
use crate::backend::api::CallSpec;
use crate::backend::nccl::comm::RedOp;
use crate::collectives::LaunchArgs;
use crate::error::Result;
use crate::types::{DataType, ReduceOp};

/// The operator handle of `op` for one rank (mulsum: a PreMulSum created on its communicator).
fn red_op(
    rank: &LocalRank,
    op: Option<ReduceOp>,
    dtype: DataType,
    nranks: usize,
) -> Result<(RedOp, bool)> {
    match op {
        None => Ok((RedOp(0), false)),
        Some(ReduceOp::MulSum) => {
            let scalar = validate::mulsum_scalar_bytes(rank.global_rank, nranks, dtype);
            Ok((rank.comm.create_pre_mul_sum(&scalar, dtype)?, true))
        }
        Some(other) => Ok((RedOp(other.nccl_enum().unwrap_or(0)), false)),
    }
}

/// Builds the per-rank calls of `ranks`, runs `body`, then destroys any operator it created.
pub(super) fn with_calls<T>(
    ranks: &[LocalRank],
    call: &CallSpec,
    nranks: usize,
    unalign: usize,
    body: impl FnOnce(&[RankCall]) -> Result<T>,
) -> Result<T> {
    let mut calls = Vec::with_capacity(ranks.len());
    let mut created = Vec::new();
    let mut setup = || -> Result<()> {
        for rank in ranks {
            let (send, recv) = buffers(rank)?;
            let layout = SlotLayout::new(
                &call.counts,
                call.dtype,
                rank.global_rank,
                call.in_place,
                unalign,
                send.len_bytes(),
                recv.len_bytes(),
            );
            let (op, owned) = red_op(rank, call.op, call.dtype, nranks)?;
            if owned {
                created.push((rank, op));
            }
            calls.push(RankCall {
                rank,
                send,
                recv,
                layout,
                op,
                args: LaunchArgs {
                    rank: rank.global_rank,
                    nranks,
                    root: call.root,
                    dtype: call.dtype,
                    op: call.op,
                    counts: call.counts,
                },
            });
        }
        Ok(())
    };
    let result = setup().and_then(|_| body(&calls));
    for (rank, op) in created {
        if !rank.comm.is_aborted() {
            let _ = rank.comm.destroy_red_op(op);
        }
    }
    result
}
