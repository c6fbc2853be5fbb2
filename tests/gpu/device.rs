//! Device test of the NCCL backend on a real GPU (run by `make gpu-check`; skipped where no GPU is
//! usable, and a failure there when COLLBENCH_REQUIRE_GPU=1):
//! - GPU fill == host fill, bit for bit, for every dtype and value range;
//! - all_reduce for every dtype × op, in and out of place, checked on the device with 0 wrong;
//! - a planted corruption is found (wrong > 0, first wrong element reported);
//! - graph mode (-G) and per-iteration events (-I) produce sane timings;
//! - a timing sweep like the anchors' (`-b 8 -e 4G -f 2 -n 50 -w 5`), with the anchor ratio.
//! - every registered collective × dtype × op (its operators, or none), in and out of place;
//! - `-x 1` communicators (ncclCommInitRankConfig) check with 0 wrong; `-D 1 -R 2` is refused as
//!   not implemented once its requirements were checked.

use collbench::backend::gpu::{GpuBackend, GpuOptions, GpuSetup};
use collbench::backend::{Backend, CallSpec, CorruptOutput};
use collbench::collectives::{Collective, OpColumn, REGISTRY};
use collbench::plan::BlockingMode;
use collbench::plan::TimingPlan;
use collbench::types::{DataType, ReduceOp};
use collbench::world::SingleProcess;
use std::time::Instant;

fn all_reduce() -> &'static dyn Collective {
    collbench::collectives::find("all_reduce").expect("all_reduce is registered")
}

fn options() -> GpuOptions {
    GpuOptions {
        nthreads: 1,
        ngpus: 1,
        parallel_init: false,
        validate: true,
        register: 0,
        unalign: 0,
        timeout: Some(std::time::Duration::from_secs(60)),
        stream_null: false,
        average: collbench::plan::AverageMode::Avg,
        wait_hook: Default::default(),
        device_base: None,
        cta_policy: None,
        device_implementation: None,
    }
}

fn call_of(
    collective: &'static dyn Collective,
    dtype: DataType,
    op: Option<ReduceOp>,
    bytes: usize,
    in_place: bool,
) -> CallSpec<'static> {
    let count = bytes / dtype.size_bytes();
    CallSpec {
        collective,
        dtype,
        op,
        root: 0,
        counts: collective.counts(count, dtype.size_bytes(), 1),
        in_place,
        seed: 0xC011_BE4C,
    }
}

fn call(dtype: DataType, op: Option<ReduceOp>, bytes: usize, in_place: bool) -> CallSpec<'static> {
    call_of(all_reduce(), dtype, op, bytes, in_place)
}

fn timing(iters: usize, graph: usize, per_iteration: bool) -> TimingPlan {
    TimingPlan {
        iters,
        agg_iters: 1,
        graph_launches: graph,
        blocking_mode: BlockingMode::Off,
        per_iteration,
        per_iteration_skip: 0,
        report_cputime: false,
    }
}

/// (size, out-of-place time us, in-place time us) from an nccl-tests text output.
fn anchor_rows(file: &str) -> Vec<(u64, f64, f64)> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 13 {
                return None;
            }
            Some((f[0].parse().ok()?, f[5].parse().ok()?, f[9].parse().ok()?))
        })
        .collect()
}

