//! The nccl-tests 2.19.6 outputs measured on one H100 (`shared/anchors/h100-1gpu-nccl-tests-2.19.6`):
//! the model, output and compare tests hold collbench to them.

use std::path::{Path, PathBuf};

const SET: &str = "anchors/h100-1gpu-nccl-tests-2.19.6";

/// The anchor folder: $COLLBENCH_ANCHORS (the folder itself, as tests/scripts/check-output.sh and
/// `make gpu-check` take it), else $COLLBENCH_SHARED_DIR/anchors/…, else `shared/` beside the
/// repository or beside any folder above it (CI clones it beside the repository; worktrees sit
/// deeper). Panics with directions when missing: a test that silently skipped would prove nothing.
pub fn anchor_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates: Vec<PathBuf> = std::env::var_os("COLLBENCH_ANCHORS")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::env::var_os("COLLBENCH_SHARED_DIR").map(|d| PathBuf::from(d).join(SET)))
        .chain(manifest.ancestors().map(|d| d.join("shared").join(SET)))
        .collect();
    candidates
        .iter()
        .find(|d| d.join("all_reduce.txt").is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "nccl-tests anchors not found in {candidates:?}; set COLLBENCH_ANCHORS to the \
                 anchor folder or COLLBENCH_SHARED_DIR to the shared/ directory"
            )
        })
}

/// One anchor file (panics when it is missing).
pub fn anchor_path(name: &str) -> PathBuf {
    let path = anchor_dir().join(name);
    assert!(path.is_file(), "anchor {} is missing", path.display());
    path
}

/// The text of one anchor file.
pub fn read_anchor(name: &str) -> String {
    let path = anchor_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
