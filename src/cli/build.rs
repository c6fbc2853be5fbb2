//! Raw flags → validated [`TestPlan`]. Every check that needs only the command line and the
//! environment happens here, before any work; each failure is a usage error (exit 6) naming the
//! flag, the value and what is accepted.

use super::args::RawArgs;
use super::split::split_rule_from_env;
use crate::cli::acceptance::acceptance_plan;
use crate::collectives::{Collective, OpColumn};
use crate::error::{CollbenchError, Result};
use crate::plan::device_api::{self, CtaPolicy, DeviceImplementation};
use crate::plan::flags::*;
use crate::plan::TimingPlan;
use crate::plan::{
    AverageMode, BackendChoice, BlockingMode, GpuPlan, OutputFile, OutputFiles, RootSelection,
    Step, SweepPlan, TestPlan, DEFAULT_SEED,
};
use crate::types::values::{
    bad_value, parse_int_flag, parse_size, parse_switch, parse_unsigned, INT_FLAG_MAX,
};
use crate::types::{DataType, ReduceOp};
use std::path::PathBuf;
use std::time::Duration;

/// Builds the plan. `args` is the command line as given (kept in the plan and the JSON).
pub fn build_plan(
    collective: &'static dyn Collective,
    raw: &RawArgs,
    env: &dyn Fn(&str) -> Option<String>,
    args: Vec<String>,
) -> Result<TestPlan> {
    // Checked in table order, so that of several bad values the first on the table is named.
    let nthreads = int(raw, &NTHREADS)? as usize;
    let ngpus = int(raw, &NGPUS)? as usize;
    let sweep = sweep(raw)?;
    let selection = selection(collective, raw)?;
    let timing = timing(raw)?;
    let run_cycles = int(raw, &RUN_CYCLES)?;
    let run = run_options(raw)?;
    let cta_policy = cta_policy(raw)?;
    let device_implementation =
        device_implementation(collective, raw, &selection, run.local_register)?;
    let outputs = outputs(raw)?;
    let backend = parse_backend(raw.value(&BACKEND))?;
    let seed = parse_seed(raw.given(&SEED))?;
    let split = split_rule_from_env(env)?;
    let alltoallv = if collective.name() == "alltoallv" {
        Some(crate::collectives::alltoallv::pattern::options_from_env(
            env,
            sweep.min_bytes,
            sweep.max_bytes,
        )?)
    } else {
        None
    };
    let acceptance = acceptance_plan(raw, env)?;
    let adaptive = super::precision::adaptive_plan(raw, run_cycles)?;
    Ok(TestPlan {
        collective,
        backend,
        sweep: SweepPlan {
            sizes: sweep.sizes,
            min_bytes: sweep.min_bytes,
            max_bytes: sweep.max_bytes,
            step: sweep.step,
            dtypes: selection.dtypes,
            ops: selection.ops,
            root: selection.root,
        },
        gpu: GpuPlan {
            nthreads,
            ngpus,
            parallel_init: run.parallel_init,
            stream_null: run.stream_null,
            local_register: run.local_register,
            unalign: run.unalign,
            cta_policy,
            device_implementation,
            nccl_tests_device: env("NCCL_TESTS_DEVICE"),
        },
        warmup_iters: run.warmup_iters,
        timing,
        check_iters: run.check_iters,
        run_cycles: run_cycles as usize,
        average: run.average,
        timeout: run.timeout,
        memory_report: run.memory_report,
        report_timestamps: run.report_timestamps,
        split,
        alltoallv,
        outputs,
        seed,
        acceptance,
        adaptive,
        args,
    })
}

/// An integer flag, checked against its table range; its table default when absent.
fn int(raw: &RawArgs, spec: &FlagSpec) -> Result<u64> {
    let Kind::Int { min, max } = spec.kind else {
        unreachable!("{} is not an integer flag in the table", spec.flag)
    };
    let text = raw.value(spec).expect("integer flags have a default");
    parse_int_flag(spec.flag, text, min, max)
}

/// A 0/1 flag; its table default when absent.
fn switch(raw: &RawArgs, spec: &FlagSpec) -> Result<bool> {
    debug_assert_eq!(spec.kind, Kind::Switch, "{}", spec.flag);
    parse_switch(spec.flag, raw.value(spec).expect("switches have a default"))
}

