//! Development entry for `collbench fabric …` until the umbrella binary dispatches to it:
//! `cargo run --features fabric --example collbench-fabric -- loopback --provider tcp`.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(collbench::fabric::fabric_main(&args));
}
