#!/usr/bin/env bash
# make gpu-bundle on a machine without GPUs: the bundle holds every binary, the device test, the
# check script and the anchors; its `make gpu-check` refuses clearly without a GPU (exit 2), and
# with GPU_CHECK_WITHOUT_GPU=1 runs the whole table from the bundle's own binaries (the missing-NCCL
# check passes, the GPU lines fail, the exit code is non-zero).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bundle="$work/bundle"

BUNDLE_DIR="$bundle" timeout 900 "$root/scripts/gpu-bundle.sh"
for entry in collbench allreduce-perf alltoallv-perf hypercube-perf gpu-tests gpu-check.sh gpu-check-nccl-tests.sh nccl-reference nccl-reference.c Makefile COMMIT; do
    [[ -e $bundle/$entry ]] || { echo "FAIL: $entry missing from the bundle" >&2; exit 1; }
done
[[ $(cat "$bundle/COMMIT") == $(git -C "$root" rev-parse HEAD) ]] || { echo "FAIL: COMMIT is not HEAD" >&2; exit 1; }
if [[ -d $root/../shared/anchors/h100-1gpu-nccl-tests-2.19.6 ]]; then
    [[ -f $bundle/anchors/all_reduce.txt ]] || { echo "FAIL: anchors not bundled" >&2; exit 1; }
fi
# Stripped: no .symtab left.
if readelf -S "$bundle/allreduce-perf" | grep -q '\.symtab'; then
    echo "FAIL: binaries are not stripped" >&2
    exit 1
fi

if nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu-bundle: this machine has a GPU; the no-GPU checks do not apply (bundle built and complete)"
    exit 0
fi

set +e
timeout 60 make -C "$bundle" gpu-check >"$work/refused.txt" 2>&1
rc=$?
set -e
[[ $rc -ne 0 ]] || { echo "FAIL: gpu-check without a GPU exited 0" >&2; exit 1; }
grep -q 'no NVIDIA GPU here' "$work/refused.txt" || { cat "$work/refused.txt"; echo "FAIL: no clear refusal" >&2; exit 1; }
# The refusal leaves no empty results/gpu/run-* folder behind in the checkout.
if compgen -G "$bundle/results/gpu/run-*" >/dev/null; then
    echo "FAIL: gpu-check without a GPU made a results folder: $(echo "$bundle"/results/gpu/run-*)" >&2
    exit 1
fi

set +e
GPU_CHECK_WITHOUT_GPU=1 QUICK=1 LIMIT=60 timeout 600 make -C "$bundle" gpu-check >"$work/forced.txt" 2>&1
rc=$?
set -e
[[ $rc -ne 0 ]] || { echo "FAIL: forced gpu-check without a GPU exited 0" >&2; exit 1; }
grep -q '^PASS  missing-library ' "$work/forced.txt" || { cat "$work/forced.txt"; echo "FAIL: missing-library check did not pass" >&2; exit 1; }
if grep -q '^FAIL  binary ' "$work/forced.txt"; then
    cat "$work/forced.txt"
    echo "FAIL: gpu-check did not find the bundle's binaries" >&2
    exit 1
fi
grep -Eq '^# [0-9]+ passed, [0-9]+ failed' "$work/forced.txt" || { echo "FAIL: no verdict summary" >&2; exit 1; }
[[ -s $bundle/results/verdicts.txt ]] || { echo "FAIL: no results/verdicts.txt" >&2; exit 1; }

# Ctrl-C (SIGINT to the whole foreground process group) stops the check at once with exit 130
# and says where the partial results are, instead of going on to the next command (here the
# commands fail at once without a GPU, so this checks the script's part; a running collbench
# stops after its row on SIGINT, as tests/accept/crash.rs shows).
set +e
# setsid: the check gets a process group of its own (as a terminal gives a foreground job).
GPU_CHECK_WITHOUT_GPU=1 QUICK=1 LIMIT=60 RESULTS_DIR="$work/interrupted" \
    setsid timeout 120 "$bundle/gpu-check.sh" >"$work/int.txt" 2>&1 &
checker=$!
sleep 2
kill -INT -- "-$checker"
wait "$checker"
interrupted_rc=$?
set -e
if [[ $interrupted_rc -ne 130 ]] || ! grep -q 'gpu-check: interrupted; partial results in' "$work/int.txt" ||
    grep -Eq '^# [0-9]+ passed' "$work/int.txt"; then
    cat "$work/int.txt"
    echo "FAIL: Ctrl-C on gpu-check exited $interrupted_rc (expected 130, no verdict summary)" >&2
    exit 1
fi
echo "gpu-bundle: bundle complete ($(du -sh "$bundle" | cut -f1)); refused without a GPU (exit $rc when forced: $(grep -E '^# [0-9]+ passed' "$work/forced.txt"))"
