//! Fault injection, at the edge: when a COLLBENCH_TEST_* variable is set ([`hooks`]), the run
//! lifecycle wraps the real backend in [`FaultyBackend`] (and the host backend's transport in a
//! slow one) instead of threading the faults through the runner, the backends or the timed loops.
//! The GPU backend keeps one narrow hook (`crate::backend::gpu::GpuWaitHook`) for what happens
//! inside a stream wait. Nothing here is built in a run that sets no such variable.

mod backend;
pub mod hooks;
mod transport;

pub use backend::FaultyBackend;
pub use hooks::TestHooks;
pub use transport::SlowTransport;

use crate::backend::gpu::GpuWaitHook;
use crate::backend::{Backend, CorruptOutput};

/// `backend` itself when no hook acts on a backend, else `backend` inside a [`FaultyBackend`].
pub fn wrap<'b, B>(backend: B, hooks: &TestHooks) -> Box<dyn Backend + 'b>
where
    B: Backend + CorruptOutput + 'b,
{
    if hooks.acts_on_backend() {
        Box::new(FaultyBackend::new(backend, hooks.clone()))
    } else {
        Box::new(backend)
    }
}

/// The GPU backend's narrow hook for the ranks of this process (`global_ranks`).
pub fn gpu_wait_hook(hooks: &TestHooks, global_ranks: &[usize]) -> GpuWaitHook {
    GpuWaitHook {
        stream_hang: hooks.stream_hang,
        launch_delay: hooks.delay_for(global_ranks),
    }
}
