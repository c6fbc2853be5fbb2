//! Finding and opening a shared library (NCCL, and NVRTC for `crate::backend::cuda`), recording
//! every place tried so a failure can say exactly where we looked.
//!
//! Search order for NCCL: `COLLBENCH_NCCL_LIBRARY` (when set, nothing else is tried: an explicit
//! choice that fails is an error, not a hint), then `libnccl.so.2` and `libnccl.so` through the
//! dynamic loader (LD_LIBRARY_PATH, ld.so.cache, RUNPATH), then the NCCL wheel's folder
//! (`site-packages/nvidia/nccl/lib`) under VIRTUAL_ENV, CONDA_PREFIX, the user site and the system
//! site-packages, and last the folders `python3` itself reports.

use super::sys::{self, NcclApi};
use crate::error::{CollbenchError, Result};
use libloading::Library;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// What to look for: library file names and where wheels put them.
#[derive(Clone, Debug)]
pub struct LibrarySpec {
    /// Human name for messages, e.g. `NCCL`.
    pub what: &'static str,
    /// Environment variable naming an explicit path.
    pub override_var: &'static str,
    /// File names tried through the dynamic loader, in order.
    pub loader_names: &'static [&'static str],
    /// Paths below a `site-packages` folder, e.g. `nvidia/nccl/lib/libnccl.so.2`.
    pub wheel_paths: &'static [&'static str],
    /// Extra absolute folders (e.g. a CUDA toolkit's lib64) tried after the loader names.
    pub extra_dirs: Vec<PathBuf>,
}

pub fn nccl_spec() -> LibrarySpec {
    LibrarySpec {
        what: "NCCL",
        override_var: "COLLBENCH_NCCL_LIBRARY",
        loader_names: &["libnccl.so.2", "libnccl.so"],
        wheel_paths: &["nvidia/nccl/lib/libnccl.so.2"],
        extra_dirs: Vec::new(),
    }
}

/// The environment a search reads, captured once so tests can build their own.
#[derive(Clone, Debug, Default)]
pub struct SearchEnv {
    pub override_path: Option<String>,
    pub virtual_env: Option<PathBuf>,
    pub conda_prefix: Option<PathBuf>,
    pub home: Option<PathBuf>,
    /// Roots whose `lib/python3*/{site,dist}-packages` are scanned (system Pythons).
    pub system_prefixes: Vec<PathBuf>,
    /// Ask `python3` for its site-packages when nothing else was found.
    pub ask_python: bool,
}

impl SearchEnv {
    pub fn from_process(spec: &LibrarySpec) -> SearchEnv {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        SearchEnv {
            override_path: var(spec.override_var).map(|v| v.to_string_lossy().into_owned()),
            virtual_env: var("VIRTUAL_ENV").map(PathBuf::from),
            conda_prefix: var("CONDA_PREFIX").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
            system_prefixes: vec![PathBuf::from("/usr/local"), PathBuf::from("/usr")],
            ask_python: true,
        }
    }
}

/// One place tried and why it did not work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub candidate: String,
    pub error: String,
}

/// A library that opened, and the candidate that opened it.
pub struct Opened {
    pub library: Library,
    pub path: String,
}

/// Where a library was looked for (in order) — the candidates, without opening anything.
pub fn candidates(spec: &LibrarySpec, env: &SearchEnv) -> Vec<String> {
    if let Some(path) = &env.override_path {
        return vec![path.clone()];
    }
    let mut list: Vec<String> = spec.loader_names.iter().map(|n| n.to_string()).collect();
    for dir in &spec.extra_dirs {
        for name in spec.loader_names {
            list.push(dir.join(name).to_string_lossy().into_owned());
        }
    }
    for site in site_packages_dirs(env) {
        for wheel_path in spec.wheel_paths {
            list.push(site.join(wheel_path).to_string_lossy().into_owned());
        }
    }
    dedup_keep_order(list)
}

/// Opens the first candidate that loads. On failure, the error lists every attempt.
pub fn open_first(
    spec: &LibrarySpec,
    env: &SearchEnv,
) -> std::result::Result<Opened, Vec<Attempt>> {
    let mut attempts = Vec::new();
    let mut tried = std::collections::HashSet::new();
    for candidate in candidates(spec, env) {
        tried.insert(candidate.clone());
        match try_open(&candidate) {
            Ok(library) => {
                return Ok(Opened {
                    library,
                    path: candidate,
                })
            }
            Err(error) => attempts.push(Attempt { candidate, error }),
        }
    }
    if env.override_path.is_none() && env.ask_python {
        for site in python_reported_site_dirs() {
            for wheel_path in spec.wheel_paths {
                let candidate = site.join(wheel_path).to_string_lossy().into_owned();
                if !tried.insert(candidate.clone()) {
                    continue;
                }
                match try_open(&candidate) {
                    Ok(library) => {
                        return Ok(Opened {
                            library,
                            path: candidate,
                        })
                    }
                    Err(error) => attempts.push(Attempt { candidate, error }),
                }
            }
        }
    }
    Err(attempts)
}

