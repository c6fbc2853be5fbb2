//! `-J FILE` writes nccl-tests 2.19.6's JSON. The shape below is its writer's (src/util.cu:
//! `jsonOutputInit`, `writeDeviceReport`, `writeBenchmarkLine*`, `writePerIterReport`,
//! `writeResultFooter`, `writeErrors`, `jsonOutputFinalize`), key by key and type by type; the
//! anchor file a real nccl-tests 2.19.6 wrote on an H100 passes the same check, and collbench's
//! output of several collectives and modes must too. Both are then read back by collbench's own
//! reader (compare, plot), which must see the numbers the run's `--collbench-json` report holds.

use crate::support::process::{alone, mpirun, run, Finished};
use crate::support::schema::read_report;
use collbench::compare::load::{read, InputFormat};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(180);
const ANCHOR: &str = "shared/anchors/h100-1gpu-nccl-tests-2.19.6/all_reduce_json_output.json";

fn anchor() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    root.ancestors()
        .map(|d| d.join(ANCHOR))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{ANCHOR} not found above {}", root.display()))
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Int,
    /// `jsonDouble`: `%lf`, or "nan".
    Double,
    Str,
    /// `jsonBool`: the strings "true"/"false".
    BoolStr,
    StrList,
}

fn check_kind(where_: &str, value: &Value, kind: Kind) {
    let ok = match kind {
        Kind::Int => value.is_i64() || value.is_u64(),
        Kind::Double => value.is_f64() || value == "nan",
        Kind::Str => value.is_string(),
        Kind::BoolStr => value == "true" || value == "false",
        Kind::StrList => value
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
    };
    assert!(ok, "{where_}: {value} is not {kind:?}");
}

/// `object`'s keys are exactly `fields`, in that order, each of its kind.
fn check_object(where_: &str, object: &Value, fields: &[(&str, Kind)]) {
    let map = object
        .as_object()
        .unwrap_or_else(|| panic!("{where_}: not an object: {object}"));
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    let wanted: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    let mut sorted_keys = keys.clone();
    let mut sorted_wanted = wanted.clone();
    sorted_keys.sort_unstable();
    sorted_wanted.sort_unstable();
    assert_eq!(sorted_keys, sorted_wanted, "{where_}: keys");
    for (key, kind) in fields {
        check_kind(&format!("{where_}.{key}"), &map[*key], *kind);
    }
}

