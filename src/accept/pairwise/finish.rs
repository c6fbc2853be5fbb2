//! After the last round: rank 0 builds the report, drains the bad hosts when asked, prints and
//! writes the outputs; then every rank learns the run's exit status.

use super::judge::Thresholds;
use super::messages::{decode, encode, error_from_code, error_message};
use super::outputs::write_outputs;
use super::rounds::Session;
use crate::accept::pairing::drain_command;
use crate::accept::report::{self, BadHost, HostInfo, PairwiseReport, PAIRWISE_SCHEMA_VERSION};
use crate::error::{CollbenchError, Result};
use crate::report::{ToolInfo, PAIRWISE_KIND};

impl Session<'_> {
    /// Collective over the world: every rank returns the same outcome (Ok: every host cleared).
    pub(super) fn finish(mut self) -> Result<()> {
        let mut status: (i32, String) = (0, String::new());
        if self.world.rank() == 0 {
            status = self.conclude()?;
        }
        let mut bytes = if self.world.rank() == 0 {
            encode(&status)?
        } else {
            Vec::new()
        };
        self.words
            .pass(&mut bytes, "the run's final status", true)?;
        let (code, message) = decode::<(i32, String)>(&bytes)?;
        match code {
            0 => Ok(()),
            code => Err(error_from_code(code, message)),
        }
    }

    /// Rank 0: the report, the drain, the printed result and the outputs; the exit status to
    /// share. An `Err` (a silent rank) ends the job here, since it will never join the broadcast.
    fn conclude(&mut self) -> Result<(i32, String)> {
        let _bounded_work = self.words.vouch();
        let mut result = self.report();
        if self.options.drain {
            self.drain(&mut result);
        }
        crate::io::console::print(&report::render(&result));
        let outputs = write_outputs(self.plan, &result, self.jsonl.as_mut());
        // A failed output (a push, a file) loses to a FAIL or a signal in the exit code, but is
        // still said: the bad hosts may never have reached the dashboard.
        if let (Err(e), true) = (&outputs, self.interrupted.is_some() || !result.passed) {
            crate::io::console::error_line(&format!("collbench: {e}"));
        }
        if let Some((round, why)) = &self.timed_out {
            return Err(CollbenchError::Timeout(format!(
                "accept {} round {round}: {why}",
                self.options.search.flag()
            )));
        }
        Ok(match (self.interrupted, result.passed, outputs) {
            (Some(signal), _, _) => (128 + signal, String::new()),
            (None, false, _) => (7, failure_summary(&result)),
            (None, true, Err(e)) => (e.exit_code(), error_message(&e)),
            (None, true, Ok(())) => (0, String::new()),
        })
    }

    fn report(&self) -> PairwiseReport {
        let table = &self.table;
        let stopped = self.interrupted.is_some() || self.timed_out.is_some();
        // An absolute threshold is known before round 1 ends (a run stopped by a signal in
        // round 1 still says which one it was judged by).
        let summary = self.judge.threshold.as_ref().map(Thresholds::summary);
        PairwiseReport {
            kind: PAIRWISE_KIND.into(),
            schema_version: PAIRWISE_SCHEMA_VERSION,
            search: self.options.search,
            tool: ToolInfo {
                name: "collbench".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            args: self.plan.args.clone(),
            start_time: self.start_time.clone(),
            end_time: Some(crate::report::time::now_rfc3339()),
            collective: self.plan.collective.name().into(),
            backend: self
                .backend_used
                .clone()
                .unwrap_or_else(|| self.plan.backend.name().into()),
            nranks: self.world.size(),
            hosts: table
                .hosts
                .iter()
                .enumerate()
                .map(|(i, h)| HostInfo {
                    host: h.clone(),
                    ranks: table.host_of_rank.iter().filter(|&&x| x == i).count(),
                })
                .collect(),
            check_size_bytes: self.judge.checked_size.unwrap_or(0),
            threshold_gbps: summary.as_ref().map_or(0.0, |t| t.gbps),
            threshold_basis: summary.map(|t| t.basis).unwrap_or_default(),
            rounds: report::rounds(&self.iso),
            bad_hosts: self
                .iso
                .convictions()
                .iter()
                .map(BadHost::from_conviction)
                .collect(),
            unresolved_hosts: if stopped {
                Vec::new()
            } else {
                self.iso.unresolved()
            },
            passed: !stopped && self.iso.all_good(),
            interrupted: match (&self.timed_out, self.interrupted) {
                (Some((round, why)), _) => Some(format!("timeout in round {round}: {why}")),
                (None, Some(s)) => Some(format!(
                    "signal {s}: stopped after round {}",
                    self.iso.rounds.len()
                )),
                (None, None) => None,
            },
            elapsed_seconds: self.began.elapsed().as_secs_f64(),
        }
    }

    /// `--drain`: runs each bad host's `scontrol` line (bounded) and records how it went.
    fn drain(&self, result: &mut PairwiseReport) {
        for (bad, conviction) in result.bad_hosts.iter_mut().zip(self.iso.convictions()) {
            match crate::accept::drain::run_bounded(
                &drain_command(&conviction),
                crate::accept::drain::DRAIN_TIMEOUT,
            ) {
                Ok(()) => bad.drained = Some(true),
                Err(e) => {
                    bad.drained = Some(false);
                    bad.drain_error = Some(e);
                }
            }
        }
    }
}

/// The exit message of a failed isolation: the bad hosts, and the unresolved ones.
fn failure_summary(result: &PairwiseReport) -> String {
    format!(
        "accept {}: {} bad host(s){}{}",
        result.search.flag(),
        result.bad_hosts.len(),
        result
            .bad_hosts
            .iter()
            .map(|b| format!(" {}", b.host))
            .collect::<String>(),
        if result.unresolved_hosts.is_empty() {
            String::new()
        } else {
            format!(", unresolved: {}", result.unresolved_hosts.join(" "))
        }
    )
}
