//! `collbench`: the multi-call binary. Started as `collbench` it is the umbrella (`collbench run
//! <collective> [flags]`, `collbench list`, …); started through a link named after a collective
//! (`all_reduce_perf`, `allreduce-perf`, …) it is that collective's nccl-tests program.
fn main() {
    std::process::exit(collbench::app::multicall_main());
}
