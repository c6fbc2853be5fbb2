//! The `--csv` sink: documented header, one line per measured cell, values that read back exactly,
//! and the temp-file-then-rename life cycle.

use crate::support::output::*;
use collbench::report::Report;
use collbench::sinks::cfmt;
use collbench::sinks::csv::CSV_HEADER;
use collbench::sinks::{CsvSink, Sink};
use std::path::Path;

fn read_records(path: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let records = r.records().map(|x| x.unwrap()).collect();
    (header, records)
}

fn write_all(report: &Report, path: &Path) {
    let mut sink = CsvSink::new(path);
    sink.begin(report).unwrap();
    for row in &report.results {
        sink.row(report, row).unwrap();
    }
    sink.finish(report).unwrap();
}

fn col(name: &str) -> usize {
    CSV_HEADER.iter().position(|h| *h == name).unwrap()
}

#[test]
fn one_line_per_cell_with_exact_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.csv");
    let mut report = host_backend_report(&[8, 1024, 1 << 20], false, 4);
    report.results[1].in_place.as_mut().unwrap().wrong = None;
    report.results[0]
        .out_of_place
        .as_mut()
        .unwrap()
        .ranks
        .slowest_host = "rack 1, \"node\" a".into();
    write_all(&report, &path);

    let (header, records) = read_records(&path);
    assert_eq!(header, CSV_HEADER.to_vec());
    assert_eq!(
        records.len(),
        6,
        "out-of-place and in-place for each of 3 sizes"
    );
    for (i, rec) in records.iter().enumerate() {
        let row = &report.results[i / 2];
        let in_place = i % 2 == 1;
        let m = if in_place {
            &row.in_place
        } else {
            &row.out_of_place
        }
        .as_ref()
        .unwrap();
        assert_eq!(rec.len(), CSV_HEADER.len());
        assert_eq!(&rec[col("collective")], "all_reduce");
        assert_eq!(&rec[col("backend")], "mpi");
        assert_eq!(&rec[col("nranks")], "4");
        assert_eq!(
            rec[col("size_bytes")].parse::<u64>().unwrap(),
            row.size_bytes
        );
        assert_eq!(&rec[col("dtype")], "float");
        assert_eq!(&rec[col("redop")], "sum");
        assert_eq!(&rec[col("root")], "-1");
        assert_eq!(
            &rec[col("placement")],
            if in_place { "in_place" } else { "out_of_place" }
        );
        // Two decimals, as the text table prints them.
        assert_eq!(rec[col("time_us")], format!("{:.2}", m.time_us));
        assert_eq!(
            rec[col("busbw_gbps")],
            format!("{:.2}", m.bus_bandwidth_gbps)
        );
        assert_eq!(
            rec[col("time_us_max")],
            format!("{:.2}", m.ranks.time_us_max)
        );
        assert_eq!(&rec[col("slowest_host")], m.ranks.slowest_host.as_str());
        assert_eq!(&rec[col("slowest_device")], "", "host memory has no device");
        assert_eq!(&rec[col("iter_p99_us")], "", "no -I");
        assert_eq!(&rec[col("cycle")], "0");
    }
    assert_eq!(
        &records[3][col("wrong")],
        "",
        "unchecked is empty, the table's N/A"
    );
    assert_eq!(&records[5][col("wrong")], "4");
    assert_eq!(&records[5][col("ranks_with_wrong")], "1");
    assert_eq!(&records[0][col("slowest_host")], "rack 1, \"node\" a");
}

#[test]
fn per_iteration_columns_are_filled_with_dash_i() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iter.csv");
    let report = host_backend_report(&[64], true, 0);
    write_all(&report, &path);
    let (_, records) = read_records(&path);
    let stats = report.results[0]
        .out_of_place
        .as_ref()
        .unwrap()
        .per_iteration
        .as_ref()
        .unwrap();
    assert_eq!(
        records[0][col("iter_samples")].parse::<usize>().unwrap(),
        stats.samples
    );
    assert_eq!(
        records[0][col("iter_p50_us")],
        format!("{:.2}", stats.p50_us)
    );
    assert_eq!(
        records[0][col("iter_cv_percent")],
        format!("{:.2}", stats.cv_percent)
    );
}

#[test]
fn numbers_are_printed_as_the_text_table_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noise.csv");
    let mut report = host_backend_report(&[8], false, 2);
    let m = report.results[0].out_of_place.as_mut().unwrap();
    // Values whose shortest round-trip text is float noise.
    m.time_us = 0.6757500000000001;
    m.algbw_gbps = 0.1 + 0.2;
    m.bus_bandwidth_gbps = 1234.5678;
    m.ranks.time_us_avg = 2.0 / 3.0;
    let table_cells = [
        ("time_us", cfmt::column(m.time_us, 7)),
        ("algbw_gbps", cfmt::column(m.algbw_gbps, 6)),
        ("busbw_gbps", cfmt::column(m.bus_bandwidth_gbps, 7)),
    ];
    write_all(&report, &path);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("0000000"), "float noise in\n{text}");
    let (_, records) = read_records(&path);
    let first = &records[0];
    assert_eq!(&first[col("time_us")], "0.68");
    assert_eq!(&first[col("algbw_gbps")], "0.30");
    assert_eq!(&first[col("busbw_gbps")], "1234.57");
    assert_eq!(&first[col("time_us_avg")], "0.67");
    for (column, cell) in table_cells {
        assert_eq!(&first[col(column)], cell.trim(), "{column} as in the table");
    }
}

#[test]
fn file_appears_only_at_finish_and_rows_are_flushed_to_the_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.csv");
    std::fs::write(&path, "previous run\n").unwrap();
    let mut report = host_backend_report(&[8, 64], false, 0);
    let mut sink = CsvSink::new(&path);
    sink.begin(&report).unwrap();
    sink.row(&report, &report.results[0]).unwrap();

    let temp = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".live.csv.")
        })
        .expect("a hidden temporary file next to the target");
    assert_eq!(
        std::fs::read_to_string(&temp).unwrap().lines().count(),
        3,
        "header + 2 cells, flushed"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "previous run\n");

    // An interrupted run still finishes the file with the rows it has.
    report.complete = false;
    sink.finish(&report).unwrap();
    assert!(!temp.exists());
    let (_, records) = read_records(&path);
    assert_eq!(records.len(), 2);
}

#[test]
fn misuse_and_unwritable_paths_are_io_errors() {
    let report = host_backend_report(&[8], false, 0);
    let mut sink = CsvSink::new("/nonexistent-collbench-dir/run.csv");
    let err = sink.begin(&report).unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.to_string().contains("/nonexistent-collbench-dir/"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut early = CsvSink::new(dir.path().join("x.csv"));
    let err = early.row(&report, &report.results[0]).unwrap_err();
    assert!(err.to_string().contains("before the header"), "{err}");
    let err = early.finish(&report).unwrap_err();
    assert!(err.to_string().contains("before the header"), "{err}");
}

#[test]
fn accept_pairwise_refuses_it_as_it_refuses_j_and_markdown() {
    let args: Vec<String> = ["--pairwise", "--csv", "pairs.csv"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let Err(err) = collbench::accept::command::parse(&args, &|_| None) else {
        panic!("accept --pairwise --csv was accepted (its CSV would never be written)");
    };
    assert_eq!(err.exit_code(), 6);
    assert_eq!(
        err.to_string(),
        "usage error: --csv pairs.csv: --csv writes one line per measured cell of one sweep, which \
         --pairwise (rounds of pair runs) does not have; accepted: --collbench-json FILE for the \
         pairwise report"
    );
}
