//! Turning result rows into the HyperPod-style summary, the threshold checks and the text table.

use super::results::{Operation, RowResult};
use super::stats::SweepSummary;
use serde::{Deserialize, Serialize};

/// Limits from the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// MaxBw (send/recv, GB/s) must reach this.
    pub min_bw_gb_per_s: Option<f64>,
    /// MinTypicalLat (send/recv, us) must not exceed this.
    pub max_lat_us: Option<f64>,
}

/// Outcome of a sweep: summary, and every reason it failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub summary: Option<SweepSummary>,
    pub verified_messages: u64,
    pub wrong_messages: u64,
    pub failures: Vec<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

pub fn evaluate(rows: &[RowResult], thresholds: Thresholds) -> Verdict {
    let send_recv: Vec<&RowResult> = rows
        .iter()
        .filter(|r| r.operation == Operation::SendRecv)
        .collect();
    let bandwidths: Vec<_> = send_recv.iter().filter_map(|r| r.bandwidth).collect();
    let latencies: Vec<_> = send_recv.iter().filter_map(|r| r.latency).collect();
    let summary = SweepSummary::from_sizes(&bandwidths, &latencies);
    let verified_messages = rows.iter().map(|r| r.verified_messages).sum();
    let wrong_messages: u64 = rows.iter().map(|r| r.wrong_messages).sum();
    let mut failures = Vec::new();
    if wrong_messages > 0 {
        failures.push(format!(
            "{wrong_messages} of {verified_messages} messages arrived with a wrong payload"
        ));
    }
    match (summary, thresholds.min_bw_gb_per_s) {
        (Some(s), Some(min)) if s.max_bw_gb_per_s < min => failures.push(format!(
            "MaxBw {:.3} GB/s is below --min-bw {min}",
            s.max_bw_gb_per_s
        )),
        (None, Some(_)) => {
            failures.push("no bandwidth was measured to compare with --min-bw".into())
        }
        _ => {}
    }
    match (summary, thresholds.max_lat_us) {
        (Some(s), Some(max)) if s.min_typical_lat_us > max => failures.push(format!(
            "MinTypicalLat {:.2} us is above --max-lat {max}",
            s.min_typical_lat_us
        )),
        (None, Some(_)) => {
            failures.push("no latency was measured to compare with --max-lat".into())
        }
        _ => {}
    }
    Verdict {
        summary,
        verified_messages,
        wrong_messages,
        failures,
    }
}

fn cell(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

/// Header and one line per row, nccl-tests style (columns right-aligned, '#' comments).
pub fn table(rows: &[RowResult]) -> String {
    let mut out = format!(
        "#{:>10} {:>12} {:>7} {:>12} {:>12} {:>12} {:>12} {:>13} {:>13} {:>9} {:>7}\n",
        "operation",
        "size(B)",
        "window",
        "lat_min(us)",
        "lat_avg(us)",
        "lat_typ(us)",
        "lat_max(us)",
        "bw_max(GB/s)",
        "bw_avg(GB/s)",
        "verified",
        "#wrong"
    );
    for row in rows {
        let lat = row.latency;
        let bw = row.bandwidth;
        out.push_str(&format!(
            " {:>10} {:>12} {:>7} {:>12} {:>12} {:>12} {:>12} {:>13} {:>13} {:>9} {:>7}\n",
            row.operation.name(),
            row.size_bytes,
            row.window,
            cell(lat.map(|l| l.min_us), 2),
            cell(lat.map(|l| l.avg_us), 2),
            cell(lat.map(|l| l.typical_us), 2),
            cell(lat.map(|l| l.max_us), 2),
            cell(bw.map(|b| b.max_gb_per_s), 3),
            cell(bw.map(|b| b.avg_gb_per_s), 3),
            row.verified_messages,
            row.wrong_messages
        ));
    }
    out
}

/// The summary block in the shape of HyperPod's EFA loopback check ("EFA Loopback check passed
/// for device: …" followed by MaxBw, AvgBw, MaxTypicalLat, MinTypicalLat, AvgLat).
pub fn summary_block(check: &str, subject: &str, verdict: &Verdict) -> String {
    let status = if verdict.passed() { "passed" } else { "FAILED" };
    let mut out = format!("{check} check {status} for {subject}\n");
    if let Some(s) = verdict.summary {
        out.push_str(&format!("  MaxBw: {:.6} GB/s\n", s.max_bw_gb_per_s));
        out.push_str(&format!("  AvgBw: {:.6} GB/s\n", s.avg_bw_gb_per_s));
        out.push_str(&format!(
            "  MaxTypicalLat: {:.6} us\n",
            s.max_typical_lat_us
        ));
        out.push_str(&format!(
            "  MinTypicalLat: {:.6} us\n",
            s.min_typical_lat_us
        ));
        out.push_str(&format!("  AvgLat: {:.6} us\n", s.avg_lat_us));
    }
    out.push_str(&format!(
        "  Verified: {} messages, {} wrong\n",
        verdict.verified_messages, verdict.wrong_messages
    ));
    for failure in &verdict.failures {
        out.push_str(&format!("  FAIL: {failure}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::stats::{BandwidthSummary, LatencySummary};

    fn row(operation: Operation, size: usize, bw: f64, typical: f64, wrong: u64) -> RowResult {
        RowResult {
            operation,
            size_bytes: size,
            window: 4,
            latency: Some(LatencySummary {
                samples: 10,
                min_us: typical,
                avg_us: typical,
                typical_us: typical,
                max_us: typical,
            }),
            bandwidth: Some(BandwidthSummary {
                batches: 2,
                max_gb_per_s: bw,
                avg_gb_per_s: bw,
            }),
            wrong_messages: wrong,
            verified_messages: 10,
        }
    }

    #[test]
    fn thresholds_use_send_recv_rows_only() {
        let rows = [
            row(Operation::SendRecv, 8, 0.5, 10.0, 0),
            row(Operation::SendRecv, 1024, 2.0, 20.0, 0),
            row(Operation::Write, 1024, 50.0, 1.0, 0),
        ];
        let pass = evaluate(
            &rows,
            Thresholds {
                min_bw_gb_per_s: Some(1.5),
                max_lat_us: Some(15.0),
            },
        );
        assert!(pass.passed(), "{:?}", pass.failures);
        assert_eq!(pass.summary.unwrap().max_bw_gb_per_s, 2.0);
        let fail = evaluate(
            &rows,
            Thresholds {
                min_bw_gb_per_s: Some(3.0),
                max_lat_us: Some(5.0),
            },
        );
        assert_eq!(fail.failures.len(), 2, "{:?}", fail.failures);
        assert!(fail.failures[0].contains("MaxBw 2.000 GB/s is below --min-bw 3"));
        assert!(fail.failures[1].contains("MinTypicalLat 10.00 us is above --max-lat 5"));
    }

    #[test]
    fn wrong_payloads_fail_even_without_thresholds() {
        let rows = [
            row(Operation::Read, 8, 1.0, 1.0, 1),
            row(Operation::SendRecv, 8, 1.0, 1.0, 0),
        ];
        let verdict = evaluate(&rows, Thresholds::default());
        assert!(!verdict.passed());
        assert_eq!(verdict.wrong_messages, 1);
        let text = summary_block("Loopback", "provider shm, domain shm", &verdict);
        assert!(
            text.starts_with("Loopback check FAILED for provider shm, domain shm\n"),
            "{text}"
        );
        assert!(text.contains("MaxBw: 1.000000 GB/s"));
        assert!(table(&rows).lines().count() == 3);
    }
}
