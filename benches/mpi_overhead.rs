//! How much the mpi backend adds on top of MPI: in one run, 2 ranks time the same all_reduce
//! (float, sum, same size, same iteration count) through collbench's host backend (collective
//! launch → Primitives → MPI_Allreduce, timed by the shared timed loop) and through a bare rsmpi
//! loop, at 8 B and 16 MiB, and print backend time / bare time (goal ≤ 1.03).
//!
//! `cargo bench --features mpi --bench mpi_overhead` starts itself under
//! `mpirun --allow-run-as-root --oversubscribe -np 2` (set COLLBENCH_BENCH_RANKS to change the
//! rank count). The two variants alternate in short rounds (which one goes first flips every
//! round); the ratio reported is the median over rounds of backend/bare of the same round, so
//! background load (this machine is shared) hits both sides of each ratio alike. Times are the
//! medians over rounds; every value is the mean over ranks of each rank's median.

use collbench::backend::host::buffer::HostBuffer;
use collbench::backend::host_mpi::{host_placement, HostBackend};
use collbench::backend::{Backend, CallSpec};
use collbench::collectives::find;
use collbench::plan::BlockingMode;
use collbench::plan::TimingPlan;
use collbench::types::{DataType, ReduceOp};
use collbench::world::{MpiWorld, Reduction, ThreadUse, World};
use mpi::collective::SystemOperation;
use mpi::traits::*;
use std::process::Command;
use std::time::Instant;

/// Marks the processes mpirun started (so they do not start mpirun again).
const CHILD_FLAG: &str = "--collbench-mpi-overhead-rank";

/// (bytes, iterations per round, rounds): rounds of a few ms at 8 B, of ~0.1 s at 16 MiB.
const CASES: [(usize, usize, usize); 2] = [(8, 1_000, 201), (16 << 20, 5, 61)];

fn main() {
    if std::env::args().any(|a| a == CHILD_FLAG) {
        rank_main();
        return;
    }
    let ranks = std::env::var("COLLBENCH_BENCH_RANKS").unwrap_or_else(|_| "2".to_string());
    let program = std::env::current_exe().expect("the bench binary's path");
    let status = Command::new("timeout")
        .args([
            "600",
            "mpirun",
            "--allow-run-as-root",
            "--oversubscribe",
            "-np",
            &ranks,
        ])
        .arg(&program)
        .arg(CHILD_FLAG)
        .status()
        .expect("mpirun (Open MPI) must be installed to run this bench");
    std::process::exit(status.code().unwrap_or(1));
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn rank_main() {
    // The heap the binary runs with (freed blocks stay in the process), set before MPI starts as
    // collbench does: the 16 MiB ratio moves with the heap (docs/benchmarks.md).
    collbench::backend::host::heap::keep_freed_memory();
    // The thread level of a run without -T, as collbench itself asks for it.
    let (world, _) = MpiWorld::init_for(ThreadUse::MainThreadOnly).expect("MPI_Init");
    let mut backend = HostBackend::mpi(&world, host_placement(world.rank(), 0, world.hostname()))
        .expect("the mpi backend");
    let all_reduce = find("all_reduce").expect("all_reduce is registered");
    // The backend runs on a private duplicate of the world communicator, made with
    // MPI_Comm_create_group (no libnbc progress left registered); so does the bare loop.
    let bare = world
        .comm()
        .split_by_subgroup_with_tag(&world.comm().group(), 7)
        .expect("a duplicate of the world communicator");
    if world.rank() == 0 {
        println!(
            "# mpi backend vs bare rsmpi MPI_Allreduce (float, sum), {} ranks, alternating rounds; medians per rank, mean over ranks",
            world.size()
        );
        println!(
            "# {:>10}  {:>8}  {:>6}  {:>14}  {:>14}  {:>7}",
            "size (B)", "iters", "rounds", "backend (us)", "bare (us)", "ratio"
        );
    }
    for (bytes, iters, rounds) in CASES {
        let count = bytes / 4;
        backend.allocate(bytes, bytes).expect("buffers");
        let call = CallSpec {
            collective: all_reduce,
            dtype: DataType::Float,
            op: Some(ReduceOp::Sum),
            root: 0,
            counts: all_reduce.counts(count, 4, world.size()),
            in_place: false,
            seed: 1,
        };
        backend.prepare(&call).expect("prepare");
        let plan = TimingPlan {
            iters,
            agg_iters: 1,
            graph_launches: 0,
            blocking_mode: BlockingMode::Off,
            per_iteration: false,
            per_iteration_skip: 0,
            report_cputime: false,
        };
        // Page-aligned, as the backend's and the peers' buffers are: where a buffer starts
        // relative to the MPI library's own scratch buffer moves a 16 MiB reduction by 10-40 %.
        let mut send_buffer = HostBuffer::new(bytes, "bare send buffer").expect("buffer");
        let mut recv_buffer = HostBuffer::new(bytes, "bare receive buffer").expect("buffer");
        for (i, x) in bytemuck::cast_slice_mut::<u8, f32>(send_buffer.bytes_mut())
            .iter_mut()
            .enumerate()
        {
            *x = (i % 7) as f32;
        }
        let send: &[f32] = bytemuck::cast_slice(send_buffer.bytes());
        let recv: &mut [f32] = bytemuck::cast_slice_mut(recv_buffer.bytes_mut());
        backend.warmup(&call, 5).expect("warm-up");
        for _ in 0..5 {
            bare.all_reduce_into(send, &mut *recv, SystemOperation::sum());
        }
        let mut backend_us = Vec::with_capacity(rounds);
        let mut bare_us = Vec::with_capacity(rounds);

        for round in 0..rounds {
            // Alternate which variant goes first, so drifting background load hits both alike.
            for variant in [round % 2, 1 - round % 2] {
                world.barrier().expect("barrier");
                if variant == 0 {
                    let timing = backend.measure(&call, &plan).expect("timed loop");
                    backend_us.push(timing.seconds_per_op * 1e6);
                } else {
                    let start = Instant::now();
                    for _ in 0..iters {
                        bare.all_reduce_into(send, &mut *recv, SystemOperation::sum());
                    }
                    bare_us.push(start.elapsed().as_secs_f64() * 1e6 / iters as f64);
                }
            }
        }
        let mut ratios: Vec<f64> = backend_us
            .iter()
            .zip(&bare_us)
            .map(|(b, r)| b / r)
            .collect();
        let own = [
            median(&mut backend_us),
            median(&mut bare_us),
            median(&mut ratios),
        ];
        let sums = world
            .allreduce_f64(&own, Reduction::Sum)
            .expect("allreduce");
        let n = world.size() as f64;
        if world.rank() == 0 {
            println!(
                "  {:>10}  {:>8}  {:>6}  {:>14.3}  {:>14.3}  {:>7.3}",
                bytes,
                iters,
                rounds,
                sums[0] / n,
                sums[1] / n,
                sums[2] / n
            );
        }
    }
    drop(backend);
}
