//! Finding and opening a shared library at run time (NCCL, NVRTC, libfabric), recording every place
//! tried so a failure can say exactly where we looked. Each library's loader (backend/nccl,
//! backend/cuda/nvrtc, fabric/ofi) describes what to look for in a [`LibrarySpec`]; the search
//! order is: the spec's override variable (when set, nothing else is tried), the loader names
//! through the dynamic loader (LD_LIBRARY_PATH, ld.so.cache, RUNPATH), the spec's extra folders,
//! then the wheel paths under VIRTUAL_ENV, CONDA_PREFIX, the user and system site-packages and the
//! folders `python3` itself reports.

use libloading::Library;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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

#[cfg(test)]
mod tests {
    use super::*;

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
            ..SearchEnv::default()
        };
        let attempts = open_first(&spec, &env).err().expect("nothing loads");
        assert_eq!(attempts.len(), 3);
        let msg = describe_failure(&spec, &attempts);
        assert!(msg.contains("tried 3 places"), "{msg}");
        assert!(msg.contains("libcollbench-does-not-exist.so.9: "), "{msg}");
        assert!(msg.contains("/nonexistent-dir/libcollbench-does-not-exist.so.9: no such file"));
        assert!(msg.contains("dist-packages/nvidia/none/lib/libnone.so: no such file"));
    }
}
