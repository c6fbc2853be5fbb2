//! Which network NCCL selected, per process, and what `--require-net` makes of it. The selection
//! itself is read from NCCL's log (`crate::backend::nccl::net_capture`, parsed by
//! `crate::backend::nccl::net_log`); this is the part every rank's result is gathered into.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Family of the selected network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetKind {
    /// NCCL's built-in TCP sockets transport.
    Socket,
    /// NCCL's built-in verbs transport (InfiniBand or RoCE).
    Ib,
    /// The aws-ofi-nccl plugin over libfabric (EFA on AWS).
    Libfabric,
    /// Any other plugin, by the name NCCL printed.
    Other(String),
}

impl NetKind {
    /// The family of a network named as NCCL prints it.
    pub fn of(name: &str) -> Self {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "socket" => NetKind::Socket,
            // NVIDIA's nccl-rdma-sharp plugin (HPC-X, NGC containers) is verbs too and names
            // itself "IBext", or "IBext_v8", "IBext_v11" … after its plugin API version.
            "ib" => NetKind::Ib,
            _ if lower == "ibext" || lower.starts_with("ibext_") => NetKind::Ib,
            // Google Cloud's gIB plugin (A3 Ultra, A4): verbs over RoCE NICs.
            "gib" => NetKind::Ib,
            _ if lower.contains("libfabric") || lower == "ofi" => NetKind::Libfabric,
            _ => NetKind::Other(name.to_string()),
        }
    }
}

/// What one process's NCCL INFO log says about its network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetSelection {
    /// The network name as NCCL printed it ("Socket", "IB", "AWS Libfabric", "Libfabric" …): the
    /// first "Using network" line, else the first "via NET/<name>" channel.
    pub network: String,
    pub kind: NetKind,
    /// libfabric provider the OFI plugin selected ("efa", "tcp" …), when it said.
    pub ofi_provider: Option<String>,
    /// NICs the OFI plugin found for that provider.
    pub ofi_nic_count: Option<u32>,
    /// Every distinct network named by "Using network" lines, in order (more than one when
    /// communicators disagreed).
    pub networks_seen: Vec<String>,
    /// Every distinct network named by "via NET/<name>/…" channel lines, in order.
    pub channel_networks: Vec<String>,
}

impl NetSelection {
    /// Whether this selection satisfies `--require-net NAME`. Accepted names (case-insensitive):
    /// `socket`/`tcp`, `ib`/`infiniband`/`roce`, `ofi`/`libfabric`, `efa` (libfabric with the efa
    /// provider), or any network name exactly as NCCL prints it.
    pub fn satisfies(&self, required: &str) -> bool {
        let required = required.trim().to_ascii_lowercase();
        let every_channel_is = |kind: &NetKind| {
            self.channel_networks
                .iter()
                .all(|name| &NetKind::of(name) == kind)
        };
        match required.as_str() {
            "socket" | "sockets" | "tcp" => self.kind == NetKind::Socket,
            "ib" | "infiniband" | "roce" => {
                self.kind == NetKind::Ib && every_channel_is(&NetKind::Ib)
            }
            "ofi" | "libfabric" | "aws libfabric" | "aws-ofi-nccl" => {
                self.kind == NetKind::Libfabric && every_channel_is(&NetKind::Libfabric)
            }
            "efa" => {
                self.kind == NetKind::Libfabric
                    && every_channel_is(&NetKind::Libfabric)
                    && self.ofi_provider.as_deref() == Some("efa")
            }
            other => self.network.eq_ignore_ascii_case(other),
        }
    }

    /// One line for report headers, e.g. `AWS Libfabric (provider efa, 32 NICs)`.
    pub fn describe(&self) -> String {
        match (&self.ofi_provider, self.ofi_nic_count) {
            (Some(provider), Some(nics)) => {
                format!("{} (provider {provider}, {nics} NICs)", self.network)
            }
            (Some(provider), None) => format!("{} (provider {provider})", self.network),
            _ => self.network.clone(),
        }
    }
}

/// What one process's NCCL log says about the network of its communicators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessNetwork {
    pub host: String,
    pub pid: u32,
    /// This process's ranks (as in `Report::ranks`).
    pub ranks: Vec<usize>,
    /// The network NCCL named; `None` when it could not be known (see `unknown_reason`).
    pub selection: Option<NetSelection>,
    /// Why `selection` is `None`, e.g. the user set NCCL_DEBUG=WARN.
    pub unknown_reason: Option<String>,
}

impl ProcessNetwork {
    /// `Socket`, `Libfabric (provider efa, 32 NICs)`, or `unknown (why)`.
    pub fn describe(&self) -> String {
        match (&self.selection, &self.unknown_reason) {
            (Some(selection), _) => selection.describe(),
            (None, Some(reason)) => format!("unknown ({reason})"),
            (None, None) => "unknown".to_string(),
        }
    }

    /// Whether this process satisfies `--require-net required` (an unknown network never does).
    pub fn satisfies(&self, required: &str) -> bool {
        self.selection
            .as_ref()
            .is_some_and(|selection| selection.satisfies(required))
    }
}

