//! fi_getinfo: hints in, a list of matching (provider, fabric, domain, endpoint) entries out.

use super::loader::{library, FabricLibrary};
use super::{c_string, check};
use crate::error::{CollbenchError, Result};
use ofi_sys as sys;
use std::ffi::CString;
use std::marker::PhantomData;
use std::os::raw::c_void;

/// Filter for [`InfoList::get`] (an `fi_info` allocated by libfabric, freed on drop).
pub struct Hints {
    raw: *mut sys::fi_info,
    library: &'static FabricLibrary,
}

impl Hints {
    /// Loads libfabric on first use (see [`super::loader`]).
    pub fn new() -> Result<Self> {
        let library = library()?;
        // SAFETY: fi_allocinfo has no preconditions; it returns null when out of memory.
        let raw = unsafe { library.api.fi_allocinfo() };
        if raw.is_null() {
            return Err(CollbenchError::Fabric(
                "fi_allocinfo returned no memory for the hints".into(),
            ));
        }
        Ok(Self { raw, library })
    }

    fn info(&mut self) -> &mut sys::fi_info {
        // SAFETY: raw is a valid fi_info allocated by fi_allocinfo and owned by self.
        unsafe { &mut *self.raw }
    }

    pub fn endpoint_type(&mut self, ep_type: sys::fi_ep_type) -> &mut Self {
        // SAFETY: fi_allocinfo allocates ep_attr.
        unsafe { (*self.info().ep_attr).type_ = ep_type };
        self
    }

    pub fn caps(&mut self, caps: u64) -> &mut Self {
        self.info().caps = caps;
        self
    }

    /// Mode bits the application is prepared to honour (FI_CONTEXT, FI_CONTEXT2 …).
    pub fn mode(&mut self, mode: u64) -> &mut Self {
        self.info().mode = mode;
        self
    }

    /// Memory-registration modes the application supports.
    pub fn mr_mode(&mut self, mr_mode: u32) -> &mut Self {
        // SAFETY: fi_allocinfo allocates domain_attr.
        unsafe { (*self.info().domain_attr).mr_mode = mr_mode as i32 };
        self
    }

    /// Threading model the application follows (FI_THREAD_DOMAIN: one thread per domain).
    pub fn threading(&mut self, threading: sys::fi_threading) -> &mut Self {
        // SAFETY: fi_allocinfo allocates domain_attr.
        unsafe { (*self.info().domain_attr).threading = threading };
        self
    }

    /// Restricts to one provider (libfabric frees the string with the hints, so it is strdup'ed).
    pub fn provider(&mut self, name: &str) -> Result<&mut Self> {
        let raw = dup_c_string(name, "--provider")?;
        // SAFETY: fi_allocinfo allocates fabric_attr; the old value (if any) was strdup'ed too.
        unsafe {
            let attr = &mut *self.info().fabric_attr;
            libc::free(attr.prov_name as *mut c_void);
            attr.prov_name = raw;
        }
        Ok(self)
    }

    /// Restricts to one domain (NIC) name.
    pub fn domain(&mut self, name: &str) -> Result<&mut Self> {
        let raw = dup_c_string(name, "--domain")?;
        // SAFETY: as in `provider`.
        unsafe {
            let attr = &mut *self.info().domain_attr;
            libc::free(attr.name as *mut c_void);
            attr.name = raw;
        }
        Ok(self)
    }
}

fn dup_c_string(value: &str, flag: &str) -> Result<*mut std::os::raw::c_char> {
    let c = CString::new(value).map_err(|_| {
        CollbenchError::Usage(format!(
            "{flag} '{}' contains a NUL byte; give a plain name such as tcp or efa",
            value.escape_debug()
        ))
    })?;
    // SAFETY: c is a valid NUL-terminated string; strdup copies it into malloc'ed memory that
    // fi_freeinfo releases.
    let raw = unsafe { libc::strdup(c.as_ptr()) };
    if raw.is_null() {
        return Err(CollbenchError::Fabric(format!(
            "strdup of {flag} value failed: out of memory"
        )));
    }
    Ok(raw)
}

impl Drop for Hints {
    fn drop(&mut self) {
        // SAFETY: raw came from fi_allocinfo and is freed once.
        unsafe { (self.library.api.fi_freeinfo)(self.raw) };
    }
}

