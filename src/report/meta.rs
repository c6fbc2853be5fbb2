//! Small builders for the report's metadata fields, so every producer fills them the same way.

use super::{RankPlacement, ToolInfo};

/// `tool`: collbench and the version of this build.
pub fn tool_info() -> ToolInfo {
    ToolInfo {
        name: env!("CARGO_PKG_NAME").to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// `hosts`: each host once, in the order of its first rank.
/// The placement of `rank`: placements are normally ordered by rank (index = rank), so this is a
/// lookup; a list with gaps falls back to a search.
pub fn placement_of(placements: &[RankPlacement], rank: usize) -> Option<&RankPlacement> {
    placements
        .get(rank)
        .filter(|p| p.rank == rank)
        .or_else(|| placements.iter().find(|p| p.rank == rank))
}

pub fn hosts_in_rank_order(ranks: &[RankPlacement]) -> Vec<String> {
    let mut sorted: Vec<&RankPlacement> = ranks.iter().collect();
    sorted.sort_by_key(|p| p.rank);
    let mut seen = std::collections::HashSet::new();
    sorted
        .into_iter()
        .filter(|p| seen.insert(p.host.as_str()))
        .map(|p| p.host.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rank: usize, host: &str) -> RankPlacement {
        RankPlacement {
            rank,
            group: 0,
            host: host.into(),
            pid: 1,
            device: None,
            bus_id: None,
            device_name: "host memory".into(),
        }
    }

    #[test]
    fn hosts_once_in_first_rank_order() {
        let ranks = vec![at(2, "b"), at(0, "c"), at(1, "b"), at(3, "a"), at(4, "c")];
        assert_eq!(hosts_in_rank_order(&ranks), vec!["c", "b", "a"]);
        assert!(hosts_in_rank_order(&[]).is_empty());
    }

    #[test]
    fn tool_is_collbench_with_a_semver() {
        let t = tool_info();
        assert_eq!(t.name, "collbench");
        assert_eq!(t.version.split('.').count(), 3, "{}", t.version);
    }
}
