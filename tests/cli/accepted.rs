//! Accepted command lines: nccl-tests 2.19.6's defaults and spellings, sweeps, `all` selections,
//! NCCL_TESTS_SPLIT, and the `collbench` umbrella.

use crate::support::cli::*;
use collbench::cli::{parse_umbrella, parse_umbrella_with, Parsed, Umbrella};
use collbench::collectives::Collective;
use collbench::plan::{
    AverageMode, BackendChoice, BlockingMode, OutputFormat, RootSelection, SplitRule, Step,
    DEFAULT_SEED,
};
use collbench::types::{DataType, ReduceOp};
use std::path::Path;
use std::time::Duration;

const MIB: u64 = 1 << 20;

#[test]
fn defaults_are_nccl_tests_defaults() {
    let plan = plan(REDUCTION, &[]);
    // nccl-tests 2.19.6: minBytes = maxBytes = 32M, stepBytes 1M, stepFactor 1, iters 20, warmup 1,
    // agg 1, run_cycles 1, check 1, op sum, type float, root 0, average 1, everything else 0.
    assert_eq!(
        (plan.sweep.min_bytes, plan.sweep.max_bytes),
        (32 * MIB, 32 * MIB)
    );
    assert_eq!(plan.sweep.step, Step::Bytes(MIB));
    assert_eq!(plan.sweep.sizes, vec![32 * MIB]);
    assert_eq!(plan.timing.iters, 20);
    assert_eq!(plan.warmup_iters, 1);
    assert_eq!(plan.timing.agg_iters, 1);
    assert_eq!(plan.run_cycles, 1);
    assert_eq!(plan.check_iters, 1);
    assert_eq!(plan.sweep.ops, vec![ReduceOp::Sum]);
    assert_eq!(plan.sweep.dtypes, vec![DataType::Float]);
    assert_eq!(plan.sweep.root, RootSelection::One(0));
    assert_eq!(plan.average, AverageMode::Avg);
    assert_eq!((plan.gpu.nthreads, plan.gpu.ngpus), (1, 1));
    assert_eq!(plan.timing.blocking_mode, BlockingMode::Off);
    assert!(!plan.timing.blocks());
    assert_eq!(plan.timing.graph_launches, 0);
    assert!(!plan.timing.per_iteration);
    assert_eq!(plan.timing.per_iteration_skip, 0);
    assert!(!plan.timing.report_cputime);
    assert!(!plan.gpu.parallel_init && !plan.gpu.stream_null && !plan.report_timestamps);
    assert!(!plan.memory_report);
    assert_eq!((plan.gpu.local_register, plan.gpu.unalign), (0, 0));
    assert_eq!(plan.timeout, None);
    assert_eq!(plan.split, None);
    assert_eq!(
        (
            plan.outputs.path(OutputFormat::NcclTestsJson),
            plan.outputs.path(OutputFormat::Csv)
        ),
        (None, None)
    );
    // collbench's own defaults.
    assert_eq!(plan.backend, BackendChoice::Auto);
    assert_eq!(plan.seed, DEFAULT_SEED);
    assert_eq!(plan.args, vec!["allreduce-perf".to_string()]);
}

#[test]
fn the_card_sweep_has_22_sizes() {
    let plan = plan(REDUCTION, &["-b", "8", "-e", "16M", "-f", "2"]);
    assert_eq!(plan.sweep.step, Step::Factor(2.0));
    assert_eq!(plan.sweep.sizes.len(), 22);
    assert_eq!(plan.sweep.sizes[0], 8);
    assert_eq!(plan.sweep.sizes[21], 16 * MIB);
    assert!(plan.sweep.sizes.windows(2).all(|w| w[1] == 2 * w[0]));
    // Long spellings, `=` and attached short values mean the same.
    let long = crate::support::cli::plan(
        REDUCTION,
        &["--minbytes=8", "--maxbytes", "16M", "--stepfactor=2"],
    );
    assert_eq!(long.sweep.sizes, plan.sweep.sizes);
    let attached = crate::support::cli::plan(REDUCTION, &["-b8", "-e16M", "-f2"]);
    assert_eq!(attached.sweep.sizes, plan.sweep.sizes);
}

