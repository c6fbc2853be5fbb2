//! Without the `fabric` feature, `collbench fabric …` still parses and says how to get it.
#![cfg(not(feature = "fabric"))]

use crate::support::fabric::*;

#[test]
fn fabric_commands_explain_the_missing_feature_with_exit_6() {
    let output = run(30, &["loopback", "--provider", "tcp"]);
    assert_exit(&output, 6);
    let err = stderr(&output);
    assert!(
        err.contains("built without the `fabric` feature") && err.contains("--features fabric"),
        "{err}"
    );
}

#[test]
fn help_and_usage_errors_work_without_the_feature() {
    let output = run(30, &["--help"]);
    assert_exit(&output, 0);
    assert!(stdout(&output).contains("loopback") && stdout(&output).contains("pingpong"));
    assert_exit(&run(30, &["loopback", "-b", "0"]), 6);
}
