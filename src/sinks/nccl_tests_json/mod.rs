//! `-J FILE`: nccl-tests 2.19.6's JSON report (its `src/util.cu`), so that every consumer of
//! nccl-tests' JSON (its own tools/analyze_perf_json.py included) reads collbench's runs with the
//! same results. collbench's own, richer record is `--collbench-json` ([`super::json`]).
//!
//! As in nccl-tests, an existing FILE is never overwritten: the first free name of FILE, FILE.0,
//! FILE.1, … is taken ([`claim`]) and stdout's first line says which (`# Writing JSON output to
//! …`). Unlike nccl-tests, the file is written atomically at checkpoints rather than streamed, so a
//! killed run leaves valid JSON (without the footer) instead of a cut-off file, and a name that
//! does not end in `.json` is written too (nccl-tests silently writes nothing then).

pub mod document;
mod emit;

pub use document::{document, LocalTimes};
pub use emit::Value;

use crate::error::{CollbenchError, Result};
use std::path::{Path, PathBuf};

/// nccl-tests' stdout line naming the file (`jsonOutputInit`).
pub fn announcement(path: &Path) -> String {
    format!("# Writing JSON output to {}", path.display())
}

/// Takes the first of `path`, `path.0`, `path.1`, … that does not exist yet, creating it empty so
/// no other writer takes it. A device or FIFO (`/dev/null`, `/dev/stdout`) is used as it is.
pub fn claim(path: &Path) -> Result<PathBuf> {
    if crate::io::atomic::is_special_file(path) {
        return Ok(path.to_path_buf());
    }
    let mut candidate = path.to_path_buf();
    for attempt in 0u64.. {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(_) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let mut name = path.as_os_str().to_owned();
                name.push(format!(".{attempt}"));
                candidate = PathBuf::from(name);
            }
            Err(e) => return Err(CollbenchError::io(candidate.display().to_string(), e)),
        }
    }
    unreachable!("u64 attempts are never exhausted")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_file_is_kept_and_the_next_free_suffix_taken() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ar.json");
        assert_eq!(claim(&path).unwrap(), path);
        std::fs::write(&path, "kept").unwrap();
        let next = claim(&path).unwrap();
        assert_eq!(next, dir.path().join("ar.json.0"));
        assert_eq!(claim(&path).unwrap(), dir.path().join("ar.json.1"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept");
        assert_eq!(
            announcement(&next),
            format!("# Writing JSON output to {}", next.display())
        );
    }
}
