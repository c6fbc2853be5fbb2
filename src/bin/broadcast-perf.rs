//! `broadcast-perf`: nccl-tests' `broadcast_perf`, same flags and output.
fn main() {
    std::process::exit(collbench::app::collective_main("broadcast"));
}
