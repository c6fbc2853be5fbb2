//! Rank 0's judgement of the pairs: the one busbw a pair's rows come to, and the threshold it must
//! reach (`--min-busbw`, a `--profile` expectation, or relative to the reference pair).

use crate::accept::pairing::Search;
use crate::error::{CollbenchError, Result};
use crate::plan::acceptance::ProfileChoice;
use crate::plan::profile::Profile;
use crate::plan::Criteria;
use crate::plan::TestPlan;
use crate::types::DataType;
use crate::verdict::coverage::{self, RunShape};

/// Rank 0's view: how a pair's rows become one busbw, and the threshold.
pub(super) struct Judge {
    /// Rows of at least this size count (the lowest busbw among them).
    pub(super) check_size: Option<u64>,
    pub(super) threshold: Option<Thresholds>,
    /// The size actually checked (known once a pair reported its rows).
    pub(super) checked_size: Option<u64>,
}

impl Judge {
    pub(super) fn check_size(&self, rows: &[(u64, f64)]) -> u64 {
        let largest = rows.iter().map(|r| r.0).max().unwrap_or(0);
        self.check_size.unwrap_or(largest).min(largest)
    }

    /// The lowest busbw among the checked rows; 0 (a failure) when the pair measured none.
    pub(super) fn busbw(&self, rows: &[(u64, f64)]) -> f64 {
        let from = self.check_size(rows);
        rows.iter()
            .filter(|r| r.0 >= from)
            .map(|r| r.1)
            .reduce(f64::min)
            .unwrap_or(0.0)
    }
}

/// The busbw one group must reach, and where that number comes from.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Threshold {
    pub(super) gbps: f64,
    pub(super) basis: String,
}

/// The threshold of every group a search may form. `--min-busbw` and the relative threshold are
/// one number for all; a profile's expectation depends on the group's node count (busbw falls as
/// nodes join a ring, `plan::profile`) and, through the sizes its rank count allows, on its ranks.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Thresholds {
    Every(Threshold),
    /// Keyed by (hosts, ranks) of the group.
    ByGroup(Vec<((usize, usize), Threshold)>),
}

impl Thresholds {
    /// The threshold of a group of `hosts` hosts and `ranks` ranks.
    pub(super) fn for_group(&self, hosts: usize, ranks: usize) -> f64 {
        match self {
            Thresholds::Every(t) => t.gbps,
            Thresholds::ByGroup(entries) => entries
                .iter()
                .find(|(key, _)| *key == (hosts, ranks))
                .or_else(|| entries.iter().find(|((h, _), _)| *h == hosts))
                .or(entries.first())
                .map_or(0.0, |(_, t)| t.gbps),
        }
    }

