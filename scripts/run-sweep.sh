#!/usr/bin/env bash
# The README's first command (`make run`) after the build: a real all-reduce sweep.
#   - GPUs present (nvidia-smi -L lists some) and libnccl loads: one process over all of them,
#     NCCL backend: allreduce-perf -b 8 -e 1G -f 2 -g <number of GPUs>
#   - otherwise: 4 MPI ranks on host memory:
#     mpirun --allow-run-as-root --oversubscribe -np 4 allreduce-perf -b 8 -e 16M -f 2
# The table goes to the terminal; text, JSON and CSV copies to target/collbench-run/.
# COLLBENCH_RUN_ARGS replaces the sweep flags (a -g there replaces the GPU count);
# COLLBENCH_RUN_FORCE_HOST=1 skips the GPU path.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

bin="${COLLBENCH_BIN_DIR:-$COLLBENCH_ROOT/target/release}/allreduce-perf"
[ -x "$bin" ] || die "$bin not built: run 'make run' (it builds with --features mpi,fabric)"
out_dir="$COLLBENCH_ROOT/target/collbench-run"
mkdir -p "$out_dir"

gpu_count() {
    command -v nvidia-smi >/dev/null 2>&1 || {
        echo 0
        return
    }
    timeout 30 nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true
}

# Prints the libnccl that loads, or fails. Same order as collbench's loader: COLLBENCH_NCCL_LIBRARY
# alone when set (an explicit choice), else the loader's path, else the pip wheel's.
loadable_nccl() {
    python3 - <<'PY'
import ctypes, glob, os, site, sys
override = os.environ.get("COLLBENCH_NCCL_LIBRARY")
if override:
    candidates = [override]
else:
    candidates = ["libnccl.so.2", "libnccl.so"]
    for folder in site.getsitepackages() + [site.getusersitepackages()]:
        candidates += sorted(glob.glob(os.path.join(folder, "nvidia", "nccl", "lib", "libnccl.so*")))
for candidate in filter(None, candidates):
    try:
        ctypes.CDLL(candidate)
    except OSError:
        continue
    print(candidate)
    sys.exit(0)
sys.exit(1)
PY
}

gpus=0
[ "${COLLBENCH_RUN_FORCE_HOST:-0}" = 1 ] || gpus="$(gpu_count)"
nccl=""
if [ "${gpus:-0}" -gt 0 ]; then
    nccl="$(loadable_nccl)" || {
        log "$gpus GPU(s) found but no libnccl.so.2 loads (install NCCL or set COLLBENCH_NCCL_LIBRARY): host backend"
        nccl=""
    }
fi

outputs=(--collbench-json "$out_dir/allreduce.json" --csv "$out_dir/allreduce.csv")
if [ -n "$nccl" ]; then
    # A library found by path (the pip wheel) must also be on the loader's path for our dlopen.
    case "$nccl" in /*)
        nccl_dir="$(dirname "$nccl")"
        export LD_LIBRARY_PATH="$nccl_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        ;;
    esac
    read -r -a sweep <<<"${COLLBENCH_RUN_ARGS:--b 8 -e 1G -f 2}"
    # -g first: a -g in COLLBENCH_RUN_ARGS comes later and wins (repeated flags: the last counts).
    command=("$bin" --backend nccl -g "$gpus" "${sweep[@]}" "${outputs[@]}")
    log "$gpus GPU(s), NCCL from $nccl: one process over all of them"
else
    read -r -a sweep <<<"${COLLBENCH_RUN_ARGS:--b 8 -e 16M -f 2}"
    command=(mpirun --allow-run-as-root --oversubscribe -np 4 "$bin" "${sweep[@]}" "${outputs[@]}")
    # On Ctrl-C the ranks get the SIGINT themselves (same process group) and stop after the row.
    # mpirun (Open MPI 4.1) meanwhile sends SIGCONT, waits this long, SIGTERM, waits again, then
    # SIGKILL; it blocks while it waits, so a rank still alive then costs twice this timeout
    # before the prompt returns. 10 s lets a host row finish and write the outputs (the default
    # 1 s does not) and keeps the worst case near 20 s.
    export OMPI_MCA_odls_base_sigkill_timeout=${OMPI_MCA_odls_base_sigkill_timeout:-10}
    log "no usable GPU: 4 MPI ranks on host memory"
fi
echo "+ ${command[*]}" >&2
status=0
# Ctrl-C: --foreground keeps the command in the terminal's process group, so mpirun (or the one
# collbench process) gets the SIGINT; without it timeout's own process group missed it, and mpirun
# and the ranks ran on after tee had died. tee ignores SIGINT to keep the rows that follow it.
timeout --foreground 1800 "${command[@]}" | (
    trap '' INT
    exec tee "$out_dir/allreduce.txt"
) || status=$?
log "exit code $status; outputs in $out_dir/allreduce.{txt,json,csv}"
exit "$status"
