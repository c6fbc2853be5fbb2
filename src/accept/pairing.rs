//! Bad-node isolation as a pure state machine (the MPI side is in `super::pairwise`): rounds of
//! groups of hosts that run the test at once, each host in at most one group per round.
//!
//! A passing group clears its hosts; a failing group in which every host but one was cleared
//! convicts that one. Which groups a round forms is the search's ([`Search`]):
//!
//! - **Pairs** (`accept --pairwise`): round 1 pairs neighbouring hosts (a+b, c+d, …); with an odd
//!   count the last host waits. Every later round confirms: each host not yet cleared is paired
//!   with a distinct host that passed (a cleared host serves one suspect per round). When no host
//!   has passed yet, suspects are re-paired among themselves with partners they have not had,
//!   until one pair passes or no new pairing is left (those hosts stay unresolved).
//! - **Bisect** (`accept --bisect`, see [`super::bisect`]): round 1 splits the hosts into two
//!   halves; each later round splits the failing groups' suspects in two again, down to groups of
//!   two or three, whose hosts are then confirmed next to cleared hosts as pairs are.

use crate::report::units::format_gbps;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// Not tested yet, or only in failing pairs with other uncleared hosts.
    Unknown,
    /// Was in a passing pair.
    Good,
    /// Failed next to a host that passed elsewhere.
    Bad,
}

/// How the rounds' groups are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Search {
    /// Every host in a pair at once, then suspects confirmed next to cleared hosts.
    Pairs,
    /// Halves, split again where they fail, then suspects confirmed as pairs are.
    Bisect,
}

impl Search {
    /// The `accept` flag that asks for it.
    pub fn flag(self) -> &'static str {
        match self {
            Search::Pairs => "--pairwise",
            Search::Bisect => "--bisect",
        }
    }

    /// Its name in labels, records and the report (`pairwise`, `bisect`).
    pub fn mode(self) -> &'static str {
        match self {
            Search::Pairs => "pairwise",
            Search::Bisect => "bisect",
        }
    }

    /// What one of its runs is called in text and JSON Lines records (`pair`, `group`).
    pub fn group_word(self) -> &'static str {
        match self {
            Search::Pairs => "pair",
            Search::Bisect => "group",
        }
    }
}

/// What one group measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupResult {
    /// Host indices (into [`Isolation::hosts`]), at least two.
    pub hosts: Vec<usize>,
    /// The group's bus bandwidth at the checked size (lower of out-of-place and in-place).
    pub busbw_gbps: f64,
    /// Wrong elements the group's validation found.
    pub wrong: u64,
    /// busbw this group must reach (GB/s): the same for every group, or (`--profile`) the
    /// expectation for its node count.
    #[serde(default)]
    pub threshold_gbps: f64,
    /// Filled in by [`Isolation::record`] from the threshold.
    pub passed: bool,
}

/// The isolation state over all rounds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Isolation {
    pub search: Search,
    pub hosts: Vec<String>,
    pub states: Vec<HostState>,
    /// Every round's groups with their results, in order; each group carries its threshold.
    pub rounds: Vec<Vec<GroupResult>>,
}

/// Why a host was convicted: a failing group whose other hosts passed elsewhere (the latest such
/// group).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conviction {
    pub host: String,
    /// The cleared hosts it failed with (`+` between them when there are several).
    pub partner: String,
    pub busbw_gbps: f64,
    pub wrong: u64,
    pub threshold_gbps: f64,
    pub round: usize,
}

impl Isolation {
    /// `hosts` in rank order of their first rank; at least two.
    pub fn new(search: Search, hosts: Vec<String>) -> Isolation {
        let states = vec![HostState::Unknown; hosts.len()];
        Isolation {
            search,
            hosts,
            states,
            rounds: Vec::new(),
        }
    }

    /// Upper bound on rounds: each confirming round resolves at least one host or stops, and a
    /// bisection halves its groups at most log2(hosts) times before that.
    pub fn max_rounds(&self) -> usize {
        let halvings = match self.search {
            Search::Pairs => 0,
            Search::Bisect => self.hosts.len().ilog2() as usize,
        };
        self.hosts.len() + 1 + halvings
    }

    /// Every pair of hosts that has run together in a group of two.
    fn tried(&self) -> BTreeSet<(usize, usize)> {
        self.rounds
            .iter()
            .flatten()
            .filter(|g| g.hosts.len() == 2)
            .map(|g| (g.hosts[0].min(g.hosts[1]), g.hosts[0].max(g.hosts[1])))
            .collect()
    }

