//! What `collbench accept --pairwise` or `--bisect` found: the text printed, the `--collbench-json`
//! report and the Prometheus metrics (`collbench_failing_host{source="pairwise"}` or `"bisect"`).

use super::pairing::{drain_line, Conviction, Isolation, Search};
use crate::report::units::format_gbps;
use crate::report::ToolInfo;
use serde::{Deserialize, Serialize};

/// `--collbench-json` of a pairwise or bisect run. `kind` tells it from a sweep report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairwiseReport {
    /// Always `collbench-pairwise` (the isolation report, whichever the search).
    pub kind: String,
    pub schema_version: u32,
    /// `pairs` (`--pairwise`) or `bisect` (`--bisect`); files written before bisect have none.
    #[serde(default = "pairs_search")]
    pub search: Search,
    pub tool: ToolInfo,
    pub args: Vec<String>,
    pub start_time: String,
    pub end_time: Option<String>,
    pub collective: String,
    /// `mpi` or `nccl`.
    pub backend: String,
    pub nranks: usize,
    /// Hosts in order of their first rank, with their rank count.
    pub hosts: Vec<HostInfo>,
    /// Sizes of at least this many bytes decide a group's busbw (lowest of them).
    pub check_size_bytes: u64,
    pub threshold_gbps: f64,
    /// Where the threshold comes from.
    pub threshold_basis: String,
    pub rounds: Vec<Vec<GroupRecord>>,
    pub bad_hosts: Vec<BadHost>,
    pub unresolved_hosts: Vec<String>,
    /// Every host was cleared.
    pub passed: bool,
    /// Set when a signal stopped the isolation early.
    pub interrupted: Option<String>,
    /// From the host table to the verdict, all rounds (0 in files written before it was kept).
    #[serde(default)]
    pub elapsed_seconds: f64,
}

pub const PAIRWISE_SCHEMA_VERSION: u32 = 1;

fn pairs_search() -> Search {
    Search::Pairs
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    pub host: String,
    pub ranks: usize,
}

/// One group (a pair, under `--pairwise`) in one round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub hosts: Vec<String>,
    pub busbw_gbps: f64,
    pub wrong: u64,
    /// What this group had to reach: the report's threshold, or (`--bisect --profile`) the
    /// expectation for its node count. Files written before it was kept have none.
    #[serde(default)]
    pub threshold_gbps: Option<f64>,
    pub passed: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BadHost {
    pub host: String,
    /// The cleared host it failed with (`+` between them when a larger group convicted it).
    pub partner: String,
    pub busbw_gbps: f64,
    pub wrong: u64,
    pub threshold_gbps: f64,
    pub round: usize,
    /// The exact line to drain it.
    pub drain_command: String,
    /// With `--drain`: whether scontrol succeeded, and what it said when it did not.
    pub drained: Option<bool>,
    pub drain_error: Option<String>,
}

impl BadHost {
    pub fn from_conviction(c: &Conviction) -> BadHost {
        BadHost {
            host: c.host.clone(),
            partner: c.partner.clone(),
            busbw_gbps: c.busbw_gbps,
            wrong: c.wrong,
            threshold_gbps: c.threshold_gbps,
            round: c.round,
            drain_command: drain_line(c),
            drained: None,
            drain_error: None,
        }
    }
}

/// The rounds of `iso` with host names.
pub fn rounds(iso: &Isolation) -> Vec<Vec<GroupRecord>> {
    iso.rounds
        .iter()
        .map(|round| {
            round
                .iter()
                .map(|p| GroupRecord {
                    hosts: p.hosts.iter().map(|&h| iso.hosts[h].clone()).collect(),
                    busbw_gbps: p.busbw_gbps,
                    wrong: p.wrong,
                    threshold_gbps: Some(p.threshold_gbps),
                    passed: p.passed,
                })
                .collect()
        })
        .collect()
}

