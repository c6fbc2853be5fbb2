//! `MpiWorld` under a real `mpirun -np 4`: this test binary runs itself as the four ranks (the
//! child test below, selected by an environment variable) and checks every World operation with
//! values only a working MPI world can produce.

#![cfg(feature = "mpi")]

use crate::support::process::{finish, one_mpirun_at_a_time, spawn, test_name};
use collbench::world::{MpiWorld, Reduction, World};
use std::process::Command;
use std::time::{Duration, Instant};

const CHILD_VAR: &str = "COLLBENCH_WORLD_TEST_CHILD";

#[test]
fn mpi_world_operations_under_mpirun() {
    let _turn = one_mpirun_at_a_time();
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new("mpirun");
    command
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "-np",
            "4",
            "-x",
            CHILD_VAR,
        ])
        .env(CHILD_VAR, "1")
        .arg(exe)
        .args([
            &test_name(module_path!(), "world_child"),
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ]);
    let run = finish(spawn(command), Duration::from_secs(120), Instant::now());
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    assert_eq!(
        run.stdout.matches("world checks passed on rank").count(),
        4,
        "{}",
        run.describe()
    );
}

/// Runs only as a rank of the test above.
#[test]
fn world_child() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }
    let (world, init) = MpiWorld::init().expect("MPI_Init");
    assert!(init.thread_multiple, "Open MPI grants MPI_THREAD_MULTIPLE");
    let (rank, size) = (world.rank(), world.size());
    assert_eq!(size, 4);
    assert_eq!(world.launcher(), "mpirun");
    // One host: the shared-memory split holds everyone, in rank order.
    assert_eq!((world.local_rank(), world.local_size()), (rank, 4));
    assert_eq!(world.hostname(), collbench::world::hostname());
    world.barrier().unwrap();

    let r = rank as f64;
    assert_eq!(
        world.allreduce_f64(&[r, -r], Reduction::Min).unwrap(),
        vec![0.0, -3.0]
    );
    assert_eq!(
        world.allreduce_f64(&[r, -r], Reduction::Max).unwrap(),
        vec![3.0, 0.0]
    );
    assert_eq!(
        world.allreduce_f64(&[r], Reduction::Sum).unwrap(),
        vec![6.0]
    );
    assert_eq!(
        world.allreduce_u64_sum(&[1, rank as u64 * 10]).unwrap(),
        vec![4, 60]
    );

    // Variable lengths: rank r sends r + 1 bytes of value r (rank 0 one byte, rank 3 four).
    let mine = vec![rank as u8; rank + 1];
    match world.gather_bytes(&mine).unwrap() {
        Some(parts) => {
            assert_eq!(rank, 0);
            let expected: Vec<Vec<u8>> = (0..4).map(|p| vec![p as u8; p + 1]).collect();
            assert_eq!(parts, expected);
        }
        None => assert_ne!(rank, 0),
    }
    // Empty contributions too.
    let gathered = world.gather_bytes(&[]).unwrap();
    assert_eq!(gathered.is_some(), rank == 0);

    // The watched gather: rank 3 sends late, and rank 0's watch sees the others arrive first
    // (its own bytes count as arrived from the start); parts in rank order, empty ones too.
    std::thread::sleep(Duration::from_millis(if rank == 3 { 400 } else { 0 }));
    let mine = if rank == 2 {
        Vec::new()
    } else {
        vec![rank as u8 + 10; 2 * rank + 1]
    };
    let mut seen: Vec<Vec<bool>> = Vec::new();
    let gathered = world
        .gather_bytes_watched(&mine, &mut |arrived| {
            seen.push(arrived.to_vec());
            Ok(())
        })
        .unwrap();
    match gathered {
        Some(parts) => {
            let expected: Vec<Vec<u8>> = (0..4)
                .map(|p| {
                    if p == 2 {
                        Vec::new()
                    } else {
                        vec![p as u8 + 10; 2 * p + 1]
                    }
                })
                .collect();
            assert_eq!(parts, expected);
            assert!(seen.iter().all(|a| a[0] && a.len() == 4), "{seen:?}");
            assert!(
                seen.contains(&vec![true, true, true, false]),
                "rank 0 waited for rank 3 without blocking: {seen:?}"
            );
        }
        None => {
            assert_ne!(rank, 0);
            assert!(seen.is_empty(), "only rank 0 watches");
        }
    }
    // A watch that gives up ends the wait with its error (the caller then aborts the job). Only
    // rank 0 takes part here, so nobody sends and nothing is left unreceived.
    if rank == 0 {
        let started = Instant::now();
        let error = world
            .gather_bytes_watched(b"x", &mut |arrived| {
                if !arrived[1] && started.elapsed() > Duration::from_millis(100) {
                    Err(collbench::error::CollbenchError::Timeout(
                        "rank 1 is late".into(),
                    ))
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert_eq!(error.exit_code(), 4);
        assert!(error.to_string().contains("rank 1 is late"), "{error}");
    }
    world.barrier().unwrap();

    let mut payload = if rank == 0 {
        b"hello".to_vec()
    } else {
        vec![9; rank * 3]
    };
    world.broadcast_bytes(&mut payload).unwrap();
    assert_eq!(payload, b"hello");

    // NCCL_TESTS_SPLIT-style groups: even and odd ranks.
    let group = world.split((rank % 2) as u64, rank).unwrap();
    assert_eq!((group.rank(), group.size()), (rank / 2, 2));
    let group_sum = group.allreduce_f64(&[r], Reduction::Sum).unwrap();
    assert_eq!(group_sum, vec![if rank % 2 == 0 { 2.0 } else { 4.0 }]);
    assert!(group.as_mpi().is_some());
    // Colors that do not fit MPI's int are a usage error, not a wrapped color.
    let error = world.split(u64::MAX, rank).err().expect("color too large");
    assert_eq!(error.exit_code(), 6);
    drop(group);
    world.barrier().unwrap();
    println!("world checks passed on rank {rank}");
}
