//! Acceptance verdicts: --min-busbw, NCCL_TESTS_MIN_BW, profiles (per node count), the verdict
//! block and its JSON, exit code 7.

use crate::support::accept::*;
use crate::support::process::{mpirun, one_mpirun_at_a_time, run, Finished};
use collbench::error::exit;
use collbench::plan::acceptance::avg_bw_footer_word;
use collbench::plan::profile::{self, network_bound_factor, Profile};
use collbench::verdict::{evaluate, render, CheckKind, Criteria};
use std::time::Duration;

const GIB: u64 = 1 << 30;

fn min_busbw(gbps: &str, size: Option<&str>) -> Criteria {
    Criteria::from_flags(Some(gbps), size, None).unwrap()
}

#[test]
fn no_criteria_means_no_verdict() {
    let r = report("all_reduce", &["a", "b"], 8, &seeds_p5_two_nodes());
    assert!(evaluate(&r, &Criteria::default()).is_none());
}

#[test]
fn min_busbw_checks_sizes_from_one_gib_and_names_nobody_without_evidence() {
    let mut rows = seeds_p5_two_nodes();
    rows[2].busbw_ip = 120.0; // 1 GiB in-place collapses
    rows[2].slowest_rank = 11;
    let r = report("all_reduce", &["node-a", "node-b"], 8, &rows);
    let v = evaluate(&r, &min_busbw("400", None)).unwrap();
    let bw: Vec<_> = v
        .checks
        .iter()
        .filter(|c| c.kind == CheckKind::MinBusbw)
        .collect();
    // 1G, 2G, 4G, 8G, 16G: sizes below 1 GiB are not checked.
    assert_eq!(bw.len(), 5, "{v:#?}");
    assert!(!v.passed);
    let failed: Vec<_> = bw.iter().filter(|c| !c.passed).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].size_bytes, Some(GIB));
    assert_eq!(failed[0].placement.as_deref(), Some("in_place"));
    assert_eq!(failed[0].measured, 120.0);
    // Rank 11 was the slowest of that one measurement, 1 % over the rank average: ranks finish a
    // collective together, so that is no evidence, and the fixture has no per-process iteration
    // times (-I 1 -z 3). Nobody is named.
    assert!(failed[0].slowest.is_none(), "{:?}", failed[0].slowest);
    assert!(v.slowest_ranks.is_empty(), "{:?}", v.slowest_ranks);
    assert!(v.failing_hosts().is_empty());
    let blame = v.blame.as_ref().unwrap();
    assert!(!blame.named && blame.measurements == 0, "{blame:?}");
    let err = v.to_result().unwrap_err();
    assert_eq!(err.exit_code(), exit::WRONG_OR_FAILED);
    assert!(
        err.to_string().contains("run accept --pairwise to isolate"),
        "{err}"
    );

    let text = render::block(&v);
    assert!(
        text.starts_with("# Verdict: FAIL (5 of 6 checks passed, 2 nodes)"),
        "{text}"
    );
    assert!(
        text.contains("#  PASS  data all_reduce: 0 wrong elements"),
        "{text}"
    );
    assert!(text.contains("#  FAIL  min-busbw all_reduce 1073741824 B float in_place: busbw 120.00 GB/s < 400.00 GB/s"), "{text}");
    assert!(
        text.contains("# No rank stands out: run accept --pairwise to isolate"),
        "{text}"
    );
    assert!(!text.contains("slowest: rank"), "{text}");
    assert!(text.lines().all(|l| l.starts_with('#')), "{text}");
}

#[test]
fn min_busbw_default_size_is_the_largest_run_below_one_gib_and_explicit_size_wins() {
    let rows = vec![row(1 << 20, 5.0), row(1 << 24, 20.0), row(1 << 26, 30.0)];
    let r = report("all_reduce", &["a"], 4, &rows);
    let v = evaluate(&r, &min_busbw("25", None)).unwrap();
    let checked: Vec<_> = v
        .checks
        .iter()
        .filter(|c| c.kind == CheckKind::MinBusbw)
        .collect();
    assert_eq!(checked.len(), 1);
    assert_eq!(checked[0].size_bytes, Some(1 << 26));
    assert!(v.passed);
    let v = evaluate(&r, &min_busbw("25", Some("16M"))).unwrap();
    assert_eq!(
        v.checks
            .iter()
            .filter(|c| c.kind == CheckKind::MinBusbw)
            .count(),
        2
    );
    assert!(!v.passed, "16 MiB row at 20 GB/s must fail a 25 GB/s floor");
    // A floor above every size run cannot pass silently.
    let v = evaluate(&r, &min_busbw("1", Some("1G"))).unwrap();
    assert!(!v.passed);
    assert!(v
        .checks
        .iter()
        .any(|c| c.basis.contains("no measured row of at least 1073741824 B")));
}

