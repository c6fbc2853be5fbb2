//! A reliable-datagram (FI_EP_RDM) endpoint with its own completion queue, address vector,
//! registered buffers and operation contexts.
//!
//! Buffers belong to the endpoint and operations refer to them by (region, offset, length), so
//! Rust code can only look at a region while no local operation on it is in flight.

use super::{check, strerror, Domain, RegisteredBuffer, RemoteRegion, NEG_EAGAIN};
use crate::error::{CollbenchError, Result};
use ofi_sys as sys;
use std::collections::VecDeque;
use std::os::raw::c_void;
use std::rc::Rc;

/// Index of a registered buffer of an [`Endpoint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionId(pub usize);

/// A peer inserted into the endpoint's address vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(sys::fi_addr_t);

/// Outcome of posting an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Posted {
    /// Accepted; a completion with the operation's label will follow.
    Queued,
    /// -FI_EAGAIN: the provider has no room yet (or is still connecting); progress the
    /// completion queue and post again.
    Busy,
}

/// A finished operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The label given when posting.
    pub label: u32,
    pub region: RegionId,
    /// Bytes received (receives); the posted length for other operations.
    pub len: usize,
}

#[derive(Clone, Copy)]
struct InFlight {
    label: u32,
    region: RegionId,
    posted_len: usize,
    what: &'static str,
}

struct CompletionQueue {
    raw: *mut sys::fid_cq,
}
impl Drop for CompletionQueue {
    fn drop(&mut self) {
        // SAFETY: open CQ, its endpoint is closed already (Endpoint::drop).
        unsafe { sys::fi_close(&mut (*self.raw).fid) };
    }
}

struct AddressVector {
    raw: *mut sys::fid_av,
}
impl Drop for AddressVector {
    fn drop(&mut self) {
        // SAFETY: open AV, its endpoint is closed already (Endpoint::drop).
        unsafe { sys::fi_close(&mut (*self.raw).fid) };
    }
}

pub struct Endpoint {
    raw: *mut sys::fid_ep,
    // Dropped in this order after `raw` is closed in Drop: buffers, AV, CQ, contexts, domain.
    regions: Vec<RegisteredBuffer>,
    region_in_flight: Vec<usize>,
    av: AddressVector,
    cq: CompletionQueue,
    /// One libfabric context per operation slot (FI_CONTEXT2 mode: the provider may use it while
    /// the operation is in flight, so it lives here at a fixed address).
    contexts: Box<[sys::fi_context2]>,
    in_flight: Vec<Option<InFlight>>,
    /// Oldest-freed first: a context is reused as late as possible.
    free_slots: VecDeque<usize>,
    domain: Rc<Domain>,
}

impl Endpoint {
    /// Opens an endpoint on `domain` with buffers of `region_sizes` bytes registered for
    /// `access`, room for `max_in_flight` simultaneous operations.
    pub fn open(
        domain: &Rc<Domain>,
        region_sizes: &[usize],
        access: u64,
        max_in_flight: usize,
    ) -> Result<Self> {
        let label = domain.label();
        let mut cq_attr = sys::fi_cq_attr {
            size: max_in_flight + 16,
            format: sys::FI_CQ_FORMAT_MSG,
            wait_obj: sys::FI_WAIT_NONE,
            ..Default::default()
        };
        let mut cq_raw: *mut sys::fid_cq = std::ptr::null_mut();
        // SAFETY: domain is open, attr valid, cq_raw receives the object.
        let ret =
            unsafe { sys::fi_cq_open(domain.raw, &mut cq_attr, &mut cq_raw, std::ptr::null_mut()) };
        check(ret as i64, &format!("fi_cq_open on {label}"))?;
        let cq = CompletionQueue { raw: cq_raw };

        let mut av_attr = sys::fi_av_attr {
            type_: sys::FI_AV_TABLE,
            count: 16,
            ..Default::default()
        };
        let mut av_raw: *mut sys::fid_av = std::ptr::null_mut();
        // SAFETY: as above.
        let ret =
            unsafe { sys::fi_av_open(domain.raw, &mut av_attr, &mut av_raw, std::ptr::null_mut()) };
        check(ret as i64, &format!("fi_av_open on {label}"))?;
        let av = AddressVector { raw: av_raw };

        let mut regions = Vec::with_capacity(region_sizes.len());
        for &size in region_sizes {
            regions.push(RegisteredBuffer::new(domain, size, access)?);
        }

        let mut ep_raw: *mut sys::fid_ep = std::ptr::null_mut();
        // SAFETY: domain open, info is the entry the domain was opened from.
        let ret = unsafe {
            sys::fi_endpoint(
                domain.raw,
                domain.info().raw_ptr(),
                &mut ep_raw,
                std::ptr::null_mut(),
            )
        };
        check(ret as i64, &format!("fi_endpoint on {label}"))?;
        let endpoint = Self {
            raw: ep_raw,
            region_in_flight: vec![0; regions.len()],
            regions,
            av,
            cq,
            contexts: vec![sys::fi_context2::default(); max_in_flight].into_boxed_slice(),
            in_flight: vec![None; max_in_flight],
            free_slots: (0..max_in_flight).collect(),
            domain: Rc::clone(domain),
        };
        // SAFETY: endpoint, CQ and AV are open objects of the same domain.
        unsafe {
            let ret = sys::fi_ep_bind(
                endpoint.raw,
                &mut (*endpoint.cq.raw).fid,
                (sys::FI_TRANSMIT | sys::FI_RECV) as u64,
            );
            check(ret as i64, &format!("fi_ep_bind (CQ) on {label}"))?;
            let ret = sys::fi_ep_bind(endpoint.raw, &mut (*endpoint.av.raw).fid, 0);
            check(ret as i64, &format!("fi_ep_bind (AV) on {label}"))?;
            let ret = sys::fi_enable(endpoint.raw);
            check(ret as i64, &format!("fi_enable on {label}"))?;
        }
        Ok(endpoint)
    }

