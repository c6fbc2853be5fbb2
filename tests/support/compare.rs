//! For the tests that read results into compare/plot: the mutation the fuzz tests apply, and the
//! collbench binary under a time limit.

use std::process::Command;

/// Fuzz cases per property: PROPTEST_CASES, else 300.
pub fn fuzz_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(300)
}

/// Replaces, inserts and cuts spans, as corruption and hand edits do.
pub fn mutate(text: &str, edits: &[(usize, usize, String)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for (at, len, with) in edits {
        let at = at % (bytes.len() + 1);
        let end = (at + len % 24).min(bytes.len());
        bytes.splice(at..end, with.bytes());
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `timeout 60 collbench`, to which the test adds the subcommand and its arguments.
pub fn collbench() -> Command {
    let mut command = Command::new("timeout");
    command.arg("60").arg(super::process::binary("collbench"));
    command
}
