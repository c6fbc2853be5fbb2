//! Which host every rank of a pairwise run is on: gathered to rank 0 and broadcast, so every rank
//! has the same table.

use super::messages::{decode, encode};
use crate::accept::pairing::Search;
use crate::error::Result;
use crate::measure::watchdog::{self, Phase};
use crate::world::World;
use serde::{Deserialize, Serialize};

/// Hosts in order of their first rank, and each rank's host.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct HostTable {
    pub(super) hosts: Vec<String>,
    pub(super) host_of_rank: Vec<usize>,
}

impl HostTable {
    /// Every group of hosts that a round of `search` may form, with its rank count (any two hosts
    /// may meet: failing hosts are re-paired with cleared ones).
    pub(super) fn possible_groups(&self, search: Search) -> Vec<(Vec<usize>, usize)> {
        let n = self.hosts.len();
        let groups = match search {
            Search::Pairs => (0..n)
                .flat_map(|a| (a + 1..n).map(move |b| vec![a, b]))
                .collect(),
            Search::Bisect => crate::accept::bisect::possible_groups(n),
        };
        groups
            .into_iter()
            .map(|group| {
                let ranks = self.ranks_in(&group);
                (group, ranks)
            })
            .collect()
    }

    fn ranks_on(&self, host: usize) -> usize {
        self.host_of_rank.iter().filter(|&&h| h == host).count()
    }

    /// The ranks of a group of hosts.
    pub(super) fn ranks_in(&self, group: &[usize]) -> usize {
        group.iter().map(|&h| self.ranks_on(h)).sum()
    }

    /// (hosts, ranks) of every group a round of `search` may form, each once, fewest hosts first:
    /// what a threshold per group depends on.
    pub(super) fn group_shapes(&self, search: Search) -> Vec<(usize, usize)> {
        let shapes: std::collections::BTreeSet<(usize, usize)> = self
            .possible_groups(search)
            .into_iter()
            .map(|(group, ranks)| (group.len(), ranks))
            .collect();
        shapes.into_iter().collect()
    }

    /// `pair a+b` or `group a+b+c`, for messages.
    pub(super) fn describe(&self, group: &[usize]) -> String {
        let names: Vec<&str> = group.iter().map(|&h| self.hosts[h].as_str()).collect();
        let kind = if group.len() == 2 { "pair" } else { "group" };
        format!("{kind} {}", names.join("+"))
    }
}

/// Hosts in order of their first rank (the same table on every rank). Collective over `world`.
pub(super) fn share_host_table(world: &dyn World) -> Result<HostTable> {
    let gathered = {
        let _armed = watchdog::waiting(Phase::Init);
        crate::world::gather_hostnames(world)?
    };
    let mut table_bytes = match gathered {
        Some(names) => {
            let mut hosts: Vec<String> = Vec::new();
            let mut host_of_rank = Vec::new();
            for name in names {
                let index = match hosts.iter().position(|h| *h == name) {
                    Some(i) => i,
                    None => {
                        hosts.push(name);
                        hosts.len() - 1
                    }
                };
                host_of_rank.push(index);
            }
            encode(&HostTable {
                hosts,
                host_of_rank,
            })?
        }
        None => Vec::new(),
    };
    {
        let _armed = watchdog::waiting(Phase::Init);
        world.broadcast_bytes(&mut table_bytes)?;
    }
    decode(&table_bytes)
}