/// `0-7,9,12-15`: ranks in ascending order, runs collapsed.
pub fn rank_ranges(ranks: impl IntoIterator<Item = usize>) -> String {
    let sorted: BTreeSet<usize> = ranks.into_iter().collect();
    let mut parts: Vec<String> = Vec::new();
    let mut run: Option<(usize, usize)> = None;
    for rank in sorted {
        run = match run {
            Some((first, last)) if rank == last + 1 => Some((first, rank)),
            Some(done) => {
                parts.push(range_text(done));
                Some((rank, rank))
            }
            None => Some((rank, rank)),
        };
    }
    if let Some(done) = run {
        parts.push(range_text(done));
    }
    parts.join(",")
}

fn range_text((first, last): (usize, usize)) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}-{last}")
    }
}

/// Hosts named in messages: at most this many, then "and N more".
const HOSTS_NAMED: usize = 8;

/// `rank 3 (host a)`, `ranks 0-7 (hosts a, b)`.
fn ranks_and_hosts(entries: &[&ProcessNetwork]) -> String {
    let ranks: Vec<usize> = entries.iter().flat_map(|e| e.ranks.clone()).collect();
    let hosts: BTreeSet<&str> = entries.iter().map(|e| e.host.as_str()).collect();
    let named: Vec<&str> = hosts.iter().copied().take(HOSTS_NAMED).collect();
    let mut host_text = named.join(", ");
    if hosts.len() > named.len() {
        host_text.push_str(&format!(" and {} more", hosts.len() - named.len()));
    }
    format!(
        "{} {} ({} {host_text})",
        if ranks.len() == 1 { "rank" } else { "ranks" },
        rank_ranges(ranks),
        if hosts.len() == 1 { "host" } else { "hosts" },
    )
}

/// The entries grouped by what they selected, in order of their lowest rank.
fn by_description<'a>(entries: &[&'a ProcessNetwork]) -> Vec<(String, Vec<&'a ProcessNetwork>)> {
    let mut groups: Vec<(String, Vec<&ProcessNetwork>)> = Vec::new();
    let mut sorted: Vec<&ProcessNetwork> = entries.to_vec();
    sorted.sort_by_key(|e| e.ranks.iter().min().copied().unwrap_or(usize::MAX));
    for entry in sorted {
        let description = entry.describe();
        match groups.iter_mut().find(|(d, _)| *d == description) {
            Some((_, members)) => members.push(entry),
            None => groups.push((description, vec![entry])),
        }
    }
    groups
}

