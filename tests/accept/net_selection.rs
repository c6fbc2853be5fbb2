//! "Is NCCL really on EFA" (issue 5): `--require-net` on the command line, in the verdict and in
//! the outputs, and the NCCL log capture as the binaries set it up. What needs NCCL itself (the
//! real log of a real communicator) runs in scripts/gpu-check.sh; the gather across MPI ranks is
//! in tests/accept/net_selection_mpi.rs.

use crate::support::accept::{report, row};
use crate::support::process::{alone, run};
use crate::support::schema::schema_errors;
use collbench::backend::nccl::net_log::selected_network;
use collbench::cli::{parse_collective_args, Parsed};
use collbench::collectives::find;
use collbench::plan::TestPlan;
use collbench::report::network::ProcessNetwork;
use collbench::report::Report;
use collbench::sinks::{Sink, TextSink};
use collbench::verdict::{evaluate, render, CheckKind, Criteria};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

const EFA_LOG: &str = "\
ip-10-1-2-3:12345:12345 [0] NCCL INFO NET/OFI Selected Provider is efa (found 32 nics)
ip-10-1-2-3:12345:12345 [0] NCCL INFO Using network Libfabric
ip-10-1-2-3:12345:12399 [0] NCCL INFO Channel 00/0 : 8[0] -> 0[0] [receive] via NET/Libfabric/0/GDRDMA
";
const SOCKET_LOG: &str = "\
node1:900:900 [0] NCCL INFO NET/Plugin: Could not find: libnccl-net.so. Using internal network plugin.
node1:900:900 [0] NCCL INFO Using network Socket
node1:900:910 [0] NCCL INFO Channel 00/0 : 1[0] -> 0[0] [receive] via NET/Socket/0
";

