//! Who to blame for a bandwidth shortfall, only with evidence.
//!
//! The ranks of a collective finish each operation together, so which rank's timed loop ended
//! last is no evidence: on uniform runs here the aggregating rank 0 ended last in 13 of 16
//! columns, 16 % over the rank average. What distinguishes a slow rank is the time it spends
//! where the others do not wait for it. With `-I 1 -z 3` every iteration starts at a barrier and
//! its timed span ends when the operation completed on that rank: the others' wait for a late
//! rank falls into the barrier, outside their span, while the late rank's own delay stays in its
//! span. So each process's per-iteration series (`per_iteration.per_process_times_us`) shows it.
//!
//! The rule: in each measured column with per-process series, the outlier is the process whose
//! median iteration time is furthest above the median of the other processes' medians. A
//! process (and its ranks and host) is named when it is that outlier in at least [`MIN_SHARE`] of
//! the columns, the share is beyond chance (binomial tail below [`MAX_P_VALUE`] when every process
//! is equally likely), and its median excess there is at least [`MIN_EXCESS_PERCENT`]. Without
//! per-process series (no `-I`, one process, nccl-tests files) or without `-z 3` (the others wait
//! inside the operation and no process stands out) nobody is named.

use crate::report::verdict::Blame;
use crate::report::{Measurement, RankPlacement, Report};

/// Share of the columns the named process must be the outlier in.
pub const MIN_SHARE: f64 = 0.75;
/// The chance of that share when every process is equally likely to be the outlier.
pub const MAX_P_VALUE: f64 = 0.001;
/// Median excess of the named process's iteration time over the others', percent.
pub const MIN_EXCESS_PERCENT: f64 = 200.0;

/// P(X ≥ k) for X ~ Binomial(n, p).
pub fn binomial_tail(n: usize, k: usize, p: f64) -> f64 {
    let mut total = 0.0;
    for i in k..=n {
        let log_choose = ln_factorial(n) - ln_factorial(i) - ln_factorial(n - i);
        total += (log_choose + i as f64 * p.ln() + (n - i) as f64 * (1.0 - p).ln()).exp();
    }
    total.min(1.0)
}

fn ln_factorial(n: usize) -> f64 {
    (2..=n).map(|i| (i as f64).ln()).sum()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The processes of the run as `per_process_times_us` orders them: (host, pid) by lowest rank,
/// with the ranks of each.
fn processes(ranks: &[RankPlacement]) -> Vec<(String, Vec<usize>)> {
    let mut ordered: Vec<&RankPlacement> = ranks.iter().collect();
    ordered.sort_by_key(|r| r.rank);
    let mut out: Vec<((String, u32), Vec<usize>)> = Vec::new();
    for r in ordered {
        let key = (r.host.clone(), r.pid);
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, ranks)) => ranks.push(r.rank),
            None => out.push((key, vec![r.rank])),
        }
    }
    out.into_iter()
        .map(|((host, _), ranks)| (host, ranks))
        .collect()
}

/// (outlier process index, its excess over the others' median, percent) of one column.
fn column_outlier(series: &[Vec<f64>]) -> Option<(usize, f64)> {
    let medians: Vec<f64> = series.iter().map(|s| median(&mut s.clone())).collect();
    let mut best: Option<(usize, f64)> = None;
    for (i, own) in medians.iter().enumerate() {
        let mut others: Vec<f64> = medians
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, m)| *m)
            .collect();
        let reference = median(&mut others);
        if reference <= 0.0 {
            continue;
        }
        let excess = (own / reference - 1.0) * 100.0;
        if best.is_none_or(|(_, b)| excess > b) {
            best = Some((i, excess));
        }
    }
    best
}

fn columns(report: &Report) -> impl Iterator<Item = &Measurement> {
    report
        .results
        .iter()
        .flat_map(|r| [r.out_of_place.as_ref(), r.in_place.as_ref()])
        .flatten()
}

/// The evidence about every process of `report`, and the process it names if it names one.
pub fn assess(report: &Report) -> Blame {
    let procs = processes(&report.ranks);
    let outliers: Vec<(usize, f64)> = columns(report)
        .filter_map(|m| m.per_iteration.as_ref())
        .map(|it| &it.per_process_times_us)
        .filter(|series| series.len() > 1 && series.len() == procs.len())
        .filter(|series| series.iter().all(|s| !s.is_empty()))
        .filter_map(|series| column_outlier(series))
        .collect();
    let mut counts = vec![0usize; procs.len()];
    for (p, _) in &outliers {
        counts[*p] += 1;
    }
    let (top, top_count) = counts
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
        .map(|(p, c)| (p, *c))
        .unwrap_or((0, 0));
    let mut excesses: Vec<f64> = outliers
        .iter()
        .filter(|(p, _)| *p == top)
        .map(|(_, e)| *e)
        .collect();
    let median_excess = median(&mut excesses);
    let share = top_count as f64 / outliers.len().max(1) as f64;
    let p_value = match procs.len() {
        0 | 1 => 1.0,
        n => binomial_tail(outliers.len(), top_count, 1.0 / n as f64),
    };
    let named = !outliers.is_empty()
        && share >= MIN_SHARE
        && p_value < MAX_P_VALUE
        && median_excess >= MIN_EXCESS_PERCENT;
    let (host, ranks) = procs.get(top).cloned().unwrap_or_default();
    Blame {
        named,
        rank: ranks.first().copied().unwrap_or(0),
        host,
        slowest_in: top_count,
        measurements: outliers.len(),
        p_value,
        median_excess_percent: median_excess,
        rule: format!(
            "per-process iteration times (-I 1 -z 3): a process is named when its median \
             iteration time is the furthest above the other processes' in >= {:.0}% of the \
             columns, with a chance below {MAX_P_VALUE} if every process were equally likely \
             (binomial), by a median of >= {MIN_EXCESS_PERCENT}%",
            MIN_SHARE * 100.0
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_tail_matches_hand_computed_values() {
        assert!((binomial_tail(10, 10, 0.25) - 0.25f64.powi(10)).abs() < 1e-15);
        assert!((binomial_tail(4, 0, 0.3) - 1.0).abs() < 1e-12);
        // P(X >= 6 | 10, 1/4) = 0.01973
        assert!((binomial_tail(10, 6, 0.25) - 0.019_727).abs() < 1e-5);
    }

    #[test]
    fn the_outlier_of_a_column_is_measured_against_the_others_median() {
        let series = vec![
            vec![10.0, 11.0, 10.0],
            vec![10.0; 3],
            vec![31.0, 30.0, 29.0],
        ];
        let (p, excess) = column_outlier(&series).unwrap();
        assert_eq!(p, 2);
        assert!((excess - 200.0).abs() < 1e-9, "{excess}");
    }
}
