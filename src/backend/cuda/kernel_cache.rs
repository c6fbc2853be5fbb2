//! On-disk cache of compiled kernels, keyed by (source hash, architecture, NVRTC version, options),
//! so a warm start skips NVRTC. Location: `COLLBENCH_KERNEL_CACHE`, else
//! `$XDG_CACHE_HOME/collbench/kernels`, else `$HOME/.cache/collbench/kernels`, else
//! `/tmp/collbench-kernels`. A cache that cannot be written only costs a recompile next time.

use std::path::{Path, PathBuf};

/// Bump when the file layout or the compile options change.
const CACHE_FORMAT: &str = "collbench-kernel-cache-v1";

/// Stable 64-bit FNV-1a (std's hasher is not stable across Rust releases; cache keys must be).
pub fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in part.iter() {
            hash ^= byte as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        // Separator so ("ab","c") and ("a","bc") differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The cache file name for one compilation.
pub fn cache_file_name(source: &str, arch: &str, nvrtc_version: &str, extension: &str) -> String {
    format!("{}{nvrtc_version}.{extension}", file_prefix(source, arch))
}

/// The part of the name that does not depend on the NVRTC version.
fn file_prefix(source: &str, arch: &str) -> String {
    let key = fnv1a64(&[CACHE_FORMAT.as_bytes(), source.as_bytes(), arch.as_bytes()]);
    format!("collbench-{key:016x}-{arch}-nvrtc")
}

/// Any cached build of `source` for `arch`, whatever NVRTC made it (for nodes without NVRTC).
pub fn find_any_version(
    dir: &Path,
    source: &str,
    arch: &str,
    extension: &str,
) -> Option<(String, Vec<u8>)> {
    let prefix = file_prefix(source, arch);
    let suffix = format!(".{extension}");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix) && n.ends_with(&suffix))
        .collect();
    names.sort();
    let name = names.pop()?;
    read(dir, &name).map(|bytes| (name, bytes))
}

pub fn default_dir() -> PathBuf {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("COLLBENCH_KERNEL_CACHE") {
        return dir;
    }
    if let Some(xdg) = var("XDG_CACHE_HOME") {
        return xdg.join("collbench/kernels");
    }
    if let Some(home) = var("HOME") {
        return home.join(".cache/collbench/kernels");
    }
    PathBuf::from("/tmp/collbench-kernels")
}

/// Reads a cached artifact; `None` when absent or empty.
pub fn read(dir: &Path, file: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join(file)).ok().filter(|b| !b.is_empty())
}

/// Writes atomically (temp file + rename) so concurrent ranks never read a torn file.
pub fn write(dir: &Path, file: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{file}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dir.join(file))
}

/// Deletes a cached artifact that failed to load (so the next run recompiles).
pub fn remove(dir: &Path, file: &str) {
    let _ = std::fs::remove_file(dir.join(file));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_changes_with_source_arch_and_nvrtc_version() {
        let base = cache_file_name("src", "sm_90", "13.0", "cubin");
        assert_eq!(base, cache_file_name("src", "sm_90", "13.0", "cubin"));
        assert_ne!(base, cache_file_name("src2", "sm_90", "13.0", "cubin"));
        assert_ne!(base, cache_file_name("src", "sm_80", "13.0", "cubin"));
        assert_ne!(base, cache_file_name("src", "sm_90", "13.1", "cubin"));
        assert!(base.starts_with("collbench-") && base.ends_with("-sm_90-nvrtc13.0.cubin"));
    }

    #[test]
    fn fnv_is_stable_and_separates_parts() {
        // Reference value of FNV-1a 64 for "a" followed by our separator step.
        assert_eq!(fnv1a64(&[b"ab", b"c"]), fnv1a64(&[b"ab", b"c"]));
        assert_ne!(fnv1a64(&[b"ab", b"c"]), fnv1a64(&[b"a", b"bc"]));
        assert_eq!(fnv1a64(&[]), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn write_then_read_round_trips_and_empty_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("nested/cache");
        assert_eq!(read(&sub, "k.cubin"), None);
        write(&sub, "k.cubin", b"\x7fELF...").unwrap();
        assert_eq!(read(&sub, "k.cubin").as_deref(), Some(&b"\x7fELF..."[..]));
        write(&sub, "empty.cubin", b"").unwrap();
        assert_eq!(read(&sub, "empty.cubin"), None);
        remove(&sub, "k.cubin");
        assert_eq!(read(&sub, "k.cubin"), None);
    }

    #[test]
    fn a_build_from_any_nvrtc_is_found_without_nvrtc() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find_any_version(dir.path(), "src", "sm_90", "cubin"), None);
        let name = cache_file_name("src", "sm_90", "13.0", "cubin");
        write(dir.path(), &name, b"cubin").unwrap();
        write(
            dir.path(),
            &cache_file_name("src", "sm_80", "13.0", "cubin"),
            b"other",
        )
        .unwrap();
        let found = find_any_version(dir.path(), "src", "sm_90", "cubin").unwrap();
        assert_eq!(found, (name, b"cubin".to_vec()));
        assert_eq!(
            find_any_version(dir.path(), "other source", "sm_90", "cubin"),
            None
        );
    }
}
