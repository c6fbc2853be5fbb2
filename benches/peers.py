#!/usr/bin/env python3
"""collbench's MPI host backend against OSU Micro-Benchmarks and Intel MPI Benchmarks.

Runs collbench and each peer alternately, round after round, with the same iteration and warm-up
counts, one launch per (tool, collective, size), and prints per cell the median over rounds of the
per-round ratio collbench / peer with its min-max. collbench's number is the out-of-place time
column (-c 0); OSU's is its average latency; IMB's is t_avg. Every cell of a round is measured
before the next round starts, and the order of the three tools rotates from round to round, so slow
drift of the machine (other jobs, frequency) lands on every tool alike.

Every cell is marked by a one-sided exact Wilcoxon signed-rank test on the logarithms of its
per-round ratios (p < 0.05): ✓ when they lie below 1.05 (the goal shown met), ✗ when they lie above
it (shown missed), ~ when neither: inside the noise, whatever the median says. With --control every
round also runs collbench a second time, as a tool of its own ("collbench again"): collbench /
collbench again is what two identical tools give on this machine, cell by cell. Its ✓ cells show
where this machine and this many rounds can resolve 1.05 at all, its ✗ cells how often the test
calls noise a gap.

Usage:
  benches/peers.py --peers DIR [--ranks 2,4] [--rounds 5] [--control] [--out FILE]
  benches/peers.py --how-to-build

DIR holds OSU 7.4's osu_* binaries and IMB's IMB-MPI1 anywhere below it. Nothing third-party lives in
this repository: --how-to-build prints how to build both from their public sources. Rank counts
above the number of cores are reported apart, as oversubscribed (ranks share cores: the numbers
measure the scheduler as much as the library). See docs/benchmarks.md.
"""

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HOW_TO_BUILD = """\
Build the peers from their public sources outside this repository, with the same MPI as collbench
(mpicc from Open MPI here):

  mkdir -p ~/peers && cd ~/peers
  # OSU Micro-Benchmarks 7.4 (https://mvapich.cse.ohio-state.edu/benchmarks/)
  curl -LO https://mvapich.cse.ohio-state.edu/download/mvapich/osu-micro-benchmarks-7.4.tar.gz
  tar xf osu-micro-benchmarks-7.4.tar.gz && cd osu-micro-benchmarks-7.4
  ./configure CC=mpicc CXX=mpicxx && make -j && cd ..
  # Intel MPI Benchmarks (https://github.com/intel/mpi-benchmarks)
  git clone https://github.com/intel/mpi-benchmarks && cd mpi-benchmarks
  # Open MPI's C++ bindings trip IMB's -Werror: leave them out.
  make IMB-MPI1 CC=mpicc CXX=mpicxx CPPFLAGS=-DOMPI_SKIP_MPICXX && cd ..

then: benches/peers.py --peers ~/peers
(collbench itself: cargo build --release --features mpi --bins)
"""

# collective: (collbench binary, OSU binary, IMB benchmark, collbench bytes per peer byte)
# The peers' message size of allgather and alltoall is one rank's block; collbench's size, like
# nccl-tests', is the whole receive buffer: nranks blocks. Allreduce and broadcast count the same
# bytes everywhere; reduce_scatter (the block variant, which collbench's MPI backend calls) counts
# the whole send buffer in OSU and collbench, one rank's block in IMB (see imb_time).
COLLECTIVES = {
    "allreduce": ("allreduce-perf", "osu_allreduce", "Allreduce", "same"),
    "allgather": ("allgather-perf", "osu_allgather", "Allgather", "per-rank"),
    "alltoall": ("alltoall-perf", "osu_alltoall", "Alltoall", "per-rank"),
    "broadcast": ("broadcast-perf", "osu_bcast", "Bcast", "same"),
    "reduce_scatter": (
        "reducescatter-perf",
        "osu_reduce_scatter_block",
        "Reduce_scatter_block",
        "same",
    ),
}
SIZES = [8, 1 << 10, 64 << 10, 1 << 20, 16 << 20]


def parse_size(text):
    """Bytes from "8", "1K", "64K", "1M", "16M", "1G" (powers of 1024, as collbench's -b/-e)."""
    match = re.fullmatch(r"(\d+)([KMG]?)", text.strip(), re.IGNORECASE)
    if not match:
        raise ValueError(f"size '{text}' is not a whole number of bytes with an optional K, M or G")
    return int(match.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[match.group(2).upper()]


def label(size):
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} B"


