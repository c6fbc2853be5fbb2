//! How rank 0's words reach the other ranks of a pairwise run: each round's plan and the final
//! status. Without `-T` a broadcast; with `-T` a watched one ([`World::broadcast_bytes_watched`])
//! kept alive by rank 0's [`Beacon`], so that a rank 0 stuck between rounds is given up on within
//! `-T` by every other rank (exit 4 naming it) instead of holding them for ever.

use super::beacon::{Beacon, Vouch};
use crate::error::{CollbenchError, Result};
use crate::measure::watchdog::{self, Phase};
use crate::world::{Reduction, World};
use std::time::Duration;

pub(super) struct Words<'w> {
    world: &'w dyn World,
    /// `-T` and rank 0's host, when the words are watched.
    watched: Option<(Duration, String)>,
    /// Rank 0's keepalives (rank 0 of a watched run only).
    beacon: Option<Beacon>,
}

impl<'w> Words<'w> {
    /// Collective over `world` (every rank must agree on how the words travel): watched when
    /// `timeout` is set and rank 0 can send keepalives from a thread.
    pub(super) fn new(
        world: &'w dyn World,
        timeout: Option<Duration>,
        rank0_host: &str,
    ) -> Result<Words<'w>> {
        let Some(timeout) = timeout else {
            return Ok(Words {
                world,
                watched: None,
                beacon: None,
            });
        };
        let sender = world.keepalive_sender();
        let rank0_can_send = {
            let _armed = watchdog::waiting(Phase::Init);
            world.allreduce_f64(&[f64::from(u8::from(sender.is_some()))], Reduction::Max)?
        };
        if rank0_can_send.first() != Some(&1.0) {
            return Ok(Words {
                world,
                watched: None,
                beacon: None,
            });
        }
        Ok(Words {
            world,
            watched: Some((timeout, rank0_host.to_string())),
            beacon: sender.map(|send| Beacon::start(send, timeout)),
        })
    }

    /// Rank 0's `bytes` to every rank; `what` names the word in a non-zero rank's timeout.
    /// `last`: rank 0 says nothing after this one (its keepalives stop first).
    pub(super) fn pass(&mut self, bytes: &mut Vec<u8>, what: &str, last: bool) -> Result<()> {
        let Some((timeout, rank0_host)) = &self.watched else {
            return self.world.broadcast_bytes(bytes);
        };
        if last {
            if let Some(beacon) = self.beacon.as_mut() {
                beacon.stop();
            }
        }
        self.world.broadcast_bytes_watched(bytes, &mut |silent| {
            if silent < *timeout {
                return Ok(());
            }
            Err(CollbenchError::Timeout(format!(
                "accept --pairwise: rank 0 (host {rank0_host}) sent nothing for {:.1} s (-T {} s) \
                 while rank {} waited for {what}; rank 0 is stuck or gone",
                silent.as_secs_f64(),
                timeout.as_secs_f64(),
                self.world.rank()
            )))
        })
    }

    /// Rank 0's main thread is alive (from every poll of a wait of its own).
    pub(super) fn pulse(&self) {
        if let Some(beacon) = &self.beacon {
            beacon.pulse();
        }
    }

    /// Rank 0 vouches for itself during bounded work of its own (outputs, `--drain`).
    pub(super) fn vouch(&self) -> Option<Vouch<'_>> {
        self.beacon.as_ref().map(Beacon::vouch)
    }
}
