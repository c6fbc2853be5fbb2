//! Loading NCCL: its [`LibrarySpec`] for the shared search in [`crate::dynlib`], symbol
//! resolution into the function table, and the loaded library kept for the process.
//!
//! Search order for NCCL: `COLLBENCH_NCCL_LIBRARY` (when set, nothing else is tried: an explicit
//! choice that fails is an error, not a hint), then `libnccl.so.2` and `libnccl.so` through the
//! dynamic loader (LD_LIBRARY_PATH, ld.so.cache, RUNPATH), then the NCCL wheel's folder
//! (`site-packages/nvidia/nccl/lib`) under VIRTUAL_ENV, CONDA_PREFIX, the user site and the system
//! site-packages, and last the folders `python3` itself reports.

use super::sys::{self, NcclApi};
use crate::dynlib::{describe_failure, file_of_symbol, open_first, LibrarySpec, SearchEnv};
use crate::error::{CollbenchError, Result};
use libloading::Library;
use std::sync::{Arc, OnceLock};

pub fn nccl_spec() -> LibrarySpec {
    LibrarySpec {
        what: "NCCL",
        override_var: "COLLBENCH_NCCL_LIBRARY",
        loader_names: &["libnccl.so.2", "libnccl.so"],
        wheel_paths: &["nvidia/nccl/lib/libnccl.so.2"],
        extra_dirs: Vec::new(),
    }
}

/// An opened NCCL with its resolved function table.
pub struct NcclLibrary {
    pub api: NcclApi,
    pub path: String,
    /// `ncclGetVersion`'s code, e.g. 22809.
    pub version_code: i32,
    // Keeps the code behind `api` mapped; declared last so it is dropped last.
    _library: Library,
}

impl NcclLibrary {
    /// `2.28.9` from 22809 (or the pre-2.9 `2708` style).
    pub fn version_string(&self) -> String {
        version_string(self.version_code)
    }
}

pub fn version_string(code: i32) -> String {
    if code >= 10000 {
        format!("{}.{}.{}", code / 10000, (code % 10000) / 100, code % 100)
    } else {
        format!("{}.{}.{}", code / 1000, (code % 1000) / 100, code % 100)
    }
}

/// `COLLBENCH_NCCL_DISABLE=ncclAlltoAll,ncclGather,...`: optional NCCL symbols to treat as absent,
/// so the fallbacks (grouped send/recv) can be run — and used if a new API misbehaves.
pub const DISABLE_VAR: &str = "COLLBENCH_NCCL_DISABLE";

/// Parses a [`DISABLE_VAR`] value; only optional symbols may be named.
pub fn parse_disabled(value: &str) -> Result<Vec<String>> {
    let names: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(bad) = names
        .iter()
        .find(|n| !sys::OPTIONAL_SYMBOLS.contains(&n.as_str()))
    {
        return Err(CollbenchError::Usage(format!(
            "{DISABLE_VAR}={value:?} names {bad:?}, which is not an optional NCCL symbol; accepted: \
             a comma-separated list of {}",
            sys::OPTIONAL_SYMBOLS.join(", ")
        )));
    }
    Ok(names)
}

/// Loads NCCL once per process (searching as described above); later calls reuse it.
pub fn load() -> Result<Arc<NcclLibrary>> {
    static LOADED: OnceLock<Arc<NcclLibrary>> = OnceLock::new();
    if let Some(lib) = LOADED.get() {
        return Ok(lib.clone());
    }
    let spec = nccl_spec();
    let mut lib = load_with(&spec, &SearchEnv::from_process(&spec))?;
    if let Ok(value) = std::env::var(DISABLE_VAR) {
        for name in parse_disabled(&value)? {
            lib.api.disable(&name);
        }
    }
    Ok(LOADED.get_or_init(|| Arc::new(lib)).clone())
}

