#!/usr/bin/env bash
# Static checks of everything shell in the repo, and of the promises the templates and README make:
#   - shellcheck (warnings and errors; style notes are not enforced) and bash -n on scripts/, tests/,
#     .ci/run and sbatch/*.sbatch
#   - every sbatch template: --exclusive, --wait-all-nodes=1, nodes / tasks per node lines, no active
#     GPU GRES line (only a commented one), srun --mpi=pmix, the optional Pyxis image, the SAME node
#     setup block (library path, GPUs per node) and the SAME EFA/NCCL block (copied, not drifting),
#     in which every export has its own comment, and arrays that can be empty expanded so that
#     bash < 4.4 (Amazon Linux 2) does not call them unbound under set -u
#   - the README's exit-code table covers every code src/error.rs maps (and 0, 130, 143)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
problems=0
fail() {
    echo "FAIL: $*" >&2
    problems=$((problems + 1))
}

mapfile -t shell_files < <(ls scripts/*.sh tests/*.sh tests/scripts/*.sh tests/slurm/*.sh tests/cluster/*.sh sbatch/*.sbatch containers/*.sh .ci/run 2>/dev/null)
for file in "${shell_files[@]}"; do
    bash -n "$file" || fail "$file: bash -n"
done
shellcheck -x -s bash -S warning "${shell_files[@]}" || fail "shellcheck (above)"
echo "shellcheck: ${#shell_files[@]} files"

efa_block() { sed -n '/^# >>> EFA\/NCCL environment/,/^# <<< EFA\/NCCL environment/p' "$1"; }
reference="$(efa_block sbatch/allreduce.sbatch)"
[ -n "$reference" ] || fail "sbatch/allreduce.sbatch has no EFA/NCCL block"
for required in FI_PROVIDER=efa 'FI_EFA_USE_DEVICE_RDMA="$COLLBENCH_EFA_DEVICE_RDMA"' FI_EFA_FORK_SAFE=1 NCCL_BUFFSIZE NCCL_P2P_NET_CHUNKSIZE NCCL_TUNER_PLUGIN; do
    grep -q "export $required" <<<"$reference" || fail "EFA/NCCL block lacks export $required"
done
# Each export is directly under a comment line (or a one-line guard under a comment).
awk '/^ *export /{ if (prev !~ /^ *#/ && prev !~ /^ *if \[/) { print "uncommented: " $0; bad=1 } } { prev=$0 } END { exit bad }' \
    <<<"$reference" || fail "an EFA/NCCL export without its comment"

node_block() { sed -n '/^# >>> node setup/,/^# <<< node setup/p' "$1"; }
node_reference="$(node_block sbatch/allreduce.sbatch)"
[ -n "$node_reference" ] || fail "sbatch/allreduce.sbatch has no node setup block"

for template in sbatch/*.sbatch; do
    for directive in '--nodes=' '--ntasks-per-node=' '--exclusive' '--wait-all-nodes=1' '--output='; do
        grep -q "^#SBATCH $directive" "$template" || fail "$template: no '#SBATCH $directive'"
    done
    # A GPU GRES request is rejected where slurm.conf has no GPU GRES (HyperPod): commented only.
    grep -qE '^#SBATCH --(gpus|gres|gpus-per-node|gpus-per-task)[= ]' "$template" &&
        fail "$template: an active GPU GRES #SBATCH line (comment it out: ##SBATCH)"
    grep -q '^##SBATCH --gpus-per-node=' "$template" || fail "$template: no commented '##SBATCH --gpus-per-node='"
    [ "$(node_block "$template")" = "$node_reference" ] || fail "$template: node setup block differs from allreduce.sbatch"
    grep -q -- '--mpi=pmix' "$template" || fail "$template: no srun --mpi=pmix"
    grep -q -- '--container-image=' "$template" || fail "$template: no optional Pyxis --container-image"
    [ "$(efa_block "$template")" = "$reference" ] || fail "$template: EFA/NCCL block differs from allreduce.sbatch"
    # bash < 4.4 (Amazon Linux 2's 4.2 on ParallelCluster nodes) calls an empty "${a[@]}" unbound
    # under set -u: arrays that can be empty expand as ${a[@]+"${a[@]}"}.
    for array in verdict_args sweep_args; do
        bare="\"\${${array}[@]}\"" # "${name[@]}" after a space: not inside the guarded form
        if grep -qF " $bare" "$template"; then
            fail "$template: $bare is unbound in bash < 4.4 when the array is empty; write \${${array}[@]+$bare}"
        fi
    done
    echo "template ok: $template"
done

# README exit codes vs the one mapping in src/error.rs.
code_codes="$(sed -n '/pub fn exit_code/,/^    }/p' src/error.rs | grep -oE '=> [0-9]+,' | grep -oE '[0-9]+' | sort -n | uniq | tr '\n' ' ')"
# shellcheck disable=SC2016 # backquotes are literal Markdown here
readme_codes="$(sed -n '/^## Exit codes/,/^## /p' README.md | grep -oE '^\| *`?[0-9]+`? *\|' | grep -oE '[0-9]+' | sort -n | uniq | tr '\n' ' ')"
for code in $code_codes 0 130 143; do
    [[ " $readme_codes " == *" $code "* ]] || fail "README's exit-code table lacks $code (src/error.rs maps it)"
done
echo "README exit codes: $readme_codes"

[ "$problems" -eq 0 ] || {
    echo "lint: $problems problem(s)" >&2
    exit 1
}
echo "lint: clean"
