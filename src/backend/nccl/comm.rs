//! The safe NCCL layer: communicators, collectives on checked device regions, and one error
//! conversion (`ncclGetErrorString` + `ncclGetLastError`) for every call.

use super::loader::NcclLibrary;
use super::sys::{self, ncclComm_t, ncclRedOp_t, ncclResult_t};
use crate::backend::cuda::buffer::DeviceRegion;
use crate::error::{CollbenchError, Result};
use crate::types::DataType;
use cudarc::driver::CudaStream;
use std::ffi::{c_void, CStr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// `ncclUniqueId` as bytes, for broadcasting over the world.
#[derive(Clone, Copy)]
pub struct UniqueId(pub sys::ncclUniqueId);

impl UniqueId {
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.internal.iter().map(|&c| c as u8).collect()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<UniqueId> {
        if bytes.len() != sys::NCCL_UNIQUE_ID_BYTES {
            return Err(CollbenchError::Mpi(format!(
                "received an NCCL unique id of {} bytes; expected {}",
                bytes.len(),
                sys::NCCL_UNIQUE_ID_BYTES
            )));
        }
        let mut id = sys::ncclUniqueId {
            internal: [0; sys::NCCL_UNIQUE_ID_BYTES],
        };
        for (dst, &src) in id.internal.iter_mut().zip(bytes) {
            *dst = src as std::ffi::c_char;
        }
        Ok(UniqueId(id))
    }
}

/// Checks one NCCL return code. `comm` (when known) adds `ncclGetLastError`'s detail.
fn check(lib: &NcclLibrary, rc: ncclResult_t, call: &str, comm: ncclComm_t) -> Result<()> {
    if rc == sys::NCCL_SUCCESS {
        return Ok(());
    }
    Err(CollbenchError::Nccl(describe(lib, rc, call, comm)))
}

/// `ncclAllReduce failed: invalid usage (code 5); last error: ...`.
fn describe(lib: &NcclLibrary, rc: ncclResult_t, call: &str, comm: ncclComm_t) -> String {
    // SAFETY: both return static or library-owned NUL-terminated strings (or null).
    let (text, last) = unsafe {
        (
            c_str((lib.api.get_error_string)(rc)),
            c_str((lib.api.get_last_error)(comm)),
        )
    };
    let mut msg = format!("{call} failed: {text} (ncclResult_t {rc})");
    if !last.is_empty() {
        msg.push_str(&format!("; last NCCL error: {last}"));
    }
    msg
}

fn c_str(p: *const std::ffi::c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-null NUL-terminated string from NCCL.
    unsafe { CStr::from_ptr(p) }
        .to_string_lossy()
        .trim()
        .to_string()
}

/// Library-wide calls that need no communicator.
pub struct Nccl {
    pub lib: Arc<NcclLibrary>,
}

impl Nccl {
    pub fn new(lib: Arc<NcclLibrary>) -> Nccl {
        Nccl { lib }
    }

    pub fn unique_id(&self) -> Result<UniqueId> {
        let mut id = sys::ncclUniqueId {
            internal: [0; sys::NCCL_UNIQUE_ID_BYTES],
        };
        // SAFETY: writes one ncclUniqueId.
        let rc = unsafe { (self.lib.api.get_unique_id)(&mut id) };
        check(&self.lib, rc, "ncclGetUniqueId", std::ptr::null_mut())?;
        Ok(UniqueId(id))
    }

    #[inline]
    pub fn group_start(&self) -> Result<()> {
        self.group_call(self.lib.api.group_start, "ncclGroupStart")
    }

    #[inline]
    pub fn group_end(&self) -> Result<()> {
        self.group_call(self.lib.api.group_end, "ncclGroupEnd")
    }

    #[inline]
    fn group_call(&self, f: sys::GroupFn, call: &str) -> Result<()> {
        // SAFETY: no arguments.
        let rc = unsafe { f() };
        check(&self.lib, rc, call, std::ptr::null_mut())
    }

    fn own(&self, raw: ncclComm_t) -> Communicator {
        Communicator {
            lib: self.lib.clone(),
            raw,
            aborted: AtomicBool::new(false),
        }
    }

    /// Creates one communicator per `(global rank, bind)` inside one group, like nccl-tests:
    /// `bind` makes the rank's device current before its `ncclCommInitRank`, or its
    /// `ncclCommInitRankConfig` when a `config` is given.
    pub fn init_ranks(
        &self,
        nranks: usize,
        id: &UniqueId,
        ranks: &[(usize, &dyn Fn() -> Result<()>)],
        config: Option<CommConfig>,
    ) -> Result<Vec<Communicator>> {
        let mut raws: Vec<ncclComm_t> = vec![std::ptr::null_mut(); ranks.len()];
        self.group_start()?;
        let mut first_error = None;
        for (slot, (rank, bind)) in raws.iter_mut().zip(ranks) {
            if let Err(e) = bind() {
                first_error.get_or_insert(e);
                continue;
            }
            let (rc, call) = match config {
                None => (
                    // SAFETY: writes one communicator handle; id is passed by value as nccl.h
                    // declares.
                    unsafe {
                        (self.lib.api.comm_init_rank)(slot, nranks as i32, id.0, *rank as i32)
                    },
                    "ncclCommInitRank",
                ),
                Some(config) => match self.init_rank_config(slot, nranks, id, *rank, config) {
                    Ok(rc) => (rc, "ncclCommInitRankConfig"),
                    Err(e) => {
                        first_error.get_or_insert(e);
                        continue;
                    }
                },
            };
            if let Err(e) = check(
                &self.lib,
                rc,
                &format!("{call}(rank {rank} of {nranks})"),
                *slot,
            ) {
                first_error.get_or_insert(e);
            }
        }
        let end = self.group_end();
        let comms: Vec<Communicator> = raws
            .into_iter()
            .filter(|c| !c.is_null())
            .map(|raw| self.own(raw))
            .collect();
        if let Some(e) = first_error {
            comms.iter().for_each(Communicator::abort);
            return Err(e);
        }
        if let Err(e) = end {
            comms.iter().for_each(Communicator::abort);
            return Err(e);
        }
        Ok(comms)
    }

    /// One ncclCommInitRankConfig with `config` as NCCL_CONFIG_INITIALIZER plus its settings.
    fn init_rank_config(
        &self,
        slot: &mut ncclComm_t,
        nranks: usize,
        id: &UniqueId,
        rank: usize,
        config: CommConfig,
    ) -> Result<ncclResult_t> {
        let init = self.lib.api.comm_init_rank_config.ok_or_else(|| {
            CollbenchError::Unsupported(format!(
                "a communicator config needs ncclCommInitRankConfig (NCCL 2.14+); the loaded NCCL \
                 {} lacks it",
                self.lib.version_string()
            ))
        })?;
        let mut raw = config.to_raw(self.lib.version_code);
        // SAFETY: writes one communicator handle; `raw` is a complete ncclConfig_t of the layout
        // its size and version declare, alive for the call (NCCL copies it).
        Ok(unsafe { init(slot, nranks as i32, id.0, rank as i32, &mut raw) })
    }

    /// ncclCommInitAll: a single-process clique over `devices`.
    pub fn init_all(&self, devices: &[i32]) -> Result<Vec<Communicator>> {
        let mut raws: Vec<ncclComm_t> = vec![std::ptr::null_mut(); devices.len()];
        // SAFETY: `raws` has one slot per device.
        let rc = unsafe {
            (self.lib.api.comm_init_all)(raws.as_mut_ptr(), devices.len() as i32, devices.as_ptr())
        };
        check(
            &self.lib,
            rc,
            &format!("ncclCommInitAll(devices {devices:?})"),
            std::ptr::null_mut(),
        )?;
        Ok(raws.into_iter().map(|raw| self.own(raw)).collect())
    }
}

/// The settings of a communicator made with ncclCommInitRankConfig; every other field is left
/// as NCCL_CONFIG_INITIALIZER leaves it (NCCL's default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommConfig {
    /// `CTAPolicy` (`-x`).
    pub cta_policy: Option<u8>,
}