    pub fn domain(&self) -> &Rc<Domain> {
        &self.domain
    }

    /// This endpoint's address, to give to peers (fi_getname).
    pub fn name(&self) -> Result<Vec<u8>> {
        let mut len: usize = 64;
        loop {
            let mut name = vec![0u8; len];
            let mut got = len;
            // SAFETY: name has `got` writable bytes.
            let ret = unsafe {
                sys::fi_getname(
                    &mut (*self.raw).fid,
                    name.as_mut_ptr() as *mut c_void,
                    &mut got,
                )
            };
            if ret == -(sys::FI_ETOOSMALL as i32) && got > len {
                len = got;
                continue;
            }
            check(
                ret as i64,
                &format!("fi_getname on {}", self.domain.label()),
            )?;
            name.truncate(got);
            return Ok(name);
        }
    }

    /// Inserts a peer's address (from its [`Endpoint::name`]).
    pub fn insert_peer(&mut self, name: &[u8]) -> Result<PeerAddr> {
        let mut addr: sys::fi_addr_t = sys::FI_ADDR_NOTAVAIL;
        // SAFETY: name points to an address in the provider's format (the peer's fi_getname).
        let ret = unsafe {
            sys::fi_av_insert(
                self.av.raw,
                name.as_ptr() as *const c_void,
                1,
                &mut addr,
                0,
                std::ptr::null_mut(),
            )
        };
        check(
            ret as i64,
            &format!("fi_av_insert on {}", self.domain.label()),
        )?;
        if ret != 1 || addr == sys::FI_ADDR_NOTAVAIL {
            return Err(CollbenchError::Fabric(format!(
                "fi_av_insert on {} rejected a {}-byte peer address",
                self.domain.label(),
                name.len()
            )));
        }
        Ok(PeerAddr(addr))
    }

    pub fn remote_region(&self, region: RegionId) -> Result<RemoteRegion> {
        Ok(self.region_ref(region)?.remote())
    }

    fn region_ref(&self, region: RegionId) -> Result<&RegisteredBuffer> {
        self.regions.get(region.0).ok_or_else(|| {
            CollbenchError::Fabric(format!("internal: endpoint has no region {}", region.0))
        })
    }

    /// Read access to a region; refused while a local operation on it is in flight.
    pub fn region(&self, region: RegionId) -> Result<&[u8]> {
        self.ensure_idle(region)?;
        Ok(self.regions[region.0].bytes())
    }

    /// Write access to a region; refused while a local operation on it is in flight.
    pub fn region_mut(&mut self, region: RegionId) -> Result<&mut [u8]> {
        self.ensure_idle(region)?;
        Ok(self.regions[region.0].bytes_mut())
    }

    fn ensure_idle(&self, region: RegionId) -> Result<()> {
        self.region_ref(region)?;
        match self.region_in_flight[region.0] {
            0 => Ok(()),
            n => Err(CollbenchError::Fabric(format!(
                "internal: region {} accessed with {n} operations in flight",
                region.0
            ))),
        }
    }