#[test]
fn sweeps_follow_nccl_tests_loop() {
    // Additive: -e included when reached, not passed.
    assert_eq!(
        plan(REDUCTION, &["-b", "1K", "-e", "4K", "-i", "1K"])
            .sweep
            .sizes,
        vec![1024, 2048, 3072, 4096]
    );
    assert_eq!(
        plan(REDUCTION, &["-b", "0", "-e", "10", "-i", "4"])
            .sweep
            .sizes,
        vec![0, 4, 8]
    );
    // Factor not landing on -e stops below it.
    assert_eq!(
        plan(REDUCTION, &["-b", "8", "-e", "100", "-f", "4"])
            .sweep
            .sizes,
        vec![8, 32]
    );
    // -f wins over -i like nccl-tests, so -i 0 is harmless with a factor.
    assert_eq!(
        plan(REDUCTION, &["-b", "1", "-e", "4", "-f", "2", "-i", "0"])
            .sweep
            .sizes,
        vec![1, 2, 4]
    );
    // Exactly 10,000 sizes is the limit, still accepted.
    assert_eq!(
        plan(REDUCTION, &["-b", "1", "-e", "10000", "-i", "1"])
            .sweep
            .sizes
            .len(),
        10_000
    );
}

#[test]
fn sizes_accept_suffixes_and_fractions() {
    let plan = plan(REDUCTION, &["-b", "1.5G", "-e", "1.5G"]);
    assert_eq!(plan.sweep.sizes, vec![1_610_612_736]);
    let plan = crate::support::cli::plan(REDUCTION, &["-b", "64k", "-e", "2T", "-f", "1024"]);
    assert_eq!(plan.sweep.sizes, vec![64 << 10, 64 << 20, 64 << 30]);
    let plan = crate::support::cli::plan(REDUCTION, &["-b", "16MB", "-e", "0.5GiB", "-f", "2"]);
    assert_eq!(plan.sweep.min_bytes, 16 * MIB);
    assert_eq!(plan.sweep.max_bytes, 512 * MIB);
    assert_eq!(plan.sweep.sizes.len(), 6);
}

#[test]
fn all_types_and_all_ops() {
    let plan = plan(REDUCTION, &["-d", "all", "-o", "all"]);
    assert_eq!(plan.sweep.dtypes.len(), 12);
    assert_eq!(plan.sweep.dtypes, DataType::ALL.to_vec());
    assert_eq!(plan.sweep.ops.len(), 6);
    assert_eq!(plan.sweep.ops, ReduceOp::ALL.to_vec());
    let plan = crate::support::cli::plan(REDUCTION, &["-d", "bfloat16", "-o", "mulsum"]);
    assert_eq!(
        (plan.sweep.dtypes, plan.sweep.ops),
        (vec![DataType::Bfloat16], vec![ReduceOp::MulSum])
    );
}

#[test]
fn op_is_ignored_by_collectives_that_do_not_reduce() {
    // nccl-tests accepts -o for any collective and ignores it where nothing is reduced.
    assert!(plan(ROOTED, &["-o", "all"]).sweep.ops.is_empty());
    assert!(plan(POWER_OF_TWO, &["-o", "max"]).sweep.ops.is_empty());
}

#[test]
fn every_root_and_one_root() {
    for spelling in ["-1", "all"] {
        let plan = plan(ROOTED, &["-r", spelling]);
        assert_eq!(plan.sweep.root, RootSelection::All);
        assert_eq!(plan.roots(4), vec![0, 1, 2, 3]);
        plan.validate_for_world(4).unwrap();
    }
    let plan = plan(ROOTED, &["--root", "3"]);
    assert_eq!(plan.roots(4), vec![3]);
    // Collectives without a root run once.
    assert_eq!(
        crate::support::cli::plan(REDUCTION, &["-r", "-1"]).roots(8),
        vec![0]
    );
}

