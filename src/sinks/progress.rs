//! The progress line of a sweep (`crate::io::progress`) as a sink: started at `begin`, one step per
//! finished row, erased at `finish`. Only opened when stderr is a terminal; it writes no file and
//! nothing to stdout.

use super::Sink;
use crate::error::Result;
use crate::io::progress::ProgressLine;
use crate::plan::TestPlan;
use crate::report::{Report, ResultRow};

/// A row's share of the sweep's time: its size, plus a floor for the fixed cost of small sizes
/// (launch latency, barriers, the check).
fn row_weight(size_bytes: u64) -> f64 {
    size_bytes as f64 + 256.0 * 1024.0
}

pub struct ProgressSink {
    total_rows: Option<usize>,
    total_weight: f64,
    line: Option<ProgressLine>,
}

impl ProgressSink {
    /// The rows `plan` runs on `nranks` ranks: every size for each type, operator, root and
    /// cycle (no total when `-N 0` repeats until interrupted).
    pub fn for_plan(plan: &TestPlan, nranks: usize) -> Self {
        let passes =
            plan.sweep.dtypes.len() * plan.sweep.ops.len().max(1) * plan.roots(nranks).len();
        let per_pass: f64 = plan.sweep.sizes.iter().map(|&s| row_weight(s)).sum();
        let cycles = plan.run_cycles;
        ProgressSink {
            total_rows: (cycles > 0).then(|| passes * cycles * plan.sweep.sizes.len()),
            total_weight: per_pass * (passes * cycles) as f64,
            line: None,
        }
    }
}

impl Sink for ProgressSink {
    fn begin(&mut self, _report: &Report) -> Result<()> {
        self.line = Some(ProgressLine::start(self.total_rows, self.total_weight));
        Ok(())
    }

    fn row(&mut self, _report: &Report, row: &ResultRow) -> Result<()> {
        if let Some(line) = &self.line {
            line.row_done(row_weight(row.size_bytes));
        }
        Ok(())
    }

    fn finish(&mut self, _report: &Report) -> Result<()> {
        if let Some(mut line) = self.line.take() {
            line.finish();
        }
        Ok(())
    }
}