impl CommConfig {
    /// The config for the NCCL release `version_code` (2.27 or newer).
    pub fn to_raw(self, version_code: i32) -> sys::ncclConfig_t {
        let mut raw = sys::ncclConfig_t::initializer(version_code);
        if let Some(policy) = self.cta_policy {
            raw.CTAPolicy = policy.into();
        }
        raw
    }
}

/// A reduction operator handle valid for one communicator and datatype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedOp(pub ncclRedOp_t);

/// A registration made with ncclCommRegister (`-R 1`) or ncclCommWindowRegister (`-R 2`).
pub enum Registration {
    Local(*mut c_void),
    Window(sys::ncclWindow_t),
}

// SAFETY: an opaque NCCL handle, only passed back to NCCL by the communicator's owner.
unsafe impl Send for Registration {}

/// One rank's communicator. Destroyed on drop unless aborted.
pub struct Communicator {
    lib: Arc<NcclLibrary>,
    raw: ncclComm_t,
    /// Set once ncclCommAbort ran (then drop must not destroy it).
    aborted: AtomicBool,
}

// SAFETY: NCCL communicators may be used from any thread, one thread at a time (we never share one
// between threads concurrently: each is owned by one local rank).
unsafe impl Send for Communicator {}

#[inline]
fn stream_of(stream: &CudaStream) -> sys::cudaStream_t {
    stream.cu_stream() as sys::cudaStream_t
}

