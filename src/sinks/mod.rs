//! Output sinks, one small file per format behind [`Sink`] (hyperfine's export/ layout). Only rank 0
//! owns sinks; rows reach it already aggregated across ranks.
//!
//! - [`text::TextSink`]: the nccl-tests 2.19.6 table, byte for byte after the first line;
//! - [`json::JsonSink`] (`-J`): the whole [`Report`], schema in docs/report.schema.json;
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
    Ok(())
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
        ];
        for (p, why) in cases {
            let err = check_output_path("--csv", &p).unwrap_err();
            assert_eq!(err.exit_code(), 6);
            let msg = err.to_string();
            assert!(msg.contains("--csv") && msg.contains(why), "{msg}");
        }
    }
}
