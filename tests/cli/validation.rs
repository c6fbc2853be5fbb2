//! Every bad command line is rejected before any work, as a usage error (exit code 6) whose
//! message names the flag (or variable), repeats the value and says what is accepted.
//! nccl-tests itself silently runs many of these (`-d fp9`, `-o foo`, `-f 0`, `-n 0`…).

use crate::support::cli::*;
use collbench::cli::Parsed;

/// One rejected command line: flags, environment, and fragments the message must contain
/// (the flag or variable, and the value as given).
struct Rejected {
    flags: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    fragments: &'static [&'static str],
}

const fn reject(flags: &'static [&'static str], fragments: &'static [&'static str]) -> Rejected {
    Rejected {
        flags,
        env: &[],
        fragments,
    }
}

const fn reject_env(
    env: &'static [(&'static str, &'static str)],
    fragments: &'static [&'static str],
) -> Rejected {
    Rejected {
        flags: &[],
        env,
        fragments,
    }
}

const REJECTED: &[Rejected] = &[
    // Sizes.
    reject(
        &["-b", "64", "-e", "32"],
        &["-b/--minbytes", "64", "-e/--maxbytes", "32"],
    ),
    reject(&["-b", "16M", "-e", "8K"], &["-b/--minbytes", "16M", "8K"]),
    reject(&["-b", "abc"], &["-b/--minbytes", "'abc'"]),
    reject(&["-e", "1X"], &["-e/--maxbytes", "'1X'", "unknown suffix"]),
    reject(&["-e", "16Mfoo"], &["-e/--maxbytes", "'16Mfoo'"]),
    reject(&["-b", "-8"], &["-b/--minbytes", "'-8'", "negative"]),
    reject(
        &["-e", "99999999T"],
        &["-e/--maxbytes", "'99999999T'", "too large"],
    ),
    reject(
        &["-e", "18446744073709551616"],
        &["-e/--maxbytes", "'18446744073709551616'"],
    ),
    reject(&["-i", "1.5.5"], &["-i/--stepbytes", "'1.5.5'"]),
    reject(&["--minbytes", ""], &["-b/--minbytes", "''", "empty"]),
    // Steps that never finish.
    reject(&["-f", "0"], &["-f/--stepfactor", "'0'"]),
    reject(&["-f", "1.5"], &["-f/--stepfactor", "'1.5'"]),
    reject(&["-f", "-2"], &["-f/--stepfactor", "'-2'"]),
    reject(
        &["-b", "8", "-e", "1M", "-f", "1", "-i", "0"],
        &["-i/--stepbytes", "'0'", "-f 1"],
    ),
    reject(&["-i", "0"], &["-i/--stepbytes", "'0'", "never advances"]),
    reject(
        &["-b", "0", "-e", "1M", "-f", "2"],
        &["-b/--minbytes 0", "-f/--stepfactor 2"],
    ),
    reject(
        &["-b", "1", "-e", "1G", "-i", "1"],
        &["-i/--stepbytes 1", "1073741824 sizes", "10000"],
    ),
    // Counts.
    reject(&["-n", "0"], &["-n/--iters", "'0'", "too small"]),
    reject(&["-n", "-5"], &["-n/--iters", "'-5'", "negative"]),
    reject(&["-n", "twenty"], &["-n/--iters", "'twenty'"]),
    reject(&["-n", "010"], &["-n/--iters", "'010'", "octal"]),
    reject(
        &["--iters=3000000000"],
        &["-n/--iters", "'3000000000'", "too large"],
    ),
    reject(&["-w", "-1"], &["-w/--warmup_iters", "'-1'", "negative"]),
    reject(&["-m", "0"], &["-m/--agg_iters", "'0'"]),
    reject(&["-N", "-1"], &["-N/--run_cycles", "'-1'"]),
    reject(&["-c", "-1"], &["-c/--check", "'-1'"]),
    reject(&["-G", "-1"], &["-G/--cudagraph", "'-1'"]),
    reject(&["-t", "0"], &["-t/--nthreads", "'0'"]),
    reject(&["-g", "0"], &["-g/--ngpus", "'0'"]),
    reject(&["-T", "-5"], &["-T/--timeout", "'-5'"]),
    reject(&["-T", "1.5"], &["-T/--timeout", "'1.5'"]),
    reject(&["-u", "-1"], &["-u/--unalign", "'-1'"]),
    // Enumerations.
    reject(&["-d", "fp9"], &["-d/--datatype", "'fp9'", "bfloat16"]),
    reject(&["-o", "foo"], &["-o/--op", "'foo'", "mulsum"]),
    reject(&["-z", "4"], &["-z/--blocking", "'4'", "0 to 3"]),
    reject(&["-z", "yes"], &["-z/--blocking", "'yes'"]),
    reject(&["-a", "4"], &["-a/--average", "'4'", "0 to 3"]),
    reject(&["-a", "-1"], &["-a/--average", "'-1'"]),
    reject(&["-R", "3"], &["-R/--local_register", "'3'", "0 to 2"]),
    reject(&["-r", "-2"], &["-r/--root", "'-2'", "-1"]),
    reject(&["-r", "first"], &["-r/--root", "'first'"]),
    reject(
        &["--backend", "cuda"],
        &["--backend", "'cuda'", "auto, nccl or mpi"],
    ),
    // 0/1 switches.
    reject(&["-p", "yes"], &["-p/--parallel_init", "'yes'", "0 or 1"]),
    reject(&["-I", "2"], &["-I/--per_iter_timing", "'2'", "0 or 1"]),
    reject(&["-C", "2"], &["-C/--report_cputime", "'2'"]),
    reject(&["-S", "5"], &["-S/--report_timestamps", "'5'"]),
    reject(&["-M", "2"], &["-M/--memory_report", "'2'"]),
    reject(&["-y", "3"], &["-y/--stream_null", "'3'"]),
    // Per-iteration skip.
    reject(
        &["-I", "1", "-K", "20"],
        &["-K/--per_iter_skip", "'20'", "-n 20"],
    ),
    reject(&["-n", "5", "-K", "5"], &["-K/--per_iter_skip", "'5'"]),
    // Outputs and collbench additions.
    reject(&["-J", ""], &["-J/--output_file", "''"]),
    reject(&["--csv", "out/"], &["--csv", "'out/'", "directory"]),
    reject(
        &["-J", "r.json", "--csv", "r.json"],
        &["-J/--output_file", "--csv", "r.json"],
    ),
    reject(&["--seed", "-1"], &["--seed", "'-1'"]),
    reject(
        &["--seed", "0x1ffffffffffffffff"],
        &["--seed", "'0x1ffffffffffffffff'"],
    ),
    // Flags and arguments collbench does not know or implement.
    reject(&["-q", "1"], &["unknown flag", "'-q'"]),
    // The list of accepted flags names collbench's own long flags too.
    reject(
        &["--bogus"],
        &[
            "unknown flag",
            "'--bogus'",
            "--backend",
            "--csv",
            "--seed",
            "--min-busbw-size",
            "--profile",
            "--jsonl",
            "--prom-file",
            "--push-gateway",
            "--require-net",
        ],
    ),
    reject(&["stray"], &["'stray'"]),
    // nccl-tests hands any -x to NCCL and reads -D/-V as any int (tests/cli/nccl_features.rs
    // has the rest).
    reject(
        &["-x", "3"],
        &["-x/--cta_policy", "'3'", "NCCL_CTA_POLICY_ZERO"],
    ),
    reject(
        &["-V", "128", "-D", "1", "-R", "2"],
        &["-V/--device_cta_count", "'128'"],
    ),
    reject(
        &["-D", "1"],
        &[
            "-D/--device_implementation 1",
            "-R/--local_register",
            "-R 2",
        ],
    ),
    // Environment.
    reject_env(
        &[("NCCL_TESTS_SPLIT", "FOO 3")],
        &["NCCL_TESTS_SPLIT", "'FOO 3'", "unknown operator"],
    ),
    reject_env(
        &[("NCCL_TESTS_SPLIT", "MOD 0")],
        &["NCCL_TESTS_SPLIT", "'MOD 0'", "zero"],
    ),
    reject_env(
        &[("NCCL_TESTS_SPLIT", "DIV")],
        &["NCCL_TESTS_SPLIT", "'DIV'"],
    ),
    reject_env(
        &[("NCCL_TESTS_SPLIT", "AND 0x7 junk")],
        &["NCCL_TESTS_SPLIT", "'AND 0x7 junk'"],
    ),
    reject_env(
        &[("NCCL_TESTS_SPLIT", "MOD -8")],
        &["NCCL_TESTS_SPLIT", "'MOD -8'", "negative"],
    ),
    reject_env(
        &[("NCCL_TESTS_SPLIT_MASK", "zz")],
        &["NCCL_TESTS_SPLIT_MASK", "'zz'"],
    ),
    reject_env(
        &[
            ("NCCL_TESTS_SPLIT", "MOD 8"),
            ("NCCL_TESTS_SPLIT_MASK", "0x7"),
        ],
        &[
            "NCCL_TESTS_SPLIT='MOD 8'",
            "NCCL_TESTS_SPLIT_MASK='0x7'",
            "both set",
        ],
    ),
];

