//! The text sink against nccl-tests 2.19.6: every anchor file is rebuilt as a `Report`, printed by
//! `TextSink`, and must match byte for byte after the first line. Then host-backend output is read
//! the way health-check scripts read nccl-tests output.

use crate::support::anchors::read_anchor;
use crate::support::output::*;
use collbench::aggregate::{aggregate_measurement, AggregateOptions, RankSample};
use collbench::plan::AverageMode;
use collbench::report::RankPlacement;
use collbench::sinks::{Sink, TextSink};

fn render(report: &collbench::report::Report) -> String {
    let mut sink = TextSink::new(Vec::new(), "test buffer")
        .with_timestamp_source(|| "2026-11-22 17:30:00".to_string());
    sink.begin(report).unwrap();
    for row in &report.results {
        sink.row(report, row).unwrap();
    }
    sink.finish(report).unwrap();
    String::from_utf8(sink.into_inner()).unwrap()
}

/// First differing line, for a readable failure.
fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n want {w:?}\n  got {g:?}", i + 2);
        }
    }
    format!(
        "same common lines; lengths {} vs {} bytes, {} vs {} lines",
        want.len(),
        got.len(),
        want.lines().count(),
        got.lines().count()
    )
}

fn assert_matches_anchor(file: &str) {
    let anchor = read_anchor(file);
    let report = report_from_anchor(&anchor);
    let ours = render(&report);
    assert_eq!(
        ours.lines().next().unwrap(),
        "# collbench version 0.1.0 (nccl-tests 2.19.6 compatible) NCCL 2.28.9 \
         (/lib/x86_64-linux-gnu/libnccl.so.2)"
    );
    let (want, got) = (after_first_line(&anchor), after_first_line(&ours));
    assert!(want == got, "{file}: {}", first_difference(want, got));
    println!("{file}: {} bytes after line 1 identical", want.len());
}

#[test]
fn every_collective_matches_its_anchor_byte_for_byte() {
    for c in ANCHOR_COLLECTIVES {
        assert_matches_anchor(&format!("{c}.txt"));
    }
}

#[test]
fn per_iteration_report_matches_the_i1_anchor() {
    assert_matches_anchor("all_reduce_per_iter_I1.txt");
}

#[test]
fn cuda_graph_run_matches_the_g10_anchor() {
    assert_matches_anchor("all_reduce_cudagraph_G10.txt");
}