    /// The groups of the next round, or `None` when isolation is finished.
    pub fn next_round(&self) -> Option<Vec<Vec<usize>>> {
        if self.rounds.len() >= self.max_rounds() {
            return None;
        }
        match self.search {
            Search::Pairs if self.rounds.is_empty() => self.neighbour_pairs(),
            Search::Pairs => self.confirm(&self.indices(HostState::Unknown), &[]),
            Search::Bisect => super::bisect::next_round(self),
        }
    }

    /// Round 1 of the pairs search: a+b, c+d, … (an odd last host waits).
    pub(super) fn neighbour_pairs(&self) -> Option<Vec<Vec<usize>>> {
        let pairs: Vec<Vec<usize>> = (0..self.hosts.len() / 2)
            .map(|i| vec![2 * i, 2 * i + 1])
            .collect();
        (!pairs.is_empty()).then_some(pairs)
    }

    /// Pairs that confirm `suspects`, `busy` hosts left out, beside the `split` groups already
    /// chosen for the round: each suspect with a cleared host it has not been paired with; with
    /// no cleared host yet, suspects among themselves with new partners. `None` when nothing is
    /// left to run.
    pub(super) fn confirm(
        &self,
        suspects: &[usize],
        split: &[Vec<usize>],
    ) -> Option<Vec<Vec<usize>>> {
        let good: Vec<usize> = self.indices(HostState::Good);
        let tried = self.tried();
        let is_new = |a: usize, b: usize| !tried.contains(&(a.min(b), a.max(b)));
        let mut groups = split.to_vec();
        if !good.is_empty() {
            // Prefer the cleared hosts that were tested least (spreads the load, and a flaky
            // "good" host shows up); every suspect that has met every cleared host stops.
            let mut free: Vec<usize> = good.clone();
            for &u in suspects {
                if let Some(pos) = free.iter().position(|&g| is_new(u, g)) {
                    groups.push(vec![u, free.remove(pos)]);
                }
            }
        } else {
            let mut used = BTreeSet::new();
            for (i, &a) in suspects.iter().enumerate() {
                if used.contains(&a) {
                    continue;
                }
                if let Some(&b) = suspects[i + 1..]
                    .iter()
                    .find(|&&b| !used.contains(&b) && is_new(a, b))
                {
                    used.insert(a);
                    used.insert(b);
                    groups.push(vec![a, b]);
                }
            }
        }
        (!groups.is_empty()).then_some(groups)
    }

    pub(super) fn indices(&self, state: HostState) -> Vec<usize> {
        (0..self.hosts.len())
            .filter(|&i| self.states[i] == state)
            .collect()
    }

    /// Records a round's results (pass = busbw ≥ the group's threshold and no wrong element) and
    /// updates the host states.
    pub fn record(&mut self, mut results: Vec<GroupResult>) {
        for r in &mut results {
            r.passed = r.wrong == 0 && r.busbw_gbps >= r.threshold_gbps;
        }
        for r in results.iter().filter(|r| r.passed) {
            for &h in &r.hosts {
                if self.states[h] == HostState::Unknown {
                    self.states[h] = HostState::Good;
                }
            }
        }
        self.rounds.push(results);
        // A failure in which every other host passed (in any round) convicts the last one.
        for r in self.rounds.iter().flatten().filter(|r| !r.passed) {
            if let Some(suspect) = self.lone_suspect(r) {
                self.states[suspect] = HostState::Bad;
            }
        }
    }

    /// The one host of a failing group that was not cleared, when every other one was.
    fn lone_suspect(&self, group: &GroupResult) -> Option<usize> {
        let mut not_good = group
            .hosts
            .iter()
            .copied()
            .filter(|&h| self.states[h] != HostState::Good);
        match (not_good.next(), not_good.next()) {
            (Some(suspect), None) => Some(suspect),
            _ => None,
        }
    }

