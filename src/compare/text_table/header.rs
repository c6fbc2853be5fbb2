//! The header lines of a run in the text table: the banner (which tool and library wrote it), the
//! `# nThread …` configuration line, the `#  Rank …` placement lines and the column headers.

use super::shorten;
use crate::compare::imported::{nccl_backend, nccl_tests_tool};
use crate::report::{BackendInfo, RankPlacement, RunConfig, ToolInfo};

/// Where the text came from: the first line of a run says it.
#[derive(Clone, Debug, Default)]
pub(super) struct Banner {
    pub(super) tool: Option<ToolInfo>,
    pub(super) backend: Option<BackendInfo>,
}

/// `# nccl-tests version 2.19.6 nccl-headers=22809 nccl-library=22809` or collbench's
/// `# collbench version 0.1.0 (nccl-tests 2.19.6 compatible) LIBRARY [(PATH)][, network: NAME]`.
pub(super) fn parse_banner(line: &str) -> Option<Banner> {
    if let Some(rest) = line.strip_prefix("# nccl-tests version") {
        let mut words = rest.split_whitespace();
        let version = words.next().unwrap_or("unknown").to_string();
        let code = words
            .find_map(|w| w.strip_prefix("nccl-library="))
            .and_then(|c| c.parse::<i64>().ok());
        return Some(Banner {
            tool: Some(nccl_tests_tool(version)),
            backend: Some(nccl_backend(code)),
        });
    }
    let rest = line.strip_prefix("# collbench version")?;
    let rest = rest.trim_start();
    let (version, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let library_part = rest
        .split_once("compatible)")
        .map_or(rest, |(_, after)| after)
        .trim();
    let (library_part, network) = match library_part.rsplit_once(", network: ") {
        Some((lib, net)) => (lib, Some(net.trim().to_string())),
        None => (library_part, None),
    };
    let (library, library_path) = match library_part.rsplit_once(" (/") {
        Some((lib, path)) if path.ends_with(')') => (
            lib.to_string(),
            Some(format!("/{}", path.trim_end_matches(')'))),
        ),
        _ => (library_part.to_string(), None),
    };
    let is_nccl = library.starts_with("NCCL");
    Some(Banner {
        tool: Some(ToolInfo {
            name: "collbench".into(),
            version: version.to_string(),
        }),
        backend: Some(BackendInfo {
            name: if is_nccl { "nccl" } else { "mpi" }.into(),
            library,
            library_path,
            version_code: None,
            network,
            network_by_process: Vec::new(),
        }),
    })
}

/// `# nThread 1 nGpus 1 minBytes 8 maxBytes 4294967296 step: 2(factor) warmup iters: 5 iters: 50
/// agg iters: 1 validation: 1 graph: 0 unalign: 0` (older releases lack the last fields).
pub(super) fn parse_config(line: &str) -> std::result::Result<RunConfig, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    // The word after `key`; `iters:` comes three times (`warmup iters:`, `iters:`, `agg iters:`),
    // told apart by the word before it.
    let after = |key: &str, qualifier: Option<&str>| -> Option<&str> {
        words.windows(2).enumerate().find_map(|(i, pair)| {
            if pair[0] != key {
                return None;
            }
            let previous = i.checked_sub(1).map(|j| words[j]);
            let wanted = match qualifier {
                Some(q) => previous == Some(q),
                None => !matches!(previous, Some("warmup") | Some("agg")),
            };
            wanted.then_some(pair[1])
        })
    };
    let number = |key: &str, qualifier: Option<&str>| -> std::result::Result<u64, String> {
        match after(key, qualifier) {
            None => Ok(0),
            Some(v) => v.parse::<u64>().map_err(|_| {
                format!(
                    "the '# nThread' line has '{}' for '{}{key}', not a whole number",
                    shorten(v),
                    qualifier.map(|q| format!("{q} ")).unwrap_or_default()
                )
            }),
        }
    };
    let mut config = RunConfig {
        nthreads: number("nThread", None)? as usize,
        ngpus: number("nGpus", None)? as usize,
        min_bytes: number("minBytes", None)?,
        max_bytes: number("maxBytes", None)?,
        warmup_iters: number("iters:", Some("warmup"))? as usize,
        iters: number("iters:", None)? as usize,
        agg_iters: number("iters:", Some("agg"))? as usize,
        check_iters: number("validation:", None)? as usize,
        graph_launches: number("graph:", None)? as usize,
        unalign: number("unalign:", None)? as usize,
        run_cycles: 1,
        ..RunConfig::default()
    };
    if let Some(step) = after("step:", None) {
        let (value, kind) = step
            .trim_end_matches(')')
            .split_once('(')
            .unwrap_or((step, ""));
        config.step_value = value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                format!(
                    "the '# nThread' line has step '{}', expected like 2(factor) or 1048576(bytes)",
                    shorten(step)
                )
            })?;
        config.step_kind = kind.to_string();
    }
    Ok(config)
}

/// `#  Rank %2d Group %2d Pid %6d on %10s device %2d [%s] %s`.
pub(super) fn parse_rank_line(line: &str) -> std::result::Result<RankPlacement, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let bad = |what: &str| {
        format!(
            "rank line '{}': {what}; expected '#  Rank N Group G Pid P on HOST device D [BUSID] NAME'",
            shorten(line)
        )
    };
    let value = |key: &str| -> Option<&str> {
        words
            .iter()
            .position(|w| *w == key)
            .and_then(|i| words.get(i + 1).copied())
    };
    let rank = value("Rank")
        .and_then(|v| v.parse::<usize>().ok())
        .ok_or_else(|| bad("no rank number"))?;
    // A damaged line is still a rank; the rest is description only.
    let group = value("Group")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let pid = value("Pid")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    let host = value("on").unwrap_or("").to_string();
    let device = value("device").and_then(|v| v.parse::<i32>().ok());
    let bus = words
        .iter()
        .position(|w| w.starts_with('[') && w.ends_with(']'))
        .map(|i| (i, words[i].trim_matches(['[', ']']).to_string()));
    let device_name = bus
        .as_ref()
        .map(|(i, _)| words[i + 1..].join(" "))
        .unwrap_or_default();
    Ok(RankPlacement {
        rank,
        group,
        host,
        pid,
        device: device.filter(|d| *d >= 0),
        bus_id: bus.map(|(_, b)| b).filter(|b| b != "host"),
        device_name,
    })
}

/// The column-header line of the table: `#  size  count  type  redop  root  time  algbw …`.
pub(super) fn is_column_header(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    words.get(1) == Some(&"size") && words.contains(&"count") && words.contains(&"type")
}
