//! The GPU backend: the device test `make gpu-check` runs on a real GPU (skipped without one; the
//! GPU bundle runs only `device::`), the NVRTC compile of the validation kernels, and the errors a
//! user sees where the GPU backend cannot run.
//!
//! One file per module; the helpers they share live in tests/support/.
//! - `device`: the NCCL backend on a real GPU: fills, every collective checked on the device, timings;
//! - `errors`: clear errors and the `--backend auto` fallback without a usable GPU;
//! - `kernels_compile`: the validation kernels compile with NVRTC (no GPU needed);
//! - `nccl_versions`: the NCCL version gates of -x and -D, against stand-in libraries.

#[path = "../support/mod.rs"]
mod support;

mod device;
mod errors;
mod kernels_compile;
mod nccl_versions;
