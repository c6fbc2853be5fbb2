//! `reduce-perf`: nccl-tests' `reduce_perf`, same flags and output.
fn main() {
    std::process::exit(collbench::app::collective_main("reduce"));
}