def iterations(size):
    """(iterations, warm-up) for one launch: the same for every tool; about 0.1-0.5 s of traffic."""
    if size <= 1 << 10:
        return 2000, 200
    if size <= 64 << 10:
        return 500, 50
    if size <= 1 << 20:
        return 100, 10
    return 20, 5


# nccl-tests (and so collbench) round each rank's block of allgather, alltoall and reduce_scatter
# down to a multiple of 16 bytes: smaller cells would measure nothing.
MIN_BLOCK = 16


def peer_size(collective, size, nranks):
    """The peers' message size of a cell: at least one 16-byte block per rank where the operation
    splits the buffer across ranks."""
    if collective == "reduce_scatter":
        return max(size, MIN_BLOCK * nranks)
    if collective in ("allgather", "alltoall"):
        return max(size, MIN_BLOCK)
    return size


def collbench_size(collective, size, nranks):
    return size * nranks if COLLECTIVES[collective][3] == "per-rank" else size


def find_binaries(peers):
    wanted = {c[1] for c in COLLECTIVES.values()} | {"IMB-MPI1"}
    found = {}
    for directory, _, files in os.walk(peers):
        for name in files:
            path = Path(directory) / name
            if name in wanted and name not in found and os.access(path, os.X_OK):
                found[name] = path
    missing = sorted(wanted - found.keys())
    return found, missing


def mpirun_prefix(nranks, cores):
    cmd = ["mpirun", "-np", str(nranks)]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    if nranks > cores:
        cmd += ["--oversubscribe", "--bind-to", "none"]
    else:
        cmd += ["--bind-to", "core"]
    return cmd


def run(cmd, timeout):
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(
            f"exit {proc.returncode} after {time.monotonic() - started:.1f} s: {' '.join(cmd)}\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    return proc.stdout


def collbench_time(ctx, collective, size, nranks):
    iters, warmup = iterations(size)
    total = collbench_size(collective, peer_size(collective, size, nranks), nranks)
    binary = ctx.collbench / COLLECTIVES[collective][0]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "run.json"
        cmd = ctx.mpirun(nranks) + [
            str(binary),
            "--backend", "mpi",
            "-b", str(total), "-e", str(total),
            "-n", str(iters), "-w", str(warmup),
            "-c", "0", "-d", "float",
            "--collbench-json", str(report),
        ]  # fmt: skip
        run(cmd, ctx.timeout)
        rows = json.loads(report.read_text())["results"]
    if len(rows) != 1 or rows[0]["size_bytes"] != total:
        raise RuntimeError(f"collbench {collective} {total} B: unexpected rows {rows}")
    return rows[0]["out_of_place"]["time_us"]


def osu_time(ctx, collective, size, nranks):
    iters, warmup = iterations(size)
    size = peer_size(collective, size, nranks)
    binary = ctx.binaries[COLLECTIVES[collective][1]]
    cmd = ctx.mpirun(nranks) + [
        str(binary), "-m", f"{size}:{size}", "-i", str(iters), "-x", str(warmup),
        "-T", "mpi_float",
    ]  # fmt: skip
    for line in run(cmd, ctx.timeout).splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == str(size):
            return float(fields[1])
    raise RuntimeError(f"no {size} B row in OSU's output: {' '.join(cmd)}")


def imb_time(ctx, collective, size, nranks):
    iters, _ = iterations(size)
    size = peer_size(collective, size, nranks)
    if collective == "reduce_scatter":
        # IMB's Reduce_scatter_block size is one rank's block (its recvcount); OSU's and
        # collbench's is the whole send buffer.
        size //= nranks
    cmd = ctx.mpirun(nranks) + [
        str(ctx.binaries["IMB-MPI1"]), COLLECTIVES[collective][2],
        "-npmin", str(nranks), "-iter", str(iters), "-iter_policy", "off",
        # IMB stops at 4 MiB unless -msglog raises its largest size.
        "-msglog", f"3:{max(size.bit_length(), 4)}", "-msgsize", str(size),
        "-zero_size", "off", "-mem", "4",
        # IMB gives up on a sample after 10 s; a loaded machine can need more.
        "-time", "600",
        "-data_type", "float", "-red_data_type", "float",
    ]  # fmt: skip
    # Rows: #bytes #repetitions t_min[usec] t_max[usec] t_avg[usec] ...
    for line in run(cmd, ctx.timeout).splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0] == str(size) and fields[1] == str(iters):
            return float(fields[4])
    raise RuntimeError(f"no {size} B row with {iters} repetitions in IMB's output: {' '.join(cmd)}")