/// The entries fi_getinfo returned (freed on drop).
pub struct InfoList {
    head: *mut sys::fi_info,
    library: &'static FabricLibrary,
}

impl InfoList {
    /// All entries matching `hints`; `Ok(None)` when libfabric has none (-FI_ENODATA). Loads
    /// libfabric on first use.
    pub fn get(hints: Option<&Hints>) -> Result<Option<Self>> {
        let library = match hints {
            Some(hints) => hints.library,
            None => library()?,
        };
        let mut head: *mut sys::fi_info = std::ptr::null_mut();
        let hints_ptr = hints.map_or(std::ptr::null_mut(), |h| h.raw);
        // SAFETY: hints is null or a valid fi_info; head receives a list we own.
        let ret = unsafe {
            (library.api.fi_getinfo)(
                sys::HEADER_API_VERSION,
                std::ptr::null(),
                std::ptr::null(),
                0,
                hints_ptr,
                &mut head,
            )
        };
        if ret == -(sys::FI_ENODATA as i32) {
            return Ok(None);
        }
        check(ret as i64, "fi_getinfo")?;
        if head.is_null() {
            return Ok(None);
        }
        Ok(Some(Self { head, library }))
    }

    pub fn iter(&self) -> impl Iterator<Item = InfoRef<'_>> {
        let mut next = self.head;
        std::iter::from_fn(move || {
            if next.is_null() {
                return None;
            }
            // SAFETY: next is an element of the list we own, valid while self lives.
            let current = unsafe { &*next };
            next = current.next;
            Some(InfoRef {
                raw: current,
                library: self.library,
                _list: PhantomData,
            })
        })
    }
}

impl Drop for InfoList {
    fn drop(&mut self) {
        // SAFETY: head came from fi_getinfo and is freed once.
        unsafe { (self.library.api.fi_freeinfo)(self.head) };
    }
}

/// One entry of an [`InfoList`] (or of an owned [`Info`]).
#[derive(Clone, Copy)]
pub struct InfoRef<'a> {
    raw: &'a sys::fi_info,
    library: &'static FabricLibrary,
    _list: PhantomData<&'a InfoList>,
}

/// libfabric's own spelling of a value (`fi_tostr`), e.g. "FI_MSG | FI_RMA".
fn tostr<T>(library: &FabricLibrary, value: &T, kind: sys::fi_type) -> String {
    // SAFETY: value points to the type fi_tostr expects for `kind` (callers pair them); the
    // returned buffer is libfabric's and is copied before the next call.
    let text = unsafe { (library.api.fi_tostr)(value as *const T as *const c_void, kind) };
    c_string(text)
        .trim()
        .trim_end_matches(',')
        .trim()
        .to_string()
}

impl<'a> InfoRef<'a> {
    pub(crate) fn raw_ptr(&self) -> *mut sys::fi_info {
        self.raw as *const sys::fi_info as *mut sys::fi_info
    }

