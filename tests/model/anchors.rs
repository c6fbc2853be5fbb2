//! The collective model against real nccl-tests 2.19.6 output (../shared/anchors: one H100, one rank,
//! `-b 8 -e 4G -f 2`, float): for every row of every collective, the printed size and count, the redop
//! and root columns, the in-place N/A, and algbw/busbw recomputed from the printed time with our
//! `alg_bytes` and `bus_bw_factor`.

use crate::support::anchors::anchor_dir;
use collbench::collectives::{find, OpColumn};

struct Row {
    size: u64,
    count: usize,
    redop: String,
    root: i64,
    /// (time µs, algbw, busbw, #wrong) out of place, then in place.
    columns: [(f64, f64, f64, String); 2],
}

fn parse(text: &str) -> Vec<Row> {
    text.lines()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
        .map(|line| {
            let mut t: Vec<&str> = line.split_whitespace().collect();
            if t.len() == 12 {
                t.insert(3, ""); // hypercube prints an empty redop
            }
            assert_eq!(t.len(), 13, "unexpected row: {line}");
            let col = |i: usize| {
                (
                    t[i].parse().unwrap(),
                    t[i + 1].parse().unwrap(),
                    t[i + 2].parse().unwrap(),
                    t[i + 3].to_string(),
                )
            };
            Row {
                size: t[0].parse().unwrap(),
                count: t[1].parse().unwrap(),
                redop: t[3].to_string(),
                root: t[4].parse().unwrap(),
                columns: [col(5), col(9)],
            }
        })
        .collect()
}

#[test]
fn the_model_reproduces_every_anchor_row() {
    let dir = anchor_dir();
    let names = [
        "all_reduce",
        "all_gather",
        "reduce_scatter",
        "alltoall",
        "broadcast",
        "reduce",
        "sendrecv",
        "gather",
        "scatter",
        "hypercube",
    ];
    let mut rows_checked = 0;
    for name in names {
        let coll = find(name).unwrap();
        let path = dir.join(format!("{name}.txt"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(text.contains(&format!("# Collective test concluded: {name}_perf")));
        let rows = parse(&text);
        assert_eq!(rows.len(), 30, "{name}: 8 B .. 4 GiB");
        for (i, row) in rows.iter().enumerate() {
            let requested = 8usize << i;
            let counts = coll.counts(requested / 4, 4, 1);
            let what = format!("{name} {requested} B");
            assert_eq!(counts.size_bytes(4), row.size, "{what}: size column");
            assert_eq!(counts.param_count, row.count, "{what}: count column");
            let redop = match coll.op_column() {
                OpColumn::Reduction | OpColumn::Ignored => "sum",
                OpColumn::None => "none",
                OpColumn::Blank => "",
            };
            assert_eq!(row.redop, redop, "{what}: redop column");
            assert_eq!(
                row.root,
                if coll.uses_root() { 0 } else { -1 },
                "{what}: root column"
            );
            for (k, (time_us, algbw, busbw, wrong)) in row.columns.iter().enumerate() {
                let in_place = k == 1;
                let expect_na = in_place && !coll.in_place_checked();
                assert_eq!(
                    wrong == "N/A",
                    expect_na,
                    "{what} in_place={in_place}: #wrong {wrong}"
                );
                let ours = coll.alg_bytes(&counts, 4, 1) as f64 / (time_us * 1e-6) / 1e9;
                // Printed time and bandwidth are rounded (2 decimals; one significant digit in the
                // `6e+06` form nccl-tests uses for huge in-place numbers).
                let mut tolerance = 0.06 * algbw.abs() + 0.011;
                if *algbw >= 1e6 {
                    tolerance += 0.5 * 10f64.powf(algbw.log10().floor());
                }
                assert!(
                    (ours - algbw).abs() <= tolerance,
                    "{what} in_place={in_place}: algbw ours {ours} printed {algbw}"
                );
                let ours_bus = algbw * coll.bus_bw_factor(1);
                assert!(
                    (ours_bus - busbw).abs() <= 0.011 + 0.01 * busbw.abs(),
                    "{what}: busbw ours {ours_bus} printed {busbw}"
                );
            }
            rows_checked += 1;
        }
    }
    println!("{rows_checked} anchor rows reproduced");
}