    /// Hosts convicted, with the evidence.
    pub fn convictions(&self) -> Vec<Conviction> {
        let mut out: Vec<Conviction> = Vec::new();
        // The latest failing group is the decisive one (the re-pairing with a cleared host).
        for (round, results) in self.rounds.iter().enumerate().rev() {
            for r in results.iter().filter(|r| !r.passed) {
                let Some(suspect) = self.lone_suspect(r) else {
                    continue;
                };
                let host = &self.hosts[suspect];
                if self.states[suspect] != HostState::Bad || out.iter().any(|c| c.host == *host) {
                    continue;
                }
                let partners: Vec<&str> = r
                    .hosts
                    .iter()
                    .filter(|&&h| h != suspect)
                    .map(|&h| self.hosts[h].as_str())
                    .collect();
                out.push(Conviction {
                    host: host.clone(),
                    partner: partners.join("+"),
                    busbw_gbps: r.busbw_gbps,
                    wrong: r.wrong,
                    threshold_gbps: r.threshold_gbps,
                    round: round + 1,
                });
            }
        }
        out
    }

    /// Hosts that ended neither cleared nor convicted.
    pub fn unresolved(&self) -> Vec<String> {
        self.indices(HostState::Unknown)
            .into_iter()
            .map(|i| self.hosts[i].clone())
            .collect()
    }

    /// True when every host was cleared.
    pub fn all_good(&self) -> bool {
        self.states.iter().all(|s| *s == HostState::Good)
    }
}

/// The exact Slurm command that drains a convicted host (printed always, run with `--drain`).
pub fn drain_command(c: &Conviction) -> Vec<String> {
    let reason = if c.wrong > 0 {
        format!(
            "collbench: {} wrong elements paired with {}",
            c.wrong, c.partner
        )
    } else {
        format!(
            "collbench: busbw {} < {} GB/s",
            format_gbps(c.busbw_gbps),
            format_gbps(c.threshold_gbps)
        )
    };
    vec![
        "scontrol".into(),
        "update".into(),
        format!("nodename={}", c.host),
        "state=drain".into(),
        format!("reason={reason}"),
    ]
}

/// [`drain_command`] as a shell line (the reason quoted).
pub fn drain_line(c: &Conviction) -> String {
    let cmd = drain_command(c);
    let reason = cmd[4].trim_start_matches("reason=");
    format!(
        "{} {} {} {} reason=\"{}\"",
        cmd[0], cmd[1], cmd[2], cmd[3], reason
    )
}

/// Isolation replayed on made-up measurements, for the searches' tests.
#[cfg(test)]
pub(crate) mod simulation {
    use super::*;

    pub(crate) fn hosts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("h{i}")).collect()
    }

    /// Runs isolation where groups containing any of `bad` measure 1 GB/s, the others 10.
    pub(crate) fn simulate(search: Search, n: usize, bad: &[usize]) -> Isolation {
        let mut iso = Isolation::new(search, hosts(n));
        while let Some(groups) = iso.next_round() {
            // Groups of a round are disjoint and hold at least two hosts.
            let mut seen = BTreeSet::new();
            for p in &groups {
                assert!(
                    p.len() >= 2 && p.iter().all(|&h| seen.insert(h)),
                    "{groups:?}"
                );
            }
            if search == Search::Pairs {
                assert!(groups.iter().all(|p| p.len() == 2), "{groups:?}");
            }
            let results = groups
                .into_iter()
                .map(|h| GroupResult {
                    busbw_gbps: if h.iter().any(|x| bad.contains(x)) {
                        1.0
                    } else {
                        10.0
                    },
                    hosts: h,
                    wrong: 0,
                    threshold_gbps: 5.0,
                    passed: false,
                })
                .collect();
            iso.record(results);
        }
        iso
    }
}

#[cfg(test)]
mod tests {
    use super::simulation::{hosts, simulate};
    use super::*;

    fn simulate_pairs(n: usize, bad: &[usize]) -> Isolation {
        simulate(Search::Pairs, n, bad)
    }

    #[test]
    fn one_bad_host_is_named_and_only_it_for_even_and_odd_counts() {
        for n in 2..=17 {
            for bad in 0..n {
                let iso = simulate_pairs(n, &[bad]);
                let convicted: Vec<String> =
                    iso.convictions().into_iter().map(|c| c.host).collect();
                if n == 2 {
                    // Two hosts, one failing pair: nobody to compare with.
                    assert!(convicted.is_empty());
                    assert_eq!(iso.unresolved().len(), 2);
                } else {
                    assert_eq!(
                        convicted,
                        vec![format!("h{bad}")],
                        "n={n} bad={bad}: {iso:#?}"
                    );
                    assert!(iso.unresolved().is_empty(), "n={n} bad={bad}");
                }
                assert!(
                    iso.rounds.len() <= 3,
                    "n={n} bad={bad}: {} rounds",
                    iso.rounds.len()
                );
            }
        }
    }

