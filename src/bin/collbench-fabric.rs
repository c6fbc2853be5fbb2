//! `collbench-fabric <info|loopback|pingpong> …` = `collbench fabric …` (temporary entry until the
//! umbrella dispatches it; needs the `fabric` feature).
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(collbench::fabric::fabric_main(&args));
}
