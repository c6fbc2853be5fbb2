//! Generates bindings to the libfabric headers found by pkg-config. Nothing links libfabric: the
//! headers are needed at build time only, and collbench loads libfabric.so.1 at run time, on first
//! use (`collbench::fabric::ofi::loader`), so binaries start without it and pay nothing for it
//! unless `collbench fabric …` runs.
//!
//! The exported functions collbench calls (`LOADED_SYMBOLS` in src/loaded_symbols.rs:
//! fi_getinfo, fi_freeinfo, fi_dupinfo, fi_fabric, fi_strerror, fi_version, fi_tostr) are kept out
//! of bindgen's `extern` block; src/api.rs resolves them with dlsym into a function table, typed from the headers
//! (wrapper.h's typeof typedefs). The other exported functions are left out too
//! (`UNLOADED_EXPORTED_FUNCTIONS`): a call to one would be an undefined symbol at link time.
//!
//! libfabric's data path (fi_send, fi_recv, fi_cq_read, fi_write, fi_close …) consists of
//! `static inline` functions in the headers, which have no symbol in libfabric.so. bindgen's
//! `wrap_static_fns` writes a C file with one exported wrapper per inline function; we compile it
//! with the cc crate against the same headers and link it in. Those wrappers call through the fid
//! ops tables and need no libfabric symbol, except `fi_allocinfo`, which calls `fi_dupinfo`: it is
//! not wrapped, and the function table provides it (`dupinfo(NULL)`). ofi-sys's tests check the
//! compiled wrappers with `nm -u`.
//!
//! Set PKG_CONFIG_PATH to pick another installation (e.g. /opt/amazon/efa/lib64/pkgconfig on EFA
//! hosts, which ship libfabric 2.x).
//!
//! Checked against 2.x headers (Debian sid's libfabric-dev 2.1.0 unpacked with `dpkg -x` into a
//! directory DIR): `PKG_CONFIG_LIBDIR=DIR/usr/lib/x86_64-linux-gnu/pkgconfig
//! PKG_CONFIG_SYSROOT_DIR=DIR cargo check --features fabric,mpi` builds, with cfg(ofi_api_v2) set.
//! collbench only touches fi_info fields and calls present in both 1.14+ and 2.x (no FI_AV_MAP,
//! FI_MR_BASIC/SCALABLE or other API removed in 2.0).

use std::env;
use std::path::PathBuf;

/// Oldest libfabric whose API collbench uses (fi_info layout, FI_MR_* modes, FI_CONTEXT2).
const MIN_LIBFABRIC: &str = "1.14";

include!("src/loaded_symbols.rs");

/// Exported functions collbench does not use: no binding, so nothing can link against them.
const UNLOADED_EXPORTED_FUNCTIONS: &[&str] =
    &["fi_open", "fi_tostr_r", "fi_getparams", "fi_freeparams"];

/// `static inline`, but calls the exported fi_dupinfo: provided by the table instead.
const INLINE_CALLING_EXPORTED: &[&str] = &["fi_allocinfo"];

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/loaded_symbols.rs");
    for var in [
        "PKG_CONFIG_PATH",
        "PKG_CONFIG_LIBDIR",
        "PKG_CONFIG_SYSROOT_DIR",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rustc-check-cfg=cfg(ofi_api_v2)");

    // cargo_metadata(false): the headers' include paths only, no `-lfabric`.
    let library = match pkg_config::Config::new()
        .atleast_version(MIN_LIBFABRIC)
        .cargo_metadata(false)
        .probe("libfabric")
    {
        Ok(library) => library,
        Err(error) => panic!(
            "ofi-sys needs libfabric >= {MIN_LIBFABRIC} with its pkg-config file \
             (Debian: apt-get install libfabric-dev; EFA hosts: PKG_CONFIG_PATH=/opt/amazon/efa/lib64/pkgconfig): {error}"
        ),
    };

    // libfabric 2.x dropped deprecated API (FI_AV_MAP, FI_MR_BASIC/SCALABLE, …); expose the major
    // version so code that must differ can be guarded with cfg(ofi_api_v2).
    let major: u32 = library
        .version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(1);
    if major >= 2 {
        println!("cargo:rustc-cfg=ofi_api_v2");
    }
    println!("cargo:version={}", library.version);

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let wrappers_c = out_dir.join("ofi_static_wrappers");
    let clang_includes: Vec<String> = library
        .include_paths
        .iter()
        .map(|p| format!("-I{}", p.display()))
        .collect();

    let mut builder = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_args(&clang_includes)
        .allowlist_function("fi_.*")
        .allowlist_type("fi_.*|fid.*|ofi_sys_.*_fn")
        .allowlist_var("FI_.*")
        .wrap_static_fns(true)
        .wrap_static_fns_path(&wrappers_c)
        .derive_default(true)
        .prepend_enum_name(false)
        .layout_tests(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for name in LOADED_SYMBOLS
        .iter()
        .chain(UNLOADED_EXPORTED_FUNCTIONS)
        .chain(INLINE_CALLING_EXPORTED)
    {
        builder = builder.blocklist_function(*name);
    }
    let bindings = builder.generate().expect(
        "bindgen failed on the libfabric headers (is libclang installed? Debian: libclang-dev)",
    );
    bindings
        .write_to_file(out_dir.join("bindings.rs"))
        .expect("writing bindings.rs into OUT_DIR");

    let mut build = cc::Build::new();
    build
        .file(wrappers_c.with_extension("c"))
        // The generated file includes wrapper.h by its relative path.
        .include(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .warnings(false);
    for path in &library.include_paths {
        build.include(path);
    }
    build.compile("ofi_static_wrappers");
}
