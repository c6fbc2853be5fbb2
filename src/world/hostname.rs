//! The host name, as nccl-tests prints it (gethostname, cut at the first dot), and every
//! process's, gathered.

use super::World;
use crate::error::Result;

/// Test hook: `COLLBENCH_TEST_HOSTNAME=a,b,c,d` makes launcher rank i report host `list[i]` (ranks
/// past the end of the list reuse it cyclically; one name applies to every rank), so one machine
/// can stand in for several hosts (bad-node isolation tests).
pub const TEST_HOSTNAME_VAR: &str = "COLLBENCH_TEST_HOSTNAME";

/// The host name `COLLBENCH_TEST_HOSTNAME` gives launcher rank `rank`, if it is set.
pub fn test_hostname(value: &str, rank: usize) -> Option<String> {
    let names: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    (!names.is_empty()).then(|| names[rank % names.len()].to_string())
}

/// This machine's host name up to the first `.` (`node-1.cluster` → `node-1`), or `unknown` if
/// the system call fails. [`TEST_HOSTNAME_VAR`] overrides it.
pub fn hostname() -> String {
    if let Ok(value) = std::env::var(TEST_HOSTNAME_VAR) {
        let rank = super::launcher_rank_hint().unwrap_or(0);
        if let Some(name) = test_hostname(&value, rank) {
            return name;
        }
    }
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

/// Every process's [`World::hostname`], in rank order, on process 0 (`None` elsewhere).
/// Collective over `world`.
pub fn gather_hostnames(world: &dyn World) -> Result<Option<Vec<String>>> {
    let gathered = world.gather_bytes(world.hostname().as_bytes())?;
    Ok(gathered.map(|all| {
        all.iter()
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .collect()
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_test_hook_names_a_host_per_launcher_rank() {
        assert_eq!(super::test_hostname("a,b,c", 1).as_deref(), Some("b"));
        assert_eq!(super::test_hostname("a,b,c", 4).as_deref(), Some("b"));
        assert_eq!(super::test_hostname("solo", 7).as_deref(), Some("solo"));
        assert_eq!(super::test_hostname(" , ", 0), None);
    }

    #[test]
    fn hostname_matches_the_system_and_has_no_domain() {
        let name = super::hostname();
        assert!(!name.is_empty());
        assert!(!name.contains('.'));
        let system = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert!(system.trim().starts_with(&name));
    }
}