/// Aggregation reproduces the anchors' bandwidth columns and Avg bus bandwidth from their time
/// columns (1 rank, so the bus factor is 0 for all_reduce/all_gather/alltoall/reduce_scatter/
/// gather/scatter and 1 for broadcast/reduce/sendrecv; hypercube counts (n-1) × size = 0 bytes).
/// The anchors' times have two decimals, so the comparison allows the error that rounding makes.
#[test]
fn aggregation_reproduces_anchor_bandwidths_from_times() {
    let placement = [RankPlacement {
        rank: 0,
        group: 0,
        host: "vm".into(),
        pid: 1,
        device: Some(0),
        bus_id: None,
        device_name: "NVIDIA H100 80GB HBM3".into(),
    }];
    let opts = AggregateOptions {
        mode: AverageMode::Avg,
        per_iteration_skip: 0,
        report_cputime: false,
    };
    for c in ANCHOR_COLLECTIVES {
        let anchor = report_from_anchor(&read_anchor(&format!("{c}.txt")));
        let factor = match c {
            "broadcast" | "reduce" | "sendrecv" => 1.0,
            _ => 0.0,
        };
        let mut busbw_sum = 0.0;
        let mut cells = 0.0;
        for row in &anchor.results {
            for m in [&row.out_of_place, &row.in_place].into_iter().flatten() {
                let bytes = if c == "hypercube" {
                    0.0
                } else {
                    row.size_bytes as f64
                };
                let sample = RankSample {
                    rank: 0,
                    seconds_per_op: m.time_us * 1e-6,
                    wrong: m.wrong,
                    ..RankSample::default()
                };
                let ours =
                    aggregate_measurement(&[sample], &placement, bytes, factor, opts).unwrap();
                // Printed time has ±0.005 µs of rounding; bandwidth inherits it relatively.
                let tolerance = |v: f64| 0.005 / m.time_us * v + 0.006 + v * 0.5e-3;
                assert!(
                    (ours.algbw_gbps - m.algbw_gbps).abs()
                        <= tolerance(m.algbw_gbps).max(m.algbw_gbps * 0.5),
                    "{c} {} B: algbw {} vs anchor {}",
                    row.size_bytes,
                    ours.algbw_gbps,
                    m.algbw_gbps
                );
                // Below 1e6 the anchor prints at least 5 significant digits: hold it tightly.
                if m.algbw_gbps < 1e5 && m.algbw_gbps > 1.0 {
                    assert!(
                        (ours.algbw_gbps - m.algbw_gbps).abs() <= tolerance(m.algbw_gbps),
                        "{c} {} B: algbw {} vs anchor {}",
                        row.size_bytes,
                        ours.algbw_gbps,
                        m.algbw_gbps
                    );
                }
                assert_eq!(ours.bus_bandwidth_gbps, ours.algbw_gbps * factor, "{c}");
                if factor == 0.0 {
                    assert_eq!(m.bus_bandwidth_gbps, 0.0, "{c}: anchor busbw with factor 0");
                } else if m.bus_bandwidth_gbps > 1.0 && m.bus_bandwidth_gbps < 1e5 {
                    let tol = tolerance(m.bus_bandwidth_gbps);
                    assert!(
                        (ours.bus_bandwidth_gbps - m.bus_bandwidth_gbps).abs() <= tol,
                        "{c}"
                    );
                }
                busbw_sum += ours.bus_bandwidth_gbps;
                cells += 1.0;
            }
        }
        let avg = busbw_sum / cells;
        let want = anchor.summary.avg_bus_bandwidth_gbps;
        assert!(
            (avg - want).abs() <= want * 0.01,
            "{c}: Avg bus bandwidth from times {avg} vs anchor {want}"
        );
        println!("{c}: Avg bus bandwidth from the time columns {avg:.1}, anchor {want}");
    }
}

#[test]
fn header_variants_follow_nccl_tests_format_strings() {
    let mut report = host_backend_report(&[1048576], false, 0);
    report.config.report_cputime = true;
    report.config.report_timestamps = true;
    report.config.blocking = true;
    report.config.blocking_mode = 2;
    report.config.parallel_init = true;
    report.results[0].in_place.as_mut().unwrap().wrong = None;
    let text = render(&report);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "# collbench version 0.1.0 (nccl-tests 2.19.6 compatible) Open MPI v4.1.4"
    );
    assert_eq!(lines[1], "# Collective test starting: all_reduce_perf");
    assert_eq!(lines[2], "# nThread 1 nGpus 1 minBytes 1048576 maxBytes 1048576 step: 2(factor) warmup iters: 5 iters: 10 agg iters: 1 validation: 1 graph: 0 unalign: 0");
    assert_eq!(
        lines[3],
        "# Blocking Enabled: wait after each inner iteration (-m), no barrier "
    );
    assert_eq!(
        lines[4],
        "# Parallel Init Enabled: threads call into NcclInitRank concurrently "
    );
    assert_eq!(lines[5], "#");
    assert_eq!(lines[6], "# Using devices");
    assert_eq!(
        lines[7],
        "#  Rank  0 Group  0 Pid   4000 on     node-a device -1 [host] host memory"
    );
    assert_eq!(
        lines[10],
        "#  Rank  3 Group  0 Pid   4003 on     node-b device -1 [host] host memory"
    );
    // Expected strings below were produced by C printf with nccl-tests' format strings.
    assert_eq!(lines[13], "#       size         count      type   redop    root  cputime   algbw   busbw  #wrong  cputime   algbw   busbw  #wrong           timestamp");
    assert_eq!(lines[14], "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)             (us)  (GB/s)  (GB/s)           %Y-%m-%d %H:%M:%S");
    let row = lines[15];
    assert!(
        row.starts_with("     1048576        262144     float     sum      -1"),
        "{row}"
    );
    assert!(row.ends_with("    N/A  2026-11-22 17:30:00"), "{row:?}");
    assert_eq!(
        row.len(),
        52 + 33 + 32 + 21,
        "an N/A cell is one column narrower, as in nccl-tests"
    );

    // -z 1 and -I with timestamps.
    let mut report = host_backend_report(&[8, 1024], true, 0);
    report.config.blocking = true;
    report.config.blocking_mode = 1;
    report.config.report_timestamps = true;
    let text = render(&report);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[3],
        "# Blocking Enabled: wait and barrier after each inner iteration (-m) "
    );
    assert_eq!(
        lines[4],
        "# Per-Iteration Report: host clock timing; i_* uses max over process rows "
    );
    assert_eq!(lines[13], "#       size         count      type   redop    root     time   algbw   busbw  #wrong    i_min    i_max    i_p99    i_cv%     time   algbw   busbw  #wrong    i_min    i_max    i_p99    i_cv%           timestamp");
    for row in data_lines(&text) {
        assert_eq!(row.len(), 52 + 69 + 69 + 21, "{row:?}");
        assert!(row.ends_with("  2026-11-22 17:30:00"));
    }

    // -z 3 and -K.
    report.config.blocking_mode = 3;
    report.config.per_iteration_skip = 2;
    let text = render(&report);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[3], "# Blocking Enabled: wait and barrier after each outer iteration (-n); time excludes barrier ");
    assert_eq!(lines[4], "# Per-Iteration Report: host clock timing; i_* uses max over process rows; summary skips first 2 iterations ");
}

