//! Cross-rank aggregation at scale: rank 0 decoding the gathered bytes of 16,384 ranks and
//! aggregating them into one table cell (goal: well under 1 s), with and without `-I` samples.

use collbench::aggregate::{
    aggregate_measurement, decode_samples, encode_samples, AggregateOptions, RankSample,
};
use collbench::plan::AverageMode;
use collbench::report::RankPlacement;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;

const RANKS: usize = 16_384;

fn placements() -> Vec<RankPlacement> {
    (0..RANKS)
        .map(|r| RankPlacement {
            rank: r,
            group: 0,
            host: format!("p5-st-{}", r / 8),
            pid: 10_000 + r as u32,
            device: Some((r % 8) as i32),
            bus_id: Some(format!("0000:{:02x}:00", r % 8)),
            device_name: "NVIDIA H100 80GB HBM3".into(),
        })
        .collect()
}

/// What every rank sends to rank 0 for one cell: its own encoded sample.
fn gathered(iterations: usize) -> Vec<Vec<u8>> {
    (0..RANKS)
        .map(|r| {
            let t = 1e-4 * (1.0 + (r % 97) as f64 / 1000.0);
            encode_samples(&[RankSample {
                rank: r,
                seconds_per_op: t,
                cpu_seconds_per_op: t,
                wrong: Some(0),
                first_wrong: None,
                per_iteration_us: (0..iterations)
                    .map(|i| t * 1e6 * (1.0 + ((i * 31 + r) % 17) as f64 / 500.0))
                    .collect(),
                batch_seconds_per_op: vec![t],
                run_queue_share: None,
            }])
        })
        .collect()
}

fn decode_and_aggregate(parts: &[Vec<u8>], placements: &[RankPlacement]) {
    let mut samples = Vec::with_capacity(parts.len());
    for p in parts {
        samples.extend(decode_samples(p).expect("decode"));
    }
    let opts = AggregateOptions {
        mode: AverageMode::Avg,
        per_iteration_skip: 0,
        report_cputime: false,
        center_is_reported: false,
    };
    let m =
        aggregate_measurement(&samples, placements, 1073741824.0, 1.9998, opts).expect("aggregate");
    black_box(m);
}

fn bench(c: &mut Criterion) {
    let placements = placements();
    let mut group = c.benchmark_group("aggregate_16384_ranks");
    group.sample_size(10);
    for iterations in [0usize, 20, 100] {
        let parts = gathered(iterations);
        group.bench_function(
            format!("decode+aggregate, {iterations} iterations per rank"),
            |b| {
                b.iter_batched(
                    || (),
                    |()| decode_and_aggregate(&parts, &placements),
                    BatchSize::SmallInput,
                )
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
