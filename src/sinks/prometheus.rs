//! `--prom-file PATH`: the run in Prometheus' text exposition format, for node_exporter's textfile
//! collector (`--collector.textfile.directory`). The file is rewritten atomically at the start,
//! after every row (so a dashboard shows a sweep in progress) and at the end. The same text is what
//! `--push-gateway` pushes.
//!
//! Every series carries `collective`, `backend`, `nodes` and `nranks`; [`METRICS`] lists every
//! metric with its extra labels (a test checks the Grafana dashboard queries only these). Values are
//! in Prometheus base units, as `promtool check metrics` requires: bandwidth in bytes per second
//! (nccl-tests' GB/s × 1e9), time in seconds.

use super::Sink;
use crate::error::Result;
use crate::io::atomic::write_atomically;
use crate::report::memory::MemoryKind;
use crate::report::meta::placement_of;
use crate::report::verdict::{node_count, CheckKind};
use crate::report::{Measurement, Report, ResultRow};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// nccl-tests' GB/s are 1e9 bytes per second.
/// Bytes per second in one GB/s (metrics are in base units).
pub const GB: f64 = 1e9;

/// One metric we emit: name, extra labels (besides the common ones), help text.
pub struct MetricDef {
    pub name: &'static str,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

/// Labels on every series.
pub const COMMON_LABELS: &[&str] = &["collective", "backend", "nodes", "nranks"];

const ROW: &[&str] = &["size_bytes", "dtype", "redop", "root", "placement"];
const CHECK: &[&str] = &["check", "size_bytes", "dtype", "placement", "unit"];

pub const METRICS: &[MetricDef] = &[
    MetricDef {
        name: "collbench_bus_bandwidth_bytes_per_second",
        labels: ROW,
        help: "Bus bandwidth (nccl-tests busbw x 1e9) of the latest measurement of this row.",
    },
    MetricDef {
        name: "collbench_algorithm_bandwidth_bytes_per_second",
        labels: ROW,
        help: "Algorithm bandwidth (nccl-tests algbw x 1e9).",
    },
    MetricDef {
        name: "collbench_operation_time_seconds",
        labels: ROW,
        help: "Time per operation (per -a: rank 0, avg, min or max across ranks).",
    },
    MetricDef {
        name: "collbench_rank_time_max_over_avg_ratio",
        labels: ROW,
        help: "Slowest rank's time divided by the average over ranks (1 = balanced).",
    },
    MetricDef {
        name: "collbench_run_queue_wait_ratio",
        labels: ROW,
        help: "Longest share of the timed loop a rank waited for a CPU (another program or \
               oversubscription held it; 0.1 or more: the time is partly theirs).",
    },
    MetricDef {
        name: "collbench_wrong_elements",
        labels: ROW,
        help: "Wrong elements found by validation, summed over ranks (absent when not checked).",
    },
    MetricDef {
        name: "collbench_avg_bus_bandwidth_bytes_per_second",
        labels: &[],
        help: "nccl-tests' Avg bus bandwidth x 1e9: mean busbw over every measured column so far.",
    },
    MetricDef {
        name: "collbench_out_of_bounds_values",
        labels: &[],
        help: "nccl-tests' Out of bounds values: wrong elements over the whole run.",
    },
    MetricDef {
        name: "collbench_rows",
        labels: &[],
        help: "Rows (size, dtype, op, root) finished so far.",
    },
    MetricDef {
        name: "collbench_run_complete",
        labels: &[],
        help: "1 when the sweep finished every row, 0 while running or after an interruption.",
    },
    MetricDef {
        name: "collbench_run_interrupted",
        labels: &[],
        help: "1 when the run stopped early (SIGTERM, SIGINT, timeout).",
    },
    MetricDef {
        name: "collbench_last_update_timestamp_seconds",
        labels: &[],
        help: "Unix time this file was written (stale dashboards show it).",
    },
    MetricDef {
        name: "collbench_info",
        labels: &["version", "library", "slurm_job_id"],
        help: "Constant 1; labels name the tool version, communication library and Slurm job.",
    },
    MetricDef {
        name: "collbench_rank_memory_bytes",
        labels: &["rank", "host", "kind", "what"],
        help: "-M: one rank's memory after allocation; what=buffers, communicator (NCCL init), free, total or process_peak_rss; kind=device (GPU) or host.",
    },
    MetricDef {
        name: "collbench_verdict_passed",
        labels: &["profile"],
        help: "Acceptance verdict: 1 PASS, 0 FAIL (absent when no check was asked for).",
    },
    MetricDef {
        name: "collbench_check_passed",
        labels: CHECK,
        help: "One verdict check: 1 PASS, 0 FAIL.",
    },
    MetricDef {
        name: "collbench_check_measured",
        labels: CHECK,
        help: "One verdict check: the measured value, in the unit its unit label names.",
    },
    MetricDef {
        name: "collbench_check_threshold",
        labels: CHECK,
        help: "One verdict check: the value it had to reach.",
    },
    MetricDef {
        name: "collbench_pair_bus_bandwidth_bytes_per_second",
        labels: &["round", "host_a", "host_b"],
        help: "collbench accept --pairwise: busbw of one pair of hosts in one round.",
    },
    MetricDef {
        name: "collbench_group_bus_bandwidth_bytes_per_second",
        labels: &["round", "hosts"],
        help: "collbench accept --bisect: busbw of one group of hosts (joined by +) in one round.",
    },
    MetricDef {
        name: "collbench_pairwise_hosts",
        labels: &["state"],
        help: "collbench accept --pairwise or --bisect: hosts by outcome (good, bad, unresolved).",
    },
    MetricDef {
        name: "collbench_failing_host",
        labels: &["host", "source"],
        help: "1 for each host named bad: source=verdict (a rank the verdict's evidence names in a failing check), pairwise or bisect (collbench accept).",
    },
];

/// A host another stage (pairwise isolation) found bad.
#[derive(Clone, Debug, PartialEq)]
pub struct FailingHost {
    pub host: String,
    /// `pairwise` or `verdict`.
    pub source: String,
}

/// Escapes a label value for the text format.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            // Other control characters (a NUL in a library string) have no escape: drop them.
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{value}")
    }
}

