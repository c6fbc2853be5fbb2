//! How a run ends: rank 0's verdict block and push, the run's verdict as an error, and the one
//! place where an error becomes the printed line and the exit code of a rank.

use crate::error::{exit, CollbenchError, Result};
use crate::plan::TestPlan;
use crate::sweep::runner::RunOutcome;
use crate::world::World;

/// The exit code of a finished (or failed) sweep on this rank. The verdict's exit code (7,
/// 130/143) wins over a failed output file or push (1), but every failure is said: a FAIL that
/// never reached its file or the dashboard must not go unnoticed. An error in the middle of the
/// sweep ends the other ranks too (they may be waiting for this one in a collective).
pub fn exit_code(plan: &TestPlan, world: &dyn World, outcome: Result<RunOutcome>) -> i32 {
    let result = outcome.and_then(|mut outcome| {
        let output = outcome.output_error.take().map_or(Ok(()), Err);
        let push = match &outcome.report {
            Some(report) => finish_acceptance(plan, report),
            None => Ok(()),
        };
        let mut errors = [verdict(&outcome), output, push]
            .into_iter()
            .filter_map(Result::err);
        match errors.next() {
            None => Ok(()),
            Some(first) => {
                for later in errors {
                    crate::io::console::error_line(&format!("collbench: {later}"));
                }
                Err(first)
            }
        }
    });
    match result {
        Ok(()) => exit::OK,
        Err(error) => {
            let code = report_error_at(&error, world.rank());
            let mid_sweep = !matches!(
                error,
                CollbenchError::WrongResults(_)
                    | CollbenchError::CheckFailed(_)
                    | CollbenchError::CheckWarned(_)
                    | CollbenchError::Interrupted { .. }
            );
            if mid_sweep && world.size() > 1 {
                world.abort(code);
            }
            code
        }
    }
}

/// Prints `error` where it should be seen once: errors every rank has alike (usage, the run's
/// verdict) only on rank 0, the others on the rank that hit them. Returns the exit code.
pub fn report_error_at(error: &CollbenchError, rank: usize) -> i32 {
    let same_on_every_rank = matches!(
        error,
        CollbenchError::Usage(_)
            | CollbenchError::Unsupported(_)
            | CollbenchError::WrongResults(_)
            | CollbenchError::CheckFailed(_)
            | CollbenchError::CheckWarned(_)
            | CollbenchError::Interrupted { .. }
    );
    if !same_on_every_rank || rank == 0 {
        crate::io::console::error_line(&format!("collbench: {error}"));
    }
    error.exit_code()
}

/// Rank 0 after the sweep: prints the verdict block to stderr (stdout stays nccl-tests' table,
/// see docs/output.md) and pushes the metrics to `--push-gateway`. A failed push is an I/O error
/// (exit 1) that only wins over a clean verdict.
fn finish_acceptance(plan: &TestPlan, report: &crate::report::Report) -> Result<()> {
    if let Some(v) = &report.verdict {
        eprint!("{}", crate::verdict::render::block(v));
    }
    match &plan.acceptance.push_gateway {
        Some(url) => crate::sinks::pushgateway::PushGatewaySink::new(url)?.push(report),
        None => Ok(()),
    }
}

/// The run's verdict as an error (exit 7, 130/143) or success; the same on every rank.
fn verdict(outcome: &RunOutcome) -> Result<()> {
    if outcome.wrong_elements > 0 {
        let first = outcome
            .report
            .as_ref()
            .and_then(|r| r.summary.first_wrong.clone())
            .map(|w| {
                format!(
                    "; first on rank {} at element {}: expected {}, got {}",
                    w.rank, w.index, w.expected, w.got
                )
            })
            .unwrap_or_default();
        return Err(CollbenchError::WrongResults(format!(
            "{} wrong element(s) in the validated results{first}",
            outcome.wrong_elements
        )));
    }
    if outcome.bandwidth_failed {
        let average = outcome
            .report
            .as_ref()
            .map(|r| {
                format!(
                    " ({} GB/s against NCCL_TESTS_MIN_BW {} GB/s)",
                    r.summary.avg_bus_bandwidth_gbps,
                    r.summary.min_bus_bandwidth_gbps.unwrap_or(0.0)
                )
            })
            .unwrap_or_default();
        // Worded for merged logs (docs/output.md): the footer's own line is the one to parse.
        return Err(CollbenchError::CheckFailed(format!(
            "the footer's average busbw is below 90 % of NCCL_TESTS_MIN_BW{average}"
        )));
    }
    if let Some(signal) = outcome.interrupted_by {
        return Err(CollbenchError::Interrupted { signal });
    }
    if outcome.verdict_failed {
        return Err(CollbenchError::CheckFailed(format!(
            "acceptance verdict FAIL: {}",
            verdict_detail(outcome)
        )));
    }
    // Every rank knows that the verdict warned (exit 8, as alike as a failure); rank 0 has the detail.
    if outcome.verdict_warned {
        return Err(CollbenchError::CheckWarned(format!(
            "acceptance verdict WARN: {}",
            verdict_detail(outcome)
        )));
    }
    Ok(())
}

/// What the verdict found, as rank 0 words it; other ranks point to rank 0's verdict block.
fn verdict_detail(outcome: &RunOutcome) -> String {
    outcome
        .report
        .as_ref()
        .and_then(|r| r.verdict.as_ref())
        .and_then(|v| v.to_result().err())
        .map(|e| match e {
            CollbenchError::CheckFailed(m) | CollbenchError::CheckWarned(m) => m,
            other => other.to_string(),
        })
        .unwrap_or_else(|| "see rank 0's verdict block".to_string())
}
