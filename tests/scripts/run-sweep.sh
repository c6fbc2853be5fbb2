#!/usr/bin/env bash
# The sweep of `make run` (scripts/run-sweep.sh after the build) on the host backend, as on a
# machine without GPUs: 4 MPI ranks, 8 B .. 16 MiB by factor 2. Exit 0, and the table, JSON and CSV
# it leaves in target/collbench-run/ pass the same checks as the Slurm runs (22 rows, 0 wrong, the
# footers once, 4 ranks, schema-valid JSON).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/target/collbench-run"

# The GPU path's command line, on stand-ins (no GPU here): an nvidia-smi listing 8 GPUs, a library
# that loads as NCCL, an allreduce-perf that prints its arguments. The GPU count is only the
# default: a -g in COLLBENCH_RUN_ARGS must win (flags repeat last-wins).
fake="$(mktemp -d /tmp/collbench-run-sweep.XXXXXX)"
trap 'rm -rf "$fake"' EXIT
printf '#!/bin/sh\nfor i in 0 1 2 3 4 5 6 7; do echo "GPU $i: NVIDIA H100 (UUID: GPU-$i)"; done\n' >"$fake/nvidia-smi"
printf '#!/bin/sh\necho "args: $*"\n' >"$fake/allreduce-perf"
chmod 0755 "$fake/nvidia-smi" "$fake/allreduce-perf"
run_fake() {
    PATH="$fake:$PATH" COLLBENCH_BIN_DIR="$fake" COLLBENCH_NCCL_LIBRARY=libc.so.6 \
        timeout 60 "$root/scripts/run-sweep.sh" 2>/dev/null | grep '^args: '
}
# The last -g on the line is the one that counts.
last_g() { grep -o -- '-g [0-9]*' | tail -n 1; }
[ "$(run_fake | last_g)" = "-g 8" ] || { echo "FAIL: GPU path without -g: $(run_fake)" >&2; exit 1; }
got="$(COLLBENCH_RUN_ARGS="-b 8 -e 1G -f 2 -g 1" run_fake)"
[ "$(last_g <<<"$got")" = "-g 1" ] || { echo "FAIL: COLLBENCH_RUN_ARGS' -g 1 was overridden: $got" >&2; exit 1; }
rm -f "$out"/allreduce.{txt,json,csv}
COLLBENCH_RUN_FORCE_HOST=1 timeout 600 "$root/scripts/run-sweep.sh"
python3 "$root/tests/slurm/check_output.py" --rows 22 --min-bytes 8 --max-bytes 16777216 --nranks 4 \
    --text "$out/allreduce.txt" --json "$out/allreduce.json" --csv "$out/allreduce.csv"
echo "run-sweep: host sweep of make run checked (text, JSON, CSV)"
