//! alltoallv as nccl-tests 2.19.6 runs it (its src/alltoallv.cu, documented rules):
//! - generated: rank s sends rank d, at distance k = (d - s) mod n, `(1 - spread) · T/n +
//!   spread · k · T / (n(n-1)/2)` bytes rounded down to 16 (T: bytes per rank), 1 rank: T;
//! - matrix: cell (s, d) × scale, rounded down to 16; -b = -e; the matrix at least n × n; -e at
//!   least the largest rank's total;
//! - the size column and algbw come from the rank with the most bytes; count is per peer (0 with a
//!   matrix).
//!
//! The expected counts below are worked out by hand from those rules, not by the code under test.

use crate::support::process::{mpirun, run};
use collbench::collectives::alltoallv::matrix::TrafficMatrix;
use collbench::collectives::alltoallv::pattern::{options_from_env, Pattern};
use collbench::collectives::alltoallv::AllToAllVLayout;
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(180);

fn table(pattern: &Pattern, n: usize, total: u64) -> Vec<Vec<u64>> {
    (0..n)
        .map(|s| (0..n).map(|d| pattern.peer_bytes(s, d, n, total)).collect())
        .collect()
}

#[test]
fn generated_counts_follow_the_documented_rule() {
    // n = 4, T = 4096: equal share 1024; distance shares k · 4096 / 6 = 0, 682.7, 1365.3, 2048.
    let full = Pattern::Generated { spread: 1.0 };
    assert_eq!(table(&full, 4, 4096)[0], [0, 672, 1360, 2048]);
    // Row s is row 0 rotated by s (the distance is what counts).
    assert_eq!(table(&full, 4, 4096)[1], [2048, 0, 672, 1360]);
    assert_eq!(table(&full, 4, 4096)[3], [672, 1360, 2048, 0]);
    let uniform = Pattern::Generated { spread: 0.0 };
    assert_eq!(table(&uniform, 4, 4096)[2], [1024, 1024, 1024, 1024]);
    // spread 0.5: 512 + 0.5 · (0, 682.7, 1365.3, 2048) = 512, 853.3, 1194.7, 1536.
    let half = Pattern::Generated { spread: 0.5 };
    assert_eq!(table(&half, 4, 4096)[0], [512, 848, 1184, 1536]);
    // n = 3, T = 3000, spread 0.25: 0.75 · 1000 + 0.25 · (0, 1000, 2000) = 750, 1000, 1250.
    let quarter = Pattern::Generated { spread: 0.25 };
    assert_eq!(table(&quarter, 3, 3000)[0], [736, 992, 1248]);
    assert_eq!(table(&quarter, 3, 3000)[2], [992, 1248, 736]);
    // One rank sends itself everything, rounded down to 16.
    assert_eq!(table(&full, 1, 1000), [[992]]);
    // n = 2, spread 1: nothing to itself, all to the other.
    assert_eq!(table(&full, 2, 1024), [[0, 1024], [1024, 0]]);
    // Every rank sends and receives the same total (the pattern is a rotation).
    for n in [2usize, 3, 5, 8, 16] {
        for spread in [0.0, 0.3, 1.0] {
            let p = Pattern::Generated { spread };
            let totals: Vec<(u64, u64)> = (0..n).map(|r| p.rank_totals(r, n, 1 << 20)).collect();
            assert!(
                totals.iter().all(|t| *t == totals[0] && t.0 == t.1),
                "n={n} spread={spread}: {totals:?}"
            );
        }
    }
}

#[test]
fn the_collective_sends_those_counts_as_elements() {
    // A 1 MiB row of floats on 4 ranks, spread 1: per-peer count 65536, T = 1 MiB, blocks
    // k · 1 MiB / 6 rounded down to 16 bytes: 0, 174752, 349520, 524288 bytes.
    let pattern = Arc::new(Pattern::Generated { spread: 1.0 });
    let elt = 4;
    let counts = collbench::collectives::Counts {
        send_count: 0,
        recv_count: 0,
        param_count: 65536,
        send_inplace_offset: 0,
        recv_inplace_offset: 0,
        elt_size: elt,
    };
    let layout = AllToAllVLayout::new(pattern, &counts, 4);
    let row0: Vec<usize> = (0..4).map(|d| layout.block_count(0, d)).collect();
    assert_eq!(row0, [0, 174752 / 4, 349520 / 4, 524288 / 4]);
    assert_eq!(layout.received(0), (174752 + 349520 + 524288) / 4);
    // Packed: the block to rank 3 starts after those to ranks 0..3.
    assert_eq!(layout.send_displacement(0, 3), (174752 + 349520) / 4);
}

