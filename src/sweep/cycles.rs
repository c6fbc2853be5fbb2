//! `-N`: each measurement's reported time in every cycle so far, so that a row of cycle c carries
//! the median and interval of cycles 0..=c when it has no finer samples (`-I` iterations or
//! `--precision` batches). Rank 0 only.

use crate::aggregate::median_interval;
use crate::report::{Measurement, SampleUnit};
use crate::types::DataType;
use std::collections::HashMap;

/// At most this many recent cycles per measurement (`-N 0` runs until interrupted).
pub const MAX_CYCLES_KEPT: usize = 1000;

/// One measurement across cycles: type, operator (as printed), root, size, in place.
pub type CellKey = (DataType, String, i64, u64, bool);

#[derive(Default)]
pub struct CycleHistory {
    times_us: HashMap<CellKey, Vec<f64>>,
}

impl CycleHistory {
    /// Records `m`'s reported time and, when it has no statistics of its own, gives it those of
    /// its cycles so far (none before the second cycle).
    pub fn record(&mut self, key: CellKey, m: &mut Measurement) {
        let series = self.times_us.entry(key).or_default();
        if series.len() == MAX_CYCLES_KEPT {
            series.remove(0);
        }
        series.push(m.time_us);
        if m.stats.is_none() {
            m.stats = median_interval(series, SampleUnit::Cycle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RankSpread;

    fn measurement(time_us: f64) -> Measurement {
        Measurement {
            time_us,
            algbw_gbps: 0.0,
            bus_bandwidth_gbps: 0.0,
            wrong: None,
            ranks_with_wrong: 0,
            first_wrong: None,
            ranks: RankSpread {
                time_us_min: time_us,
                time_us_avg: time_us,
                time_us_max: time_us,
                slowest_rank: 0,
                slowest_host: "h".into(),
                slowest_device: None,
            },
            per_iteration: None,
            stats: None,
            run_queue_wait: None,
        }
    }

    #[test]
    fn cycles_accumulate_per_measurement() {
        let mut history = CycleHistory::default();
        let key = |size, in_place| (DataType::Float, "sum".to_string(), -1, size, in_place);
        let mut first = measurement(10.0);
        history.record(key(8, false), &mut first);
        assert!(first.stats.is_none(), "one cycle: no interval");
        let mut other = measurement(99.0);
        history.record(key(8, true), &mut other);
        let mut second = measurement(12.0);
        history.record(key(8, false), &mut second);
        let stats = second.stats.unwrap();
        assert_eq!(stats.unit, SampleUnit::Cycle);
        assert_eq!((stats.samples, stats.center_us), (2, 11.0));
        assert_eq!(stats.values_us, vec![10.0, 12.0]);
    }
}