/// A size flag; its table default when absent.
fn size(raw: &RawArgs, spec: &FlagSpec) -> Result<u64> {
    debug_assert_eq!(spec.kind, Kind::Size, "{}", spec.flag);
    parse_size(
        spec.flag,
        raw.value(spec).expect("size flags have a default"),
    )
}

/// `-b`, `-e`, `-i`, `-f` checked into the sizes of the sweep.
struct Sweep {
    sizes: Vec<u64>,
    min_bytes: u64,
    max_bytes: u64,
    step: Step,
}

fn sweep(raw: &RawArgs) -> Result<Sweep> {
    let min_bytes = size(raw, &MINBYTES)?;
    let max_bytes = size(raw, &MAXBYTES)?;
    let step_bytes = size(raw, &STEPBYTES)?;
    let step_factor = match raw.given(&STEPFACTOR) {
        Some(text) => int(raw, &STEPFACTOR).map_err(|_| {
            bad_value(
                STEPFACTOR.flag,
                text,
                "",
                "a whole number >= 2 to multiply sizes, or 1 to step by -i (nccl-tests reads the \
                 factor as an integer)",
            )
        })?,
        None => int(raw, &STEPFACTOR)?,
    };
    if min_bytes > max_bytes {
        return Err(CollbenchError::Usage(format!(
            "-b/--minbytes {} is larger than -e/--maxbytes {}; accepted: -b <= -e",
            raw.value(&MINBYTES).unwrap_or_default(),
            raw.value(&MAXBYTES).unwrap_or_default(),
        )));
    }
    let step = if step_factor > 1 {
        Step::Factor(step_factor as f64)
    } else {
        if step_bytes == 0 {
            let factor = raw
                .given(&STEPFACTOR)
                .map_or(String::new(), |f| format!(" with -f {f}"));
            return Err(bad_value(
                STEPBYTES.flag,
                raw.value(&STEPBYTES).unwrap_or("0"),
                &format!("an increment of 0 bytes{factor} never advances from -b to -e"),
                "-i >= 1, or a factor -f >= 2",
            ));
        }
        Step::Bytes(step_bytes)
    };
    Ok(Sweep {
        sizes: step.sizes(min_bytes, max_bytes)?,
        min_bytes,
        max_bytes,
        step,
    })
}

/// `-d`, `-o`, `-r`: which rows the sweep runs.
struct Selection {
    dtypes: Vec<DataType>,
    ops: Vec<ReduceOp>,
    root: RootSelection,
}

fn selection(collective: &dyn Collective, raw: &RawArgs) -> Result<Selection> {
    let dtypes = parse_dtypes(raw.value(&DATATYPE))?;
    let selected_ops = parse_ops(raw.value(&OP))?;
    let ops = match collective.op_column() {
        OpColumn::Reduction | OpColumn::Ignored => selected_ops,
        // Checked above, then ignored like nccl-tests: the column prints `none` or nothing.
        OpColumn::None | OpColumn::Blank => Vec::new(),
    };
    let root = parse_root(raw.value(&ROOT))?;
    Ok(Selection { dtypes, ops, root })
}

/// `-n`, `-m`, `-G`, `-z`, `-I`, `-K`, `-C`.
fn timing(raw: &RawArgs) -> Result<TimingPlan> {
    let iters = int(raw, &ITERS)?;
    let per_iteration_skip = int(raw, &PER_ITER_SKIP)?;
    if per_iteration_skip >= iters {
        return Err(bad_value(
            PER_ITER_SKIP.flag,
            raw.value(&PER_ITER_SKIP).unwrap_or("0"),
            &format!("skips every one of the -n {iters} iterations"),
            &format!("0..={} (fewer than -n)", iters - 1),
        ));
    }
    let blocking_mode =
        BlockingMode::from_flag(int(raw, &BLOCKING)?).expect("-z was range-checked to 0..=3");
    Ok(TimingPlan {
        iters: iters as usize,
        agg_iters: int(raw, &AGG_ITERS)? as usize,
        graph_launches: int(raw, &CUDAGRAPH)? as usize,
        blocking_mode,
        per_iteration: switch(raw, &PER_ITER_TIMING)?,
        per_iteration_skip: per_iteration_skip as usize,
        report_cputime: switch(raw, &REPORT_CPUTIME)?,
    })
}

