//! The rounds of a pairwise or bisect run: rank 0 decides the groups and every rank learns them,
//! each process runs its group's sweep (or waits when its host is idle), the contributions come
//! back to rank 0, and rank 0 judges the round.

use super::group_run::run_group;
use super::hosts::HostTable;
use super::jsonl::JsonlIsolation;
use super::judge::{resolve_thresholds, Judge, Threshold, Thresholds};
use super::messages::{decode, encode, error_from_code, error_message, Contribution, Control};
use super::round_watch::RoundWatch;
use super::setup::Checked;
use super::words::Words;
use crate::accept::command::PairwiseOptions;
use crate::accept::pairing::{GroupResult, Isolation};
use crate::error::{CollbenchError, Result};
use crate::faults::TestHooks;
use crate::measure::watchdog::{self, Phase};
use crate::plan::acceptance::DEFAULT_MIN_BUSBW_SIZE;
use crate::plan::OutputFormat;
use crate::plan::TestPlan;
use crate::sweep::runner::StopSignal;
use crate::world::World;
use std::time::{Duration, Instant};

/// One isolation run's state, the same shape on every rank (only rank 0 fills the judgement).
pub(super) struct Session<'a> {
    pub(super) plan: &'a TestPlan,
    pub(super) world: &'a dyn World,
    pub(super) options: &'a PairwiseOptions,
    pub(super) hooks: TestHooks,
    pub(super) table: HostTable,
    pub(super) start_time: String,
    /// When the run began (for the report's elapsed time).
    pub(super) began: Instant,
    pub(super) iso: Isolation,
    pub(super) judge: Judge,
    /// A signal that stopped a round (no later round runs; the stopped one is not recorded).
    pub(super) interrupted: Option<i32>,
    /// What `--backend auto` resolved to, from the first group that ran.
    pub(super) backend_used: Option<String>,
    pub(super) timeout: Option<Duration>,
    pub(super) words: Words<'a>,
    /// Rounds started so far (the same count on every rank).
    pub(super) round_number: usize,
    /// Rank 0: the round in which a rank did not report in time, and who and why.
    pub(super) timed_out: Option<(usize, String)>,
    /// Rank 0: the `# Reducing maxBytes …` notices of the groups, each printed once.
    notices_printed: Vec<String>,
    pub(super) jsonl: Option<JsonlIsolation>,
}

/// What the gather of a round brought.
enum Gathered {
    /// Not rank 0: nothing to judge.
    Elsewhere,
    /// Rank 0: a rank stayed silent past `-T` (recorded in `timed_out`).
    TimedOut,
    Contributions(Vec<Contribution>),
}