#[test]
fn matrix_counts_are_the_cells_scaled_and_rounded_down() {
    let m = TrafficMatrix::parse(
        "100 200 150 300\n50 100 75 10\n300 150 200 0\n16 32 48 64\n",
        "m.txt",
        1.0,
    )
    .unwrap();
    let p = Pattern::Matrix(Arc::new(m));
    assert_eq!(
        table(&p, 4, 0),
        [
            [96, 192, 144, 288],
            [48, 96, 64, 0],
            [288, 144, 192, 0],
            [16, 32, 48, 64]
        ]
    );
    // The largest sender is rank 0 (720), the largest receiver rank 1 (464).
    assert_eq!(p.max_rank_totals(4, 0), (720, 464));
    // Two ranks use the top-left 2 × 2 block.
    assert_eq!(p.max_rank_totals(2, 0), (288, 288));
    // Scale 2.5: 100 → 250 → 240, 75 → 187.5 → 176.
    let scaled = TrafficMatrix::parse("100 75\n0 1\n", "m.txt", 2.5).unwrap();
    assert_eq!(
        table(&Pattern::Matrix(Arc::new(scaled)), 2, 0),
        [[240, 176], [0, 0]]
    );
    assert_eq!(
        p.param_count(1024, 4, 4),
        0,
        "count column is 0 with a matrix"
    );
}

#[test]
fn environment_values_are_checked() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let options =
        options_from_env(&env(&[("NCCL_TESTS_ALLTOALLV_SPREAD", "0.25")]), 8, 64).unwrap();
    assert_eq!(options.pattern, Pattern::Generated { spread: 0.25 });
    assert!(!options.print_summary);
    for (pairs, wanted) in [
        (
            &[("NCCL_TESTS_ALLTOALLV_SPREAD", "1.5")][..],
            "NCCL_TESTS_ALLTOALLV_SPREAD=\"1.5\" is not accepted; accepted: a number from 0.0",
        ),
        (
            &[("NCCL_TESTS_ALLTOALLV_SPREAD", "wide")][..],
            "NCCL_TESTS_ALLTOALLV_SPREAD=\"wide\"",
        ),
        (
            &[("NCCL_TESTS_ALLTOALLV_MATRIX_SCALE", "-1")][..],
            "NCCL_TESTS_ALLTOALLV_MATRIX_SCALE=\"-1\"",
        ),
        (
            &[("NCCL_TESTS_ALLTOALLV_PRINT_SUMMARY", "yes")][..],
            "NCCL_TESTS_ALLTOALLV_PRINT_SUMMARY=\"yes\" is not an integer",
        ),
        (
            &[("NCCL_TESTS_ALLTOALLV_MATRIX_FILE", "/nonexistent/m.txt")][..],
            "-b 8 and -e 64 differ",
        ),
    ] {
        let leaked: &'static [(&'static str, &'static str)] =
            Box::leak(pairs.to_vec().into_boxed_slice());
        let err = options_from_env(&env(leaked), 8, 64).unwrap_err();
        assert_eq!(err.exit_code(), 6);
        assert!(err.to_string().contains(wanted), "{err}");
    }
}

fn alltoallv(np: usize, args: &[&str], env: &[(&str, &str)]) -> crate::support::process::Finished {
    let mut all = vec!["--backend", "mpi", "-n", "2", "-w", "1"];
    all.extend_from_slice(args);
    run(mpirun(np, "alltoallv-perf", &all, env), LIMIT)
}

/// `(size, count, #wrong out of place, #wrong in place)` of each row.
fn rows(run: &crate::support::process::Finished) -> Vec<(u64, u64, String, String)> {
    run.rows()
        .iter()
        .map(|row| {
            let f: Vec<&str> = row.split_whitespace().collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[8].to_string(),
                f[12].to_string(),
            )
        })
        .collect()
}

#[test]
fn a_matrix_runs_on_four_ranks_with_nothing_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traffic.txt");
    std::fs::write(
        &path,
        "100 200 150 300\n50 100 75 10\n300 150 200 0\n16 32 48 64\n",
    )
    .unwrap();
    let file = path.to_str().unwrap();
    for (dtype, scale) in [("float", "1"), ("int8", "1"), ("double", "64")] {
        let run = alltoallv(
            4,
            &["-b", "64K", "-e", "64K", "-d", dtype],
            &[
                ("NCCL_TESTS_ALLTOALLV_MATRIX_FILE", file),
                ("NCCL_TESTS_ALLTOALLV_MATRIX_SCALE", scale),
                ("NCCL_TESTS_ALLTOALLV_PRINT_SUMMARY", "1"),
            ],
        );
        assert_eq!(run.code(), Some(0), "{dtype}: {}", run.describe());
        // Rank 0 sends the most: 720 bytes; × 64 every cell is a multiple of 16 already:
        // 6400 + 12800 + 9600 + 19200 = 48000 (and receives 6400 + 3200 + 19200 + 1024).
        let size = if scale == "1" { 720 } else { 48000 };
        assert_eq!(
            rows(&run),
            [(size, 0, "0".to_string(), "N/A".to_string())],
            "{dtype}: {}",
            run.describe()
        );
        let expected_rank0 = if scale == "1" {
            "#   rank=0 send_bytes=720 recv_bytes=448 "
        } else {
            "#   rank=0 send_bytes=48000 recv_bytes=29824 "
        };
        assert!(run.stdout.contains(expected_rank0), "{}", run.describe());
        assert!(run.stdout.contains(
            "# NCCL_TESTS_ALLTOALLV_PRINT_SUMMARY: mode=matrix nranks=4 matrix_dim=4 scale="
        ));
    }
}

