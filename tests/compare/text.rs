//! `collbench compare` and `collbench plot` reading text output: real nccl-tests 2.19.6 stdout
//! (the H100 anchors in ../shared/anchors), collbench's own stdout (produced here by a host-backend
//! run), and small fixtures for what real logs contain: several types and cycles, launcher labels
//! and NCCL INFO lines, cut-off tables, blank and 0 µs cells, garbage.

use crate::support::anchors::{anchor_path, read_anchor};
use crate::support::compare::{collbench, fuzz_cases, mutate};
use collbench::compare::load::{self, InputFormat};
use collbench::compare::{command, compare, noise, NoiseSource, Status};
use collbench::error::exit;
use collbench::report::Report;
use collbench::types::DataType;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn parse(text: &str) -> collbench::Result<load::LoadedRuns> {
    load::parse(text, "fixture.txt")
}

fn one(text: &str) -> Report {
    let loaded = parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(loaded.format, InputFormat::Text);
    assert_eq!(loaded.runs.len(), 1, "{text}");
    loaded.runs.into_iter().next().unwrap()
}

fn usage_error(text: &str) -> String {
    let err = parse(text).expect_err(text);
    assert_eq!(err.exit_code(), exit::USAGE, "{err}");
    err.to_string()
}

/// The data lines of a table, as health-check scripts find them.
fn table_rows(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect()
}

