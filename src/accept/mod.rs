//! `collbench accept --pairwise`: find the bad nodes of an allocation in one job. The world is split
//! by host into pairs that all run the test at once; failing hosts are re-paired with hosts that
//! passed, and the hosts that still fail are named, with the `scontrol … state=drain` line to take
//! them out (run only with `--drain`).

pub mod command;
pub mod drain;
pub mod pairing;
pub mod pairwise;
pub mod report;
