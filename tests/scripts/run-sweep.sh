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
# Ctrl-C on `make run`: SIGINT to the terminal's process group (here: a new session's) must end
# the whole run — mpirun and its ranks too, not only the script and tee — within twice mpirun's
# 10 s grace (scripts/run-sweep.sh), with the JSON written and marked incomplete. The sweep
# left alone would run for minutes.
# (env --default-signal: a job started with & by a script ignores SIGINT; a terminal's does not.)
rm -f "$out"/allreduce.{txt,json,csv}
COLLBENCH_RUN_FORCE_HOST=1 COLLBENCH_RUN_ARGS="-b 8 -e 16M -f 2 -n 5000 -w 1" \
    setsid env --default-signal=INT "$root/scripts/run-sweep.sh" >/dev/null 2>&1 &
session=$!
for _ in $(seq 1 60); do
    rows="$(grep -c '^ *[0-9]' "$out/allreduce.txt" 2>/dev/null || true)"
    [ "${rows:-0}" -ge 3 ] && break
    sleep 1
done
kill -INT -- "-$session"
in_session() { ps -eo sid=,pid=,args= | awk -v s="$session" '$1 == s'; }
for _ in $(seq 1 45); do
    [ -z "$(in_session)" ] && break
    sleep 1
done
left="$(in_session)"
if [ -n "$left" ]; then
    # Ours (this session), so end them before failing.
    mapfile -t pids < <(awk '{ print $2 }' <<<"$left")
    kill -KILL -- "${pids[@]}" 2>/dev/null || true
    echo "FAIL: 45 s after Ctrl-C these were still running:" >&2
    echo "$left" >&2
    exit 1
fi
echo "run-sweep: Ctrl-C ended the run ($(grep -c '^ *[0-9]' "$out/allreduce.txt") rows)"
complete="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["complete"])' "$out/allreduce.json")"
[ "$complete" = False ] || { echo "FAIL: the interrupted run's JSON says complete=$complete" >&2; exit 1; }

rm -f "$out"/allreduce.{txt,json,csv}
COLLBENCH_RUN_FORCE_HOST=1 timeout 600 "$root/scripts/run-sweep.sh"
python3 "$root/tests/slurm/check_output.py" --rows 22 --min-bytes 8 --max-bytes 16777216 --nranks 4 \
    --text "$out/allreduce.txt" --json "$out/allreduce.json" --csv "$out/allreduce.csv"
echo "run-sweep: host sweep of make run checked (text, JSON, CSV)"
