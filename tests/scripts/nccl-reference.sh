#!/usr/bin/env bash
# scripts/nccl-reference.c, the minimal NCCL loop gpu-check times beside collbench, on a machine
# without a GPU: it builds warning-free; without a driver it says so (exit 2); bad flags exit 6;
# and against a stand-in driver and NCCL (tests/scripts/nccl-reference-fake.c: host memory, every
# call logged and bounds-checked) its whole sweep runs: one row per size in nccl-tests' layout,
# nccl-tests' operation schedule (warm-ups, then per size and placement 1 + ITERS + 1 operations),
# every rotation slot inside the buffers, and an asynchronous NCCL error ends it with exit 3.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cc -O2 -std=c11 -Wall -Wextra -Werror -o "$work/nccl-reference" "$root/scripts/nccl-reference.c" -ldl
mkdir "$work/fake"
cc -O2 -std=c11 -Wall -Wextra -Werror -shared -fPIC -o "$work/fake/libcuda.so.1" \
    "$root/tests/scripts/nccl-reference-fake.c"
probe="$work/nccl-reference"

# expect_exit CODE TEXT CMD...: exit status CODE and TEXT in the output.
expect_exit() {
    local code=$1 text=$2
    shift 2
    set +e
    timeout 60 "$@" >"$work/out.txt" 2>&1
    local rc=$?
    set -e
    [[ $rc -eq $code ]] || { cat "$work/out.txt"; fail "$* exited $rc, expected $code"; }
    grep -qF -- "$text" "$work/out.txt" || { cat "$work/out.txt"; fail "$*: no '$text' in the output"; }
}

if ! nvidia-smi -L >/dev/null 2>&1; then
    expect_exit 2 "could not load the CUDA driver libcuda.so.1" "$probe" -e 1K
fi
expect_exit 6 "-b '1Q': accepted: a size of at least 4 bytes" "$probe" -b 1Q
expect_exit 6 "-b 1073741824 is larger than -e 8; accepted: -b <= -e" "$probe" -b 1G -e 8
expect_exit 6 "-f '1': accepted: an integer >= 2" "$probe" -f 1
expect_exit 6 "unexpected argument 'x'" "$probe" x

export LD_LIBRARY_PATH="$work/fake${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export COLLBENCH_NCCL_LIBRARY="$work/fake/libcuda.so.1"
expect_exit 3 "could not load NCCL /nonexistent/libnccl.so.2" env COLLBENCH_NCCL_LIBRARY=/nonexistent/libnccl.so.2 "$probe" -e 1K
expect_exit 2 "cuDeviceGet failed: CUDA error 101: invalid device ordinal" "$probe" -d 1 -e 1K

# The sweep: 8 B .. 2 MiB by 4 = 10 sizes; -n 7 -w 3.
FAKE_LOG="$work/calls.txt" timeout 60 "$probe" -b 8 -e 2M -f 4 -n 7 -w 3 >"$work/sweep.txt" 2>&1 ||
    { cat "$work/sweep.txt"; fail "the sweep against the stand-in exited non-zero"; }
cat "$work/sweep.txt"
grep -q '^# nccl-reference: all_reduce float sum, 1 rank on device 0 (Fake GPU), NCCL 22809 (' "$work/sweep.txt" ||
    fail "no header naming the device and the NCCL file"
rows=$(grep -vc '^#' "$work/sweep.txt")
[[ $rows -eq 10 ]] || fail "$rows rows, expected 10 (8 B .. 2 MiB by 4)"
awk '!/^#/ && (NF != 13 || $3 != "float" || $4 != "sum" || $9 != "N/A" || $13 != "N/A" || $6 <= 0 || $10 <= 0) { bad = 1; print "bad row: " $0 } END { exit bad }' \
    "$work/sweep.txt" || fail "rows are not in nccl-tests' 13-column layout with positive times"
awk '!/^#/ { if (prev && $1 != prev * 4) bad = 1; prev = $1 } END { exit bad }' "$work/sweep.txt" ||
    fail "sizes do not step by 4"
# Warm-ups: 3 at 2 MiB, 3 at 8 B; then per size and placement 1 + 7 + 1.
calls=$(wc -l <"$work/calls.txt")
[[ $calls -eq $((3 + 3 + 10 * 2 * 9)) ]] || fail "$calls NCCL calls, expected $((3 + 3 + 10 * 2 * 9))"
head -3 "$work/calls.txt" | awk '$5 != 524288 { exit 1 }' || fail "the first warm-ups are not at the largest size"
# 8 B operations walk the slots 0, 8, 16, ... (iteration × size) in both buffers.
awk '$5 == 2 && $2 == "out" { seen[$3] = 1 } END { exit !(seen[0] && seen[8] && seen[48]) }' "$work/calls.txt" ||
    fail "8 B operations do not rotate through the buffer"
grep -q '^allreduce in ' "$work/calls.txt" || fail "no in-place operation"
awk '$2 == "in" && $3 != $4 { exit 1 }' "$work/calls.txt" || fail "an in-place operation with different send and receive"

expect_exit 3 "the NCCL communicator (asynchronous error) failed: NCCL error 2: unhandled system error (fake)" \
    env FAKE_ASYNC_ERROR=5 "$probe" -b 8 -e 1K
echo "nccl-reference: builds clean, refuses bad flags, runs the sweep against the stand-in ($calls calls), stops on NCCL errors"
