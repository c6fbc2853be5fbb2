//! Generator fill and host verification throughput beside this machine's `memcpy`, in GB/s of
//! buffer (10^9 bytes per second), one table: `cargo bench --bench data`.
//!
//! Buffers are 64 MiB (`COLLBENCH_BENCH_BYTES` changes it): larger than the caches, so every
//! column streams memory, as validation of a large row does. Each figure is the best of
//! `COLLBENCH_BENCH_REPS` (default 5) passes, timed by the CPU time of the measuring thread
//! (CLOCK_THREAD_CPUTIME_ID), so that time slices given to other jobs on a shared machine do not
//! count; the wall-clock rate of the best pass is printed beside it. memcpy is measured with every
//! row, and the table shows its median over rows. `COLLBENCH_BENCH_CASES=all` times every type with
//! every operator (and without one) instead of the six common cases; `half:sum,int8` names cases.

use collbench::collectives::Segment;
use collbench::data::{check_output, fill_input, GenParams, Scheme};
use collbench::types::{DataType, ReduceOp};
use std::hint::black_box;
use std::time::Instant;

/// Ranks of the generated data: two (the common host run), so a reduction has two contributors.
const NRANKS: usize = 2;

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: expected a whole number")),
        Err(_) => default,
    }
}

/// CPU seconds this thread has run.
fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `ts` is.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// (CPU seconds, wall seconds) of the pass of `reps` runs of `f` that took the least CPU time.
fn best_of(reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    (0..reps.max(1))
        .map(|_| {
            let (cpu, wall) = (thread_cpu_seconds(), Instant::now());
            f();
            (thread_cpu_seconds() - cpu, wall.elapsed().as_secs_f64())
        })
        .fold((f64::INFINITY, f64::INFINITY), |best, pass| {
            if pass.0 < best.0 {
                pass
            } else {
                best
            }
        })
}

/// (GB/s by CPU time, GB/s by wall time).
fn gbps(bytes: usize, (cpu, wall): (f64, f64)) -> (f64, f64) {
    (bytes as f64 / cpu / 1e9, bytes as f64 / wall / 1e9)
}

struct Row {
    dtype: DataType,
    op: Option<ReduceOp>,
    fill: (f64, f64),
    verify: (f64, f64),
    memcpy: (f64, f64),
}

fn measure(dtype: DataType, op: Option<ReduceOp>, bytes: usize, reps: usize) -> Row {
    let p = GenParams {
        seed: 1,
        nranks: NRANKS,
        dtype,
        op,
    };
    let len = bytes / dtype.size_bytes();
    let mut buffer = vec![0u8; bytes];
    let fill = best_of(reps, || fill_input(&p, 1, 0, black_box(&mut buffer)));
    // A correct output to verify: rank 1's input (a copy), or the reduction of both ranks'
    // inputs as the scheme defines it (bit-exact, what a correct library produces).
    let segment = match op {
        None => Segment::Copy {
            dst_offset: 0,
            len,
            src_rank: 1,
            src_offset: 0,
        },
        Some(_) => Segment::Reduce {
            dst_offset: 0,
            len,
            src_offset: 0,
        },
    };
    if op.is_some() {
        write_expected_reduction(&p, &mut buffer);
    }
    let outcome = check_output(&p, 0, &[segment], &buffer);
    assert_eq!(
        outcome.wrong, 0,
        "{dtype} {op:?}: the bench's output must be correct"
    );
    let verify = best_of(reps, || {
        black_box(check_output(
            &p,
            0,
            black_box(&[segment]),
            black_box(&buffer),
        ));
    });
    let mut destination = vec![1u8; bytes];
    let memcpy = best_of(reps, || {
        black_box(&mut destination).copy_from_slice(black_box(&buffer))
    });
    Row {
        dtype,
        op,
        fill: gbps(bytes, fill),
        verify: gbps(bytes, verify),
        memcpy: gbps(bytes, memcpy),
    }
}

