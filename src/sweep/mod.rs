//! The sweep layer: drives a backend over every size, type, operator and root of the plan, caps
//! the sizes to the memory the ranks have, aggregates across ranks and streams rows to the sinks.

pub mod memory_cap;
pub mod notes;
pub mod runner;
