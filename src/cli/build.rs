//! Raw flags → validated [`TestPlan`]. Every check that needs only the command line and the
//! environment happens here, before any work; each failure is a usage error (exit 6) naming the
//! flag, the value and what is accepted.

use super::args::{AcceptanceArgs, RawArgs};
use super::split::split_rule_from_env;
use crate::collectives::{Collective, OpColumn};
use crate::error::{CollbenchError, Result};
use crate::plan::TimingPlan;
use crate::plan::{
    AcceptancePlan, AverageMode, BackendChoice, BlockingMode, RootSelection, Step, TestPlan,
    DEFAULT_SEED,
};
use crate::types::values::{
    bad_value, parse_int_flag, parse_size, parse_switch, parse_unsigned, Flag, INT_FLAG_MAX,
};
use crate::types::{DataType, ReduceOp};
use std::path::PathBuf;
use std::time::Duration;

pub const NTHREADS: Flag = Flag::new('t', "nthreads");
pub const NGPUS: Flag = Flag::new('g', "ngpus");
pub const MINBYTES: Flag = Flag::new('b', "minbytes");
pub const MAXBYTES: Flag = Flag::new('e', "maxbytes");
pub const STEPBYTES: Flag = Flag::new('i', "stepbytes");
pub const STEPFACTOR: Flag = Flag::new('f', "stepfactor");
pub const OP: Flag = Flag::new('o', "op");
pub const DATATYPE: Flag = Flag::new('d', "datatype");
pub const ROOT: Flag = Flag::new('r', "root");
pub const ITERS: Flag = Flag::new('n', "iters");
pub const WARMUP_ITERS: Flag = Flag::new('w', "warmup_iters");
pub const AGG_ITERS: Flag = Flag::new('m', "agg_iters");
pub const RUN_CYCLES: Flag = Flag::new('N', "run_cycles");
pub const AVERAGE: Flag = Flag::new('a', "average");
pub const PER_ITER_TIMING: Flag = Flag::new('I', "per_iter_timing");
pub const PER_ITER_SKIP: Flag = Flag::new('K', "per_iter_skip");
pub const PARALLEL_INIT: Flag = Flag::new('p', "parallel_init");
pub const CHECK: Flag = Flag::new('c', "check");
pub const BLOCKING: Flag = Flag::new('z', "blocking");
pub const STREAM_NULL: Flag = Flag::new('y', "stream_null");
pub const TIMEOUT: Flag = Flag::new('T', "timeout");
pub const CUDAGRAPH: Flag = Flag::new('G', "cudagraph");
pub const REPORT_CPUTIME: Flag = Flag::new('C', "report_cputime");
pub const REPORT_TIMESTAMPS: Flag = Flag::new('S', "report_timestamps");
pub const OUTPUT_FILE: Flag = Flag::new('J', "output_file");
pub const LOCAL_REGISTER: Flag = Flag::new('R', "local_register");
pub const MEMORY_REPORT: Flag = Flag::new('M', "memory_report");
pub const UNALIGN: Flag = Flag::new('u', "unalign");
pub const CTA_POLICY: Flag = Flag::new('x', "cta_policy");
pub const DEVICE_IMPLEMENTATION: Flag = Flag::new('D', "device_implementation");
pub const DEVICE_CTA_COUNT: Flag = Flag::new('V', "device_cta_count");
pub const BACKEND: Flag = Flag::long_only("backend");
pub const CSV: Flag = Flag::long_only("csv");
pub const COLLBENCH_JSON: Flag = Flag::long_only("collbench-json");
pub const SEED: Flag = Flag::long_only("seed");

/// Every flag, for messages that start from clap's spelling of one.
pub const ALL_FLAGS: &[Flag] = &[
    NTHREADS,
    NGPUS,
    MINBYTES,
    MAXBYTES,
    STEPBYTES,
    STEPFACTOR,
    OP,
    DATATYPE,
    ROOT,
    ITERS,
    WARMUP_ITERS,
    AGG_ITERS,
    RUN_CYCLES,
    AVERAGE,
    PER_ITER_TIMING,
    PER_ITER_SKIP,
    PARALLEL_INIT,
    CHECK,
    BLOCKING,
    STREAM_NULL,
    TIMEOUT,
    CUDAGRAPH,
    REPORT_CPUTIME,
    REPORT_TIMESTAMPS,
    OUTPUT_FILE,
    LOCAL_REGISTER,
    MEMORY_REPORT,
    UNALIGN,
    CTA_POLICY,
    DEVICE_IMPLEMENTATION,
    DEVICE_CTA_COUNT,
    BACKEND,
    CSV,
    COLLBENCH_JSON,
    SEED,
    super::precision::PRECISION,
    super::precision::MAX_TIME_PER_SIZE,
    super::precision::TIME_BUDGET,
];

