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
//! the job with exit 4 naming its host, after rank 0 wrote the outputs of the rounds so far.

use super::command::PairwiseOptions;
use super::pairing::{drain_command, Isolation, PairResult};
use super::report::{
    self, BadHost, HostInfo, PairwiseReport, PAIRWISE_KIND, PAIRWISE_SCHEMA_VERSION,
};
use crate::backend::Backend;
use crate::error::{CollbenchError, Result};
use crate::measure::hooks::TestHooks;
use crate::measure::runner::{self, RunInputs, StopSignal};
use crate::measure::watchdog::{self, Phase};
use crate::plan::TestPlan;
use crate::report::ToolInfo;
use crate::verdict::criteria::DEFAULT_MIN_BUSBW_SIZE;
use crate::verdict::{lowest_busbw, Criteria};
use crate::world::World;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Builds the backend of one pair on its communicator (the app's backend choice).
pub type BackendFactory<'f> =
    &'f dyn for<'g> Fn(&TestPlan, &'g dyn World) -> Result<Box<dyn Backend + 'g>>;

/// Rank 0's word to everyone before each round.
#[derive(Debug, Serialize, Deserialize)]
enum Control {
    Round(Vec<[usize; 2]>),
    Done,
    /// Stop every rank with this error (exit code, message).
    Fail(i32, String),
}

/// Hosts in order of their first rank, and each rank's host.
#[derive(Debug, Serialize, Deserialize)]
struct HostTable {
    hosts: Vec<String>,
    host_of_rank: Vec<usize>,
}

/// A pair (host indices), its rows (size, lowest busbw) and its wrong elements.
type PairRows = ([usize; 2], Vec<(u64, f64)>, u64);

/// What one process reports after a round.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Contribution {
    /// The pair (host indices) and its rows (size, lowest busbw), sent by the pair's rank 0.
    pair: Option<PairRows>,
    /// A signal this process's sweep stopped on (0: none).
    signal: i32,
    /// Rank 0's device names (for `--profile auto`).
    devices: Vec<String>,
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value)
        .map_err(|e| CollbenchError::Mpi(format!("could not encode a pairwise message: {e}")))
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        CollbenchError::Mpi(format!(
            "malformed pairwise message ({e}); are all ranks running the same collbench build?"
        ))
    })
}

/// Rank 0's view: how a pair's rows become one busbw, and the threshold.
struct Judge {
    /// Rows of at least this size count (the lowest busbw among them).
    check_size: Option<u64>,
    threshold: Option<(f64, String)>,
    relative_tolerance: f64,
    /// The size actually checked (known once a pair reported its rows).
    checked_size: Option<u64>,
}

impl Judge {
    fn check_size(&self, rows: &[(u64, f64)]) -> u64 {
        let largest = rows.iter().map(|r| r.0).max().unwrap_or(0);
        self.check_size.unwrap_or(largest).min(largest)
    }

    /// The lowest busbw among the checked rows; 0 (a failure) when the pair measured none.
    fn busbw(&self, rows: &[(u64, f64)]) -> f64 {
        let from = self.check_size(rows);
        rows.iter()
            .filter(|r| r.0 >= from)
            .map(|r| r.1)
            .reduce(f64::min)
            .unwrap_or(0.0)
    }
}

/// The threshold a pair must reach, when the flags give an absolute one (`--min-busbw`, else the
/// profile's 2-node expectation at the largest size).
fn absolute_threshold(
    plan: &TestPlan,
    criteria: &Criteria,
    largest: u64,
) -> Result<Option<(f64, String)>> {
    if let Some(min) = &criteria.min_busbw {
        return Ok(Some((min.gbps, format!("--min-busbw {}", min.gbps))));
    }
    let Some(profile) = &criteria.profile else {
        return Ok(None);
    };
    let dtype = plan
        .dtypes
        .first()
        .copied()
        .unwrap_or(crate::types::DataType::Float);
    match profile.expected(plan.collective.name(), 2, largest, dtype) {
        Some(e) => Ok(Some((
            e.busbw_gbps * profile.pass_fraction,
            format!(
                "profile {}: {:.0}% of {:.2} GB/s expected for 2 nodes at {largest} B ({})",
                profile.name,
                profile.pass_fraction * 100.0,
                e.busbw_gbps,
                e.basis
            ),
        ))),
        None => Err(CollbenchError::Usage(format!(
            "--profile {}: no 2-node expectation for {} at {largest} B (a pair is 2 nodes); it covers: {}; \
             end the sweep (-e) at one of those sizes or give --min-busbw",
            profile.name,
            plan.collective.name(),
            profile.coverage()
        ))),
    }
}

