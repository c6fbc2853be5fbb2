//! Rank 0's outputs of a plain run: the criteria it is judged by (`--profile auto` resolved from
//! its devices) and the sinks the flags ask for, each output path checked before the sweep.

use crate::backend::Backend;
use crate::error::Result;
use crate::plan::{Criteria, TestPlan};
use crate::sinks::{self, Sink, TextSink};

/// The criteria rank 0 judges the run by: `--profile auto` needs the device model, which rank
/// 0's own devices name.
pub(super) fn criteria(plan: &TestPlan, backend: &dyn Backend) -> Result<Criteria> {
    let devices: Vec<String> = backend
        .placements()
        .into_iter()
        .map(|p| p.device_name)
        .collect();
    plan.acceptance.resolve_criteria(&devices)
}

/// The sinks of rank 0. `nranks`: ranks of the test's group (for the alltoallv summary);
/// `notices`: lines the table prints before its rows.
pub(super) fn open(
    plan: &TestPlan,
    backend: &dyn Backend,
    nranks: usize,
    notices: Vec<String>,
) -> Result<Vec<Box<dyn Sink>>> {
    // nccl-tests prints its notices about ignored flags while it parses them, before the files.
    let mut preamble = backend.setup_notices();
    let mut files = Vec::new();
    for file in plan.outputs.iter() {
        if file.probe_when_opened {
            crate::io::check_output_path(&file.flag.to_string(), &file.path)?;
        }
        let opened = sinks::open(file.format, &file.path)?;
        preamble.extend(opened.announcement);
        files.push(opened.sink);
    }
    let mut text = TextSink::stdout()
        .with_preamble(preamble)
        .with_notices(notices);
    if let Some(notes) = alltoallv_summary(plan, nranks) {
        text = text.with_row_notes(notes);
    }
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(text)];
    sinks.extend(files);
    // Last: it draws after the table printed its row.
    if crate::io::progress::stderr_is_terminal() {
        sinks.push(Box::new(sinks::progress::ProgressSink::for_plan(
            plan, nranks,
        )));
    }
    Ok(sinks)
}

/// `NCCL_TESTS_ALLTOALLV_PRINT_SUMMARY=1`: the per-rank lines before each alltoallv row, one block
/// per measured cell (out of place, in place) with that cell's time.
fn alltoallv_summary(plan: &TestPlan, nranks: usize) -> Option<sinks::text::RowNotes> {
    let options = plan.alltoallv.as_ref().filter(|o| o.print_summary)?;
    let pattern = options.pattern.clone();
    Some(Box::new(move |row: &crate::report::ResultRow| {
        let total = row.count * nranks as u64 * row.dtype.size_bytes() as u64;
        [&row.out_of_place, &row.in_place]
            .into_iter()
            .flatten()
            .map(|m| {
                crate::collectives::alltoallv::summary::lines(
                    &pattern,
                    nranks,
                    total,
                    m.time_us / 1.0e6,
                )
            })
            .collect()
    }))
}
