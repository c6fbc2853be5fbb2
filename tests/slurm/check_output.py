#!/usr/bin/env python3
"""Checks a collbench run's outputs the way cluster health-check scripts read nccl-tests output.

Text (nccl-tests 2.19.6 layout): one table (only rank 0 prints), rows of whitespace-separated
columns whose first column is the size, the `#wrong` columns (out-of-place and in-place) are
integers, and the footers `# Out of bounds values : N OK|FAILED`, `# Avg bus bandwidth    : X`,
`# Collective test concluded: NAME` appear exactly once.

JSON (--collbench-json, docs/report.schema.json): valid JSON, validated against the schema when the schema file
and python3-jsonschema are there, and consistent with the text (rows, nranks, wrong counts).

Exit 0 when every check holds, 1 with one line per failed check otherwise.
"""
import argparse
import csv
import json
import os
import re
import sys

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def table_rows(text):
    """Data rows: non-comment lines whose first column is an integer size."""
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        columns = line.split()
        if columns[0].isdigit():
            rows.append(columns)
    return rows


def footer(text, pattern):
    return re.findall(pattern, text, flags=re.MULTILINE)


def check_text(path, args):
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    # Health-check scripts grep these files: one control byte (a NUL from a C string) and grep
    # answers "binary file matches" instead of the footer line.
    control = sorted({f"0x{ord(c):02x}" for c in text if ord(c) < 32 and c not in "\n\t"})
    check(not control, f"{path}: control characters {control} in the text (grep would treat it as binary)")
    rows = table_rows(text)
    check(len(rows) == args.rows, f"{path}: {len(rows)} table rows, expected {args.rows}")
    sizes = [int(row[0]) for row in rows]
    check(sizes == sorted(sizes), f"{path}: sizes not ascending: {sizes}")
    if args.min_bytes is not None and sizes:
        check(sizes[0] == args.min_bytes, f"{path}: first size {sizes[0]}, expected {args.min_bytes}")
    if args.max_bytes is not None and sizes:
        check(sizes[-1] == args.max_bytes, f"{path}: last size {sizes[-1]}, expected {args.max_bytes}")
    # Reductions have 13 columns: size count type redop root, then time algbw busbw #wrong twice.
    total_wrong = 0
    for row in rows:
        if not check(len(row) == 13, f"{path}: row has {len(row)} columns, expected 13: {' '.join(row)}"):
            continue
        for column in (8, 12):
            value = row[column]
            if check(value.isdigit(), f"{path}: #wrong '{value}' is not a count in row {' '.join(row)}"):
                total_wrong += int(value)
    out_of_bounds = footer(text, r"^# Out of bounds values : (\d+) (OK|FAILED)\s*$")
    check(len(out_of_bounds) == 1, f"{path}: {len(out_of_bounds)} 'Out of bounds values' footers, expected 1")
    check(
        len(footer(text, r"^# Avg bus bandwidth    : \S+")) == 1,
        f"{path}: 'Avg bus bandwidth' footer missing or repeated",
    )
    concluded = footer(text, r"^# Collective test concluded: (\S+)")
    check(
        len(concluded) == 1 and concluded[0].startswith(args.collective),
        f"{path}: 'Collective test concluded' footers {concluded}, expected one naming {args.collective}",
    )
    if out_of_bounds:
        count, verdict = int(out_of_bounds[0][0]), out_of_bounds[0][1]
        check(count == total_wrong, f"{path}: footer counts {count} wrong, rows sum to {total_wrong}")
        if args.expect_wrong:
            check(count > 0 and verdict == "FAILED", f"{path}: expected wrong results and FAILED, got {count} {verdict}")
        else:
            check(count == 0 and verdict == "OK", f"{path}: expected 0 OK, got {count} {verdict}")
    if args.nranks is not None:
        rank_lines = footer(text, r"^#\s+Rank\s+\d+ ")
        check(len(rank_lines) == args.nranks, f"{path}: {len(rank_lines)} '# Rank' lines, expected {args.nranks}")