    /// The libfabric this entry came from.
    pub fn library(&self) -> &'static FabricLibrary {
        self.library
    }

    fn fabric_attr(&self) -> Option<&'a sys::fi_fabric_attr> {
        // SAFETY: a non-null attr pointer of a valid fi_info is valid for the list's lifetime.
        unsafe { self.raw.fabric_attr.as_ref() }
    }
    fn domain_attr(&self) -> Option<&'a sys::fi_domain_attr> {
        // SAFETY: as above.
        unsafe { self.raw.domain_attr.as_ref() }
    }
    fn ep_attr(&self) -> Option<&'a sys::fi_ep_attr> {
        // SAFETY: as above.
        unsafe { self.raw.ep_attr.as_ref() }
    }
    fn tx_attr(&self) -> Option<&'a sys::fi_tx_attr> {
        // SAFETY: as above.
        unsafe { self.raw.tx_attr.as_ref() }
    }

    /// Provider name, layered ones included ("tcp;ofi_rxm").
    pub fn provider(&self) -> String {
        self.fabric_attr()
            .map(|a| c_string(a.prov_name))
            .unwrap_or_default()
    }
    pub fn provider_version(&self) -> String {
        self.fabric_attr()
            .map(|a| format!("{}.{}", a.prov_version >> 16, a.prov_version & 0xffff))
            .unwrap_or_default()
    }
    pub fn fabric(&self) -> String {
        self.fabric_attr()
            .map(|a| c_string(a.name))
            .unwrap_or_default()
    }
    pub fn domain(&self) -> String {
        self.domain_attr()
            .map(|a| c_string(a.name))
            .unwrap_or_default()
    }
    pub fn endpoint_type(&self) -> sys::fi_ep_type {
        self.ep_attr().map(|a| a.type_).unwrap_or(sys::FI_EP_UNSPEC)
    }
    pub fn endpoint_type_name(&self) -> String {
        tostr(self.library, &self.endpoint_type(), sys::FI_TYPE_EP_TYPE)
    }
    pub fn protocol_name(&self) -> String {
        self.ep_attr()
            .map(|a| tostr(self.library, &a.protocol, sys::FI_TYPE_PROTOCOL))
            .unwrap_or_default()
    }
    pub fn caps(&self) -> u64 {
        self.raw.caps
    }
    pub fn caps_names(&self) -> Vec<String> {
        split_flags(&tostr(self.library, &self.raw.caps, sys::FI_TYPE_CAPS))
    }
    pub fn mode(&self) -> u64 {
        self.raw.mode
    }
    pub fn mode_names(&self) -> Vec<String> {
        split_flags(&tostr(self.library, &self.raw.mode, sys::FI_TYPE_MODE))
    }
    pub fn mr_mode(&self) -> u32 {
        self.domain_attr().map(|a| a.mr_mode as u32).unwrap_or(0)
    }
    pub fn mr_mode_names(&self) -> Vec<String> {
        let mode = self.mr_mode() as i32;
        split_flags(&tostr(self.library, &mode, sys::FI_TYPE_MR_MODE))
    }
    pub fn address_format_name(&self) -> String {
        tostr(
            self.library,
            &self.raw.addr_format,
            sys::FI_TYPE_ADDR_FORMAT,
        )
    }
    pub fn max_message_size(&self) -> usize {
        self.ep_attr().map(|a| a.max_msg_size).unwrap_or(0)
    }
    pub fn inject_size(&self) -> usize {
        self.tx_attr().map(|a| a.inject_size).unwrap_or(0)
    }
    /// Ordering guarantees of the transmit side (FI_ORDER_* bits).
    pub fn message_order(&self) -> u64 {
        self.tx_attr().map(|a| a.msg_order).unwrap_or(0)
    }

    /// An owned copy of this single entry (fi_dupinfo), independent of the list.
    pub fn duplicate(&self) -> Result<Info> {
        // SAFETY: raw is a valid fi_info; fi_dupinfo copies this one entry (next = null).
        let raw = unsafe { (self.library.api.fi_dupinfo)(self.raw) };
        if raw.is_null() {
            return Err(CollbenchError::Fabric(
                "fi_dupinfo returned no memory".into(),
            ));
        }
        Ok(Info {
            raw,
            library: self.library,
        })
    }
}

fn split_flags(text: &str) -> Vec<String> {
    text.split(['|', ','])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// One owned fi_info entry (freed on drop): what a domain and its endpoints are opened from.
pub struct Info {
    raw: *mut sys::fi_info,
    library: &'static FabricLibrary,
}

// SAFETY: an fi_info is a plain heap structure owned exclusively by this value, not tied to
// the thread that created it; moving it to another thread (which then uses it alone) is fine.
unsafe impl Send for Info {}

impl Info {
    /// An independent copy (fi_dupinfo), e.g. one per thread.
    pub fn try_clone(&self) -> Result<Info> {
        self.as_ref().duplicate()
    }

    pub fn as_ref(&self) -> InfoRef<'_> {
        InfoRef {
            // SAFETY: raw is a valid fi_info owned by self.
            raw: unsafe { &*self.raw },
            library: self.library,
            _list: PhantomData,
        }
    }
}

impl Drop for Info {
    fn drop(&mut self) {
        // SAFETY: raw came from fi_dupinfo and is freed once.
        unsafe { (self.library.api.fi_freeinfo)(self.raw) };
    }
}
