#!/usr/bin/env bash
# Slurm case: the templates as they come on a cluster without GPU GRES in slurm.conf (HyperPod's
# default; this local Slurm has none): no GPU request, so sbatch accepts them, and the GPU count
# comes from the node (nvidia-smi -L), from --gpus-per-node=0 likewise, or from
# COLLBENCH_GPUS_PER_NODE. A GPU request is what such a cluster rejects ("Invalid generic
# resource"), which is why the templates' GRES line is commented. COLLBENCH_LIBRARY_PATH reaches
# the ranks in front of LD_LIBRARY_PATH.
# A stand-in nvidia-smi lists 8 GPUs (no GPU here) and COLLBENCH_BIN prints what a rank sees: only
# the templates' choices are checked here; the real runs are in run.sh and the other cases.
# Run by tests/slurm/run.sh with SLURM_CONF, COLLBENCH_BIN_DIR and COLLBENCH_CASE_DIR set.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${COLLBENCH_CASE_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir -p "$dir/bin"
printf '#!/bin/sh\nfor i in 0 1 2 3 4 5 6 7; do echo "GPU $i: NVIDIA H100 80GB HBM3 (UUID: GPU-$i)"; done\n' >"$dir/bin/nvidia-smi"
printf '#!/bin/sh\necho "rank sees LD_LIBRARY_PATH=${LD_LIBRARY_PATH-<unset>}"\n' >"$dir/bin/show-env"
chmod 0755 "$dir/bin/nvidia-smi" "$dir/bin/show-env"

# submit TAG TEMPLATE EXPECTED_EXIT [sbatch options] -- [VAR=VALUE...]: prints the header line.
submit() {
    local tag="$1" template="$2" expected="$3" rc=0
    shift 3
    local opts=()
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    local out="$dir/$tag"
    mkdir -p "$out"
    env -u LD_LIBRARY_PATH PATH="$dir/bin:$PATH" COLLBENCH_BIN="$dir/bin/show-env" COLLBENCH_OUTPUT_DIR="$out" "$@" \
        timeout 120 sbatch --wait --parsable --nodes=1 --ntasks-per-node=2 ${opts[@]+"${opts[@]}"} \
        --chdir="$out" --output="$out/job.out" "$root/sbatch/$template.sbatch" >/dev/null || rc=$?
    [ "$rc" -eq "$expected" ] || fail "$tag: sbatch --wait exited $rc, expected $expected: $(cat "$out/job.out")"
    grep -m1 '^# job ' "$out/job.out" || true
}

for template in allreduce acceptance pairwise; do
    for opt in none --gpus-per-node=0; do
        tag="$template-${opt#--}"
        if [ "$opt" = none ]; then
            header="$(submit "$tag" "$template" 0 -- )"
        else
            header="$(submit "$tag" "$template" 0 "$opt" -- )"
        fi
        grep -q 'backend auto' <<<"$header" || fail "$tag on an 8-GPU node: $header"
        grep -q ' 8 GPU(s)/node' <<<"$header" || fail "$tag: $header"
        echo "ok  $tag: $header"
    done
done

header="$(submit forced-zero allreduce 0 -- COLLBENCH_GPUS_PER_NODE=0)"
grep -q ' 0 GPU(s)/node, backend mpi' <<<"$header" || fail "COLLBENCH_GPUS_PER_NODE=0: $header"
echo "ok  COLLBENCH_GPUS_PER_NODE=0: $header"
submit bad-count allreduce 6 -- COLLBENCH_GPUS_PER_NODE=eight >/dev/null
grep -q "GPUs per node 'eight'" "$dir/bad-count/job.out" || fail "bad count: $(cat "$dir/bad-count/job.out")"
echo "ok  COLLBENCH_GPUS_PER_NODE=eight: exit 6"

submit libs allreduce 0 -- COLLBENCH_LIBRARY_PATH=/opt/amazon/efa/lib:/opt/amazon/ofi-nccl/lib >/dev/null
grep -qx 'rank sees LD_LIBRARY_PATH=/opt/amazon/efa/lib:/opt/amazon/ofi-nccl/lib' "$dir/libs/job.out" ||
    fail "COLLBENCH_LIBRARY_PATH did not reach the ranks: $(cat "$dir/libs/job.out")"
grep -q 'libraries added: /opt/amazon/efa/lib:/opt/amazon/ofi-nccl/lib' "$dir/libs/job.out" || fail "libs: header"
submit libs-off allreduce 0 -- COLLBENCH_LIBRARY_PATH= >/dev/null
grep -qx 'rank sees LD_LIBRARY_PATH=<unset>' "$dir/libs-off/job.out" ||
    fail "COLLBENCH_LIBRARY_PATH= changed LD_LIBRARY_PATH: $(cat "$dir/libs-off/job.out")"
echo "ok  COLLBENCH_LIBRARY_PATH reaches the ranks; empty leaves LD_LIBRARY_PATH alone"

# What the commented GRES line avoids: this cluster has no GPU GRES and refuses a GPU request.
rc=0
said="$(timeout 30 sbatch --parsable --nodes=1 --ntasks-per-node=1 --gpus-per-node=8 \
    --chdir="$dir" --output=/dev/null --wrap=true 2>&1)" || rc=$?
[ "$rc" -ne 0 ] || fail "a --gpus-per-node=8 job was accepted on a cluster without GPU GRES: $said"
grep -qi 'Invalid generic resource' <<<"$said" || fail "unexpected refusal: $said"
echo "ok  --gpus-per-node=8 refused here: $said"
echo "no-gres: the templates run as they come on a cluster without GPU GRES"