/// Bytes for `count` elements, checked against a region (`side` names it in the message).
#[inline]
fn fits(
    region: &DeviceRegion<'_>,
    count: usize,
    dtype: DataType,
    call: &str,
    side: &str,
) -> Result<()> {
    let need = count.checked_mul(dtype.size_bytes());
    match need {
        Some(n) if n <= region.bytes => Ok(()),
        _ => Err(CollbenchError::Nccl(format!(
            "internal: {call}{side} needs {count} {dtype} elements but its buffer holds {} bytes",
            region.bytes
        ))),
    }
}

/// An optional entry point the caller needs (the caller checked `has_*` and falls back to
/// send/recv when it is absent, so absence here is our bug).
fn present<F>(f: Option<F>, call: &str) -> Result<F> {
    f.ok_or_else(|| CollbenchError::Nccl(format!("internal: {call} is absent; use send/recv")))
}

/// What a two-buffer collective reads and writes: one rank's regions, element type and stream.
pub struct Transfer<'a> {
    pub send: DeviceRegion<'a>,
    pub recv: DeviceRegion<'a>,
    pub dtype: DataType,
    pub stream: &'a CudaStream,
}

/// A two-buffer call's arguments after `Communicator::checked` verified both regions.
struct Checked {
    send: *const c_void,
    recv: *mut c_void,
    dtype: sys::ncclDataType_t,
    comm: ncclComm_t,
    stream: sys::cudaStream_t,
}

impl Communicator {
    pub fn raw(&self) -> ncclComm_t {
        self.raw
    }

    #[inline]
    fn check(&self, rc: ncclResult_t, call: &str) -> Result<()> {
        check(&self.lib, rc, call, self.raw)
    }

    /// ncclCommCount, ncclCommCuDevice, ncclCommUserRank: one int out.
    fn query_int(&self, f: sys::CommIntQueryFn, call: &str) -> Result<i32> {
        let mut value = 0;
        // SAFETY: writes one int.
        let rc = unsafe { f(self.raw, &mut value) };
        self.check(rc, call)?;
        Ok(value)
    }

    pub fn count(&self) -> Result<usize> {
        Ok(self.query_int(self.lib.api.comm_count, "ncclCommCount")? as usize)
    }

    pub fn cu_device(&self) -> Result<i32> {
        self.query_int(self.lib.api.comm_cu_device, "ncclCommCuDevice")
    }

    /// ncclTeamLsa's size: how many ranks of this communicator can load and store each other's
    /// memory (NCCL 2.28's device API; `None` without it).
    pub fn lsa_team_size(&self) -> Option<usize> {
        let team = self.lib.api.team_lsa?;
        // SAFETY: a host query of a live communicator, returning the team by value.
        Some(unsafe { team(self.raw) }.nRanks.max(0) as usize)
    }

    pub fn user_rank(&self) -> Result<usize> {
        Ok(self.query_int(self.lib.api.comm_user_rank, "ncclCommUserRank")? as usize)
    }

    /// `Err` carrying the asynchronous error when the communicator has one.
    #[inline]
    pub fn async_error(&self) -> Result<()> {
        let mut async_rc: ncclResult_t = sys::NCCL_SUCCESS;
        // SAFETY: writes one ncclResult_t.
        let rc = unsafe { (self.lib.api.comm_get_async_error)(self.raw, &mut async_rc) };
        self.check(rc, "ncclCommGetAsyncError")?;
        if async_rc == sys::NCCL_SUCCESS || async_rc == sys::NCCL_IN_PROGRESS {
            return Ok(());
        }
        self.check(async_rc, "asynchronous NCCL operation")
    }

