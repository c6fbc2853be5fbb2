//! Output sinks, one small file per format behind [`Sink`] (hyperfine's export/ layout). Only rank 0
//! owns sinks; rows reach it already aggregated across ranks.
//!
//! - [`text::TextSink`]: the nccl-tests 2.19.6 table, byte for byte after the first line;
//! - [`json::JsonSink`]: `-J`, nccl-tests' JSON ([`nccl_tests_json`]), and `--collbench-json`, the
//!   whole [`Report`] (schema in docs/report.schema.json);
//! - [`csv::CsvSink`] (`--csv`): one line per measured cell.
//!
//! Files are written atomically (a temporary file in the same directory, renamed into place), so a
//! reader never sees half a file.

use crate::error::{CollbenchError, Result};
use crate::report::{Report, ResultRow};
use std::path::Path;

mod atomic;
pub mod cfmt;
pub mod console;
pub mod csv;
pub mod json;
pub mod jsonl;
pub mod nccl_tests_json;
pub mod prometheus;
pub mod pushgateway;
pub mod text;

pub(crate) use self::atomic::write_atomically;
pub use self::csv::CsvSink;
pub use self::json::JsonSink;
pub use self::text::TextSink;

/// Calls arrive in order: `begin`, `row` for each finished row, `finish`. `report` carries the
/// header fields throughout; whether `report.results` already holds the rows passed to `row` is up
/// to the runner, so sinks keep what they need themselves. At `finish`, `report.results` holds
/// every row (or is empty, and the sink uses the rows it was given) and `report.summary` is final.
pub trait Sink {
    /// Called once before the first row; `report` holds the header (no results yet).
    fn begin(&mut self, report: &Report) -> Result<()>;
    /// Called for each finished row, in order.
    fn row(&mut self, report: &Report, row: &ResultRow) -> Result<()>;
    /// Called once at the end (also after an interruption, with `report.complete == false`).
    fn finish(&mut self, report: &Report) -> Result<()>;
}

/// Checks, before any work, that `path` given to `flag` (`-J`, `--csv`) can become an output file:
/// it names a file, is not a directory, and its directory exists. Usage error otherwise.
pub fn check_output_path(flag: &str, path: &Path) -> Result<()> {
    let shown = path.display();
    if path.as_os_str().is_empty() || path.file_name().is_none() {
        return Err(CollbenchError::Usage(format!(
            "{flag} {shown:?} does not name a file; expected a file path such as results/run.json"
        )));
    }
    if path.is_dir() {
        return Err(CollbenchError::Usage(format!(
            "{flag} {shown:?} is a directory; expected a file path inside it"
        )));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(CollbenchError::Usage(format!(
            "{flag} {shown:?}: directory {:?} does not exist; expected an existing directory",
            dir.display()
        )));
    }
    // /dev/null, /dev/stdout, a FIFO: written in place (see atomic.rs), no file is created.
    if atomic::is_special_file(path) {
        return Ok(());
    }
    // Outputs are written at the end (and -J/--csv beside the target, then renamed): a directory
    // nobody may create files in (read-only mount, another user's folder) must fail now, not
    // after the whole sweep. The target of a link is where the file is created.
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let target_dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => dir,
    };
    // Every rank may check the same shared folder, and pids repeat across nodes: a name taken
    // already is retried under another, never read as "not writable".
    let mut last_error = None;
    for attempt in 0..8u32 {
        let probe = target_dir.join(format!(
            ".collbench-probe.{}.{}.{attempt}.tmp",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
        {
            Ok(_) => {
                let _ = std::fs::remove_file(&probe);
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(e) => {
                last_error = Some(e);
                break;
            }
        }
    }
    let reason = last_error.map(|e| e.to_string()).unwrap_or_default();
    Err(CollbenchError::Usage(format!(
        "{flag} {shown:?}: cannot create a file in directory {:?} ({reason}); expected a \
         directory this user can write to",
        target_dir.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_paths_are_checked_before_work() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_output_path("-J", &dir.path().join("run.json")).is_ok());
        assert!(check_output_path("-J", Path::new("run.json")).is_ok());
        let cases = [
            (dir.path().to_path_buf(), "is a directory"),
            (dir.path().join("missing/run.json"), "does not exist"),
            (Path::new("").to_path_buf(), "does not name a file"),
            (Path::new("/").to_path_buf(), "does not name a file"),
            // /proc exists but takes no new files, even from root: found before the sweep, not
            // after it as an I/O error on a hidden temporary file.
            (
                Path::new("/proc/collbench-run.json").to_path_buf(),
                "cannot create a file in directory \"/proc\"",
            ),
        ];
        for (p, why) in cases {
            let err = check_output_path("--csv", &p).unwrap_err();
            assert_eq!(err.exit_code(), 6);
            let msg = err.to_string();
            assert!(msg.contains("--csv") && msg.contains(why), "{msg}");
        }
        // Devices are written in place: -J /dev/null is fine.
        assert!(check_output_path("-J", Path::new("/dev/null")).is_ok());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "probe left behind"
        );
    }
}
