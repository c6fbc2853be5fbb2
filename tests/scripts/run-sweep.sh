#!/usr/bin/env bash
# The sweep of `make run` (scripts/run-sweep.sh after the build) on the host backend, as on a
# machine without GPUs: 4 MPI ranks, 8 B .. 16 MiB by factor 2. Exit 0, and the table, JSON and CSV
# it leaves in target/collbench-run/ pass the same checks as the Slurm runs (22 rows, 0 wrong, the
# footers once, 4 ranks, schema-valid JSON).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/target/collbench-run"
rm -f "$out"/allreduce.{txt,json,csv}
COLLBENCH_RUN_FORCE_HOST=1 timeout 600 "$root/scripts/run-sweep.sh"
python3 "$root/tests/slurm/check_output.py" --rows 22 --min-bytes 8 --max-bytes 16777216 --nranks 4 \
    --text "$out/allreduce.txt" --json "$out/allreduce.json" --csv "$out/allreduce.csv"
echo "run-sweep: host sweep of make run checked (text, JSON, CSV)"
