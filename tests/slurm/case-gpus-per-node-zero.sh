#!/usr/bin/env bash
# Slurm case: the templates submitted with --gpus-per-node=0, as the README says to do on clusters
# without GPU GRES (HyperPod): Slurm then sets SLURM_GPUS_PER_NODE=0 although the nodes have GPUs,
# and the templates must count the node's GPUs (nvidia-smi -L) and pick the GPU defaults (backend
# auto), not the host backend. A stand-in nvidia-smi lists 8 GPUs (no GPU here) and COLLBENCH_BIN
# is /bin/true: only the template's choice is checked, from its header line.
# Run by tests/slurm/run.sh with SLURM_CONF, COLLBENCH_BIN_DIR and COLLBENCH_CASE_DIR set.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${COLLBENCH_CASE_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir -p "$dir/bin"
printf '#!/bin/sh\nfor i in 0 1 2 3 4 5 6 7; do echo "GPU $i: NVIDIA H100 80GB HBM3 (UUID: GPU-$i)"; done\n' >"$dir/bin/nvidia-smi"
chmod 0755 "$dir/bin/nvidia-smi"

for template in allreduce acceptance pairwise; do
    out="$dir/$template"
    mkdir -p "$out"
    rc=0
    env PATH="$dir/bin:$PATH" COLLBENCH_BIN=/bin/true COLLBENCH_OUTPUT_DIR="$out" \
        timeout 120 sbatch --wait --parsable --nodes=1 --ntasks-per-node=2 --gpus-per-node=0 \
        --chdir="$out" --output="$out/job.out" "$root/sbatch/$template.sbatch" >/dev/null || rc=$?
    [ "$rc" -eq 0 ] || fail "$template: sbatch --wait exited $rc: $(cat "$out/job.out")"
    header="$(grep -m1 '^# job ' "$out/job.out")" || fail "$template: no header line: $(cat "$out/job.out")"
    grep -q 'backend auto' <<<"$header" || fail "$template with --gpus-per-node=0 on an 8-GPU node: $header"
    [ "$template" = pairwise ] || grep -q ' 8 GPU(s)/node' <<<"$header" || fail "$template: $header"
    echo "ok  $template: $header"
done
echo "gpus-per-node-zero: the templates count the node's GPUs under --gpus-per-node=0"
