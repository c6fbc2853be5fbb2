//! `alltoallv-perf`: nccl-tests' `alltoallv_perf`, same flags and output.
fn main() {
    std::process::exit(collbench::app::collective_main("alltoallv"));
}
