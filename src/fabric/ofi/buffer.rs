//! Page-aligned host memory registered with a domain (fi_mr_reg), closed before it is freed.

use super::{check, Domain};
use crate::error::{CollbenchError, Result};
use ofi_sys as sys;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::os::raw::c_void;
use std::rc::Rc;

const ALIGNMENT: usize = 4096;

/// What a peer needs to read or write a registered buffer with RMA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteRegion {
    /// Target address of byte 0 (the virtual address with FI_MR_VIRT_ADDR, else 0).
    pub base: u64,
    pub key: u64,
    pub len: u64,
}

pub struct RegisteredBuffer {
    ptr: *mut u8,
    layout: Layout,
    len: usize,
    mr: *mut sys::fid_mr,
    desc: *mut c_void,
    remote: RemoteRegion,
    // Declared last: the domain outlives the MR closed in Drop.
    _domain: Rc<Domain>,
}

impl RegisteredBuffer {
    /// Allocates `len` bytes and registers them for `access` (FI_SEND | FI_RECV | FI_READ …).
    pub fn new(domain: &Rc<Domain>, len: usize, access: u64) -> Result<Self> {
        let layout = Layout::from_size_align(len.max(1), ALIGNMENT).map_err(|e| {
            CollbenchError::Usage(format!("buffer of {len} bytes cannot be allocated: {e}"))
        })?;
        // SAFETY: layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            return Err(CollbenchError::Fabric(format!(
                "allocating a {len}-byte buffer failed: out of memory"
            )));
        }
        let mr_mode = domain.info().mr_mode();
        let requested_key = domain.allocate_key();
        let mut mr: *mut sys::fid_mr = std::ptr::null_mut();
        // SAFETY: domain is open, ptr..ptr+len is allocated and stays so until after fi_close(mr).
        let ret = unsafe {
            sys::fi_mr_reg(
                domain.raw,
                ptr as *const c_void,
                len,
                access,
                0,
                requested_key,
                0,
                &mut mr,
                std::ptr::null_mut(),
            )
        };
        if let Err(error) = check(
            ret as i64,
            &format!("fi_mr_reg of {len} bytes on {}", domain.label()),
        ) {
            // SAFETY: allocated above with this layout, not registered.
            unsafe { dealloc(ptr, layout) };
            return Err(error);
        }
        // SAFETY: mr is a registered region.
        let (desc, key) = unsafe { (sys::fi_mr_desc(mr), sys::fi_mr_key(mr)) };
        let base = if mr_mode & sys::FI_MR_VIRT_ADDR != 0 {
            ptr as u64
        } else {
            0
        };
        Ok(Self {
            ptr,
            layout,
            len,
            mr,
            desc,
            remote: RemoteRegion {
                base,
                key,
                len: len as u64,
            },
            _domain: Rc::clone(domain),
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn remote(&self) -> RemoteRegion {
        self.remote
    }

    pub(super) fn desc(&self) -> *mut c_void {
        self.desc
    }

    /// Address of `offset` after checking that `offset..offset+len` lies inside the buffer.
    pub(super) fn address(&self, offset: usize, len: usize) -> Result<*mut c_void> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len => {
                // SAFETY: offset is within the allocation.
                Ok(unsafe { self.ptr.add(offset) } as *mut c_void)
            }
            _ => Err(CollbenchError::Fabric(format!(
                "internal: range {offset}+{len} outside a {}-byte registered buffer",
                self.len
            ))),
        }
    }

    pub(super) fn bytes(&self) -> &[u8] {
        // SAFETY: ptr..ptr+len is allocated and initialised (zeroed at allocation).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub(super) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and &mut self gives exclusive access from Rust's side.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for RegisteredBuffer {
    fn drop(&mut self) {
        // SAFETY: mr is registered; the memory is freed only after it is deregistered.
        unsafe {
            sys::fi_close(&mut (*self.mr).fid);
            dealloc(self.ptr, self.layout);
        }
    }
}