    /// ncclCommAbort: stops outstanding work and frees the communicator (once; later calls and
    /// the drop do nothing).
    pub fn abort(&self) {
        if !self.raw.is_null() && !self.aborted.swap(true, Ordering::SeqCst) {
            // SAFETY: live communicator, aborted once.
            unsafe { (self.lib.api.comm_abort)(self.raw) };
        }
    }

    pub fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    /// `mulsum`: ncclRedOpCreatePreMulSum with a host scalar of `dtype` (its bytes, little endian).
    pub fn create_pre_mul_sum(&self, scalar: &[u8], dtype: DataType) -> Result<RedOp> {
        let create = self.lib.api.red_op_create_pre_mul_sum.ok_or_else(|| {
            CollbenchError::Unsupported(format!(
                "-o mulsum needs ncclRedOpCreatePreMulSum (NCCL 2.11+); the loaded NCCL {} lacks it",
                self.lib.version_string()
            ))
        })?;
        if scalar.len() != dtype.size_bytes() {
            return Err(CollbenchError::Nccl(format!(
                "internal: mulsum scalar of {} bytes for {dtype}",
                scalar.len()
            )));
        }
        // 8 bytes hold any scalar type; NCCL reads size_of(dtype) bytes from the start.
        let mut storage = [0u8; 8];
        storage[..scalar.len()].copy_from_slice(scalar);
        let mut op: ncclRedOp_t = 0;
        // SAFETY: host-immediate scalar is read before the call returns.
        let rc = unsafe {
            create(
                &mut op,
                storage.as_mut_ptr() as *mut c_void,
                dtype.nccl_enum(),
                sys::NCCL_SCALAR_HOST_IMMEDIATE,
                self.raw,
            )
        };
        self.check(rc, "ncclRedOpCreatePreMulSum")?;
        Ok(RedOp(op))
    }

    pub fn destroy_red_op(&self, op: RedOp) -> Result<()> {
        match self.lib.api.red_op_destroy {
            // SAFETY: op was created on this communicator.
            Some(destroy) => self.check(unsafe { destroy(op.0, self.raw) }, "ncclRedOpDestroy"),
            None => Ok(()),
        }
    }

    /// `-R 1` (ncclCommRegister) or `-R 2` (ncclCommWindowRegister, symmetric).
    pub fn register(&self, region: DeviceRegion<'_>, symmetric: bool) -> Result<Registration> {
        let unsupported = |what: &str| {
            CollbenchError::Unsupported(format!(
                "-R {} needs {what}; the loaded NCCL {} lacks it (accepted with this library: -R 0)",
                if symmetric { 2 } else { 1 },
                self.lib.version_string()
            ))
        };
        if symmetric {
            let register = self
                .lib
                .api
                .comm_window_register
                .ok_or_else(|| unsupported("ncclCommWindowRegister (NCCL 2.27+)"))?;
            let mut win: sys::ncclWindow_t = std::ptr::null_mut();
            // SAFETY: region is a live device allocation.
            let rc = unsafe {
                register(
                    self.raw,
                    region.ptr as *mut c_void,
                    region.bytes,
                    &mut win,
                    sys::NCCL_WIN_COLL_SYMMETRIC,
                )
            };
            self.check(rc, "ncclCommWindowRegister")?;
            Ok(Registration::Window(win))
        } else {
            let register = self
                .lib
                .api
                .comm_register
                .ok_or_else(|| unsupported("ncclCommRegister (NCCL 2.19+)"))?;
            let mut handle: *mut c_void = std::ptr::null_mut();
            // SAFETY: region is a live device allocation.
            let rc = unsafe {
                register(
                    self.raw,
                    region.ptr as *mut c_void,
                    region.bytes,
                    &mut handle,
                )
            };
            self.check(rc, "ncclCommRegister")?;
            Ok(Registration::Local(handle))
        }
    }

    pub fn deregister(&self, registration: Registration) -> Result<()> {
        match registration {
            Registration::Local(handle) => match self.lib.api.comm_deregister {
                // SAFETY: handle came from ncclCommRegister on this communicator.
                Some(f) => self.check(unsafe { f(self.raw, handle) }, "ncclCommDeregister"),
                None => Ok(()),
            },
            Registration::Window(win) => match self.lib.api.comm_window_deregister {
                // SAFETY: window came from ncclCommWindowRegister on this communicator.
                Some(f) => self.check(unsafe { f(self.raw, win) }, "ncclCommWindowDeregister"),
                None => Ok(()),
            },
        }
    }

