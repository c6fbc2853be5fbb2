//! Which peer is lost, asked when the `-T` watchdog fires. A rank stuck in a collective cannot
//! tell from MPI which peer stopped answering (every rank waits on its neighbours), so each rank
//! of a watched run listens on a TCP port of its own from the start, and the ranks exchange
//! `host, port, IPv4 addresses` once. A rank whose watchdog fires connects to every other rank for
//! a short while: a peer that accepts is alive (maybe waiting too), one whose host refuses has no
//! process any more, and one that says nothing within the time is cut off (its host or its link is
//! down). The connection carries no data; the kernel completes it even before the listener
//! thread accepts it.

use super::World;
use crate::error::{CollbenchError, Result};
use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// Peers probed at once: each probe is a thread blocked in `connect`, so a large job is asked in
/// chunks of this many.
const PROBES_AT_ONCE: usize = 256;

/// What a rank published: its host, the port it listens on and its IPv4 addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerAddress {
    pub host: String,
    pub port: u16,
    pub addresses: Vec<Ipv4Addr>,
}

impl PeerAddress {
    fn encode(&self) -> Vec<u8> {
        let addresses: Vec<String> = self.addresses.iter().map(|a| a.to_string()).collect();
        format!("{}\t{}\t{}", self.host, self.port, addresses.join(",")).into_bytes()
    }

    fn decode(bytes: &[u8]) -> Option<PeerAddress> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut fields = text.split('\t');
        let host = fields.next()?.to_string();
        let port = fields.next()?.parse().ok()?;
        let addresses = fields
            .next()?
            .split(',')
            .filter(|a| !a.is_empty())
            .map(|a| a.parse().ok())
            .collect::<Option<Vec<Ipv4Addr>>>()?;
        Some(PeerAddress {
            host,
            port,
            addresses,
        })
    }
}

/// What a probe of one peer found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A connection was accepted: the rank's process is there.
    Alive,
    /// Its host answered but nothing listens: the rank's process is gone.
    Gone,
    /// Nothing answered within the time: its host or its link is down (or this host's).
    Silent,
}

/// Every rank's published address, and this rank's place among them.
#[derive(Clone, Debug)]
pub struct PeerProbe {
    rank: usize,
    peers: Vec<PeerAddress>,
}

/// Listens on an ephemeral port of every interface, accepting and dropping connections for the
/// rest of the process (a detached thread, blocked in `accept`), and returns this rank's address.
fn listen(host: &str) -> Result<PeerAddress> {
    let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0))
        .map_err(|e| CollbenchError::io("the -T liveness listener (TCP, any port)", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| CollbenchError::io("the -T liveness listener's port", e))?
        .port();
    std::thread::Builder::new()
        .name("collbench-liveness".into())
        .spawn(move || {
            for connection in listener.incoming() {
                drop(connection);
            }
        })
        .map_err(|e| CollbenchError::io("the -T liveness listener's thread", e))?;
    Ok(PeerAddress {
        host: host.to_string(),
        port,
        addresses: own_ipv4_addresses(),
    })
}

/// This host's IPv4 addresses, loopback last (used only by peers on the same host).
fn own_ipv4_addresses() -> Vec<Ipv4Addr> {
    let mut addresses: Vec<Ipv4Addr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|interface| match interface.ip() {
            IpAddr::V4(v4) if !v4.is_loopback() => Some(v4),
            _ => None,
        })
        .collect();
    addresses.sort();
    addresses.dedup();
    addresses.push(Ipv4Addr::LOCALHOST);
    addresses
}

impl PeerProbe {
    /// Starts this rank's listener and exchanges every rank's address (a collective: every rank
    /// of `world` calls it).
    pub fn exchange(world: &dyn World) -> Result<PeerProbe> {
        let own = listen(world.hostname())?;
        let mut table = match world.gather_bytes(&own.encode())? {
            Some(all) => all.join(&b'\n'),
            None => Vec::new(),
        };
        world.broadcast_bytes(&mut table)?;
        let peers = table
            .split(|b| *b == b'\n')
            .map(PeerAddress::decode)
            .collect::<Option<Vec<_>>>()
            .filter(|peers| peers.len() == world.size())
            .ok_or_else(|| {
                CollbenchError::Mpi(format!(
                    "the -T liveness addresses of {} ranks did not come back whole ({} bytes); \
                     accepted: one 'host, port, addresses' entry per rank",
                    world.size(),
                    table.len()
                ))
            })?;
        Ok(PeerProbe {
            rank: world.rank(),
            peers,
        })
    }