#[test]
fn generated_patterns_run_with_nothing_wrong_and_size_the_row_by_the_largest_rank() {
    for (np, spread) in [(3usize, "0"), (4, "0.5"), (4, "1")] {
        let run = alltoallv(
            np,
            &["-b", "1K", "-e", "64K", "-f", "8"],
            &[("NCCL_TESTS_ALLTOALLV_SPREAD", spread)],
        );
        assert_eq!(
            run.code(),
            Some(0),
            "np {np} spread {spread}: {}",
            run.describe()
        );
        let pattern = Pattern::Generated {
            spread: spread.parse().unwrap(),
        };
        let got = rows(&run);
        assert_eq!(got.len(), 3, "{}", run.describe());
        for ((size, count, wrong, in_place), bytes) in got.into_iter().zip([1024u64, 8192, 65536]) {
            // float: the per-peer count is bytes/4/np rounded down to 4 elements (16 bytes).
            let per_peer = (bytes / 4 / np as u64) & !3;
            assert_eq!(count, per_peer, "np {np} spread {spread} {bytes}");
            let (sent, received) = pattern.max_rank_totals(np, per_peer * np as u64 * 4);
            assert_eq!(size, sent.max(received), "np {np} spread {spread} {bytes}");
            assert_eq!((wrong.as_str(), in_place.as_str()), ("0", "N/A"));
        }
    }
}

#[test]
fn bad_matrix_runs_are_usage_errors_naming_what_was_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let ragged = write("ragged.txt", "16 16\n16\n");
    let oblong = write("oblong.txt", "16 16\n16 16\n16 16\n");
    let words = write("words.txt", "16 16\n16 lots\n");
    let small = write("small.txt", "16\n");
    let big = write("big.txt", "1024 1024\n1024 1024\n");
    for (file, args, wanted) in [
        (&ragged, &["-b", "1K", "-e", "1K"][..], "line 2 has 1 values but line 1 has 2"),
        (&oblong, &["-b", "1K", "-e", "1K"][..], "not square: 3 rows of 2 values"),
        (&words, &["-b", "1K", "-e", "1K"][..], "line 2: value 'lots' is not a number"),
        (&small, &["-b", "1K", "-e", "1K"][..], "has a 1x1 matrix but the test runs on 2 ranks"),
        (&big, &["-b", "1K", "-e", "2K"][..], "-b 1024 and -e 2048 differ"),
        (&big, &["-b", "1K", "-e", "1K"][..], "-e 1024: the traffic matrix (NCCL_TESTS_ALLTOALLV_MATRIX_FILE) has a rank that sends or receives 2048 bytes"),
    ] {
        let run = alltoallv(2, args, &[("NCCL_TESTS_ALLTOALLV_MATRIX_FILE", file)]);
        assert_eq!(run.code(), Some(6), "{file}: {}", run.describe());
        assert!(run.stderr.contains(wanted), "{file}: {}", run.describe());
        assert!(run.rows().is_empty(), "{}", run.describe());
    }
}

/// With a matrix, a rank may receive less than the largest rank, for whom the buffers are sized:
/// the tail past its blocks must be left as it was (nccl-tests zeroes it in the buffer and in
/// what it expects). Rank 3 receives 352 of the 464 bytes rank 1 does: a write at element 115
/// (the buffer's last float) is found, out of place (in place is not checked).
#[test]
fn a_write_past_a_ranks_blocks_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traffic.txt");
    std::fs::write(
        &path,
        "100 200 150 300\n50 100 75 10\n300 150 200 0\n16 32 48 64\n",
    )
    .unwrap();
    let report = dir.path().join("report.json");
    let report_arg = report.display().to_string();
    let run = alltoallv(
        4,
        &["-b", "1K", "-e", "1K", "--collbench-json", &report_arg],
        &[
            ("NCCL_TESTS_ALLTOALLV_MATRIX_FILE", path.to_str().unwrap()),
            ("COLLBENCH_TEST_CORRUPT", "3:115"),
        ],
    );
    assert_eq!(run.code(), Some(7), "{}", run.describe());
    let doc = crate::support::schema::read_report(&report);
    let cell = &doc["results"][0]["out_of_place"];
    assert_eq!(cell["wrong"], 1, "{cell}");
    assert_eq!(cell["first_wrong"]["rank"], 3, "{cell}");
    assert_eq!(cell["first_wrong"]["index"], 115, "{cell}");
    assert!(doc["results"][0]["in_place"]["wrong"].is_null());
    // Inside the blocks (element 0 of rank 3 comes from rank 0) the same write is found too.
    let run = alltoallv(
        4,
        &["-b", "1K", "-e", "1K"],
        &[
            ("NCCL_TESTS_ALLTOALLV_MATRIX_FILE", path.to_str().unwrap()),
            ("COLLBENCH_TEST_CORRUPT", "3:0"),
        ],
    );
    assert_eq!(run.code(), Some(7), "{}", run.describe());
}
