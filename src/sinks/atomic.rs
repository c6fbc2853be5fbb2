//! Crash-safe file outputs: write to a temporary file beside the target, flush and fsync, then
//! rename over the target. A reader (node_exporter, a script, a human) sees either the previous
//! complete file or the new complete file, never a torn one; a crash leaves at most a stray
//! `.NAME.tmp.PID` file.

use crate::error::{CollbenchError, Result};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written; [`AtomicFile::commit`] makes it visible under the target name. Dropped
/// without commit, the temporary file is removed and the target is untouched.
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let name = target
            .file_name()
            .ok_or_else(|| {
                CollbenchError::Usage(format!(
                    "output path '{}' names no file; expected a file path such as results/run.json",
                    target.display()
                ))
            })?
            .to_string_lossy()
            .into_owned();
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let temp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)
            .map_err(|e| CollbenchError::io(temp.display().to_string(), e))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
            writer: Some(BufWriter::new(file)),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer
            .as_mut()
            .expect("writer is present until commit")
    }

    /// Flushes, fsyncs and renames over the target.
    pub fn commit(mut self) -> Result<()> {
        let io = |path: &Path, e| CollbenchError::io(path.display().to_string(), e);
        let writer = self.writer.take().expect("commit runs once");
        let file = writer
            .into_inner()
            .map_err(|e| io(&self.temp, e.into_error()))?;
        file.sync_all().map_err(|e| io(&self.temp, e))?;
        drop(file);
        std::fs::rename(&self.temp, &self.target).map_err(|e| io(&self.target, e))?;
        // Persist the rename itself; not every filesystem lets a directory be fsynced, and the data
        // is already safe, so a failure here is not an error.
        if let Some(dir) = self.target.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Replaces `target` with `contents` atomically.
pub fn write_atomic(target: &Path, contents: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(target)?;
    file.writer()
        .write_all(contents)
        .map_err(|e| CollbenchError::io(target.display().to_string(), e))?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("run.prom");
        write_atomic(&target, b"first\n").unwrap();
        write_atomic(&target, b"second\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "second\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn an_uncommitted_file_leaves_the_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("run.json");
        write_atomic(&target, b"{}").unwrap();
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.writer().write_all(b"{\"half").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "{}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_directory_is_an_io_error_naming_the_path() {
        let err = write_atomic(Path::new("/nonexistent-dir/x/run.json"), b"{}").unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.to_string()
                .contains("/nonexistent-dir/x/.run.json.tmp."),
            "{err}"
        );
    }
}
