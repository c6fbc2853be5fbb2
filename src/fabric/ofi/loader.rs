//! Finding and loading libfabric at run time, on first use, once per process. Nothing links
//! libfabric (see crates/ofi-sys), so every collbench binary starts without it, and without the
//! cost of its initialisers (Debian's pulls in PSM, whose constructor sleeps ~0.2 s), unless
//! `collbench fabric …` runs.
//!
//! Search order: `COLLBENCH_LIBFABRIC_LIBRARY` (when set, nothing else is tried: an explicit choice
//! that fails is an error, not a hint), then `libfabric.so.1` through the dynamic loader
//! (LD_LIBRARY_PATH, ld.so.cache), then the AWS EFA installer's folders `/opt/amazon/efa/lib64` and
//! `/opt/amazon/efa/lib`. A candidate that opens but lacks a symbol, or is older than 1.14, counts
//! as a failed attempt and the search goes on. The error lists every attempt.

use crate::dynlib::{candidates, file_of_symbol, try_open, Attempt, LibrarySpec, SearchEnv};
use crate::error::{CollbenchError, Result};
use libloading::Library;
use ofi_sys::{LibfabricApi, MIN_RUNTIME_VERSION};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Environment variable naming the libfabric to load.
pub const OVERRIDE_VAR: &str = "COLLBENCH_LIBFABRIC_LIBRARY";

/// The library's soname (1.x and 2.x alike).
pub const SONAME: &str = "libfabric.so.1";

/// Where the AWS EFA installer puts libfabric, tried after the dynamic loader.
pub const EFA_INSTALLER_DIRS: [&str; 2] = ["/opt/amazon/efa/lib64", "/opt/amazon/efa/lib"];

pub fn libfabric_spec() -> LibrarySpec {
    LibrarySpec {
        what: "libfabric",
        override_var: OVERRIDE_VAR,
        loader_names: &[SONAME],
        wheel_paths: &[],
        extra_dirs: EFA_INSTALLER_DIRS.iter().map(PathBuf::from).collect(),
    }
}

/// The search environment of this process: only the override variable matters.
pub fn search_env_from_process() -> SearchEnv {
    SearchEnv {
        override_path: std::env::var_os(OVERRIDE_VAR)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string_lossy().into_owned()),
        ..SearchEnv::default()
    }
}

/// A loaded libfabric and its function table.
pub struct FabricLibrary {
    pub api: LibfabricApi,
    /// The file the functions came from (what `libfabric.so.1` resolved to).
    pub path: String,
    /// `fi_version()`: `FI_VERSION(major, minor)`.
    pub version: u32,
    // Keeps the code behind `api` mapped.
    _library: Library,
}

impl FabricLibrary {
    /// "major.minor", e.g. "1.17".
    pub fn version_text(&self) -> String {
        ofi_sys::version_text(self.version)
    }
}

static LOADED: OnceLock<FabricLibrary> = OnceLock::new();

/// The process's libfabric, loaded on the first call (searching as described above) and reused.
/// A failed search is not remembered: the next call searches again.
pub fn library() -> Result<&'static FabricLibrary> {
    if let Some(library) = LOADED.get() {
        return Ok(library);
    }
    let library = load_with(&libfabric_spec(), &search_env_from_process())?;
    // Another thread may have won the race; its library is kept and this one is closed again.
    Ok(LOADED.get_or_init(|| library))
}

/// The process's libfabric if [`library`] has loaded it already.
pub fn loaded() -> Option<&'static FabricLibrary> {
    LOADED.get()
}

/// Loads libfabric from an explicit search environment (no caching).
pub fn load_with(spec: &LibrarySpec, env: &SearchEnv) -> Result<FabricLibrary> {
    let mut attempts = Vec::new();
    for candidate in candidates(spec, env) {
        match open_candidate(&candidate) {
            Ok(library) => return Ok(library),
            Err(error) => attempts.push(Attempt { candidate, error }),
        }
    }
    Err(CollbenchError::Fabric(describe_failure(
        spec, env, &attempts,
    )))
}

fn open_candidate(candidate: &str) -> std::result::Result<FabricLibrary, String> {
    let library = try_open(candidate)?;
    // SAFETY: a library exporting these names is libfabric; `library` is stored next to the table
    // and outlives it.
    let api = unsafe { LibfabricApi::resolve(&library) }.map_err(|missing| {
        let list: Vec<String> = missing
            .iter()
            .map(|m| format!("{} ({})", m.name, m.error))
            .collect();
        format!(
            "opened, but it is not a usable libfabric: missing symbol(s) {}",
            list.join("; ")
        )
    })?;
    // SAFETY: fi_version has no preconditions.
    let version = unsafe { (api.fi_version)() };
    if version < MIN_RUNTIME_VERSION {
        return Err(format!(
            "libfabric {} is older than {}, the oldest collbench supports",
            ofi_sys::version_text(version),
            ofi_sys::version_text(MIN_RUNTIME_VERSION)
        ));
    }
    let path = file_of_symbol(api.fi_getinfo as usize).unwrap_or_else(|| candidate.to_string());
    Ok(FabricLibrary {
        api,
        path,
        version,
        _library: library,
    })
}