    pub fn has_all_to_all(&self) -> bool {
        self.lib.api.all_to_all.is_some()
    }

    pub fn has_gather(&self) -> bool {
        self.lib.api.gather.is_some()
    }

    pub fn has_scatter(&self) -> bool {
        self.lib.api.scatter.is_some()
    }

    /// Checks that `t.send` and `t.recv` hold `send_count` and `recv_count` elements, then
    /// gathers the arguments every two-buffer call passes on. The only way to build a `Checked`.
    #[inline]
    fn checked(
        &self,
        call: &str,
        t: &Transfer<'_>,
        send_count: usize,
        recv_count: usize,
    ) -> Result<Checked> {
        fits(&t.send, send_count, t.dtype, call, " send")?;
        fits(&t.recv, recv_count, t.dtype, call, " recv")?;
        Ok(Checked {
            send: t.send.ptr as *const c_void,
            recv: t.recv.ptr as *mut c_void,
            dtype: t.dtype.nccl_enum(),
            comm: self.raw,
            stream: stream_of(t.stream),
        })
    }

    /// ncclAllReduce and ncclReduceScatter: `count` is what NCCL receives per rank.
    #[inline]
    fn call_reducing(
        &self,
        f: sys::AllReduceFn,
        call: &str,
        a: Checked,
        count: usize,
        op: RedOp,
    ) -> Result<()> {
        // SAFETY: `a` comes from `checked`, which verified that both live regions hold what `f`
        // reads and writes for `count`.
        let rc = unsafe { f(a.send, a.recv, count, a.dtype, op.0, a.comm, a.stream) };
        self.check(rc, call)
    }

    /// ncclBroadcast, ncclGather and ncclScatter.
    #[inline]
    fn call_rooted(
        &self,
        f: sys::RootedFn,
        call: &str,
        a: Checked,
        count: usize,
        root: usize,
    ) -> Result<()> {
        // SAFETY: as in `call_reducing`.
        let rc = unsafe {
            f(
                a.send,
                a.recv,
                count,
                a.dtype,
                root as i32,
                a.comm,
                a.stream,
            )
        };
        self.check(rc, call)
    }

    /// ncclAllGather and ncclAlltoAll.
    #[inline]
    fn call_unrooted(
        &self,
        f: sys::UnrootedCopyFn,
        call: &str,
        a: Checked,
        count: usize,
    ) -> Result<()> {
        // SAFETY: as in `call_reducing`.
        let rc = unsafe { f(a.send, a.recv, count, a.dtype, a.comm, a.stream) };
        self.check(rc, call)
    }

    #[inline]
    pub fn all_reduce(&self, t: &Transfer<'_>, count: usize, op: RedOp) -> Result<()> {
        let args = self.checked("ncclAllReduce", t, count, count)?;
        self.call_reducing(self.lib.api.all_reduce, "ncclAllReduce", args, count, op)
    }

    #[inline]
    pub fn reduce(&self, t: &Transfer<'_>, count: usize, op: RedOp, root: usize) -> Result<()> {
        let a = self.checked("ncclReduce", t, count, count)?;
        let reduce = self.lib.api.reduce;
        // SAFETY: both regions were checked to hold `count` elements of live device memory.
        let rc = unsafe {
            reduce(
                a.send,
                a.recv,
                count,
                a.dtype,
                op.0,
                root as i32,
                a.comm,
                a.stream,
            )
        };
        self.check(rc, "ncclReduce")
    }

    #[inline]
    pub fn broadcast(&self, t: &Transfer<'_>, count: usize, root: usize) -> Result<()> {
        let args = self.checked("ncclBroadcast", t, count, count)?;
        self.call_rooted(self.lib.api.broadcast, "ncclBroadcast", args, count, root)
    }

    /// `recv` holds `nranks × send_count` elements.
    #[inline]
    pub fn all_gather(&self, t: &Transfer<'_>, send_count: usize, nranks: usize) -> Result<()> {
        let all = send_count.saturating_mul(nranks);
        let args = self.checked("ncclAllGather", t, send_count, all)?;
        self.call_unrooted(self.lib.api.all_gather, "ncclAllGather", args, send_count)
    }

