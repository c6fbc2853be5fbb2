//! `collbench fabric pingpong`: pairs of MPI ranks measure send/recv (and RMA) between them over
//! libfabric; addresses travel over MPI, data over the fabric. Rank 0 prints every pair and
//! names the slowest.

use super::cli::TransferArgs;
use super::engine::{run_sweep, EndpointCard, Link, Role, SideOutcome};
use super::host::write_output;
use super::pairing::{rounds, schedule, Pair};
use super::results::RowResult;
use super::transfer_setup::{describe, open_endpoint, prepare};
use super::verdict::{evaluate, summary_block, table, Thresholds, Verdict};
use crate::error::{CollbenchError, Result};
use crate::io::console;
use crate::world::World;
use serde::{Deserialize, Serialize};
use std::sync::atomic::AtomicBool;

/// What each rank publishes to the others.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RankCard {
    rank: usize,
    provider: String,
    endpoint: EndpointCard,
}

/// One side's result for one pair, sent to rank 0.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PairSide {
    pair: Pair,
    role_is_initiator: bool,
    outcome: SideOutcome,
    writes_complete_on_delivery: bool,
}

/// A measured pair, as printed and written to JSON.
#[derive(Clone, Debug, Serialize)]
pub struct PairReport {
    pub round: usize,
    pub initiator_rank: usize,
    pub responder_rank: usize,
    pub initiator_host: String,
    pub responder_host: String,
    pub rows: Vec<RowResult>,
    pub mismatches: Vec<String>,
    pub verdict: Verdict,
}

impl PairReport {
    fn label(&self) -> String {
        format!(
            "{}<->{} ({} <-> {})",
            self.initiator_rank, self.responder_rank, self.initiator_host, self.responder_host
        )
    }
}

/// What `--json` writes (rank 0).
#[derive(Clone, Debug, Serialize)]
pub struct PingpongReport {
    pub tool: String,
    pub ranks: usize,
    pub provider: String,
    pub libfabric_version: String,
    pub thresholds: Thresholds,
    pub pairs: Vec<PairReport>,
    /// The pair with the lowest MaxBw (ties: highest MinTypicalLat).
    pub slowest_pair: Option<String>,
    pub passed: bool,
}

/// Every rank's bytes to every rank (gather to 0, then broadcast).
fn allgather(world: &dyn World, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let gathered = world.gather_bytes(bytes)?;
    let mut packed = match gathered {
        Some(all) => serde_json::to_vec(&all).expect("byte vectors always serialise"),
        None => Vec::new(),
    };
    world.broadcast_bytes(&mut packed)?;
    serde_json::from_slice(&packed).map_err(|e| {
        CollbenchError::Mpi(format!(
            "allgather of endpoint cards came back unreadable: {e}"
        ))
    })
}