#[test]
fn nccl_tests_min_bw_fails_below_ninety_percent_like_nccl_tests() {
    let rows = vec![row(1 << 20, 10.0), row(1 << 21, 10.0)];
    let r = report("all_reduce", &["a"], 2, &rows);
    for (env, passes) in [("11", true), ("11.1", true), ("11.2", false), ("12", false)] {
        let c = Criteria::from_flags(None, None, Some(env)).unwrap();
        let v = evaluate(&r, &c).unwrap();
        assert_eq!(v.passed, passes, "NCCL_TESTS_MIN_BW={env}: {v:#?}");
        let word = avg_bw_footer_word(10.0, c.nccl_tests_min_bw);
        assert_eq!(word, if passes { "OK" } else { "FAILED" });
    }
    assert_eq!(avg_bw_footer_word(10.0, None), "");
    // Garbage is rejected where nccl-tests' atof silently reads 0; empty means unset.
    assert!(Criteria::from_flags(None, None, Some(" "))
        .unwrap()
        .is_empty());
    for bad in ["abc", "nan", "inf", "-3", "1e999", "-1"] {
        let err = Criteria::from_flags(None, None, Some(bad)).unwrap_err();
        assert_eq!(err.exit_code(), exit::USAGE, "{bad}");
        assert!(err.to_string().contains("NCCL_TESTS_MIN_BW"), "{err}");
    }
    for bad in ["fast", "-1", "NaN"] {
        let err = Criteria::from_flags(Some(bad), None, None).unwrap_err();
        assert!(
            err.to_string().contains(&format!("--min-busbw: '{bad}'")),
            "{err}"
        );
    }
    let err = Criteria::from_flags(None, Some("1G"), None).unwrap_err();
    assert!(err.to_string().contains("without --min-busbw"), "{err}");
    let err = Criteria::from_flags(Some("10"), Some("1Q"), None).unwrap_err();
    assert!(err.to_string().contains("--min-busbw-size '1Q'"), "{err}");
}

#[test]
fn builtin_profiles_parse_and_every_number_has_a_source() {
    let profiles = Profile::builtin().unwrap();
    let names: Vec<_> = profiles.iter().map(|p| p.name.as_str()).collect();
    for wanted in [
        "p4d.24xlarge",
        "p5.48xlarge",
        "p5en.48xlarge",
        "h100-nvlink-8gpu",
    ] {
        assert!(names.contains(&wanted), "{names:?}");
    }
    for p in &profiles {
        for e in &p.expectations {
            assert!(e.source.len() > 20, "{}: {e:?}", p.name);
        }
    }
    let p5 = Profile::load("p5.48xlarge").unwrap();
    let at16g = p5
        .expected("all_reduce", 2, 16 * GIB, collbench::types::DataType::Float)
        .unwrap();
    assert_eq!(at16g.busbw_gbps, 487.09);
    assert!(!at16g.derived);
    // Every .toml in results/profiles is built in (nothing shipped but unused).
    let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/results/profiles"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    assert_eq!(on_disk, profiles.len());
}