/// The flag clap names `--iters <N>` (or `-n <N>`).
pub fn flag_from_clap_name(name: &str) -> Option<Flag> {
    let word = name.split_whitespace().next()?;
    if let Some(long) = word.strip_prefix("--") {
        return ALL_FLAGS.iter().copied().find(|f| f.long == long);
    }
    let short = word.strip_prefix('-')?.chars().next()?;
    ALL_FLAGS.iter().copied().find(|f| f.short == Some(short))
}

/// nccl-tests' defaults (2.19.6).
pub mod defaults {
    pub const NTHREADS: u64 = 1;
    pub const NGPUS: u64 = 1;
    pub const MIN_BYTES: u64 = 32 << 20;
    pub const MAX_BYTES: u64 = 32 << 20;
    pub const STEP_BYTES: u64 = 1 << 20;
    pub const STEP_FACTOR: u64 = 1;
    pub const ITERS: u64 = 20;
    pub const WARMUP_ITERS: u64 = 1;
    pub const AGG_ITERS: u64 = 1;
    pub const RUN_CYCLES: u64 = 1;
    pub const CHECK_ITERS: u64 = 1;
    pub const AVERAGE: u64 = 1;
}

/// Builds the plan. `args` is the command line as given (kept in the plan and the JSON).
pub fn build_plan(
    collective: &'static dyn Collective,
    raw: &RawArgs,
    env: &dyn Fn(&str) -> Option<String>,
    args: Vec<String>,
) -> Result<TestPlan> {
    reject_unimplemented(raw)?;

    let int =
        |flag: Flag, value: &Option<String>, default: u64, min: u64, max: u64| -> Result<u64> {
            match value {
                Some(text) => parse_int_flag(flag, text, min, max),
                None => Ok(default),
            }
        };
    let switch = |flag: Flag, value: &Option<String>| -> Result<bool> {
        match value {
            Some(text) => parse_switch(flag, text),
            None => Ok(false),
        }
    };
    let size = |flag: Flag, value: &Option<String>, default: u64| -> Result<u64> {
        match value {
            Some(text) => parse_size(flag, text),
            None => Ok(default),
        }
    };

    let nthreads = int(NTHREADS, &raw.nthreads, defaults::NTHREADS, 1, INT_FLAG_MAX)?;
    let ngpus = int(NGPUS, &raw.ngpus, defaults::NGPUS, 1, INT_FLAG_MAX)?;

    let min_bytes = size(MINBYTES, &raw.minbytes, defaults::MIN_BYTES)?;
    let max_bytes = size(MAXBYTES, &raw.maxbytes, defaults::MAX_BYTES)?;
    let step_bytes = size(STEPBYTES, &raw.stepbytes, defaults::STEP_BYTES)?;
    let step_factor = match &raw.stepfactor {
        Some(text) => parse_int_flag(STEPFACTOR, text, 1, u64::MAX).map_err(|_| {
            bad_value(
                STEPFACTOR,
                text,
                "",
                "a whole number >= 2 to multiply sizes, or 1 to step by -i (nccl-tests reads the \
                 factor as an integer)",
            )
        })?,
        None => defaults::STEP_FACTOR,
    };
    if min_bytes > max_bytes {
        return Err(CollbenchError::Usage(format!(
            "-b/--minbytes {} is larger than -e/--maxbytes {}; accepted: -b <= -e",
            raw.minbytes.as_deref().unwrap_or("32M"),
            raw.maxbytes.as_deref().unwrap_or("32M"),
        )));
    }
    let step = if step_factor > 1 {
        Step::Factor(step_factor as f64)
    } else {
        if step_bytes == 0 {
            let value = raw.stepbytes.as_deref().unwrap_or("0");
            let factor = raw
                .stepfactor
                .as_deref()
                .map_or(String::new(), |f| format!(" with -f {f}"));
            return Err(bad_value(
                STEPBYTES,
                value,
                &format!("an increment of 0 bytes{factor} never advances from -b to -e"),
                "-i >= 1, or a factor -f >= 2",
            ));
        }
        Step::Bytes(step_bytes)
    };
    let sizes = step.sizes(min_bytes, max_bytes)?;

    let dtypes = parse_dtypes(raw.datatype.as_deref())?;
    let selected_ops = parse_ops(raw.op.as_deref())?;
    let ops = match collective.op_column() {
        OpColumn::Reduction | OpColumn::Ignored => selected_ops,
        // Checked above, then ignored like nccl-tests: the column prints `none` or nothing.
        OpColumn::None | OpColumn::Blank => Vec::new(),
    };
    let root = parse_root(raw.root.as_deref())?;

    let iters = int(ITERS, &raw.iters, defaults::ITERS, 1, INT_FLAG_MAX)?;
    let warmup_iters = int(
        WARMUP_ITERS,
        &raw.warmup_iters,
        defaults::WARMUP_ITERS,
        0,
        INT_FLAG_MAX,
    )?;
    let agg_iters = int(
        AGG_ITERS,
        &raw.agg_iters,
        defaults::AGG_ITERS,
        1,
        INT_FLAG_MAX,
    )?;
    let run_cycles = int(
        RUN_CYCLES,
        &raw.run_cycles,
        defaults::RUN_CYCLES,
        0,
        INT_FLAG_MAX,
    )?;
    let average_flag = int(AVERAGE, &raw.average, defaults::AVERAGE, 0, 3)?;
    let average = AverageMode::from_flag(average_flag).expect("-a was range-checked to 0..=3");
    let per_iteration = switch(PER_ITER_TIMING, &raw.per_iter_timing)?;
    let per_iteration_skip = int(PER_ITER_SKIP, &raw.per_iter_skip, 0, 0, INT_FLAG_MAX)?;
    if per_iteration_skip >= iters {
        return Err(bad_value(
            PER_ITER_SKIP,
            raw.per_iter_skip.as_deref().unwrap_or("0"),
            &format!("skips every one of the -n {iters} iterations"),
            &format!("0..={} (fewer than -n)", iters - 1),
        ));
    }

    let parallel_init = switch(PARALLEL_INIT, &raw.parallel_init)?;
    let check_iters = int(CHECK, &raw.check, defaults::CHECK_ITERS, 0, INT_FLAG_MAX)?;
    let blocking_flag = int(BLOCKING, &raw.blocking, 0, 0, 3)?;
    let blocking = BlockingMode::from_flag(blocking_flag).expect("-z was range-checked to 0..=3");
    let stream_null = switch(STREAM_NULL, &raw.stream_null)?;
    let timeout_seconds = int(TIMEOUT, &raw.timeout, 0, 0, INT_FLAG_MAX)?;
    let graph_launches = int(CUDAGRAPH, &raw.cudagraph, 0, 0, INT_FLAG_MAX)?;
    let report_cputime = switch(REPORT_CPUTIME, &raw.report_cputime)?;
    let report_timestamps = switch(REPORT_TIMESTAMPS, &raw.report_timestamps)?;
    let local_register = int(LOCAL_REGISTER, &raw.local_register, 0, 0, 2)?;
    let memory_report = switch(MEMORY_REPORT, &raw.memory_report)?;
    let unalign = int(UNALIGN, &raw.unalign, 0, 0, INT_FLAG_MAX)?;

    let json_path = parse_path(OUTPUT_FILE, raw.output_file.as_deref())?;
    let csv_path = parse_path(CSV, raw.csv.as_deref())?;
    let collbench_json_path = parse_path(COLLBENCH_JSON, raw.collbench_json.as_deref())?;
    let backend = parse_backend(raw.backend.as_deref())?;
    let seed = match raw.seed.as_deref() {
        Some(text) => parse_unsigned(text).map_err(|problem| {
            bad_value(
                SEED,
                text,
                problem.describe(),
                "an integer from 0 to 2^64-1 (decimal or 0x hex)",
            )
        })?,
        None => DEFAULT_SEED,
    };
    let split = split_rule_from_env(env)?;
    let nccl_tests_device = env("NCCL_TESTS_DEVICE");
    let alltoallv = if collective.name() == "alltoallv" {
        Some(crate::collectives::alltoallv::pattern::options_from_env(
            env, min_bytes, max_bytes,
        )?)
    } else {
        None
    };
    let acceptance = acceptance_plan(&raw.acceptance, env)?;
    let adaptive = super::precision::adaptive_plan(&raw.precision, run_cycles)?;
    // One file per output: two writers on one path lose one of them (the JSON rewrite ends the
    // JSON Lines; the CSV and the Prometheus textfile replace each other).
    let outputs = [
        ("-J/--output_file", &json_path),
        ("--collbench-json", &collbench_json_path),
        ("--csv", &csv_path),
        ("--jsonl", &acceptance.jsonl_path),
        ("--prom-file", &acceptance.prom_file),
    ];
    for (i, (first, first_path)) in outputs.iter().enumerate() {
        for (second, second_path) in &outputs[i + 1..] {
            if let (Some(a), Some(b)) = (first_path, second_path) {
                if a == b {
                    return Err(CollbenchError::Usage(format!(
                        "{first} and {second} both name '{}'; accepted: two different files",
                        a.display()
                    )));
                }
            }
        }
    }

    Ok(TestPlan {
        collective,
        backend,
        sizes,
        min_bytes,
        max_bytes,
        step,
        dtypes,
        ops,
        root,
        nthreads: nthreads as usize,
        ngpus: ngpus as usize,
        warmup_iters: warmup_iters as usize,
        timing: TimingPlan {
            iters: iters as usize,
            agg_iters: agg_iters as usize,
            graph_launches: graph_launches as usize,
            blocking_mode: blocking,
            per_iteration,
            per_iteration_skip: per_iteration_skip as usize,
            report_cputime,
        },
        check_iters: check_iters as usize,
        run_cycles: run_cycles as usize,
        parallel_init,
        stream_null,
        average,
        timeout: (timeout_seconds > 0).then(|| Duration::from_secs(timeout_seconds)),
        local_register: local_register as u8,
        memory_report,
        unalign: unalign as usize,
        report_timestamps,
        split,
        nccl_tests_device,
        alltoallv,
        json_path,
        collbench_json_path,
        csv_path,
        seed,
        acceptance,
        adaptive,
        args,
    })
}