/// Runs `collbench compare` in process: (exit code, output).
fn compare_files(base: &Path, new: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec![base.display().to_string(), new.display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut out = Vec::new();
    let code = match command(&args, &mut out) {
        Ok(()) => 0,
        Err(e) => e.exit_code(),
    };
    (code, String::from_utf8(out).unwrap())
}

#[test]
fn every_anchor_loads_with_its_header_rows_and_footer() {
    let _machine = crate::support::process::machine_shared();
    for file in [
        "all_gather.txt",
        "all_reduce.txt",
        "all_reduce_cudagraph_G10.txt",
        "all_reduce_per_iter_I1.txt",
        "alltoall.txt",
        "broadcast.txt",
        "gather.txt",
        "hypercube.txt",
        "reduce.txt",
        "reduce_scatter.txt",
        "scatter.txt",
        "sendrecv.txt",
    ] {
        let text = read_anchor(file);
        let loaded = load::read(&anchor_path(file)).unwrap();
        assert_eq!(loaded.format, InputFormat::Text);
        assert!(loaded.notes.is_empty(), "{file}: {:?}", loaded.notes);
        let run = &loaded.runs[0];
        let program = text
            .lines()
            .find_map(|l| l.strip_prefix("# Collective test starting: "))
            .unwrap();
        assert_eq!(format!("{}_perf", run.collective), program.trim(), "{file}");
        assert_eq!(
            (run.tool.name.as_str(), run.tool.version.as_str()),
            ("nccl-tests", "2.19.6")
        );
        assert_eq!(run.backend.library, "NCCL 2.28.9", "{file}");
        assert_eq!(run.backend.version_code, Some(22809));
        assert_eq!(run.nranks, 1);
        assert_eq!(run.hosts, vec!["vm"]);
        assert_eq!(run.ranks[0].device, Some(0));
        assert_eq!(run.ranks[0].bus_id.as_deref(), Some("0000:00:06"));
        assert_eq!(run.ranks[0].device_name, "NVIDIA H100 80GB HBM3");
        assert!(run.complete && run.summary.passed, "{file}");
        assert_eq!(run.summary.out_of_bounds, 0);
        let avg: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("# Avg bus bandwidth    : "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(run.summary.avg_bus_bandwidth_gbps, avg, "{file}");
        let rows = table_rows(&text);
        assert_eq!(run.results.len(), rows.len(), "{file}");
        // Every row's numbers, as a script splitting on blanks reads them (hypercube has no op).
        for (row, line) in run.results.iter().zip(&rows) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let op_words = if run.collective == "hypercube" { 0 } else { 1 };
            assert_eq!(row.size_bytes.to_string(), words[0]);
            assert_eq!(row.count.to_string(), words[1]);
            assert_eq!(row.dtype, DataType::Float);
            assert_eq!(row.redop, if op_words == 1 { words[3] } else { "" });
            assert_eq!(row.root.to_string(), words[3 + op_words]);
            let cell = if file.contains("I1") { 8 } else { 4 };
            let oop = row.out_of_place.as_ref().unwrap();
            let ip = row.in_place.as_ref().unwrap();
            let at = 4 + op_words;
            assert_eq!(oop.time_us, words[at].parse::<f64>().unwrap(), "{line}");
            assert_eq!(
                oop.bus_bandwidth_gbps,
                words[at + 2].parse::<f64>().unwrap()
            );
            assert_eq!(ip.time_us, words[at + cell].parse::<f64>().unwrap());
            // `1e+06`-style bandwidths are read as the numbers they print.
            assert_eq!(ip.algbw_gbps, words[at + cell + 1].parse::<f64>().unwrap());
            let wrong = |w: &str| (w != "N/A").then(|| w.parse::<u64>().unwrap());
            assert_eq!(oop.wrong, wrong(words[at + 3]));
            assert_eq!(ip.wrong, wrong(words[at + cell + 3]), "{line}");
            assert_eq!(row.cycle, 0);
        }
        // A run is as fast as itself.
        let c = compare(run, run, 5.0).unwrap();
        assert!(!c.failed());
        assert_eq!(c.count(Status::Unchanged), 2 * rows.len(), "{file}");
    }
    let all_reduce = one(&read_anchor("all_reduce.txt"));
    let c = &all_reduce.config;
    assert_eq!(
        (c.nthreads, c.ngpus, c.min_bytes, c.max_bytes),
        (1, 1, 8, 4294967296)
    );
    assert_eq!((c.step_value, c.step_kind.as_str()), (2.0, "factor"));
    assert_eq!(
        (c.warmup_iters, c.iters, c.agg_iters, c.check_iters),
        (5, 50, 1, 1)
    );
    assert_eq!((c.graph_launches, c.unalign), (0, 0));
    assert_eq!(c.dtypes, vec![DataType::Float]);
    assert_eq!(c.ops, vec!["sum"]);
    assert_eq!(c.roots, vec![-1]);
    assert_eq!(
        one(&read_anchor("all_reduce_cudagraph_G10.txt"))
            .config
            .graph_launches,
        10
    );
    assert_eq!(
        one(&read_anchor("alltoall.txt")).results[0]
            .in_place
            .as_ref()
            .unwrap()
            .wrong,
        None
    );
    // -I: the i_* columns, with i_cv% as the run's noise.
    let per_iteration = one(&read_anchor("all_reduce_per_iter_I1.txt"));
    assert!(per_iteration.config.per_iteration_timing);
    let stats = per_iteration.results[0]
        .out_of_place
        .as_ref()
        .unwrap()
        .per_iteration
        .as_ref()
        .unwrap();
    assert_eq!(
        (stats.min_us, stats.max_us, stats.p99_us, stats.cv_percent),
        (4.58, 10.94, 10.94, 22.79)
    );
    assert_eq!(stats.samples, 20);
    // The error of the median of 20 iterations with cv 22.79 % (1.253 x cv / sqrt 20), both runs
    // combined, times WITHIN_RUN_SIGMAS.
    let c = compare(&per_iteration, &per_iteration, 5.0).unwrap();
    let error = 1.253 * 0.2279 / 20f64.sqrt();
    let allowance = noise::WITHIN_RUN_SIGMAS * (2.0 * error * error).sqrt();
    let expected = 1.0 - (-allowance).exp();
    assert!(
        (c.deltas[0].noise.unwrap() - expected).abs() < 1e-9,
        "{:?}",
        c.deltas[0]
    );
    assert_eq!(c.deltas[0].noise_source, NoiseSource::WithinRun);
}

const COLUMN_HEADERS: &str = "\
#                                                              out-of-place                       in-place          
#       size         count      type   redop    root     time   algbw   busbw  #wrong     time   algbw   busbw  #wrong 
#        (B)    (elements)                               (us)  (GB/s)  (GB/s)             (us)  (GB/s)  (GB/s)         
";

/// An nccl-tests 2.19.6 header for a 2-rank, 2-host run.
fn header(program: &str) -> String {
    format!(
        "# nccl-tests version 2.19.6 nccl-headers=22809 nccl-library=22809\n\
         # Collective test starting: {program}\n\
         # nThread 1 nGpus 1 minBytes 1024 maxBytes 2048 step: 2(factor) warmup iters: 5 iters: 20 agg iters: 1 validation: 1 graph: 0 unalign: 0\n\
         #\n\
         # Using devices\n\
         #  Rank  0 Group  0 Pid   1198 on     node-a device  0 [0000:00:06] NVIDIA H100 80GB HBM3\n\
         #  Rank  1 Group  0 Pid   2231 on     node-b device  0 [0000:00:06] NVIDIA H100 80GB HBM3\n\
         #\n{COLUMN_HEADERS}"
    )
}

const FOOTER: &str = "# Out of bounds values : 0 OK\n# Avg bus bandwidth    : 1.5 \n#\n# Collective test concluded: all_reduce_perf\n#\n\n";

/// One row the way nccl-tests prints it (2 ranks: busbw = algbw for all_reduce).
fn row(size: u64, dtype: &str, op: &str, oop_us: f64, ip_us: f64) -> String {
    let bytes = if dtype == "double" { 8 } else { 4 };
    let cell = |us: f64| {
        let algbw = size as f64 / us / 1e3;
        format!("  {us:>7.2}  {algbw:>6.2}  {algbw:>6.2}  {:>6}", 0)
    };
    format!(
        "{size:>12}  {:>12}  {dtype:>8}  {op:>6}  {:>6}{}{}\n",
        size / bytes,
        -1,
        cell(oop_us),
        cell(ip_us)
    )
}

#[test]
fn several_types_operators_and_cycles_keep_every_row_with_its_cycle() {
    let _machine = crate::support::process::machine_shared();
    // `-d all -o all -N 2` in short: float sum, float max, double sum; the size loop twice.
    let mut text = header("all_reduce_perf");
    for cycle_us in [10.0, 12.0] {
        for (dtype, op) in [("float", "sum"), ("float", "max"), ("double", "sum")] {
            for size in [1024, 2048] {
                text.push_str(&row(size, dtype, op, cycle_us, cycle_us + 1.0));
            }
        }
    }
    text.push_str(FOOTER);
    let run = one(&text);
    assert_eq!(run.nranks, 2);
    assert_eq!(run.hosts, vec!["node-a", "node-b"]);
    assert_eq!(run.results.len(), 12);
    assert_eq!(run.config.run_cycles, 2);
    assert_eq!(run.config.dtypes, vec![DataType::Float, DataType::Double]);
    assert_eq!(run.config.ops, vec!["sum", "max"]);
    assert!(run.results[..6].iter().all(|r| r.cycle == 0));
    assert!(run.results[6..].iter().all(|r| r.cycle == 1));
    // Compare takes the median of the cycles and the error of that median as noise: 10 and
    // 12 µs → 1.4826 × MAD of ln(time) = 13.5 %, / sqrt 2 × 1.253 for the median of two.
    let c = compare(&run, &run, 5.0).unwrap();
    assert_eq!(c.deltas.len(), 12);
    assert!(!c.failed());
    let error = 1.4826 * (12f64.ln() - 10f64.ln()) / 2.0 / 2f64.sqrt() * 1.253;
    let allowance = noise::WITHIN_RUN_SIGMAS * (2.0 * error * error).sqrt();
    let expected = 1.0 - (-allowance).exp();
    assert!(
        (c.deltas[0].noise.unwrap() - expected).abs() < 1e-9,
        "{:?}",
        c.deltas[0]
    );
    // A double row 3x slower in both cycles regresses, beyond the cycles' noise (two cycles
    // estimate their spread poorly: the allowance is a 49 % drop).
    let slower = text.replace(
        &row(2048, "double", "sum", 10.0, 11.0),
        &row(2048, "double", "sum", 30.0, 11.0),
    );
    let slower = slower.replace(
        &row(2048, "double", "sum", 12.0, 13.0),
        &row(2048, "double", "sum", 36.0, 13.0),
    );
    let c = compare(&run, &one(&slower), 5.0).unwrap();
    let regressed: Vec<_> = c
        .deltas
        .iter()
        .filter(|d| d.status == Status::Regressed)
        .collect();
    assert_eq!(regressed.len(), 1, "{c:#?}");
    assert_eq!(
        (regressed[0].key.dtype, regressed[0].key.size_bytes),
        (DataType::Double, 2048)
    );
}

#[test]
fn launcher_labels_and_nccl_messages_are_skipped_and_counted() {
    let _machine = crate::support::process::machine_shared();
    let clean = read_anchor("reduce.txt");
    // srun -l: every line of rank 0 starts with `0: `; other ranks and NCCL_DEBUG=INFO talk too.
    let mut noisy = String::from("srun: job 4242 queued and waiting for resources\n");
    for (i, line) in clean.lines().enumerate() {
        noisy.push_str(&format!("0: {line}\n"));
        if i == 12 {
            noisy.push_str("0: vm:1336:1350 [0] NCCL INFO Channel 00/32 :    0\n");
            noisy.push_str("1: # Collective test starting: reduce_perf\n");
        }
    }
    let run = one(&noisy);
    assert_eq!(run.results, one(&clean).results);
    let loaded = parse(&noisy).unwrap();
    assert_eq!(loaded.notes.len(), 1, "{:?}", loaded.notes);
    assert!(
        loaded.notes[0].contains("skipped 3 lines"),
        "{}",
        loaded.notes[0]
    );
    assert!(
        loaded.notes[0].contains("line 1: 'srun: job 4242"),
        "{}",
        loaded.notes[0]
    );
    // mpirun --tag-output labels.
    let tagged: String = clean
        .lines()
        .map(|l| format!("[1,0]<stdout>:{l}\n"))
        .collect();
    assert_eq!(one(&tagged).results, run.results);
    // Unlabelled NCCL INFO lines inside the table.
    let mut interleaved = String::new();
    for line in clean.lines() {
        interleaved.push_str(line);
        interleaved.push('\n');
        if line.starts_with("     1048576") {
            interleaved
                .push_str("vm:1336:1351 [0] NCCL INFO comm 0x55 rank 0 nranks 1 - Init COMPLETE\n");
        }
    }
    assert_eq!(one(&interleaved).results, run.results);
}

#[test]
fn a_cut_off_table_keeps_its_finished_rows_and_says_so() {
    let _machine = crate::support::process::machine_shared();
    let full = read_anchor("all_reduce.txt");
    let path_dir = tempfile::tempdir().unwrap();
    // Killed while printing the 13th row, with the launcher's message after it.
    let keep: Vec<&str> = full.lines().take(10 + 12).collect();
    let torn_row = &full.lines().nth(10 + 12).unwrap()[..60];
    let cut = format!(
        "{}\n{torn_row}\nslurmstepd: error: *** STEP 42.0 ON vm CANCELLED AT 2026-11-22T10:00:00 ***\n",
        keep.join("\n")
    );
    let run = one(&cut);
    assert!(!run.complete && !run.summary.passed);
    assert_eq!(run.results.len(), 12);
    let why = run.summary.interrupted.clone().unwrap();
    assert!(
        why.contains("ends after 12 rows without its footer"),
        "{why}"
    );
    assert!(why.contains("last row (line 23) was cut off"), "{why}");
    assert!(why.contains("CANCELLED"), "{why}");
    let cut_path = path_dir.path().join("cut.txt");
    std::fs::write(&cut_path, &cut).unwrap();
    // As the new run: the rows it never printed are MISSING (exit 7), with a note saying why.
    let (code, out) = compare_files(&anchor_path("all_reduce.txt"), &cut_path, &[]);
    assert_eq!(code, exit::WRONG_OR_FAILED, "{out}");
    assert!(
        out.contains("# note: ") && out.contains("its 12 finished rows are compared"),
        "{out}"
    );
    assert!(
        out.contains("0 regressions, 36 missing") && out.contains("24 unchanged"),
        "{out}"
    );
    // As the baseline: its 12 rows are compared, the rest of the new run is `new`.
    let (code, out) = compare_files(&cut_path, &anchor_path("all_reduce.txt"), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("24 unchanged, 36 new"), "{out}");
    // Killed before the first row: nothing to compare.
    let header_only: String = full.lines().take(10).map(|l| format!("{l}\n")).collect();
    let msg = usage_error(&header_only);
    assert!(msg.contains("holds no result row"), "{msg}");
}

#[test]
fn a_damaged_row_inside_the_table_is_an_error_naming_its_line() {
    let _machine = crate::support::process::machine_shared();
    let full = read_anchor("broadcast.txt");
    let lines: Vec<&str> = full.lines().collect();
    for (damage, wanted) in [
        (lines[13].replace("4.79", "4.7x9"), "time '4.7x9'"),
        (lines[13][..70].to_string(), "values after the root column"),
        (lines[13].replace("none", "no-ne"), "operator"),
        (
            lines[13].replace("0.01    0.01", "inf    0.01"),
            "algbw 'inf'",
        ),
        (
            lines[13].replace("       0     0.28", "      -3     0.28"),
            "#wrong '-3'",
        ),
        (
            lines[13].replace("       0     0.28", "     2.5     0.28"),
            "#wrong '2.5'",
        ),
    ] {
        let mut edited = lines.clone();
        edited[13] = &damage;
        let msg = usage_error(&edited.join("\n"));
        assert!(msg.contains("fixture.txt:14: "), "{msg}");
        assert!(msg.contains(wanted), "{wanted}: {msg}");
        assert!(
            msg.contains("accepted: a -J JSON report, a --jsonl file, or the text output"),
            "{msg}"
        );
    }
}

#[test]
fn files_that_are_no_table_are_refused_with_what_is_accepted() {
    let _machine = crate::support::process::machine_shared();
    let all_reduce = read_anchor("all_reduce.txt");
    let rows_only: String = table_rows(&all_reduce)
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    let cases: Vec<(String, &str)> = vec![
        ("hello world\n".into(), "neither collbench JSON nor an nccl-tests/collbench text table"),
        ("size,count,type\n8,2,float\n".into(), "first line: 'size,count,type'"),
        (rows_only, "neither collbench JSON"),
        (
            all_reduce.replace("# Collective test starting: all_reduce_perf\n", ""),
            "no '# Collective test starting: NAME_perf' line",
        ),
        (
            all_reduce.replace("#  Rank  0 Group  0 Pid   1198 on         vm device  0 [0000:00:06] NVIDIA H100 80GB HBM3\n", ""),
            "no '#  Rank N Group …' lines",
        ),
        (
            all_reduce.replace("#       size         count", "#       sz         count"),
            "before the table's column headers",
        ),
        (
            all_reduce.replace("iters: 50", "iters: fifty"),
            "'fifty' for 'iters:'",
        ),
        (
            all_reduce.replace("all_reduce_perf\n# nThread", "all reduce;rm\n# nThread"),
            "not an nccl-tests program name",
        ),
        (
            all_reduce.replace("# Out of bounds values : 0 OK", "# Out of bounds values : many OK"),
            "not a count",
        ),
    ];
    for (text, wanted) in cases {
        let msg = usage_error(&text);
        assert!(msg.contains(wanted), "{wanted}: {msg}");
        assert!(msg.contains("accepted: "), "{msg}");
    }
    // Two runs in one file: plot takes both, compare asks for one.
    let dir = tempfile::tempdir().unwrap();
    let both = dir.path().join("both.txt");
    std::fs::write(&both, format!("{all_reduce}{}", read_anchor("reduce.txt"))).unwrap();
    let runs = load::load_runs(&both).unwrap();
    assert_eq!(
        runs.iter()
            .map(|r| r.collective.as_str())
            .collect::<Vec<_>>(),
        ["all_reduce", "reduce"]
    );
    assert!(runs.iter().all(|r| r.complete));
    let err = load::load_one(&both).unwrap_err();
    assert_eq!(err.exit_code(), exit::USAGE);
    assert!(
        err.to_string()
            .contains("holds 2 runs (all_reduce (30 rows), reduce (30 rows))"),
        "{err}"
    );
    // Not text at all.
    let binary = dir.path().join("binary.txt");
    std::fs::write(&binary, [0x23u8, 0x20, 0xff, 0xfe, 0x00]).unwrap();
    let err = load::read(&binary).unwrap_err();
    assert_eq!(err.exit_code(), exit::USAGE);
    assert!(err.to_string().contains("is not UTF-8 text"), "{err}");
}

#[test]
fn blank_zero_timestamp_cputime_and_na_cells() {
    let _machine = crate::support::process::machine_shared();
    let mut text = header("sendrecv_perf").replace(
        "     time   algbw   busbw  #wrong     time   algbw   busbw  #wrong ",
        "  cputime   algbw   busbw  #wrong  cputime   algbw   busbw  #wrong           timestamp",
    );
    // An in-place cell not run (32 blanks, as collbench prints it), a 0.00 µs in-place time, an
    // unchecked #wrong, and -S timestamps after the in-place cell.
    text.push_str("        1024           256     float    none      -1     5.00    0.20    0.20     N/A                                 2026-11-22 10:00:00\n");
    text.push_str("        2048           512     float    none      -1                                        0.00    0.00    0.00       0  2026-11-22 10:00:01\n");
    text.push_str("        4096          1024     float    none      -1                                        4.00    1.02    1.02       0  2026-11-22 10:00:02\n");
    text.push_str(FOOTER);
    let loaded = parse(&text).unwrap();
    let run = &loaded.runs[0];
    assert!(run.config.report_cputime && run.config.report_timestamps);
    assert_eq!(
        run.results.len(),
        2,
        "the row whose only cell printed 0 µs is left out"
    );
    let first = &run.results[0];
    assert_eq!(first.out_of_place.as_ref().unwrap().wrong, None);
    assert_eq!(first.out_of_place.as_ref().unwrap().time_us, 5.0);
    assert!(first.in_place.is_none());
    assert!(run.results[1].out_of_place.is_none());
    assert_eq!(run.results[1].in_place.as_ref().unwrap().time_us, 4.0);
    assert!(
        loaded
            .notes
            .iter()
            .any(|n| n.contains("1 measurement of the sendrecv run printed a time of 0 µs")),
        "{:?}",
        loaded.notes
    );
}

fn temp_run(dir: &Path, program: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let json = dir.join(format!("{program}.json"));
    let txt = dir.join(format!("{program}.txt"));
    let bin = crate::support::process::binary(program);
    let output = Command::new("timeout")
        .arg("120")
        .arg(bin)
        .args([
            "-b",
            "8",
            "-e",
            "1M",
            "-f",
            "2",
            "-n",
            "5",
            "-w",
            "1",
            "--backend",
            "mpi",
            "--collbench-json",
        ])
        .arg(&json)
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(&txt, &output.stdout).unwrap();
    (txt, json)
}

#[test]
fn collbench_text_output_loads_like_its_json_report() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let (txt, json) = temp_run(dir.path(), "allreduce-perf", &["-I", "1"]);
    let from_text = load::read_one(&txt).unwrap();
    let from_json = load::read_one(&json).unwrap();
    assert_eq!(from_json.format, InputFormat::Json);
    let (t, j) = (&from_text.runs[0], &from_json.runs[0]);
    assert_eq!(
        t.tool, j.tool,
        "only the first line differs: it names collbench"
    );
    assert_eq!(
        (t.backend.name.as_str(), t.backend.library.as_str()),
        (j.backend.name.as_str(), j.backend.library.as_str())
    );
    assert_eq!(t.ranks, j.ranks);
    assert_eq!(
        (t.collective.as_str(), t.nranks, t.complete),
        (j.collective.as_str(), j.nranks, j.complete)
    );
    assert_eq!(t.config.iters, j.config.iters);
    assert!(t.config.per_iteration_timing);
    assert_eq!(t.results.len(), j.results.len());
    for (a, b) in t.results.iter().zip(&j.results) {
        assert_eq!(
            (a.size_bytes, a.count, a.dtype, &a.redop, a.root),
            (b.size_bytes, b.count, b.dtype, &b.redop, b.root)
        );
        let (x, y) = (
            a.out_of_place.as_ref().unwrap(),
            b.out_of_place.as_ref().unwrap(),
        );
        // The table prints times to 0.01 µs (or fewer digits from 100 µs up).
        assert!(
            (x.time_us - y.time_us).abs() <= 0.005 + y.time_us * 5e-4,
            "{x:?} {y:?}"
        );
        assert!(x.per_iteration.is_some());
    }
    // The text of a run against its own report: all unchanged, exit 0.
    let (code, out) = compare_files(&txt, &json, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("collbench 0.1.0 text output, 1 rank on 1 node"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "# Result: OK (0 regressions, 0 missing, 0 improved, 0 within noise, {} unchanged",
            2 * j.results.len()
        )),
        "{out}"
    );
}

