//! `alltoall-perf`: nccl-tests' `alltoall_perf`, same flags and output.
fn main() {
    std::process::exit(collbench::app::collective_main("alltoall"));
}
