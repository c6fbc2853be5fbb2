//! Acceptance: verdicts and their exit codes, `--require-net`, bad-node isolation by pairs, a
//! killed run's outputs, Prometheus/Pushgateway/Grafana against the real servers, and fuzzing of
//! every untrusted input.
//!
//! One file per module; the helpers they share live in tests/support/.
//! - `blame`: a rank is named only with evidence, under `mpirun -np 4`;
//! - `crash`: a run killed mid-sweep keeps every finished row in every output;
//! - `dashboard_live`: the Grafana dashboard's queries against a real Prometheus and Pushgateway;
//! - `fuzz`: the parsers of untrusted input never panic;
//! - `net_selection`: `--require-net` on the command line, in the verdict and in the outputs;
//! - `net_selection_mpi`: `--require-net` across real MPI ranks (this binary runs itself as the ranks);
//! - `observability`: Prometheus textfile, Pushgateway push and JSON Lines against the real tools;
//! - `pushgateway_transport`: https, basic auth and proxies to a Pushgateway, against local endpoints;
//! - `pairwise`: `collbench accept --pairwise` under `mpirun`: the slow host is named;
//! - `verdict`: `--min-busbw`, NCCL_TESTS_MIN_BW, profiles, the verdict block and exit 7.

#[path = "../support/mod.rs"]
mod support;

mod blame;
mod crash;
mod dashboard_live;
mod fuzz;
mod net_selection;
mod net_selection_mpi;
mod observability;
mod pairwise;
mod pushgateway_transport;
mod verdict;
