#!/usr/bin/env bash
# Precision per unit of time: how much the reported time of all_reduce moves from run to run
# (coefficient of variation over RUNS runs of `mpirun -np 2`, host backend, release build) at
# 8 B, 64 KiB and 16 MiB, for
#   (a) nccl-tests' fixed -n 20;
#   (b) the adaptive mode (--precision, batches of -n $B_ITERS) given the same time: its
#       --time-budget (and --max-time-per-size) is what (a) spends in its timed loops, 2 x 20 x
#       (a)'s time per operation (median of 3 pilot runs); start-up, warm-up and validation are the
#       same for both. The adaptive mode still runs 2 batches per measurement when that is more;
#       each mode's mean wall time per run is printed to check "the same time";
#   (c) the same with half of (b)'s budget.
# The runs alternate (a), (b), (c) round by round, so that load on a shared machine hits all three.
# Goal: (b)'s CV <= half of (a)'s at every size, or (c) (half the time) reaches (a)'s CV.
# The table prints both, with each mode's mean wall time, so the "same time" is checked too.
# Usage: benches/precision.sh [RUNS] (default 10); B_ITERS (default 2), PRECISION (default 0.1%).
# Needs: cargo build --release --features mpi --bins. See docs/benchmarks.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${COLLBENCH_BIN_DIR:-$root/target/release}/allreduce-perf"
runs="${1:-10}"
b_iters="${B_ITERS:-2}"
precision="${PRECISION:-0.1%}"
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]] || [ "$runs" -lt 2 ]; then
    echo "precision.sh: RUNS must be a whole number >= 2 (a CV needs two runs), got '$runs'" >&2
    exit 2
fi
[[ "$b_iters" =~ ^[1-9][0-9]*$ ]] || {
    echo "precision.sh: B_ITERS must be a positive whole number, got '$b_iters'" >&2
    exit 2
}
[ -x "$bin" ] || {
    echo "precision.sh: $bin is missing; build it: cargo build --release --features mpi --bins" >&2
    exit 2
}
mpirun_args=(-np 2)
[ "$(id -u)" = 0 ] && mpirun_args+=(--allow-run-as-root)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One run: prints "WALL_SECONDS TIME_US" (the out-of-place time of the only row).
run_once() {
    local started ended out
    started=$(date +%s.%N)
    out=$(mpirun "${mpirun_args[@]}" "$bin" "$@" --collbench-json "$work/run.json" 2>&1) || {
        echo "precision.sh: failed: $bin $*" >&2
        echo "$out" >&2
        exit 1
    }
    ended=$(date +%s.%N)
    python3 - "$work/run.json" "$started" "$ended" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
print(float(sys.argv[3]) - float(sys.argv[2]), report["results"][0]["out_of_place"]["time_us"])
EOF
}

# "MEAN_WALL CV_PERCENT MEAN_TIME_US" of "WALL TIME_US" lines on stdin.
summarize() {
    python3 -c '
import statistics, sys
rows = [tuple(map(float, line.split())) for line in sys.stdin]
walls, times = [r[0] for r in rows], [r[1] for r in rows]
mean = statistics.mean(times)
print(statistics.mean(walls), statistics.stdev(times) / mean * 100, mean)'
}

# The median reported time (µs) of 3 runs.
median_time_us() {
    local i
    for ((i = 0; i < 3; i++)); do run_once "$@"; done | python3 -c '
import statistics, sys
print(statistics.median(float(line.split()[1]) for line in sys.stdin))'
}

echo "# benches/precision.sh: all_reduce, mpirun -np 2 (host backend), $runs runs per mode; $(date -u +%FT%TZ), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# (a) fixed -n 20   (b) --precision $precision, batches of -n $b_iters, budget = (a)'s time in its timed loops   (c) as (b), half the budget"
printf '%-9s %9s %8s %7s | %8s %8s %7s | %8s %7s | %7s %-5s | %7s %-5s\n' \
    size a_wall_s a_cv% a_us budget_s b_wall_s b_cv% c_wall_s c_cv% b/a "b<=a/2" c/a "c<=a"
all_b=yes
all_c=yes
for size in 8 64K 16M; do
    flags=(-b "$size" -e "$size")
    # The time (a) spends in its timed loops (-n 20, out of place and in place) from 3 pilot
    # runs: what (b) may spend on its batches. Start-up, warm-up and validation are the same for
    # both and are not part of it.
    a_pilot_us=$(median_time_us "${flags[@]}" -n 20)
    budget=$(python3 -c "print(f'{2 * 20 * $a_pilot_us / 1e6:.6f}')")
    half=$(python3 -c "print(f'{$budget / 2:.6f}')")
    adaptive=(-n "$b_iters" --precision "$precision")
    # Rounds of (a), (b), (c) in turn, so that a busy minute of a shared machine hits all three.
    : >"$work/a" && : >"$work/b" && : >"$work/c"
    for ((round = 0; round < runs; round++)); do
        run_once "${flags[@]}" -n 20 >>"$work/a"
        run_once "${flags[@]}" "${adaptive[@]}" --max-time-per-size "${budget}s" --time-budget "${budget}s" >>"$work/b"
        run_once "${flags[@]}" "${adaptive[@]}" --max-time-per-size "${half}s" --time-budget "${half}s" >>"$work/c"
    done
    read -r a_wall a_cv a_us <<<"$(summarize <"$work/a")"
    read -r b_wall b_cv _ <<<"$(summarize <"$work/b")"
    read -r c_wall c_cv _ <<<"$(summarize <"$work/c")"
    verdict=$(python3 -c "
b, c = $b_cv / $a_cv, $c_cv / $a_cv
print(f'{b:7.2f} {\"yes\" if b <= 0.5 else \"no\":5} {c:7.2f} {\"yes\" if c <= 1 else \"no\":5}')")
    read -r b_ratio b_ok c_ratio c_ok <<<"$verdict"
    [ "$b_ok" = yes ] || all_b=no
    [ "$c_ok" = yes ] || all_c=no
    printf '%-9s %9.3f %8.2f %7.2f | %8.6f %8.3f %7.2f | %8.3f %7.2f | %7s %-5s | %7s %-5s\n' \
        "$size" "$a_wall" "$a_cv" "$a_us" "$budget" "$b_wall" "$b_cv" "$c_wall" "$c_cv" \
        "$b_ratio" "$b_ok" "$c_ratio" "$c_ok"
done
if [ "$all_b" = yes ] || [ "$all_c" = yes ]; then
    echo "# goal held: (b)'s CV <= half of (a)'s at every size: $all_b; (c) reaches (a)'s CV in half the time at every size: $all_c"
else
    echo "# goal NOT held: (b)'s CV <= half of (a)'s at every size: $all_b; (c) reaches (a)'s CV in half the time at every size: $all_c"
fi
