//! Fuzzing the parsers of untrusted input (profiles, result files for compare/plot, JSON Lines,
//! sizes, bandwidths, Pushgateway URLs) with proptest: no input may panic, every rejection is a
//! usage error, and whatever is accepted is valid. A short run by default (CI); raise it with
//! PROPTEST_CASES=100000 for a long session.

use crate::support::accept::*;
use collbench::cli::acceptance::parse_gbps;
use collbench::compare::load::parse_runs;
use collbench::plan::profile::Profile;
use collbench::sinks::jsonl;
use collbench::sinks::pushgateway::GatewayUrl;
use collbench::types::size::format_size;
use collbench::types::values::{parse_size, Flag};
use proptest::prelude::*;

const PROFILE: &str = include_str!("../../results/profiles/p5.48xlarge.toml");

/// nccl-tests' own -J JSON as its src/util.cu writes it (format 3; tests/compare/nccl_json.rs
/// builds more of these): one process of two GPUs, one row, the footer.
const NCCL_TESTS_JSON: &str = concat!(
    r#"{"version":3,"start_time":"2026-11-23 09:15:02","args":[".\/build\/all_reduce_perf","-g","2"],"env":[],"#,
    r#""nccl_version":22809,"config":{"nthreads":1,"ngpus":2,"minimum_bytes":8,"maximum_bytes":8,"step_factor":2,"#,
    r#""warmup_iters":5,"iterations":20,"aggregated_iterations":1,"validation":1,"graph":0,"blocking_collectives":"false","#,
    r#""per_iter_timing":"false","per_iter_skip":0,"parallel_init":"false","devices":[{"rank":0,"group":0,"pid":7,"#,
    r#""hostname":"vm","device":0,"device_hex":"0000:18:00","device_info":"NVIDIA H100 80GB HBM3"}]},"results":[{"size":8,"#,
    r#""count":2,"type":"float","redop":"sum","root":"    -1","out_of_place":{"time":6.500000,"alg_bw":0.001200,"#,
    r#""bus_bw":0.001200,"nwrong":0.000000},"in_place":{"time":0.450000,"alg_bw":0.020000,"bus_bw":"nan","nwrong":null},"#,
    r#""actual_iterations":20,"experiment_name":""}],"out_of_bounds":{"count":0,"okay":"true"},"#,
    r#""average_bus_bandwidth":{"bandwidth":0.001200,"okay":"unchecked"},"errors":[""],"end_time":"2026-11-23 09:15:09"}"#
);

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(400),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn report_json() -> String {
    serde_json::to_string(&report(
        "all_reduce",
        &["a", "b"],
        2,
        &seeds_p5_two_nodes()[..3],
    ))
    .unwrap()
}

/// Edits text the way corruption and hand edits do: replace a span, insert, truncate.
fn mutate(text: &str, edits: &[(usize, usize, String)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for (at, len, with) in edits {
        if bytes.is_empty() {
            break;
        }
        let at = at % bytes.len();
        let end = (at + len % 16).min(bytes.len());
        bytes.splice(at..end, with.bytes());
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn edits() -> impl Strategy<Value = Vec<(usize, usize, String)>> {
    prop::collection::vec(
        (
            any::<usize>(),
            any::<usize>(),
            "[-0-9a-z.\"=\\[\\]{}:, \\n]{0,6}",
        ),
        1..4,
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn profiles_never_panic_and_accepted_ones_are_valid(text in ".{0,400}", e in edits()) {
        for candidate in [text, mutate(PROFILE, &e)] {
            match Profile::parse(&candidate, "fuzz.toml") {
                Ok(p) => {
                    prop_assert!(p.pass_fraction > 0.0 && p.pass_fraction <= 1.0);
                    prop_assert!(!p.expectations.is_empty());
                    for x in &p.expectations {
                        prop_assert!(x.busbw_gbps.is_finite() && x.busbw_gbps > 0.0);
                        prop_assert!(x.size_bytes > 0 && x.nodes >= 1);
                        prop_assert!(!x.source.trim().is_empty());
                    }
                }
                Err(err) => {
                    prop_assert_eq!(err.exit_code(), 6);
                    prop_assert!(err.to_string().contains("profile fuzz.toml"));
                }
            }
        }
    }

    #[test]
    fn result_files_never_panic_and_accepted_runs_hold_finite_numbers(text in ".{0,300}", e in edits()) {
        let good = report_json();
        assert!(parse_runs(NCCL_TESTS_JSON, "fixture.json").is_ok_and(|r| r[0].nranks == 2));
        for candidate in [text, mutate(&good, &e), mutate(NCCL_TESTS_JSON, &e)] {
            match parse_runs(&candidate, "fuzz.json") {
                Ok(runs) => {
                    for run in runs {
                        for row in &run.results {
                            for m in [&row.out_of_place, &row.in_place].into_iter().flatten() {
                                prop_assert!(m.time_us.is_finite() && m.time_us > 0.0);
                                prop_assert!(m.bus_bandwidth_gbps.is_finite() && m.bus_bandwidth_gbps >= 0.0);
                            }
                        }
                    }
                }
                Err(err) => prop_assert_eq!(err.exit_code(), 6, "{}", err),
            }
            let _ = jsonl::parse_runs(&candidate, "fuzz.jsonl");
        }
    }

    #[test]
    fn sizes_parse_exactly_or_fail_cleanly(text in "[ 0-9.eE+KMGTkmgtiB-]{0,24}", n in 0u64..(1 << 20), shift in 0usize..5) {
        let flag = Flag::long_only("min-busbw-size");
        if let Err(err) = parse_size(flag, &text) {
            prop_assert_eq!(err.exit_code(), 6);
            prop_assert!(err.to_string().contains("--min-busbw-size"));
        }
        let suffix = ["", "K", "M", "G", "T"][shift];
        prop_assert_eq!(parse_size(flag, &format!("{n}{suffix}")).unwrap(), n << (10 * shift));
    }

    #[test]
    fn sizes_format_and_parse_back(bytes in any::<u64>()) {
        prop_assert_eq!(parse_size(Flag::long_only("size"), &format_size(bytes)).unwrap(), bytes);
    }

    #[test]
    fn bandwidths_and_urls_never_panic(text in ".{0,40}") {
        if let Ok(v) = parse_gbps(&text, "--min-busbw") {
            prop_assert!(v.is_finite() && v >= 0.0);
        }
        if let Ok(url) = GatewayUrl::parse(&format!("http://{text}")) {
            prop_assert!(url.port > 0 && !url.host.is_empty());
        }
        let _ = GatewayUrl::parse(&text);
    }
}
