//! The run's two footer numbers, defined as nccl-tests defines them:
//! - "Out of bounds values": how many (measurement, rank) checks found wrong elements;
//! - "Avg bus bandwidth": the plain mean of busbw over every measured cell (out-of-place and
//!   in-place, every size, type, operator, root and cycle — also cells whose #wrong is `N/A`),
//!   checked against NCCL_TESTS_MIN_BW when set (fails below 90 % of it).

use crate::data::WrongElement;
use crate::plan::acceptance::NCCL_TESTS_MIN_BW_FRACTION;
use crate::report::{ResultRow, Summary};

/// Builds the summary row by row, so a streaming runner never keeps what it does not need.
#[derive(Clone, Debug, Default)]
pub struct SummaryAccumulator {
    out_of_bounds: u64,
    bus_bandwidth_sum: f64,
    measured_cells: u64,
    first_wrong: Option<WrongElement>,
}

impl SummaryAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_row(&mut self, row: &ResultRow) {
        for m in [&row.out_of_place, &row.in_place].into_iter().flatten() {
            self.out_of_bounds += m.ranks_with_wrong;
            self.bus_bandwidth_sum += m.bus_bandwidth_gbps;
            self.measured_cells += 1;
            if self.first_wrong.is_none() {
                self.first_wrong = m.first_wrong.clone();
            }
        }
    }

    /// The summary so far. `passed`: no wrong element and the bandwidth check (if any) holds;
    /// whether the run finished is `Report::complete`, not this.
    pub fn summary(
        &self,
        min_bus_bandwidth_gbps: Option<f64>,
        interrupted: Option<String>,
    ) -> Summary {
        let avg_bus_bandwidth_gbps = if self.measured_cells == 0 {
            0.0
        } else {
            self.bus_bandwidth_sum / self.measured_cells as f64
        };
        let bandwidth_ok =
            min_bus_bandwidth_gbps.is_none_or(|min| avg_bus_bandwidth_gbps >= 0.9 * min);
        Summary {
            out_of_bounds: self.out_of_bounds,
            avg_bus_bandwidth_gbps,
            min_bus_bandwidth_gbps,
            passed: self.out_of_bounds == 0 && bandwidth_ok,
            first_wrong: self.first_wrong.clone(),
            interrupted,
        }
    }
}

/// The summary of finished rows (see [`SummaryAccumulator`]).
pub fn summarize(
    rows: &[ResultRow],
    min_bus_bandwidth_gbps: Option<f64>,
    interrupted: Option<String>,
) -> Summary {
    let mut acc = SummaryAccumulator::new();
    for row in rows {
        acc.add_row(row);
    }
    acc.summary(min_bus_bandwidth_gbps, interrupted)
}

impl Summary {
    /// The bandwidth verdict of the footer: `None` without NCCL_TESTS_MIN_BW, else whether the
    /// average reached 90 % of it (nccl-tests' rule).
    pub fn bus_bandwidth_ok(&self) -> Option<bool> {
        self.min_bus_bandwidth_gbps
            .map(|min| self.avg_bus_bandwidth_gbps >= NCCL_TESTS_MIN_BW_FRACTION * min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Measurement, RankSpread};
    use crate::types::DataType;

    fn cell(busbw: f64, ranks_with_wrong: u64) -> Measurement {
        Measurement {
            time_us: 1.0,
            algbw_gbps: busbw,
            bus_bandwidth_gbps: busbw,
            wrong: Some(ranks_with_wrong * 3),
            ranks_with_wrong,
            first_wrong: (ranks_with_wrong > 0).then(|| WrongElement {
                rank: 2,
                index: 0,
                expected: "1".into(),
                got: "0".into(),
            }),
            ranks: RankSpread {
                time_us_min: 1.0,
                time_us_avg: 1.0,
                time_us_max: 1.0,
                slowest_rank: 0,
                slowest_host: "h".into(),
                slowest_device: None,
            },
            per_iteration: None,
            stats: None,
            run_queue_wait: None,
        }
    }

    fn row(out: Option<Measurement>, inp: Option<Measurement>) -> ResultRow {
        ResultRow {
            collective: "all_reduce".into(),
            size_bytes: 8,
            count: 2,
            dtype: DataType::Float,
            redop: "sum".into(),
            root: -1,
            out_of_place: out,
            in_place: inp,
            cycle: 0,
        }
    }

    #[test]
    fn average_is_over_every_measured_cell() {
        let rows = vec![
            row(Some(cell(10.0, 0)), Some(cell(20.0, 0))),
            row(Some(cell(30.0, 0)), None),
        ];
        let s = summarize(&rows, None, None);
        assert_eq!(s.avg_bus_bandwidth_gbps, 20.0);
        assert_eq!(
            (s.out_of_bounds, s.passed, s.bus_bandwidth_ok()),
            (0, true, None)
        );
        assert_eq!(summarize(&[], None, None).avg_bus_bandwidth_gbps, 0.0);
    }

    #[test]
    fn out_of_bounds_counts_failing_rank_checks() {
        let rows = vec![
            row(Some(cell(1.0, 2)), Some(cell(1.0, 0))),
            row(Some(cell(1.0, 0)), Some(cell(1.0, 1))),
        ];
        let s = summarize(&rows, None, Some("SIGTERM".into()));
        assert_eq!(s.out_of_bounds, 3);
        assert!(!s.passed);
        assert_eq!(s.first_wrong.unwrap().rank, 2);
        assert_eq!(s.interrupted.as_deref(), Some("SIGTERM"));
    }

    #[test]
    fn min_bandwidth_uses_the_ninety_percent_rule() {
        let rows = vec![row(Some(cell(90.0, 0)), None)];
        let ok = summarize(&rows, Some(100.0), None);
        assert_eq!((ok.bus_bandwidth_ok(), ok.passed), (Some(true), true));
        let bad = summarize(&rows, Some(100.1), None);
        assert_eq!((bad.bus_bandwidth_ok(), bad.passed), (Some(false), false));
    }
}
