//! The watch on the gather that ends a round under `-T` (see [`RoundWatch`]).

use super::hosts::HostTable;
use crate::error::{CollbenchError, Result};
use std::time::{Duration, Instant};

/// Rank 0's deadlines for the reports that end a round under `-T`. Ranks of finished groups and idle
/// ranks may wait for the slowest group for as long as its sweep takes, so no deadline covers the
/// whole gather; but an idle rank has nothing to do but report (within `-T` of the round's start),
/// and the ranks of one group leave its run together (the rest within `-T` of its first report).
pub(super) struct RoundWatch<'t> {
    /// Round number, from 1.
    round: usize,
    timeout: Duration,
    /// When rank 0 had split the world for this round.
    began: Instant,
    /// Each rank's group (index into the round's groups), `None` when idle.
    group_of_rank: Vec<Option<usize>>,
    /// When rank 0 first saw a report of each group, and whose.
    first_report: Vec<Option<(Instant, usize)>>,
    table: &'t HostTable,
}

impl<'t> RoundWatch<'t> {
    pub(super) fn new(
        round: usize,
        timeout: Duration,
        began: Instant,
        groups: &[Vec<usize>],
        table: &'t HostTable,
    ) -> Self {
        RoundWatch {
            round,
            timeout,
            began,
            group_of_rank: table
                .host_of_rank
                .iter()
                .map(|host| groups.iter().position(|p| p.contains(host)))
                .collect(),
            first_report: vec![None; groups.len()],
            table,
        }
    }

    fn host(&self, rank: usize) -> &str {
        &self.table.hosts[self.table.host_of_rank[rank]]
    }

    /// The ranks that are overdue at `now` given who has `arrived`, each with why (empty: keep
    /// waiting). Records the first report of each group as it is seen.
    fn overdue(&mut self, arrived: &[bool], now: Instant) -> Vec<String> {
        for (rank, _) in arrived.iter().enumerate().filter(|(_, &a)| a) {
            if let Some(group) = self.group_of_rank[rank] {
                self.first_report[group].get_or_insert((now, rank));
            }
        }
        let seconds = |since: Instant| now.saturating_duration_since(since).as_secs_f64();
        let mut late = Vec::new();
        for (rank, _) in arrived.iter().enumerate().filter(|(_, &a)| !a) {
            match self.group_of_rank[rank] {
                None if now.saturating_duration_since(self.began) >= self.timeout => {
                    late.push(format!(
                        "rank {rank} (host {}): idle in round {}, silent {:.1} s since the round \
                         began",
                        self.host(rank),
                        self.round,
                        seconds(self.began)
                    ))
                }
                Some(group) => match self.first_report[group] {
                    Some((first, reporter))
                        if now.saturating_duration_since(first) >= self.timeout =>
                    {
                        late.push(format!(
                            "rank {rank} (host {}): its group finished {:.1} s ago (rank {reporter}, \
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
    pub(super) fn check(&mut self, arrived: &[bool], now: Instant) -> Result<()> {
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
        let mut watch = RoundWatch::new(
            3,
            Duration::from_secs(5),
            began,
            &[vec![0, 1], vec![2, 3]],
            &table,
        );
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
                "rank 1 (host a): its group finished 5.0 s ago (rank 0, host a, reported)",
                "rank 2 (host b): its group finished 5.0 s ago (rank 0, host a, reported)",
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
            "timeout: no report within -T 5 s from rank 4 (host d): its group finished 5.0 s ago \
             (rank 3, host c, reported)"
        );
        assert!(watch
            .check(&arrived(&[0, 1, 2, 3, 4, 5]), at(500.0))
            .is_ok());
    }
}
