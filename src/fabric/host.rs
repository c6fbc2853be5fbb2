//! Host facts the fabric commands report.

/// This machine's host name ("unknown-host" when the system will not say).
pub fn hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: buffer has 256 writable bytes; gethostname NUL-terminates within them on success.
    let ret = unsafe { libc::gethostname(buffer.as_mut_ptr() as *mut libc::c_char, buffer.len()) };
    if ret != 0 {
        return "unknown-host".to_string();
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// Writes `text` to `path` (a `--json FILE`), mapping failures to exit 1.
pub fn write_output(path: &std::path::Path, text: &str) -> crate::error::Result<()> {
    std::fs::write(path, text)
        .map_err(|e| crate::error::CollbenchError::io(path.display().to_string(), e))
}

/// Checks, before any measurement, that `--json FILE` can be written there: a sweep that ends in
/// "no such directory" wastes the whole run. Same error and exit code (1) as a failed write.
pub fn check_output_dir(path: &std::path::Path) -> crate::error::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if path.is_dir() || !dir.is_dir() {
        let problem = if path.is_dir() {
            "is a directory; give --json a file path".to_string()
        } else {
            format!(
                "directory {} does not exist; give --json a file in an existing directory",
                dir.display()
            )
        };
        return Err(crate::error::CollbenchError::io(
            path.display().to_string(),
            std::io::Error::new(std::io::ErrorKind::NotFound, problem),
        ));
    }
    Ok(())
}
