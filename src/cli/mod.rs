//! Command line: nccl-tests' flag set (same spellings and defaults) plus collbench's own, strictly
//! validated into a [`crate::plan::TestPlan`].