    /// A probe over addresses given directly.
    #[cfg(test)]
    fn from_addresses(rank: usize, peers: Vec<PeerAddress>) -> PeerProbe {
        PeerProbe { rank, peers }
    }

    /// Asks every other rank, each for at most `within`; chunks of [`PROBES_AT_ONCE`] run at once.
    pub fn probe(&self, within: Duration) -> Vec<(usize, Answer)> {
        let own_host = &self.peers[self.rank].host;
        let others: Vec<(usize, &PeerAddress)> = self
            .peers
            .iter()
            .enumerate()
            .filter(|(rank, _)| *rank != self.rank)
            .collect();
        let mut answers = Vec::with_capacity(others.len());
        for chunk in others.chunks(PROBES_AT_ONCE) {
            std::thread::scope(|scope| {
                let probes: Vec<_> = chunk
                    .iter()
                    .map(|(rank, peer)| {
                        let same_host = peer.host == *own_host;
                        (*rank, scope.spawn(move || ask(peer, same_host, within)))
                    })
                    .collect();
                for (rank, probe) in probes {
                    answers.push((rank, probe.join().unwrap_or(Answer::Silent)));
                }
            });
        }
        answers
    }

    /// The probe's finding in one line (without the `collbench: ` prefix).
    pub fn diagnosis(&self, within: Duration) -> String {
        describe(
            &self.peers,
            self.rank,
            &self.probe(within),
            within.as_secs_f64(),
        )
    }
}

/// Connects to each of `peer`'s addresses (loopback only from the same host) until one accepts.
fn ask(peer: &PeerAddress, same_host: bool, within: Duration) -> Answer {
    let deadline = Instant::now() + within;
    let mut refused = false;
    for address in peer
        .addresses
        .iter()
        .filter(|a| same_host || !a.is_loopback())
    {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&SocketAddr::from((*address, peer.port)), left) {
            Ok(_) => return Answer::Alive,
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => refused = true,
            Err(_) => {}
        }
    }
    match refused {
        true => Answer::Gone,
        false => Answer::Silent,
    }
}

/// `rank 3 (host node-4)`, or `ranks 3, 7 (host node-4)` for several ranks on one host.
fn by_host(peers: &[PeerAddress], ranks: &[usize]) -> String {
    let mut hosts: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &rank in ranks {
        hosts.entry(&peers[rank].host).or_default().push(rank);
    }
    let parts: Vec<String> = hosts
        .into_iter()
        .map(|(host, ranks)| {
            let list: Vec<String> = ranks.iter().map(|r| r.to_string()).collect();
            let noun = if ranks.len() == 1 { "rank" } else { "ranks" };
            format!("host {host} ({noun} {})", list.join(", "))
        })
        .collect();
    parts.join(", ")
}