impl<'a> Session<'a> {
    /// Collective over `world` (the words between rounds are set up together).
    pub(super) fn new(
        plan: &'a TestPlan,
        world: &'a dyn World,
        options: &'a PairwiseOptions,
        checked: Checked,
    ) -> Result<Session<'a>> {
        let start_time = crate::report::time::now_rfc3339();
        let Checked { hooks, table } = checked;
        let timeout = plan.timeout.filter(|t| !t.is_zero());
        let words = Words::new(world, timeout, &table.hosts[table.host_of_rank[0]])?;
        let jsonl = match (plan.outputs.path(OutputFormat::Jsonl), world.rank()) {
            (Some(path), 0) => Some(JsonlIsolation::open(path, &start_time, options.search)?),
            _ => None,
        };
        Ok(Session {
            plan,
            world,
            iso: Isolation::new(options.search, table.hosts.clone()),
            judge: Judge {
                check_size: None,
                threshold: None,
                checked_size: None,
            },
            options,
            hooks,
            table,
            start_time,
            began: Instant::now(),
            interrupted: None,
            backend_used: None,
            timeout,
            words,
            round_number: 0,
            timed_out: None,
            notices_printed: Vec::new(),
            jsonl,
        })
    }

    /// Plays one round. `Ok(false)` when there is none left (or rank 0 stops for a silent rank).
    pub(super) fn play_round(&mut self, stop: &StopSignal) -> Result<bool> {
        let Some(groups) = self.next_groups()? else {
            return Ok(false);
        };
        let round_began = Instant::now();
        let contribution = self.my_part(&groups, stop)?;
        match self.gather(&contribution, &groups, round_began)? {
            Gathered::Elsewhere => Ok(true),
            Gathered::TimedOut => Ok(false),
            Gathered::Contributions(contributions) => {
                self.judge_round(contributions)?;
                Ok(true)
            }
        }
    }

    /// Rank 0 decides the next round's groups and every rank learns them; `None` when the run is
    /// over (every host judged, or a signal).
    fn next_groups(&mut self) -> Result<Option<Vec<Vec<usize>>>> {
        let me = self.world.rank();
        let mut control_bytes = if me == 0 {
            let control = match (self.interrupted, self.iso.next_round()) {
                (Some(_), _) | (None, None) => Control::Done,
                (None, Some(groups)) => Control::Round(groups),
            };
            encode(&control)?
        } else {
            Vec::new()
        };
        self.hooks.before_round(me, self.round_number + 1);
        watchdog::set_target(self.plan.collective.name(), 0);
        {
            // Rank 0 is past the previous round's gather, so everyone is waiting here or about
            // to: its broadcast is bounded. The others wait for the slowest group of the previous
            // round (unbounded; rank 0 watches them), except before round 1, when all are in step.
            let _armed =
                (me == 0 || self.round_number == 0).then(|| watchdog::waiting(Phase::Handoff));
            let what = match self.round_number {
                0 => "its word on round 1".to_string(),
                done => format!("its word on what follows round {done}"),
            };
            self.words.pass(&mut control_bytes, &what, false)?;
        }
        match decode::<Control>(&control_bytes)? {
            Control::Done => Ok(None),
            Control::Fail(code, message) => Err(error_from_code(code, message)),
            Control::Round(groups) => {
                self.round_number += 1;
                Ok(Some(groups))
            }
        }
    }

    /// This process's part of the round: its group's sweep on the group's communicator, or
    /// nothing when its host is idle. A usage error found by the group alone travels to rank 0 in the
    /// contribution (returning here would leave the other ranks waiting for this one).
    fn my_part(&mut self, groups: &[Vec<usize>], stop: &StopSignal) -> Result<Contribution> {
        let me = self.world.rank();
        let my_host = self.table.host_of_rank[me];
        let group_index = groups.iter().position(|p| p.contains(&my_host));
        let color = group_index.unwrap_or(groups.len()) as u64;
        let group = {
            // Everyone has rank 0's word: the split is bounded on every rank.
            let _armed = watchdog::waiting(Phase::Handoff);
            self.world.split(color, me)?
        };
        let contribution = match group_index {
            Some(index) => {
                let ran = run_group(
                    self.plan,
                    group.as_ref(),
                    &self.hooks,
                    me,
                    stop,
                    &groups[index],
                );
                match ran {
                    Ok(contribution) => contribution,
                    Err(CollbenchError::Usage(message)) => {
                        let error = CollbenchError::Usage(format!(
                            "accept {} round {}, {}: {message}",
                            self.options.search.flag(),
                            self.round_number,
                            self.table.describe(&groups[index])
                        ));
                        Contribution {
                            error: Some((error.exit_code(), error_message(&error))),
                            ..Contribution::default()
                        }
                    }
                    Err(other) => return Err(other),
                }
            }
            None => Contribution::default(),
        };
        drop(group);
        if group_index.is_none() {
            self.hooks.when_idle(me, self.round_number);
        }
        Ok(contribution)
    }

    /// Every contribution to rank 0; with `-T` a watched gather that gives up on a rank silent
    /// past its due time.
    fn gather(
        &mut self,
        contribution: &Contribution,
        groups: &[Vec<usize>],
        round_began: Instant,
    ) -> Result<Gathered> {
        let me = self.world.rank();
        let contribution = encode(contribution)?;
        let gathered = match self.timeout {
            None => self.world.gather_bytes(&contribution)?,
            Some(timeout) => {
                let round = self.round_number;
                let table = &self.table;
                let words = &self.words;
                let mut watch =
                    (me == 0).then(|| RoundWatch::new(round, timeout, round_began, groups, table));
                let watched = self
                    .world
                    .gather_bytes_watched(&contribution, &mut |arrived| {
                        words.pulse();
                        watch
                            .as_mut()
                            .map_or(Ok(()), |w| w.check(arrived, Instant::now()))
                    });
                match watched {
                    Err(CollbenchError::Timeout(why)) if me == 0 => {
                        // The silent rank cannot take part in anything collective any more:
                        // rank 0 writes the outputs of the rounds so far and ends the job.
                        self.timed_out = Some((round, why));
                        return Ok(Gathered::TimedOut);
                    }
                    other => other?,
                }
            }
        };
        let Some(parts) = gathered else {
            return Ok(Gathered::Elsewhere);
        };
        let contributions = parts
            .iter()
            .map(|part| decode::<Contribution>(part))
            .collect::<Result<Vec<_>>>()?;
        Ok(Gathered::Contributions(contributions))
    }

    /// Rank 0: takes in the round's contributions and records its groups, or ends every rank on
    /// a failure a group reported.
    fn judge_round(&mut self, contributions: Vec<Contribution>) -> Result<()> {
        let (results, failure) = self.absorb(contributions);
        if self.judge.check_size.is_none() {
            self.judge.check_size = self
                .plan
                .acceptance
                .criteria
                .min_busbw
                .as_ref()
                .map(|m| m.min_size.unwrap_or(DEFAULT_MIN_BUSBW_SIZE));
        }
        // A round cut short by a signal is not evidence: stop without recording it.
        if self.interrupted.is_some() {
            return Ok(());
        }
        if let Some(error) = failure {
            let mut bytes = encode(&Control::Fail(error.exit_code(), error_message(&error)))?;
            self.words
                .pass(&mut bytes, "its word on the next round", true)?;
            return Err(error);
        }
        self.record(&results)
    }

    /// Rank 0: the groups' rows, the first failure, signals, the backend used, the threshold
    /// (resolved from the first devices reported) and the memory-cap notices, each printed once.
    fn absorb(
        &mut self,
        contributions: Vec<Contribution>,
    ) -> (Vec<super::messages::GroupRows>, Option<CollbenchError>) {
        let mut results = Vec::new();
        let mut failure: Option<CollbenchError> = None;
        // The sizes the groups ran: -e as lowered by the smallest cap (for --profile's size).
        let mut capped_plan = self.plan.clone();
        for (cap, notice) in contributions
            .iter()
            .filter_map(|c| c.max_bytes_cap.as_ref())
        {
            if capped_plan.cap_max_bytes(*cap, None).is_ok()
                && !self.notices_printed.contains(notice)
            {
                crate::io::console::print_line(notice);
                self.notices_printed.push(notice.clone());
            }
        }
        for c in contributions {
            if let (Some((code, message)), None) = (c.error, &failure) {
                failure = Some(error_from_code(code, message));
            }
            if c.signal != 0 {
                self.interrupted.get_or_insert(c.signal);
            }
            if self.backend_used.is_none() {
                self.backend_used = c.backend;
            }
            if !c.devices.is_empty() && self.iso.rounds.is_empty() && self.judge.threshold.is_none()
            {
                let groups = self.table.group_shapes(self.options.search);
                match resolve_thresholds(&capped_plan, &c.devices, self.options.search, &groups) {
                    Ok(t) => self.judge.threshold = t,
                    Err(e) => failure = Some(e),
                }
            }
            if let Some(group) = c.group {
                results.push(group);
            }
        }
        (results, failure)
    }

    /// Rank 0: each pair's busbw against the threshold (the reference pair's in relative mode,
    /// fixed after round 1), into the isolation and the JSON Lines file.
    fn record(&mut self, results: &[super::messages::GroupRows]) -> Result<()> {
        if self.judge.checked_size.is_none() {
            self.judge.checked_size = results
                .first()
                .map(|(_, rows, _)| self.judge.check_size(rows));
        }
        let mut round: Vec<GroupResult> = results
            .iter()
            .map(|(hosts, rows, wrong)| GroupResult {
                hosts: hosts.clone(),
                busbw_gbps: self.judge.busbw(rows),
                wrong: *wrong,
                threshold_gbps: 0.0,
                passed: false,
            })
            .collect();
        round.sort_by(|a, b| a.hosts.cmp(&b.hosts));
        let thresholds = self
            .judge
            .threshold
            .get_or_insert_with(|| Thresholds::Every(relative_threshold(&round, self.options)));
        for group in &mut round {
            group.threshold_gbps =
                thresholds.for_group(group.hosts.len(), self.table.ranks_in(&group.hosts));
        }
        self.iso.record(round);
        if let Some(j) = self.jsonl.as_mut() {
            j.round(&self.iso)?;
        }
        Ok(())
    }
}

/// Relative mode: the reference is the median pair of round 1 (the best one when there are only
/// two groups).
fn relative_threshold(round: &[GroupResult], options: &PairwiseOptions) -> Threshold {
    let mut values: Vec<f64> = round.iter().map(|p| p.busbw_gbps).collect();
    values.sort_by(f64::total_cmp);
    let reference = if values.len() >= 3 {
        values[values.len() / 2]
    } else {
        values.last().copied().unwrap_or(0.0)
    };
    Threshold {
        gbps: reference * (1.0 - options.tolerance_percent / 100.0),
        basis: format!(
            "{:.0}% of the reference pair's {reference:.2} GB/s (median of round 1; no --min-busbw, no profile applied)",
            100.0 - options.tolerance_percent
        ),
    }
}