    /// The report's one threshold and basis: a pair's (the fewest hosts'), with every other node
    /// count's expectation listed in the basis.
    pub(super) fn summary(&self) -> Threshold {
        match self {
            Thresholds::Every(t) => t.clone(),
            Thresholds::ByGroup(entries) => {
                let mut distinct: Vec<&Threshold> = Vec::new();
                for (_, t) in entries {
                    if !distinct.contains(&t) {
                        distinct.push(t);
                    }
                }
                let gbps = distinct.first().map_or(0.0, |t| t.gbps);
                let basis = match &distinct[..] {
                    [one] => one.basis.clone(),
                    many => format!(
                        "per group node count: {}",
                        many.iter()
                            .map(|t| t.basis.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                };
                Threshold { gbps, basis }
            }
        }
    }
}

/// The thresholds of `groups` ((hosts, ranks) of each group a round may form, fewest hosts first)
/// when the flags give absolute ones: `--min-busbw` for all, else the profile's expectation for
/// each group's node count at the largest size.
fn absolute_thresholds(
    plan: &TestPlan,
    criteria: &Criteria,
    groups: &[(usize, usize)],
) -> Result<Option<Thresholds>> {
    if let Some(min) = &criteria.min_busbw {
        return Ok(Some(Thresholds::Every(Threshold {
            gbps: min.gbps,
            basis: format!("--min-busbw {}", min.gbps),
        })));
    }
    let Some(profile) = &criteria.profile else {
        return Ok(None);
    };
    let dtype = judged_dtype(plan);
    let entries = groups
        .iter()
        .map(|&(hosts, ranks)| {
            refuse_other_layout(plan, profile, (hosts, ranks))?;
            let largest = largest_size(plan, dtype, ranks);
            profile_threshold(plan, profile, dtype, (hosts, largest)).map(|t| ((hosts, ranks), t))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(Thresholds::ByGroup(entries)))
}

/// The profile's expectation for `hosts` nodes at `size` bytes, times its pass fraction; a refusal
/// naming what the profile covers where it has none.
fn profile_threshold(
    plan: &TestPlan,
    profile: &Profile,
    dtype: DataType,
    (hosts, size): (usize, u64),
) -> Result<Threshold> {
    let nodes = u32::try_from(hosts).unwrap_or(u32::MAX);
    let Some(e) = profile.expected(plan.collective.name(), nodes, size, dtype) else {
        return Err(CollbenchError::Usage(format!(
            "--profile {}: no {hosts}-node expectation for {} at {size} B ({}); it covers: {}; end \
             the sweep (-e) at one of those sizes, use a profile that derives larger node counts, \
             or give --min-busbw",
            profile.name,
            plan.collective.name(),
            group_of(hosts),
            profile.coverage()
        )));
    };
    Ok(Threshold {
        gbps: e.busbw_gbps * profile.pass_fraction,
        basis: format!(
            "profile {}: {:.0}% of {:.2} GB/s expected for {hosts} nodes at {size} B ({})",
            profile.name,
            profile.pass_fraction * 100.0,
            e.busbw_gbps,
            e.basis
        ),
    })
}

/// What a group of `hosts` hosts is, in words.
fn group_of(hosts: usize) -> String {
    match hosts {
        2 => "a pair is 2 nodes".to_string(),
        _ => format!("--bisect runs groups of {hosts} hosts"),
    }
}

/// A refusal where a group's ranks are not the profile's `gpus_per_node` on each of its hosts:
/// its busbw is not comparable with any of the profile's expectations, at any size.
fn refuse_other_layout(
    plan: &TestPlan,
    profile: &Profile,
    (hosts, ranks): (usize, usize),
) -> Result<()> {
    let shape = RunShape {
        collective: plan.collective.name(),
        nranks: ranks,
        nodes: hosts,
    };
    let Some(uncovered) = coverage::other_layout(profile, shape) else {
        return Ok(());
    };
    Err(CollbenchError::Usage(format!(
        "--profile {}: it is for {} ranks per node, {} on {hosts} nodes ({}); a group here has \
         {ranks} ranks, so its busbw is not comparable; {}",
        profile.name,
        profile.gpus_per_node,
        profile.gpus_per_node as usize * hosts,
        group_of(hosts),
        uncovered.remedy(profile)
    )))
}

/// Before round 1, on every rank: a given `--profile` (not `auto`, which needs round 1's devices)
/// that is for another number of ranks per host than one of `groups` has, or that has no
/// expectation for one of them at any size the sweep runs, is refused now. A
/// memory cap found in round 1 can only lower -e to one of those sizes, so that round could not
/// rescue it; it would only delay the same refusal by a round of every group's sweep.
pub(super) fn refuse_uncovered_profile(plan: &TestPlan, groups: &[(usize, usize)]) -> Result<()> {
    let Some(ProfileChoice::Given(profile)) = &plan.acceptance.profile else {
        return Ok(());
    };
    if plan.acceptance.criteria.min_busbw.is_some() {
        return Ok(());
    }
    let dtype = judged_dtype(plan);
    for &(hosts, ranks) in groups {
        refuse_other_layout(plan, profile, (hosts, ranks))?;
        let covered = plan.sweep.sizes.iter().any(|&size| {
            let size = group_size(plan, dtype, ranks, size);
            profile_threshold(plan, profile, dtype, (hosts, size)).is_ok()
        });
        if !covered {
            let largest = largest_size(plan, dtype, ranks);
            profile_threshold(plan, profile, dtype, (hosts, largest))?;
        }
    }
    Ok(())
}

/// The element type a profile's expectation is looked up for: the sweep's first.
fn judged_dtype(plan: &TestPlan) -> DataType {
    plan.sweep
        .dtypes
        .first()
        .copied()
        .unwrap_or(DataType::Float)
}

/// The largest row size a group of `ranks` ranks runs: -e rounded to what the collective's
/// counts allow at that rank count.
fn largest_size(plan: &TestPlan, dtype: DataType, ranks: usize) -> u64 {
    plan.sweep
        .sizes
        .iter()
        .max()
        .map_or(0, |&max| group_size(plan, dtype, ranks, max))
}

/// The row size a group of `ranks` ranks runs for the sweep size `size`.
fn group_size(plan: &TestPlan, dtype: DataType, ranks: usize, size: u64) -> u64 {
    plan.row_size(dtype, ranks.max(2), size)
}

/// `--profile` (auto resolved from rank 0's devices) or `--min-busbw` as the thresholds of
/// `groups` ((hosts, ranks) of every group a round of `search` may form). `None`: pairs are judged
/// against the reference pair; halves have none, so `--bisect` whose `--profile auto` matched
/// nothing is refused.
pub(super) fn resolve_thresholds(
    plan: &TestPlan,
    devices: &[String],
    search: Search,
    groups: &[(usize, usize)],
) -> Result<Option<Thresholds>> {
    let criteria = plan.acceptance.resolve_criteria(devices)?;
    let thresholds = absolute_thresholds(plan, &criteria, groups)?;
    match (&thresholds, search, &criteria.unmatched_auto_profile) {
        (None, Search::Bisect, Some(subject)) => Err(CollbenchError::Usage(format!(
            "accept --bisect: --profile auto found no busbw profile for {subject}, and halves have \
             no reference group, so --bisect needs an absolute threshold; accepted: --profile {} or \
             FILE.toml, or --min-busbw GBPS",
            crate::plan::profile::Profile::builtin_names().join("|")
        ))),
        _ => Ok(thresholds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accept::command::{parse, AcceptCommand};
    use crate::plan::profile::Profile;

    fn plan(args: &[&str]) -> TestPlan {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        match parse(&args, &|_| None) {
            Ok(AcceptCommand::Pairwise(plan, _)) => *plan,
            other => panic!("{args:?} is not an isolation: {other:?}"),
        }
    }

    #[test]
    fn a_profile_judges_each_group_by_the_expectation_for_its_node_count() {
        let plan = plan(&[
            "--bisect",
            "--profile",
            "p5.48xlarge",
            "-b",
            "1G",
            "-e",
            "1G",
        ]);
        // Eight hosts of 8 GPUs: halves of four hosts, then pairs.
        let thresholds = resolve_thresholds(&plan, &[], Search::Bisect, &[(2, 16), (4, 32)])
            .unwrap()
            .unwrap();
        let profile = Profile::load("p5.48xlarge").unwrap();
        let expected = |nodes| {
            let e = profile
                .expected("all_reduce", nodes, 1 << 30, DataType::Float)
                .unwrap();
            e.busbw_gbps * profile.pass_fraction
        };
        let (pair, half) = (thresholds.for_group(2, 16), thresholds.for_group(4, 32));
        assert_eq!((pair, half), (expected(2), expected(4)));
        assert!(
            half < pair,
            "4 nodes reach less busbw than 2: {half} vs {pair}"
        );
        let summary = thresholds.summary();
        assert_eq!(summary.gbps, pair);
        assert!(
            summary
                .basis
                .starts_with("per group node count: profile p5.48xlarge: 90% of")
                && summary
                    .basis
                    .contains("expected for 2 nodes at 1073741824 B")
                && summary
                    .basis
                    .contains("expected for 4 nodes at 1073741824 B (derived:"),
            "{}",
            summary.basis
        );
    }

    #[test]
    fn min_busbw_is_the_threshold_of_every_group() {
        let plan = plan(&["--bisect", "--min-busbw", "40", "-b", "1G", "-e", "1G"]);
        let thresholds = resolve_thresholds(&plan, &[], Search::Bisect, &[(2, 16), (4, 32)])
            .unwrap()
            .unwrap();
        assert_eq!(
            (thresholds.for_group(2, 16), thresholds.for_group(4, 32)),
            (40.0, 40.0)
        );
        assert_eq!(thresholds.summary().basis, "--min-busbw 40");
    }

    /// A profile file with one expectation: all_reduce on 2 nodes of 8 GPUs at 1 GiB, 400 GB/s.
    fn two_node_profile() -> tempfile::NamedTempFile {
        let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        std::fs::write(
            file.path(),
            "schema = 1\nname = \"two-nodes-only\"\ndescription = \"test\"\ninstance_types = [\"test.8gpu\"]\ngpus_per_node = 8\n\
             pass_fraction = 0.9\nderive_larger_node_counts = false\n\n[[expect]]\n\
             collective = \"all_reduce\"\nnodes = 2\nsize = \"1G\"\nbusbw_gbps = 400\nsource = \"a made-up 2-node measurement for this test\"\n",
        )
        .unwrap();
        file
    }

    #[test]
    fn a_group_size_the_profile_has_no_expectation_for_is_refused_naming_it() {
        let file = two_node_profile();
        let given = file.path().display().to_string();
        let plan = plan(&["--bisect", "--profile", &given, "-b", "1G", "-e", "1G"]);
        let pairs_only = resolve_thresholds(&plan, &[], Search::Bisect, &[(2, 16)])
            .unwrap()
            .unwrap();
        assert_eq!(pairs_only.for_group(2, 16), 360.0);
        let refused = resolve_thresholds(&plan, &[], Search::Bisect, &[(2, 16), (3, 24)]);
        let Err(CollbenchError::Usage(message)) = refused else {
            panic!("a 3-host group without a 3-node expectation was not refused: {refused:?}");
        };
        assert!(
            message.starts_with("--profile two-nodes-only: no 3-node expectation for all_reduce at 1073741824 B (--bisect runs groups of 3 hosts)")
                && message.contains("give --min-busbw"),
            "{message}"
        );
    }

    #[test]
    fn a_profile_that_no_memory_cap_could_make_cover_a_group_is_refused_before_round_1() {
        let file = two_node_profile();
        let given = file.path().display().to_string();
        let groups = [(2, 16), (3, 24)];
        // No 3-node expectation at any size of the sweep: refused before any round runs, with
        // the message round 1 would give.
        let plan_3 = plan(&["--bisect", "--profile", &given, "-b", "256M", "-e", "1G"]);
        let Err(CollbenchError::Usage(early)) = refuse_uncovered_profile(&plan_3, &groups) else {
            panic!("a profile without 3-node expectations passed the check before round 1");
        };
        let Err(CollbenchError::Usage(late)) =
            resolve_thresholds(&plan_3, &[], Search::Bisect, &groups)
        else {
            panic!("round 1 accepted what the early check refused");
        };
        assert_eq!(early, late);
        // Pairs only: covered at 1 GiB.
        refuse_uncovered_profile(&plan_3, &[(2, 16)]).unwrap();
        // -e beyond the profile's sizes but 1 GiB inside the sweep: a memory cap found in
        // round 1 may lower -e to 1 GiB, so only round 1 can tell.
        let plan_2g = plan(&["--pairwise", "--profile", &given, "-b", "1G", "-e", "2G"]);
        refuse_uncovered_profile(&plan_2g, &[(2, 16)]).unwrap();
        assert!(resolve_thresholds(&plan_2g, &[], Search::Pairs, &[(2, 16)]).is_err());
        // No size of the sweep covered, even for pairs: refused now.
        let plan_small = plan(&["--pairwise", "--profile", &given, "-b", "1M", "-e", "64M"]);
        let Err(CollbenchError::Usage(message)) = refuse_uncovered_profile(&plan_small, &[(2, 16)])
        else {
            panic!("a sweep below every size of the profile passed the check before round 1");
        };
        assert!(
            message.starts_with(
                "--profile two-nodes-only: no 2-node expectation for all_reduce at 67108864 B (a pair is 2 nodes)"
            ),
            "{message}"
        );
        // --min-busbw takes precedence, and auto needs round 1's devices: nothing to refuse yet.
        let with_floor = plan(&[
            "--bisect",
            "--profile",
            &given,
            "--min-busbw",
            "1",
            "-b",
            "1G",
            "-e",
            "1G",
        ]);
        refuse_uncovered_profile(&with_floor, &groups).unwrap();
        let auto = plan(&["--bisect", "--profile", "auto", "-b", "1M", "-e", "1M"]);
        refuse_uncovered_profile(&auto, &groups).unwrap();
    }

    /// An 8-GPU profile cannot judge a pair of hosts with one rank each, at any size: refused
    /// before round 1 (a given profile) and when the thresholds are set (the path of `auto`).
    #[test]
    fn a_group_of_another_number_of_ranks_per_host_is_refused() {
        let file = two_node_profile();
        let given = file.path().display().to_string();
        let plan = plan(&["--pairwise", "--profile", &given, "-b", "1G", "-e", "1G"]);
        let Err(CollbenchError::Usage(early)) = refuse_uncovered_profile(&plan, &[(2, 2)]) else {
            panic!("a pair of 2 ranks passed an 8-rank-per-node profile");
        };
        assert_eq!(
            early,
            "--profile two-nodes-only: it is for 8 ranks per node, 16 on 2 nodes (a pair is 2 \
             nodes); a group here has 2 ranks, so its busbw is not comparable; launch 8 ranks on \
             each node (srun --ntasks-per-node=8, mpirun --npernode 8), or judge by --min-busbw \
             GBPS without --profile"
        );
        let late = resolve_thresholds(&plan, &[], Search::Pairs, &[(2, 2)]);
        assert!(matches!(late, Err(CollbenchError::Usage(m)) if m == early));
        // 15 ranks on 2 hosts (one host short of a GPU) is no full pair either.
        assert!(refuse_uncovered_profile(&plan, &[(2, 15)]).is_err());
        refuse_uncovered_profile(&plan, &[(2, 16)]).unwrap();
    }
}
