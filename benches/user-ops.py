#!/usr/bin/env python3
"""What the host backend's own arithmetic costs a reduction: MPI has no half, bfloat16 or fp8 type
(and collbench gives 8-bit integers its own operators too), so for those types MPI calls
collbench's user-defined operator on every block it reduces; mulsum multiplies each rank's input
first and avg divides the sum after, in every type. This times a 2-rank all_reduce at one size for
each such type beside float (whose sum is MPI's built-in MPI_SUM), with sum, mulsum and avg, and
prints each time per operation and its ratio to float's with the same operator (the goal: near 1;
half and bfloat16 move half float's bytes per element, fp8 and int8 a quarter).

Usage:
  benches/user-ops.py [--rounds 5] [--size 16M] [--ops sum,mulsum,avg] [--baseline DIR] [--out FILE]

Rounds alternate the cells (and, with --baseline, another build's binaries, e.g. of main, in the
same rounds, so the same load hits both); each cell is the median over rounds. Out of place, -c 1
(every run must pass validation), -n 10 -w 2. Needs: cargo build --release --features mpi --bins
and mpirun. See docs/benchmarks.md.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TYPES = ["float", "half", "bfloat16", "f8e4m3", "f8e5m2", "int8", "uint8"]


def mpirun():
    cmd = ["mpirun", "-np", "2", "--bind-to", "core"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    return cmd


def time_us(binary, dtype, op, size, timeout):
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "run.json"
        cmd = mpirun() + [
            str(binary), "--backend", "mpi",
            "-b", size, "-e", size, "-n", "10", "-w", "2",
            "-c", "1", "-d", dtype, "-o", op,
            "--collbench-json", str(report),
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"user-ops.py: exit {proc.returncode}: {' '.join(cmd)}\n"
                             f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        rows = json.loads(report.read_text())["results"]
    row = rows[0]["out_of_place"]
    if row.get("wrong") != 0:
        raise SystemExit(f"user-ops.py: {dtype} {op} was not validated clean (-c 1): {row}")
    return row["time_us"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", default="16M", help="message size, as allreduce-perf's -b")
    parser.add_argument("--ops", default="sum,mulsum,avg", help="operators, comma-separated")
    parser.add_argument("--baseline", help="another build's binary directory")
    parser.add_argument("--collbench", default=str(ROOT / "target" / "release"))
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--out", help="also write the report to this file")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    builds = {"this build": Path(args.collbench) / "allreduce-perf"}
    if args.baseline:
        builds["baseline"] = Path(args.baseline) / "allreduce-perf"
    for name, binary in builds.items():
        if not os.access(binary, os.X_OK):
            sys.exit(f"user-ops.py: {name}: {binary} is missing; "
                     "build it: cargo build --release --features mpi --bins")
    ops = args.ops.split(",")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    times = {(b, t, o): [] for b in builds for t in TYPES for o in ops}
    for r in range(args.rounds):
        order = list(builds)[r % len(builds):] + list(builds)[:r % len(builds)]
        for op in ops:
            for dtype in TYPES:
                for build in order:
                    times[(build, dtype, op)].append(
                        time_us(builds[build], dtype, op, args.size, args.timeout))
        print(f"  round {r + 1}/{args.rounds} done", file=sys.stderr)
    lines = [
        f"# benches/user-ops.py: all_reduce, {args.size}, mpirun -np 2, -n 10 -w 2 -c 1, "
        f"{args.rounds} rounds, medians; load before: {load}",
    ]
    for build in builds:
        lines += ["", f"{build}: time per operation, us (ratio to float with the same operator)",
                  "type      " + "".join(f"{op:>22}" for op in ops)]
        for dtype in TYPES:
            cells = ""
            for op in ops:
                t = statistics.median(times[(build, dtype, op)])
                f = statistics.median(times[(build, "float", op)])
                cells += f"{t:14.1f} ({t / f:4.2f})"
            lines.append(f"{dtype:<10}{cells}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "a") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
