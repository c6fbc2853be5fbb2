//! `reducescatter-perf`: nccl-tests' `reduce_scatter_perf`, same flags and output.
fn main() {
    std::process::exit(collbench::app::collective_main("reduce_scatter"));
}