fn parse(args: &[&str]) -> collbench::Result<Parsed> {
    let mut argv = vec!["allreduce-perf".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    parse_collective_args(find("all_reduce").unwrap(), &argv, &|_| None)
}

fn plan(args: &[&str]) -> TestPlan {
    match parse(args) {
        Ok(Parsed::Run(plan)) => *plan,
        other => panic!("{args:?}: expected a plan, got {other:?}"),
    }
}

/// An 8-node p5-style report (8 ranks per host): hosts a..d on EFA, e..h fell back to sockets.
fn report_with_networks(efa_hosts: usize) -> Report {
    let hosts = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let mut r = report("all_reduce", &hosts, 8, &[row(1 << 30, 400.0)]);
    r.backend.network_by_process = hosts
        .iter()
        .enumerate()
        .flat_map(|(h, host)| {
            (0..8).map(move |local| {
                let rank = h * 8 + local;
                ProcessNetwork {
                    host: host.to_string(),
                    pid: 1000 + rank as u32,
                    ranks: vec![rank],
                    selection: selected_network(if h < efa_hosts { EFA_LOG } else { SOCKET_LOG }),
                    unknown_reason: None,
                }
            })
        })
        .collect();
    r.backend.network = collbench::report::network::summarize(&r.backend.network_by_process);
    r
}

fn network_check(v: &collbench::verdict::Verdict) -> &collbench::verdict::Check {
    v.checks
        .iter()
        .find(|c| c.kind == CheckKind::Network)
        .expect("a network check")
}

fn require(name: &str) -> Criteria {
    Criteria {
        require_net: Some(name.to_string()),
        ..Criteria::default()
    }
}

#[test]
fn require_net_is_parsed_checked_and_documented() {
    let p = plan(&["--require-net", "efa"]);
    assert_eq!(p.acceptance.criteria.require_net.as_deref(), Some("efa"));
    assert!(
        p.acceptance.has_checks(),
        "--require-net alone makes a verdict"
    );
    let p = plan(&["--require-net= AWS Libfabric "]);
    assert_eq!(
        p.acceptance.criteria.require_net.as_deref(),
        Some("AWS Libfabric")
    );
    assert_eq!(plan(&[]).acceptance.criteria.require_net, None);
    for bad in ["", "   ", "ef\ta"] {
        let error = parse(&["--require-net", bad]).expect_err(bad);
        assert_eq!(error.exit_code(), 6, "{error}");
        let text = error.to_string();
        assert!(text.contains("--require-net"), "{text}");
        assert!(
            text.contains("socket (or tcp), ib") && text.contains("efa"),
            "{text}"
        );
    }
    let Ok(Parsed::Help(help)) = parse(&["-h"]) else {
        panic!("help")
    };
    let line = help
        .lines()
        .find(|l| l.contains("--require-net"))
        .expect("--require-net in -h");
    assert!(line.contains("NAME"), "{line}");
    assert!(
        help.contains("efa (libfabric with the efa provider)"),
        "{help}"
    );
}

#[test]
fn the_host_backend_refuses_require_net_and_pairwise_too() {
    let error = plan(&["--require-net", "efa"])
        .require_gpu_flags_unused("mpi")
        .expect_err("refused");
    assert_eq!(error.exit_code(), 6);
    assert!(
        error
            .to_string()
            .contains("--require-net efa (the network NCCL selected)"),
        "{error}"
    );
    plan(&[]).require_gpu_flags_unused("mpi").unwrap();

    let args: Vec<String> = ["--pairwise", "--require-net", "efa"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let Err(error) = collbench::accept::command::parse(&args, &|_| None) else {
        panic!("--pairwise accepted --require-net")
    };
    assert_eq!(error.exit_code(), 6);
    assert!(
        error
            .to_string()
            .contains("collbench accept --require-net efa"),
        "{error}"
    );
}

#[test]
fn efa_everywhere_passes_and_a_socket_fallback_fails_naming_ranks_and_hosts() {
    let all_efa = report_with_networks(8);
    assert_eq!(
        all_efa.backend.network.as_deref(),
        Some("Libfabric (provider efa, 32 NICs)")
    );
    let v = evaluate(&all_efa, &require("efa")).unwrap();
    assert!(v.passed, "{}", render::block(&v));
    let check = network_check(&v);
    assert_eq!((check.measured, check.threshold), (64.0, 64.0));
    let block = render::block(&v);
    assert!(
        block.contains("#  PASS  network: 64 of 64 ranks on the required network; --require-net efa: NCCL selected Libfabric (provider efa, 32 NICs)"),
        "{block}"
    );

    let fallback = report_with_networks(4);
    assert_eq!(
        fallback.backend.network.as_deref(),
        Some(
            "Libfabric (provider efa, 32 NICs) on ranks 0-31 (hosts a, b, c, d); \
             Socket on ranks 32-63 (hosts e, f, g, h)"
        )
    );
    let v = evaluate(&fallback, &require("efa")).unwrap();
    assert!(!v.passed);
    let error = v.to_result().err().unwrap();
    assert_eq!(error.exit_code(), 7);
    let message = error.to_string();
    for part in [
        "network: 32 of 64 ranks on the required network",
        "--require-net efa: NCCL selected Socket on ranks 32-63 (hosts e, f, g, h)",
    ] {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
    let block = render::block(&v);
    assert!(
        block.contains("#        first rank off the required network: rank 32 on e device 0 (NVIDIA H100 80GB HBM3)"),
        "{block}"
    );
    // Ranks off the network are not "slowest ranks".
    assert!(v.slowest_ranks.is_empty(), "{:?}", v.slowest_ranks);
    assert!(!message.contains("slowest"), "{message}");
    // docs/fabric.md shows this very block.
    let page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/fabric.md")).unwrap();
    assert!(
        page.contains(&block),
        "docs/fabric.md lacks the block:\n{block}"
    );

    // The same selections judged against other names.
    assert!(!evaluate(&all_efa, &require("socket")).unwrap().passed);
    assert!(evaluate(&all_efa, &require("ofi")).unwrap().passed);
    assert!(evaluate(&all_efa, &require("Libfabric")).unwrap().passed);
    assert!(!evaluate(&fallback, &require("tcp")).unwrap().passed);
    let sockets = report_with_networks(0);
    assert!(evaluate(&sockets, &require("tcp")).unwrap().passed);

    // A report without any network (not an NCCL run) cannot satisfy a requirement.
    let mut none = report_with_networks(8);
    none.backend.network_by_process.clear();
    let v = evaluate(&none, &require("efa")).unwrap();
    assert!(!v.passed);
    assert!(
        network_check(&v).basis.contains("did not use NCCL"),
        "{:?}",
        network_check(&v)
    );
}

#[test]
fn an_unknown_network_fails_the_requirement_with_its_reason() {
    let mut r = report_with_networks(8);
    r.backend.network_by_process[5].selection = None;
    r.backend.network_by_process[5].unknown_reason =
        Some("NCCL_DEBUG=WARN (set in the environment) is left as the user set it".into());
    let v = evaluate(&r, &require("efa")).unwrap();
    assert!(!v.passed);
    let line = render::one_line(network_check(&v));
    assert!(
        line.contains("63 of 64 ranks")
            && line.contains("unknown (NCCL_DEBUG=WARN (set in the environment) is left as the user set it) on rank 5 (host a)"),
        "{line}"
    );
}

#[test]
fn reports_with_networks_and_the_network_check_validate_and_round_trip() {
    let mut r = report_with_networks(4);
    r.verdict = evaluate(&r, &require("efa"));
    let mut other = report_with_networks(8);
    other.backend.network_by_process[0].selection =
        selected_network("h:1:1 [0] NCCL INFO Using network UCX\n");
    for (name, report) in [("fallback", &r), ("other plugin", &other)] {
        let value = serde_json::to_value(report).unwrap();
        let errors = schema_errors(&value);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        let back: Report = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(&back, report);
        assert!(
            value["backend"]["network_by_process"][0]["selection"]["kind"].is_string()
                || name == "other plugin"
        );
    }
    let value = serde_json::to_value(&r).unwrap();
    assert!(value["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["kind"] == "network"));
    assert_eq!(
        value["backend"]["network_by_process"][40]["selection"]["network"],
        "Socket"
    );
    // Reports without the new field (mpi backend, older files) still read back.
    let mut old = serde_json::to_value(report("all_reduce", &["a"], 1, &[row(8, 1.0)])).unwrap();
    assert!(old["backend"].get("network_by_process").is_none());
    old["backend"]["network"] = serde_json::Value::Null;
    let back: Report = serde_json::from_value(old).unwrap();
    assert!(back.backend.network_by_process.is_empty());
}

#[test]
fn the_first_line_names_the_network_and_the_rest_stays_nccl_tests() {
    let r = report_with_networks(8);
    let mut sink = TextSink::new(Vec::new(), "buffer");
    sink.begin(&r).unwrap();
    let text = String::from_utf8(sink.into_inner()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "# collbench version 0.1.0 (nccl-tests 2.19.6 compatible) NCCL 2.28.9, network: \
         Libfabric (provider efa, 32 NICs)"
    );
    // Everything after line 1 is what it is without a network.
    let mut without = r.clone();
    without.backend.network = None;
    let mut sink = TextSink::new(Vec::new(), "buffer");
    sink.begin(&without).unwrap();
    let plain = String::from_utf8(sink.into_inner()).unwrap();
    assert!(!plain.contains("network"), "{plain}");
    assert_eq!(
        lines[0],
        format!(
            "{}, network: Libfabric (provider efa, 32 NICs)",
            plain.lines().next().unwrap()
        )
    );
    assert_eq!(
        text.split_once('\n').unwrap().1,
        plain.split_once('\n').unwrap().1
    );
}

/// A fresh $TMPDIR for one binary run, and what is left in it afterwards.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("collbench-netsel-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
    fn left(&self) -> Vec<String> {
        std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_binaries_refuse_require_net_without_nccl() {
    let tmp = TempDir::new("refuse");
    let explicit = run(
        alone(
            "allreduce-perf",
            &[
                "-b",
                "8",
                "-e",
                "8",
                "--backend",
                "mpi",
                "--require-net",
                "efa",
            ],
            &[("TMPDIR", tmp.path())],
        ),
        LIMIT,
    );
    assert_eq!(explicit.code(), Some(6), "{}", explicit.describe());
    assert!(
        explicit
            .stderr
            .contains("--require-net efa (the network NCCL selected)")
            && explicit.stderr.contains("mpi backend"),
        "{}",
        explicit.describe()
    );
    // This machine has no GPU: auto falls back to mpi, and says why it cannot.
    let auto = run(
        alone(
            "allreduce-perf",
            &["-b", "8", "-e", "8", "--require-net", "socket"],
            &[("TMPDIR", tmp.path())],
        ),
        LIMIT,
    );
    assert_eq!(auto.code(), Some(6), "{}", auto.describe());
    assert!(
        auto.stderr.contains("--require-net socket")
            && auto
                .stderr
                .contains("(--backend auto chose mpi: no usable GPU/NCCL: "),
        "{}",
        auto.describe()
    );
    // NCCL asked for but missing (exit 3): the private log directory is gone too.
    let nccl = run(
        alone(
            "allreduce-perf",
            &[
                "-b",
                "8",
                "-e",
                "8",
                "--backend",
                "nccl",
                "--require-net",
                "efa",
            ],
            &[
                ("TMPDIR", tmp.path()),
                ("COLLBENCH_NCCL_LIBRARY", "/nonexistent/libnccl.so.2"),
            ],
        ),
        LIMIT,
    );
    assert!(
        matches!(nccl.code(), Some(2) | Some(3)),
        "{}",
        nccl.describe()
    );
    assert!(tmp.left().is_empty(), "left behind: {:?}", tmp.left());
}

#[test]
fn the_capture_leaves_no_file_and_reports_the_users_environment() {
    let tmp = TempDir::new("env");
    let out_dir = TempDir::new("env-out");
    let json = out_dir.0.join("out.json");
    // auto: the capture is installed (NCCL might be used), then the mpi backend runs.
    let r = run(
        alone(
            "allreduce-perf",
            &[
                "-b",
                "8",
                "-e",
                "8",
                "--collbench-json",
                json.to_str().unwrap(),
            ],
            &[("TMPDIR", tmp.path()), ("NCCL_DEBUG_SUBSYS", "COLL")],
        ),
        LIMIT,
    );
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert!(!r.stdout.contains("network:"), "{}", r.describe());
    assert!(tmp.left().is_empty(), "left behind: {:?}", tmp.left());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let env = &report["environment"];
    assert_eq!(env["NCCL_DEBUG_SUBSYS"], "COLL", "{env}");
    assert!(env.get("NCCL_DEBUG").is_none(), "{env}");
    assert!(env.get("NCCL_DEBUG_FILE").is_none(), "{env}");
    // collbench sets CUDA_MODULE_LOADING=EAGER for NCCL; the report shows the user's (unset) value.
    assert!(env.get("CUDA_MODULE_LOADING").is_none(), "{env}");
    assert!(report["backend"]["network"].is_null());
    assert!(report["backend"].get("network_by_process").is_none());

    // A user's NCCL_DEBUG is left as it is (and recorded as it is).
    let r = run(
        alone(
            "allreduce-perf",
            &[
                "-b",
                "8",
                "-e",
                "8",
                "--collbench-json",
                json.to_str().unwrap(),
            ],
            &[
                ("TMPDIR", tmp.path()),
                ("NCCL_DEBUG", "WARN"),
                ("CUDA_MODULE_LOADING", "LAZY"),
            ],
        ),
        LIMIT,
    );
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["environment"]["NCCL_DEBUG"], "WARN");
    assert_eq!(report["environment"]["CUDA_MODULE_LOADING"], "LAZY");
    assert!(report["environment"].get("NCCL_DEBUG_FILE").is_none());
    assert!(tmp.left().is_empty());
}
