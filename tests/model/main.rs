//! The collective model without a launcher: counts, layouts, launch and checking against an
//! in-memory simulation, the reduction scheme, and the real nccl-tests output.
//!
//! One file per module; the helpers they share live in tests/support/.
//! - `anchors`: sizes, counts, columns and bandwidths against nccl-tests 2.19.6 output;
//! - `collectives_simulated`: every collective launched for all ranks on simulated primitives, checked exactly;
//! - `reduction_orders`: the generator's reduction scheme holds in every reduction order.

#[path = "../support/mod.rs"]
mod support;

mod anchors;
mod collectives_simulated;
mod reduction_orders;
