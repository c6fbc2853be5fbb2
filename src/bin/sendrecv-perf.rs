//! `sendrecv-perf`: nccl-tests' `sendrecv_perf`, same flags and output.
fn main() {
    std::process::exit(collbench::app::collective_main("sendrecv"));
}