/// The whole document of a finished run, as util.cu writes it.
fn check_document(doc: &Value) {
    use Kind::*;
    let top = doc.as_object().expect("an object");
    let mut keys: Vec<&str> = top.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut wanted = [
        "version",
        "start_time",
        "args",
        "env",
        "nccl_version",
        "config",
        "results",
        "out_of_bounds",
        "average_bus_bandwidth",
        "errors",
        "end_time",
    ];
    wanted.sort_unstable();
    assert_eq!(keys, wanted, "top-level keys");
    for (key, kind) in [
        ("version", Int),
        ("start_time", Str),
        ("args", StrList),
        ("env", StrList),
        ("nccl_version", Int),
        ("errors", StrList),
        ("end_time", Str),
    ] {
        check_kind(key, &doc[key], kind);
    }
    assert_eq!(doc["version"], 3);

    let config = &doc["config"];
    let step = if config.get("step_factor").is_some() {
        "step_factor"
    } else {
        "step_bytes"
    };
    let mut without_devices = config.clone();
    without_devices.as_object_mut().unwrap().remove("devices");
    check_object(
        "config",
        &without_devices,
        &[
            ("nthreads", Int),
            ("ngpus", Int),
            ("minimum_bytes", Int),
            ("maximum_bytes", Int),
            (step, Int),
            ("warmup_iters", Int),
            ("iterations", Int),
            ("aggregated_iterations", Int),
            ("validation", Int),
            ("graph", Int),
            ("blocking_collectives", BoolStr),
            ("per_iter_timing", BoolStr),
            ("per_iter_skip", Int),
            ("parallel_init", BoolStr),
        ],
    );
    let devices = config["devices"].as_array().expect("devices is a list");
    assert!(!devices.is_empty());
    for (i, device) in devices.iter().enumerate() {
        check_object(
            &format!("config.devices[{i}]"),
            device,
            &[
                ("rank", Int),
                ("group", Int),
                ("pid", Int),
                ("hostname", Str),
                ("device", Int),
                ("device_hex", Str),
                ("device_info", Str),
            ],
        );
    }
    let per_iter = config["per_iter_timing"] == "true";
    let cell = |name: &str| -> Vec<(&'static str, Kind)> {
        let time = if name.contains("cpu") {
            "cpu_time"
        } else {
            "time"
        };
        vec![
            (time, Double),
            ("alg_bw", Double),
            ("bus_bw", Double),
            ("nwrong", Double),
        ]
    };
    for (i, row) in doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .enumerate()
    {
        let where_ = format!("results[{i}]");
        let mut fields = vec![
            ("size", Int),
            ("count", Int),
            ("type", Str),
            ("redop", Str),
            ("root", Str),
            ("actual_iterations", Int),
            ("experiment_name", Str),
        ];
        for placement in ["out_of_place", "in_place"] {
            fields.push((placement, Int));
            if per_iter {
                fields.push((
                    if placement == "out_of_place" {
                        "out_of_place_per_iter"
                    } else {
                        "in_place_per_iter"
                    },
                    Int,
                ));
            }
        }
        let keys: Vec<&str> = {
            let mut k: Vec<&str> = row
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            k.sort_unstable();
            k
        };
        let mut wanted: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
        wanted.sort_unstable();
        assert_eq!(keys, wanted, "{where_}: keys");
        for (key, kind) in fields.iter().filter(|(k, _)| !k.contains("place")) {
            check_kind(&format!("{where_}.{key}"), &row[*key], *kind);
        }
        assert_eq!(
            row["root"].as_str().unwrap().len(),
            6,
            "{where_}: root is %6i"
        );
        for placement in ["out_of_place", "in_place"] {
            let m = &row[placement];
            if m.is_null() {
                continue;
            }
            let time = if m.get("cpu_time").is_some() {
                "cpu"
            } else {
                ""
            };
            let fields = cell(time);
            let map = m.as_object().unwrap();
            let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
            keys.sort_unstable();
            let mut wanted: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
            wanted.sort_unstable();
            assert_eq!(keys, wanted, "{where_}.{placement}: keys");
            for (key, kind) in fields {
                if key == "nwrong" && m[key].is_null() {
                    continue;
                }
                check_kind(&format!("{where_}.{placement}.{key}"), &m[key], kind);
            }
        }
        if per_iter {
            for key in ["out_of_place_per_iter", "in_place_per_iter"] {
                check_per_iter(&format!("{where_}.{key}"), &row[key], &doc["config"]);
            }
        }
    }
    check_object(
        "out_of_bounds",
        &doc["out_of_bounds"],
        &[("count", Int), ("okay", BoolStr)],
    );
    let avg = &doc["average_bus_bandwidth"];
    assert_eq!(
        avg.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["bandwidth", "okay"]
    );
    check_kind("average_bus_bandwidth.bandwidth", &avg["bandwidth"], Double);
    assert!(
        avg["okay"] == "unchecked" || avg["okay"] == "true" || avg["okay"] == "false",
        "{avg}"
    );
}

/// `writePerIterReport`.
fn check_per_iter(where_: &str, stats: &Value, config: &Value) {
    use Kind::*;
    let mut fields = vec![
        ("skipped_iterations", Int),
        ("min_us", Double),
        ("max_us", Double),
        ("avg_us", Double),
        ("p50_us", Double),
        ("p95_us", Double),
        ("p99_us", Double),
        ("stdev_us", Double),
        ("cv_pct", Double),
    ];
    let several = stats.get("per_process_max_times_us").is_some();
    let map = stats.as_object().unwrap();
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    fields.push(("times_us", Int));
    if several {
        fields.push(("per_process_max_times_us", Int));
    }
    let mut wanted: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    wanted.sort_unstable();
    assert_eq!(keys, wanted, "{where_}: keys");
    for (key, kind) in fields.iter().filter(|(k, _)| !k.contains("times")) {
        check_kind(&format!("{where_}.{key}"), &stats[*key], *kind);
    }
    let iterations = config["iterations"].as_u64().unwrap() as usize;
    let times = stats["times_us"].as_array().unwrap();
    assert_eq!(times.len(), iterations, "{where_}: one time per iteration");
    assert!(times.iter().all(Value::is_f64), "{where_}: {times:?}");
    assert_eq!(stats["skipped_iterations"], config["per_iter_skip"]);
    if several {
        for process in stats["per_process_max_times_us"].as_array().unwrap() {
            let process = process.as_array().unwrap();
            assert_eq!(process.len(), iterations);
            assert!(process.iter().all(Value::is_f64));
        }
    }
}

