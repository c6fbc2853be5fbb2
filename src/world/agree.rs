//! Every rank must run the same test plan: the collectives of the sweep are matched call by call,
//! so a rank given other flags (an mpirun MPMD `:` section, a per-rank NCCL_TESTS_SPLIT) would hang
//! in a call the others never make (`-n 5` against `-n 6`), fail with an MPI truncation, or report
//! "wrong results" for data that no rank got wrong (`-d float` against `-d int32`). Rank 0's plan is
//! the reference; every difference is a usage error on every rank, before the first operation.

use super::World;
use crate::error::{CollbenchError, Result};
use crate::plan::PlanField;

/// At most this many ranks are named in the error.
const MAX_RANKS_NAMED: usize = 4;

/// `name=value` lines; a value never holds a newline (they are `Debug` renderings).
fn encode(fields: &[PlanField]) -> Vec<u8> {
    let mut text = String::new();
    for (name, value) in fields {
        text.push_str(name);
        text.push('=');
        text.push_str(&value.replace('\n', " "));
        text.push('\n');
    }
    text.into_bytes()
}

/// What differs from rank 0's `reference` (empty when nothing does).
fn differences(reference: &[u8], fields: &[PlanField], rank: usize) -> Vec<String> {
    let reference = String::from_utf8_lossy(reference);
    let theirs: Vec<(&str, &str)> = reference
        .lines()
        .filter_map(|line| line.split_once('='))
        .collect();
    let mut different = Vec::new();
    for (name, value) in fields {
        let value = value.replace('\n', " ");
        match theirs.iter().find(|(other, _)| other == name) {
            Some((_, reference_value)) if *reference_value == value => {}
            Some((_, reference_value)) => different.push(format!(
                "{name}: rank 0 has {reference_value}, rank {rank} has {value}"
            )),
            None => different.push(format!("{name}: rank 0 has none, rank {rank} has {value}")),
        }
    }
    if theirs.len() != fields.len() && different.is_empty() {
        different.push(format!(
            "rank 0's plan has {} fields, rank {rank}'s {}",
            theirs.len(),
            fields.len()
        ));
    }
    different
}

/// Fails on every rank (the same usage error, printed in full by rank 0) unless every rank's
/// `fields` equal rank 0's. Collective over `world`: every rank must call it.
pub fn check_same_plan(world: &dyn World, fields: &[PlanField]) -> Result<()> {
    let mut reference = encode(fields);
    world.broadcast_bytes(&mut reference)?;
    let different = differences(&reference, fields, world.rank());
    let note = different.join(", ");
    let gathered = world.gather_bytes(note.as_bytes())?;
    let ranks_differing = world
        .allreduce_u64_sum(&[u64::from(!different.is_empty())])?
        .first()
        .copied()
        .unwrap_or(0);
    if ranks_differing == 0 {
        return Ok(());
    }
    let notes: Vec<String> = gathered
        .unwrap_or_default()
        .into_iter()
        .filter(|part| !part.is_empty())
        .map(|part| String::from_utf8_lossy(&part).into_owned())
        .collect();
    let mut details = notes
        .iter()
        .take(MAX_RANKS_NAMED)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if notes.len() > MAX_RANKS_NAMED {
        details.push_str(&format!("; and {} more", notes.len() - MAX_RANKS_NAMED));
    }
    Err(CollbenchError::Usage(format!(
        "{ranks_differing} of the job's {} ranks were given a different test plan than rank 0 \
         ({details}); the ranks run the sweep's collectives together, so they would hang or \
         compare different data; accepted: the same flags and NCCL_TESTS_SPLIT on every rank \
         (check mpirun ':' sections and per-rank environment variables)",
        world.size()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::single::SingleProcess;

    fn fields(iters: &str) -> Vec<PlanField> {
        vec![
            ("collective".to_string(), "all_reduce".to_string()),
            ("-n/--iters".to_string(), iters.to_string()),
        ]
    }

    #[test]
    fn equal_plans_agree_and_each_difference_is_named_with_both_values() {
        let reference = encode(&fields("5"));
        assert!(differences(&reference, &fields("5"), 3).is_empty());
        assert_eq!(
            differences(&reference, &fields("6"), 3),
            vec!["-n/--iters: rank 0 has 5, rank 3 has 6".to_string()]
        );
        let mut more = fields("5");
        more.push(("--seed".to_string(), "1".to_string()));
        assert_eq!(
            differences(&reference, &more, 1),
            vec!["--seed: rank 0 has none, rank 1 has 1".to_string()]
        );
        assert_eq!(differences(&encode(&more), &fields("5"), 2).len(), 1);
        // One process is its own reference.
        check_same_plan(&SingleProcess::new(), &fields("5")).unwrap();
    }
}