/// `BackendInfo::network`: the one network every process selected (`Socket`), or each selection
/// with its ranks and hosts (`Libfabric (provider efa, 32 NICs) on ranks 0-7 (hosts a, b);
/// Socket on ranks 8-15 (hosts c, d)`). `None` when there is no entry (not an NCCL run).
pub fn summarize(entries: &[ProcessNetwork]) -> Option<String> {
    let all: Vec<&ProcessNetwork> = entries.iter().collect();
    let groups = by_description(&all);
    match groups.as_slice() {
        [] => None,
        [(only, _)] => Some(only.clone()),
        _ => Some(
            groups
                .iter()
                .map(|(description, members)| {
                    format!("{description} on {}", ranks_and_hosts(members))
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
}

/// `--require-net NAME` judged against every process's selection.
#[derive(Clone, Debug, PartialEq)]
pub struct NetRequirement {
    pub required: String,
    /// Ranks whose process selected a network that satisfies `required`.
    pub satisfied_ranks: usize,
    pub total_ranks: usize,
    /// What the failing processes selected, with their ranks and hosts; empty when it held.
    pub failures: String,
    /// Lowest failing rank and its host, for the verdict's "first rank off it".
    pub first_failing: Option<(usize, String)>,
    /// `summarize` of every process.
    pub selected: String,
}

impl NetRequirement {
    pub fn passed(&self) -> bool {
        self.total_ranks > 0 && self.satisfied_ranks == self.total_ranks
    }

    /// One sentence naming required and selected networks (and, on failure, the ranks and hosts).
    pub fn explain(&self) -> String {
        if self.total_ranks == 0 {
            return format!(
                "--require-net {}: no rank reported an NCCL network (this run did not use NCCL)",
                self.required
            );
        }
        if self.passed() {
            format!(
                "--require-net {}: NCCL selected {}",
                self.required, self.selected
            )
        } else {
            format!(
                "--require-net {}: NCCL selected {}",
                self.required, self.failures
            )
        }
    }
}

/// Which processes' selections satisfy `required` (`NetSelection::satisfies` names: socket/tcp,
/// ib, ofi/libfabric, efa, or a network name as NCCL prints it).
pub fn check_requirement(required: &str, entries: &[ProcessNetwork]) -> NetRequirement {
    let total_ranks = entries.iter().map(|e| e.ranks.len()).sum();
    let (good, bad): (Vec<&ProcessNetwork>, Vec<&ProcessNetwork>) =
        entries.iter().partition(|e| e.satisfies(required));
    let satisfied_ranks = good.iter().map(|e| e.ranks.len()).sum();
    let failures = by_description(&bad)
        .iter()
        .map(|(description, members)| format!("{description} on {}", ranks_and_hosts(members)))
        .collect::<Vec<_>>()
        .join("; ");
    let first_failing = bad
        .iter()
        .filter_map(|e| e.ranks.iter().min().map(|&r| (r, e.host.clone())))
        .min_by_key(|(rank, _)| *rank);
    NetRequirement {
        required: required.to_string(),
        satisfied_ranks,
        total_ranks,
        failures,
        first_failing,
        selected: summarize(entries).unwrap_or_else(|| "nothing".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::nccl::net_log::selected_network;

    fn process(host: &str, ranks: &[usize], log: &str) -> ProcessNetwork {
        ProcessNetwork {
            host: host.into(),
            pid: 100 + ranks[0] as u32,
            ranks: ranks.to_vec(),
            selection: selected_network(log),
            unknown_reason: None,
        }
    }

    const EFA: &str = "\
h:1:1 [0] NCCL INFO NET/OFI Selected Provider is efa (found 32 nics)
h:1:1 [0] NCCL INFO Using network Libfabric
";
    const SOCKET: &str = "h:1:1 [0] NCCL INFO Using network Socket\n";

    #[test]
    fn rank_lists_collapse_runs() {
        assert_eq!(rank_ranges([3, 0, 1, 2, 7, 9, 10]), "0-3,7,9-10");
        assert_eq!(rank_ranges([5]), "5");
        assert_eq!(rank_ranges(Vec::new()), "");
    }

    #[test]
    fn one_network_everywhere_is_named_once() {
        let entries = vec![
            process("a", &[0, 1, 2, 3], EFA),
            process("b", &[4, 5, 6, 7], EFA),
        ];
        assert_eq!(
            summarize(&entries).as_deref(),
            Some("Libfabric (provider efa, 32 NICs)")
        );
        let req = check_requirement("efa", &entries);
        assert!(req.passed());
        assert_eq!((req.satisfied_ranks, req.total_ranks), (8, 8));
        assert_eq!(req.first_failing, None);
        assert_eq!(
            req.explain(),
            "--require-net efa: NCCL selected Libfabric (provider efa, 32 NICs)"
        );
        assert_eq!(summarize(&[]), None);
    }

    #[test]
    fn a_fallback_on_some_hosts_fails_efa_and_names_them() {
        let entries = vec![
            process("node1", &[0, 1], EFA),
            process("node3", &[4, 5], SOCKET),
            process("node2", &[2, 3], EFA),
            process("node4", &[6, 7], SOCKET),
        ];
        assert_eq!(
            summarize(&entries).as_deref(),
            Some(
                "Libfabric (provider efa, 32 NICs) on ranks 0-3 (hosts node1, node2); \
                 Socket on ranks 4-7 (hosts node3, node4)"
            )
        );
        let req = check_requirement("efa", &entries);
        assert!(!req.passed());
        assert_eq!((req.satisfied_ranks, req.total_ranks), (4, 8));
        assert_eq!(req.first_failing, Some((4, "node3".to_string())));
        assert_eq!(
            req.explain(),
            "--require-net efa: NCCL selected Socket on ranks 4-7 (hosts node3, node4)"
        );
        // The same selections satisfy a weaker requirement on no rank but the socket ones.
        let socket = check_requirement("tcp", &entries);
        assert_eq!(socket.satisfied_ranks, 4);
        assert_eq!(socket.first_failing, Some((0, "node1".to_string())));
    }

    #[test]
    fn an_unknown_network_never_satisfies_a_requirement() {
        let unknown = ProcessNetwork {
            host: "solo".into(),
            pid: 7,
            ranks: vec![0],
            selection: None,
            unknown_reason: Some("NCCL_DEBUG=WARN was set by the user".into()),
        };
        assert_eq!(
            unknown.describe(),
            "unknown (NCCL_DEBUG=WARN was set by the user)"
        );
        for name in ["socket", "ib", "efa", "unknown"] {
            let req = check_requirement(name, std::slice::from_ref(&unknown));
            assert!(!req.passed(), "{name}");
            assert!(
                req.explain().contains("unknown (NCCL_DEBUG=WARN")
                    && req.explain().contains("rank 0 (host solo)"),
                "{}",
                req.explain()
            );
        }
    }

    #[test]
    fn no_entries_is_a_failed_requirement_that_says_why() {
        let req = check_requirement("socket", &[]);
        assert!(!req.passed());
        assert!(
            req.explain().contains("did not use NCCL"),
            "{}",
            req.explain()
        );
    }

    #[test]
    fn many_hosts_are_cut_in_messages() {
        let entries: Vec<ProcessNetwork> = (0..12)
            .map(|i| process(&format!("n{i:02}"), &[i], SOCKET))
            .collect();
        let req = check_requirement("ib", &entries);
        assert!(
            req.explain().ends_with(
                "Socket on ranks 0-11 (hosts n00, n01, n02, n03, n04, n05, n06, n07 and 4 more)"
            ),
            "{}",
            req.explain()
        );
    }
}