#[test]
fn every_bad_command_line_is_a_usage_error_naming_flag_and_value() {
    assert!(
        REJECTED.len() >= 30,
        "the issue asks for at least 30 rejected cases"
    );
    for case in REJECTED {
        let what = format!("flags {:?} env {:?}", case.flags, case.env);
        assert_usage_error(
            parse_with_env(REDUCTION, case.flags, case.env),
            &what,
            case.fragments,
        );
    }
}

#[test]
fn two_outputs_on_one_file_are_rejected() {
    // Each pair of -J, --csv, --jsonl, --prom-file: one writer would destroy the other's file.
    let outputs = ["-J", "--csv", "--jsonl", "--prom-file"];
    for (i, first) in outputs.iter().enumerate() {
        for second in &outputs[i + 1..] {
            assert_usage_error(
                parse(REDUCTION, &[first, "out.dat", second, "out.dat"]),
                &format!("{first} and {second} on one file"),
                &[
                    first.trim_start_matches('-'),
                    second,
                    "'out.dat'",
                    "two different files",
                ],
            );
        }
    }
}

#[test]
fn a_flag_without_its_value_is_rejected() {
    assert_usage_error(
        parse(REDUCTION, &["-n"]),
        "-n at the end",
        &["-n/--iters", "needs a value"],
    );
    assert_usage_error(
        parse(REDUCTION, &["--maxbytes"]),
        "--maxbytes at the end",
        &["-e/--maxbytes", "needs a value"],
    );
}

