//! Element types and reduction operators, with the spellings nccl-tests uses.
mod dtype;
mod redop;

pub use dtype::DataType;
pub use redop::ReduceOp;