#[test]
fn profile_thresholds_depend_on_node_count() {
    let p5 = Profile::load("p5.48xlarge").unwrap();
    let criteria = Criteria {
        profile: Some(p5.clone()),
        ..Criteria::default()
    };
    // The seeds' own 2-node numbers pass on 2 nodes.
    let two = report("all_reduce", &["a", "b"], 8, &seeds_p5_two_nodes());
    let v = evaluate(&two, &criteria).unwrap();
    assert!(v.passed, "{}", render::block(&v));
    assert_eq!(
        v.checks
            .iter()
            .filter(|c| c.kind == CheckKind::Profile)
            .count(),
        7
    );

    // 70% of the 2-node numbers: fails on 2 nodes, passes on 4 (many-node rings reach less).
    let scaled: Vec<RowSpec> = seeds_p5_two_nodes()
        .into_iter()
        .map(|mut r| {
            r.busbw_oop *= 0.70;
            r.busbw_ip *= 0.70;
            r
        })
        .collect();
    let v2 = evaluate(&report("all_reduce", &["a", "b"], 8, &scaled), &criteria).unwrap();
    assert!(!v2.passed);
    let v4 = evaluate(
        &report("all_reduce", &["a", "b", "c", "d"], 8, &scaled),
        &criteria,
    )
    .unwrap();
    assert!(v4.passed, "{}", render::block(&v4));
    let derived = v4
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::Profile)
        .unwrap();
    assert!(derived.basis.contains("derived"), "{}", derived.basis);
    let expect_4 = 342.81 * network_bound_factor(4, 8) / network_bound_factor(2, 8) * 0.9;
    assert!((derived.threshold - expect_4).abs() < 1e-9);
    assert!((network_bound_factor(2, 8) - 1.875).abs() < 1e-12);
    assert!(network_bound_factor(64, 8) < network_bound_factor(8, 8));

    // One node has its own (NVLink) expectations; a 3-node run on a GPU-model profile has none.
    let h100 = Profile::load("h100-nvlink-8gpu").unwrap();
    let c = Criteria {
        profile: Some(h100),
        ..Criteria::default()
    };
    let v = evaluate(
        &report("all_reduce", &["a", "b", "c"], 8, &seeds_p5_two_nodes()),
        &c,
    )
    .unwrap();
    assert!(!v.passed);
    let coverage = v
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::ProfileCoverage)
        .unwrap();
    assert!(
        coverage
            .basis
            .contains("no expectation for all_reduce on 3 node(s)"),
        "{}",
        coverage.basis
    );
}

#[test]
fn profile_auto_uses_instance_type_then_gpu_model() {
    let profiles = Profile::builtin().unwrap();
    let h100 = vec!["NVIDIA H100 80GB HBM3".to_string(); 8];
    let chosen = profile::select_auto(&profiles, Some("p5.48xlarge\n"), &h100).unwrap();
    assert_eq!(chosen.name, "p5.48xlarge");
    let chosen = profile::select_auto(&profiles, Some("p4de.24xlarge"), &[]).unwrap();
    assert_eq!(chosen.name, "p4d.24xlarge");
    let chosen = profile::select_auto(&profiles, Some("PowerEdge XE9680"), &h100).unwrap();
    assert_eq!(chosen.name, "h100-nvlink-8gpu");
    let mixed = vec![
        "NVIDIA H100 80GB HBM3".to_string(),
        "host memory".to_string(),
    ];
    assert!(profile::select_auto(&profiles, None, &mixed).is_none());
    let err = profile::resolve(
        "auto",
        Some("Standard PC (Q35 + ICH9, 2009)"),
        &["host memory".into()],
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), exit::USAGE);
    let msg = err.to_string();
    assert!(
        msg.contains("Standard PC (Q35 + ICH9, 2009)")
            && msg.contains("host memory")
            && msg.contains("p5en.48xlarge"),
        "{msg}"
    );
    // This machine's real DMI name (whatever it is) resolves or fails with that message.
    let product = profile::read_product_name(std::path::Path::new(profile::DMI_PRODUCT_NAME));
    let _ = profile::resolve("auto", product.as_deref(), &["host memory".into()]);
    let err = Profile::load("p9.huge").unwrap_err();
    assert!(
        err.to_string().contains("'p9.huge' is not a profile"),
        "{err}"
    );
}

