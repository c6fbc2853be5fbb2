//! `hypercube-perf`: nccl-tests' `hypercube_perf`, same flags and output.
fn main() {
    std::process::exit(collbench::app::collective_main("hypercube"));
}