TOOLS = {"collbench": collbench_time, "OSU": osu_time, "IMB": imb_time}
# The control: the same collbench command again, at its own place in the rotation.
CONTROL = "collbench again"
GOAL = 1.05
NOISE_P = 0.05


class Context:
    def __init__(self, args, binaries):
        self.collbench = Path(args.collbench)
        self.binaries = binaries
        self.cores = os.cpu_count() or 1
        self.timeout = args.timeout

    def mpirun(self, nranks):
        return mpirun_prefix(nranks, self.cores)


def measure(ctx, nranks, rounds, collectives, sizes, log, control):
    """times[(collective, size)][tool] = [µs per round]"""
    tools = list(TOOLS) + ([CONTROL] if control else [])
    times = {(c, s): {t: [] for t in tools} for c in collectives for s in sizes}
    for r in range(rounds):
        order = tools[r % len(tools):] + tools[: r % len(tools)]
        started = time.monotonic()
        for collective in collectives:
            for size in sizes:
                for tool in order:
                    try:
                        value = TOOLS.get(tool, collbench_time)(ctx, collective, size, nranks)
                    except (RuntimeError, subprocess.TimeoutExpired) as error:
                        # One failed launch costs its cell this round, not the whole run.
                        log(f"  {tool} {collective} {label(size)} failed: {error}")
                        value = None
                    times[(collective, size)][tool].append(value)
        log(f"  {nranks} ranks, round {r + 1}/{rounds} ({' → '.join(order)}): "
            f"{time.monotonic() - started:.0f} s")
    return times


def load_average():
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def ratios(ours, theirs):
    """Per-round ratios, over rounds where both launches worked."""
    return [a / b for a, b in zip(ours, theirs) if a is not None and b]


def signed_rank_p(values, above):
    """Exact one-sided p-value of the Wilcoxon signed-rank test that the values' log lies above
    log(`above`) (ranks of tied distances averaged; values equal to `above` dropped)."""
    diffs = [math.log(v / above) for v in values if v != above]
    if not diffs:
        return 1.0
    order = sorted(range(len(diffs)), key=lambda i: abs(diffs[i]))
    doubled = [0] * len(diffs)  # twice each rank, so averaged ties stay whole numbers
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and abs(diffs[order[j + 1]]) == abs(diffs[order[i]]):
            j += 1
        for k in range(i, j + 1):
            doubled[order[k]] = i + j + 2
        i = j + 1
    observed = sum(r for r, d in zip(doubled, diffs) if d > 0)
    # Under the null each rank's sign is a fair coin: count the sign patterns per doubled sum.
    ways = {0: 1}
    for r in doubled:
        nxt = dict(ways)
        for total, count in ways.items():
            nxt[total + r] = nxt.get(total + r, 0) + count
        ways = nxt
    return sum(c for total, c in ways.items() if total >= observed) / 2 ** len(diffs)


def median_time(values):
    values = [v for v in values if v is not None]
    return f"{statistics.median(values):.2f}" if values else "failed"


def noise_mark(values):
    """ "✓" when the per-round ratios lie below 1.05 beyond their round-to-round noise, "✗" when they
    lie above it, "~" when the rounds cannot tell."""
    if signed_rank_p([1 / v for v in values], 1 / GOAL) < NOISE_P:
        return "✓"
    if signed_rank_p(values, GOAL) < NOISE_P:
        return "✗"
    return "~"


def ratio_table(times, collectives, sizes, other, header, rule):
    """Rows of collbench / `other`, each cell marked by `noise_mark`, and the count of each mark."""
    lines, counts = [], {"✓": 0, "✗": 0, "~": 0}
    for c in collectives:
        cells = []
        for s in sizes:
            t = times[(c, s)]
            values = ratios(t["collbench"], t[other])
            if not values:
                cells.append("failed")
                continue
            mark = noise_mark(values)
            counts[mark] += 1
            median = statistics.median(values)
            cells.append(f"{median:.2f} ({min(values):.2f}–{max(values):.2f}) {mark}")
        lines.append(f"| {c} vs {other} | " + " | ".join(cells) + " |")
    return [header, rule] + lines, counts


