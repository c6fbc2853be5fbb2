//! Whether an acceptance profile can judge a run at all. Its expectations are for full nodes
//! (`gpus_per_node` ranks on each) and keyed by collective, node count, size and element type, so
//! a run of another shape, or of sizes it has no number for, can only be reported as uncovered.
//! The verdict says so after a sweep (a `profile-coverage` check); a plain run asks the same
//! question before its sweep (`lifecycle::profile_fit`), where the answer is already certain.

use crate::plan::profile::Profile;
use crate::types::DataType;
use std::collections::BTreeSet;

/// What a run is, as far as a profile's expectations are concerned.
#[derive(Clone, Copy, Debug)]
pub struct RunShape<'a> {
    pub collective: &'a str,
    /// Ranks of the whole job.
    pub nranks: usize,
    /// Distinct hosts of the job.
    pub nodes: usize,
}

/// Why a profile judges nothing of a run.
#[derive(Clone, Debug, PartialEq)]
pub enum Uncovered {
    /// The job is not `gpus_per_node` ranks on each of its nodes.
    Ranks { nranks: usize, expected: usize },
    /// No row (size, element type) of the run has an expectation for its node count.
    Rows { sizes: BTreeSet<u64> },
}

/// `None` when `profile` has an expectation for at least one of `rows` ((size in bytes, element
/// type) of each row) on a job of `shape`.
pub fn uncovered(
    profile: &Profile,
    shape: RunShape,
    rows: &[(u64, DataType)],
) -> Option<Uncovered> {
    if let Some(ranks) = other_layout(profile, shape) {
        return Some(ranks);
    }
    let nodes = u32::try_from(shape.nodes).unwrap_or(u32::MAX);
    let covered = rows.iter().any(|&(size, dtype)| {
        profile
            .expected(shape.collective, nodes, size, dtype)
            .is_some()
    });
    (!covered).then(|| Uncovered::Rows {
        sizes: rows.iter().map(|&(size, _)| size).collect(),
    })
}

/// [`Uncovered::Ranks`] when the job is not `gpus_per_node` ranks on each of its nodes, whatever
/// sizes it runs.
pub fn other_layout(profile: &Profile, shape: RunShape) -> Option<Uncovered> {
    let expected = profile.gpus_per_node as usize * shape.nodes;
    (shape.nranks != expected).then_some(Uncovered::Ranks {
        nranks: shape.nranks,
        expected,
    })
}

impl Uncovered {
    /// (measured, expected, unit) of the `profile-coverage` check.
    pub fn quantities(&self) -> (f64, f64, &'static str) {
        match self {
            Uncovered::Ranks { nranks, expected } => (*nranks as f64, *expected as f64, "ranks"),
            Uncovered::Rows { .. } => (0.0, 1.0, "rows"),
        }
    }

    /// Why, in words that name the profile, the shape and what it covers.
    pub fn explain(&self, profile: &Profile, shape: RunShape) -> String {
        match self {
            Uncovered::Ranks { nranks, expected } => format!(
                "profile {} is for {} ranks per node ({expected} on {} node(s)); this run has \
                 {nranks} ranks, so its busbw is not comparable",
                profile.name, profile.gpus_per_node, shape.nodes
            ),
            Uncovered::Rows { sizes } => format!(
                "profile {} has no expectation for {} on {} node(s) at the sizes run ({}); it \
                 covers: {}",
                profile.name,
                shape.collective,
                shape.nodes,
                sizes
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                profile.coverage()
            ),
        }
    }

    /// What the operator can change so that the profile judges the run.
    pub fn remedy(&self, profile: &Profile) -> String {
        match self {
            Uncovered::Ranks { .. } => format!(
                "launch {} ranks on each node (srun --ntasks-per-node={0}, mpirun --npernode {0}), \
                 or judge by --min-busbw GBPS without --profile",
                profile.gpus_per_node
            ),
            Uncovered::Rows { .. } => "sweep sizes the profile covers (-b/-e), use a profile \
                                       for this node count, or judge by --min-busbw GBPS \
                                       without --profile"
                .to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(derive: bool) -> Profile {
        Profile::parse(
            &format!(
                "schema = 1\nname = \"tiny\"\ndescription = \"test\"\ngpu_models = [\"host memory\"]\n\
                 gpus_per_node = 2\npass_fraction = 0.9\nderive_larger_node_counts = {derive}\n\n\
                 [[expect]]\ncollective = \"all_reduce\"\nnodes = 2\nsize = \"1M\"\nbusbw_gbps = 10\n\
                 source = \"made up for this unit test\"\n"
            ),
            "test",
        )
        .unwrap()
    }

    fn shape(nranks: usize, nodes: usize) -> RunShape<'static> {
        RunShape {
            collective: "all_reduce",
            nranks,
            nodes,
        }
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn a_job_of_another_ranks_per_node_is_uncovered_whatever_its_sizes() {
        let p = profile(true);
        let rows = [(MIB, DataType::Float)];
        assert_eq!(
            uncovered(&p, shape(3, 2), &rows),
            Some(Uncovered::Ranks {
                nranks: 3,
                expected: 4
            })
        );
        let why = uncovered(&p, shape(3, 2), &rows).unwrap();
        assert_eq!(why.quantities(), (3.0, 4.0, "ranks"));
        assert!(why
            .explain(&p, shape(3, 2))
            .contains("is for 2 ranks per node (4 on 2 node(s)); this run has 3 ranks"));
        assert!(why.remedy(&p).contains("--ntasks-per-node=2"));
        assert_eq!(uncovered(&p, shape(4, 2), &rows), None);
    }

    #[test]
    fn rows_are_covered_by_one_expectation_at_their_node_count() {
        let fixed = profile(false);
        let rows = [(MIB / 2, DataType::Float), (MIB, DataType::Float)];
        assert_eq!(uncovered(&fixed, shape(4, 2), &rows), None);
        // 3 nodes: only a profile that derives larger node counts has a number.
        let why = uncovered(&fixed, shape(6, 3), &rows).unwrap();
        assert_eq!(why.quantities(), (0.0, 1.0, "rows"));
        assert!(why.explain(&fixed, shape(6, 3)).contains(
            "no expectation for all_reduce on 3 node(s) at the sizes run (524288, 1048576); it \
             covers: all_reduce on 2 node(s) at 1M"
        ));
        assert_eq!(uncovered(&profile(true), shape(6, 3), &rows), None);
        // Sizes below the profile's.
        assert!(matches!(
            uncovered(&fixed, shape(4, 2), &[(MIB / 2, DataType::Float)]),
            Some(Uncovered::Rows { .. })
        ));
    }
}
