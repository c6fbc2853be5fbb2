//! `--drain`: runs the `scontrol update nodename=… state=drain reason=…` line for each bad host,
//! bounded by a timeout (scontrol waits for slurmctld, which may be down).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one scontrol call may take.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `argv` (program first); `Ok(())` on exit status 0, else what went wrong.
pub fn run_bounded(argv: &[String], timeout: Duration) -> Result<(), String> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| "empty command".to_string())?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let output = child
                    .wait_with_output()
                    .map_err(|e| format!("cannot read {program}'s output: {e}"))?;
                if status.success() {
                    return Ok(());
                }
                let said = String::from_utf8_lossy(&output.stderr);
                // The last line: scontrol ends with its fatal reason after earlier error lines.
                return Err(format!(
                    "{program} exited with {status}: {}",
                    said.trim().lines().last().unwrap_or("(no message)")
                ));
            }
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{program} did not finish within {} s",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("cannot wait for {program}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn success_failure_missing_program_and_timeout_are_told_apart() {
        assert!(run_bounded(&argv(&["true"]), DRAIN_TIMEOUT).is_ok());
        let err = run_bounded(
            &argv(&["sh", "-c", "echo no such node >&2; exit 1"]),
            DRAIN_TIMEOUT,
        )
        .unwrap_err();
        assert!(err.contains("no such node"), "{err}");
        let err = run_bounded(
            &argv(&[
                "sh",
                "-c",
                "echo 'error: fetch_config: DNS SRV lookup failed' >&2; \
                 echo 'fatal: Could not establish a configuration source' >&2; exit 1",
            ]),
            DRAIN_TIMEOUT,
        )
        .unwrap_err();
        assert!(
            err.ends_with("fatal: Could not establish a configuration source"),
            "{err}"
        );
        let err = run_bounded(&argv(&["/nonexistent/scontrol"]), DRAIN_TIMEOUT).unwrap_err();
        assert!(err.contains("cannot start"), "{err}");
        let started = Instant::now();
        let err = run_bounded(&argv(&["sleep", "20"]), Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("did not finish"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
