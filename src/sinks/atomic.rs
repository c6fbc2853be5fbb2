//! Write-then-rename: a file appears complete or not at all. The temporary file sits in the target
//! directory (a rename across file systems is not atomic) under a hidden name with our pid.

use crate::error::{CollbenchError, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub(crate) struct AtomicFile {
    final_path: PathBuf,
    temp_path: PathBuf,
    writer: BufWriter<File>,
}

impl AtomicFile {
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let temp_path = temp_path_for(path);
        let file = File::create(&temp_path)
            .map_err(|e| CollbenchError::io(temp_path.display().to_string(), e))?;
        Ok(Self {
            final_path: path.to_path_buf(),
            temp_path,
            writer: BufWriter::new(file),
        })
    }

    /// Path of the temporary file (where partial output lives until [`commit`](Self::commit)).
    pub(crate) fn temp_path(&self) -> &Path {
        &self.temp_path
    }

    pub(crate) fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.writer
    }

    pub(crate) fn io_error(&self, e: std::io::Error) -> CollbenchError {
        CollbenchError::io(self.temp_path.display().to_string(), e)
    }

    /// Pushes buffered bytes to the temporary file (progress is visible there).
    pub(crate) fn flush(&mut self) -> Result<()> {
        self.writer.flush().map_err(|e| self.io_error(e))
    }

    /// Flushes, syncs and renames into place.
    pub(crate) fn commit(mut self) -> Result<()> {
        self.flush()?;
        self.writer
            .get_ref()
            .sync_all()
            .map_err(|e| CollbenchError::io(self.temp_path.display().to_string(), e))?;
        std::fs::rename(&self.temp_path, &self.final_path)
            .map_err(|e| CollbenchError::io(self.final_path.display().to_string(), e))
    }
}

/// Writes `bytes` to `path` atomically.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.writer()
        .write_all(bytes)
        .map_err(|e| CollbenchError::io(file.temp_path().display().to_string(), e))?;
    file.commit()
}

fn temp_path_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_at_the_final_path_until_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        let mut f = AtomicFile::create(&path).unwrap();
        f.writer().write_all(b"new contents").unwrap();
        f.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(
            std::fs::read_to_string(f.temp_path()).unwrap(),
            "new contents"
        );
        let temp = f.temp_path().to_path_buf();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new contents");
        assert!(!temp.exists());
    }

    #[test]
    fn unwritable_directory_is_an_io_error_naming_the_path() {
        let err = write_atomically(Path::new("/nonexistent-dir/x.json"), b"{}").unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.to_string().contains("/nonexistent-dir/.x.json."),
            "{err}"
        );
    }
}