/// Formats a failed search: what, the variable to set, and every place tried.
pub fn describe_failure(spec: &LibrarySpec, attempts: &[Attempt]) -> String {
    let mut msg = format!(
        "could not load the {} library; set {}=/path/to/the/library or install it (tried {} place{}):",
        spec.what,
        spec.override_var,
        attempts.len(),
        if attempts.len() == 1 { "" } else { "s" }
    );
    for attempt in attempts {
        msg.push_str(&format!("\n  {}: {}", attempt.candidate, attempt.error));
    }
    msg
}

/// Opens one candidate (a name for the dynamic loader, or a path); the loader's reason if not.
pub fn try_open(candidate: &str) -> std::result::Result<Library, String> {
    let is_path = candidate.contains('/');
    if is_path && !Path::new(candidate).exists() {
        return Err("no such file".to_string());
    }
    // SAFETY: opening a shared library runs its initialisers; NCCL's, NVRTC's and libfabric's are
    // benign.
    unsafe { Library::new(candidate) }.map_err(|e| {
        // libloading's Display is only "dlopen failed"; the loader's reason is the source.
        match std::error::Error::source(&e) {
            Some(reason) => reason.to_string(),
            None => e.to_string(),
        }
    })
}

/// The file a loaded symbol lives in (dladdr), e.g. what `libnccl.so.2` resolved to.
pub fn file_of_symbol(address: usize) -> Option<String> {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the address and fills `info`.
    let found = unsafe { libc::dladdr(address as *const std::ffi::c_void, &mut info) } != 0;
    if !found || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is a NUL-terminated string owned by the loader.
    let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    Some(name.to_string_lossy().into_owned())
}

fn dedup_keep_order(list: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    list.into_iter()
        .filter(|c| seen.insert(c.clone()))
        .collect()
}

/// site-packages folders of the active and system Python environments, without running Python.
pub fn site_packages_dirs(env: &SearchEnv) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    roots.extend(env.virtual_env.iter().cloned());
    roots.extend(env.conda_prefix.iter().cloned());
    if let Some(home) = &env.home {
        roots.push(home.join(".local"));
    }
    roots.extend(env.system_prefixes.iter().cloned());
    let mut dirs = Vec::new();
    for root in roots {
        for python_dir in python_lib_dirs(&root.join("lib")) {
            for leaf in ["site-packages", "dist-packages"] {
                let dir = python_dir.join(leaf);
                if dir.is_dir() {
                    dirs.push(dir);
                }
            }
        }
    }
    dirs
}

/// `<lib>/python3*` folders, newest version first.
fn python_lib_dirs(lib: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(lib) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort_by_key(|p| std::cmp::Reverse(python_minor(p)));
    dirs
}

fn python_minor(path: &Path) -> u32 {
    path.file_name()
        .and_then(|f| f.to_str())
        .and_then(|f| f.strip_prefix("python3."))
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

/// Asks `python3` where its site-packages are, bounded to a few seconds.
fn python_reported_site_dirs() -> Vec<PathBuf> {
    let script =
        "import site\nfor p in site.getsitepackages() + [site.getusersitepackages()]: print(p)";
    let Ok(mut child) = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return Vec::new();
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Vec::new();
            }
        }
    }
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read;
        let _ = stdout.read_to_string(&mut out);
    }
    out.lines()
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect()
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
    fn failure_lists_every_attempt_with_its_error() {
        let spec = LibrarySpec {
            what: "Test",
            override_var: "COLLBENCH_TEST_LIBRARY",
            loader_names: &["libcollbench-does-not-exist.so.9"],
            wheel_paths: &["nvidia/none/lib/libnone.so"],
            extra_dirs: vec![PathBuf::from("/nonexistent-dir")],
        };
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(site.path().join("lib/python3.12/dist-packages")).unwrap();
        let env = SearchEnv {
            system_prefixes: vec![site.path().into()],
            ..bare_env()
        };
        let attempts = open_first(&spec, &env).err().expect("nothing loads");
        assert_eq!(attempts.len(), 3);
        let msg = describe_failure(&spec, &attempts);
        assert!(msg.contains("tried 3 places"), "{msg}");
        assert!(msg.contains("libcollbench-does-not-exist.so.9: "), "{msg}");
        assert!(msg.contains("/nonexistent-dir/libcollbench-does-not-exist.so.9: no such file"));
        assert!(msg.contains("dist-packages/nvidia/none/lib/libnone.so: no such file"));
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
