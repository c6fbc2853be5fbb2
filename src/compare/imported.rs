//! What the two readers of nccl-tests' outputs (the text table, [`super::text_table`], and the `-J`
//! JSON, [`super::nccl_json`]) share: both turn printed rows into collbench's [`Report`] model and
//! must fill in, the same way, what those outputs do not carry (rank spread, `-N` cycles, the
//! sweep's types and operators).

use crate::report::{
    BackendInfo, IterStats, Measurement, RankPlacement, RankSpread, ResultRow, RunConfig, ToolInfo,
};
use crate::types::DataType;
use std::collections::BTreeMap;

/// NCCL's version code as a name: 22809 → `NCCL 2.28.9` (2.9 and later), 2708 → `NCCL 2.7.8`.
pub(super) fn nccl_version_name(code: i64) -> String {
    let (major, minor, patch) = if code >= 10000 {
        (code / 10000, code % 10000 / 100, code % 100)
    } else {
        (code / 1000, code % 1000 / 100, code % 100)
    };
    format!("NCCL {major}.{minor}.{patch}")
}

/// nccl-tests' backend: NCCL, named by its version code when the output gives one.
pub(super) fn nccl_backend(version_code: Option<i64>) -> BackendInfo {
    BackendInfo {
        name: "nccl".into(),
        library: version_code
            .map(nccl_version_name)
            .unwrap_or_else(|| "NCCL".into()),
        library_path: None,
        version_code,
        network: None,
        network_by_process: Vec::new(),
    }
}

/// The tool that wrote the output.
pub(super) fn nccl_tests_tool(version: String) -> ToolInfo {
    ToolInfo {
        name: "nccl-tests".into(),
        version,
    }
}