def count_words(counts):
    return (f"{counts['✓']} shown at or under {GOAL} (✓), {counts['✗']} shown above it (✗), "
            f"{counts['~']} inside the noise (~)")


def report(times, nranks, cores, collectives, sizes, rounds, control):
    lines = []
    over = nranks > cores
    title = f"{nranks} ranks on {cores} cores" + (" — OVERSUBSCRIBED" if over else "")
    lines.append(f"## {title}, {rounds} rounds")
    header = "| collective | " + " | ".join(label(s) for s in sizes) + " |"
    rule = "|---|" + "---|" * len(sizes)
    cells = len(collectives) * len(sizes)
    summary = []
    legend = (f"≤ {GOAL} is the goal; one-sided Wilcoxon signed-rank tests on the per-round "
              f"ratios (exact, p < {NOISE_P}): ✓ they lie below {GOAL}, ✗ they lie above it, "
              "~ inside the noise (neither)")
    if control:
        table, counts = ratio_table(times, collectives, sizes, CONTROL, header, rule)
        lines += ["", "the control, collbench / collbench again (the same command twice per round: "
                  f"what two identical tools give here; its ✓ cells are those this machine can "
                  f"resolve with {rounds} rounds); {legend}", "", *table]
        summary.append(f"control: {count_words(counts)}")
    for peer in ("OSU", "IMB"):
        table, counts = ratio_table(times, collectives, sizes, peer, header, rule)
        lines += ["", f"collbench / {peer}: median per-round ratio (min–max); {legend}", "", *table]
        summary.append(f"vs {peer}: {count_words(counts)}")
    if 2.0 ** -rounds >= NOISE_P:
        summary.append(f"with {rounds} rounds no cell can be ✓ or ✗ (the smallest p-value is "
                       f"2^-{rounds}): take 5 rounds or more")
    lines[1:1] = ["", f"summary, of {cells} cells per table: " + "; ".join(summary)]
    raised = [f"{c} {label(s)} → {label(peer_size(c, s, nranks))}" for c in collectives for s in sizes
              if peer_size(c, s, nranks) != s]
    if raised:
        lines += ["", "cells measured at a larger size (16 B blocks per rank): " + ", ".join(raised)]
    tools = list(TOOLS) + ([CONTROL] if control else [])
    lines += ["", f"median time per operation, µs ({' / '.join(tools)})", "", header, rule]
    for c in collectives:
        row = []
        for s in sizes:
            t = times[(c, s)]
            row.append(" / ".join(median_time(t[k]) for k in tools))
        lines.append(f"| {c} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def self_test():
    """Checks of the noise test and the marks against values worked out by hand."""
    checks = [
        # Seven ratios above 1.05: only the all-positive sign pattern reaches W+ = 28.
        (signed_rank_p([1.2] * 7, GOAL), 1 / 128),
        # Negative rank 4 of 7: W+ = 24; sign patterns with a negative sum <= 4 number 7.
        (signed_rank_p([1.2, 1.1, 1.3, 1.06, 1.07, 1.2, 1.0], GOAL), 7 / 128),
        (signed_rank_p([0.9] * 7, GOAL), 1.0),
        (signed_rank_p([1.2] * 5, GOAL), 1 / 32),
        (signed_rank_p([1.2] * 4, GOAL), 1 / 16),
        # Below the goal, tested as its reciprocal: seven ratios under 1.05 are 1/128 too.
        (signed_rank_p([1 / 0.9] * 7, 1 / GOAL), 1 / 128),
    ]
    for got, want in checks:
        assert math.isclose(got, want), f"signed_rank_p gave {got}, expected {want}"
    osu = [1.0] * 7
    cells = {
        # Every ratio above 1.05.
        "allreduce": [1.2, 1.25, 1.3, 1.22, 1.21, 1.4, 1.19],
        # Median 1.1, both sides of 1.05.
        "broadcast": [0.8, 1.3, 0.9, 1.4, 1.1, 1.2, 0.7],
        # Every ratio below 1.05: the mirror of the first, p = 1/128.
        "alltoall": [1.0, 1.02, 0.98, 1.04, 1.01, 0.99, 1.03],
        # Median 1.0, under the goal, but the rounds straddle it: not shown.
        "allgather": [0.9, 1.2, 1.0, 1.1, 0.8, 1.3, 0.95],
    }
    times = {(c, 8): {"collbench": ours, "OSU": osu} for c, ours in cells.items()}
    rows, counts = ratio_table(times, list(cells), [8], "OSU", "", "")
    assert counts == {"✓": 1, "✗": 1, "~": 2}, counts
    marks = [row.rstrip(" |").split()[-1] for row in rows[2:]]
    assert marks == ["✗", "~", "✓", "~"], marks
    print(f"benches/peers.py: self-test passed ({len(checks) + 2} checks)")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", help="directory holding the OSU and IMB binaries")
    parser.add_argument("--how-to-build", action="store_true", help="print how to build the peers")
    parser.add_argument("--collbench", default=str(ROOT / "target" / "release"),
                        help="directory of collbench's binaries (default: target/release)")
    parser.add_argument("--ranks", default="2,4", help="rank counts, comma-separated (default 2,4)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--collectives", default=",".join(COLLECTIVES),
                        help=f"comma-separated subset of {','.join(COLLECTIVES)}")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="message sizes, comma-separated, in bytes or with K, M, G (default 8,1K,64K,1M,16M)")
    parser.add_argument("--control", action="store_true",
                        help="also run collbench a second time per round: the noise floor of every "
                             "cell, and which cells above 1.05 are inside it")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per launch")
    parser.add_argument("--out", help="also write the report to this file")
    parser.add_argument("--self-test", action="store_true",
                        help="check the noise test against values worked out by hand, and exit")
    args = parser.parse_args()

    if args.self_test:
        return self_test()
    if args.how_to_build:
        print(HOW_TO_BUILD, end="")
        return 0
    if not args.peers:
        print("benches/peers.py: --peers DIR is required (DIR: where OSU and IMB were built)\n",
              file=sys.stderr)
        print(HOW_TO_BUILD, end="", file=sys.stderr)
        return 2
    binaries, missing = find_binaries(args.peers)
    if missing:
        print(f"benches/peers.py: not found under {args.peers}: {', '.join(missing)}\n",
              file=sys.stderr)
        print(HOW_TO_BUILD, end="", file=sys.stderr)
        return 2
    collectives = [c for c in args.collectives.split(",") if c]
    unknown = [c for c in collectives if c not in COLLECTIVES]
    if unknown:
        print(f"benches/peers.py: unknown collective(s) {unknown}; known: {list(COLLECTIVES)}",
              file=sys.stderr)
        return 2
    try:
        sizes = [parse_size(s) for s in args.sizes.split(",") if s]
        ranks = [int(r) for r in args.ranks.split(",") if r]
    except ValueError as error:
        print(f"benches/peers.py: --sizes takes sizes such as 8,1K,64K,1M and --ranks whole "
              f"numbers: {error}", file=sys.stderr)
        return 2
    for name in [COLLECTIVES[c][0] for c in collectives]:
        if not (Path(args.collbench) / name).exists():
            print(f"benches/peers.py: {Path(args.collbench) / name} is missing; build it with "
                  "cargo build --release --features mpi --bins", file=sys.stderr)
            return 2
    if shutil.which("mpirun") is None:
        print("benches/peers.py: mpirun is not on PATH", file=sys.stderr)
        return 2

    ctx = Context(args, binaries)
    def log(message):
        print(message, file=sys.stderr, flush=True)

    mpi = subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout
    sections = [
        "# collbench vs OSU Micro-Benchmarks and Intel MPI Benchmarks (benches/peers.py)",
        "",
        f"{mpi.splitlines()[0] if mpi else 'mpirun'}; {ctx.cores} cores; collbench out-of-place "
        "time (-c 0), OSU average latency, IMB t_avg; float; equal iterations and warm-up "
        f"(≤1 KiB 2000/200, 64 KiB 500/50, 1 MiB 100/10, 16 MiB 20/5); tool order rotates per round.",
    ]
    for nranks in ranks:
        log(f"measuring {nranks} ranks")
        before = load_average()
        times = measure(ctx, nranks, args.rounds, collectives, sizes, log, args.control)
        sections += ["", report(times, nranks, ctx.cores, collectives, sizes, args.rounds, args.control),
                     "", f"load average before: {before}; after: {load_average()} (other jobs on "
                     "the machine show here; a load above the core count makes every cell noise)"]
    text = "\n".join(sections) + "\n"
    print(text, end="")
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