    /// `send` holds `nranks × recv_count` elements.
    #[inline]
    pub fn reduce_scatter(
        &self,
        t: &Transfer<'_>,
        recv_count: usize,
        nranks: usize,
        op: RedOp,
    ) -> Result<()> {
        let call = "ncclReduceScatter";
        let args = self.checked(call, t, recv_count.saturating_mul(nranks), recv_count)?;
        self.call_reducing(self.lib.api.reduce_scatter, call, args, recv_count, op)
    }

    /// ncclAlltoAll (NCCL ≥ 2.28): `count` elements per peer; both buffers hold `nranks × count`.
    #[inline]
    pub fn all_to_all(&self, t: &Transfer<'_>, count: usize, nranks: usize) -> Result<()> {
        let f = present(self.lib.api.all_to_all, "ncclAlltoAll")?;
        let all = count.saturating_mul(nranks);
        let args = self.checked("ncclAlltoAll", t, all, all)?;
        self.call_unrooted(f, "ncclAlltoAll", args, count)
    }

    /// ncclGather (NCCL ≥ 2.28): `recv` (root) holds `nranks × count`.
    #[inline]
    pub fn gather(&self, t: &Transfer<'_>, count: usize, nranks: usize, root: usize) -> Result<()> {
        let f = present(self.lib.api.gather, "ncclGather")?;
        let args = self.checked("ncclGather", t, count, count.saturating_mul(nranks))?;
        self.call_rooted(f, "ncclGather", args, count, root)
    }

    /// ncclScatter (NCCL ≥ 2.28): `send` (root) holds `nranks × count`.
    #[inline]
    pub fn scatter(
        &self,
        t: &Transfer<'_>,
        count: usize,
        nranks: usize,
        root: usize,
    ) -> Result<()> {
        let f = present(self.lib.api.scatter, "ncclScatter")?;
        let args = self.checked("ncclScatter", t, count.saturating_mul(nranks), count)?;
        self.call_rooted(f, "ncclScatter", args, count, root)
    }

    #[inline]
    pub fn send(
        &self,
        send: DeviceRegion<'_>,
        count: usize,
        dtype: DataType,
        peer: usize,
        stream: &CudaStream,
    ) -> Result<()> {
        fits(&send, count, dtype, "ncclSend", "")?;
        let (ptr, ty, stream) = (
            send.ptr as *const c_void,
            dtype.nccl_enum(),
            stream_of(stream),
        );
        // SAFETY: region checked above.
        let rc = unsafe { (self.lib.api.send)(ptr, count, ty, peer as i32, self.raw, stream) };
        self.check(rc, "ncclSend")
    }

    #[inline]
    pub fn recv(
        &self,
        recv: DeviceRegion<'_>,
        count: usize,
        dtype: DataType,
        peer: usize,
        stream: &CudaStream,
    ) -> Result<()> {
        fits(&recv, count, dtype, "ncclRecv", "")?;
        let (ptr, ty, stream) = (
            recv.ptr as *mut c_void,
            dtype.nccl_enum(),
            stream_of(stream),
        );
        // SAFETY: region checked above.
        let rc = unsafe { (self.lib.api.recv)(ptr, count, ty, peer as i32, self.raw, stream) };
        self.check(rc, "ncclRecv")
    }
}

impl Drop for Communicator {
    fn drop(&mut self) {
        if !self.is_aborted() && !self.raw.is_null() {
            // SAFETY: live communicator destroyed once.
            unsafe { (self.lib.api.comm_destroy)(self.raw) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_id_round_trips_and_rejects_wrong_lengths() {
        let bytes: Vec<u8> = (0..128u32).map(|i| (i * 7) as u8).collect();
        let id = UniqueId::from_bytes(&bytes).unwrap();
        assert_eq!(id.to_bytes(), bytes);
        let err = UniqueId::from_bytes(&bytes[..100]).err().unwrap();
        assert!(err.to_string().contains("100 bytes; expected 128"));
    }

    #[test]
    fn a_config_sets_only_the_cta_policy_it_was_given() {
        let unset = CommConfig::default().to_raw(22809);
        assert_eq!(unset.CTAPolicy, sys::NCCL_CONFIG_UNDEF_INT);
        let zero = CommConfig {
            cta_policy: Some(2),
        }
        .to_raw(22809);
        assert_eq!(zero.CTAPolicy, 2);
        assert_eq!(zero.nvlinkCentricSched, sys::NCCL_CONFIG_UNDEF_INT);
        assert_eq!((zero.magic, zero.version), (0xcafebeef, 22800));
    }
}
