//! `gather-perf`: nccl-tests' `gather_perf`, same flags and output.
fn main() {
    std::process::exit(collbench::app::collective_main("gather"));
}
