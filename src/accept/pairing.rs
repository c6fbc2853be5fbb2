//! Bad-node isolation by pairs, as a pure state machine (the MPI side is in `super::run`).
//!
//! Round 1 pairs neighbouring hosts (a+b, c+d, …) and runs the test in every pair at once; with an
//! odd count the last host waits. Every later round pairs each host not yet cleared with a distinct
//! host that passed (pairs of a round run at once, so a cleared host serves one suspect per round).
//! A pass clears both hosts; a failure next to a cleared host convicts the other one. When no host
//! has passed yet, suspects are re-paired among themselves with partners they have not had, until
//! one pair passes or no new pairing is left (those hosts stay unresolved).

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

/// What one pair measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairResult {
    /// Host indices (into [`Isolation::hosts`]).
    pub hosts: [usize; 2],
    /// The pair's bus bandwidth at the checked size (lower of out-of-place and in-place).
    pub busbw_gbps: f64,
    /// Wrong elements the pair's validation found.
    pub wrong: u64,
    /// Filled in by [`Isolation::record`] from the threshold.
    pub passed: bool,
}

/// The isolation state over all rounds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Isolation {
    pub hosts: Vec<String>,
    pub states: Vec<HostState>,
    /// Every round's pairs with their results, in order.
    pub rounds: Vec<Vec<PairResult>>,
    /// busbw a pair must reach (GB/s).
    pub threshold_gbps: f64,
}

/// Why a host was convicted: a failing pair whose other host passed in another pair (the latest
/// such pair).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conviction {
    pub host: String,
    pub partner: String,
    pub busbw_gbps: f64,
    pub wrong: u64,
    pub threshold_gbps: f64,
    pub round: usize,
}

impl Isolation {
    /// `hosts` in rank order of their first rank; at least two.
    pub fn new(hosts: Vec<String>, threshold_gbps: f64) -> Isolation {
        let states = vec![HostState::Unknown; hosts.len()];
        Isolation {
            hosts,
            states,
            rounds: Vec::new(),
            threshold_gbps,
        }
    }

    /// Upper bound on rounds: each round after the first resolves at least one host, or stops.
    pub fn max_rounds(&self) -> usize {
        self.hosts.len() + 1
    }

    fn tried(&self) -> BTreeSet<(usize, usize)> {
        self.rounds
            .iter()
            .flatten()
            .map(|p| (p.hosts[0].min(p.hosts[1]), p.hosts[0].max(p.hosts[1])))
            .collect()
    }

    /// The pairs of the next round, or `None` when isolation is finished.
    pub fn next_round(&self) -> Option<Vec<[usize; 2]>> {
        if self.rounds.len() >= self.max_rounds() {
            return None;
        }
        if self.rounds.is_empty() {
            let pairs: Vec<[usize; 2]> = (0..self.hosts.len() / 2)
                .map(|i| [2 * i, 2 * i + 1])
                .collect();
            return (!pairs.is_empty()).then_some(pairs);
        }
        let unknown: Vec<usize> = self.indices(HostState::Unknown);
        if unknown.is_empty() {
            return None;
        }
        let good: Vec<usize> = self.indices(HostState::Good);
        let tried = self.tried();
        let is_new = |a: usize, b: usize| !tried.contains(&(a.min(b), a.max(b)));
        let mut pairs = Vec::new();
        if !good.is_empty() {
            // Each suspect with a cleared host it has not been paired with; prefer the cleared
            // hosts that were tested least (spreads the load, and a flaky "good" host shows up).
            let mut free: Vec<usize> = good.clone();
            for &u in &unknown {
                if let Some(pos) = free.iter().position(|&g| is_new(u, g)) {
                    pairs.push([u, free.remove(pos)]);
                }
            }
            if pairs.is_empty() {
                // Every suspect has met every cleared host already (tiny clusters): stop.
                return None;
            }
        } else {
            // No host has passed: re-pair suspects among themselves with new partners.
            let mut used = BTreeSet::new();
            for (i, &a) in unknown.iter().enumerate() {
                if used.contains(&a) {
                    continue;
                }
                if let Some(&b) = unknown[i + 1..]
                    .iter()
                    .find(|&&b| !used.contains(&b) && is_new(a, b))
                {
                    used.insert(a);
                    used.insert(b);
                    pairs.push([a, b]);
                }
            }
            if pairs.is_empty() {
                return None;
            }
        }
        Some(pairs)
    }

    fn indices(&self, state: HostState) -> Vec<usize> {
        (0..self.hosts.len())
            .filter(|&i| self.states[i] == state)
            .collect()
    }