#[test]
fn timing_flags_reach_the_plan() {
    let plan = plan(
        REDUCTION,
        &[
            "-n", "50", "-w", "0", "-m", "4", "-N", "0", "-c", "0", "-a", "3", "-z", "3", "-T",
            "30", "-I", "1", "-K", "5", "-C", "1", "-S", "1", "-p", "1", "-G", "10",
        ],
    );
    assert_eq!(plan.timing.iters, 50);
    assert_eq!(plan.warmup_iters, 0);
    assert_eq!(plan.timing.agg_iters, 4);
    assert_eq!(plan.run_cycles, 0);
    assert_eq!(plan.check_iters, 0);
    assert_eq!(plan.average, AverageMode::Max);
    assert_eq!(
        plan.timing.blocking_mode,
        BlockingMode::WaitAndBarrierEachIter
    );
    assert!(plan.timing.blocks());
    assert_eq!(plan.timeout, Some(Duration::from_secs(30)));
    assert!(plan.timing.per_iteration);
    assert_eq!(plan.timing.per_iteration_skip, 5);
    assert!(plan.timing.report_cputime && plan.report_timestamps && plan.gpu.parallel_init);
    assert_eq!(plan.timing.graph_launches, 10);
    for (flag, mode) in [
        ("0", BlockingMode::Off),
        ("1", BlockingMode::WaitAndBarrierEachOp),
        ("2", BlockingMode::WaitEachOp),
    ] {
        assert_eq!(
            crate::support::cli::plan(REDUCTION, &["-z", flag])
                .timing
                .blocking_mode,
            mode
        );
    }
    for (flag, mode) in [
        ("0", AverageMode::Rank0),
        ("1", AverageMode::Avg),
        ("2", AverageMode::Min),
    ] {
        assert_eq!(
            crate::support::cli::plan(REDUCTION, &["-a", flag]).average,
            mode
        );
    }
}

#[test]
fn memory_report_takes_nccl_tests_long_name_too() {
    // nccl-tests' getopt table spells -M `--memory`; its usage text, and collbench, `--memory_report`.
    assert!(plan(REDUCTION, &["--memory", "1"]).memory_report);
    assert!(plan(REDUCTION, &["--memory=1"]).memory_report);
    assert!(plan(REDUCTION, &["--memory_report", "1"]).memory_report);
}

#[test]
fn long_names_can_be_abbreviated_like_getopt_long() {
    // getopt_long takes any unambiguous prefix: nccl-tests runs `--warmup 5 --iter 10 --check 0`.
    let plan = plan(
        REDUCTION,
        &[
            "--warmup",
            "5",
            "--iter",
            "10",
            "--check=0",
            "--minb",
            "1K",
            "--mem",
            "1",
        ],
    );
    assert_eq!(plan.warmup_iters, 5);
    assert_eq!(plan.timing.iters, 10);
    assert_eq!(plan.check_iters, 0);
    assert_eq!(plan.sweep.min_bytes, 1024);
    assert!(plan.memory_report);
    // A full name that is also the prefix of another is that name, as in getopt_long.
    assert!(parse(REDUCTION, &["--min-busbw", "5"]).is_ok());
    // An ambiguous prefix names the candidates.
    assert_usage_error(
        parse(REDUCTION, &["--min", "8"]),
        "--min",
        &[
            "ambiguous",
            "'--min'",
            "--minbytes",
            "--min-busbw",
            "--min-busbw-size",
        ],
    );
    assert_usage_error(
        parse(REDUCTION, &["--report=1"]),
        "--report",
        &["ambiguous", "--report_cputime", "--report_timestamps"],
    );
}

#[test]
fn repeated_flags_keep_the_last_value_like_getopt() {
    assert_eq!(plan(REDUCTION, &["-n", "5", "-n", "7"]).timing.iters, 7);
    assert_eq!(plan(REDUCTION, &["-n", "0x10"]).timing.iters, 16);
}

#[test]
fn collbench_additions() {
    let plan = plan(
        REDUCTION,
        &[
            "--backend",
            "mpi",
            "--csv",
            "out.csv",
            "--collbench-json",
            "out.json",
            "--seed",
            "0x2a",
        ],
    );
    assert_eq!(plan.backend, BackendChoice::Mpi);
    assert_eq!(
        plan.outputs.path(OutputFormat::Csv),
        Some(Path::new("out.csv"))
    );
    assert_eq!(
        plan.outputs.path(OutputFormat::CollbenchJson),
        Some(Path::new("out.json"))
    );
    assert_eq!(plan.seed, 42);
    assert_eq!(
        crate::support::cli::plan(REDUCTION, &["--backend=nccl"]).backend,
        BackendChoice::Nccl
    );
    assert_eq!(
        crate::support::cli::plan(REDUCTION, &["--output_file", "r.json"])
            .outputs
            .path(OutputFormat::NcclTestsJson),
        Some(Path::new("r.json"))
    );
    assert_eq!(
        crate::support::cli::plan(REDUCTION, &["-b", "8"]).args,
        vec!["allreduce-perf", "-b", "8"]
    );
}

