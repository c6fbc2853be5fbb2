//! The faulty backend: the real one, plus the hooks that act where the runner meets it —
//! corruption between an operation and its check, a rank that stalls, dies or panics where its
//! first timed loop would start, and a smaller memory than the host or GPU has.

use super::hooks::{TestHooks, MAX_BUFFER_VAR};
use crate::backend::{Backend, CallSpec, CorruptOutput};
use crate::data::CheckOutcome;
use crate::error::Result;
use crate::measure::Timing;
use crate::plan::TimingPlan;
use crate::report::memory::RankMemory;
use crate::report::network::ProcessNetwork;
use crate::report::{BackendInfo, RankPlacement};
use crate::types::{DataType, ReduceOp};

pub struct FaultyBackend<B> {
    inner: B,
    hooks: TestHooks,
    /// Set once the first timed loop began (the stall/exit/panic hooks act before it).
    timed_loops_started: bool,
}

impl<B: Backend + CorruptOutput> FaultyBackend<B> {
    pub fn new(inner: B, hooks: TestHooks) -> FaultyBackend<B> {
        FaultyBackend {
            inner,
            hooks,
            timed_loops_started: false,
        }
    }

    /// The printed (global) ranks of this process, which the hooks name.
    fn my_ranks(&self) -> Vec<usize> {
        self.inner.placements().iter().map(|p| p.rank).collect()
    }

    /// The per-buffer limit the hook sets for this process's first rank, if lower than the
    /// backend's own.
    fn hook_limit(&self) -> Option<u64> {
        let rank = self.my_ranks().first().copied().unwrap_or(0);
        let own = self.inner.max_buffer_bytes();
        self.hooks
            .buffer_limit(rank, own)
            .filter(|&limit| Some(limit) != own)
    }
}

impl<B: Backend + CorruptOutput> Backend for FaultyBackend<B> {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }
    fn network(&self) -> Option<ProcessNetwork> {
        self.inner.network()
    }
    fn setup_notices(&self) -> Vec<String> {
        self.inner.setup_notices()
    }
    fn placements(&self) -> Vec<RankPlacement> {
        self.inner.placements()
    }
    fn local_ranks(&self) -> Vec<usize> {
        self.inner.local_ranks()
    }
    fn nranks(&self) -> usize {
        self.inner.nranks()
    }
    fn max_buffer_bytes(&self) -> Option<u64> {
        self.hook_limit().or_else(|| self.inner.max_buffer_bytes())
    }
    fn max_buffer_basis(&self) -> Option<String> {
        match self.hook_limit() {
            Some(limit) => Some(format!("{MAX_BUFFER_VAR} allows {limit} bytes")),
            None => self.inner.max_buffer_basis(),
        }
    }
    fn unsupported(&self, dtype: DataType, op: Option<ReduceOp>) -> Option<String> {
        self.inner.unsupported(dtype, op)
    }
    fn memory_usage(&self) -> Result<Vec<RankMemory>> {
        self.inner.memory_usage()
    }
    fn allocate(&mut self, send_bytes: usize, recv_bytes: usize) -> Result<()> {
        self.inner.allocate(send_bytes, recv_bytes)
    }
    fn prepare(&mut self, call: &CallSpec) -> Result<()> {
        self.inner.prepare(call)
    }
    fn fill_inputs(&mut self, call: &CallSpec) -> Result<()> {
        self.inner.fill_inputs(call)
    }
    fn warmup(&mut self, call: &CallSpec, iters: usize) -> Result<()> {
        self.inner.warmup(call, iters)
    }
    fn measure(&mut self, call: &CallSpec, plan: &TimingPlan) -> Result<Timing> {
        if !self.timed_loops_started {
            self.timed_loops_started = true;
            for rank in self.my_ranks() {
                self.hooks.before_timed_loop(rank);
            }
        }
        self.inner.measure(call, plan)
    }
    /// Corruption lands after the operation and before the check, as a bad link or GPU would.
    fn check(&mut self, call: &CallSpec) -> Result<CheckOutcome> {
        if let Some((rank, index)) = self.hooks.corrupt {
            let ranks = self.my_ranks();
            if let Some(local) = ranks.iter().position(|&r| r == rank) {
                let comm_rank = self.inner.local_ranks()[local];
                self.inner.corrupt_output(call, comm_rank, index)?;
            }
        }
        self.inner.check(call)
    }
}
