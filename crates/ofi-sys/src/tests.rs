//! The function table against the system libfabric.so.1 (installed with the headers this crate
//! was built against) and against a library that is not libfabric; the compiled inline wrappers
//! must reference no libfabric symbol.

use super::*;
use libloading::Library;
use std::ffi::CStr;

fn system_libfabric() -> (Library, LibfabricApi) {
    // SAFETY: libfabric's initialisers only set up its provider list.
    let library = unsafe { Library::new("libfabric.so.1") }
        .unwrap_or_else(|e| panic!("libfabric.so.1 (libfabric1) must be installed: {e:?}"));
    // SAFETY: it is libfabric; the library outlives the table in every test below.
    let api = unsafe { LibfabricApi::resolve(&library) }.expect("every symbol resolves");
    (library, api)
}

#[test]
fn the_table_calls_the_system_libfabric() {
    let (_library, api) = system_libfabric();
    // SAFETY: no preconditions.
    let version = unsafe { (api.fi_version)() };
    assert!(version >= MIN_RUNTIME_VERSION, "{}", version_text(version));
    assert_eq!(
        version >> 16,
        version_text(version)
            .split('.')
            .next()
            .unwrap()
            .parse::<u32>()
            .unwrap()
    );

    // SAFETY: static string for any error number.
    let text = unsafe { CStr::from_ptr((api.fi_strerror)(FI_EAGAIN as i32)) };
    assert!(!text.to_bytes().is_empty());

    // SAFETY: fi_allocinfo's result is valid, with allocated attrs, and freed once.
    unsafe {
        let info = api.fi_allocinfo();
        assert!(!info.is_null());
        assert!(!(*info).ep_attr.is_null() && !(*info).domain_attr.is_null());
        let ep_type: fi_ep_type = FI_EP_RDM;
        let name = CStr::from_ptr((api.fi_tostr)(
            &ep_type as *const fi_ep_type as *const std::ffi::c_void,
            FI_TYPE_EP_TYPE,
        ));
        assert_eq!(name.to_string_lossy().trim(), "FI_EP_RDM");
        let copy = (api.fi_dupinfo)(info);
        assert!(!copy.is_null());
        (api.fi_freeinfo)(copy);
        (api.fi_freeinfo)(info);
    }
}

#[test]
fn a_library_that_is_not_libfabric_is_rejected_naming_every_symbol() {
    // SAFETY: libc is already loaded in every process.
    let libc = unsafe { Library::new("libc.so.6") }.expect("libc.so.6");
    // SAFETY: nothing is called when resolution fails.
    let missing = unsafe { LibfabricApi::resolve(&libc) }.expect_err("libc has no fi_getinfo");
    let names: Vec<&str> = missing.iter().map(|m| m.name).collect();
    assert_eq!(names, LOADED_SYMBOLS);
    for symbol in &missing {
        assert!(
            symbol.error.contains("undefined symbol") && symbol.error.contains(symbol.name),
            "{symbol:?}"
        );
    }
}

#[test]
fn the_compiled_inline_wrappers_need_no_libfabric_symbol() {
    let archive = concat!(env!("OUT_DIR"), "/libofi_static_wrappers.a");
    let output = std::process::Command::new("nm")
        .args(["-u", archive])
        .output()
        .expect("nm (binutils) must be runnable");
    assert!(output.status.success(), "nm -u {archive} failed");
    let undefined = String::from_utf8_lossy(&output.stdout);
    let symbols: Vec<&str> = undefined
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .filter(|name| name.starts_with("fi_") || name.starts_with("ofi_"))
        .collect();
    assert!(
        symbols.is_empty(),
        "the wrappers reference libfabric symbols {symbols:?}; blocklist those inline functions in build.rs"
    );
    // The wrappers are really there (a missing archive would also have no undefined symbols).
    let defined = std::process::Command::new("nm")
        .args(["--defined-only", archive])
        .output()
        .expect("nm");
    assert!(String::from_utf8_lossy(&defined.stdout).contains("fi_send__extern"));
}

#[test]
fn version_text_splits_major_and_minor() {
    assert_eq!(version_text(fi_version_of(1, 17)), "1.17");
    assert_eq!(version_text(fi_version_of(2, 1)), "2.1");
    assert_eq!(version_text(MIN_RUNTIME_VERSION), "1.14");
}