#[test]
fn malformed_profiles_are_rejected_with_the_field_named() {
    let good = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/results/profiles/p4d.24xlarge.toml"
    ))
    .unwrap();
    Profile::parse(&good, "good.toml").unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("schema = 1", "schema = 2", "schema = 2 is not supported"),
        (
            "pass_fraction = 0.9",
            "pass_fraction = 1.5",
            "pass_fraction = 1.5",
        ),
        (
            "pass_fraction = 0.9",
            "pass_fraction = nan",
            "pass_fraction = NaN",
        ),
        (
            "busbw_gbps = 69.89",
            "busbw_gbps = -69.89",
            "busbw_gbps = -69.89",
        ),
        ("busbw_gbps = 69.89", "busbw_gbps = inf", "busbw_gbps = inf"),
        (
            "busbw_gbps = 69.89",
            "busbw_gbps = \"fast\"",
            "not a valid profile",
        ),
        (
            "size = \"256M\"",
            "size = \"256Q\"",
            "size = \"256Q\" is not a size",
        ),
        ("size = \"256M\"", "size = \"0\"", "more than 0 bytes"),
        (
            "collective = \"all_reduce\"\nnodes = 2\nsize = \"256M\"",
            "collective = \"allreduce_fast\"\nnodes = 2\nsize = \"256M\"",
            "collective 'allreduce_fast' is unknown",
        ),
        (
            "gpus_per_node = 8",
            "gpus_per_node = 0",
            "gpus_per_node = 0",
        ),
        (
            "gpus_per_node = 8",
            "gpus_per_node = 8\ncolour = \"red\"",
            "unknown field `colour`",
        ),
        (
            "instance_types = [\"p4d.24xlarge\", \"p4de.24xlarge\"]",
            "",
            "neither instance_types nor gpu_models",
        ),
        ("size = \"512M\"", "size = \"256M\"", "duplicate entry"),
        (
            "nodes = 2\nsize = \"1G\"",
            "nodes = 0\nsize = \"1G\"",
            "nodes = 0",
        ),
    ];
    for (from, to, wanted) in cases {
        assert!(good.contains(from), "fixture lacks {from}");
        let bad = good.replacen(from, to, 1);
        let err = Profile::parse(&bad, "bad.toml").unwrap_err();
        assert_eq!(err.exit_code(), exit::USAGE);
        let msg = err.to_string();
        assert!(
            msg.contains("profile bad.toml") && msg.contains(wanted),
            "{to}: {msg}"
        );
    }
    // A missing source is rejected: every number needs one.
    let no_source = good.replacen("source = \"2x p4de", "# source = \"2x p4de", 1);
    let msg = Profile::parse(&no_source, "bad.toml")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("source"), "{msg}");
    for garbage in [
        "",
        "\u{0}\u{1}",
        "[[expect]]\n[[expect]]",
        "name = 3",
        "schema = 1\n",
    ] {
        assert!(Profile::parse(garbage, "g.toml").is_err(), "{garbage:?}");
    }
}

#[test]
fn verdict_is_stored_in_the_json_report_and_absent_without_checks() {
    let mut r = report("all_reduce", &["a", "b"], 8, &seeds_p5_two_nodes());
    let plain = serde_json::to_value(&r).unwrap();
    assert!(plain.get("verdict").is_none());
    r.verdict = evaluate(&r, &min_busbw("450", Some("4G")));
    let json = serde_json::to_string_pretty(&r).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let verdict = &value["verdict"];
    assert_eq!(verdict["passed"], serde_json::Value::Bool(true));
    assert_eq!(verdict["checks"][1]["kind"], "min_busbw");
    assert_eq!(verdict["checks"][1]["measured"], 465.87);
    assert_eq!(verdict["checks"][1]["threshold"], 450.0);
    let back: collbench::report::Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back.verdict, r.verdict);
    assert_eq!(
        serde_json::to_value(&back).unwrap()["verdict"],
        value["verdict"]
    );
}

#[test]
fn wrong_results_and_interrupted_runs_fail_the_verdict() {
    let mut r = report("all_reduce", &["a", "b"], 2, &[row(1 << 20, 10.0)]);
    r.summary.out_of_bounds = 3;
    r.summary.first_wrong = Some(collbench::data::WrongElement {
        rank: 2,
        index: 17,
        expected: "3".into(),
        got: "4".into(),
    });
    r.complete = false;
    r.summary.interrupted = Some("SIGTERM".into());
    let v = evaluate(&r, &min_busbw("1", None)).unwrap();
    assert!(!v.passed);
    let data = v.checks.iter().find(|c| c.kind == CheckKind::Data).unwrap();
    assert!(!data.passed);
    assert_eq!(data.slowest.as_ref().unwrap().host, "b");
    let text = render::block(&v);
    assert!(
        text.contains("first wrong element on rank 2 host b"),
        "{text}"
    );
    assert!(text.contains("sweep interrupted: SIGTERM"), "{text}");
}