/// The real binary, as an operator runs it: `collbench compare nccl-tests.txt collbench.json`.
#[test]
fn the_collbench_binary_compares_an_nccl_tests_log_with_a_collbench_run() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let (_, json) = temp_run(dir.path(), "reduce-perf", &[]);
    let compare_bin = |base: &Path, new: &Path, extra: &[&str]| {
        let out = collbench()
            .arg("compare")
            .arg(base)
            .arg(new)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let nccl_tests = anchor_path("reduce.txt");
    // The nccl-tests run went to 4 GiB, this one to 1 MiB: the larger sizes are MISSING → exit 7.
    let (code, out, err) = compare_bin(&nccl_tests, &json, &[]);
    assert_eq!(code, Some(exit::WRONG_OR_FAILED), "{out}{err}");
    assert!(
        out.contains("(nccl-tests 2.19.6 text output, 1 rank on 1 node, nccl NCCL 2.28.9)"),
        "{out}"
    );
    assert!(out.contains("1 rank on 1 node, mpi "), "{out}");
    let table: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(table.len(), 60, "{out}");
    for size in [8u64, 1024, 1 << 20] {
        let rows: Vec<&&str> = table
            .iter()
            .filter(|l| l.split_whitespace().nth(1) == Some(&size.to_string()))
            .collect();
        assert_eq!(rows.len(), 2, "{size}: {out}");
        for r in rows {
            assert!(
                r.contains("reduce") && r.contains("float") && r.contains("sum"),
                "{r}"
            );
            assert!(!r.contains("MISSING"), "{r}");
        }
    }
    let missing = table.iter().filter(|l| l.ends_with("MISSING")).count();
    assert_eq!(missing, 2 * 12, "2 MiB .. 4 GiB, both placements: {out}");
    assert!(
        err.contains("regression against") && err.contains("missing"),
        "{err}"
    );
    // The other way round, every row of the collbench run is in the nccl-tests log: the verdict
    // is exactly whether the table shows a REGRESSION.
    let (code, out, _) = compare_bin(&json, &nccl_tests, &["--markdown"]);
    let regressed = out.lines().any(|l| l.contains("**REGRESSION**"));
    assert_eq!(
        code,
        Some(if regressed { exit::WRONG_OR_FAILED } else { 0 }),
        "{out}"
    );
    assert!(out.contains("| new |"), "{out}");
    assert!(!out.contains("MISSING"), "{out}");
}