/// Every double as `%lf` writes it (six decimals), in the raw text.
fn check_doubles_are_c_lf(text: &str) {
    for key in [
        "\"time\":",
        "\"cpu_time\":",
        "\"alg_bw\":",
        "\"bus_bw\":",
        "\"nwrong\":",
        "\"min_us\":",
        "\"cv_pct\":",
        "\"bandwidth\":",
    ] {
        for (at, _) in text.match_indices(key) {
            let rest = &text[at + key.len()..];
            let number: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
                .collect();
            if rest.starts_with("null") {
                continue;
            }
            let (whole, decimals) = number
                .split_once('.')
                .unwrap_or_else(|| panic!("{key} {number:?} has no decimals"));
            assert!(
                !whole.is_empty() && decimals.len() == 6,
                "{key}{number} is not %lf"
            );
        }
    }
    assert!(!text.contains('\n'), "nccl-tests writes one line");
}

/// The rows collbench's reader takes from the -J file, against the run's own report.
fn check_reader_sees_the_report(json: &Path, report: &Path) {
    let loaded = read(json).unwrap_or_else(|e| panic!("{}: {e}", json.display()));
    assert_eq!(loaded.format, InputFormat::NcclTestsJson);
    let ours = read(report).unwrap();
    assert_eq!(ours.format, InputFormat::Json);
    let (a, b) = (&loaded.runs[0], &ours.runs[0]);
    assert_eq!(a.results.len(), b.results.len());
    assert!(a.complete);
    assert_eq!(a.summary.out_of_bounds, b.summary.out_of_bounds);
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-6 + y.abs() * 1e-9;
    assert!(close(
        a.summary.avg_bus_bandwidth_gbps,
        b.summary.avg_bus_bandwidth_gbps
    ));
    for (x, y) in a.results.iter().zip(&b.results) {
        assert_eq!(
            (x.size_bytes, x.count, x.dtype, &x.redop, x.root, x.cycle),
            (y.size_bytes, y.count, y.dtype, &y.redop, y.root, y.cycle)
        );
        for (p, q) in [
            (&x.out_of_place, &y.out_of_place),
            (&x.in_place, &y.in_place),
        ] {
            let (Some(p), Some(q)) = (p, q) else {
                assert_eq!(p.is_some(), q.is_some());
                continue;
            };
            assert!(
                close(p.time_us, q.time_us),
                "{} vs {}",
                p.time_us,
                q.time_us
            );
            assert!(close(p.bus_bandwidth_gbps, q.bus_bandwidth_gbps));
            assert_eq!(p.wrong, q.wrong);
            if let (Some(i), Some(j)) = (&p.per_iteration, &q.per_iteration) {
                assert_eq!(i.times_us.len(), j.times_us.len());
                assert!(i
                    .times_us
                    .iter()
                    .zip(&j.times_us)
                    .all(|(s, t)| close(*s, *t)));
                assert_eq!(i.per_process_times_us.len(), j.per_process_times_us.len());
            }
        }
    }
}

#[test]
fn the_anchor_written_by_nccl_tests_has_the_shape_this_test_checks() {
    let path = anchor();
    let doc = read_json_plain(&path);
    check_document(&doc);
    let loaded = read(&path).unwrap();
    assert_eq!(loaded.format, InputFormat::NcclTestsJson);
    assert_eq!(
        loaded.runs[0].results.len(),
        doc["results"].as_array().unwrap().len()
    );
}

