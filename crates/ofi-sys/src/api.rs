//! The exported libfabric functions collbench calls, resolved from an opened libfabric.so.1 with
//! dlsym: nothing links libfabric, so a binary starts without it. Finding the library (search
//! order, error messages, load-once) is the caller's job (`collbench::fabric::ofi::loader`).
//!
//! The pointer types come from the headers (wrapper.h's `typeof` typedefs, which bindgen turns into
//! `Option<unsafe extern "C" fn …>`); [`Resolved`] strips the `Option` once the symbol is found.
//!
//! Symbol versions: dlsym returns each function's default (newest) version, as linking against the
//! same library would. Every structure passed to these functions is allocated by this same library
//! (fi_getinfo, fi_dupinfo), and libfabric only appends fields, so a table from a library newer
//! than the headers is consistent with the layouts collbench reads.

use crate::bindings::{
    fi_info, ofi_sys_fi_dupinfo_fn, ofi_sys_fi_fabric_fn, ofi_sys_fi_freeinfo_fn,
    ofi_sys_fi_getinfo_fn, ofi_sys_fi_strerror_fn, ofi_sys_fi_tostr_fn, ofi_sys_fi_version_fn,
};
use libloading::Library;
use std::ffi::c_void;

/// The function-pointer type inside bindgen's nullable `Option<fn>`.
pub trait Resolved {
    type Function: Copy;
}

impl<F: Copy> Resolved for Option<F> {
    type Function = F;
}

pub type GetinfoFn = <ofi_sys_fi_getinfo_fn as Resolved>::Function;
pub type FreeinfoFn = <ofi_sys_fi_freeinfo_fn as Resolved>::Function;
pub type DupinfoFn = <ofi_sys_fi_dupinfo_fn as Resolved>::Function;
pub type FabricFn = <ofi_sys_fi_fabric_fn as Resolved>::Function;
pub type StrerrorFn = <ofi_sys_fi_strerror_fn as Resolved>::Function;
pub type VersionFn = <ofi_sys_fi_version_fn as Resolved>::Function;
pub type TostrFn = <ofi_sys_fi_tostr_fn as Resolved>::Function;

// Every symbol [`LibfabricApi::resolve`] looks up, in table order.
include!("loaded_symbols.rs");

/// A symbol the library does not have, with dlsym's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingSymbol {
    pub name: &'static str,
    pub error: String,
}

/// libfabric's exported functions. Field names are the C names; calling one is as unsafe as the C
/// call, and additionally requires the library they came from to be still loaded.
#[derive(Clone, Copy, Debug)]
pub struct LibfabricApi {
    pub fi_getinfo: GetinfoFn,
    pub fi_freeinfo: FreeinfoFn,
    pub fi_dupinfo: DupinfoFn,
    pub fi_fabric: FabricFn,
    pub fi_strerror: StrerrorFn,
    pub fi_version: VersionFn,
    pub fi_tostr: TostrFn,
}

impl LibfabricApi {
    /// Resolves every function of the table; on failure, all missing symbols with dlsym's error.
    ///
    /// # Safety
    /// `library` must be a libfabric (its symbols of these names have the headers' signatures),
    /// and must stay loaded while the returned table, or any pointer copied out of it, is used.
    pub unsafe fn resolve(library: &Library) -> Result<Self, Vec<MissingSymbol>> {
        let mut missing = Vec::new();
        let getinfo = symbol(library, "fi_getinfo", &mut missing);
        let freeinfo = symbol(library, "fi_freeinfo", &mut missing);
        let dupinfo = symbol(library, "fi_dupinfo", &mut missing);
        let fabric = symbol(library, "fi_fabric", &mut missing);
        let strerror = symbol(library, "fi_strerror", &mut missing);
        let version = symbol(library, "fi_version", &mut missing);
        let tostr = symbol(library, "fi_tostr", &mut missing);
        let (
            Some(fi_getinfo),
            Some(fi_freeinfo),
            Some(fi_dupinfo),
            Some(fi_fabric),
            Some(fi_strerror),
            Some(fi_version),
            Some(fi_tostr),
        ) = (getinfo, freeinfo, dupinfo, fabric, strerror, version, tostr)
        else {
            return Err(missing);
        };
        Ok(LibfabricApi {
            fi_getinfo,
            fi_freeinfo,
            fi_dupinfo,
            fi_fabric,
            fi_strerror,
            fi_version,
            fi_tostr,
        })
    }

    /// `fi_allocinfo()`: the header's inline version is `fi_dupinfo(NULL)`, which needs the
    /// loaded fi_dupinfo, so it lives here rather than among the compiled inline wrappers.
    ///
    /// # Safety
    /// As for any table function; the result (null when out of memory) is freed with fi_freeinfo.
    pub unsafe fn fi_allocinfo(&self) -> *mut fi_info {
        (self.fi_dupinfo)(std::ptr::null())
    }
}

/// Looks one symbol up; a missing (or null) one is recorded in `missing` and yields `None`.
///
/// # Safety
/// `F` must be the symbol's true function-pointer type.
unsafe fn symbol<F: Copy>(
    library: &Library,
    name: &'static str,
    missing: &mut Vec<MissingSymbol>,
) -> Option<F> {
    // NUL-terminated, so libloading need not copy the name.
    let c_name = format!("{name}\0");
    let error = match library.get::<*const c_void>(c_name.as_bytes()) {
        Ok(address) if address.is_null() => "resolves to a null address".to_string(),
        Ok(_) => match library.get::<F>(c_name.as_bytes()) {
            Ok(function) => return Some(*function),
            Err(error) => dl_reason(&error),
        },
        Err(error) => dl_reason(&error),
    };
    missing.push(MissingSymbol { name, error });
    None
}

/// The loader's own text (libloading's Display is only "dlsym failed"; the reason is the source).
fn dl_reason(error: &libloading::Error) -> String {
    match std::error::Error::source(error) {
        Some(reason) => reason.to_string(),
        None => error.to_string(),
    }
}