/// Loads NCCL from an explicit search environment (no caching).
pub fn load_with(spec: &LibrarySpec, env: &SearchEnv) -> Result<NcclLibrary> {
    let opened = open_first(spec, env)
        .map_err(|attempts| CollbenchError::Nccl(describe_failure(spec, &attempts)))?;
    let api = resolve(&opened.library, &opened.path)?;
    let mut version_code = 0;
    // SAFETY: ncclGetVersion writes one int.
    let rc = unsafe { (api.get_version)(&mut version_code) };
    if rc != sys::NCCL_SUCCESS {
        return Err(CollbenchError::Nccl(format!(
            "ncclGetVersion failed with code {rc} in {}",
            opened.path
        )));
    }
    let path = file_of_symbol(api.get_version as usize).unwrap_or(opened.path);
    Ok(NcclLibrary {
        api,
        path,
        version_code,
        _library: opened.library,
    })
}

/// Resolves every required symbol (all missing ones are named) and the optional ones.
fn resolve(lib: &Library, path: &str) -> Result<NcclApi> {
    let missing: Vec<&str> = sys::REQUIRED_SYMBOLS
        .iter()
        .copied()
        .filter(|name| symbol_address(lib, name).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(CollbenchError::Nccl(format!(
            "{path} is not a usable NCCL: missing symbol(s) {} (NCCL 2.12 or newer is required)",
            missing.join(", ")
        )));
    }
    // SAFETY: each symbol is cast to the signature nccl.h declares for it.
    unsafe {
        Ok(NcclApi {
            get_version: required(lib, "ncclGetVersion"),
            get_unique_id: required(lib, "ncclGetUniqueId"),
            comm_init_rank: required(lib, "ncclCommInitRank"),
            comm_init_all: required(lib, "ncclCommInitAll"),
            comm_destroy: required(lib, "ncclCommDestroy"),
            comm_abort: required(lib, "ncclCommAbort"),
            comm_get_async_error: required(lib, "ncclCommGetAsyncError"),
            comm_count: required(lib, "ncclCommCount"),
            comm_cu_device: required(lib, "ncclCommCuDevice"),
            comm_user_rank: required(lib, "ncclCommUserRank"),
            get_error_string: required(lib, "ncclGetErrorString"),
            get_last_error: required(lib, "ncclGetLastError"),
            group_start: required(lib, "ncclGroupStart"),
            group_end: required(lib, "ncclGroupEnd"),
            all_reduce: required(lib, "ncclAllReduce"),
            reduce: required(lib, "ncclReduce"),
            broadcast: required(lib, "ncclBroadcast"),
            all_gather: required(lib, "ncclAllGather"),
            reduce_scatter: required(lib, "ncclReduceScatter"),
            send: required(lib, "ncclSend"),
            recv: required(lib, "ncclRecv"),
            all_to_all: optional(lib, "ncclAlltoAll"),
            gather: optional(lib, "ncclGather"),
            scatter: optional(lib, "ncclScatter"),
            red_op_create_pre_mul_sum: optional(lib, "ncclRedOpCreatePreMulSum"),
            red_op_destroy: optional(lib, "ncclRedOpDestroy"),
            comm_register: optional(lib, "ncclCommRegister"),
            comm_deregister: optional(lib, "ncclCommDeregister"),
            comm_window_register: optional(lib, "ncclCommWindowRegister"),
            comm_window_deregister: optional(lib, "ncclCommWindowDeregister"),
            mem_alloc: optional(lib, "ncclMemAlloc"),
            mem_free: optional(lib, "ncclMemFree"),
            comm_init_rank_config: optional(lib, "ncclCommInitRankConfig"),
            dev_comm_create: optional(lib, "ncclDevCommCreate"),
            dev_comm_destroy: optional(lib, "ncclDevCommDestroy"),
            team_lsa: optional(lib, "ncclTeamLsa"),
        })
    }
}

fn symbol_address(lib: &Library, name: &str) -> Option<*const std::ffi::c_void> {
    // SAFETY: only the address is read.
    unsafe { lib.get::<*const std::ffi::c_void>(name.as_bytes()) }
        .ok()
        .map(|s| *s)
        .filter(|p| !p.is_null())
}