/// Whether `name` (a program name without `_perf`) can be a collective's name.
pub(super) fn is_collective_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether `redop` can be a reduction operator's name (empty: the collective has none).
pub(super) fn is_operator_name(redop: &str) -> bool {
    redop.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A printed measurement: the outputs have one time for all ranks, so the rank spread is nil and
/// the slowest rank is filled in later ([`attribute_to_first_rank`]).
pub(super) fn printed_measurement(
    time_us: f64,
    algbw_gbps: f64,
    bus_bandwidth_gbps: f64,
    wrong: Option<u64>,
    per_iteration: Option<IterStats>,
) -> Measurement {
    Measurement {
        time_us,
        algbw_gbps,
        bus_bandwidth_gbps,
        wrong,
        ranks_with_wrong: u64::from(wrong.is_some_and(|w| w > 0)),
        first_wrong: None,
        ranks: RankSpread {
            time_us_min: time_us,
            time_us_avg: time_us,
            time_us_max: time_us,
            slowest_rank: 0,
            slowest_host: String::new(),
            slowest_device: None,
        },
        per_iteration,
        stats: None,
        run_queue_wait: None,
    }
}

/// The printed time is rank 0's (sorted `ranks`): name it as every measurement's slowest rank.
pub(super) fn attribute_to_first_rank(rows: &mut [ResultRow], ranks: &[RankPlacement]) {
    let Some(first) = ranks.first() else {
        return;
    };
    for m in rows
        .iter_mut()
        .flat_map(|r| [&mut r.out_of_place, &mut r.in_place])
        .flatten()
    {
        m.ranks.slowest_rank = first.rank;
        m.ranks.slowest_host = first.host.clone();
        m.ranks.slowest_device = first.device;
    }
}

/// Numbers the `-N` cycles: the n-th row with the same (size, type, op, root) is cycle n - 1.
#[derive(Debug, Default)]
pub(super) struct CycleCounter {
    seen: BTreeMap<(u64, DataType, String, i64), usize>,
}

impl CycleCounter {
    /// Sets `row.cycle` to how often its key was seen before.
    pub(super) fn number(&mut self, row: &mut ResultRow) {
        let cycle = self
            .seen
            .entry((row.size_bytes, row.dtype, row.redop.clone(), row.root))
            .or_insert(0);
        row.cycle = *cycle;
        *cycle += 1;
    }
}

/// The mean bus bandwidth of the measured cells (0 when none): the summary of a run cut off
/// before its footer.
pub(super) fn mean_busbw(rows: &[ResultRow]) -> f64 {
    let busbw: Vec<f64> = rows
        .iter()
        .flat_map(|r| [&r.out_of_place, &r.in_place])
        .flatten()
        .map(|m| m.bus_bandwidth_gbps)
        .collect();
    if busbw.is_empty() {
        0.0
    } else {
        busbw.iter().sum::<f64>() / busbw.len() as f64
    }
}

/// The wrong cells of the rows: the out-of-bounds count of a run cut off before its footer.
pub(super) fn wrong_cells(rows: &[ResultRow]) -> u64 {
    rows.iter()
        .flat_map(|r| [&r.out_of_place, &r.in_place])
        .flatten()
        .map(|m| m.ranks_with_wrong)
        .sum()
}

/// The types, operators, roots and `-N` cycles of a sweep, from its rows in the order they ran (the
/// text and nccl-tests' JSON do not list them).
pub(super) fn fill_sweep_config(config: &mut RunConfig, rows: &[ResultRow]) {
    let distinct = |f: &dyn Fn(&ResultRow) -> String| {
        // In order of first appearance; the set keeps a file of many distinct roots linear.
        let mut seen: Vec<String> = Vec::new();
        let mut known = std::collections::HashSet::new();
        for row in rows {
            let v = f(row);
            if known.insert(v.clone()) {
                seen.push(v);
            }
        }
        seen
    };
    let dtype_names = distinct(&|r| r.dtype.name().to_string());
    config.ops = distinct(&|r| r.redop.clone());
    config.roots = distinct(&|r| r.root.to_string())
        .iter()
        .filter_map(|r| r.parse().ok())
        .collect();
    config.dtypes = dtype_names
        .iter()
        .filter_map(|d| DataType::parse(d))
        .collect();
    config.run_cycles = rows.iter().map(|r| r.cycle + 1).max().unwrap_or(1);
}

/// Text quoted in a message: at most `max_chars` characters, then `…`.
pub(super) fn shortened(text: &str, max_chars: usize) -> String {
    let mut out: String = text.chars().take(max_chars).collect();
    if text.chars().count() > max_chars {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_codes_of_both_styles_name_the_release() {
        assert_eq!(nccl_version_name(22809), "NCCL 2.28.9");
        assert_eq!(nccl_version_name(2708), "NCCL 2.7.8");
        assert_eq!(nccl_backend(None).library, "NCCL");
    }

    #[test]
    fn the_sweep_config_of_many_distinct_roots_is_found_in_linear_time() {
        // A file of 200 000 rows with as many roots (`-r -1` on a huge job, or a crafted file):
        // every distinct value was searched for in a list, quadratic (minutes of CPU).
        let rows: Vec<ResultRow> = (0..200_000)
            .map(|root| ResultRow {
                collective: "reduce".into(),
                size_bytes: 8,
                count: 2,
                dtype: DataType::Float,
                redop: "sum".into(),
                root,
                out_of_place: None,
                in_place: None,
                cycle: 0,
            })
            .collect();
        let mut config = RunConfig::default();
        let began = std::time::Instant::now();
        fill_sweep_config(&mut config, &rows);
        assert!(began.elapsed().as_secs() < 10, "{:?}", began.elapsed());
        assert_eq!(config.roots.len(), 200_000);
        assert_eq!(config.roots[..3], [0, 1, 2]);
        assert_eq!(config.ops, ["sum"]);
        assert_eq!(config.dtypes, [DataType::Float]);
        assert_eq!(config.run_cycles, 1);
    }

    #[test]
    fn shortened_text_keeps_the_limit_and_marks_the_cut() {
        assert_eq!(shortened("abc", 3), "abc");
        assert_eq!(shortened("abcd", 3), "abc…");
        assert_eq!(shortened("µµµµ", 2), "µµ…");
    }
}