/// The flags of the run outside the timed loop and the sweep.
struct RunOptions {
    warmup_iters: usize,
    average: AverageMode,
    parallel_init: bool,
    check_iters: usize,
    stream_null: bool,
    timeout: Option<Duration>,
    report_timestamps: bool,
    local_register: u8,
    memory_report: bool,
    unalign: usize,
}

fn run_options(raw: &RawArgs) -> Result<RunOptions> {
    let warmup_iters = int(raw, &WARMUP_ITERS)? as usize;
    let average =
        AverageMode::from_flag(int(raw, &AVERAGE)?).expect("-a was range-checked to 0..=3");
    let parallel_init = switch(raw, &PARALLEL_INIT)?;
    let check_iters = int(raw, &CHECK)? as usize;
    let stream_null = switch(raw, &STREAM_NULL)?;
    let timeout_seconds = int(raw, &TIMEOUT)?;
    Ok(RunOptions {
        warmup_iters,
        average,
        parallel_init,
        check_iters,
        stream_null,
        timeout: (timeout_seconds > 0).then(|| Duration::from_secs(timeout_seconds)),
        report_timestamps: switch(raw, &REPORT_TIMESTAMPS)?,
        local_register: int(raw, &LOCAL_REGISTER)? as u8,
        memory_report: switch(raw, &MEMORY_REPORT)?,
        unalign: int(raw, &UNALIGN)? as usize,
    })
}

/// `-x`: absent means not set (NCCL's default), as in nccl-tests. nccl-tests passes any number to
/// NCCL; only NCCL's policies are accepted here.
fn cta_policy(raw: &RawArgs) -> Result<Option<CtaPolicy>> {
    let Some(text) = raw.given(&CTA_POLICY) else {
        return Ok(None);
    };
    let value = parse_unsigned(text).map_err(|problem| {
        bad_value(
            CTA_POLICY.flag,
            text,
            problem.describe(),
            CtaPolicy::ACCEPTED,
        )
    })?;
    CtaPolicy::from_flag(value).map(Some).ok_or_else(|| {
        bad_value(
            CTA_POLICY.flag,
            text,
            "is not an NCCL CTA policy",
            CtaPolicy::ACCEPTED,
        )
    })
}

/// `-D` and `-V`, with nccl-tests' rules: `-D > 0` needs `-R 2`; only the collectives, types and
/// the operator nccl-tests has device kernels for (it fails at run time on the others). `-V`
/// without `-D` would do nothing (nccl-tests ignores it): refused.
fn device_implementation(
    collective: &dyn Collective,
    raw: &RawArgs,
    selection: &Selection,
    local_register: u8,
) -> Result<Option<DeviceImplementation>> {
    let implementation = int(raw, &DEVICE_IMPLEMENTATION)? as u8;
    let cta_count = int(raw, &DEVICE_CTA_COUNT)? as u32;
    if implementation == 0 {
        return match raw.given(&DEVICE_CTA_COUNT) {
            Some(text) => Err(bad_value(
                DEVICE_CTA_COUNT.flag,
                text,
                "sets the CTAs of the -D device kernels, but -D is 0 (NCCL's own collectives)",
                "-V with -D 1 or more, or no -V",
            )),
            None => Ok(None),
        };
    }
    let name = collective.name();
    let Some(kernel) = device_api::find(name, implementation) else {
        let values = device_api::implementations(name);
        let accepted = match values.as_slice() {
            [] => format!(
                "-D 0: nccl-tests has device kernels only for {}",
                device_api::collectives_with_kernels().join(" and ")
            ),
            _ => format!("-D 0 or {}", join_values(&values)),
        };
        return Err(bad_value(
            DEVICE_IMPLEMENTATION.flag,
            &implementation.to_string(),
            &format!("{name} has no device implementation {implementation}"),
            &accepted,
        ));
    };
    if local_register != 2 {
        return Err(CollbenchError::Usage(format!(
            "{} {implementation} requires symmetric memory registration, but {} is \
             {local_register}; accepted: -R 2 with -D > 0, or -D 0",
            DEVICE_IMPLEMENTATION.flag, LOCAL_REGISTER.flag
        )));
    }
    if let Some(dtype) = selection.dtypes.iter().find(|d| !kernel.dtypes.contains(d)) {
        let accepted: Vec<String> = kernel.dtypes.iter().map(|d| d.to_string()).collect();
        return Err(CollbenchError::Usage(format!(
            "{} {implementation} ({}) has no kernel for -d {dtype}; accepted with it: -d {}",
            DEVICE_IMPLEMENTATION.flag,
            kernel.kernel,
            accepted.join(", ")
        )));
    }
    if let Some(op) = selection
        .ops
        .iter()
        .find(|o| !device_api::DEVICE_OPS.contains(o))
    {
        return Err(CollbenchError::Usage(format!(
            "{} {implementation} ({}) only sums; -o {} has no kernel; accepted with it: -o sum",
            DEVICE_IMPLEMENTATION.flag,
            kernel.kernel,
            op.name()
        )));
    }
    Ok(Some(DeviceImplementation { kernel, cta_count }))
}

