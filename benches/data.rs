//! Generator fill and host verification throughput, in bytes of output per second, per dtype.
//! `cargo bench --bench data` (criterion prints GiB/s). Sizes are modest: 1 MiB per buffer.

use collbench::collectives::Segment;
use collbench::data::{check_output, expected_bits, fill_input, ElementSource, GenParams};
use collbench::types::{DataType, ReduceOp};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const BYTES: usize = 1 << 20;
const NRANKS: usize = 8;

fn params(dtype: DataType, op: Option<ReduceOp>) -> GenParams {
    GenParams {
        seed: 1,
        nranks: NRANKS,
        dtype,
        op,
    }
}

fn op_name(op: Option<ReduceOp>) -> &'static str {
    op.map(|o| o.name()).unwrap_or("none")
}

fn fill(c: &mut Criterion) {
    let mut group = c.benchmark_group("fill");
    group.throughput(Throughput::Bytes(BYTES as u64));
    let mut buffer = vec![0u8; BYTES];
    for dtype in DataType::ALL {
        for op in [None, Some(ReduceOp::Sum)] {
            let p = params(dtype, op);
            group.bench_with_input(BenchmarkId::new(dtype.name(), op_name(op)), &p, |b, p| {
                b.iter(|| fill_input(p, 3, 0, black_box(&mut buffer)))
            });
        }
    }
    group.finish();
}

fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Bytes(BYTES as u64));
    for dtype in DataType::ALL {
        for op in [None, Some(ReduceOp::Sum)] {
            let p = params(dtype, op);
            let elt = dtype.size_bytes();
            let len = BYTES / elt;
            // A correct output: a copy of rank 2's input, or the allreduce result.
            let (segment, source) = match op {
                None => (
                    Segment::Copy {
                        dst_offset: 0,
                        len,
                        src_rank: 2,
                        src_offset: 0,
                    },
                    ElementSource::Copy { src_rank: 2 },
                ),
                Some(_) => (
                    Segment::Reduce {
                        dst_offset: 0,
                        len,
                        src_offset: 0,
                    },
                    ElementSource::Reduce,
                ),
            };
            let mut output = vec![0u8; BYTES];
            for i in 0..len {
                let bits = expected_bits(&p, source, i);
                output[i * elt..(i + 1) * elt].copy_from_slice(&bits.to_le_bytes()[..elt]);
            }
            assert_eq!(check_output(&p, 0, &[segment], &output).wrong, 0);
            group.bench_with_input(BenchmarkId::new(dtype.name(), op_name(op)), &p, |b, p| {
                b.iter(|| check_output(p, 0, black_box(&[segment]), black_box(&output)))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_millis(600)).warm_up_time(std::time::Duration::from_millis(200));
    targets = fill, verify
}
criterion_main!(benches);
