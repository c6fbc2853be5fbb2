#!/usr/bin/env bash
# Slurm case: `srun -n 1 allreduce-perf` without --mpi=pmix (the cluster's MpiDefault=none, as on
# AWS ParallelCluster; the usual way to run one process over a node's GPUs with -g 8). There is no
# PMI server, so collbench must run as a singleton instead of calling MPI_Init (which aborts):
# exit 0, one table with its footer, one rank.
# Run by tests/slurm/run.sh with SLURM_CONF, COLLBENCH_BIN_DIR and COLLBENCH_CASE_DIR set.
set -euo pipefail
dir="${COLLBENCH_CASE_DIR:?}"
bin="${COLLBENCH_BIN_DIR:?}/allreduce-perf"
[ -x "$bin" ] || { echo "no $bin" >&2; exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir -p "$dir"

rc=0
timeout 120 srun --mpi=none -n 1 "$bin" -b 8 -e 1K -f 2 --collbench-json "$dir/one.json" >"$dir/one.txt" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "srun -n 1 exited $rc: $(tail -n 15 "$dir/one.txt")"
[ "$(grep -c '^# Avg bus bandwidth' "$dir/one.txt")" -eq 1 ] || fail "no single footer: $(cat "$dir/one.txt")"
[ "$(grep -c '^#  Rank' "$dir/one.txt")" -eq 1 ] || fail "expected one rank line: $(cat "$dir/one.txt")"
nranks="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nranks"])' "$dir/one.json" 2>&1)" ||
    fail "no nranks in the JSON: $nranks"
[ "$nranks" = 1 ] || fail "JSON says $nranks ranks, expected 1"
echo "srun-one-task: srun -n 1 without PMI ran as one rank (exit 0)"