/// Every element of `out` set to the reduction the scheme expects there.
fn write_expected_reduction(p: &GenParams, out: &mut [u8]) {
    let scheme = Scheme::new(p);
    let width = p.dtype.size_bytes();
    for (i, element) in out.chunks_exact_mut(width).enumerate() {
        let bits = scheme.expected_reduce(i as u64).0;
        element.copy_from_slice(&bits.to_le_bytes()[..width]);
    }
}

/// The table's cases: the common ones; with `COLLBENCH_BENCH_CASES=all` every type with every
/// operator and without one; or those listed, `TYPE:OP` or `TYPE` (no operator) by commas.
fn cases() -> Vec<(DataType, Option<ReduceOp>)> {
    match std::env::var("COLLBENCH_BENCH_CASES").as_deref() {
        Ok("all") => DataType::ALL
            .iter()
            .flat_map(|&dtype| {
                std::iter::once(None)
                    .chain(ReduceOp::ALL.iter().copied().map(Some))
                    .map(move |op| (dtype, op))
            })
            .collect(),
        Ok(list) => list.split(',').map(parse_case).collect(),
        Err(_) => vec![
            (DataType::Float, Some(ReduceOp::Sum)),
            (DataType::Float, None),
            (DataType::Double, Some(ReduceOp::Sum)),
            (DataType::Int32, Some(ReduceOp::Sum)),
            (DataType::Int8, None),
            (DataType::Bfloat16, None),
        ],
    }
}

/// `half:sum` or `int8` (a type without an operator).
fn parse_case(case: &str) -> (DataType, Option<ReduceOp>) {
    let (dtype, op) = case.split_once(':').unwrap_or((case, "none"));
    let wrong = format!("COLLBENCH_BENCH_CASES: {case:?} is not TYPE:OP or TYPE (e.g. half:sum)");
    let dtype = DataType::parse(dtype).expect(&wrong);
    match op {
        "none" => (dtype, None),
        op => (dtype, Some(ReduceOp::parse(op).expect(&wrong))),
    }
}

fn main() {
    // `cargo bench` passes --bench (and a filter, if given); nothing here takes arguments.
    let bytes = env_usize("COLLBENCH_BENCH_BYTES", 64 << 20);
    let reps = env_usize("COLLBENCH_BENCH_REPS", 5);
    let cases = cases();
    // The first case once more, untimed: here the first row measured everything, memcpy
    // included, 25-30 % slower than the same case measured again later in the process.
    if let Some(&(dtype, op)) = cases.first() {
        measure(dtype, op, bytes, 1);
    }
    let rows: Vec<Row> = cases
        .iter()
        .map(|&(dtype, op)| measure(dtype, op, bytes, reps))
        .collect();
    let mut memcpy: Vec<f64> = rows.iter().map(|r| r.memcpy.0).collect();
    memcpy.sort_by(f64::total_cmp);
    let median_memcpy = memcpy[memcpy.len() / 2];
    println!(
        "# fill and verify vs memcpy: {} MiB buffers, {NRANKS} ranks' data, best of {reps}; GB/s = 1e9 B/s",
        bytes >> 20
    );
    println!(
        "# memcpy (CPU time): median {median_memcpy:.2} GB/s (range {:.2}-{:.2} over the rows)",
        memcpy[0],
        memcpy[memcpy.len() - 1]
    );
    println!("# GB/s by CPU time (by wall time of the same pass in brackets)");
    println!(
        "{:<10} {:<5} {:>18} {:>18} {:>18} {:>12} {:>14}",
        "dtype", "op", "fill GB/s", "verify GB/s", "memcpy GB/s", "memcpy/fill", "memcpy/verify"
    );
    let cell = |(cpu, wall): (f64, f64)| format!("{cpu:.2} ({wall:.2})");
    for r in &rows {
        println!(
            "{:<10} {:<5} {:>18} {:>18} {:>18} {:>12.2} {:>14.2}",
            r.dtype.name(),
            r.op.map(|o| o.name()).unwrap_or("none"),
            cell(r.fill),
            cell(r.verify),
            cell(r.memcpy),
            r.memcpy.0 / r.fill.0,
            r.memcpy.0 / r.verify.0
        );
    }
}
