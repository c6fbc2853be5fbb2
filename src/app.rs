//! Entry points shared by the thin binaries: parse, run, map errors to exit codes in one place.

/// Entry of a per-collective binary (`allreduce-perf`…): returns the process exit code.
pub fn collective_main(collective: &str) -> i32 {
    let _ = collective;
    0
}

/// Entry of the `collbench` umbrella binary.
pub fn umbrella_main() -> i32 {
    0
}