#[test]
fn gpu_backend_on_a_real_gpu() {
    let require = std::env::var_os("COLLBENCH_REQUIRE_GPU").is_some();
    let probe = collbench::backend::nccl::probe();
    let info = match probe {
        Ok(info) => info,
        Err(e) => {
            assert!(
                !require,
                "COLLBENCH_REQUIRE_GPU is set but the GPU backend is unusable: {e}"
            );
            eprintln!("SKIPPED: no usable GPU/NCCL here: {e}");
            return;
        }
    };
    println!(
        "PROBE gpus={} nccl={} path={}",
        info.gpu_count, info.version, info.library_path
    );
    let started = Instant::now();
    let mut backend = GpuBackend::new(GpuSetup {
        options: options(),
        world: Box::new(SingleProcess::new()),
        local_rank: 0,
        group: 0,
        net_log: None,
    })
    .expect("backend");
    println!(
        "INIT {:.1} ms; kernels {:?}",
        started.elapsed().as_secs_f64() * 1e3,
        backend.kernel_origins()
    );
    println!("PLACEMENT {:?}", backend.placements());
    println!("MAX_BUFFER_BYTES {:?}", backend.max_buffer_bytes());

    // 1. GPU fill == host fill.
    let lines = backend.selftest_fill(1 << 16, 0x5EED).expect("selftest");
    let mut fill_failures = 0;
    for l in &lines {
        let verdict = if l.mismatches == 0 { "PASS" } else { "FAIL" };
        if l.mismatches > 0 {
            fill_failures += 1;
        }
        println!(
            "SELFTEST {verdict} fill {:>9} {:>7} elements={} mismatches={} first={:?}",
            l.dtype.name(),
            l.op.map(|o| o.name()).unwrap_or("none"),
            l.elements,
            l.mismatches,
            l.first_mismatch
        );
    }
    assert_eq!(lines.len(), DataType::ALL.len() * (ReduceOp::ALL.len() + 1));

    // 2. Every collective × dtype × op, in and out of place, two sizes.
    backend.allocate(64 << 20, 64 << 20).expect("allocate");
    let mut check_failures = 0;
    let mut checks = 0;
    for &collective in REGISTRY {
        if let Some(problem) = collective.rank_count_problem(1) {
            println!("CHECK SKIP {}: {problem}", collective.name());
            continue;
        }
        let ops: Vec<Option<ReduceOp>> = if collective.op_column() == OpColumn::Reduction {
            ReduceOp::ALL.iter().map(|o| Some(*o)).collect()
        } else {
            vec![None]
        };
        for dtype in DataType::ALL {
            for &op in &ops {
                let label = op.map(|o| o.name()).unwrap_or("none");
                if let Some(why) = backend.unsupported(dtype, op) {
                    // Prove the skip is NCCL's limit, not ours: the launch must be refused.
                    let c = call_of(collective, dtype, op, 4096, false);
                    let refused = backend.warmup(&c, 1).err().map(|e| e.to_string());
                    println!(
                        "CHECK SKIP {} {dtype} {label}: {why}; NCCL refuses it: {refused:?}",
                        collective.name()
                    );
                    continue;
                }
                for bytes in [4096 + 24, 8 << 20] {
                    for in_place in [false, true] {
                        let c = call_of(collective, dtype, op, bytes, in_place);
                        let outcome = backend
                            .prepare(&c)
                            .and_then(|_| backend.warmup(&c, 1))
                            .and_then(|_| backend.check(&c));
                        checks += 1;
                        let placement = if in_place { "in-place" } else { "out-of-place" };
                        match outcome {
                            Ok(o) if o.wrong == 0 => println!(
                                "CHECK PASS {} {dtype} {label} {bytes} B {placement}",
                                collective.name()
                            ),
                            Ok(o) => {
                                check_failures += 1;
                                println!("CHECK FAIL {} {dtype} {label} {bytes} B {placement} wrong={} first={:?}", collective.name(), o.wrong, o.first);
                            }
                            Err(e) => {
                                check_failures += 1;
                                println!("CHECK FAIL {} {dtype} {label} {bytes} B {placement} error: {e}", collective.name());
                            }
                        }
                    }
                }
            }
        }
    }
    println!("CHECKS {checks} run, {check_failures} failed");

    // 3. Planted corruption is detected.
    let c = call(DataType::Float, Some(ReduceOp::Sum), 1 << 20, false);
    backend.prepare(&c).unwrap();
    backend.warmup(&c, 1).unwrap();
    backend.corrupt_output(&c, 0, 777).unwrap();
    let corrupted = backend.check(&c).unwrap();
    println!(
        "CORRUPT wrong={} first={:?}",
        corrupted.wrong, corrupted.first
    );
    assert_eq!(corrupted.wrong, 1);
    assert_eq!(corrupted.first.as_ref().map(|f| f.index), Some(777));

    // 4. Timing sweep like the anchors, then graph and per-iteration modes.
    let anchors = std::env::var("COLLBENCH_ANCHORS")
        .unwrap_or_else(|_| "../shared/anchors/h100-1gpu-nccl-tests-2.19.6".into());
    let anchor = anchor_rows(&format!("{anchors}/all_reduce.txt"));
    let max_bytes = (4u64 << 30).min(backend.max_buffer_bytes().unwrap_or(0));
    backend
        .allocate(max_bytes as usize, max_bytes as usize)
        .expect("allocate 4G");
    println!(
        "SWEEP {:>12} {:>10} {:>10} {:>8} | {:>10} {:>8} | anchor oop/ip",
        "size", "oop_us", "algbw", "ratio", "ip_us", "ratio"
    );
    let mut bytes = 8u64;
    while bytes <= max_bytes {
        let mut row = Vec::new();
        for in_place in [false, true] {
            let c = call(
                DataType::Float,
                Some(ReduceOp::Sum),
                bytes as usize,
                in_place,
            );
            backend.warmup(&c, 5).unwrap();
            let t = backend.measure(&c, &timing(50, 0, false)).unwrap();
            row.push(t.seconds_per_op * 1e6);
        }
        let a = anchor.iter().find(|r| r.0 == bytes);
        let algbw = bytes as f64 / (row[0] * 1e-6) / 1e9;
        println!(
            "SWEEP {bytes:>12} {:>10.2} {:>10.2} {:>8} | {:>10.2} {:>8} | {:?}",
            row[0],
            algbw,
            a.map(|a| format!("{:.3}", row[0] / a.1))
                .unwrap_or_default(),
            row[1],
            a.map(|a| format!("{:.3}", row[1] / a.2))
                .unwrap_or_default(),
            a.map(|a| (a.1, a.2))
        );
        bytes *= 2;
    }
    backend.allocate(8 << 20, 8 << 20).unwrap();
    for size in [8usize, 64, 512, 4096, 32768, 262144, 2097152] {
        let mut row = Vec::new();
        for in_place in [false, true] {
            let c = call(DataType::Float, Some(ReduceOp::Sum), size, in_place);
            backend.warmup(&c, 1).unwrap();
            row.push(
                backend
                    .measure(&c, &timing(20, 10, false))
                    .unwrap()
                    .seconds_per_op
                    * 1e6,
            );
        }
        println!("GRAPH10 {size:>9} oop {:.2} us ip {:.2} us", row[0], row[1]);
    }
    let c = call(DataType::Float, Some(ReduceOp::Sum), 8, false);
    let t = backend.measure(&c, &timing(20, 0, true)).unwrap();
    println!(
        "PERITER {:?}",
        t.per_iteration_us
            .iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(t.per_iteration_us.len(), 20);
    for memory in backend.memory_usage().unwrap() {
        print!("MEMORY {}", collbench::report::memory::memory_line(&memory));
    }
    assert_eq!(fill_failures, 0, "GPU fill differs from host fill");
    assert_eq!(check_failures, 0, "validation found wrong results");
}

/// `-x 1` on a real GPU: with NCCL 2.27 or newer the communicator comes from
/// ncclCommInitRankConfig with CTAPolicy set and all_reduce checks with 0 wrong (older: refused);
/// `-D 1 -R 2` stops, once NCCL's device API (2.28) and the LSA team were checked, with the "not
/// implemented" refusal (exit 6).
#[test]
fn cta_policy_and_device_kernels_on_a_real_gpu() {
    let require = std::env::var_os("COLLBENCH_REQUIRE_GPU").is_some();
    let info = match collbench::backend::nccl::probe() {
        Ok(info) => info,
        Err(e) => {
            assert!(!require, "COLLBENCH_REQUIRE_GPU is set but: {e}");
            eprintln!("SKIPPED: no usable GPU/NCCL here: {e}");
            return;
        }
    };
    let setup = |options: GpuOptions| GpuSetup {
        options,
        world: Box::new(SingleProcess::new()),
        local_rank: 0,
        group: 0,
        net_log: None,
    };
    let mut options_x = options();
    options_x.cta_policy = Some(collbench::plan::device_api::CtaPolicy::Efficiency);
    if info.version_code >= 22700 {
        let mut backend = GpuBackend::new(setup(options_x)).expect("backend with -x 1");
        backend.allocate(1 << 20, 1 << 20).unwrap();
        for in_place in [false, true] {
            let c = call(DataType::Float, Some(ReduceOp::Sum), 1 << 20, in_place);
            backend.prepare(&c).unwrap();
            backend.warmup(&c, 1).unwrap();
            let outcome = backend.check(&c).unwrap();
            println!(
                "CTA_POLICY -x 1 in_place={in_place} wrong={}",
                outcome.wrong
            );
            assert_eq!(outcome.wrong, 0);
        }
    } else {
        let err = GpuBackend::new(setup(options_x))
            .err()
            .expect("-x 1 refused");
        println!("CTA_POLICY -x 1 on NCCL {}: {err}", info.version);
        assert!(err.to_string().contains("needs NCCL 2.27.0"), "{err}");
    }

    let mut options_d = options();
    options_d.register = 2;
    options_d.device_implementation = Some(collbench::plan::device_api::DeviceImplementation {
        kernel: collbench::plan::device_api::find("all_reduce", 1).unwrap(),
        cta_count: 16,
    });
    let err = GpuBackend::new(setup(options_d))
        .err()
        .expect("-D 1 is refused");
    println!("DEVICE_IMPLEMENTATION -D 1: {err}");
    assert_eq!(err.exit_code(), 6);
    let expected = if info.version_code >= 22800 {
        "does not implement nccl-tests' device-API kernels"
    } else {
        "needs NCCL 2.28.0 or newer"
    };
    assert!(err.to_string().contains(expected), "{err}");
}
