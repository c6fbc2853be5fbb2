#!/usr/bin/env bash
# The output checker the Slurm tests rely on (tests/slurm/check_output.py) must itself be right:
# it accepts real nccl-tests 2.19.6 output (../shared/anchors) and rejects each kind of damage a
# broken run could produce. Runs without a build.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
checker="$root/tests/slurm/check_output.py"
anchors="${COLLBENCH_ANCHORS:-$root/../shared/anchors/h100-1gpu-nccl-tests-2.19.6}"
[ -d "$anchors" ] || anchors=/work/shared/anchors/h100-1gpu-nccl-tests-2.19.6
[ -f "$anchors/all_reduce.txt" ] || {
    echo "FAIL: nccl-tests anchors not found (set COLLBENCH_ANCHORS)" >&2
    exit 1
}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
good="$anchors/all_reduce.txt"
check() { python3 "$checker" --rows 30 --min-bytes 8 --max-bytes 4294967296 --nranks 1 "$@"; }
passed=0
expect_pass() {
    local name="$1"
    shift
    check "$@" || { echo "FAIL: checker rejected $name" >&2; exit 1; }
    passed=$((passed + 1))
}
expect_fail() {
    local name="$1"
    shift
    if check "$@" 2>"$work/err"; then
        echo "FAIL: checker accepted $name" >&2
        exit 1
    fi
    echo "rejected $name: $(head -n 1 "$work/err")"
    passed=$((passed + 1))
}

expect_pass "nccl-tests all_reduce output" --text "$good"
# One wrong element in the in-place column of the 1 KiB row, footer still "0 OK".
sed -E '/^ +1024 +256 /s/ 0$/ 1/' "$good" >"$work/wrong-row.txt"
expect_fail "a row with #wrong 1 under a '0 OK' footer" --text "$work/wrong-row.txt"
# The same with a consistent FAILED footer: a correct report of a corruption.
sed -E 's/^# Out of bounds values : 0 OK/# Out of bounds values : 1 FAILED/' "$work/wrong-row.txt" >"$work/failed.txt"
expect_pass "a consistent FAILED run, with --expect-wrong" --text "$work/failed.txt" --expect-wrong
expect_fail "a FAILED run without --expect-wrong" --text "$work/failed.txt"
expect_fail "a clean run with --expect-wrong" --text "$good" --expect-wrong
grep -v '^# Avg bus bandwidth' "$good" >"$work/no-avg.txt"
expect_fail "a missing 'Avg bus bandwidth' footer" --text "$work/no-avg.txt"
cat "$good" "$good" >"$work/twice.txt"
expect_fail "two tables (every rank printed)" --text "$work/twice.txt"
grep -v '^ *2097152 ' "$good" >"$work/short.txt"
expect_fail "a missing size" --text "$work/short.txt"
sed -E '/^ +4096 +1024 /s/ 0$/ N\/A/' "$good" >"$work/na.txt"
expect_fail "#wrong N/A where a check was expected" --text "$work/na.txt"
expect_fail "the wrong collective" --text "$good" --collective all_gather
sed '1s/$/\x00/' "$good" >"$work/nul.txt"
expect_fail "a NUL byte in the first line" --text "$work/nul.txt"
echo "check-output: $passed checker cases behaved"