/// # Safety
/// `T` must be the symbol's true function-pointer type; the symbol must exist (checked above).
unsafe fn required<T: Copy>(lib: &Library, name: &str) -> T {
    optional(lib, name).unwrap_or_else(|| unreachable!("{name} was checked present"))
}

/// # Safety
/// `T` must be the symbol's true function-pointer type.
unsafe fn optional<T: Copy>(lib: &Library, name: &str) -> Option<T> {
    lib.get::<T>(name.as_bytes()).ok().map(|s| *s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynlib::candidates;
    use std::path::Path;

    fn bare_env() -> SearchEnv {
        SearchEnv::default()
    }

    #[test]
    fn override_is_the_only_candidate() {
        let env = SearchEnv {
            override_path: Some("/opt/x/libnccl.so.2".into()),
            virtual_env: Some("/venv".into()),
            ..bare_env()
        };
        assert_eq!(candidates(&nccl_spec(), &env), vec!["/opt/x/libnccl.so.2"]);
    }

    #[test]
    fn loader_names_come_first_then_wheels_in_env_order() {
        let venv = tempfile::tempdir().unwrap();
        let conda = tempfile::tempdir().unwrap();
        for root in [venv.path(), conda.path()] {
            std::fs::create_dir_all(root.join("lib/python3.11/site-packages")).unwrap();
        }
        std::fs::create_dir_all(conda.path().join("lib/python3.9/site-packages")).unwrap();
        let env = SearchEnv {
            virtual_env: Some(venv.path().into()),
            conda_prefix: Some(conda.path().into()),
            ..bare_env()
        };
        let list = candidates(&nccl_spec(), &env);
        let wheel = |root: &Path, py: &str| {
            root.join(format!(
                "lib/{py}/site-packages/nvidia/nccl/lib/libnccl.so.2"
            ))
            .to_string_lossy()
            .into_owned()
        };
        assert_eq!(
            list,
            vec![
                "libnccl.so.2".to_string(),
                "libnccl.so".to_string(),
                wheel(venv.path(), "python3.11"),
                wheel(conda.path(), "python3.11"),
                wheel(conda.path(), "python3.9"),
            ]
        );
    }

    #[test]
    fn missing_override_fails_and_lists_what_was_tried() {
        let env = SearchEnv {
            override_path: Some("/nonexistent/libnccl.so.2".into()),
            ..bare_env()
        };
        let err = load_with(&nccl_spec(), &env).err().expect("must fail");
        assert_eq!(err.exit_code(), 3);
        let msg = err.to_string();
        assert!(
            msg.contains("/nonexistent/libnccl.so.2: no such file"),
            "{msg}"
        );
        assert!(msg.contains("COLLBENCH_NCCL_LIBRARY"), "{msg}");
    }

    #[test]
    fn a_library_without_nccl_symbols_is_rejected_naming_them() {
        // libc exists everywhere and has none of NCCL's symbols.
        let env = SearchEnv {
            override_path: Some("libc.so.6".into()),
            ..bare_env()
        };
        let err = load_with(&nccl_spec(), &env).err().expect("must fail");
        assert_eq!(err.exit_code(), 3);
        let msg = err.to_string();
        assert!(msg.contains("missing symbol(s) ncclGetVersion"), "{msg}");
        assert!(msg.contains("ncclAllReduce"), "{msg}");
    }

    #[test]
    fn only_optional_symbols_can_be_disabled() {
        assert_eq!(
            parse_disabled("ncclAlltoAll, ncclGather,").unwrap(),
            vec!["ncclAlltoAll".to_string(), "ncclGather".to_string()]
        );
        let err = parse_disabled("ncclAllReduce").unwrap_err();
        assert_eq!(err.exit_code(), 6);
        assert!(err.to_string().contains("ncclScatter"), "{err}");
    }

    #[test]
    fn version_codes_format_like_nccl() {
        assert_eq!(version_string(22809), "2.28.9");
        assert_eq!(version_string(21903), "2.19.3");
        assert_eq!(version_string(2708), "2.7.8");
    }
}
