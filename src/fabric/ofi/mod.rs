//! Thin safe layer over `ofi-sys`: every `unsafe` libfabric call of collbench lives in this
//! folder. Objects close themselves on drop, children keep their parents alive (`Rc`), and every
//! failure becomes a [`CollbenchError::Fabric`] carrying fi_strerror's text.
//!
//! libfabric itself is loaded on first use ([`loader::library`]); the objects that call its
//! exported functions (hints, fi_info lists and entries) hold the loaded library, so no call can
//! happen before it is loaded.
//!
//! Single-threaded by design (`Rc`, not `Send`): each process drives its endpoints from one
//! thread and polls their completion queues itself (works with manual-progress providers).

mod buffer;
mod domain;
mod endpoint;
mod info;
pub mod loader;

pub use buffer::{RegisteredBuffer, RemoteRegion};
pub use domain::Domain;
pub use endpoint::{Completion, Endpoint, PeerAddr, Posted, RegionId};
pub use info::{Hints, Info, InfoList, InfoRef};
pub use loader::{library, FabricLibrary};

use crate::error::{CollbenchError, Result};
use std::ffi::CStr;

/// libfabric's text for a (positive or negative) error number.
pub fn strerror(code: i64) -> String {
    let code = code.unsigned_abs().min(i32::MAX as u64) as i32;
    // A libfabric return code implies a loaded libfabric; without one there is no text to ask for.
    let Some(library) = loader::loaded() else {
        return format!("error {code}");
    };
    // SAFETY: fi_strerror returns a pointer to a static string for any value.
    let text = unsafe { (library.api.fi_strerror)(code) };
    if text.is_null() {
        return format!("error {code}");
    }
    // SAFETY: non-null, NUL-terminated, static.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

/// Turns a libfabric return code (0 or positive = success, negative = -errno) into a Result.
pub(crate) fn check(ret: i64, what: &str) -> Result<i64> {
    if ret < 0 {
        Err(CollbenchError::Fabric(format!(
            "{what} failed: {} (-{})",
            strerror(ret),
            -ret
        )))
    } else {
        Ok(ret)
    }
}

/// `FI_EAGAIN` as libfabric returns it from data-path calls.
pub(crate) const NEG_EAGAIN: i64 = -(ofi_sys::FI_EAGAIN as i64);

/// The API version of the headers collbench was built against, "major.minor".
pub fn header_version() -> String {
    format!(
        "{}.{}",
        ofi_sys::FI_MAJOR_VERSION,
        ofi_sys::FI_MINOR_VERSION
    )
}

/// Converts a C string owned by libfabric into a Rust string ("" for null).
pub(crate) fn c_string(ptr: *const std::os::raw::c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: libfabric's strings are NUL-terminated and outlive this call.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}
