//! Aggregation of per-rank measurements into one table row (nccl-tests `-a` semantics plus the
//! min/avg/max spread and slowest rank that collbench always records).
