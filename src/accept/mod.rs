//! `collbench accept --pairwise` and `--bisect`: find the bad nodes of an allocation in one job. The
//! world is split by host into groups that all run the test at once (pairs, or halves split again
//! where they fail); failing hosts are confirmed next to hosts that passed, and the hosts that
//! still fail are named, with the `scontrol … state=drain` line to take them out (run only with
//! `--drain`).

pub mod bisect;
pub mod command;
pub mod drain;
pub mod pairing;
pub mod pairwise;
pub mod report;