#[test]
fn non_reductions_still_check_op_and_root_syntax() {
    // -o and -r are ignored by collectives without a reduction or a root, but never garbage.
    assert_usage_error(
        parse(ROOTED, &["-o", "foo"]),
        "broadcast -o foo",
        &["-o/--op", "'foo'"],
    );
    assert_usage_error(
        parse(POWER_OF_TWO, &["-r", "x"]),
        "hypercube -r x",
        &["-r/--root", "'x'"],
    );
}

#[test]
fn root_outside_the_world_is_rejected_once_the_rank_count_is_known() {
    let plan = plan(ROOTED, &["-r", "4"]);
    assert_usage_error(
        plan.validate_for_world(4),
        "-r 4 on 4 ranks",
        &["-r/--root 4", "4 ranks", "0..=3", "-1"],
    );
    plan.validate_for_world(5).expect("-r 4 fits 5 ranks");
    // A collective without a root ignores -r.
    let plan = crate::support::cli::plan(REDUCTION, &["-r", "9"]);
    plan.validate_for_world(2).expect("all_reduce has no root");
}

#[test]
fn collective_rank_count_rules_are_checked() {
    let plan = plan(POWER_OF_TWO, &[]);
    assert_usage_error(
        plan.validate_for_world(6),
        "hypercube on 6 ranks",
        &["hypercube", "6 ranks", "power-of-two"],
    );
    plan.validate_for_world(8).expect("8 is a power of two");
    assert_usage_error(plan.validate_for_world(0), "0 ranks", &["0 ranks"]);
}