/// The finding in words: who said nothing, whose process is gone, or that every peer answered.
fn describe(
    peers: &[PeerAddress],
    rank: usize,
    answers: &[(usize, Answer)],
    within_s: f64,
) -> String {
    let with = |wanted: Answer| -> Vec<usize> {
        answers
            .iter()
            .filter(|(_, a)| *a == wanted)
            .map(|(r, _)| *r)
            .collect()
    };
    let (silent, gone) = (with(Answer::Silent), with(Answer::Gone));
    let me = format!("rank {rank} (host {})", peers[rank].host);
    if answers.is_empty() {
        return format!("{me} has no peer to ask");
    }
    if silent.len() == answers.len() {
        return format!(
            "{me} asked every other rank over TCP and none answered within {within_s} s: this \
             host or its link looks cut off"
        );
    }
    let mut findings = Vec::new();
    if !silent.is_empty() {
        findings.push(format!(
            "no answer within {within_s} s from {}: lost (its host or its link is down)",
            by_host(peers, &silent)
        ));
    }
    if !gone.is_empty() {
        findings.push(format!(
            "{} refused: no collbench process there any more",
            by_host(peers, &gone)
        ));
    }
    if findings.is_empty() {
        return format!(
            "{me} asked every other rank over TCP: all {} answered within {within_s} s, none is \
             lost (they may be waiting too)",
            answers.len()
        );
    }
    format!(
        "{me} asked every other rank over TCP: {}",
        findings.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(host: &str, port: u16, addresses: &[Ipv4Addr]) -> PeerAddress {
        PeerAddress {
            host: host.into(),
            port,
            addresses: addresses.to_vec(),
        }
    }

    #[test]
    fn addresses_survive_the_exchange_encoding() {
        let p = peer(
            "node-1",
            40123,
            &[Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::LOCALHOST],
        );
        assert_eq!(PeerAddress::decode(&p.encode()), Some(p));
        let none = peer("node-2", 1, &[]);
        assert_eq!(PeerAddress::decode(&none.encode()), Some(none));
        assert_eq!(PeerAddress::decode(b"node\tport\t"), None);
        assert_eq!(PeerAddress::decode(b"node\t1\t10.0.0.300"), None);
    }

    /// A listener that never accepts, its queue filled until a connection gets no answer.
    fn listener_with_a_full_queue() -> (TcpListener, u16, Vec<TcpStream>) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let address = listener.local_addr().unwrap();
        let mut held = Vec::new();
        while let Ok(stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) {
            held.push(stream);
            assert!(held.len() < 10_000, "the accept queue never filled");
        }
        (listener, address.port(), held)
    }

    #[test]
    fn a_live_listener_a_closed_port_and_a_silent_one_are_told_apart() {
        let alive = listen("here").unwrap();
        // A port that was just free: bound, read, closed.
        let closed_port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // A listener whose accept queue is full drops new connections' SYNs: no answer at all,
        // as from a host whose link is down (and no packet leaves loopback).
        let (_full, full_port, _held) = listener_with_a_full_queue();
        let silent = peer("here", full_port, &[Ipv4Addr::LOCALHOST]);
        let peers = vec![
            peer("here", alive.port, &alive.addresses),
            peer("here", closed_port, &[Ipv4Addr::LOCALHOST]),
            silent,
            peer("here", alive.port, &alive.addresses),
        ];
        let probe = PeerProbe::from_addresses(3, peers.clone());
        let started = Instant::now();
        let answers = probe.probe(Duration::from_millis(300));
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(
            answers,
            vec![(0, Answer::Alive), (1, Answer::Gone), (2, Answer::Silent)]
        );
        assert_eq!(
            describe(&peers, 3, &answers, 0.3),
            "rank 3 (host here) asked every other rank over TCP: no answer within 0.3 s from \
             host here (rank 2): lost (its host or its link is down); host here (rank 1) refused: \
             no collbench process there any more"
        );
    }

    #[test]
    fn the_words_say_who_is_lost_or_that_nobody_is() {
        let peers: Vec<PeerAddress> = ["a", "b", "b", "c"]
            .iter()
            .map(|h| peer(h, 1, &[]))
            .collect();
        let all_alive = [(1, Answer::Alive), (2, Answer::Alive), (3, Answer::Alive)];
        assert_eq!(
            describe(&peers, 0, &all_alive, 2.0),
            "rank 0 (host a) asked every other rank over TCP: all 3 answered within 2 s, none is \
             lost (they may be waiting too)"
        );
        let host_b_lost = [(1, Answer::Silent), (2, Answer::Silent), (3, Answer::Alive)];
        assert_eq!(
            describe(&peers, 0, &host_b_lost, 2.0),
            "rank 0 (host a) asked every other rank over TCP: no answer within 2 s from host b \
             (ranks 1, 2): lost (its host or its link is down)"
        );
        let cut_off = [
            (0, Answer::Silent),
            (1, Answer::Silent),
            (2, Answer::Silent),
        ];
        assert_eq!(
            describe(&peers, 3, &cut_off, 2.0),
            "rank 3 (host c) asked every other rank over TCP and none answered within 2 s: this \
             host or its link looks cut off"
        );
    }
}
