//! What nccl-tests' JSON says about the run before its rows: the program (so the collective), the
//! `config` object and its `devices` (so the ranks).

use super::object::{shown, Object};
use crate::compare::imported::is_collective_name;
use crate::error::Result;
use crate::report::{RankPlacement, RunConfig};
use serde_json::Value;

/// `args[0]` is the program (`./build/all_reduce_perf`): the JSON names the collective nowhere else.
pub(super) fn collective_of(top: &Object, args: &[String]) -> Result<String> {
    let program = args.first().map(String::as_str).unwrap_or("");
    let base = program.rsplit('/').next().unwrap_or(program);
    // Every nccl-tests program is NAME_perf (its src/Makefile); builds may add a suffix (_mpi).
    let name = base.rfind("_perf").map_or("", |at| &base[..at]);
    if is_collective_name(name) {
        return Ok(name.to_string());
    }
    // collbench's -J: one of its program names, or `collbench run NAME` / `collbench accept`.
    if let Some(name) = collbench_collective(base, &args[args.len().min(1)..]) {
        return Ok(name);
    }
    Err(top.error(
        "args",
        format!(
            "starts with '{program}', not an nccl-tests program (like ./build/all_reduce_perf) \
             or collbench's, so which collective the file measured is unknown"
        ),
    ))
}

/// The collective a collbench command line runs: `allreduce-perf …`, `collbench run all_reduce …`,
/// `collbench accept [--collective NAME] …` (all_reduce by default).
fn collbench_collective(program: &str, rest: &[String]) -> Option<String> {
    let find = |name: &str| crate::collectives::find(name).map(|c| c.name().to_string());
    if program != "collbench" {
        return find(program);
    }
    match rest.first().map(String::as_str) {
        Some("run") => rest.get(1).and_then(|name| find(name)),
        Some("accept") => match rest.iter().position(|a| a == "--collective") {
            Some(at) => rest.get(at + 1).and_then(|name| find(name)),
            None => Some("all_reduce".to_string()),
        },
        _ => None,
    }
}

pub(super) fn read_config(config: &Object) -> Result<RunConfig> {
    let small = |key: &str| -> Result<usize> {
        let value = config.count_or_zero(key)?;
        usize::try_from(value)
            .ok()
            .filter(|v| *v <= u32::MAX as usize)
            .ok_or_else(|| config.error(key, format!("is {value}, too large")))
    };
    let (step_kind, step_value) = match (config.count("step_factor")?, config.count("step_bytes")?)
    {
        (Some(factor), _) => ("factor".to_string(), factor as f64),
        (None, Some(bytes)) => ("bytes".to_string(), bytes as f64),
        (None, None) => (String::new(), 0.0),
    };
    let blocking = config.flag("blocking_collectives")?;
    Ok(RunConfig {
        nthreads: small("nthreads")?,
        ngpus: small("ngpus")?,
        min_bytes: config.count_or_zero("minimum_bytes")?,
        max_bytes: config.count_or_zero("maximum_bytes")?,
        step_kind,
        step_value,
        warmup_iters: small("warmup_iters")?,
        iters: small("iterations")?,
        agg_iters: small("aggregated_iterations")?,
        check_iters: small("validation")?,
        graph_launches: small("graph")?,
        blocking,
        // The JSON says only whether -z was on (jsonBool), not which mode: 1 stands for "on".
        blocking_mode: u8::from(blocking),
        per_iteration_timing: config.flag("per_iter_timing")?,
        per_iteration_skip: small("per_iter_skip")?,
        parallel_init: config.flag("parallel_init")?,
        run_cycles: 1,
        ..RunConfig::default()
    })
}

/// `config.devices` lists each process's first rank (util.cu parses only the first `#  Rank` line
/// of each process); a process runs `nthreads × ngpus` ranks on consecutive devices.
pub(super) fn read_ranks(
    config: &Object,
    run: &RunConfig,
    origin: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<RankPlacement>> {
    let devices = match config.get("devices") {
        Some(Value::Array(d)) if !d.is_empty() => d,
        Some(Value::Array(_)) | None => return Err(config.error(
            "devices",
            "is missing or empty, so the rank count (which bus bandwidth depends on) is unknown"
                .into(),
        )),
        Some(other) => {
            return Err(config.error("devices", format!("is {}, not a list", shown(other))))
        }
    };
    if run.nthreads == 0 || run.ngpus == 0 {
        return Err(config.error(
            if run.nthreads == 0 {
                "nthreads"
            } else {
                "ngpus"
            },
            "is missing or 0, so the rank count is unknown".into(),
        ));
    }
    let per_process = run.nthreads.saturating_mul(run.ngpus);
    if per_process > 1 << 16 || devices.len().saturating_mul(per_process) > 1 << 20 {
        return Err(config.error(
            "nthreads",
            format!(
                "× ngpus × processes = {} × {} × {} ranks is not a plausible run",
                run.nthreads,
                run.ngpus,
                devices.len()
            ),
        ));
    }
    let mut ranks: Vec<RankPlacement> = Vec::new();
    // A set, not a scan of `ranks`: a small file may claim a million ranks.
    let mut seen_ranks = std::collections::HashSet::new();
    for (index, entry) in devices.iter().enumerate() {
        let device = Object::new(origin, &format!("config.devices[{index}]"), entry)?;
        let first_rank = device
            .count("rank")?
            .ok_or_else(|| device.error("rank", "is missing".into()))?
            as usize;
        // collbench's host backend writes device -1 with device_hex "host", as its rank lines.
        let on_host = device.get("device").and_then(Value::as_i64) == Some(-1);
        let ordinal = if on_host {
            None
        } else {
            device.count("device")?.and_then(|d| i64::try_from(d).ok())
        };
        let host = device.string("hostname")?.unwrap_or("").to_string();
        let pid = device.count("pid")?.unwrap_or(0).min(u32::MAX as u64) as u32;
        let group = device.count("group")?.unwrap_or(0) as usize;
        for i in 0..per_process {
            let rank = first_rank.saturating_add(i);
            if !seen_ranks.insert(rank) {
                return Err(device.error(
                    "rank",
                    format!(
                        "{first_rank} (with {per_process} rank{} per process) repeats rank {rank}",
                        if per_process == 1 { "" } else { "s" }
                    ),
                ));
            }
            ranks.push(RankPlacement {
                rank,
                group,
                host: host.clone(),
                pid,
                device: ordinal
                    .and_then(|d| d.checked_add(i64::try_from(i).ok()?))
                    .and_then(|d| i32::try_from(d).ok()),
                bus_id: if i == 0 && !on_host {
                    device.string("device_hex")?.map(str::to_string)
                } else {
                    None
                },
                device_name: if i == 0 {
                    device.string("device_info")?.unwrap_or("").to_string()
                } else {
                    String::new()
                },
            });
        }
    }
    ranks.sort_by_key(|p| p.rank);
    if per_process > 1 {
        notes.push(format!(
            "{origin}: nccl-tests' JSON lists only the first rank of each process; the other {} \
             rank{} (host, pid, device ordinal) are derived and their GPU names and bus IDs are \
             unknown",
            ranks.len() - devices.len(),
            if ranks.len() - devices.len() == 1 {
                ""
            } else {
                "s"
            }
        ));
    }
    Ok(ranks)
}