/// Checks the acceptance flags into the plan's acceptance section (see `AcceptanceArgs`).
pub fn acceptance_plan(
    raw: &AcceptanceArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AcceptancePlan> {
    crate::cli::acceptance::acceptance_plan(raw, env)
}

/// nccl-tests 2.19 flags for NCCL features collbench does not drive: a clear error, not "unknown".
fn reject_unimplemented(raw: &RawArgs) -> Result<()> {
    let unimplemented = [
        (CTA_POLICY, &raw.cta_policy, "NCCL CTA policy"),
        (
            DEVICE_IMPLEMENTATION,
            &raw.device_implementation,
            "NCCL device-API kernels",
        ),
        (
            DEVICE_CTA_COUNT,
            &raw.device_cta_count,
            "NCCL device-API kernels",
        ),
    ];
    for (flag, value, what) in unimplemented {
        if let Some(value) = value {
            return Err(CollbenchError::Usage(format!(
                "{flag} '{value}': collbench does not implement nccl-tests' {what} option; accepted: \
                 leave it out"
            )));
        }
    }
    Ok(())
}

/// `-d`: one type or `all` (nccl-tests' order).
pub fn parse_dtypes(text: Option<&str>) -> Result<Vec<DataType>> {
    let Some(text) = text else {
        return Ok(vec![DataType::Float]);
    };
    if text == "all" {
        return Ok(DataType::ALL.to_vec());
    }
    DataType::parse(text)
        .map(|dtype| vec![dtype])
        .ok_or_else(|| bad_value(DATATYPE, text, "unknown type", &DataType::accepted()))
}

/// `-o`: one operator or `all` (nccl-tests' order).
pub fn parse_ops(text: Option<&str>) -> Result<Vec<ReduceOp>> {
    let Some(text) = text else {
        return Ok(vec![ReduceOp::Sum]);
    };
    if text == "all" {
        return Ok(ReduceOp::ALL.to_vec());
    }
    ReduceOp::parse(text)
        .map(|op| vec![op])
        .ok_or_else(|| bad_value(OP, text, "unknown operator", &ReduceOp::accepted()))
}

/// `-r`: a rank, or `-1`/`all` for every root. Whether the rank exists is checked later
/// (`TestPlan::validate_for_world`).
pub fn parse_root(text: Option<&str>) -> Result<RootSelection> {
    let Some(text) = text else {
        return Ok(RootSelection::One(0));
    };
    let accepted = "a rank >= 0, or -1 or all for every root in turn";
    match text.trim() {
        "-1" | "all" => Ok(RootSelection::All),
        other => match parse_unsigned(other) {
            Ok(rank) if rank <= INT_FLAG_MAX => Ok(RootSelection::One(rank as usize)),
            Ok(_) => Err(bad_value(ROOT, text, "too large", accepted)),
            Err(problem) => Err(bad_value(ROOT, text, problem.describe(), accepted)),
        },
    }
}

fn parse_backend(text: Option<&str>) -> Result<BackendChoice> {
    match text {
        None | Some("auto") => Ok(BackendChoice::Auto),
        Some("nccl") => Ok(BackendChoice::Nccl),
        Some("mpi") => Ok(BackendChoice::Mpi),
        Some(other) => Err(bad_value(
            BACKEND,
            other,
            "unknown backend",
            "auto, nccl or mpi",
        )),
    }
}

fn parse_path(flag: Flag, text: Option<&str>) -> Result<Option<PathBuf>> {
    match text {
        None => Ok(None),
        Some(path) if path.trim().is_empty() => Err(bad_value(flag, path, "empty", "a file path")),
        Some(path) if path.ends_with('/') => {
            Err(bad_value(flag, path, "names a directory", "a file path"))
        }
        Some(path) => Ok(Some(PathBuf::from(path))),
    }
}
