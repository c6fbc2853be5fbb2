#!/usr/bin/env bash
# What validation costs a run: wall time of the same all_reduce run with -c 1 against -c 0,
# alternating the two over rounds, median of the per-round ratios (min-max beside it).
#   1. one process (no launcher), 64 MiB:       allreduce-perf -b 64M -e 64M
#   2. two MPI ranks, the sweep 8 B -> 64 MiB:   mpirun -np 2 allreduce-perf -b 8 -e 64M -f 2
# Goal: both ratios at most 1.25. Usage: benches/validation-cost.sh [ROUNDS] (default 5).
# With COLLBENCH_BASELINE_BIN_DIR (another build's bin directory, e.g. of main) each round also runs
# that build, its four runs interleaved with this one's, so the same load hits both; one line each.
# Needs: cargo build --release --features mpi --bins. See docs/benchmarks.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${COLLBENCH_BIN_DIR:-$root/target/release}/allreduce-perf"
rounds="${1:-5}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || {
    echo "validation-cost.sh: ROUNDS must be a positive whole number, got '$rounds'" >&2
    exit 2
}
builds=("$bin")
labels=("")
if [ -n "${COLLBENCH_BASELINE_BIN_DIR:-}" ]; then
    builds+=("$COLLBENCH_BASELINE_BIN_DIR/allreduce-perf")
    labels=(" [this build]" " [baseline]")
fi
for b in "${builds[@]}"; do
    [ -x "$b" ] || {
        echo "validation-cost.sh: $b is missing; build it: cargo build --release --features mpi --bins" >&2
        exit 2
    }
done
mpirun_args=(-np 2 --bind-to core)
[ "$(id -u)" = 0 ] && mpirun_args+=(--allow-run-as-root)

# Seconds one run takes, start to exit; its output must end with a passing verdict.
wall() {
    local started ended out
    started=$(date +%s.%N)
    out=$("$@" 2>&1) || {
        echo "validation-cost.sh: failed: $*" >&2
        echo "$out" >&2
        exit 1
    }
    ended=$(date +%s.%N)
    grep -q '# Out of bounds values : 0 OK' <<<"$out" || {
        echo "validation-cost.sh: no passing footer from: $*" >&2
        echo "$out" >&2
        exit 1
    }
    awk -v a="$ended" -v b="$started" 'BEGIN { printf "%.6f\n", a - b }'
}

# compare NAME COMMAND...: rounds of (-c 0, -c 1) for each build, order alternating; the word BIN
# in COMMAND stands for the build's allreduce-perf. Prints one summary line per build.
compare() {
    local name="$1"
    shift
    local -a ratios=() cmd
    local plain checked r k b word
    for ((r = 0; r < rounds; r++)); do
        for ((k = 0; k < ${#builds[@]}; k++)); do
            b=$(((k + r) % ${#builds[@]}))
            cmd=()
            for word in "$@"; do
                [ "$word" = BIN ] && word=${builds[b]}
                cmd+=("$word")
            done
            if ((r % 2 == 0)); then
                plain=$(wall "${cmd[@]}" -c 0)
                checked=$(wall "${cmd[@]}" -c 1)
            else
                checked=$(wall "${cmd[@]}" -c 1)
                plain=$(wall "${cmd[@]}" -c 0)
            fi
            ratios[b]+="$(awk -v a="$checked" -v b="$plain" 'BEGIN { printf "%.6f", a / b }') "
            printf '  %-34s round %d: -c 0 %.3f s, -c 1 %.3f s%s\n' "$name" $((r + 1)) "$plain" "$checked" "${labels[b]}" >&2
        done
    done
    for ((b = 0; b < ${#builds[@]}; b++)); do
        tr ' ' '\n' <<<"${ratios[b]}" | grep . | sort -g | awk -v name="$name${labels[b]}" '
            { v[NR] = $1 }
            END {
                median = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                printf "%-46s median %.3f (min %.3f, max %.3f) over %d rounds%s\n", name, median, v[1], v[NR], NR, (median <= 1.25 ? "" : "  > 1.25")
            }'
    done
}

echo "# wall time -c 1 / -c 0 of allreduce-perf (goal <= 1.25); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
compare "1 process, 64 MiB" BIN -b 64M -e 64M
compare "2 ranks, 8 B -> 64 MiB (-f 2)" mpirun "${mpirun_args[@]}" BIN -b 8 -e 64M -f 2