#[test]
fn split_rules_from_the_environment() {
    let cases: &[(&str, &str, SplitRule)] = &[
        ("NCCL_TESTS_SPLIT", "AND 0x7", SplitRule::And(7)),
        ("NCCL_TESTS_SPLIT", "&0x1", SplitRule::And(1)),
        ("NCCL_TESTS_SPLIT", "MOD 8", SplitRule::Mod(8)),
        ("NCCL_TESTS_SPLIT", "%8", SplitRule::Mod(8)),
        ("NCCL_TESTS_SPLIT", "DIV 8", SplitRule::Div(8)),
        ("NCCL_TESTS_SPLIT", "/8", SplitRule::Div(8)),
        ("NCCL_TESTS_SPLIT", "OR 0x7", SplitRule::Or(7)),
        ("NCCL_TESTS_SPLIT", "|0b11", SplitRule::Or(3)),
        ("NCCL_TESTS_SPLIT", "xor 1", SplitRule::Xor(1)),
        ("NCCL_TESTS_SPLIT", "^1", SplitRule::Xor(1)),
        // Legacy mask: always hexadecimal, like nccl-tests' strtoul(…, 16).
        ("NCCL_TESTS_SPLIT_MASK", "0x7", SplitRule::And(7)),
        ("NCCL_TESTS_SPLIT_MASK", "7", SplitRule::And(7)),
        ("NCCL_TESTS_SPLIT_MASK", "10", SplitRule::And(16)),
    ];
    for (var, value, rule) in cases {
        let plan = plan_with_env(REDUCTION, &[], &[(var, value)]);
        assert_eq!(plan.split, Some(*rule), "{var}={value}");
    }
    // Colors as nccl-tests computes them (8 GPUs per node, 16 ranks).
    let modulo = SplitRule::Mod(8);
    let groups: std::collections::BTreeSet<u64> = (0..16).map(|r| modulo.color(r)).collect();
    assert_eq!(groups.len(), 8);
    let per_node = SplitRule::Div(8);
    assert_eq!((per_node.color(7), per_node.color(8)), (0, 1));
    // Empty variables are unset (launchers export them empty).
    assert_eq!(
        plan_with_env(REDUCTION, &[], &[("NCCL_TESTS_SPLIT", " ")]).split,
        None
    );
}

#[test]
fn help_is_text_not_an_exit() {
    match parse(ROOTED, &["--help"]) {
        Ok(Parsed::Help(text)) => {
            for flag in [
                "--nthreads",
                "--stepfactor",
                "--per_iter_skip",
                "--local_register",
                "--backend",
                "--csv",
                "--seed",
                "NCCL_TESTS_SPLIT",
            ] {
                assert!(text.contains(flag), "help lacks {flag}:\n{text}");
            }
            assert!(text.contains("[default: 32M]"));
            assert!(text.contains("broadcast-perf"));
            // Every long name and environment variable of nccl-tests 2.19.6 (src/common.cu).
            for name in [
                "--nthreads",
                "--ngpus",
                "--minbytes",
                "--maxbytes",
                "--stepbytes",
                "--stepfactor",
                "--iters",
                "--agg_iters",
                "--warmup_iters",
                "--run_cycles",
                "--parallel_init",
                "--check",
                "--op",
                "--datatype",
                "--root",
                "--blocking",
                "--stream_null",
                "--timeout",
                "--cudagraph",
                "--report_cputime",
                "--report_timestamps",
                "--output_file",
                "--average",
                "--local_register",
                "--memory",
                "--unalign",
                "--per_iter_timing",
                "--per_iter_skip",
                "--help",
                "NCCL_TESTS_SPLIT_MASK",
                "NCCL_TESTS_MIN_BW",
                "NCCL_TESTS_DEVICE",
                "70 internal error",
            ] {
                assert!(text.contains(name), "help lacks {name}:\n{text}");
            }
        }
        other => panic!("expected help, got {other:?}"),
    }
}

// ---- the umbrella ----

static TEST_REGISTRY: [&dyn Collective; 3] = [REDUCTION, ROOTED, POWER_OF_TWO];

fn umbrella(args: &[&str]) -> collbench::error::Result<Umbrella> {
    let no_env = |_: &str| None;
    parse_umbrella_with(&TEST_REGISTRY, &argv("collbench", args), &no_env)
}

