//! The bisect search of bad-node isolation (`collbench accept --bisect`).
//!
//! Round 1 runs the test in two halves of the hosts at once. Each later round splits every group
//! that failed in the round before into two halves of its suspects (hosts not cleared), and runs
//! them at once; suspects left in groups too small to split (two or three) are confirmed next to
//! cleared hosts, as `--pairwise` confirms them. A fault that shows only when many hosts run
//! together is seen by the larger groups, which pairs never form; a healthy cluster takes one
//! round of two runs. With k bad hosts among n, it takes about log2(n/2) + 1 rounds of at most 3k
//! groups each, where pairwise takes 2 rounds, the first of n/2 pairs: bisect runs fewer groups
//! when bad hosts are few (n ≥ 16k), pairwise fewer rounds.

use super::pairing::{HostState, Isolation};
use std::collections::BTreeSet;

/// Fewer suspects than this are confirmed one by one: halves would leave a host alone, and a
/// group of one host tests no link.
const SPLIT_FROM: usize = 4;

/// The groups of the next round, or `None` when isolation is finished.
pub(super) fn next_round(iso: &Isolation) -> Option<Vec<Vec<usize>>> {
    let Some(last) = iso.rounds.last() else {
        let everyone: Vec<usize> = (0..iso.hosts.len()).collect();
        return if everyone.len() < SPLIT_FROM {
            iso.neighbour_pairs()
        } else {
            Some(halves(&everyone))
        };
    };
    let mut split = Vec::new();
    for group in last.iter().filter(|g| !g.passed) {
        let suspects: Vec<usize> = group
            .hosts
            .iter()
            .copied()
            .filter(|&h| iso.states[h] == HostState::Unknown)
            .collect();
        if suspects.len() >= SPLIT_FROM {
            split.extend(halves(&suspects));
        }
    }
    let splitting: BTreeSet<usize> = split.iter().flatten().copied().collect();
    let to_confirm: Vec<usize> = iso
        .indices(HostState::Unknown)
        .into_iter()
        .filter(|h| !splitting.contains(h))
        .collect();
    iso.confirm(&to_confirm, &split)
}

/// `hosts` in two halves, the second one host larger when the count is odd.
fn halves(hosts: &[usize]) -> Vec<Vec<usize>> {
    let (first, second) = hosts.split_at(hosts.len() / 2);
    vec![first.to_vec(), second.to_vec()]
}

