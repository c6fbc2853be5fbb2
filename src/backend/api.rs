//! What the runner (and the faults layer) call on a backend: the [`Backend`] trait, the call it runs
//! ([`CallSpec`]) and [`CorruptOutput`]. A leaf module, so that the backends import it without
//! importing their parent.

use crate::collectives::{Collective, Counts};
use crate::data::CheckOutcome;
use crate::error::Result;
use crate::measure::Timing;
use crate::plan::TimingPlan;
use crate::report::memory::RankMemory;
use crate::report::network::ProcessNetwork;
use crate::report::{BackendInfo, RankPlacement};
use crate::types::{DataType, ReduceOp};

/// One (collective, size, dtype, op, root, placement) as the backend runs it.
#[derive(Clone, Copy)]
pub struct CallSpec<'a> {
    pub collective: &'a dyn Collective,
    pub dtype: DataType,
    pub op: Option<ReduceOp>,
    pub root: usize,
    pub counts: Counts,
    pub in_place: bool,
    pub seed: u64,
}

pub trait Backend {
    fn info(&self) -> BackendInfo;
    /// The network this process's communicators use, as NCCL's log names it (NCCL backend with
    /// the log capture of `nccl::net_capture`); `None` where there is no such thing. Either every
    /// process of a run answers `Some` or none does: the runner gathers it to rank 0.
    fn network(&self) -> Option<ProcessNetwork> {
        None
    }
    /// Lines nccl-tests prints before its banner about flags this backend ignores here (`-x 2`
    /// on NCCL 2.27); rank 0's are printed.
    fn setup_notices(&self) -> Vec<String> {
        Vec::new()
    }
    /// Placement of this process's local ranks (one entry each).
    fn placements(&self) -> Vec<RankPlacement>;
    /// Global ranks hosted by this process.
    fn local_ranks(&self) -> Vec<usize>;
    /// Total ranks in the communicator (all processes).
    fn nranks(&self) -> usize;
    /// Largest buffer this backend can allocate per rank, if it knows (e.g. free device memory).
    fn max_buffer_bytes(&self) -> Option<u64>;
    /// How `max_buffer_bytes` follows from this process's memory, for the error when not even
    /// `-b` fits (e.g. "2.0 GiB available less a 2.0 GiB reserve").
    fn max_buffer_basis(&self) -> Option<String> {
        None
    }
    /// Why this backend cannot run `dtype`/`op` here (the runner prints it as a skip line), e.g.
    /// fp8 on a GPU older than compute capability 9.0. `None` when it can.
    fn unsupported(&self, _dtype: DataType, _op: Option<ReduceOp>) -> Option<String> {
        None
    }
    /// `-M`: the memory of this process's local ranks once `allocate` ran (one entry each).
    fn memory_usage(&self) -> Result<Vec<RankMemory>>;
    /// Allocates send and receive buffers large enough for every size of the sweep.
    fn allocate(&mut self, send_bytes: usize, recv_bytes: usize) -> Result<()>;
    /// Fills every local rank's input from the generator and poisons its output.
    fn prepare(&mut self, call: &CallSpec) -> Result<()>;
    /// Fills every local rank's input, before the timed loop of a validated cell (nccl-tests
    /// times initialised data too). The output needs no poison there: only a validation run's
    /// output is checked, after its own `prepare`.
    fn fill_inputs(&mut self, call: &CallSpec) -> Result<()> {
        self.prepare(call)
    }
    /// Runs `iters` untimed operations.
    fn warmup(&mut self, call: &CallSpec, iters: usize) -> Result<()>;
    /// Runs the timed loop (nccl-tests semantics: host clock after completion).
    fn measure(&mut self, call: &CallSpec, plan: &TimingPlan) -> Result<Timing>;
    /// Counts wrong output elements over this process's local ranks.
    fn check(&mut self, call: &CallSpec) -> Result<CheckOutcome>;
}

/// Writing a wrong value into an output buffer, which only a backend can do: what
/// `crate::faults` uses to plant corruption between an operation and its check. Apart from
/// [`Backend`] so that the runner never sees it.
pub trait CorruptOutput {
    /// Overwrites output element `index` of the local rank whose communicator rank is
    /// `comm_rank` with a wrong value (nothing when that rank is not local or the element does not
    /// exist at this size).
    fn corrupt_output(&mut self, call: &CallSpec, comm_rank: usize, index: usize) -> Result<()>;
}
