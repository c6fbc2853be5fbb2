//! Element types and reduction operators, with the spellings nccl-tests uses.
mod dtype;
mod redop;
pub mod size;
pub mod values;

pub use dtype::DataType;
pub use redop::ReduceOp;