#[test]
fn without_a_threshold_accept_judges_data_and_completeness_and_says_so() {
    let judge = Criteria {
        judge_without_threshold: true,
        ..Criteria::default()
    };
    let r = report("all_reduce", &["a", "b"], 2, &[row(1 << 20, 10.0)]);
    let v = evaluate(&r, &judge).expect("accept always has a verdict");
    assert!(v.passed);
    assert!(v
        .checks
        .iter()
        .any(|c| c.kind == CheckKind::Complete && c.passed));
    assert!(v
        .checks
        .iter()
        .all(|c| matches!(c.kind, CheckKind::Data | CheckKind::Complete)));
    let text = render::block(&v);
    assert!(text.contains("#  note: busbw not judged"), "{text}");
    assert!(text.contains("all 1 rows measured"), "{text}");

    let mut stopped = r.clone();
    stopped.complete = false;
    stopped.summary.interrupted = Some("SIGTERM".into());
    let v = evaluate(&stopped, &judge).unwrap();
    assert!(!v.passed, "{}", render::block(&v));
    // With a threshold, a complete sweep adds no completeness check and no note.
    let v = evaluate(&r, &min_busbw("1", None)).unwrap();
    assert!(v.checks.iter().all(|c| c.kind != CheckKind::Complete));
    assert!(!render::block(&v).contains("note: busbw not judged"));

    // `--profile auto` with no matching profile: its note replaces the generic one, and the
    // verdict (and so the JSON report) carries it.
    let unmatched = Criteria {
        judge_without_threshold: true,
        note: Some("--profile auto: no busbw profile applied for instance type 'x'".into()),
        ..Criteria::default()
    };
    let v = evaluate(&r, &unmatched).unwrap();
    assert!(v.passed);
    let text = render::block(&v);
    assert!(
        text.contains("#  note: --profile auto: no busbw profile applied for instance type 'x'")
            && !text.contains("busbw not judged (no"),
        "{text}"
    );
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(
        json["note"],
        "--profile auto: no busbw profile applied for instance type 'x'"
    );
    assert!(serde_json::to_value(evaluate(&r, &judge).unwrap()).unwrap()["note"].is_null());
}

#[test]
fn acceptance_flags_are_checked_before_any_work() {
    use collbench::cli::args::RawArgs;
    use collbench::cli::build::build_plan;
    use collbench::verdict::ProfileChoice;
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("run.prom").display().to_string();
    let jsonl = dir.path().join("run.jsonl").display().to_string();
    let parse = |args: &[&str], env: &[(&str, &str)]| {
        let raw = RawArgs::parse(args).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // The whole plan: --jsonl and --prom-file are among its output files.
        let all_reduce = collbench::collectives::find("all_reduce").unwrap();
        let env = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        build_plan(all_reduce, &raw, &env, Vec::new()).map(|plan| plan.acceptance)
    };
    let plan = parse(
        &[
            "--min-busbw",
            "400",
            "--min-busbw-size",
            "4G",
            "--profile",
            "p5.48xlarge",
            "--prom-file",
            &prom,
            "--jsonl",
            &jsonl,
            "--push-gateway",
            "http://pg:9091",
        ],
        &[("NCCL_TESTS_MIN_BW", "350")],
    )
    .unwrap();
    assert!(plan.has_checks());
    let min = plan.criteria.min_busbw.as_ref().unwrap();
    assert_eq!((min.gbps, min.min_size), (400.0, Some(4 * GIB)));
    assert_eq!(plan.criteria.nccl_tests_min_bw, Some(350.0));
    assert!(matches!(&plan.profile, Some(ProfileChoice::Given(p)) if p.name == "p5.48xlarge"));
    assert_eq!(plan.push_gateway.as_deref(), Some("http://pg:9091"));
    let none = parse(&[], &[]).unwrap();
    assert!(!none.has_checks());

    // --profile auto resolves from the DMI product name, then the devices.
    let auto = parse(&["--profile", "auto"], &[]).unwrap();
    let dmi = dir.path().join("product_name");
    std::fs::write(&dmi, "p5en.48xlarge\n").unwrap();
    let c = auto
        .resolve_criteria_with(&["NVIDIA H200".into()], &dmi)
        .unwrap();
    assert_eq!(c.profile.unwrap().name, "p5en.48xlarge");
    let c = auto
        .resolve_criteria_with(
            &["NVIDIA H100 80GB HBM3".into()],
            &dir.path().join("absent"),
        )
        .unwrap();
    assert_eq!(c.profile.unwrap().name, "h100-nvlink-8gpu");
    // No profile for this machine: no usage error; judged on data and completeness, with a note
    // naming the instance type.
    std::fs::write(&dmi, "g4dn.xlarge\n").unwrap();
    let c = auto
        .resolve_criteria_with(&["host memory".into()], &dmi)
        .unwrap();
    assert!(c.profile.is_none() && c.judge_without_threshold);
    let note = c.note.unwrap();
    assert!(
        note.contains("no busbw profile applied for instance type 'g4dn.xlarge'")
            && note.contains("host memory")
            && !note.contains("bandwidth"),
        "{note}"
    );
    // With a floor as well, the floor judges busbw and the note still says why no profile did.
    let floor = parse(&["--profile", "auto", "--min-busbw", "10"], &[]).unwrap();
    let c = floor
        .resolve_criteria_with(&["host memory".into()], &dmi)
        .unwrap();
    assert!(c.profile.is_none() && !c.judge_without_threshold && c.note.is_some());

    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let bad_cases: &[Case] = &[
        (&["--min-busbw", "fast"], &[], "--min-busbw: 'fast'"),
        (
            &["--min-busbw", "10", "--min-busbw-size", "12Q"],
            &[],
            "--min-busbw-size '12Q'",
        ),
        (&["--min-busbw-size", "1G"], &[], "without --min-busbw"),
        (&["--profile", "p9.huge"], &[], "'p9.huge' is not a profile"),
        (
            &["--profile", "/nonexistent/x.toml"],
            &[],
            "/nonexistent/x.toml",
        ),
        (
            &["--prom-file", "/nonexistent-dir/a.prom"],
            &[],
            "does not exist",
        ),
        (&["--jsonl", "/tmp"], &[], "is a directory"),
        (
            &["--push-gateway", "ftp://pg:9091"],
            &[],
            "is not an http:// or https:// URL",
        ),
        (
            &[],
            &[("NCCL_TESTS_MIN_BW", "lots")],
            "NCCL_TESTS_MIN_BW=\"lots\"",
        ),
    ];
    for (args, env, wanted) in bad_cases {
        let err = parse(args, env).unwrap_err();
        assert!(
            err.exit_code() == exit::USAGE || err.exit_code() == exit::IO,
            "{args:?}"
        );
        assert!(err.to_string().contains(wanted), "{args:?}: {err}");
    }
    let same = parse(&["--prom-file", &prom, "--jsonl", &prom], &[]).unwrap_err();
    assert!(same.to_string().contains("two different files"), "{same}");
}