/// The text block rank 0 prints; every line but the scontrol ones starts with `#`.
pub fn render(r: &PairwiseReport) -> String {
    let mut out = String::new();
    let one = r.search.group_word();
    let many = format!("{one}s");
    out.push_str(&format!(
        "# collbench accept {}: {} hosts, {} ranks, {} on the {} backend, sizes >= {} B\n",
        r.search.flag(),
        r.hosts.len(),
        r.nranks,
        r.collective,
        r.backend,
        r.check_size_bytes
    ));
    // Node count -> threshold, of the groups that ran. Groups judged by their own threshold (a
    // profile's expectation for their node count) show it; the basis with its sources follows.
    let by_nodes: std::collections::BTreeMap<usize, f64> = r
        .rounds
        .iter()
        .flatten()
        .filter_map(|p| Some((p.hosts.len(), p.threshold_gbps?)))
        .collect();
    let per_group = by_nodes.values().any(|&t| t != r.threshold_gbps);
    if per_group {
        let listed: Vec<String> = by_nodes
            .iter()
            .map(|(nodes, t)| format!("{nodes} nodes {} GB/s", format_gbps(*t)))
            .collect();
        out.push_str(&format!(
            "# a {one} passes at busbw >= the threshold of its node count ({}) with no wrong element\n",
            listed.join(", ")
        ));
        out.push_str(&format!("# thresholds: {}\n", r.threshold_basis));
    } else {
        out.push_str(&format!(
            "# a {one} passes at busbw >= {} GB/s ({}) with no wrong element\n",
            format_gbps(r.threshold_gbps),
            r.threshold_basis
        ));
    }
    for (index, round) in r.rounds.iter().enumerate() {
        let busy: Vec<&str> = round
            .iter()
            .flat_map(|p| p.hosts.iter().map(String::as_str))
            .collect();
        let idle: Vec<&str> = r
            .hosts
            .iter()
            .map(|h| h.host.as_str())
            .filter(|h| !busy.contains(h))
            .collect();
        out.push_str(&format!(
            "# round {}: {} {} at once{}\n",
            index + 1,
            round.len(),
            if round.len() == 1 { one } else { &many },
            if idle.is_empty() {
                String::new()
            } else {
                format!(" (idle: {})", idle.join(", "))
            }
        ));
        for p in round {
            let hosts = match &p.hosts[..] {
                [a, b] => format!("{a:>20} + {b:<20}"),
                more => format!("{:<43}", more.join(" + ")),
            };
            out.push_str(&format!(
                "#   {hosts} {:>10.2} GB/s{}  {}{}\n",
                p.busbw_gbps,
                if p.wrong > 0 {
                    format!(" {} wrong", p.wrong)
                } else {
                    String::new()
                },
                if p.passed { "PASS" } else { "FAIL" },
                match p.threshold_gbps {
                    Some(t) if per_group => format!(" (threshold {} GB/s)", format_gbps(t)),
                    _ => String::new(),
                }
            ));
        }
    }
    if let Some(why) = &r.interrupted {
        out.push_str(&format!("# interrupted: {why}\n"));
    }
    let runs: usize = r.rounds.iter().map(Vec::len).sum();
    out.push_str(&format!(
        "# {} round{}, {runs} {} run{}, {:.1} s\n",
        r.rounds.len(),
        if r.rounds.len() == 1 { "" } else { "s" },
        one,
        if runs == 1 { "" } else { "s" },
        r.elapsed_seconds
    ));
    if r.bad_hosts.is_empty() {
        out.push_str("# Bad hosts: none\n");
    } else {
        out.push_str(&format!("# Bad hosts ({}):\n", r.bad_hosts.len()));
        for b in &r.bad_hosts {
            let why = if b.wrong > 0 {
                format!("{} wrong elements", b.wrong)
            } else {
                format!(
                    "busbw {} < {} GB/s",
                    format_gbps(b.busbw_gbps),
                    format_gbps(b.threshold_gbps)
                )
            };
            out.push_str(&format!(
                "#   {}: {why} {} (round {})\n",
                b.host,
                if b.partner.contains('+') {
                    format!("in a group with good hosts {}", b.partner)
                } else {
                    format!("paired with good host {}", b.partner)
                },
                b.round
            ));
        }
        for b in &r.bad_hosts {
            out.push_str(&b.drain_command);
            out.push('\n');
            match (b.drained, &b.drain_error) {
                (Some(true), _) => out.push_str(&format!("#   drained {}\n", b.host)),
                (Some(false), Some(e)) => {
                    out.push_str(&format!("#   could not drain {}: {e}\n", b.host))
                }
                _ => {}
            }
        }
    }
    if !r.unresolved_hosts.is_empty() {
        out.push_str(&format!(
            "# Unresolved (failed only next to other suspects; no passing partner left): {}\n",
            r.unresolved_hosts.join(", ")
        ));
    }
    out.push_str(&format!(
        "# Verdict: {}\n",
        if r.passed {
            "PASS (every host cleared)".to_string()
        } else {
            format!(
                "FAIL ({} bad, {} unresolved)",
                r.bad_hosts.len(),
                r.unresolved_hosts.len()
            )
        }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(hosts: &[&str], busbw_gbps: f64, threshold_gbps: f64, passed: bool) -> GroupRecord {
        GroupRecord {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            busbw_gbps,
            wrong: 0,
            threshold_gbps: Some(threshold_gbps),
            passed,
        }
    }

    fn report(rounds: Vec<Vec<GroupRecord>>) -> PairwiseReport {
        PairwiseReport {
            kind: crate::report::PAIRWISE_KIND.into(),
            schema_version: PAIRWISE_SCHEMA_VERSION,
            search: Search::Bisect,
            tool: ToolInfo {
                name: "collbench".into(),
                version: "0".into(),
            },
            args: Vec::new(),
            start_time: String::new(),
            end_time: None,
            collective: "all_reduce".into(),
            backend: "nccl".into(),
            nranks: 32,
            hosts: ["a", "b", "c", "d"]
                .iter()
                .map(|h| HostInfo {
                    host: h.to_string(),
                    ranks: 8,
                })
                .collect(),
            check_size_bytes: 1 << 30,
            threshold_gbps: 40.0,
            threshold_basis: "per group node count: …".into(),
            rounds,
            bad_hosts: Vec::new(),
            unresolved_hosts: Vec::new(),
            passed: true,
            interrupted: None,
            elapsed_seconds: 1.0,
        }
    }

    #[test]
    fn groups_judged_by_their_own_threshold_show_it() {
        let text = render(&report(vec![vec![
            group(&["a", "b", "c"], 36.0, 35.5, true),
            group(&["d", "e"], 41.0, 40.0, true),
        ]]));
        assert!(
            text.contains("# a group passes at busbw >= the threshold of its node count (2 nodes 40.00 GB/s, 3 nodes 35.50 GB/s) with no wrong element\n# thresholds: per group node count: …\n"),
            "{text}"
        );
        assert!(
            text.contains("36.00 GB/s  PASS (threshold 35.50 GB/s)\n"),
            "{text}"
        );
        assert!(
            text.contains("41.00 GB/s  PASS (threshold 40.00 GB/s)\n"),
            "{text}"
        );
    }

    #[test]
    fn one_threshold_for_all_groups_is_said_once() {
        let text = render(&report(vec![vec![group(&["a", "b"], 41.0, 40.0, true)]]));
        assert!(
            text.contains("# a group passes at busbw >= 40.00 GB/s ("),
            "{text}"
        );
        assert!(!text.contains("(threshold"), "{text}");
    }
}
