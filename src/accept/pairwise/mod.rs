//! The MPI side of `collbench accept --pairwise` and `--bisect`: every round, rank 0 decides the
//! groups of hosts ([`Isolation`]: pairs, or halves) and broadcasts them; every process splits the
//! world by its host's group (MPI_Comm_split), runs the sweep on its group's communicator with the
//! normal runner, and the groups' results are gathered back to rank 0. Idle hosts wait in the
//! gather. Below, "pair" stands for a group of any size.
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
//! Usage errors end every rank together: the plan (and a given profile) is checked against every
//! group a round may form before round 1, and one that a group's run finds goes to rank 0 with the
//! group's results.

mod beacon;
mod finish;
mod group_run;
mod hosts;
mod jsonl;
mod judge;
mod messages;
mod metrics;
mod outputs;
mod round_watch;
mod rounds;
mod setup;
mod words;

use super::command::PairwiseOptions;
use crate::error::Result;
use crate::plan::TestPlan;
use crate::sweep::runner::StopSignal;
use crate::world::World;
use rounds::Session;

/// Runs the isolation. Collective over `world`. Rank 0 prints the result and writes the outputs;
/// every rank returns the same outcome (Ok: every host cleared).
pub fn run(
    plan: &TestPlan,
    world: &dyn World,
    stop: StopSignal,
    options: &PairwiseOptions,
) -> Result<()> {
    let checked = setup::agree_and_check(plan, world, options.search)?;
    let mut session = Session::new(plan, world, options, checked)?;
    while session.play_round(&stop)? {}
    session.finish()
}