#[test]
fn reports_with_verdicts_validate_against_the_json_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let mut failing = report("all_reduce", &["a", "b"], 8, &seeds_p5_two_nodes());
    failing.results[3]
        .in_place
        .as_mut()
        .unwrap()
        .bus_bandwidth_gbps = 12.0;
    failing.summary.out_of_bounds = 1;
    failing.summary.first_wrong = Some(collbench::data::WrongElement {
        rank: 3,
        index: 9,
        expected: "1".into(),
        got: "2".into(),
    });
    failing.complete = false;
    failing.summary.interrupted = Some("stopped by signal 15 (SIGTERM) after 7 rows".into());
    let mut c = Criteria::from_flags(Some("400"), Some("1G"), Some("300")).unwrap();
    c.profile = Some(Profile::load("p5.48xlarge").unwrap());
    failing.verdict = evaluate(&failing, &c);
    let mut uncovered = report("all_reduce", &["a", "b", "c"], 8, &seeds_p5_two_nodes());
    uncovered.verdict = evaluate(
        &uncovered,
        &Criteria {
            profile: Some(Profile::load("h100-nvlink-8gpu").unwrap()),
            ..Criteria::default()
        },
    );
    let plain = report("all_reduce", &["a"], 2, &[row(1 << 20, 3.0)]);
    for (name, r) in [
        ("failing", &failing),
        ("uncovered", &uncovered),
        ("no verdict", &plain),
    ] {
        let value = serde_json::to_value(r).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
    let kinds: Vec<String> = failing
        .verdict
        .as_ref()
        .unwrap()
        .checks
        .iter()
        .map(|c| format!("{:?}", c.kind))
        .collect();
    for kind in ["Data", "Complete", "MinBusbw", "NcclTestsMinBw", "Profile"] {
        assert!(kinds.iter().any(|k| k == kind), "{kinds:?}");
    }
    // The schema still rejects what it should: an unknown check kind.
    let mut bad = serde_json::to_value(&failing).unwrap();
    bad["verdict"]["checks"][0]["kind"] = "vibes".into();
    assert!(validator.iter_errors(&bad).next().is_some());
}

