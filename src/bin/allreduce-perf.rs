//! `allreduce-perf`: nccl-tests' `all_reduce_perf`, same flags and output.
fn main() {
    std::process::exit(collbench::app::collective_main("all_reduce"));
}
