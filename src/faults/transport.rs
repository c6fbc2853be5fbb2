//! `COLLBENCH_TEST_DELAY` on the host backend: a transport that sleeps after every collective call
//! of the delayed rank, so its partners wait for it in the next call as they would for a slow node.

use crate::backend::host::elementwise::WireOp;
use crate::backend::host::transport::{Sink, Source, Transfer, Transport};
use crate::error::Result;
use crate::types::DataType;
use std::time::{Duration, Instant};

/// Delays shorter than this spin instead of sleeping.
const SPIN_BELOW: Duration = Duration::from_millis(1);

pub struct SlowTransport {
    inner: Box<dyn Transport>,
    delay: Duration,
}

impl SlowTransport {
    pub fn new(inner: Box<dyn Transport>, delay: Duration) -> SlowTransport {
        SlowTransport { inner, delay }
    }

    /// Below [`SPIN_BELOW`] the delay is a busy wait: a sleep lasts at least the kernel's timer
    /// slack (about 55 µs here), which would make a delay of a few µs — a slowdown of a few percent
    /// on a small collective — impossible to plant.
    fn after<T>(&self, result: Result<T>) -> Result<T> {
        if self.delay < SPIN_BELOW {
            let start = Instant::now();
            while start.elapsed() < self.delay {
                std::hint::spin_loop();
            }
        } else {
            std::thread::sleep(self.delay);
        }
        result
    }
}

impl Transport for SlowTransport {
    fn rank(&self) -> usize {
        self.inner.rank()
    }
    fn nranks(&self) -> usize {
        self.inner.nranks()
    }
    fn barrier(&mut self) -> Result<()> {
        self.inner.barrier()
    }
    fn all_reduce(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        op: WireOp,
    ) -> Result<()> {
        let result = self.inner.all_reduce(src, dst, count, dtype, op);
        self.after(result)
    }
    fn reduce(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        op: WireOp,
        root: usize,
    ) -> Result<()> {
        let result = self.inner.reduce(src, dst, count, dtype, op, root);
        self.after(result)
    }
    fn broadcast(
        &mut self,
        src: Source,
        buffer: &mut [u8],
        count: usize,
        dtype: DataType,
        root: usize,
    ) -> Result<()> {
        let result = self.inner.broadcast(src, buffer, count, dtype, root);
        self.after(result)
    }
    fn all_gather(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
    ) -> Result<()> {
        let result = self.inner.all_gather(src, dst, count, dtype);
        self.after(result)
    }
    fn reduce_scatter_block(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        op: WireOp,
    ) -> Result<()> {
        let result = self.inner.reduce_scatter_block(src, dst, count, dtype, op);
        self.after(result)
    }
    fn all_to_all(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
    ) -> Result<()> {
        let result = self.inner.all_to_all(src, dst, count, dtype);
        self.after(result)
    }
    fn gather(
        &mut self,
        src: Source,
        dst: &mut [u8],
        count: usize,
        dtype: DataType,
        root: usize,
    ) -> Result<()> {
        let result = self.inner.gather(src, dst, count, dtype, root);
        self.after(result)
    }
    fn scatter(
        &mut self,
        src: &[u8],
        dst: Sink,
        count: usize,
        dtype: DataType,
        root: usize,
    ) -> Result<()> {
        let result = self.inner.scatter(src, dst, count, dtype, root);
        self.after(result)
    }
    fn exchange(
        &mut self,
        send_buffer: &[u8],
        sends: &[Transfer],
        recv_buffer: &mut [u8],
        recvs: &[Transfer],
        dtype: DataType,
    ) -> Result<()> {
        let result = self
            .inner
            .exchange(send_buffer, sends, recv_buffer, recvs, dtype);
        self.after(result)
    }
}
