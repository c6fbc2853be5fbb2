//! The MPI side of `collbench accept --pairwise`: every round, rank 0 decides the pairs
//! ([`Isolation`]) and broadcasts them; every process splits the world by its host's pair
//! (MPI_Comm_split), runs the sweep on its pair's communicator with the normal runner, and the
//! pairs' results are gathered back to rank 0. Idle hosts wait in the gather.
//!
//! With `-T`, the hand-off between rounds is watched too, although ranks of finished pairs and idle
//! ranks legitimately wait there for the slowest pair: rank 0's word on the next round and the
//! split run under the watchdog (every rank is in step there), and the results come back through a
//! watched gather ([`RoundWatch`]): an idle rank must report within `-T` of the round's start, and
//! once one rank of a pair has reported, the rest of its pair within `-T`. A rank that does not ends
//! the job with exit 4 naming its host, after rank 0 wrote the outputs of the rounds so far. Rank 0
//! is watched by the others in turn: its words between rounds are kept alive ([`words`]), and a
//! rank 0 silent for `-T` is given up on (exit 4 naming it).
//!
//! Usage errors end every rank together: the plan is checked against every pair a round may form
//! before round 1, and one that a pair's run finds goes to rank 0 with the pair's results.

mod beacon;
mod hosts;
mod jsonl;
mod judge;
mod messages;
mod outputs;
mod pair_run;
mod round_watch;
mod words;

use super::command::PairwiseOptions;
use super::pairing::{drain_command, Isolation, PairResult};
use super::report::{
    self, BadHost, HostInfo, PairwiseReport, PAIRWISE_KIND, PAIRWISE_SCHEMA_VERSION,
};
use crate::backend::Backend;
use crate::error::{CollbenchError, Result};
use crate::measure::hooks::TestHooks;
use crate::measure::runner::StopSignal;
use crate::measure::watchdog::{self, Phase};
use crate::plan::TestPlan;
use crate::report::ToolInfo;
use crate::verdict::criteria::DEFAULT_MIN_BUSBW_SIZE;
use crate::world::World;
use hosts::share_host_table;
use jsonl::JsonlPairs;
use judge::{resolve_threshold, Judge};
use messages::{decode, encode, error_from_code, error_message, Contribution, Control};
use outputs::write_outputs;
use pair_run::run_pair;
use round_watch::RoundWatch;
use std::time::Instant;
use words::Words;

