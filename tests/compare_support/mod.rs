//! Shared by the tests that read nccl-tests outputs into compare/plot (compare_text,
//! compare_nccl_json): where the nccl-tests anchors are, the mutation the fuzz tests apply, and
//! the collbench binary under a time limit.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// A file of the nccl-tests 2.19.6 H100 anchors: $COLLBENCH_ANCHORS (as
/// tests/scripts/check-output.sh), else `shared/anchors` beside the repository (CI clones it
/// there) or beside this worktree's parent, else /work/shared/anchors. Panics with directions
/// when missing: a skipped test proves nothing.
pub fn anchor_path(name: &str) -> PathBuf {
    const SET: &str = "anchors/h100-1gpu-nccl-tests-2.19.6";
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates: Vec<PathBuf> = std::env::var_os("COLLBENCH_ANCHORS")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            manifest.join("../shared").join(SET),
            manifest.join("../../shared").join(SET),
            Path::new("/work/shared").join(SET),
        ])
        .collect();
    candidates
        .iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found in {candidates:?}; set COLLBENCH_ANCHORS"))
}

/// The text of an anchor file.
pub fn anchor(name: &str) -> String {
    std::fs::read_to_string(anchor_path(name)).unwrap()
}

/// Fuzz cases per property: PROPTEST_CASES, else 300.
pub fn fuzz_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(300)
}

/// Replaces, inserts and cuts spans, as corruption and hand edits do.
pub fn mutate(text: &str, edits: &[(usize, usize, String)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for (at, len, with) in edits {
        let at = at % (bytes.len() + 1);
        let end = (at + len % 24).min(bytes.len());
        bytes.splice(at..end, with.bytes());
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `timeout 60 collbench`, to which the test adds the subcommand and its arguments.
pub fn collbench() -> Command {
    let mut command = Command::new("timeout");
    command.arg("60").arg(env!("CARGO_BIN_EXE_collbench"));
    command
}