/// Series of one family, keyed by their label text so a repeated label set (e.g. `-N` cycles)
/// keeps the latest value rather than emitting a duplicate series.
#[derive(Default)]
struct Family {
    series: BTreeMap<String, f64>,
}

/// Collects gauge series by metric family and renders them in [`METRICS`] order (every
/// exposition of collbench goes through it, so names and HELP texts stay in one table).
pub struct Builder {
    common: Vec<(String, String)>,
    families: BTreeMap<&'static str, Family>,
}

impl Builder {
    /// A builder whose every series carries the `common` labels first.
    pub fn new(common: Vec<(String, String)>) -> Builder {
        Builder {
            common,
            families: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, name: &'static str, extra: &[(&str, String)], value: f64) {
        debug_assert!(
            METRICS.iter().any(|m| m.name == name),
            "undeclared metric {name}"
        );
        let labels: Vec<String> = self
            .common
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        self.families
            .entry(name)
            .or_default()
            .series
            .insert(labels.join(","), value);
    }

    pub fn render(self) -> String {
        let mut out = String::new();
        for def in METRICS {
            let Some(family) = self.families.get(def.name) else {
                continue;
            };
            let _ = writeln!(out, "# HELP {} {}", def.name, def.help);
            let _ = writeln!(out, "# TYPE {} gauge", def.name);
            for (labels, value) in &family.series {
                let _ = writeln!(out, "{}{{{labels}}} {}", def.name, number(*value));
            }
        }
        out
    }
}

/// `-M`: one series per rank and known quantity.
fn add_memory(b: &mut Builder, report: &Report) {
    for m in &report.memory {
        let host = placement_of(&report.ranks, m.rank)
            .map(|p| p.host.clone())
            .unwrap_or_default();
        let kind = match m.kind {
            MemoryKind::Device => "device",
            MemoryKind::Host => "host",
        };
        for (what, bytes) in [
            ("buffers", Some(m.buffer_bytes)),
            ("communicator", m.communicator_bytes),
            ("free", m.free_bytes),
            ("total", m.total_bytes),
            ("process_peak_rss", m.process_peak_rss_bytes),
        ] {
            if let Some(bytes) = bytes {
                b.add(
                    "collbench_rank_memory_bytes",
                    &[
                        ("rank", m.rank.to_string()),
                        ("host", host.clone()),
                        ("kind", kind.to_string()),
                        ("what", what.to_string()),
                    ],
                    bytes as f64,
                );
            }
        }
    }
}

/// The exposition text for `report` with `rows` finished so far, plus hosts found bad elsewhere.
pub fn exposition(
    report: &Report,
    rows: &[ResultRow],
    failing_hosts: &[FailingHost],
    now_unix_seconds: f64,
) -> String {
    let mut b = Builder::new(vec![
        ("collective".into(), report.collective.clone()),
        ("backend".into(), report.backend.name.clone()),
        ("nodes".into(), node_count(report).to_string()),
        ("nranks".into(), report.nranks.to_string()),
    ]);
    for row in rows {
        for (placement, m) in [
            ("out_of_place", &row.out_of_place),
            ("in_place", &row.in_place),
        ] {
            if let Some(m) = m {
                add_measurement(&mut b, row, placement, m);
            }
        }
    }
    let measured: Vec<&Measurement> = rows
        .iter()
        .flat_map(|r| [r.out_of_place.as_ref(), r.in_place.as_ref()])
        .flatten()
        .collect();
    let (avg, wrong) = if report.end_time.is_some() && rows.len() == report.results.len() {
        (
            report.summary.avg_bus_bandwidth_gbps,
            report.summary.out_of_bounds,
        )
    } else if measured.is_empty() {
        (0.0, 0)
    } else {
        (
            measured.iter().map(|m| m.bus_bandwidth_gbps).sum::<f64>() / measured.len() as f64,
            measured.iter().filter_map(|m| m.wrong).sum(),
        )
    };
    b.add(
        "collbench_avg_bus_bandwidth_bytes_per_second",
        &[],
        avg * GB,
    );
    b.add("collbench_out_of_bounds_values", &[], wrong as f64);
    b.add("collbench_rows", &[], rows.len() as f64);
    let finished = report.end_time.is_some();
    b.add(
        "collbench_run_complete",
        &[],
        if finished && report.complete {
            1.0
        } else {
            0.0
        },
    );
    b.add(
        "collbench_run_interrupted",
        &[],
        if finished && !report.complete {
            1.0
        } else {
            0.0
        },
    );
    b.add(
        "collbench_last_update_timestamp_seconds",
        &[],
        now_unix_seconds,
    );
    b.add(
        "collbench_info",
        &[
            ("version", report.tool.version.clone()),
            ("library", report.backend.library.clone()),
            (
                "slurm_job_id",
                report
                    .slurm
                    .as_ref()
                    .and_then(|s| s.job_id.clone())
                    .unwrap_or_default(),
            ),
        ],
        1.0,
    );
    add_memory(&mut b, report);
    let mut hosts: Vec<FailingHost> = failing_hosts.to_vec();
    if let Some(v) = &report.verdict {
        b.add(
            "collbench_verdict_passed",
            &[("profile", v.profile.clone().unwrap_or_default())],
            if v.passed { 1.0 } else { 0.0 },
        );
        for check in &v.checks {
            let (unit, scale) = match check.unit.as_str() {
                "GB/s" => ("bytes_per_second", GB),
                other => (other, 1.0),
            };
            let labels = [
                ("check", check.kind.label().to_string()),
                (
                    "size_bytes",
                    check.size_bytes.map(|s| s.to_string()).unwrap_or_default(),
                ),
                (
                    "dtype",
                    check
                        .dtype
                        .map(|d| d.name().to_string())
                        .unwrap_or_default(),
                ),
                ("placement", check.placement.clone().unwrap_or_default()),
                ("unit", unit.replace(' ', "_")),
            ];
            b.add(
                "collbench_check_passed",
                &labels,
                if check.passed { 1.0 } else { 0.0 },
            );
            if check.kind != CheckKind::ProfileCoverage {
                b.add("collbench_check_measured", &labels, check.measured * scale);
                b.add(
                    "collbench_check_threshold",
                    &labels,
                    check.threshold * scale,
                );
            }
        }
        hosts.extend(v.failing_hosts().into_iter().map(|host| FailingHost {
            host,
            source: "verdict".into(),
        }));
    }
    for h in &hosts {
        b.add(
            "collbench_failing_host",
            &[("host", h.host.clone()), ("source", h.source.clone())],
            1.0,
        );
    }
    b.render()
}

fn add_measurement(b: &mut Builder, row: &ResultRow, placement: &str, m: &Measurement) {
    let labels = [
        ("size_bytes", row.size_bytes.to_string()),
        ("dtype", row.dtype.name().to_string()),
        ("redop", row.redop.clone()),
        ("root", row.root.to_string()),
        ("placement", placement.to_string()),
    ];
    b.add(
        "collbench_bus_bandwidth_bytes_per_second",
        &labels,
        m.bus_bandwidth_gbps * GB,
    );
    b.add(
        "collbench_algorithm_bandwidth_bytes_per_second",
        &labels,
        m.algbw_gbps * GB,
    );
    b.add(
        "collbench_operation_time_seconds",
        &labels,
        m.time_us * 1e-6,
    );
    if m.ranks.time_us_avg > 0.0 {
        b.add(
            "collbench_rank_time_max_over_avg_ratio",
            &labels,
            m.ranks.time_us_max / m.ranks.time_us_avg,
        );
    }
    if let Some(wait) = &m.run_queue_wait {
        b.add(
            "collbench_run_queue_wait_ratio",
            &labels,
            wait.max_percent / 100.0,
        );
    }
    if let Some(wrong) = m.wrong {
        b.add("collbench_wrong_elements", &labels, wrong as f64);
    }
}

pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Rewrites the textfile atomically at begin, after rows (at most every
/// [`PROGRESS_INTERVAL`], so a sweep of thousands of sizes does not rewrite it thousands of times)
/// and at finish.
pub struct PromFileSink {
    path: PathBuf,
    rows: Vec<ResultRow>,
    failing_hosts: Vec<FailingHost>,
    last_write: Option<std::time::Instant>,
    interval: std::time::Duration,
}

/// Least time between two progress rewrites of `--prom-file`.
pub const PROGRESS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

impl PromFileSink {
    pub fn new(path: &Path) -> PromFileSink {
        PromFileSink {
            path: path.to_path_buf(),
            rows: Vec::new(),
            failing_hosts: Vec::new(),
            last_write: None,
            interval: PROGRESS_INTERVAL,
        }
    }

    /// Progress rewrites at most every `interval` (`ZERO`: after every row).
    pub fn with_interval(mut self, interval: std::time::Duration) -> PromFileSink {
        self.interval = interval;
        self
    }

    /// Hosts found bad by pairwise isolation, written with the next update.
    pub fn set_failing_hosts(&mut self, hosts: Vec<FailingHost>) {
        self.failing_hosts = hosts;
    }

    fn write(&mut self, report: &Report, rows: &[ResultRow]) -> Result<()> {
        let text = exposition(report, rows, &self.failing_hosts, unix_now());
        write_atomically(&self.path, text.as_bytes())?;
        self.last_write = Some(std::time::Instant::now());
        Ok(())
    }
}

impl Sink for PromFileSink {
    fn begin(&mut self, report: &Report) -> Result<()> {
        self.rows.clear();
        self.write(report, &[])
    }

    fn row(&mut self, report: &Report, row: &ResultRow) -> Result<()> {
        self.rows.push(row.clone());
        let due = self.last_write.is_none_or(|t| t.elapsed() >= self.interval);
        if due {
            let rows = std::mem::take(&mut self.rows);
            let result = self.write(report, &rows);
            self.rows = rows;
            result?;
        }
        Ok(())
    }

    fn finish(&mut self, report: &Report) -> Result<()> {
        // The final report is authoritative when it carries the rows; else keep what we saw.
        if report.results.len() >= self.rows.len() {
            self.write(report, &report.results)
        } else {
            let rows = std::mem::take(&mut self.rows);
            self.write(report, &rows)
        }
    }
}
