//! Aggregation of per-rank measurements into one table row (nccl-tests `-a` semantics plus the
//! min/avg/max spread and slowest rank that collbench always records), and of rows into the
//! run's summary (the two footer lines).
//!
//! Flow: every rank builds a [`RankSample`] per measurement, the runtime gathers
//! [`encode_samples`] bytes to rank 0 (`World::gather_bytes`), rank 0 calls [`decode_samples`] and
//! [`aggregate_measurement`], and feeds each finished row to a [`SummaryAccumulator`]. Everything
//! here is a pure function of its inputs.

mod iter_stats;
mod measurement;
mod sample;
mod series;
mod summary;
mod time_stats;

pub use iter_stats::{iteration_stats, percentile_index};
pub use measurement::{aggregate_measurement, average_mode_name, bandwidth_gbps, AggregateOptions};
pub use sample::{decode_samples, encode_samples, RankSample};
pub use series::{combine_ranks, sample_series};
pub use summary::{summarize, SummaryAccumulator};
pub use time_stats::{median_interval, order_statistic_index, CONFIDENCE};
