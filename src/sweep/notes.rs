//! One-line notes rank 0 prints on stderr before a sweep starts: why the first row is slow to
//! come (large buffers to allocate and fill) and when the numbers do not measure communication
//! (one rank). They name no token of the nccl-tests output rule (docs/output.md).

use crate::plan::{human_bytes, TestPlan};

/// Buffers from this size (send and receive, per rank) take long enough to allocate and fill that
/// the wait before the table's first row deserves a word (about a second here at 1 GiB).
pub const LARGE_BUFFER_BYTES: usize = 1 << 30;

/// The notes for a sweep of `plan` over `nranks` ranks whose buffers take `buffer_bytes` per rank.
pub fn before_sweep(plan: &TestPlan, nranks: usize, buffer_bytes: usize) -> Vec<String> {
    let mut notes = Vec::new();
    if nranks == 1 {
        notes.push(format!(
            "1 rank: {} moves no data between ranks; its algbw and busbw are not meaningful",
            plan.collective.name()
        ));
    }
    if buffer_bytes >= LARGE_BUFFER_BYTES {
        notes.push(format!(
            "allocating {} of buffers per rank (sizes up to {}); the first row can take a while",
            human_bytes(buffer_bytes as u64),
            human_bytes(plan.sweep.max_bytes)
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse_collective_args, Parsed};
    use crate::collectives::find;

    fn plan(args: &[&str]) -> TestPlan {
        let mut argv = vec!["allreduce-perf".to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        match parse_collective_args(find("all_reduce").unwrap(), &argv, &|_| None) {
            Ok(Parsed::Run(plan)) => *plan,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_rank_and_large_buffers_get_a_note_each() {
        let small = plan(&["-b", "8", "-e", "1M"]);
        assert!(before_sweep(&small, 4, 2 << 20).is_empty());
        let one = before_sweep(&small, 1, 2 << 20);
        assert_eq!(
            one,
            [
                "1 rank: all_reduce moves no data between ranks; its algbw and busbw are not \
              meaningful"
            ]
        );
        let large = plan(&["-b", "8", "-e", "1G"]);
        let notes = before_sweep(&large, 8, 2 << 30);
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].starts_with("allocating 2.00 GiB of buffers per rank (sizes up to 1.00 GiB)")
        );
        for note in one.iter().chain(&notes) {
            let lower = note.to_lowercase();
            for token in ["bandwidth", "out-of-place", "in-place", "failed", "error"] {
                assert!(!lower.contains(token), "{note}");
            }
        }
    }
}