/// nccl-tests prints `#\n# Reducing maxBytes to N due to memory limitation\n` between the rank
/// lines and the `#` above the column headers; the table under the headers holds only rows.
#[test]
fn notices_go_between_the_rank_lines_and_the_column_headers() {
    let report = host_backend_report(&[64, 128], false, 0);
    let notice = "#\n# Reducing maxBytes to 104857600 due to memory limitation".to_string();
    let mut sink = TextSink::new(Vec::new(), "test buffer").with_notices(vec![notice]);
    sink.begin(&report).unwrap();
    for row in &report.results {
        sink.row(&report, row).unwrap();
    }
    sink.finish(&report).unwrap();
    let text = String::from_utf8(sink.into_inner()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let reducing = lines
        .iter()
        .position(|l| l.starts_with("# Reducing maxBytes to 104857600 due to memory limitation"))
        .expect("the notice");
    assert!(lines[reducing - 2].starts_with("#  Rank "), "{text}");
    assert_eq!(lines[reducing - 1], "#", "{text}");
    assert_eq!(lines[reducing + 1], "#", "{text}");
    assert!(lines[reducing + 2].contains("out-of-place"), "{text}");
    assert!(lines[reducing + 4].starts_with("#        (B)"), "{text}");
    assert!(!lines[reducing + 5].starts_with('#'), "{text}");
    // Without notices the header is unchanged.
    assert_eq!(
        render(&report)
            .lines()
            .filter(|l| l.contains("Reducing"))
            .count(),
        0
    );
}

#[test]
fn unchecked_cells_print_na_and_missing_cells_keep_nccl_tests_blank() {
    let mut report = host_backend_report(&[64], false, 0);
    report.results[0].in_place.as_mut().unwrap().wrong = None;
    let text = render(&report);
    let row = data_lines(&text)[0];
    assert!(row.ends_with("    N/A"), "{row:?}");
    report.results[0].out_of_place = None;
    let text = render(&report);
    let row = data_lines(&text)[0];
    assert_eq!(&row[52..84], " ".repeat(32));
}

#[test]
fn health_check_scripts_read_host_backend_output() {
    let sizes: Vec<u64> = (3..=24).map(|p| 1u64 << p).collect();
    // With -M's memory lines, which health-check parsers must not mistake for rank lines.
    let report = with_memory(host_backend_report(&sizes, false, 0));
    let text = render(&report);
    print!("{text}");
    let memory: Vec<&str> = grep(&text, "#  Memory rank ");
    assert_eq!(memory.len(), report.nranks);
    assert!(
        memory[0].starts_with("#  Memory rank  0 GPU  0: NCCL init used 586 MiB, buffers 3 MiB")
    );
    assert!(memory[1].starts_with("#  Memory rank  1 host: buffers 3 MiB, peak RSS 40 MiB"));
    assert!(
        text.contains("[host] host memory\n#  Memory rank  0 "),
        "right after the rank lines"
    );

    // grep "Out of bounds" / "Avg bus bandwidth", as HyperPod-style checks do.
    assert_eq!(out_of_bounds(&text), (0, "OK".to_string()));
    let avg = avg_bus_bandwidth(&text);
    let want = report.summary.avg_bus_bandwidth_gbps;
    assert!((avg - want).abs() <= want * 1e-5, "{avg} vs {want}");
    assert_eq!(
        grep(&text, "# Collective test concluded: all_reduce_perf").len(),
        1
    );

    // Rank lines: $3 rank, $9 host, $11 device.
    assert_eq!(
        rank_lines(&text),
        vec![
            (0, "node-a".to_string(), -1),
            (1, "node-a".to_string(), -1),
            (2, "node-b".to_string(), -1),
            (3, "node-b".to_string(), -1),
        ]
    );

    // Result lines split on blanks: $1 size, $8 / $12 busbw, $9 / $13 #wrong.
    let rows = script_rows(&text);
    assert_eq!(rows.len(), sizes.len());
    for (parsed, row) in rows.iter().zip(&report.results) {
        let oop = row.out_of_place.as_ref().unwrap();
        let ip = row.in_place.as_ref().unwrap();
        assert_eq!(parsed.size, row.size_bytes);
        assert_eq!(
            (parsed.wrong_oop.as_str(), parsed.wrong_ip.as_str()),
            ("0", "0")
        );
        for (got, want) in [
            (parsed.busbw_oop, oop.bus_bandwidth_gbps),
            (parsed.busbw_ip, ip.bus_bandwidth_gbps),
        ] {
            assert!(
                (got - want).abs() <= 0.005 + want * 1e-4,
                "busbw {got} vs {want}"
            );
        }
        assert!((parsed.time_oop - oop.time_us).abs() <= 0.005 + oop.time_us * 1e-4);
    }
}

#[test]
fn health_check_scripts_see_planted_corruption() {
    let report = host_backend_report(&[8, 64, 512], false, 5);
    let text = render(&report);
    assert_eq!(out_of_bounds(&text), (1, "FAILED".to_string()));
    let rows = script_rows(&text);
    assert_eq!(rows[2].wrong_ip, "5");
    assert_eq!(rows[2].wrong_oop, "0");
}

#[test]
fn bandwidth_threshold_and_interruption_footers() {
    let mut report = host_backend_report(&[1 << 20], false, 0);
    let avg = report.summary.avg_bus_bandwidth_gbps;
    report.summary.min_bus_bandwidth_gbps = Some(avg * 2.0);
    report.summary.interrupted = Some("SIGTERM after 1 of 3 rows".into());
    let text = render(&report);
    let tail: Vec<&str> = text.lines().rev().take(6).collect();
    assert_eq!(tail[0], "");
    assert_eq!(tail[1], "#");
    assert_eq!(tail[2], "# Collective test concluded: all_reduce_perf");
    assert_eq!(tail[3], "#");
    assert!(
        tail[4].starts_with("# Avg bus bandwidth    : ") && tail[4].ends_with(" FAILED"),
        "{}",
        tail[4]
    );
    assert_eq!(tail[5], "# Out of bounds values : 0 OK");
    assert!(text.contains("# Run interrupted: SIGTERM after 1 of 3 rows\n# Out of bounds values"));
    report.summary.min_bus_bandwidth_gbps = Some(avg);
    assert!(render(&report).contains(" OK\n#\n# Collective test concluded"));
}

#[test]
fn broken_output_is_an_io_error_naming_it() {
    struct Failing(std::io::ErrorKind);
    impl std::io::Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from(self.0))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let report = host_backend_report(&[8], false, 0);
    let mut sink = TextSink::new(
        Failing(std::io::ErrorKind::PermissionDenied),
        "standard output",
    );
    let err = sink.begin(&report).unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("standard output"), "{err}");
    // A reader that went away (broken pipe) is not an error: the run goes on to write its files.
    let mut sink = TextSink::new(Failing(std::io::ErrorKind::BrokenPipe), "standard output");
    sink.begin(&report).unwrap();
    sink.finish(&report).unwrap();
}