/// The slowest pair: lowest MaxBw, ties broken by the highest MinTypicalLat.
pub fn slowest(pairs: &[PairReport]) -> Option<&PairReport> {
    let key = |p: &PairReport| {
        p.verdict
            .summary
            .map(|s| (s.max_bw_gb_per_s, -s.min_typical_lat_us))
            .unwrap_or((f64::INFINITY, 0.0))
    };
    pairs.iter().min_by(|a, b| {
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}

/// `collbench fabric pingpong` under MPI: a rank that fails before the results are gathered
/// aborts the job with its exit code (its partner would otherwise wait in MPI forever); the
/// verdict itself is returned by every rank alike.
pub fn run(args: &TransferArgs) -> Result<()> {
    let (world, _init) = crate::world::MpiWorld::init()?;
    match measure_on(&world, args) {
        Ok(measured) => conclude(&world, args, measured),
        Err(error) => {
            eprintln!(
                "collbench fabric pingpong: rank {} on {}: {error}",
                world.rank(),
                world.hostname()
            );
            world.abort(error.exit_code())
        }
    }
}

/// What the measuring phase leaves for the verdict.
pub struct Measured {
    selected: super::select::Selected,
    plan: super::engine::SweepPlan,
    pairs: Vec<Pair>,
    cards: Vec<RankCard>,
    my_sides: Vec<PairSide>,
}

/// Runs every pair this rank belongs to (any error here is fatal for the job).
pub fn measure_on(world: &dyn World, args: &TransferArgs) -> Result<Measured> {
    if world.size() < 2 {
        return Err(CollbenchError::Usage(format!(
            "collbench fabric pingpong: {} rank(s); pairs need at least 2 (e.g. mpirun -np 2)",
            world.size()
        )));
    }
    let rank = world.rank();
    if let (0, Some(path)) = (rank, &args.json) {
        crate::fabric::host::check_output_dir(path)?;
    }
    let (selected, mut plan) = prepare(args)?;
    if rank == 0 {
        for notice in &selected.notices {
            eprintln!("{notice}");
        }
    }
    let pairs = schedule(world.size());
    // Only the first pair's responder corrupts: one wrong message in the whole job.
    plan.inject_corruption =
        plan.inject_corruption && pairs.first().is_some_and(|p| p.responder == rank);
    let mut endpoint = open_endpoint(&selected.info, &plan)?;
    let card = RankCard {
        rank,
        provider: selected.info.as_ref().provider(),
        endpoint: EndpointCard::of(&endpoint, world.hostname())?,
    };
    let cards: Vec<RankCard> = allgather(
        world,
        &serde_json::to_vec(&card).expect("a card serialises"),
    )?
    .iter()
    .map(|bytes| {
        serde_json::from_slice(bytes)
            .map_err(|e| CollbenchError::Mpi(format!("a rank sent an unreadable card: {e}")))
    })
    .collect::<Result<_>>()?;
    if let Some(other) = cards.iter().find(|c| c.provider != card.provider) {
        return Err(CollbenchError::Fabric(format!(
            "ranks chose different providers: rank {} uses {}, rank {} uses {}; pass --provider so every node uses the same one",
            rank, card.provider, other.rank, other.provider
        )));
    }

    let cancel = AtomicBool::new(false);
    let mut my_sides = Vec::new();
    for round in 0..rounds(&pairs) {
        if let Some(pair) = pairs
            .iter()
            .find(|p| p.round == round && (p.initiator == rank || p.responder == rank))
        {
            let (role, peer) = if pair.initiator == rank {
                (Role::Initiator, pair.responder)
            } else {
                (Role::Responder, pair.initiator)
            };
            let mut link = Link::connect(
                role,
                &mut endpoint,
                cards[peer].endpoint.clone(),
                plan.timeout,
                &cancel,
            )?;
            link.arm_corruption(plan.inject_corruption && round == 0);
            let outcome = run_sweep(&mut link, &plan)?;
            my_sides.push(PairSide {
                pair: *pair,
                role_is_initiator: role == Role::Initiator,
                outcome,
                writes_complete_on_delivery: link.writes_complete_on_delivery(),
            });
        }
        world.barrier()?;
    }
    Ok(Measured {
        selected,
        plan,
        pairs,
        cards,
        my_sides,
    })
}

/// Gathers every side to rank 0, which reports; every rank returns rank 0's verdict.
pub fn conclude(world: &dyn World, args: &TransferArgs, measured: Measured) -> Result<()> {
    let Measured {
        selected,
        plan,
        pairs,
        cards,
        my_sides,
    } = measured;
    let gathered =
        world.gather_bytes(&serde_json::to_vec(&my_sides).expect("results serialise"))?;
    let mut code_bytes = Vec::new();
    let mut rank0_result: Result<()> = Ok(());
    if let Some(all) = gathered {
        // Whatever happens here, rank 0 must reach the broadcast below: the others wait in it.
        rank0_result = all
            .iter()
            .map(|b| serde_json::from_slice::<Vec<PairSide>>(b))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| CollbenchError::Mpi(format!("a rank sent unreadable results: {e}")))
            .and_then(|per_rank| {
                let sides = per_rank.into_iter().flatten().collect();
                report(args, &selected, &plan, &pairs, &cards, sides)
            });
        let code = rank0_result.as_ref().err().map_or(0, |e| e.exit_code());
        code_bytes = vec![code as u8];
    }
    // Every rank ends with rank 0's verdict, so mpirun's exit status is the verdict.
    world.broadcast_bytes(&mut code_bytes)?;
    match (rank0_result, code_bytes.first().copied().unwrap_or(0)) {
        (Err(e), _) => Err(e),
        (Ok(()), 0) => Ok(()),
        (Ok(()), code) => Err(verdict_from_rank0(code as i32)),
    }
}

/// The error a non-zero rank returns so that it exits with rank 0's code.
fn verdict_from_rank0(code: i32) -> CollbenchError {
    let text = "rank 0 reported the failure above".to_string();
    match code {
        4 => CollbenchError::Timeout(text),
        6 => CollbenchError::Usage(text),
        7 => CollbenchError::CheckFailed(text),
        1 => CollbenchError::io("rank 0 output", std::io::Error::other(text)),
        _ => CollbenchError::Fabric(text),
    }
}

/// Rank 0: merge both sides of every pair, print, write JSON, decide.
fn report(
    args: &TransferArgs,
    selected: &super::select::Selected,
    plan: &super::engine::SweepPlan,
    pairs: &[Pair],
    cards: &[RankCard],
    sides: Vec<PairSide>,
) -> Result<()> {
    let thresholds = Thresholds {
        min_bw_gb_per_s: args.min_bw_gb_per_s,
        max_lat_us: args.max_lat_us,
    };
    let delivery_complete = sides.iter().any(|s| s.writes_complete_on_delivery);
    console::print(&format!(
        "# collbench fabric pingpong: {} ranks, {} pairs\n{}",
        cards.len(),
        pairs.len(),
        describe(selected, plan, delivery_complete)
    ));
    let mut reports = Vec::new();
    for pair in pairs {
        let find = |initiator: bool| {
            sides
                .iter()
                .find(|s| s.pair == *pair && s.role_is_initiator == initiator)
                .ok_or_else(|| {
                    CollbenchError::Mpi(format!(
                        "no results from a side of pair {}<->{}",
                        pair.initiator, pair.responder
                    ))
                })
        };
        let mut outcome = find(true)?.outcome.clone();
        outcome.merge_verification(&find(false)?.outcome)?;
        let verdict = evaluate(&outcome.rows, thresholds);
        let pair_report = PairReport {
            round: pair.round,
            initiator_rank: pair.initiator,
            responder_rank: pair.responder,
            initiator_host: cards[pair.initiator].endpoint.host.clone(),
            responder_host: cards[pair.responder].endpoint.host.clone(),
            rows: outcome.rows,
            mismatches: outcome.mismatches,
            verdict,
        };
        console::print_line(&format!(
            "# pair {} round {}",
            pair_report.label(),
            pair.round
        ));
        console::print(&table(&pair_report.rows));
        for note in &pair_report.mismatches {
            eprintln!("payload mismatch in pair {}: {note}", pair_report.label());
        }
        console::print(&summary_block(
            "Pair",
            &pair_report.label(),
            &pair_report.verdict,
        ));
        reports.push(pair_report);
    }
    let slowest_pair = slowest(&reports).map(|p| p.label());
    if let Some(p) = slowest(&reports) {
        let s = p.verdict.summary;
        console::print_line(&format!(
            "Slowest pair: {} (MaxBw {} GB/s, MinTypicalLat {} us)",
            p.label(),
            s.map_or("-".into(), |s| format!("{:.3}", s.max_bw_gb_per_s)),
            s.map_or("-".into(), |s| format!("{:.2}", s.min_typical_lat_us))
        ));
    }
    let failed: Vec<&PairReport> = reports.iter().filter(|p| !p.verdict.passed()).collect();
    let wrong: u64 = reports.iter().map(|p| p.verdict.wrong_messages).sum();
    let entry = selected.info.as_ref();
    if let Some(path) = &args.json {
        let report = PingpongReport {
            tool: "collbench fabric pingpong".into(),
            ranks: cards.len(),
            provider: entry.provider(),
            libfabric_version: entry.library().version_text(),
            thresholds,
            pairs: reports.clone(),
            slowest_pair,
            passed: failed.is_empty(),
        };
        write_output(
            path,
            &serde_json::to_string_pretty(&report).expect("the report serialises"),
        )?;
    }
    if failed.is_empty() {
        return Ok(());
    }
    let reasons = failed
        .iter()
        .map(|p| format!("pair {}: {}", p.label(), p.verdict.failures.join("; ")))
        .collect::<Vec<_>>()
        .join(" | ");
    if wrong > 0 {
        Err(CollbenchError::WrongResults(reasons))
    } else {
        Err(CollbenchError::CheckFailed(reasons))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::stats::SweepSummary;

    fn pair_with(initiator: usize, max_bw: f64, min_lat: f64) -> PairReport {
        PairReport {
            round: 0,
            initiator_rank: initiator,
            responder_rank: initiator + 1,
            initiator_host: format!("node{initiator}"),
            responder_host: format!("node{}", initiator + 1),
            rows: vec![],
            mismatches: vec![],
            verdict: Verdict {
                summary: Some(SweepSummary {
                    max_bw_gb_per_s: max_bw,
                    avg_bw_gb_per_s: max_bw,
                    max_typical_lat_us: min_lat,
                    min_typical_lat_us: min_lat,
                    avg_lat_us: min_lat,
                }),
                verified_messages: 1,
                wrong_messages: 0,
                failures: vec![],
            },
        }
    }

    #[test]
    fn the_slowest_pair_has_the_lowest_bandwidth_then_the_highest_latency() {
        let pairs = [
            pair_with(0, 10.0, 5.0),
            pair_with(2, 3.0, 5.0),
            pair_with(4, 3.0, 9.0),
        ];
        assert_eq!(slowest(&pairs).unwrap().label(), "4<->5 (node4 <-> node5)");
        assert!(slowest(&[]).is_none());
    }
}