#[test]
fn a_profile_only_judges_runs_with_its_ranks_per_node() {
    let c = Criteria {
        profile: Some(Profile::load("p5.48xlarge").unwrap()),
        ..Criteria::default()
    };
    // 2 nodes x 4 ranks: the 8-GPU numbers do not apply, whatever the busbw.
    let half = report("all_reduce", &["a", "b"], 4, &seeds_p5_two_nodes());
    let v = evaluate(&half, &c).unwrap();
    assert!(!v.passed);
    let shape = v
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::ProfileCoverage)
        .unwrap();
    assert_eq!((shape.measured, shape.threshold), (8.0, 16.0));
    assert!(render::block(&v)
        .contains("profile-coverage all_reduce: 8 ranks where the profile expects 16"));
    assert!(!v.checks.iter().any(|c| c.kind == CheckKind::Profile));
}

#[test]
fn per_size_floors_and_warn_floors_judge_each_size_and_warn_with_exit_8() {
    let rows = vec![row(1 << 20, 5.0), row(1 << 24, 20.0), row(1 << 26, 30.0)];
    let r = report("all_reduce", &["a"], 4, &rows);
    let judge = |fail: Option<&str>, warn: Option<&str>| {
        let c = Criteria::from_flags(fail, None, None)
            .unwrap()
            .with_warn(warn, None)
            .unwrap();
        evaluate(&r, &c).unwrap()
    };
    // Each listed size against its own floor: 1M passes 4, 16M fails 25 (the all-size average
    // of 18.3 GB/s would have said nothing about which size).
    let v = judge(Some("1M=4,16M=25,64M=30"), None);
    let failed: Vec<_> = v.checks.iter().filter(|c| !c.passed).collect();
    assert_eq!(failed.len(), 1, "{v:#?}");
    assert_eq!(failed[0].size_bytes, Some(1 << 24));
    assert!(
        failed[0].basis.contains("--min-busbw 16777216=25"),
        "{}",
        failed[0].basis
    );
    assert!(!v.passed);
    assert_eq!(
        v.to_result().unwrap_err().exit_code(),
        exit::WRONG_OR_FAILED
    );
    // A listed size the run did not measure fails.
    let v = judge(Some("2M=1"), None);
    assert!(!v.passed);
    assert!(v
        .checks
        .iter()
        .any(|c| c.basis.contains("no measured row of 2097152 B")));
    // Between warn and fail: WARN, exit 8; below fail: FAIL, exit 7 even with warnings.
    let v = judge(Some("16M=10"), Some("16M=25"));
    assert!(v.passed && v.warned, "{v:#?}");
    assert_eq!(v.to_result().unwrap_err().exit_code(), exit::WARNED);
    let text = render::block(&v);
    assert!(text.starts_with("# Verdict: WARN"), "{text}");
    assert!(
        text.contains("#  WARN  warn-busbw all_reduce 16777216 B"),
        "{text}"
    );
    let v = judge(Some("16M=25"), Some("16M=40"));
    assert!(!v.passed && v.warned);
    assert_eq!(
        v.to_result().unwrap_err().exit_code(),
        exit::WRONG_OR_FAILED
    );
    let v = judge(Some("16M=10"), Some("16M=15"));
    assert!(v.passed && !v.warned);
    assert!(v.to_result().is_ok());
    assert!(render::block(&v).starts_with("# Verdict: PASS"));
    // A uniform warn floor applies, like --min-busbw, from 1 GiB or the largest size run (64M).
    assert!(!judge(None, Some("25")).warned);
    let v = judge(None, Some("35"));
    assert!(v.passed && v.warned, "{v:#?}");
}

#[test]
fn bad_per_size_and_warn_values_name_the_value_and_the_accepted_forms() {
    let err = |fail: Option<&str>, warn: Option<&str>| {
        Criteria::from_flags(fail, None, None)
            .and_then(|c| c.with_warn(warn, None))
            .unwrap_err()
    };
    for (fail, warn, wanted) in [
        (
            Some("1M=5,16M"),
            None,
            "'16M' is not SIZE=GBPS; accepted: GBPS",
        ),
        (Some("1M=5,1M=6"), None, "size 1048576 B is listed twice"),
        (Some("1Q=5"), None, "1Q"),
        (Some("1M=fast"), None, "'fast' is not a bandwidth"),
        (
            Some("16M=20"),
            Some("16M=10"),
            "--warn-busbw: 10 GB/s at 16777216 B is below the --min-busbw floor 20 GB/s",
        ),
        (
            Some("20"),
            Some("10"),
            "--warn-busbw: 10 GB/s is below the --min-busbw floor 20 GB/s",
        ),
        (None, Some("1M=x"), "--warn-busbw: 'x' is not a bandwidth"),
    ] {
        let e = err(fail, warn);
        assert_eq!(e.exit_code(), exit::USAGE, "{e}");
        assert!(e.to_string().contains(wanted), "{fail:?} {warn:?}: {e}");
    }
}