/// Rank 0's deadlines for the reports that end a round under `-T`. Ranks of finished pairs and idle
/// ranks may wait for the slowest pair for as long as its sweep takes, so no deadline covers the
/// whole gather; but an idle rank has nothing to do but report (within `-T` of the round's start),
/// and the ranks of one pair leave its run together (the rest within `-T` of its first report).
struct RoundWatch<'t> {
    /// Round number, from 1.
    round: usize,
    timeout: Duration,
    /// When rank 0 had split the world for this round.
    began: Instant,
    /// Each rank's pair (index into the round's pairs), `None` when idle.
    pair_of_rank: Vec<Option<usize>>,
    /// When rank 0 first saw a report of each pair, and whose.
    first_report: Vec<Option<(Instant, usize)>>,
    table: &'t HostTable,
}

impl<'t> RoundWatch<'t> {
    fn new(
        round: usize,
        timeout: Duration,
        began: Instant,
        pairs: &[[usize; 2]],
        table: &'t HostTable,
    ) -> Self {
        RoundWatch {
            round,
            timeout,
            began,
            pair_of_rank: table
                .host_of_rank
                .iter()
                .map(|host| pairs.iter().position(|p| p.contains(host)))
                .collect(),
            first_report: vec![None; pairs.len()],
            table,
        }
    }

    fn host(&self, rank: usize) -> &str {
        &self.table.hosts[self.table.host_of_rank[rank]]
    }

    /// The ranks that are overdue at `now` given who has `arrived`, each with why (empty: keep
    /// waiting). Records the first report of each pair as it is seen.
    fn overdue(&mut self, arrived: &[bool], now: Instant) -> Vec<String> {
        for (rank, _) in arrived.iter().enumerate().filter(|(_, &a)| a) {
            if let Some(pair) = self.pair_of_rank[rank] {
                self.first_report[pair].get_or_insert((now, rank));
            }
        }
        let seconds = |since: Instant| now.saturating_duration_since(since).as_secs_f64();
        let mut late = Vec::new();
        for (rank, _) in arrived.iter().enumerate().filter(|(_, &a)| !a) {
            match self.pair_of_rank[rank] {
                None if now.saturating_duration_since(self.began) >= self.timeout => {
                    late.push(format!(
                        "rank {rank} (host {}): idle in round {}, silent {:.1} s since the round \
                         began",
                        self.host(rank),
                        self.round,
                        seconds(self.began)
                    ))
                }
                Some(pair) => match self.first_report[pair] {
                    Some((first, reporter))
                        if now.saturating_duration_since(first) >= self.timeout =>
                    {
                        late.push(format!(
                            "rank {rank} (host {}): its pair finished {:.1} s ago (rank {reporter}, \
                             host {}, reported)",
                            self.host(rank),
                            seconds(first),
                            self.host(reporter)
                        ))
                    }
                    _ => {}
                },
                None => {}
            }
        }
        late
    }

    /// [`RoundWatch::overdue`] as the watched gather's check: a timeout naming every late rank.
    fn check(&mut self, arrived: &[bool], now: Instant) -> Result<()> {
        let late = self.overdue(arrived, now);
        if late.is_empty() {
            return Ok(());
        }
        Err(CollbenchError::Timeout(format!(
            "no report within -T {} s from {}",
            self.timeout.as_secs_f64(),
            late.join("; ")
        )))
    }
}

