//! `--jsonl` of a pairwise or bisect run (see [`JsonlIsolation`]).

use crate::accept::pairing::{Isolation, Search};
use crate::accept::report;
use crate::error::{CollbenchError, Result};

/// `--jsonl` for a pairwise run: one `pair` record per finished pair as rounds end, then one
/// `pairwise` record with the whole result (sweep readers skip both); a bisect run writes `group`
/// records and a final `bisect` one.
pub(super) struct JsonlIsolation {
    file: std::fs::File,
    pub(super) path: std::path::PathBuf,
    pub(super) run_id: String,
    /// The final record's name (`pairwise`, `bisect`).
    pub(super) final_record: &'static str,
    written_rounds: usize,
}

impl JsonlIsolation {
    pub(super) fn open(
        path: &std::path::Path,
        start_time: &str,
        search: Search,
    ) -> Result<JsonlIsolation> {
        let file = crate::sinks::jsonl::open_for_append(path)?;
        Ok(JsonlIsolation {
            file,
            path: path.to_path_buf(),
            run_id: format!("{start_time}/{}/{}", search.mode(), std::process::id()),
            final_record: search.mode(),
            written_rounds: 0,
        })
    }

    pub(super) fn append(&mut self, value: serde_json::Value) -> Result<()> {
        use std::io::Write;
        let io = |e| CollbenchError::io(self.path.display().to_string(), e);
        let mut line = serde_json::to_vec(&value).map_err(|e| io(std::io::Error::other(e)))?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(io)?;
        crate::sinks::jsonl::sync_data(&self.file).map_err(io)
    }

    pub(super) fn round(&mut self, iso: &Isolation) -> Result<()> {
        let rounds = report::rounds(iso);
        while self.written_rounds < rounds.len() {
            for group in &rounds[self.written_rounds] {
                let record = serde_json::json!({
                    "record": iso.search.group_word(),
                    "run_id": self.run_id,
                    "round": self.written_rounds + 1,
                    "hosts": group.hosts,
                    "busbw_gbps": group.busbw_gbps,
                    "wrong": group.wrong,
                    "passed": group.passed,
                    "threshold_gbps": group.threshold_gbps,
                });
                self.append(record)?;
            }
            self.written_rounds += 1;
        }
        Ok(())
    }
}