/// A profile file for hosts of `gpus_per_node` ranks with one 2-node all_reduce expectation at
/// 1 MiB, low enough for this machine to reach.
fn two_node_profile(dir: &std::path::Path, gpus_per_node: u32) -> String {
    let subdir = dir.join(format!("{gpus_per_node}-per-node"));
    std::fs::create_dir_all(&subdir).unwrap();
    let profile = TestProfile {
        name: "two-node",
        gpus_per_node,
        pass_fraction: 0.9,
    };
    write_profile(
        &subdir,
        profile,
        &[(2, "1M", 0.0001, "any host reaches it")],
    )
}

/// `collbench accept` with `--profile` on 4 ranks that report hosts a, a, b, b.
fn accept_on_two_hosts(profile: &str, sizes: [&str; 2], jsonl: &std::path::Path) -> Finished {
    let args = [
        "accept",
        "--backend",
        "mpi",
        "-b",
        sizes[0],
        "-e",
        sizes[1],
        "-f",
        "4",
        "-n",
        "2",
        "-w",
        "1",
        "--profile",
        profile,
        "--jsonl",
        jsonl.to_str().unwrap(),
    ];
    let _turn = one_mpirun_at_a_time();
    run(
        mpirun(
            4,
            "collbench",
            &args,
            &[("COLLBENCH_TEST_HOSTNAME", "host-a,host-a,host-b,host-b")],
        ),
        Duration::from_secs(120),
    )
}

/// A profile that could judge no row of the job is refused before the sweep (exit 6, no row, no
/// output file opened), in words saying why and what to change; one that covers a row of the
/// sweep runs it and judges it.
#[test]
fn a_profile_that_can_judge_nothing_of_the_job_is_refused_before_the_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("accept.jsonl");
    let refused = |profile: &str, sizes: [&str; 2], wanted: &str| {
        let done = accept_on_two_hosts(profile, sizes, &jsonl);
        assert_eq!(done.code(), Some(exit::USAGE), "{}", done.describe());
        assert!(done.rows().is_empty(), "{}", done.describe());
        assert_eq!(
            done.stderr.matches(wanted).count(),
            1,
            "{}",
            done.describe()
        );
        assert!(!done.stderr.contains("# Verdict"), "{}", done.describe());
        assert!(!jsonl.exists(), "the JSON Lines file was opened");
        done.stderr
    };
    // Two ranks per host where the profile is for one.
    let one_per_node = two_node_profile(dir.path(), 1);
    let stderr = refused(
        &one_per_node,
        ["8", "1M"],
        "profile two-node is for 1 ranks per node (2 on 2 node(s)); this run has 4 ranks",
    );
    assert!(stderr.contains("--ntasks-per-node=1"), "{stderr}");
    // The right shape, but a sweep that stops below the profile's only size.
    let two_per_node = two_node_profile(dir.path(), 2);
    let stderr = refused(
        &two_per_node,
        ["8", "64K"],
        "profile two-node has no expectation for all_reduce on 2 node(s) at the sizes run (8, 32, \
         128, 512, 2048, 8192, 32768); it covers: all_reduce on 2 node(s) at 1M",
    );
    assert!(
        stderr.contains("sweep sizes the profile covers (-b/-e)"),
        "{stderr}"
    );
    // A sweep that reaches it runs, and the profile judges its 1 MiB row.
    let done = accept_on_two_hosts(&two_per_node, ["64K", "1M"], &jsonl);
    assert_eq!(done.code(), Some(0), "{}", done.describe());
    assert_eq!(done.rows().len(), 3, "{}", done.describe());
    assert!(
        done.stderr.contains("# Verdict: PASS"),
        "{}",
        done.describe()
    );
    assert!(
        done.stderr
            .contains("profile two-node: 90% of 0.00 GB/s expected on 2 node(s)"),
        "{}",
        done.describe()
    );
    assert!(jsonl.exists());
}
