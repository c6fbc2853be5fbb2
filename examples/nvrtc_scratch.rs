fn main() {
    let src = "extern \"C\" __global__ void k(unsigned long long* p){ p[threadIdx.x] = 1; }";
    for arch in ["sm_80", "sm_90", "compute_90"] {
        match collbench::backend::cuda::nvrtc::compile(src, arch, "t.cu") {
            Ok((b, o)) => println!("{arch}: {} bytes {:?}", b.len(), o),
            Err(e) => println!("{arch}: {e}"),
        }
    }
    println!("{:?}", collbench::backend::cuda::nvrtc::load().map(|l| (l.path.clone(), l.version)).map_err(|e| e.to_string()));
}