/// The hooks of a pair run: a hook naming this process's global rank moves to its rank in the pair.
fn hooks_for_pair(hooks: &TestHooks, global_rank: usize, pair_rank: usize) -> TestHooks {
    let mine = |rank: usize| rank == global_rank;
    TestHooks {
        corrupt: hooks
            .corrupt
            .filter(|c| mine(c.0))
            .map(|c| (pair_rank, c.1)),
        delay: hooks.delay.filter(|d| mine(d.0)).map(|d| (pair_rank, d.1)),
        stall: hooks.stall.filter(|&s| mine(s)).map(|_| pair_rank),
        exit: hooks.exit.filter(|e| mine(e.0)).map(|e| (pair_rank, e.1)),
        panic: hooks.panic.filter(|&p| mine(p)).map(|_| pair_rank),
        // Acted on by the pairwise loop, not by a pair's run.
        hang_idle: None,
        hang_handoff: None,
    }
}

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
    let start_time = crate::report::time::now_rfc3339();
    let hooks = TestHooks::from_process_env()?;
    hooks.check_ranks(world.size())?;
    // Rank 0 writes -J at the end: refuse a path it cannot write before any round runs (the
    // other outputs' paths are checked when the flags are parsed).
    let mut path_check = if me == 0 {
        let refused = plan.json_path.as_ref().and_then(|path| {
            crate::sinks::check_output_path("-J/--output_file", path)
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
    let gathered = {
        let _armed = watchdog::waiting(Phase::Init);
        world.gather_bytes(world.hostname().as_bytes())?
    };
    let mut table_bytes = match gathered {
        Some(names) => {
            let mut hosts: Vec<String> = Vec::new();
            let mut host_of_rank = Vec::new();
            for name in names {
                let name = String::from_utf8_lossy(&name).into_owned();
                let index = match hosts.iter().position(|h| *h == name) {
                    Some(i) => i,
                    None => {
                        hosts.push(name);
                        hosts.len() - 1
                    }
                };
                host_of_rank.push(index);
            }
            encode(&HostTable {
                hosts,
                host_of_rank,
            })?
        }
        None => Vec::new(),
    };
    {
        let _armed = watchdog::waiting(Phase::Init);
        world.broadcast_bytes(&mut table_bytes)?;
    }
    let table: HostTable = decode(&table_bytes)?;
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

    let mut iso = Isolation::new(table.hosts.clone(), 0.0);
    let mut judge = Judge {
        check_size: None,
        threshold: None,
        relative_tolerance: options.tolerance_percent / 100.0,
        checked_size: None,
    };
    let mut interrupted: Option<i32> = None;
    let timeout = plan.timeout.filter(|t| !t.is_zero());
    // Rounds started so far (the same count on every rank).
    let mut round_number = 0usize;
    // Rank 0: the round in which a rank did not report in time, and who and why.
    let mut timed_out: Option<(usize, String)> = None;
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
            world.broadcast_bytes(&mut control_bytes)?;
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
        let mut contribution = Contribution::default();
        if let Some(index) = pair_index {
            let mut backend = build_backend(plan, group.as_ref())?;
            if me == 0 {
                contribution.devices = backend
                    .placements()
                    .into_iter()
                    .map(|p| p.device_name)
                    .collect();
            }
            let outcome = runner::run(RunInputs {
                plan,
                world: group.as_ref(),
                backend: backend.as_mut(),
                sinks: Vec::new(),
                hooks: hooks_for_pair(&hooks, me, group.rank()),
                min_bus_bandwidth_gbps: None,
                stop: Some(stop.clone()),
                criteria: Criteria::default(),
            })?;
            drop(backend);
            contribution.signal = outcome.interrupted_by.unwrap_or(0);
            if let Some(report) = outcome.report {
                let rows: Vec<(u64, f64)> = report
                    .results
                    .iter()
                    .filter_map(|r| {
                        lowest_busbw(r).map(|(_, m)| (r.size_bytes, m.bus_bandwidth_gbps))
                    })
                    .collect();
                let wrong = report
                    .results
                    .iter()
                    .flat_map(|r| [&r.out_of_place, &r.in_place])
                    .filter_map(|m| m.as_ref().and_then(|m| m.wrong))
                    .sum();
                contribution.pair = Some((pairs[index], rows, wrong));
            }
        }
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
        for part in parts {
            let c: Contribution = decode(&part)?;
            if c.signal != 0 {
                interrupted.get_or_insert(c.signal);
            }
            if !c.devices.is_empty() && iso.rounds.is_empty() && judge.threshold.is_none() {
                match resolve_threshold(plan, &c.devices) {
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
            world.broadcast_bytes(&mut bytes)?;
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
            backend: plan.backend.name().into(),
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
    world.broadcast_bytes(&mut bytes)?;
    let (code, message) = decode::<(i32, String)>(&bytes)?;
    match code {
        0 => Ok(()),
        code => Err(error_from_code(code, message)),
    }
}

/// `--profile` (auto resolved from rank 0's devices) or `--min-busbw` as a pair threshold.
fn resolve_threshold(plan: &TestPlan, devices: &[String]) -> Result<Option<(f64, String)>> {
    let criteria = plan.acceptance.resolve_criteria(devices)?;
    let largest = plan
        .sizes
        .iter()
        .copied()
        .max()
        .map(|max| {
            let dtype = plan
                .dtypes
                .first()
                .copied()
                .unwrap_or(crate::types::DataType::Float);
            let elt = dtype.size_bytes();
            plan.collective
                .counts(max as usize / elt, elt, 2)
                .size_bytes(elt)
        })
        .unwrap_or(0);
    absolute_threshold(plan, &criteria, largest)
}

fn error_message(e: &CollbenchError) -> String {
    match e {
        CollbenchError::Usage(m)
        | CollbenchError::CheckFailed(m)
        | CollbenchError::WrongResults(m)
        | CollbenchError::Mpi(m)
        | CollbenchError::Unsupported(m) => m.clone(),
        other => other.to_string(),
    }
}

/// The error every rank returns for rank 0's status.
fn error_from_code(code: i32, message: String) -> CollbenchError {
    match code {
        6 => CollbenchError::Usage(message),
        7 => CollbenchError::CheckFailed(message),
        130 | 143 => CollbenchError::Interrupted { signal: code - 128 },
        1 => CollbenchError::io("outputs", std::io::Error::other(message)),
        _ => CollbenchError::Mpi(message),
    }
}

/// `--jsonl` for a pairwise run: one `pair` record per finished pair as rounds end, then one
/// `pairwise` record with the whole result (sweep readers skip both).
struct JsonlPairs {
    file: std::fs::File,
    path: std::path::PathBuf,
    run_id: String,
    written_rounds: usize,
}

impl JsonlPairs {
    fn open(path: &std::path::Path, start_time: &str) -> Result<JsonlPairs> {
        let file = crate::sinks::jsonl::open_for_append(path)?;
        Ok(JsonlPairs {
            file,
            path: path.to_path_buf(),
            run_id: format!("{start_time}/pairwise/{}", std::process::id()),
            written_rounds: 0,
        })
    }

    fn append(&mut self, value: serde_json::Value) -> Result<()> {
        use std::io::Write;
        let io = |e| CollbenchError::io(self.path.display().to_string(), e);
        let mut line = serde_json::to_vec(&value).map_err(|e| io(std::io::Error::other(e)))?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(io)?;
        crate::sinks::jsonl::sync_data(&self.file).map_err(io)
    }

    fn round(&mut self, iso: &Isolation) -> Result<()> {
        let rounds = report::rounds(iso);
        while self.written_rounds < rounds.len() {
            for pair in &rounds[self.written_rounds] {
                let record = serde_json::json!({
                    "record": "pair",
                    "run_id": self.run_id,
                    "round": self.written_rounds + 1,
                    "hosts": pair.hosts,
                    "busbw_gbps": pair.busbw_gbps,
                    "wrong": pair.wrong,
                    "passed": pair.passed,
                    "threshold_gbps": iso.threshold_gbps,
                });
                self.append(record)?;
            }
            self.written_rounds += 1;
        }
        Ok(())
    }
}

/// `-J`, `--jsonl` (final record), `--prom-file`, `--push-gateway` of a pairwise run. Each one
/// is attempted even when an earlier one failed; the first error is returned.
fn write_outputs(
    plan: &TestPlan,
    result: &PairwiseReport,
    jsonl: Option<&mut JsonlPairs>,
) -> Result<()> {
    let mut first_error: Option<CollbenchError> = None;
    let mut keep = |outcome: Result<()>| {
        if let Err(e) = outcome {
            if first_error.is_some() {
                eprintln!("collbench: {e}");
            } else {
                first_error = Some(e);
            }
        }
    };
    if let Some(path) = &plan.json_path {
        keep(
            serde_json::to_vec_pretty(result)
                .map_err(|e| {
                    CollbenchError::io(path.display().to_string(), std::io::Error::other(e))
                })
                .and_then(|mut bytes| {
                    bytes.push(b'\n');
                    crate::sinks::write_atomically(path, &bytes)
                }),
        );
    }
    if let Some(j) = jsonl {
        keep(
            serde_json::to_value(result)
                .map_err(|e| {
                    CollbenchError::io(j.path.display().to_string(), std::io::Error::other(e))
                })
                .and_then(|mut value| {
                    if let Some(object) = value.as_object_mut() {
                        object.insert("record".into(), "pairwise".into());
                        object.insert("run_id".into(), j.run_id.clone().into());
                    }
                    j.append(value)
                }),
        );
    }
    let text =
        crate::sinks::prometheus::pairwise_exposition(result, crate::sinks::prometheus::unix_now());
    if let Some(path) = &plan.acceptance.prom_file {
        keep(crate::sinks::write_atomically(path, text.as_bytes()));
    }
    if let Some(url) = &plan.acceptance.push_gateway {
        keep(push_pairwise(url, result, &text));
    }
    first_error.map_or(Ok(()), Err)
}

/// `--push-gateway` of a pairwise run, under the collective `<name>-pairwise`.
fn push_pairwise(url: &str, result: &PairwiseReport, text: &str) -> Result<()> {
    let gateway = crate::sinks::pushgateway::GatewayUrl::parse(url)?;
    let key = vec![
        ("job", crate::sinks::pushgateway::JOB.to_string()),
        (
            "instance",
            result
                .hosts
                .first()
                .map(|h| h.host.clone())
                .unwrap_or_default(),
        ),
        (
            "slurm_job_id",
            std::env::var("SLURM_JOB_ID").unwrap_or_default(),
        ),
        // Its own group, beside the plain run's, told apart by `mode`: a grouping label
        // replaces the series' label of the same name, and the dashboard selects by
        // `collective`, so that label must stay the collective's name.
        ("collective", result.collective.clone()),
        ("mode", "pairwise".to_string()),
    ];
    crate::sinks::pushgateway::put(
        &gateway,
        &crate::sinks::pushgateway::grouping_path(&key),
        text,
        std::time::Duration::from_secs(10),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hosts a (ranks 0, 1), b (2), c (3), d (4), e (5); round 3 pairs a+b and c+d, e is idle.
    fn table() -> HostTable {
        HostTable {
            hosts: ["a", "b", "c", "d", "e"].map(String::from).to_vec(),
            host_of_rank: vec![0, 0, 1, 2, 3, 4],
        }
    }

    fn arrived(ranks: &[usize]) -> Vec<bool> {
        (0..6).map(|r| ranks.contains(&r)).collect()
    }

    #[test]
    fn idle_ranks_have_t_from_the_round_start_and_pair_ranks_t_from_their_pairs_first_report() {
        let table = table();
        let began = Instant::now();
        let at = |s: f64| began + Duration::from_secs_f64(s);
        let mut watch =
            RoundWatch::new(3, Duration::from_secs(5), began, &[[0, 1], [2, 3]], &table);
        // Rank 0 (pair a+b) reports 1 s in; nobody else yet.
        assert!(watch.overdue(&arrived(&[0]), at(1.0)).is_empty());
        assert!(watch.overdue(&arrived(&[0]), at(4.9)).is_empty());
        // 5 s: the idle rank is late; a+b's other ranks still have until 6 s.
        assert_eq!(
            watch.overdue(&arrived(&[0]), at(5.0)),
            vec!["rank 5 (host e): idle in round 3, silent 5.0 s since the round began"]
        );
        let late = watch.overdue(&arrived(&[0, 5]), at(6.0));
        assert_eq!(
            late,
            vec![
                "rank 1 (host a): its pair finished 5.0 s ago (rank 0, host a, reported)",
                "rank 2 (host b): its pair finished 5.0 s ago (rank 0, host a, reported)",
            ]
        );
        // Pair c+d's sweep may last any time while neither of its ranks has reported.
        assert!(watch.overdue(&arrived(&[0, 1, 2, 5]), at(100.0)).is_empty());
        // Once c has reported, d has -T.
        assert!(watch
            .overdue(&arrived(&[0, 1, 2, 3, 5]), at(100.0))
            .is_empty());
        assert!(watch
            .overdue(&arrived(&[0, 1, 2, 3, 5]), at(104.9))
            .is_empty());
        let error = watch
            .check(&arrived(&[0, 1, 2, 3, 5]), at(105.0))
            .unwrap_err();
        assert_eq!(error.exit_code(), 4);
        assert_eq!(
            error.to_string(),
            "timeout: no report within -T 5 s from rank 4 (host d): its pair finished 5.0 s ago \
             (rank 3, host c, reported)"
        );
        assert!(watch
            .check(&arrived(&[0, 1, 2, 3, 4, 5]), at(500.0))
            .is_ok());
    }
}
