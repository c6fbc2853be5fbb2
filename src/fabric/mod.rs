//! `collbench fabric …`: libfabric diagnostics (provider inventory, loopback and pairwise
//! bandwidth/latency with verified payloads) and the parser that tells which network NCCL used.
//!
//! The libfabric parts need the cargo feature `fabric` (and libfabric >= 1.14 at build time);
//! `nccl_net`, `payload`, `stats` and `efa_expect` are pure and always built.

pub mod cli;
pub mod efa_expect;
pub mod nccl_net;
pub mod payload;
pub mod results;
pub mod stats;
pub mod verdict;

#[cfg(feature = "fabric")]
pub mod ofi;

#[cfg(feature = "fabric")]
pub mod engine;
#[cfg(feature = "fabric")]
pub mod select;