    /// Operations posted and not completed yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len() - self.free_slots.len()
    }

    /// Claims a slot and runs `post` with the buffer address, descriptor and context pointer.
    fn post(
        &mut self,
        what: &'static str,
        label: u32,
        region: RegionId,
        offset: usize,
        len: usize,
        post: impl FnOnce(*mut sys::fid_ep, *mut c_void, *mut c_void, *mut c_void) -> isize,
    ) -> Result<Posted> {
        let buffer = self.region_ref(region)?;
        let address = buffer.address(offset, len)?;
        let desc = buffer.desc();
        let Some(slot) = self.free_slots.pop_front() else {
            return Err(CollbenchError::Fabric(format!(
                "internal: more than {} operations in flight on {}",
                self.in_flight.len(),
                self.domain.label()
            )));
        };
        let context = &mut self.contexts[slot] as *mut sys::fi_context2 as *mut c_void;
        let ret = post(self.raw, address, desc, context) as i64;
        if ret == NEG_EAGAIN {
            self.free_slots.push_back(slot);
            return Ok(Posted::Busy);
        }
        if let Err(error) = check(
            ret,
            &format!("{what} of {len} bytes on {}", self.domain.label()),
        ) {
            self.free_slots.push_back(slot);
            return Err(error);
        }
        self.in_flight[slot] = Some(InFlight {
            label,
            region,
            posted_len: len,
            what,
        });
        self.region_in_flight[region.0] += 1;
        Ok(Posted::Queued)
    }

    /// fi_send of `len` bytes at `offset` of `region` to `peer`.
    pub fn send(
        &mut self,
        peer: PeerAddr,
        region: RegionId,
        offset: usize,
        len: usize,
        label: u32,
    ) -> Result<Posted> {
        self.post(
            "fi_send",
            label,
            region,
            offset,
            len,
            |ep, buf, desc, ctx| {
                // SAFETY: buf..buf+len is registered memory owned by this endpoint, kept alive and
                // untouched by Rust until the completion (region_in_flight); ctx is this slot's.
                unsafe { sys::fi_send(ep, buf, len, desc, peer.0, ctx) }
            },
        )
    }

    /// fi_recv of up to `len` bytes into `offset` of `region`, from any peer.
    pub fn recv(
        &mut self,
        region: RegionId,
        offset: usize,
        len: usize,
        label: u32,
    ) -> Result<Posted> {
        self.post(
            "fi_recv",
            label,
            region,
            offset,
            len,
            |ep, buf, desc, ctx| {
                // SAFETY: as in send.
                unsafe { sys::fi_recv(ep, buf, len, desc, sys::FI_ADDR_UNSPEC, ctx) }
            },
        )
    }

    /// Tagged send (fi_tsend): used for control messages, which never match untagged receives.
    pub fn tagged_send(
        &mut self,
        peer: PeerAddr,
        region: RegionId,
        offset: usize,
        len: usize,
        tag: u64,
        label: u32,
    ) -> Result<Posted> {
        self.post(
            "fi_tsend",
            label,
            region,
            offset,
            len,
            |ep, buf, desc, ctx| {
                // SAFETY: as in send.
                unsafe { sys::fi_tsend(ep, buf, len, desc, peer.0, tag, ctx) }
            },
        )
    }

    /// Tagged receive (fi_trecv) matching exactly `tag`.
    pub fn tagged_recv(
        &mut self,
        region: RegionId,
        offset: usize,
        len: usize,
        tag: u64,
        label: u32,
    ) -> Result<Posted> {
        self.post(
            "fi_trecv",
            label,
            region,
            offset,
            len,
            |ep, buf, desc, ctx| {
                // SAFETY: as in send.
                unsafe { sys::fi_trecv(ep, buf, len, desc, sys::FI_ADDR_UNSPEC, tag, 0, ctx) }
            },
        )
    }

    /// RMA write of local `region[offset..offset+len]` to `remote` at `remote_offset`.
    /// `delivery_complete` asks for the completion only once the data is visible at the target.
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        &mut self,
        peer: PeerAddr,
        region: RegionId,
        offset: usize,
        len: usize,
        remote: RemoteRegion,
        remote_offset: u64,
        delivery_complete: bool,
        label: u32,
    ) -> Result<Posted> {
        check_remote_range(remote, remote_offset, len)?;
        let flags = sys::FI_COMPLETION as u64
            | if delivery_complete {
                sys::FI_DELIVERY_COMPLETE as u64
            } else {
                0
            };
        self.post(
            "fi_writemsg",
            label,
            region,
            offset,
            len,
            |ep, buf, desc, ctx| {
                let iov = libc::iovec {
                    iov_base: buf,
                    iov_len: len,
                };
                let mut descs = [desc];
                let rma_iov = sys::fi_rma_iov {
                    addr: remote.base + remote_offset,
                    len,
                    key: remote.key,
                };
                let msg = sys::fi_msg_rma {
                    msg_iov: &iov as *const libc::iovec as *const sys::iovec,
                    desc: descs.as_mut_ptr(),
                    iov_count: 1,
                    addr: peer.0,
                    rma_iov: &rma_iov,
                    rma_iov_count: 1,
                    context: ctx,
                    data: 0,
                };
                // SAFETY: as in send; the iov arrays are read during the call only.
                unsafe { sys::fi_writemsg(ep, &msg, flags) }
            },
        )
    }

    /// RMA read of `len` bytes from `remote` at `remote_offset` into local `region[offset..]`.
    #[allow(clippy::too_many_arguments)]
    pub fn read(
        &mut self,
        peer: PeerAddr,
        region: RegionId,
        offset: usize,
        len: usize,
        remote: RemoteRegion,
        remote_offset: u64,
        label: u32,
    ) -> Result<Posted> {
        check_remote_range(remote, remote_offset, len)?;
        self.post(
            "fi_read",
            label,
            region,
            offset,
            len,
            |ep, buf, desc, ctx| {
                // SAFETY: as in send.
                unsafe {
                    sys::fi_read(
                        ep,
                        buf,
                        len,
                        desc,
                        peer.0,
                        remote.base + remote_offset,
                        remote.key,
                        ctx,
                    )
                }
            },
        )
    }

    /// Reads the completion queue once (this also drives the provider's progress) and appends
    /// what finished to `out`; returns how many.
    pub fn poll(&mut self, out: &mut Vec<Completion>) -> Result<usize> {
        let mut entries = [sys::fi_cq_msg_entry::default(); 16];
        // SAFETY: entries has room for 16 fi_cq_msg_entry (the CQ's format).
        let ret = unsafe {
            sys::fi_cq_read(
                self.cq.raw,
                entries.as_mut_ptr() as *mut c_void,
                entries.len(),
            )
        } as i64;
        if ret == NEG_EAGAIN {
            return Ok(0);
        }
        if ret == -(sys::FI_EAVAIL as i64) {
            return Err(self.read_error());
        }
        check(ret, &format!("fi_cq_read on {}", self.domain.label()))?;
        let count = ret as usize;
        for entry in &entries[..count] {
            let slot = self.slot_of(entry.op_context)?;
            let op = self.in_flight[slot].take().ok_or_else(|| {
                CollbenchError::Fabric(format!("internal: completion for idle slot {slot}"))
            })?;
            self.free_slots.push_back(slot);
            self.region_in_flight[op.region.0] -= 1;
            let len = if op.what == "fi_recv" || op.what == "fi_trecv" {
                entry.len
            } else {
                op.posted_len
            };
            out.push(Completion {
                label: op.label,
                region: op.region,
                len,
            });
        }
        Ok(count)
    }

    fn slot_of(&self, context: *mut c_void) -> Result<usize> {
        let base = self.contexts.as_ptr() as usize;
        let size = std::mem::size_of::<sys::fi_context2>();
        let address = context as usize;
        let offset = address.wrapping_sub(base);
        if address < base || offset % size != 0 || offset / size >= self.contexts.len() {
            return Err(CollbenchError::Fabric(format!(
                "completion on {} carries an unknown context {context:p}",
                self.domain.label()
            )));
        }
        Ok(offset / size)
    }

    /// Turns the error entry waiting in the CQ into an error naming the failed operation.
    fn read_error(&mut self) -> CollbenchError {
        let mut entry = sys::fi_cq_err_entry::default();
        // SAFETY: entry is a valid fi_cq_err_entry; flags 0.
        let ret = unsafe { sys::fi_cq_readerr(self.cq.raw, &mut entry, 0) };
        if ret < 0 {
            return CollbenchError::Fabric(format!(
                "fi_cq_readerr on {} failed: {}",
                self.domain.label(),
                strerror(ret as i64)
            ));
        }
        let mut text = [0 as std::os::raw::c_char; 256];
        // SAFETY: text has 256 bytes; err_data comes from the same error entry.
        let provider_text = unsafe {
            sys::fi_cq_strerror(
                self.cq.raw,
                entry.prov_errno,
                entry.err_data,
                text.as_mut_ptr(),
                text.len(),
            )
        };
        let provider_text = super::c_string(provider_text);
        let operation = self
            .slot_of(entry.op_context)
            .ok()
            .and_then(|slot| self.in_flight[slot])
            .map(|op| format!("{} of {} bytes", op.what, op.posted_len))
            .unwrap_or_else(|| "an operation".to_string());
        CollbenchError::Fabric(format!(
            "{operation} on {} completed with error: {} (-{}); provider says: {provider_text} (prov_errno {})",
            self.domain.label(),
            strerror(entry.err as i64),
            entry.err,
            entry.prov_errno
        ))
    }
}

fn check_remote_range(remote: RemoteRegion, offset: u64, len: usize) -> Result<()> {
    match offset.checked_add(len as u64) {
        Some(end) if end <= remote.len => Ok(()),
        _ => Err(CollbenchError::Fabric(format!(
            "internal: remote range {offset}+{len} outside a {}-byte remote region",
            remote.len
        ))),
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        // SAFETY: raw is an open endpoint; closing it first cancels its operations, after which
        // buffers, AV and CQ (fields, dropped next) can be released.
        unsafe { sys::fi_close(&mut (*self.raw).fid) };
    }
}