/// Every attempt, and how to fix it.
pub fn describe_failure(spec: &LibrarySpec, env: &SearchEnv, attempts: &[Attempt]) -> String {
    let minimum = ofi_sys::version_text(MIN_RUNTIME_VERSION);
    let mut message = match &env.override_path {
        Some(path) => format!(
            "could not load libfabric from {}={path} (when it is set, only that path is tried):",
            spec.override_var
        ),
        None => format!(
            "could not load libfabric, which `collbench fabric` needs (tried {} place{}):",
            attempts.len(),
            if attempts.len() == 1 { "" } else { "s" }
        ),
    };
    for attempt in attempts {
        message.push_str(&format!("\n  {}: {}", attempt.candidate, attempt.error));
    }
    let efa_dirs = EFA_INSTALLER_DIRS.join(", ");
    message.push_str(&match &env.override_path {
        Some(_) => format!(
            "\nPoint {} at a libfabric.so.1 (>= {minimum}) that exists, or unset it to search {SONAME} \
             through the dynamic loader (LD_LIBRARY_PATH, ld.so.cache) and in {efa_dirs}.",
            spec.override_var
        ),
        None => format!(
            "\nInstall libfabric >= {minimum} (Debian/Ubuntu: apt-get install libfabric1; AWS: the EFA \
             installer, which puts it in /opt/amazon/efa/lib64), or set {}=/path/to/{SONAME}.",
            spec.override_var
        ),
    });
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with_override(path: Option<&str>) -> SearchEnv {
        SearchEnv {
            override_path: path.map(str::to_string),
            ..SearchEnv::default()
        }
    }

    #[test]
    fn search_order_is_the_loader_then_the_efa_installer_folders() {
        assert_eq!(
            candidates(&libfabric_spec(), &env_with_override(None)),
            vec![
                "libfabric.so.1",
                "/opt/amazon/efa/lib64/libfabric.so.1",
                "/opt/amazon/efa/lib/libfabric.so.1",
            ]
        );
    }

    #[test]
    fn the_override_is_the_only_candidate() {
        assert_eq!(
            candidates(
                &libfabric_spec(),
                &env_with_override(Some("/x/libfabric.so.1"))
            ),
            vec!["/x/libfabric.so.1"]
        );
    }

    #[test]
    fn a_missing_override_fails_naming_the_path_and_the_variable() {
        let env = env_with_override(Some("/nonexistent/libfabric.so.1"));
        let error = load_with(&libfabric_spec(), &env).err().expect("must fail");
        assert_eq!(error.exit_code(), 5);
        let message = error.to_string();
        assert!(
            message.contains("COLLBENCH_LIBFABRIC_LIBRARY=/nonexistent/libfabric.so.1"),
            "{message}"
        );
        assert!(
            message.contains("\n  /nonexistent/libfabric.so.1: no such file"),
            "{message}"
        );
        assert!(message.contains("only that path is tried"), "{message}");
    }

    #[test]
    fn a_library_that_is_not_libfabric_is_an_attempt_naming_the_missing_symbols() {
        let env = env_with_override(Some("libc.so.6"));
        let message = load_with(&libfabric_spec(), &env)
            .err()
            .expect("libc is no libfabric")
            .to_string();
        assert!(
            message.contains("libc.so.6: opened, but it is not a usable libfabric: missing symbol(s) fi_getinfo ("),
            "{message}"
        );
        assert!(message.contains("fi_tostr ("), "{message}");
    }

    #[test]
    fn every_failed_place_is_listed_with_its_reason_and_the_fix() {
        let spec = LibrarySpec {
            loader_names: &["libcollbench-no-such-fabric.so.1"],
            extra_dirs: vec![PathBuf::from("/nonexistent-efa/lib64")],
            ..libfabric_spec()
        };
        let message = load_with(&spec, &env_with_override(None))
            .err()
            .expect("nothing loads")
            .to_string();
        assert!(message.contains("tried 2 places"), "{message}");
        assert!(
            message.contains("\n  libcollbench-no-such-fabric.so.1: libcollbench-no-such-fabric.so.1: cannot open shared object file"),
            "{message}"
        );
        assert!(
            message.contains(
                "\n  /nonexistent-efa/lib64/libcollbench-no-such-fabric.so.1: no such file"
            ),
            "{message}"
        );
        assert!(message.contains("apt-get install libfabric1"), "{message}");
        assert!(
            message.contains("COLLBENCH_LIBFABRIC_LIBRARY=/path/to/libfabric.so.1"),
            "{message}"
        );
    }

    #[test]
    fn the_system_libfabric_loads_through_the_dynamic_loader() {
        let library = load_with(&libfabric_spec(), &env_with_override(None)).expect("libfabric1");
        assert!(library.version >= MIN_RUNTIME_VERSION);
        assert!(
            library.path.starts_with('/') && library.path.contains("libfabric.so"),
            "{}",
            library.path
        );
        assert_eq!(
            library.version_text(),
            format!("{}.{}", library.version >> 16, library.version & 0xffff)
        );
    }
}
