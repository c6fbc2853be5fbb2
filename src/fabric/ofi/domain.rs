//! Fabric and domain (one NIC, or one shared-memory domain) opened from an fi_info entry.

use super::{check, Info, InfoRef};
use crate::error::{CollbenchError, Result};
use ofi_sys as sys;
use std::cell::Cell;
use std::rc::Rc;

struct Fabric {
    raw: *mut sys::fid_fabric,
}

impl Drop for Fabric {
    fn drop(&mut self) {
        // SAFETY: raw is an open fabric; every domain holding an Rc to it is already closed.
        unsafe { sys::fi_close(&mut (*self.raw).fid) };
    }
}

/// An open access domain, with the fi_info it was opened from (endpoints are opened from the
/// same entry).
pub struct Domain {
    pub(super) raw: *mut sys::fid_domain,
    info: Info,
    /// Key collbench proposes for the next memory region when the provider does not choose keys
    /// itself (no FI_MR_PROV_KEY): keys must be unique within a domain.
    next_key: Cell<u64>,
    // Declared last: dropped after `raw` is closed in Drop.
    _fabric: Rc<Fabric>,
}

impl Domain {
    pub fn open(entry: InfoRef<'_>) -> Result<Rc<Self>> {
        let info = entry.duplicate()?;
        let what = format!(
            "provider {} fabric {} domain {}",
            entry.provider(),
            entry.fabric(),
            entry.domain()
        );
        let mut fabric_raw: *mut sys::fid_fabric = std::ptr::null_mut();
        // SAFETY: fabric_attr of a fi_getinfo/fi_dupinfo entry is valid; fabric_raw receives the
        // new object.
        let ret = unsafe {
            (entry.library().api.fi_fabric)(
                (*info.as_ref().raw_ptr()).fabric_attr,
                &mut fabric_raw,
                std::ptr::null_mut(),
            )
        };
        check(ret as i64, &format!("fi_fabric ({what})"))?;
        let fabric = Rc::new(Fabric { raw: fabric_raw });
        let mut domain_raw: *mut sys::fid_domain = std::ptr::null_mut();
        // SAFETY: fabric is open, info is valid, domain_raw receives the new object.
        let ret = unsafe {
            sys::fi_domain(
                fabric.raw,
                info.as_ref().raw_ptr(),
                &mut domain_raw,
                std::ptr::null_mut(),
            )
        };
        check(ret as i64, &format!("fi_domain ({what})"))?;
        if domain_raw.is_null() {
            return Err(CollbenchError::Fabric(format!(
                "fi_domain ({what}) returned success but no domain"
            )));
        }
        Ok(Rc::new(Self {
            raw: domain_raw,
            info,
            next_key: Cell::new(1),
            _fabric: fabric,
        }))
    }

    pub fn info(&self) -> InfoRef<'_> {
        self.info.as_ref()
    }

    pub(super) fn allocate_key(&self) -> u64 {
        let key = self.next_key.get();
        self.next_key.set(key + 1);
        key
    }

    /// "provider/domain", for error messages.
    pub fn label(&self) -> String {
        format!("{}/{}", self.info().provider(), self.info().domain())
    }
}

impl Drop for Domain {
    fn drop(&mut self) {
        // SAFETY: raw is an open domain; endpoints, CQs, AVs and MRs hold an Rc to the domain,
        // so all of them are closed already.
        unsafe { sys::fi_close(&mut (*self.raw).fid) };
    }
}