#[test]
fn plot_draws_an_nccl_tests_log_as_a_run_or_a_baseline() {
    let _machine = crate::support::process::machine_shared();
    let dir = tempfile::tempdir().unwrap();
    let (txt, json) = temp_run(dir.path(), "reduce-perf", &[]);
    let png_path = dir.path().join("vs-nccl-tests.png");
    let out = collbench()
        .arg("plot")
        .arg(&json)
        .arg(&txt)
        .arg("--baseline")
        .arg(anchor_path("reduce.txt"))
        .arg("-o")
        .arg(&png_path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrote "));
    let decoder = png::Decoder::new(std::fs::File::open(&png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1280, 960));
    // Something was drawn besides the white background and black text.
    assert!(
        pixels.chunks(3).any(|p| p[0] != p[1] || p[1] != p[2]),
        "no coloured line"
    );
    // The lines themselves: the anchor's 30 sizes, dashed as a baseline.
    let run = one(&read_anchor("reduce.txt"));
    let lines = collbench::plot::run_lines(
        &run,
        "reduce",
        collbench::plot::PlacementArg::OutOfPlace,
        true,
    );
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].points.len(), 30);
    assert!(lines[0].dashed);
    // A plot of garbage is the same usage error as compare's.
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "srun: error: Unable to create step\n").unwrap();
    let out = collbench()
        .args(["plot"])
        .arg(&garbage)
        .arg("-o")
        .arg(dir.path().join("x.png"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(exit::USAGE));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("neither collbench JSON nor an nccl-tests/collbench text table"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// No mangled table panics; a refusal is a usage error; what is accepted is a valid run.
    #[test]
    fn mangled_tables_never_panic_and_what_is_accepted_is_valid(
        which in 0usize..4,
        edits in prop::collection::vec((any::<usize>(), any::<usize>(), "[-0-9a-z#:./ \\n]{0,8}|N/A|1e\\+99|nan|inf"), 1..5),
        cut in any::<usize>(),
    ) {
        let _machine = crate::support::process::machine_shared();
        let file = ["all_reduce.txt", "all_reduce_per_iter_I1.txt", "hypercube.txt", "alltoall.txt"][which];
        let text = read_anchor(file);
        let mut mangled = mutate(&text, &edits);
        if cut % 3 == 0 {
            let at = cut % (mangled.len() + 1);
            let at = (0..=at).rev().find(|i| mangled.is_char_boundary(*i)).unwrap_or(0);
            mangled.truncate(at);
        }
        match parse(&mangled) {
            Ok(loaded) => {
                prop_assert!(!loaded.runs.is_empty());
                for run in &loaded.runs {
                    prop_assert!(run.nranks > 0 && !run.results.is_empty());
                    prop_assert!(collbench::compare::validate::validate(run, "fuzz").is_ok());
                    prop_assert!(compare(run, run, 5.0).is_ok_and(|c| !c.failed()));
                }
            }
            Err(e) => prop_assert_eq!(e.exit_code(), exit::USAGE, "{}", e),
        }
    }
}

/// Two processes of a non-MPI nccl-tests build under mpirun each print their own 1-rank header and
/// rows into one log: interleaved, that read as one 2-rank run (rank 0 twice) whose rows became -N
/// cycles. A rank listed twice is refused, as the nccl-tests JSON reader refuses it.
#[test]
fn a_rank_listed_twice_is_refused_not_counted_twice() {
    let _machine = crate::support::process::machine_shared();
    let text = header("all_reduce_perf").replace(
        "#  Rank  1 Group  0 Pid   2231 on     node-b device  0",
        "#  Rank  0 Group  0 Pid   2231 on     node-b device  0",
    );
    let mut text = text;
    text.push_str(&row(1024, "float", "sum", 10.0, 11.0));
    text.push_str(&row(1024, "float", "sum", 10.0, 11.0));
    text.push_str(FOOTER);
    let message = usage_error(&text);
    assert!(message.contains("fixture.txt:"), "{message}");
    assert!(message.contains("rank 0 twice"), "{message}");
    assert!(
        message.contains("Pid   2231"),
        "names the second line: {message}"
    );
}