/// Builds the backend of one pair on its communicator (the app's backend choice).
pub type BackendFactory<'f> =
    &'f dyn for<'g> Fn(&TestPlan, &'g dyn World, &TestHooks) -> Result<Box<dyn Backend + 'g>>;

/// Runs the isolation. Collective over `world`. Rank 0 prints the result and writes the outputs;
/// every rank returns the same outcome (Ok: every host cleared).
pub fn run(
    plan: &TestPlan,
    world: &dyn World,
    stop: StopSignal,
    options: &PairwiseOptions,
    build_backend: BackendFactory,
) -> Result<()> {
    let me = world.rank();
    // Before anything collective depends on the plan, as a plain run: a rank with other flags
    // (an mpirun ':' section) would hang its pair in a call the partner never makes.
    {
        let _armed = watchdog::waiting(Phase::Init);
        crate::world::agree::check_same_plan(world, &plan.agreement_fields())?;
    }
    let start_time = crate::report::time::now_rfc3339();
    let hooks = TestHooks::from_process_env()?;
    hooks.check_ranks(world.size())?;
    // Rank 0 writes --collbench-json at the end: refuse a path it cannot write before any round runs (the
    // other outputs' paths are checked when the flags are parsed).
    let mut path_check = if me == 0 {
        let refused = plan.collbench_json_path.as_ref().and_then(|path| {
            crate::sinks::check_output_path("--collbench-json", path)
                .err()
                .map(|e| (e.exit_code(), error_message(&e)))
        });
        encode(&refused)?
    } else {
        Vec::new()
    };
    {
        let _armed = watchdog::waiting(Phase::Init);
        world.broadcast_bytes(&mut path_check)?;
    }
    if let Some((code, message)) = decode::<Option<(i32, String)>>(&path_check)? {
        return Err(error_from_code(code, message));
    }

    // Which host every rank is on, in first-rank order (the same table on every rank).
    let table = share_host_table(world)?;
    let my_host = table.host_of_rank[me];
    let relative =
        plan.acceptance.criteria.min_busbw.is_none() && plan.acceptance.profile.is_none();
    if table.hosts.len() < 2 {
        return Err(CollbenchError::Usage(format!(
            "accept --pairwise: all {} ranks are on one host ({}); it needs ranks on at least 2 hosts \
             (e.g. srun --nodes=2 or more)",
            world.size(),
            table.hosts[0]
        )));
    }
    if relative && table.hosts.len() < 4 {
        return Err(CollbenchError::Usage(format!(
            "accept --pairwise on {} hosts: with fewer than 4 hosts there is no reference pair; give \
             --min-busbw GBPS or --profile NAME",
            table.hosts.len()
        )));
    }

    // Every rank checks every pair a round may form, from the same table: a pair the plan cannot
    // run on (`-r` beyond its ranks, hypercube on 3 ranks) is refused by all ranks before round 1,
    // instead of failing on that pair's ranks alone while the others wait for them.
    for (pair, nranks) in table.possible_pairs() {
        plan.validate_for_world(nranks)
            .map_err(|error| match error {
                CollbenchError::Usage(message) => CollbenchError::Usage(format!(
                    "accept --pairwise: the pair {}+{} has {nranks} ranks: {message}",
                    table.hosts[pair[0]], table.hosts[pair[1]]
                )),
                other => other,
            })?;
    }

    let mut iso = Isolation::new(table.hosts.clone(), 0.0);
    let mut judge = Judge {
        check_size: None,
        threshold: None,
        relative_tolerance: options.tolerance_percent / 100.0,
        checked_size: None,
    };
    let mut interrupted: Option<i32> = None;
    // What `--backend auto` resolved to, from the first pair that ran (for the report and metrics).
    let mut backend_used: Option<String> = None;
    let timeout = plan.timeout.filter(|t| !t.is_zero());
    let mut words = Words::new(world, timeout, &table.hosts[table.host_of_rank[0]])?;
    // Rounds started so far (the same count on every rank).
    let mut round_number = 0usize;
    // Rank 0: the round in which a rank did not report in time, and who and why.
    let mut timed_out: Option<(usize, String)> = None;
    // Rank 0: the `# Reducing maxBytes …` notices of the pairs, each printed once.
    let mut notices_printed: Vec<String> = Vec::new();
    let mut jsonl = match (&plan.acceptance.jsonl_path, me) {
        (Some(path), 0) => Some(JsonlPairs::open(path, &start_time)?),
        _ => None,
    };

    loop {
        // Rank 0 decides; everyone follows.
        let mut control_bytes = if me == 0 {
            let control = match (interrupted, iso.next_round()) {
                (Some(_), _) | (None, None) => Control::Done,
                (None, Some(pairs)) => Control::Round(pairs),
            };
            encode(&control)?
        } else {
            Vec::new()
        };
        hooks.before_round(me, round_number + 1);
        watchdog::set_target(plan.collective.name(), 0);
        {
            // Rank 0 is past the previous round's gather, so everyone is waiting here or about
            // to: its broadcast is bounded. The others wait for the slowest pair of the previous
            // round (unbounded; rank 0 watches them), except before round 1, when all are in step.
            let _armed = (me == 0 || round_number == 0).then(|| watchdog::waiting(Phase::Handoff));
            let what = match round_number {
                0 => "its word on round 1".to_string(),
                done => format!("its word on what follows round {done}"),
            };
            words.pass(&mut control_bytes, &what, false)?;
        }
        let pairs = match decode::<Control>(&control_bytes)? {
            Control::Done => break,
            Control::Fail(code, message) => return Err(error_from_code(code, message)),
            Control::Round(pairs) => pairs,
        };
        round_number += 1;

        let pair_index = pairs.iter().position(|p| p.contains(&my_host));
        let color = pair_index.unwrap_or(pairs.len()) as u64;
        let group = {
            // Everyone has rank 0's word: the split is bounded on every rank.
            let _armed = watchdog::waiting(Phase::Handoff);
            world.split(color, me)?
        };
        let round_began = Instant::now();
        let contribution = match pair_index {
            Some(index) => match run_pair(
                plan,
                group.as_ref(),
                build_backend,
                &hooks,
                me,
                &stop,
                pairs[index],
            ) {
                Ok(contribution) => contribution,
                // Found by this pair's ranks alone: rank 0 hears of it in the gather and stops
                // everyone (returning here would leave the other ranks waiting for this one).
                Err(CollbenchError::Usage(message)) => {
                    let error = CollbenchError::Usage(format!(
                        "accept --pairwise round {round_number}, pair {}+{}: {message}",
                        table.hosts[pairs[index][0]], table.hosts[pairs[index][1]]
                    ));
                    Contribution {
                        error: Some((error.exit_code(), error_message(&error))),
                        ..Contribution::default()
                    }
                }
                Err(other) => return Err(other),
            },
            None => Contribution::default(),
        };
        drop(group);
        if pair_index.is_none() {
            hooks.when_idle(me, round_number);
        }

        let contribution = encode(&contribution)?;
        let gathered = match timeout {
            None => world.gather_bytes(&contribution)?,
            Some(timeout) => {
                let mut watch = (me == 0)
                    .then(|| RoundWatch::new(round_number, timeout, round_began, &pairs, &table));
                let watched = world.gather_bytes_watched(&contribution, &mut |arrived| {
                    words.pulse();
                    watch
                        .as_mut()
                        .map_or(Ok(()), |w| w.check(arrived, Instant::now()))
                });
                match watched {
                    Err(CollbenchError::Timeout(why)) if me == 0 => {
                        // The silent rank cannot take part in anything collective any more:
                        // rank 0 writes the outputs of the rounds so far and ends the job.
                        timed_out = Some((round_number, why));
                        break;
                    }
                    other => other?,
                }
            }
        };
        let Some(parts) = gathered else {
            continue;
        };
        // Rank 0 from here to the end of the loop body.
        let mut results = Vec::new();
        let mut failure: Option<CollbenchError> = None;
        let contributions = parts
            .iter()
            .map(|part| decode::<Contribution>(part))
            .collect::<Result<Vec<_>>>()?;
        // The sizes the pairs ran: -e as lowered by the smallest cap (for --profile's size).
        let mut capped_plan = plan.clone();
        for (cap, notice) in contributions
            .iter()
            .filter_map(|c| c.max_bytes_cap.as_ref())
        {
            if capped_plan.cap_max_bytes(*cap, None).is_ok() && !notices_printed.contains(notice) {
                crate::sinks::console::print_line(notice);
                notices_printed.push(notice.clone());
            }
        }
        for c in contributions {
            if let (Some((code, message)), None) = (c.error, &failure) {
                failure = Some(error_from_code(code, message));
            }
            if c.signal != 0 {
                interrupted.get_or_insert(c.signal);
            }
            if backend_used.is_none() {
                backend_used = c.backend;
            }
            if !c.devices.is_empty() && iso.rounds.is_empty() && judge.threshold.is_none() {
                match resolve_threshold(&capped_plan, &c.devices) {
                    Ok(t) => judge.threshold = t,
                    Err(e) => failure = Some(e),
                }
            }
            if let Some((hosts, rows, wrong)) = c.pair {
                results.push((hosts, rows, wrong));
            }
        }
        if judge.check_size.is_none() {
            judge.check_size = plan
                .acceptance
                .criteria
                .min_busbw
                .as_ref()
                .map(|m| m.min_size.unwrap_or(DEFAULT_MIN_BUSBW_SIZE));
        }
        // A round cut short by a signal is not evidence: stop without recording it.
        if interrupted.is_some() {
            continue;
        }
        if let Some(error) = failure {
            let mut bytes = encode(&Control::Fail(error.exit_code(), error_message(&error)))?;
            words.pass(&mut bytes, "its word on the next round", true)?;
            return Err(error);
        }
        if judge.checked_size.is_none() {
            judge.checked_size = results.first().map(|(_, rows, _)| judge.check_size(rows));
        }
        let mut round: Vec<PairResult> = results
            .iter()
            .map(|(hosts, rows, wrong)| PairResult {
                hosts: *hosts,
                busbw_gbps: judge.busbw(rows),
                wrong: *wrong,
                passed: false,
            })
            .collect();
        round.sort_by_key(|p| p.hosts);
        if judge.threshold.is_none() {
            // Relative mode: the reference is the median pair of round 1 (the best one when
            // there are only two pairs).
            let mut values: Vec<f64> = round.iter().map(|p| p.busbw_gbps).collect();
            values.sort_by(f64::total_cmp);
            let reference = if values.len() >= 3 {
                values[values.len() / 2]
            } else {
                values.last().copied().unwrap_or(0.0)
            };
            judge.threshold = Some((
                reference * (1.0 - judge.relative_tolerance),
                format!(
                    "{:.0}% of the reference pair's {reference:.2} GB/s (median of round 1; no --min-busbw or --profile)",
                    100.0 - options.tolerance_percent
                ),
            ));
        }
        iso.threshold_gbps = judge.threshold.as_ref().map(|t| t.0).unwrap_or(0.0);
        iso.record(round);
        if let Some(j) = jsonl.as_mut() {
            j.round(&iso)?;
        }
    }

    // Rank 0: the result, the outputs and the drain; then everyone learns the exit status.
    let mut status: (i32, String) = (0, String::new());
    if me == 0 {
        let _bounded_work = words.vouch();
        let check_size = judge.checked_size.unwrap_or(0);
        let mut result = PairwiseReport {
            kind: PAIRWISE_KIND.into(),
            schema_version: PAIRWISE_SCHEMA_VERSION,
            tool: ToolInfo {
                name: "collbench".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            args: plan.args.clone(),
            start_time: start_time.clone(),
            end_time: Some(crate::report::time::now_rfc3339()),
            collective: plan.collective.name().into(),
            backend: backend_used
                .clone()
                .unwrap_or_else(|| plan.backend.name().into()),
            nranks: world.size(),
            hosts: table
                .hosts
                .iter()
                .enumerate()
                .map(|(i, h)| HostInfo {
                    host: h.clone(),
                    ranks: table.host_of_rank.iter().filter(|&&x| x == i).count(),
                })
                .collect(),
            check_size_bytes: check_size,
            // An absolute threshold is known before round 1 ends (a run stopped by a signal
            // in round 1 still says which one it was judged by).
            threshold_gbps: judge.threshold.as_ref().map_or(iso.threshold_gbps, |t| t.0),
            threshold_basis: judge
                .threshold
                .as_ref()
                .map(|t| t.1.clone())
                .unwrap_or_default(),
            rounds: report::rounds(&iso),
            bad_hosts: iso
                .convictions()
                .iter()
                .map(BadHost::from_conviction)
                .collect(),
            unresolved_hosts: if interrupted.is_some() || timed_out.is_some() {
                Vec::new()
            } else {
                iso.unresolved()
            },
            passed: interrupted.is_none() && timed_out.is_none() && iso.all_good(),
            interrupted: match (&timed_out, interrupted) {
                (Some((round, why)), _) => Some(format!("timeout in round {round}: {why}")),
                (None, Some(s)) => Some(format!(
                    "signal {s}: stopped after round {}",
                    iso.rounds.len()
                )),
                (None, None) => None,
            },
        };
        if options.drain {
            for (bad, conviction) in result.bad_hosts.iter_mut().zip(iso.convictions()) {
                match super::drain::run_bounded(
                    &drain_command(&conviction),
                    super::drain::DRAIN_TIMEOUT,
                ) {
                    Ok(()) => bad.drained = Some(true),
                    Err(e) => {
                        bad.drained = Some(false);
                        bad.drain_error = Some(e);
                    }
                }
            }
        }
        crate::sinks::console::print(&report::render(&result));
        let outputs = write_outputs(plan, &result, jsonl.as_mut());
        // A failed output (a push, a file) loses to a FAIL or a signal in the exit code, but is
        // still said: the bad hosts may never have reached the dashboard.
        if let (Err(e), true) = (&outputs, interrupted.is_some() || !result.passed) {
            eprintln!("collbench: {e}");
        }
        // A silent rank will never join the broadcast below: end here (the app aborts the job).
        if let Some((round, why)) = timed_out {
            return Err(CollbenchError::Timeout(format!(
                "accept --pairwise round {round}: {why}"
            )));
        }
        status = match (interrupted, result.passed, outputs) {
            (Some(signal), _, _) => (128 + signal, String::new()),
            (None, false, _) => (
                7,
                format!(
                    "accept --pairwise: {} bad host(s){}{}",
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
                ),
            ),
            (None, true, Err(e)) => (e.exit_code(), error_message(&e)),
            (None, true, Ok(())) => (0, String::new()),
        };
    }
    let mut bytes = if me == 0 {
        encode(&status)?
    } else {
        Vec::new()
    };
    words.pass(&mut bytes, "the run's final status", true)?;
    let (code, message) = decode::<(i32, String)>(&bytes)?;
    match code {
        0 => Ok(()),
        code => Err(error_from_code(code, message)),
    }
}
