//! The corruption test hook: one received payload is altered, verification must catch it (exit 7).
#![cfg(feature = "fabric")]

use crate::support::fabric::*;

fn corrupted_loopback(provider: &str, flag: bool, env: &[(&str, &str)]) -> std::process::Output {
    let mut args = vec!["loopback", "--provider", provider];
    args.extend_from_slice(QUICK_SWEEP);
    if flag {
        args.push("--inject-corruption");
    }
    run_with_env(180, &args, env)
}

#[test]
fn a_corrupted_payload_fails_verification_over_tcp() {
    let output = corrupted_loopback("tcp", true, &[]);
    assert_exit(&output, 7);
    let err = stderr(&output);
    assert!(err.contains("payload mismatch: send/recv size 8"), "{err}");
    assert!(err.contains("wrong results: 1 of"), "{err}");
    assert!(stdout(&output).contains("FAILED"));
}

#[test]
fn the_environment_variable_arms_the_hook_too() {
    let output = corrupted_loopback("shm", false, &[("COLLBENCH_TEST_FABRIC_CORRUPT", "1")]);
    assert_exit(&output, 7);
    assert!(stderr(&output).contains("payload mismatch"));
    // "0" leaves it disarmed.
    let output = corrupted_loopback("shm", false, &[("COLLBENCH_TEST_FABRIC_CORRUPT", "0")]);
    assert_exit(&output, 0);
}
