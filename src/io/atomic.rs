//! Write-then-rename: a file appears complete or not at all. The temporary file sits in the target
//! directory (a rename across file systems is not atomic) under a hidden name with our pid.
//!
//! A symbolic link is followed, so `latest.json -> run-42.json` updates run-42.json and stays a
//! link. A path that is no regular file (`/dev/null`, `/dev/stdout`, a FIFO, bash's `>(…)`) is
//! written in place: renaming over it would replace the device node or pipe with a plain file (as
//! root, `-J /dev/null` turned the node's /dev/null into a regular file).

use crate::error::{CollbenchError, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub(crate) struct AtomicFile {
    final_path: PathBuf,
    temp_path: PathBuf,
    writer: BufWriter<File>,
    /// Writing straight into a special file (no temporary file, no rename).
    in_place: bool,
}

/// Where writes to `path` end up: the target of a symbolic link (links followed to the end), else
/// `path` itself (also when a link dangles: renaming over it is then the only way to write).
fn resolved_target(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// True when `path` (links followed) exists and is neither a regular file nor a directory: a
/// device, FIFO or socket, which must be written in place.
pub(crate) fn is_special_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| !meta.is_file() && !meta.is_dir())
}

impl AtomicFile {
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let final_path = resolved_target(path);
        if is_special_file(&final_path) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&final_path)
                .map_err(|e| CollbenchError::io(path.display().to_string(), e))?;
            return Ok(Self {
                temp_path: final_path.clone(),
                final_path,
                writer: BufWriter::new(file),
                in_place: true,
            });
        }
        let temp_path = temp_path_for(&final_path);
        let file = File::create(&temp_path)
            .map_err(|e| CollbenchError::io(temp_path.display().to_string(), e))?;
        Ok(Self {
            final_path,
            temp_path,
            writer: BufWriter::new(file),
            in_place: false,
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
        if self.in_place {
            // A device or pipe: nothing to sync (fsync fails on pipes) and nothing to rename.
            return Ok(());
        }
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
    fn a_device_is_written_in_place_not_replaced_by_a_regular_file() {
        // `-J /dev/null` as root renamed the temporary file over /dev/null. Through a link, so the
        // test never writes into /dev itself: the link must stay a link to the device.
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("discard.json");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        write_atomically(&link, b"{}").unwrap();
        let mut csv = AtomicFile::create(&link).unwrap();
        csv.writer().write_all(b"a,b\n").unwrap();
        csv.commit().unwrap();
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(
            meta.file_type().is_symlink(),
            "the link was replaced: {meta:?}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "a file was left"
        );
    }

    #[test]
    fn a_link_to_a_regular_file_updates_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("run-42.json");
        let link = dir.path().join("latest.json");
        std::fs::write(&target, "old").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    }

    #[test]
    fn a_fifo_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader_path = fifo.clone();
        let reader = std::thread::spawn(move || std::fs::read_to_string(reader_path).unwrap());
        write_atomically(&fifo, b"through the pipe").unwrap();
        // Checked before joining: a FIFO renamed over leaves its reader blocked forever.
        use std::os::unix::fs::FileTypeExt;
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");
        assert_eq!(reader.join().unwrap(), "through the pipe");
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
