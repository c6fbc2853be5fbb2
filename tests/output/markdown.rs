//! The `--markdown` sink: a title, the run line, one table row per result row with the text
//! table's numbers, the footer; written whole at the end, also after an interruption.

use crate::support::cli::{parse, plan};
use crate::support::output::*;
use collbench::cli::Parsed;
use collbench::plan::OutputFormat;
use collbench::report::Report;
use collbench::sinks::markdown::MarkdownSink;
use collbench::sinks::{cfmt, Sink};
use std::path::Path;

fn write_all(report: &Report, path: &Path, rows: usize) {
    let mut sink = MarkdownSink::new(path);
    sink.begin(report).unwrap();
    for row in &report.results[..rows] {
        sink.row(report, row).unwrap();
    }
    sink.finish(report).unwrap();
}

/// The cells of the table's body rows.
fn body(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| size"))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn one_table_row_per_result_row_with_the_text_tables_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.md");
    let mut report = host_backend_report(&[8, 1024, 1 << 20], false, 4);
    report.results[1].in_place.as_mut().unwrap().wrong = None;
    write_all(&report, &path, 3);
    let text = std::fs::read_to_string(&path).unwrap();

    assert!(text.starts_with("# all_reduce_perf (collbench "), "{text}");
    assert!(text.contains("4 ranks on 2 host(s), mpi backend"), "{text}");
    let header = text.lines().find(|l| l.starts_with("| size (B)")).unwrap();
    let alignment = text.lines().find(|l| l.starts_with("|---")).unwrap();
    assert_eq!(header.matches(" | ").count(), 12, "{header}");
    assert_eq!(alignment.matches('|').count(), 14, "{alignment}");

    let rows = body(&text);
    assert_eq!(rows.len(), 3);
    for (cells, row) in rows.iter().zip(&report.results) {
        assert_eq!(cells.len(), 13, "{cells:?}");
        assert_eq!(cells[0], row.size_bytes.to_string());
        assert_eq!(cells[1], row.count.to_string());
        assert_eq!(cells[2], "float");
        assert_eq!(cells[3], row.redop);
        assert_eq!(cells[4], row.root.to_string());
        for (offset, m) in [(5, &row.out_of_place), (9, &row.in_place)] {
            let m = m.as_ref().unwrap();
            assert_eq!(cells[offset], cfmt::fixed(m.time_us, 0, 2));
            assert_eq!(cells[offset + 1], cfmt::fixed(m.algbw_gbps, 0, 2));
            assert_eq!(cells[offset + 2], cfmt::fixed(m.bus_bandwidth_gbps, 0, 2));
            let wrong = m.wrong.map_or("N/A".to_string(), |w| w.to_string());
            assert_eq!(cells[offset + 3], wrong);
        }
    }
    assert_eq!(rows[1][12], "N/A", "an unchecked cell reads N/A");
    let footer = format!(
        "Out of bounds values: {} FAILED. Avg bus bandwidth: {} GB/s.",
        report.summary.out_of_bounds,
        cfmt::general(report.summary.avg_bus_bandwidth_gbps, 0)
    );
    assert!(report.summary.out_of_bounds > 0);
    assert!(text.ends_with(&format!("{footer}\n")), "{text}");
}

#[test]
fn an_interrupted_run_keeps_its_finished_rows_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.md");
    std::fs::write(&path, "previous run\n").unwrap();
    let mut report = host_backend_report(&[8, 1024, 1 << 20], false, 0);
    report.complete = false;
    report.summary.interrupted = Some("SIGTERM".into());
    let rows = report.results.clone();
    report.results.clear();
    let mut sink = MarkdownSink::new(&path);
    sink.begin(&report).unwrap();
    for row in &rows[..2] {
        sink.row(&report, row).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "previous run\n",
        "written at the end, whole"
    );
    sink.finish(&report).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(body(&text).len(), 2);
    assert!(text.contains("Run interrupted: SIGTERM;"), "{text}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn the_flag_names_a_file_of_its_own() {
    let reduction = collbench::collectives::find("all_reduce").unwrap();
    let plan = plan(reduction, &["--markdown", "run.md"]);
    assert_eq!(
        plan.outputs.path(OutputFormat::Markdown),
        Some(Path::new("run.md"))
    );
    let err = parse(reduction, &["--markdown", "x.md", "--csv", "x.md"]).unwrap_err();
    assert!(
        err.to_string()
            .contains("--csv and --markdown both name 'x.md'; accepted: two different files"),
        "{err}"
    );
    let err = parse(reduction, &["--markdown", "out/"]).unwrap_err();
    assert!(
        err.to_string()
            .contains("--markdown 'out/': names a directory"),
        "{err}"
    );
    assert!(
        matches!(parse(reduction, &["-h"]), Ok(Parsed::Help(h)) if h.contains("--markdown <FILE>"))
    );
}

#[test]
fn accept_pairwise_refuses_it_as_it_refuses_j() {
    let args: Vec<String> = ["--pairwise", "--markdown", "pairs.md"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let Err(err) = collbench::accept::command::parse(&args, &|_| None) else {
        panic!("accept --pairwise --markdown was accepted");
    };
    assert_eq!(err.exit_code(), 6);
    assert!(
        err.to_string()
            .contains("--markdown pairs.md: the Markdown table is the table of one sweep")
            && err.to_string().contains("accepted: --collbench-json FILE"),
        "{err}"
    );
}
