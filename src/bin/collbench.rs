//! `collbench`: umbrella (`collbench run <collective> [flags]`, `collbench list`, …).
fn main() {
    std::process::exit(collbench::app::umbrella_main());
}
