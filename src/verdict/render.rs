//! The verdict block, printed to stderr after the table. Every line starts with `#` like
//! nccl-tests' own comment lines, so scripts that skip comments keep working; `# Verdict: PASS|FAIL`
//! is the line to grep. Worded for a merged `2>&1` log (docs/output.md): no line holds a token
//! that scripts look for in nccl-tests' output (`bandwidth`, `Avg bus`, `out-of-place`,
//! `in-place`, `Out of bounds`, `FAILED`, `error`).

use super::{Blame, Check, CheckKind, SlowRank, Verdict};
use crate::report::units::format_gbps;

/// The block, one `\n`-terminated line each.
pub fn block(verdict: &Verdict) -> String {
    let mut out = String::new();
    let failed = verdict.checks.iter().filter(|c| !c.passed).count();
    out.push_str(&format!(
        "# Verdict: {} ({} of {} checks passed{}, {} node{})\n",
        match (verdict.passed, verdict.warned) {
            (false, _) => "FAIL",
            (true, true) => "WARN",
            (true, false) => "PASS",
        },
        verdict.checks.len() - failed,
        verdict.checks.len(),
        verdict
            .profile
            .as_ref()
            .map(|p| format!(", profile {p}"))
            .unwrap_or_default(),
        verdict.nodes,
        if verdict.nodes == 1 { "" } else { "s" }
    ));
    if let Some(note) = &verdict.note {
        out.push_str(&format!("#  note: {note}\n"));
    }
    // Only data and completeness judged: `collbench accept` given no threshold at all.
    if verdict.note.is_none()
        && verdict
            .checks
            .iter()
            .all(|c| matches!(c.kind, CheckKind::Data | CheckKind::Complete))
    {
        out.push_str(
            "#  note: busbw not judged (no --min-busbw, NCCL_TESTS_MIN_BW or --profile)\n",
        );
    }
    for check in &verdict.checks {
        out.push_str(&format!(
            "#  {}  {}\n",
            match (check.passed, check.kind.warns_only()) {
                (true, _) => "PASS",
                (false, true) => "WARN",
                (false, false) => "FAIL",
            },
            one_line(check)
        ));
        // A network check's one line already is its basis (required and selected networks).
        if check.kind != CheckKind::Network {
            out.push_str(&format!("#        basis: {}\n", check.basis));
        }
        if let Some(slow) = check.slowest.as_ref().filter(|_| !check.passed) {
            out.push_str(&format!("#        {}\n", describe_rank(slow, check.kind)));
        }
        if let Some(busy) = &check.busy_rank {
            out.push_str(&format!(
                "#        measured while rank {} on {} waited {:.0}% of the timed loop for a CPU (held \
                 by another program or, oversubscribed, another rank): rerun before judging the \
                 fabric\n",
                busy.rank, busy.host, busy.wait_percent
            ));
        }
    }
    if let Some(blame) = &verdict.blame {
        out.push_str(&blame_lines(blame));
    }
    if (!verdict.passed || verdict.warned) && !verdict.slowest_ranks.is_empty() {
        out.push_str("# Slowest ranks in failing checks:\n");
        for slow in &verdict.slowest_ranks {
            out.push_str(&format!(
                "#   rank {} on {}{}{}: slowest in {} failing check{}{}\n",
                slow.rank,
                slow.host,
                slow.device
                    .map(|d| format!(" device {d}"))
                    .unwrap_or_default(),
                slow.device_name
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default(),
                slow.failing_checks,
                if slow.failing_checks == 1 { "" } else { "s" },
                over_average(slow)
            ));
        }
    }
    out
}

/// One check on one line: what was measured against what.
pub fn one_line(check: &Check) -> String {
    let mut what = vec![check.kind.label().to_string()];
    if let Some(c) = &check.collective {
        what.push(c.clone());
    }
    if let Some(size) = check.size_bytes {
        what.push(format!("{size} B"));
    }
    if let Some(dtype) = check.dtype {
        what.push(dtype.name().to_string());
    }
    // `out_of_place` as in the JSON: the table's `out-of-place` is a token parsers look for.
    if let Some(p) = &check.placement {
        what.push(p.clone());
    }
    let relation = if check.passed { ">=" } else { "<" };
    match check.kind {
        CheckKind::Data => format!(
            "{}: {} wrong elements (allowed {})",
            what.join(" "),
            check.measured,
            check.threshold
        ),
        CheckKind::Complete if check.passed => {
            format!("{}: all {} rows measured", what.join(" "), check.measured)
        }
        CheckKind::Complete => format!(
            "{}: {} rows finished before the run stopped",
            what.join(" "),
            check.measured
        ),
        CheckKind::ProfileCoverage if check.unit == "ranks" => format!(
            "{}: {} ranks where the profile expects {}",
            what.join(" "),
            check.measured,
            check.threshold
        ),
        CheckKind::ProfileCoverage => format!("{}: nothing to compare", what.join(" ")),
        CheckKind::Network => format!(
            "{}: {} of {} ranks on the required network; {}",
            what.join(" "),
            check.measured,
            check.threshold,
            check.basis
        ),
        _ => format!(
            "{}: busbw {} {} {} {} {}",
            what.join(" "),
            format_gbps(check.measured),
            check.unit,
            relation,
            format_gbps(check.threshold),
            check.unit
        ),
    }
}

fn describe_rank(slow: &SlowRank, kind: CheckKind) -> String {
    let device = slow
        .device
        .map(|d| format!(" device {d}"))
        .unwrap_or_default();
    let name = slow
        .device_name
        .as_ref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    if kind == CheckKind::Data {
        return format!(
            "first wrong element on rank {} host {}{device}{name}",
            slow.rank, slow.host
        );
    }
    if kind == CheckKind::Network {
        return format!(
            "first rank off the required network: rank {} on {}{device}{name}",
            slow.rank, slow.host
        );
    }
    format!(
        "slowest: rank {} on {}{device}{name}: {:.1} us vs {:.1} us rank average",
        slow.rank, slow.host, slow.time_us, slow.rank_avg_time_us
    )
}

fn over_average(slow: &SlowRank) -> String {
    if slow.rank_avg_time_us > 0.0 && slow.time_us > 0.0 {
        format!(
            ", up to {:+.1}% over the rank average",
            (slow.time_us / slow.rank_avg_time_us - 1.0) * 100.0
        )
    } else {
        String::new()
    }
}

/// What the blame evidence says: the outlier with its numbers, or that nobody stands out.
pub fn blame_lines(blame: &Blame) -> String {
    if blame.measurements == 0 {
        return format!(
            "# No rank stands out: run accept --pairwise to isolate\n#        evidence: none \
             (no per-process iteration times; run with -I 1 -z 3 to measure them)\n#        rule: {}\n",
            blame.rule
        );
    }
    let evidence = format!(
        "the process of rank {} on {} was the slowest process in {} of {} columns (chance {:.1e} \
         if every process were equally likely), median {:+.1}% over the others there",
        blame.rank,
        blame.host,
        blame.slowest_in,
        blame.measurements,
        blame.p_value,
        blame.median_excess_percent
    );
    if blame.named {
        format!("# Outlier: {evidence}\n#        rule: {}\n", blame.rule)
    } else {
        format!(
            "# No rank stands out: run accept --pairwise to isolate\n#        evidence: {evidence}\n#        rule: {}\n",
            blame.rule
        )
    }
}