    #[test]
    fn healthy_clusters_clear_every_host_including_the_odd_one() {
        for n in 2..=9 {
            let iso = simulate_pairs(n, &[]);
            assert!(iso.all_good(), "n={n}");
            assert_eq!(iso.rounds.len(), if n % 2 == 1 { 2 } else { 1 });
        }
    }

    #[test]
    fn several_bad_hosts_even_in_the_same_pair() {
        let iso = simulate_pairs(8, &[2, 3, 6]);
        let mut convicted: Vec<String> = iso.convictions().into_iter().map(|c| c.host).collect();
        convicted.sort();
        assert_eq!(convicted, vec!["h2", "h3", "h6"]);
        // More suspects than cleared hosts: they queue over rounds.
        let iso = simulate_pairs(6, &[0, 1, 2, 3]);
        let mut convicted: Vec<String> = iso.convictions().into_iter().map(|c| c.host).collect();
        convicted.sort();
        assert_eq!(convicted, vec!["h0", "h1", "h2", "h3"]);
    }

    #[test]
    fn when_every_pair_fails_nobody_is_convicted() {
        let iso = simulate_pairs(6, &[0, 1, 2, 3, 4, 5]);
        assert!(iso.convictions().is_empty());
        assert_eq!(iso.unresolved().len(), 6);
        assert!(iso.rounds.len() <= iso.max_rounds());
    }

    #[test]
    fn each_group_is_judged_by_its_own_threshold_and_a_conviction_quotes_it() {
        // A profile expects less of four nodes than of two: halves at 35 GB/s pass their 31.5.
        let mut iso = Isolation::new(Search::Bisect, hosts(8));
        let halves = iso.next_round().unwrap();
        assert_eq!(halves.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4]);
        let measured = |hosts: Vec<usize>, busbw_gbps: f64, threshold_gbps: f64| GroupResult {
            hosts,
            busbw_gbps,
            wrong: 0,
            threshold_gbps,
            passed: false,
        };
        iso.record(vec![
            measured(halves[0].clone(), 35.0, 31.5),
            measured(halves[1].clone(), 30.0, 31.5),
        ]);
        assert_eq!(
            iso.rounds[0].iter().map(|g| g.passed).collect::<Vec<_>>(),
            [true, false]
        );
        while let Some(groups) = iso.next_round() {
            let results = groups
                .into_iter()
                .map(|g| {
                    let threshold = if g.len() == 2 { 40.0 } else { 35.0 };
                    let busbw = if g.contains(&7) { 39.0 } else { 45.0 };
                    measured(g, busbw, threshold)
                })
                .collect();
            iso.record(results);
        }
        let convictions = iso.convictions();
        assert_eq!(convictions.len(), 1, "{:?}", iso.rounds);
        assert_eq!(convictions[0].host, "h7");
        assert_eq!(convictions[0].threshold_gbps, 40.0);
    }

    #[test]
    fn wrong_results_fail_a_pair_and_the_drain_line_says_why() {
        let mut iso = Isolation::new(Search::Pairs, hosts(4));
        iso.record(vec![
            GroupResult {
                hosts: vec![0, 1],
                busbw_gbps: 9.0,
                wrong: 0,
                threshold_gbps: 5.0,
                passed: false,
            },
            GroupResult {
                hosts: vec![2, 3],
                busbw_gbps: 9.0,
                wrong: 12,
                threshold_gbps: 5.0,
                passed: false,
            },
        ]);
        assert_eq!(iso.next_round().unwrap(), vec![vec![2, 0], vec![3, 1]]);
        iso.record(vec![
            GroupResult {
                hosts: vec![2, 0],
                busbw_gbps: 9.0,
                wrong: 0,
                threshold_gbps: 5.0,
                passed: false,
            },
            GroupResult {
                hosts: vec![3, 1],
                busbw_gbps: 2.5,
                wrong: 0,
                threshold_gbps: 5.0,
                passed: false,
            },
        ]);
        let c = iso.convictions();
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].round, c[0].partner.as_str()), (2, "h1"));
        assert_eq!(
            drain_line(&c[0]),
            "scontrol update nodename=h3 state=drain reason=\"collbench: busbw 2.50 < 5.00 GB/s\""
        );
        assert_eq!(
            drain_command(&c[0])[4],
            "reason=collbench: busbw 2.50 < 5.00 GB/s"
        );
    }
}
