//! NVRTC: finding the library (cudarc only tries bare names through the dynamic loader, which
//! misses the pip wheel and a toolkit outside ld.so's path) and compiling CUDA C to a CUBIN (or PTX)
//! for one architecture.
//!
//! Search order: `COLLBENCH_NVRTC_LIBRARY`, `libnvrtc.so.13` / `.so.12` / `.so` through the loader,
//! `$CUDA_HOME/lib64`, `$CUDA_PATH/lib64`, `/usr/local/cuda/lib64`, then the wheels
//! (`nvidia-cuda-nvrtc` 13.x: `site-packages/nvidia/cu13/lib/libnvrtc.so.13`; the cu12 wheel:
//! `nvidia/cuda_nvrtc/lib/libnvrtc.so.12`). The library we open stays loaded; cudarc's own
//! `dlopen("libnvrtc.so.13")` then finds it already mapped (the loader matches by SONAME).

use crate::dynlib::{self as loader, LibrarySpec, SearchEnv};
use crate::error::{CollbenchError, Result};
use cudarc::nvrtc::{result as nvrtc_result, sys as nvrtc_sys};
use std::ffi::{CStr, CString};
use std::path::PathBuf;
use std::sync::OnceLock;

pub fn nvrtc_spec() -> LibrarySpec {
    let mut extra_dirs = Vec::new();
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            extra_dirs.push(PathBuf::from(v).join("lib64"));
        }
    }
    extra_dirs.push(PathBuf::from("/usr/local/cuda/lib64"));
    LibrarySpec {
        what: "NVRTC",
        override_var: "COLLBENCH_NVRTC_LIBRARY",
        loader_names: &["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"],
        wheel_paths: &[
            "nvidia/cu13/lib/libnvrtc.so.13",
            "nvidia/cuda_nvrtc/lib/libnvrtc.so.12",
        ],
        extra_dirs,
    }
}

/// Where NVRTC was loaded from, once per process.
pub struct NvrtcLibrary {
    pub path: String,
    /// (major, minor), e.g. (13, 0).
    pub version: (i32, i32),
    _library: libloading::Library,
}

/// Finds and opens NVRTC (cached for the process). The error lists every place tried (exit 2).
pub fn load() -> Result<&'static NvrtcLibrary> {
    static LOADED: OnceLock<NvrtcLibrary> = OnceLock::new();
    if let Some(lib) = LOADED.get() {
        return Ok(lib);
    }
    let spec = nvrtc_spec();
    let opened = loader::open_first(&spec, &SearchEnv::from_process(&spec))
        .map_err(|attempts| CollbenchError::Cuda(loader::describe_failure(&spec, &attempts)))?;
    // SAFETY: only the address of the symbol is taken.
    let version_symbol = unsafe {
        opened
            .library
            .get::<unsafe extern "C" fn(*mut i32, *mut i32) -> i32>(b"nvrtcVersion")
    }
    .map(|s| *s)
    .map_err(|e| {
        CollbenchError::Cuda(format!(
            "{} is not NVRTC (no nvrtcVersion: {e})",
            opened.path
        ))
    })?;
    let path = loader::file_of_symbol(version_symbol as usize).unwrap_or(opened.path.clone());
    // cudarc resolves names through its own dlopen; make sure it lands on this library.
    // SAFETY: probing only.
    if !unsafe { nvrtc_sys::is_culib_present() } {
        return Err(CollbenchError::Cuda(format!(
            "NVRTC opened from {path} but cudarc could not bind it; set LD_LIBRARY_PATH to its folder"
        )));
    }
    let (mut major, mut minor) = (0, 0);
    // SAFETY: nvrtcVersion writes two ints.
    unsafe { version_symbol(&mut major, &mut minor) };
    Ok(LOADED.get_or_init(|| NvrtcLibrary {
        path,
        version: (major, minor),
        _library: opened.library,
    }))
}

/// What NVRTC produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Machine code for a real architecture (`sm_90`): loads without JIT.
    Cubin,
    /// PTX for a virtual architecture (`compute_90`): the driver JIT-compiles it.
    Ptx,
}

/// Compiles `source` for `arch` (`sm_90` gives a CUBIN, `compute_90` gives PTX).
pub fn compile(source: &str, arch: &str, name: &str) -> Result<(Vec<u8>, Output)> {
    load()?;
    let output = if arch.starts_with("sm_") {
        Output::Cubin
    } else {
        Output::Ptx
    };
    let src = CString::new(source)
        .map_err(|_| CollbenchError::Cuda(format!("kernel source {name} contains a NUL byte")))?;
    let cname = CString::new(name).unwrap_or_else(|_| CString::from(c"kernel.cu"));
    let prog = nvrtc_result::create_program(&src, Some(&cname))
        .map_err(|e| CollbenchError::Cuda(format!("nvrtcCreateProgram({name}): {e:?}")))?;
    let program = Program(prog);
    let options = [
        format!("--gpu-architecture={arch}"),
        "--std=c++17".to_string(),
    ];
    // SAFETY: `program` is live until dropped below.
    let compiled = unsafe { nvrtc_result::compile_program(program.0, &options) };
    if let Err(e) = compiled {
        let log = program.log();
        return Err(CollbenchError::Cuda(format!(
            "NVRTC could not compile {name} for {arch} ({e:?}); options {options:?}; log:\n{log}"
        )));
    }
    let bytes = match output {
        Output::Cubin => program.cubin(),
        Output::Ptx => program.ptx(),
    }
    .map_err(|e| CollbenchError::Cuda(format!("reading NVRTC output for {name}/{arch}: {e}")))?;
    Ok((bytes, output))
}

struct Program(nvrtc_sys::nvrtcProgram);

impl Program {
    fn log(&self) -> String {
        // SAFETY: live program.
        match unsafe { nvrtc_result::get_program_log(self.0) } {
            Ok(raw) => {
                let bytes: Vec<u8> = raw
                    .iter()
                    .map(|&c| c as u8)
                    .take_while(|&b| b != 0)
                    .collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Err(e) => format!("<no log: {e:?}>"),
        }
    }

    fn cubin(&self) -> std::result::Result<Vec<u8>, String> {
        let mut size = 0usize;
        // SAFETY: live, compiled program; the buffer has the size NVRTC reported.
        unsafe {
            nvrtc_sys::nvrtcGetCUBINSize(self.0, &mut size)
                .result()
                .map_err(|e| format!("{e:?}"))?;
            let mut buf = vec![0u8; size];
            nvrtc_sys::nvrtcGetCUBIN(self.0, buf.as_mut_ptr() as *mut std::ffi::c_char)
                .result()
                .map_err(|e| format!("{e:?}"))?;
            Ok(buf)
        }
    }

    fn ptx(&self) -> std::result::Result<Vec<u8>, String> {
        // SAFETY: live, compiled program.
        let raw = unsafe { nvrtc_result::get_ptx(self.0) }.map_err(|e| format!("{e:?}"))?;
        // Keep the terminating NUL: cuModuleLoadData reads PTX as a C string.
        Ok(raw.iter().map(|&c| c as u8).collect())
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: created by create_program and destroyed once.
        let _ = unsafe { nvrtc_result::destroy_program(self.0) };
    }
}

/// NVRTC's version as `13.0` for cache keys and headers.
pub fn version_string() -> Result<String> {
    let lib = load()?;
    Ok(format!("{}.{}", lib.version.0, lib.version.1))
}

/// True when the PTX text is a C string (cuModuleLoadData needs the NUL).
pub fn is_c_string(bytes: &[u8]) -> bool {
    CStr::from_bytes_until_nul(bytes).is_ok()
}
