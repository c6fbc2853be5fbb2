//! The validation kernels compile with NVRTC for sm_80 and sm_90 (CUBIN) and to PTX, through the
//! backend's own NVRTC search and compile path — no GPU needed. NVRTC comes from the
//! `nvidia-cuda-nvrtc` wheel in CI (found in site-packages/nvidia/cu13/lib) or
//! COLLBENCH_NVRTC_LIBRARY. Under CI (`CI` set) a missing NVRTC is a failure, not a skip.

use collbench::backend::cuda::nvrtc::{self, Output};

fn nvrtc_or_skip() -> bool {
    match nvrtc::load() {
        Ok(lib) => {
            eprintln!(
                "NVRTC {}.{} from {}",
                lib.version.0, lib.version.1, lib.path
            );
            true
        }
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("CI must compile the kernels, but NVRTC is missing: {e}");
            }
            eprintln!("SKIPPED: no NVRTC here (pip install 'nvidia-cuda-nvrtc>=13,<14'): {e}");
            false
        }
    }
}

#[test]
fn validation_kernels_compile_for_sm80_and_sm90() {
    if !nvrtc_or_skip() {
        return;
    }
    for arch in ["sm_80", "sm_90"] {
        let (cubin, output) = nvrtc::compile(collbench::data::KERNEL_SOURCE, arch, "collbench.cu")
            .unwrap_or_else(|e| panic!("{arch}: {e}"));
        assert_eq!(output, Output::Cubin);
        assert_eq!(&cubin[..4], b"\x7fELF", "{arch}: a CUBIN is an ELF image");
        for kernel in ["cb_fill", "cb_verify"] {
            assert!(
                cubin.windows(kernel.len()).any(|w| w == kernel.as_bytes()),
                "{arch}: {kernel} missing from the CUBIN"
            );
        }
    }
    let (ptx, output) =
        nvrtc::compile(collbench::data::KERNEL_SOURCE, "compute_90", "collbench.cu").unwrap();
    assert_eq!(output, Output::Ptx);
    assert!(nvrtc::is_c_string(&ptx));
    let text = String::from_utf8_lossy(&ptx);
    assert!(
        text.contains(".entry cb_fill") && text.contains(".entry cb_verify"),
        "{text:.300}"
    );
}

#[test]
fn a_compile_error_reports_the_nvrtc_log() {
    if !nvrtc_or_skip() {
        return;
    }
    let err = nvrtc::compile(
        "extern \"C\" __global__ void k() { this is not cuda; }",
        "sm_90",
        "bad.cu",
    )
    .expect_err("must not compile");
    assert_eq!(err.exit_code(), 2);
    let msg = err.to_string();
    assert!(
        msg.contains("bad.cu") && msg.contains("sm_90") && msg.contains("error"),
        "{msg}"
    );
}
