//! The host name, as nccl-tests prints it (gethostname, cut at the first dot).

/// This machine's host name up to the first `.` (`node-1.cluster` → `node-1`), or `unknown` if
/// the system call fails.
pub fn hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return "unknown".to_string();
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    let full = String::from_utf8_lossy(&buffer[..end]);
    full.split('.').next().unwrap_or("unknown").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hostname_matches_the_system_and_has_no_domain() {
        let name = super::hostname();
        assert!(!name.is_empty());
        assert!(!name.contains('.'));
        let system = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert!(system.trim().starts_with(&name));
    }
}