fn join_values(values: &[u8]) -> String {
    let text: Vec<String> = values.iter().map(u8::to_string).collect();
    text.join(", ")
}

/// Every output flag of the table given on the command line, checked: not empty and not a
/// directory, or probed in full for the flags the table marks so.
fn outputs(raw: &RawArgs) -> Result<OutputFiles> {
    let mut files = Vec::new();
    for spec in FLAGS {
        let Some(format) = spec.output else { continue };
        let path = match spec.kind {
            Kind::ProbedPath => raw.given(spec).map(PathBuf::from).map(|path| {
                crate::io::check_output_path(&spec.flag.to_string(), &path).map(|()| path)
            }),
            _ => output_path(raw, spec).transpose(),
        };
        if let Some(path) = path.transpose()? {
            files.push(OutputFile {
                format,
                path,
                flag: spec.flag,
                probe_when_opened: spec.kind == Kind::Path,
            });
        }
    }
    let files = OutputFiles::new(files);
    check_distinct_outputs(&files)?;
    Ok(files)
}

/// One file per output: two writers on one path lose one of them (the JSON rewrite ends the
/// JSON Lines; the CSV and the Prometheus textfile replace each other).
fn check_distinct_outputs(files: &OutputFiles) -> Result<()> {
    for (i, first) in files.iter().enumerate() {
        if let Some(second) = files.iter().skip(i + 1).find(|f| f.path == first.path) {
            return Err(CollbenchError::Usage(format!(
                "{} and {} both name '{}'; accepted: two different files",
                first.flag,
                second.flag,
                first.path.display()
            )));
        }
    }
    Ok(())
}

fn parse_seed(text: Option<&str>) -> Result<u64> {
    let Some(text) = text else {
        return Ok(DEFAULT_SEED);
    };
    parse_unsigned(text).map_err(|problem| {
        bad_value(
            SEED.flag,
            text,
            problem.describe(),
            "an integer from 0 to 2^64-1 (decimal or 0x hex)",
        )
    })
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
        .ok_or_else(|| bad_value(DATATYPE.flag, text, "unknown type", &DataType::accepted()))
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
        .ok_or_else(|| bad_value(OP.flag, text, "unknown operator", &ReduceOp::accepted()))
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
            Ok(_) => Err(bad_value(ROOT.flag, text, "too large", accepted)),
            Err(problem) => Err(bad_value(ROOT.flag, text, problem.describe(), accepted)),
        },
    }
}

fn parse_backend(text: Option<&str>) -> Result<BackendChoice> {
    match text {
        None | Some("auto") => Ok(BackendChoice::Auto),
        Some("nccl") => Ok(BackendChoice::Nccl),
        Some("mpi") => Ok(BackendChoice::Mpi),
        Some(other) => Err(bad_value(
            BACKEND.flag,
            other,
            "unknown backend",
            "auto, nccl or mpi",
        )),
    }
}

/// An output file flag (-J, --csv, …): not empty, not a directory.
pub fn output_path(raw: &RawArgs, spec: &FlagSpec) -> Result<Option<PathBuf>> {
    debug_assert_eq!(spec.kind, Kind::Path, "{}", spec.flag);
    let flag = spec.flag;
    match raw.given(spec) {
        None => Ok(None),
        Some(path) if path.trim().is_empty() => Err(bad_value(flag, path, "empty", "a file path")),
        Some(path) if path.ends_with('/') => {
            Err(bad_value(flag, path, "names a directory", "a file path"))
        }
        Some(path) => Ok(Some(PathBuf::from(path))),
    }
}