/// Every group the search may run for `n` hosts: the halves of halves down to the smallest split,
/// and every pair (a confirmation may pair any two hosts).
pub fn possible_groups(n: usize) -> Vec<Vec<usize>> {
    let mut groups = Vec::new();
    let mut to_split = vec![(0..n).collect::<Vec<usize>>()];
    while let Some(group) = to_split.pop() {
        if group.len() < SPLIT_FROM {
            continue;
        }
        for half in halves(&group) {
            if half.len() > 2 {
                groups.push(half.clone());
            }
            to_split.push(half);
        }
    }
    groups.extend((0..n).flat_map(|a| (a + 1..n).map(move |b| vec![a, b])));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accept::pairing::simulation::simulate;
    use crate::accept::pairing::Search;

    fn named(iso: &Isolation) -> Vec<String> {
        let mut hosts: Vec<String> = iso.convictions().into_iter().map(|c| c.host).collect();
        hosts.sort();
        hosts
    }

    #[test]
    fn one_bad_host_is_named_and_only_it_in_about_log2_rounds() {
        for n in 2..=33 {
            for bad in 0..n {
                let iso = simulate(Search::Bisect, n, &[bad]);
                if n == 2 {
                    assert!(named(&iso).is_empty());
                    assert_eq!(iso.unresolved().len(), 2);
                    continue;
                }
                assert_eq!(named(&iso), vec![format!("h{bad}")], "n={n} bad={bad}");
                assert!(iso.unresolved().is_empty(), "n={n} bad={bad}: {iso:#?}");
                // Halvings down to groups of 2 or 3, then one or two confirming rounds (a
                // suspect of three waits when only one host was cleared before it).
                let bound = (n as f64 / 2.0).log2().ceil() as usize + 2;
                assert!(
                    iso.rounds.len() <= bound.max(3),
                    "n={n} bad={bad}: {} rounds: {:#?}",
                    iso.rounds.len(),
                    iso.rounds
                );
            }
        }
    }

    #[test]
    fn two_bad_hosts_among_eight_are_both_named_wherever_they_sit() {
        for a in 0..8 {
            for b in a + 1..8 {
                let iso = simulate(Search::Bisect, 8, &[a, b]);
                assert_eq!(named(&iso), vec![format!("h{a}"), format!("h{b}")]);
                assert!(iso.unresolved().is_empty(), "bad {a},{b}: {iso:#?}");
                assert!(iso.rounds.len() <= 4, "bad {a},{b}: {:#?}", iso.rounds);
            }
        }
    }

    #[test]
    fn a_healthy_cluster_takes_one_round_of_two_halves() {
        for n in 4..=17 {
            let iso = simulate(Search::Bisect, n, &[]);
            assert!(iso.all_good(), "n={n}");
            assert_eq!(iso.rounds.len(), 1, "n={n}");
            assert_eq!(iso.rounds[0].len(), 2, "n={n}");
        }
        // Below four hosts there are no halves of two: pairs, as --pairwise.
        let iso = simulate(Search::Bisect, 3, &[]);
        assert!(iso.all_good());
        assert_eq!(iso.rounds.len(), 2);
    }

    #[test]
    fn when_every_group_fails_nobody_is_convicted_and_it_stops() {
        let iso = simulate(Search::Bisect, 8, &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert!(named(&iso).is_empty());
        assert_eq!(iso.unresolved().len(), 8);
        assert!(iso.rounds.len() <= iso.max_rounds());
    }

    #[test]
    fn every_group_a_round_forms_is_among_the_possible_ones() {
        for n in 2..=17 {
            let possible: BTreeSet<Vec<usize>> = possible_groups(n)
                .into_iter()
                .map(|mut g| {
                    g.sort();
                    g
                })
                .collect();
            for bad in [
                vec![],
                vec![0],
                vec![n - 1],
                vec![0, n / 2],
                vec![1, 2, n - 1],
            ] {
                let bad: Vec<usize> = bad.into_iter().filter(|&b| b < n).collect();
                let iso = simulate(Search::Bisect, n, &bad);
                for group in iso.rounds.iter().flatten() {
                    let mut hosts = group.hosts.clone();
                    hosts.sort();
                    assert!(possible.contains(&hosts), "n={n}: {hosts:?} not listed");
                }
            }
        }
    }

    /// The counts behind the docs' comparison (printed with --nocapture).
    #[test]
    fn bisect_runs_fewer_groups_than_pairwise_pairs_when_bad_hosts_are_few() {
        for n in [8, 16, 32, 64] {
            for bad in [vec![n / 2 - 1], vec![n / 2 - 1, n - 2]] {
                let pairs = simulate(Search::Pairs, n, &bad);
                let bisect = simulate(Search::Bisect, n, &bad);
                assert_eq!(named(&pairs), named(&bisect), "n={n} bad={bad:?}");
                let runs = |iso: &Isolation| iso.rounds.iter().map(Vec::len).sum::<usize>();
                println!(
                    "{n} hosts, {} bad: pairwise {} rounds, {} runs; bisect {} rounds, {} runs",
                    bad.len(),
                    pairs.rounds.len(),
                    runs(&pairs),
                    bisect.rounds.len(),
                    runs(&bisect)
                );
                // Pairwise always confirms in round 2; bisect needs a round per halving.
                assert_eq!(pairs.rounds.len(), 2);
                assert!(bisect.rounds.len() > pairs.rounds.len());
                // Bisect runs about 2 groups per bad host per round, pairwise n/2 pairs first.
                if n >= 16 * bad.len() {
                    assert!(runs(&bisect) < runs(&pairs), "n={n} bad={bad:?}");
                }
            }
        }
    }
}