    /// Records a round's results (pass = busbw ≥ threshold and no wrong element) and updates the
    /// host states.
    pub fn record(&mut self, mut results: Vec<PairResult>) {
        for r in &mut results {
            r.passed = r.wrong == 0 && r.busbw_gbps >= self.threshold_gbps;
        }
        for r in &results {
            let [a, b] = r.hosts;
            if r.passed {
                for h in [a, b] {
                    if self.states[h] == HostState::Unknown {
                        self.states[h] = HostState::Good;
                    }
                }
            }
        }
        self.rounds.push(results);
        // A failure next to a host that passed (in any round) convicts the other host.
        for r in self.rounds.iter().flatten().filter(|r| !r.passed) {
            let [a, b] = r.hosts;
            match (self.states[a], self.states[b]) {
                (HostState::Good, HostState::Unknown) => self.states[b] = HostState::Bad,
                (HostState::Unknown, HostState::Good) => self.states[a] = HostState::Bad,
                _ => {}
            }
        }
    }

    /// Hosts convicted, with the evidence.
    pub fn convictions(&self) -> Vec<Conviction> {
        let mut out = Vec::new();
        // The latest failing pair is the decisive one (the re-pairing with a cleared host).
        for (round, results) in self.rounds.iter().enumerate().rev() {
            for r in results.iter().filter(|r| !r.passed) {
                for (suspect, partner) in [(r.hosts[0], r.hosts[1]), (r.hosts[1], r.hosts[0])] {
                    if self.states[suspect] == HostState::Bad
                        && self.states[partner] == HostState::Good
                        && !out
                            .iter()
                            .any(|c: &Conviction| c.host == self.hosts[suspect])
                    {
                        out.push(Conviction {
                            host: self.hosts[suspect].clone(),
                            partner: self.hosts[partner].clone(),
                            busbw_gbps: r.busbw_gbps,
                            wrong: r.wrong,
                            threshold_gbps: self.threshold_gbps,
                            round: round + 1,
                        });
                    }
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("h{i}")).collect()
    }

    /// Runs isolation where pairs containing any of `bad` measure 1 GB/s, the others 10.
    fn simulate(n: usize, bad: &[usize]) -> Isolation {
        let mut iso = Isolation::new(hosts(n), 5.0);
        while let Some(pairs) = iso.next_round() {
            // Pairs of a round are disjoint.
            let mut seen = BTreeSet::new();
            for p in &pairs {
                assert!(seen.insert(p[0]) && seen.insert(p[1]), "{pairs:?}");
            }
            let results = pairs
                .iter()
                .map(|&h| PairResult {
                    hosts: h,
                    busbw_gbps: if h.iter().any(|x| bad.contains(x)) {
                        1.0
                    } else {
                        10.0
                    },
                    wrong: 0,
                    passed: false,
                })
                .collect();
            iso.record(results);
        }
        iso
    }

    #[test]
    fn one_bad_host_is_named_and_only_it_for_even_and_odd_counts() {
        for n in 2..=17 {
            for bad in 0..n {
                let iso = simulate(n, &[bad]);
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
            let iso = simulate(n, &[]);
            assert!(iso.all_good(), "n={n}");
            assert_eq!(iso.rounds.len(), if n % 2 == 1 { 2 } else { 1 });
        }
    }

    #[test]
    fn several_bad_hosts_even_in_the_same_pair() {
        let iso = simulate(8, &[2, 3, 6]);
        let mut convicted: Vec<String> = iso.convictions().into_iter().map(|c| c.host).collect();
        convicted.sort();
        assert_eq!(convicted, vec!["h2", "h3", "h6"]);
        // More suspects than cleared hosts: they queue over rounds.
        let iso = simulate(6, &[0, 1, 2, 3]);
        let mut convicted: Vec<String> = iso.convictions().into_iter().map(|c| c.host).collect();
        convicted.sort();
        assert_eq!(convicted, vec!["h0", "h1", "h2", "h3"]);
    }

    #[test]
    fn when_every_pair_fails_nobody_is_convicted() {
        let iso = simulate(6, &[0, 1, 2, 3, 4, 5]);
        assert!(iso.convictions().is_empty());
        assert_eq!(iso.unresolved().len(), 6);
        assert!(iso.rounds.len() <= iso.max_rounds());
    }

    #[test]
    fn wrong_results_fail_a_pair_and_the_drain_line_says_why() {
        let mut iso = Isolation::new(hosts(4), 5.0);
        iso.record(vec![
            PairResult {
                hosts: [0, 1],
                busbw_gbps: 9.0,
                wrong: 0,
                passed: false,
            },
            PairResult {
                hosts: [2, 3],
                busbw_gbps: 9.0,
                wrong: 12,
                passed: false,
            },
        ]);
        assert_eq!(iso.next_round().unwrap(), vec![[2, 0], [3, 1]]);
        iso.record(vec![
            PairResult {
                hosts: [2, 0],
                busbw_gbps: 9.0,
                wrong: 0,
                passed: false,
            },
            PairResult {
                hosts: [3, 1],
                busbw_gbps: 2.5,
                wrong: 0,
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
