//! Which host every rank of a pairwise run is on: gathered to rank 0 and broadcast, so every rank
//! has the same table.

use super::messages::{decode, encode};
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

/// Hosts in order of their first rank (the same table on every rank). Collective over `world`.
pub(super) fn share_host_table(world: &dyn World) -> Result<HostTable> {
    let gathered = {
        let _armed = watchdog::waiting(Phase::Init);
        world.gather_bytes(world.hostname().as_bytes())?
    };
    let mut table_bytes = match gathered {
        Some(names) => {
            let mut hosts: Vec<String> = Vec::new();
            let mut host_of_rank = Vec::new();
            for name in names {
                let name = String::from_utf8_lossy(&name).into_owned();
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