def check_json(path, args):
    try:
        with open(path, encoding="utf-8") as handle:
            report = json.load(handle)
    except (OSError, ValueError) as error:
        check(False, f"{path}: not readable JSON: {error}")
        return
    schema_path = os.path.join(args.repo, "docs", "report.schema.json")
    if os.path.exists(schema_path):
        try:
            import jsonschema
        except ImportError:
            check(False, "python3-jsonschema missing (scripts/install-deps.sh installs it)")
        else:
            with open(schema_path, encoding="utf-8") as handle:
                schema = json.load(handle)
            errors = list(jsonschema.Draft202012Validator(schema).iter_errors(report))
            check(not errors, f"{path}: schema errors: {[error.message for error in errors[:3]]}")
    results = report.get("results", [])
    check(len(results) == args.rows, f"{path}: {len(results)} results, expected {args.rows}")
    if args.nranks is not None:
        check(report.get("nranks") == args.nranks, f"{path}: nranks {report.get('nranks')}, expected {args.nranks}")
    summary = report.get("summary", {})
    if args.expect_wrong:
        check(summary.get("passed") is False, f"{path}: summary.passed {summary.get('passed')}, expected false")
        check(summary.get("first_wrong") is not None, f"{path}: no first_wrong for a corrupted run")
    else:
        check(summary.get("passed") is True, f"{path}: summary.passed {summary.get('passed')}, expected true")
        check(summary.get("out_of_bounds") == 0, f"{path}: out_of_bounds {summary.get('out_of_bounds')}")
    if args.job_id:
        slurm = report.get("slurm") or {}
        check(str(slurm.get("job_id")) == args.job_id, f"{path}: slurm.job_id {slurm.get('job_id')}, expected {args.job_id}")
    for name, value in args.env:
        got = (report.get("environment") or {}).get(name)
        check(got == value, f"{path}: environment {name}={got!r}, expected {value!r}")
    for name in args.no_env:
        got = (report.get("environment") or {}).get(name)
        check(got is None, f"{path}: environment {name}={got!r}, expected it unset")


def check_csv(path, args):
    """--csv: a header naming the columns, one line per (size, placement), wrong counts as in the table."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            lines = list(csv.DictReader(handle))
    except (OSError, csv.Error) as error:
        check(False, f"{path}: not readable CSV: {error}")
        return
    if not check(lines, f"{path}: no data lines"):
        return
    for column in ("size_bytes", "placement", "wrong"):
        if not check(column in lines[0], f"{path}: no '{column}' column in the header {list(lines[0])}"):
            return
    check(len(lines) == 2 * args.rows, f"{path}: {len(lines)} lines, expected {2 * args.rows} (out-of-place + in-place per size)")
    wrong = [int(line["wrong"]) for line in lines if line["wrong"].isdigit()]
    check(len(wrong) == len(lines), f"{path}: some 'wrong' cells are not counts")
    if args.expect_wrong:
        check(sum(wrong) > 0, f"{path}: no wrong elements in a corrupted run")
    else:
        check(sum(wrong) == 0, f"{path}: {sum(wrong)} wrong elements")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--text", help="text output (stdout of the run)")
    parser.add_argument("--json", help="--collbench-json output")
    parser.add_argument("--csv", help="--csv output")
    parser.add_argument("--rows", type=int, required=True, help="expected table rows")
    parser.add_argument("--min-bytes", type=int)
    parser.add_argument("--max-bytes", type=int)
    parser.add_argument("--nranks", type=int)
    parser.add_argument("--collective", default="all_reduce")
    parser.add_argument("--expect-wrong", action="store_true", help="a planted corruption: expect FAILED")
    parser.add_argument("--job-id", help="expected Slurm job id in the JSON")
    parser.add_argument("--env", action="append", default=[], type=lambda s: tuple(s.split("=", 1)),
                        help="NAME=VALUE expected in the JSON's environment (repeatable)")
    parser.add_argument("--no-env", action="append", default=[],
                        help="NAME expected absent from the JSON's environment (repeatable)")
    parser.add_argument("--repo", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    args = parser.parse_args()
    if not (args.text or args.json or args.csv):
        parser.error("give --text, --json and/or --csv")
    if args.text:
        check_text(args.text, args)
    if args.json:
        check_json(args.json, args)
    if args.csv:
        check_csv(args.csv, args)
    for failure in failures:
        print(f"check_output: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
