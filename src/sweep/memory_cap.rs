//! nccl-tests lowers `-e` to what every rank can allocate (`# Reducing maxBytes to N due to memory
//! limitation`); a plain run and each pair of `accept --pairwise` do it the same way, here.

use crate::backend::Backend;
use crate::error::Result;
use crate::measure::watchdog::{self, Phase};
use crate::plan::TestPlan;
use crate::world::{Reduction, World};

/// Lowers `plan`'s `-e` to the smallest per-buffer limit over the ranks of `world` (collective
/// over `world`, which may be a pair's communicator). `global_rank`: this process's rank in the
/// whole job, which the error names it by.
/// Returns nccl-tests' notice when `-e` was lowered; when not even `-b` fits, a usage error (the
/// same on every rank) naming the rank with the least memory and how its limit follows from it.
pub fn lower_max_bytes_to_memory(
    plan: &mut TestPlan,
    backend: &dyn Backend,
    world: &dyn World,
    global_rank: usize,
) -> Result<Option<String>> {
    let Some(limit) = backend.max_buffer_bytes() else {
        return Ok(None);
    };
    let smallest = {
        let _armed = watchdog::waiting(Phase::Barrier);
        let smallest = world.allreduce_f64(&[limit as f64], Reduction::Min)?;
        smallest.first().copied().unwrap_or(limit as f64) as u64
    };
    if plan.sweep.min_bytes <= smallest {
        return plan.cap_max_bytes(smallest, None);
    }
    // Not even -b fits (every rank knows it): the error names the rank with the least memory and
    // why, in words only that rank has, so they travel to rank 0 and back to every rank.
    let mine = backend.max_buffer_basis().unwrap_or_default();
    let mut basis = {
        let _armed = watchdog::waiting(Phase::Barrier);
        let gathered = world.gather_bytes(format!("{limit}\t{global_rank}\t{mine}").as_bytes())?;
        gathered.map_or_else(Vec::new, |all| tightest(&all).into_bytes())
    };
    {
        let _armed = watchdog::waiting(Phase::Barrier);
        world.broadcast_bytes(&mut basis)?;
    }
    plan.cap_max_bytes(smallest, Some(&String::from_utf8_lossy(&basis)))
}

/// From every rank's `limit\tglobal rank\tbasis`: `rank R: basis` of the lowest rank with the
/// smallest limit.
fn tightest(all: &[Vec<u8>]) -> String {
    let parsed = all.iter().enumerate().map(|(index, bytes)| {
        let text = String::from_utf8_lossy(bytes);
        let mut fields = text.splitn(3, '\t');
        let limit = fields.next().and_then(|l| l.parse::<u64>().ok());
        let rank = fields.next().and_then(|r| r.parse::<usize>().ok());
        let basis = fields.next().unwrap_or_default().to_string();
        (limit.unwrap_or(u64::MAX), rank.unwrap_or(index), basis)
    });
    match parsed.min_by_key(|(limit, rank, _)| (*limit, *rank)) {
        Some((_, rank, basis)) if !basis.is_empty() => format!("rank {rank}: {basis}"),
        Some((_, rank, _)) => format!("rank {rank} has the least"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::tightest;

    #[test]
    fn the_lowest_rank_with_the_smallest_limit_is_named_with_its_basis() {
        // A pair's communicator: its ranks 0 and 1 are ranks 6 and 7 of the job.
        let all: Vec<Vec<u8>> = ["900\t4\ta", "500\t7\tb", "500\t9\tc", "x"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        assert_eq!(tightest(&all), "rank 7: b");
        let unexplained = vec![b"7\t2\t".to_vec(), b"9\t3\tz".to_vec()];
        assert_eq!(tightest(&unexplained), "rank 2 has the least");
        assert_eq!(tightest(&[]), "");
    }
}
