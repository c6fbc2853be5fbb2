//! `collbench fabric` against Debian's real libfabric: info, loopback, pingpong under `mpirun`, the
//! run-time loader, the corruption hook, and the build without the `fabric` feature.
//!
//! One file per module; the helpers they share live in tests/support/.
//! - `corruption`: an altered payload is caught (exit 7);
//! - `info`: `collbench fabric info`;
//! - `loader`: libfabric loaded at run time, and what a missing one looks like;
//! - `loopback`: `collbench fabric loopback` over the real providers;
//! - `pingpong`: `collbench fabric pingpong` under `mpirun`;
//! - `without_feature`: without the feature, `collbench fabric` says how to get it.

#[path = "../support/mod.rs"]
mod support;

mod corruption;
mod info;
mod loader;
mod loopback;
mod pingpong;
mod without_feature;