fn read_json_plain(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

struct Case {
    name: &'static str,
    np: usize,
    program: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

fn run_case(case: &Case, dir: &Path) -> (Finished, PathBuf, PathBuf) {
    let json = dir.join(format!("{}.json", case.name));
    let report = dir.join(format!("{}-collbench.json", case.name));
    let mut args: Vec<&str> = case.args.to_vec();
    let (j, r) = (json.display().to_string(), report.display().to_string());
    args.extend(["--backend", "mpi", "-J", &j, "--collbench-json", &r]);
    let command = if case.np == 1 {
        alone(case.program, &args, case.env)
    } else {
        mpirun(case.np, case.program, &args, case.env)
    };
    (run(command, LIMIT), json, report)
}

#[test]
fn collbench_writes_nccl_tests_json_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        Case {
            name: "plain",
            np: 1,
            program: "allreduce-perf",
            args: &["-b", "8", "-e", "1K", "-f", "4", "-n", "3"],
            env: &[],
        },
        Case {
            name: "per-iteration",
            np: 2,
            program: "allreduce-perf",
            args: &[
                "-b", "8", "-e", "1K", "-f", "8", "-n", "4", "-I", "1", "-K", "1",
            ],
            env: &[],
        },
        Case {
            name: "cycles",
            np: 2,
            program: "allgather-perf",
            args: &[
                "-b", "8", "-e", "256", "-f", "4", "-n", "2", "-N", "2", "-d", "all",
            ],
            env: &[],
        },
        Case {
            name: "alltoallv",
            np: 3,
            program: "alltoallv-perf",
            args: &["-b", "1K", "-e", "16K", "-f", "4", "-n", "2"],
            env: &[("NCCL_TESTS_ALLTOALLV_SPREAD", "0.5")],
        },
        Case {
            name: "broadcast-cputime-step-bytes",
            np: 2,
            program: "broadcast-perf",
            args: &[
                "-b", "1K", "-e", "3K", "-i", "1K", "-n", "2", "-r", "1", "-C", "1", "-c", "0",
            ],
            env: &[("NCCL_TESTS_MIN_BW", "0")],
        },
    ];
    for case in &cases {
        let (run, json, report) = run_case(case, dir.path());
        assert_eq!(run.code(), Some(0), "{}: {}", case.name, run.describe());
        assert!(
            run.stdout
                .starts_with(&format!("# Writing JSON output to {}\n", json.display())),
            "{}: {}",
            case.name,
            run.describe()
        );
        let text = std::fs::read_to_string(&json).unwrap();
        check_doubles_are_c_lf(text.trim_end());
        let doc: Value = serde_json::from_str(&text).unwrap();
        check_document(&doc);
        let collbench = read_report(&report);
        // Values the test can pin per case.
        assert_eq!(
            doc["results"].as_array().unwrap().len(),
            collbench["results"].as_array().unwrap().len(),
            "{}",
            case.name
        );
        assert_eq!(
            doc["config"]["devices"].as_array().unwrap().len(),
            case.np,
            "{}: one device per process",
            case.name
        );
        match case.name {
            "per-iteration" => {
                let first = &doc["results"][0]["out_of_place_per_iter"];
                assert_eq!(first["skipped_iterations"], 1);
                assert_eq!(
                    first["per_process_max_times_us"].as_array().unwrap().len(),
                    2
                );
            }
            "broadcast-cputime-step-bytes" => {
                let row = &doc["results"][0];
                assert_eq!(row["root"], "     1");
                assert!(row["in_place"]["cpu_time"].is_f64());
                assert!(row["in_place"]["nwrong"].is_null());
                assert_eq!(doc["config"]["step_bytes"], 1024);
                assert_eq!(doc["average_bus_bandwidth"]["okay"], "true");
            }
            "alltoallv" => {
                let row = &doc["results"][0];
                assert_eq!(
                    (&row["redop"], &row["root"]),
                    (&"none".into(), &"    -1".into())
                );
                assert!(
                    row["in_place"]["nwrong"].is_null(),
                    "in place is not checked"
                );
                assert_eq!(row["out_of_place"]["nwrong"], 0.0);
            }
            "plain" => {
                assert_eq!(doc["average_bus_bandwidth"]["okay"], "unchecked");
                assert_eq!(doc["config"]["step_factor"], 4);
                assert_eq!(doc["results"][0]["actual_iterations"], 3);
                assert_eq!(doc["results"][0]["type"], "float");
            }
            _ => {}
        }
        check_reader_sees_the_report(&json, &report);
        println!(
            "{}: {} rows",
            case.name,
            doc["results"].as_array().unwrap().len()
        );
    }
}

#[test]
fn an_existing_file_is_kept_and_the_next_name_written() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("ar.json");
    std::fs::write(&json, "kept").unwrap();
    let arg = json.display().to_string();
    let run = run(
        alone(
            "allreduce-perf",
            &["-b", "8", "-e", "8", "--backend", "mpi", "-J", &arg],
            &[],
        ),
        LIMIT,
    );
    assert_eq!(run.code(), Some(0), "{}", run.describe());
    assert_eq!(std::fs::read_to_string(&json).unwrap(), "kept");
    assert!(run
        .stdout
        .starts_with(&format!("# Writing JSON output to {arg}.0\n")));
    check_document(&read_json_plain(Path::new(&format!("{arg}.0"))));
}

/// `accept --pairwise` runs rounds of pairs, which nccl-tests' format cannot hold: -J is refused
/// before anything runs, pointing at --collbench-json.
#[test]
fn pairwise_refuses_nccl_tests_json() {
    let run = run(
        alone(
            "collbench",
            &[
                "accept",
                "--pairwise",
                "--backend",
                "mpi",
                "-J",
                "pairs.json",
            ],
            &[],
        ),
        LIMIT,
    );
    assert_eq!(run.code(), Some(6), "{}", run.describe());
    assert!(
        run.stderr
            .contains("accepted: --collbench-json FILE for the pairwise report"),
        "{}",
        run.describe()
    );
    assert!(!Path::new("pairs.json").exists());
}
