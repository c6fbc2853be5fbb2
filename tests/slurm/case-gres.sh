#!/usr/bin/env bash
# Slurm case: the templates on a cluster WITH GPU GRES (GresTypes=gpu, 4 GPUs on the node as
# stand-in device files: scripts/slurm-up.sh COLLBENCH_SLURM_GPUS=4), started here beside the
# suite's own cluster and stopped on exit.
#   allocation  submitted with --gpus-per-node=4 (accepted here), the templates take the GPU count
#               from the allocation (SLURM_GPUS_ON_NODE), not from the node
#   real run    allreduce.sbatch with the GPU allocation and the host backend: a real sweep, exit 0
#   drain       pairwise.sbatch with COLLBENCH_DRAIN=1 and one slow simulated host named like the
#               node: the batch script drains it (the node is resumed before the cluster stops)
# Run by tests/slurm/run.sh with COLLBENCH_BIN_DIR and COLLBENCH_CASE_DIR set.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${COLLBENCH_CASE_DIR:?}"
bin_dir="${COLLBENCH_BIN_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }

cluster="$dir/cluster"
stop() { COLLBENCH_SLURM_DIR="$cluster" "$root/scripts/slurm-down.sh" >/dev/null 2>&1 || true; }
trap stop EXIT
COLLBENCH_SLURM_GPUS=4 COLLBENCH_SLURM_DIR="$cluster" "$root/scripts/slurm-up.sh" >"$dir/cluster.env" ||
    fail "slurm-up.sh with COLLBENCH_SLURM_GPUS=4 failed"
# shellcheck source=/dev/null
source "$dir/cluster.env"
sinfo -h -o '%N %G' | grep -q 'gpu:4' || fail "the node has no gpu:4 GRES: $(sinfo -h -o '%N %G')"

mkdir -p "$dir/bin"
printf '#!/bin/sh\necho "rank sees SLURM_GPUS_ON_NODE=${SLURM_GPUS_ON_NODE-<unset>}"\n' >"$dir/bin/show-env"
chmod 0755 "$dir/bin/show-env"

# submit TAG TEMPLATE NTASKS EXPECTED_EXIT VAR=VALUE...: sbatch --wait with --gpus-per-node=4.
submit() {
    local tag="$1" template="$2" ntasks="$3" expected="$4" rc=0
    shift 4
    mkdir -p "$dir/$tag"
    env COLLBENCH_OUTPUT_DIR="$dir/$tag" OMPI_MCA_mpi_yield_when_idle=1 "$@" \
        timeout 300 sbatch --wait --parsable --nodes=1 --ntasks-per-node="$ntasks" --gpus-per-node=4 \
        --chdir="$dir/$tag" --output="$dir/$tag/job.out" "$root/sbatch/$template.sbatch" >"$dir/$tag/job_id" || rc=$?
    [ "$rc" -eq "$expected" ] || fail "$tag: sbatch --wait exited $rc, expected $expected: $(cat "$dir/$tag/job.out")"
}

for template in allreduce acceptance pairwise; do
    submit "$template" "$template" 2 0 COLLBENCH_BIN="$dir/bin/show-env"
    header="$(grep -m1 '^# job ' "$dir/$template/job.out")" || fail "$template: no header"
    grep -q ' 4 GPU(s)/node, backend auto' <<<"$header" || fail "$template: GPU count not from the allocation: $header"
    grep -q 'rank sees SLURM_GPUS_ON_NODE=4' "$dir/$template/job.out" || fail "$template: $(cat "$dir/$template/job.out")"
    echo "ok  $template with --gpus-per-node=4: $header"
done

submit run allreduce 4 0 COLLBENCH_BIN="$bin_dir/allreduce-perf" COLLBENCH_BACKEND=mpi COLLBENCH_ARGS="-b 8 -e 64K -f 4"
job="$(cut -d';' -f1 <"$dir/run/job_id")"
grep -q '^# Out of bounds values : 0 OK' "$dir/run/collbench-allreduce_$job.txt" || fail "run: $(cat "$dir/run/job.out")"
echo "ok  real sweep under a GPU allocation (job $job)"

node="$(sinfo -h -o %N | head -n 1)"
resume() { timeout 10 scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true; }
trap 'resume; stop' EXIT
submit drain pairwise 4 7 COLLBENCH_BIN="$bin_dir/collbench" COLLBENCH_DRAIN=1 \
    COLLBENCH_ARGS="-b 4M -e 4M -n 3 -w 1 --pair-tolerance 95" \
    COLLBENCH_TEST_HOSTNAME="x0,x1,$node,x3" COLLBENCH_TEST_DELAY=2:600000
grep -q "^# drained $node\$" "$dir/drain/job.out" || fail "drain: $(cat "$dir/drain/job.out")"
timeout 10 scontrol show node "$node" | grep -q 'Reason=collbench: busbw ' || fail "drain: no collbench reason on $node"
echo "ok  pairwise drain run by the batch script"
echo "gres: the templates run on a cluster with GPU GRES"
