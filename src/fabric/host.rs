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
/// "no such directory" wastes the whole run. The check `-J` uses, but reported as a failed write
/// (exit 1), as `collbench fabric` documents for its --json.
pub fn check_output_dir(path: &std::path::Path) -> crate::error::Result<()> {
    crate::io::check_output_path("--json", path).map_err(|error| match error {
        crate::error::CollbenchError::Usage(problem) => crate::error::CollbenchError::io(
            path.display().to_string(),
            std::io::Error::new(std::io::ErrorKind::NotFound, problem),
        ),
        other => other,
    })
}
