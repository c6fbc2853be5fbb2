//! `scatter-perf`: nccl-tests' `scatter_perf`, same flags and output.
fn main() {
    std::process::exit(collbench::app::collective_main("scatter"));
}