#[test]
fn max_bytes_is_capped_to_memory_with_nccl_tests_notice() {
    let mut plan = plan(REDUCTION, &["-b", "8", "-e", "1G", "-f", "2"]);
    assert_eq!(plan.sweep.sizes.len(), 28);
    assert_eq!(
        plan.cap_max_bytes(2 << 30, None).unwrap(),
        None,
        "1G fits in 2G"
    );
    let notice = plan
        .cap_max_bytes(100 << 20, None)
        .unwrap()
        .expect("a notice");
    assert_eq!(
        notice,
        "#\n# Reducing maxBytes to 104857600 due to memory limitation"
    );
    assert_eq!(plan.sweep.max_bytes, 100 << 20);
    assert_eq!(*plan.sweep.sizes.last().unwrap(), 64 << 20);
    assert!(plan.sweep.sizes.iter().all(|&s| s <= 100 << 20));
}

#[test]
fn min_bytes_that_cannot_fit_is_a_usage_error_naming_size_and_memory() {
    let mut plan = plan(REDUCTION, &["-b", "4G", "-e", "8G", "-f", "2"]);
    assert_usage_error(
        plan.cap_max_bytes(1 << 30, Some("rank 0: this host has 2.00 GiB available")),
        "-b 4G with 1 GiB",
        &[
            "-b/--minbytes 4294967296",
            "4.00 GiB",
            "1073741824",
            "1.00 GiB",
            "(rank 0: this host has 2.00 GiB available)",
        ],
    );
}

#[test]
fn gpu_only_flags_are_an_error_on_the_host_backend() {
    let plan = plan(
        REDUCTION,
        &[
            "-g", "2", "-t", "2", "-G", "10", "-R", "1", "-u", "4", "-y", "1",
        ],
    );
    assert_usage_error(
        plan.require_gpu_flags_unused("mpi"),
        "GPU flags on mpi",
        &[
            "mpi backend",
            "-g/--ngpus 2",
            "-t/--nthreads 2",
            "-G/--cudagraph 10",
            "-R/--local_register 1",
            "-u/--unalign 4",
            "-y/--stream_null 1",
            "only mean something on GPUs",
        ],
    );
    let plan = crate::support::cli::plan(REDUCTION, &["-u", "4"]);
    assert_usage_error(
        plan.require_gpu_flags_unused("mpi"),
        "one GPU flag on mpi",
        &["-u/--unalign 4 (device buffer offset) only means something on GPUs"],
    );
    let plan = crate::support::cli::plan(REDUCTION, &["-g", "1", "-G", "0", "-R", "0", "-M", "1"]);
    plan.require_gpu_flags_unused("mpi").expect(
        "defaults, explicit zeros and -M (host memory report) are fine on the host backend",
    );
}

#[test]
fn help_wins_over_bad_values_like_nccl_tests() {
    for flags in [
        &["-h"][..],
        &["--help"],
        &["-n", "0", "-h"],
        &["-q", "--help"],
    ] {
        match parse(REDUCTION, flags) {
            Ok(Parsed::Help(text)) => {
                assert!(text.contains("--minbytes"), "{text}");
                assert!(text.contains(REDUCTION.binary_name()), "{text}");
            }
            other => panic!("{flags:?}: expected help, got {other:?}"),
        }
    }
}