#[test]
fn umbrella_run_parses_the_collective_flags() {
    for name in ["broadcast", "broadcast-perf", "broadcast_perf"] {
        match umbrella(&["run", name, "-b", "8", "-e", "64", "-f", "2", "-r", "-1"]) {
            Ok(Umbrella::Run(Parsed::Run(plan))) => {
                assert_eq!(plan.collective.name(), "broadcast");
                assert_eq!(plan.sweep.sizes, vec![8, 16, 32, 64]);
                assert_eq!(plan.sweep.root, RootSelection::All);
                assert_eq!(plan.args[..3], ["collbench", "run", name]);
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // `collbench run -h` (no collective yet): the collectives and where their flags are.
    for spelling in ["-h", "--help", "help"] {
        match umbrella(&["run", spelling]) {
            Ok(Umbrella::Help(text)) => assert!(
                text.contains("collbench run <collective> -h")
                    && text.contains("all_reduce, broadcast, hypercube"),
                "{text}"
            ),
            other => panic!("run {spelling}: {other:?}"),
        }
    }
    match umbrella(&["run", "all_reduce", "-h"]) {
        Ok(Umbrella::Run(Parsed::Help(text))) => assert!(text.contains("collbench run all_reduce")),
        other => panic!("{other:?}"),
    }
    assert_usage_error(
        umbrella(&["run", "all_reduce", "-n", "0"]),
        "run -n 0",
        &["-n/--iters", "'0'"],
    );
}

#[test]
fn umbrella_list_version_help_and_other_commands() {
    match umbrella(&["list"]) {
        Ok(Umbrella::List(text)) => {
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 4, "{text}");
            for (line, c) in lines[1..].iter().zip(TEST_REGISTRY) {
                let columns: Vec<&str> = line.split_whitespace().collect();
                assert_eq!(
                    columns,
                    [c.name(), c.binary_name(), &format!("{}_perf", c.name())]
                );
            }
        }
        other => panic!("{other:?}"),
    }
    for spelling in ["--version", "-V", "version"] {
        match umbrella(&[spelling]) {
            Ok(Umbrella::Version(text)) => {
                assert_eq!(text, format!("collbench {}", env!("CARGO_PKG_VERSION")))
            }
            other => panic!("{other:?}"),
        }
    }
    match umbrella(&["--help"]) {
        Ok(Umbrella::Help(text)) => {
            assert!(
                text.contains("\n  run ") && text.contains("hypercube"),
                "{text}"
            )
        }
        other => panic!("{other:?}"),
    }
    for name in ["accept", "compare", "plot", "fabric"] {
        match umbrella(&[name, "--min-busbw", "100", "x.json"]) {
            Ok(Umbrella::Other { name: got, args }) => {
                assert_eq!(got, name);
                assert_eq!(args, ["--min-busbw", "100", "x.json"]);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn umbrella_rejects_unknown_and_missing_commands() {
    // No command: the umbrella's help (printed to stderr with exit 6), not a one-line error.
    match umbrella(&[]) {
        Ok(Umbrella::NoCommand(text)) => {
            for command in ["run", "list", "accept", "compare", "plot", "fabric", "help"] {
                assert!(
                    text.contains(&format!("\n  {command} ")),
                    "{command}: {text}"
                );
            }
        }
        other => panic!("{other:?}"),
    }
    assert_usage_error(
        umbrella(&["bench"]),
        "unknown command",
        &["'bench'", "unknown command", "run <collective>", "fabric"],
    );
    assert_usage_error(
        umbrella(&["run"]),
        "run without collective",
        &["missing collective", "all_reduce, broadcast, hypercube"],
    );
    assert_usage_error(
        umbrella(&["run", "allreduc"]),
        "unknown collective",
        &["'allreduc'", "all_reduce, broadcast, hypercube"],
    );
    assert_usage_error(
        umbrella(&["list", "extra"]),
        "list with arguments",
        &["'extra'", "collbench list"],
    );
}

#[test]
fn umbrella_uses_the_crate_registry() {
    // Whatever the registry holds, every entry is reachable by `run` under its nccl-tests name.
    let no_env = |_: &str| None;
    match parse_umbrella(&argv("collbench", &["list"]), &no_env) {
        Ok(Umbrella::List(text)) => {
            assert_eq!(
                text.lines().count(),
                collbench::collectives::REGISTRY.len() + 1,
                "{text}"
            )
        }
        other => panic!("{other:?}"),
    }
    for c in collbench::collectives::REGISTRY {
        let args = argv("collbench", &["run", c.name(), "-n", "1"]);
        match parse_umbrella(&args, &no_env) {
            Ok(Umbrella::Run(Parsed::Run(plan))) => assert_eq!(plan.collective.name(), c.name()),
            other => panic!("{}: {other:?}", c.name()),
        }
    }
}
