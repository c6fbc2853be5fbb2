//! The end of a run in the text table: why it is incomplete, if it is, and the [`Report`] it
//! becomes.

use super::reader::{Reader, RunText};
use crate::compare::imported::{
    attribute_to_first_rank, fill_sweep_config, mean_busbw, nccl_backend, nccl_tests_tool,
    wrong_cells,
};
use crate::error::Result;
use crate::report::meta::hosts_in_rank_order;
use crate::report::{Report, Summary, SCHEMA_VERSION};
use std::collections::BTreeMap;

impl Reader<'_> {
    /// Closes the current run. `next_line` is where the next one begins, when one does.
    pub(super) fn end_run(&mut self, next_line: Option<usize>) -> Result<()> {
        let Some(mut run) = self.current.take() else {
            return Ok(());
        };
        let origin = self.origin;
        // collbench prints its footer after a stop too, with `# Run interrupted:` above it.
        let complete = run.out_of_bounds.is_some() && run.interrupted.is_none();
        let mut why_incomplete = Vec::new();
        if let Some((torn_line, _)) = run.torn.take() {
            why_incomplete.push(format!("its last row (line {torn_line}) was cut off"));
        }
        if run.out_of_bounds.is_none() {
            why_incomplete.insert(
                0,
                format!(
                    "the table ends after {} row{} without its footer ('# Out of bounds values'){}",
                    run.rows.len(),
                    if run.rows.len() == 1 { "" } else { "s" },
                    match next_line {
                        Some(line) => format!(", where another run starts (line {line})"),
                        None => match &run.last_noise {
                            Some(last) =>
                                format!(": the run was killed or failed (last line: '{last}')"),
                            None => ": the run was killed or failed".into(),
                        },
                    }
                ),
            );
        }
        let collective = match run.collective.take() {
            Some(c) => c,
            None => {
                return Err(self.error(
                    run.line,
                    "this table has no '# Collective test starting: NAME_perf' line, so which \
                     collective it measured is unknown"
                        .into(),
                ))
            }
        };
        if run.rows.is_empty() {
            self.notes.push(format!(
                "{origin}: the {collective} run at line {} has no result row and is left out",
                run.line
            ));
            return Ok(());
        }
        if run.ranks.is_empty() {
            return Err(self.error(
                run.line,
                format!(
                    "the {collective} run has no '#  Rank N Group …' lines, so its rank count \
                     (which bus bandwidth depends on) is unknown"
                ),
            ));
        }
        if run.zero_time_cells > 0 {
            self.notes.push(format!(
                "{origin}: {} measurement{} of the {collective} run printed a time of 0 µs (below \
                 the table's 0.01 µs resolution) and {} left out",
                run.zero_time_cells,
                if run.zero_time_cells == 1 { "" } else { "s" },
                if run.zero_time_cells == 1 {
                    "is"
                } else {
                    "are"
                }
            ));
        }
        let interrupted = match (run.interrupted.take(), why_incomplete.is_empty()) {
            (Some(said), true) => Some(said),
            (Some(said), false) => Some(format!("{said}; {}", why_incomplete.join("; "))),
            (None, true) => None,
            (None, false) => Some(why_incomplete.join("; ")),
        };
        let report = build_report(run, collective, complete, interrupted);
        crate::compare::validate::validate(&report, origin)?;
        self.runs.push(report);
        Ok(())
    }
}

fn build_report(
    run: RunText,
    collective: String,
    complete: bool,
    interrupted: Option<String>,
) -> Report {
    let RunText {
        banner,
        mut config,
        mut ranks,
        mut rows,
        out_of_bounds,
        avg_busbw,
        min_bw_failed,
        ..
    } = run;
    ranks.sort_by_key(|p| p.rank);
    attribute_to_first_rank(&mut rows, &ranks);
    fill_sweep_config(&mut config, &rows);
    let out_of_bounds = out_of_bounds.unwrap_or_else(|| wrong_cells(&rows));
    let summary = Summary {
        out_of_bounds,
        // The footer's number when there is one; for a cut-off table, the mean of its rows.
        avg_bus_bandwidth_gbps: avg_busbw.unwrap_or_else(|| mean_busbw(&rows)),
        min_bus_bandwidth_gbps: None,
        passed: complete && out_of_bounds == 0 && !min_bw_failed,
        first_wrong: None,
        interrupted,
    };
    let tool = banner
        .tool
        .unwrap_or_else(|| nccl_tests_tool("unknown".into()));
    let backend = banner.backend.unwrap_or_else(|| nccl_backend(None));
    Report {
        schema_version: SCHEMA_VERSION,
        tool,
        args: Vec::new(),
        start_time: String::new(),
        end_time: None,
        complete,
        backend,
        collective,
        nranks: ranks.len(),
        hosts: hosts_in_rank_order(&ranks),
        ranks,
        memory: Vec::new(),
        slurm: None,
        environment: BTreeMap::new(),
        config,
        results: rows,
        summary,
        verdict: None,
    }
}
