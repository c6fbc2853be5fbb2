# Shared helpers for collbench's shell scripts. Source it; it defines functions and a few paths only.
# shellcheck shell=bash

# The repository root, whatever directory the caller runs from.
COLLBENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export COLLBENCH_ROOT

# Where install-deps.sh puts the NVRTC wheel (ignored by git: /.whl/).
COLLBENCH_WHEEL_DIR="${COLLBENCH_WHEEL_DIR:-$COLLBENCH_ROOT/.whl}"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() {
    printf '[%s] error: %s\n' "$(basename "$0")" "$*" >&2
    exit 1
}

# Runs a command as root: directly when we are root, else through sudo (a user's workstation).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' (not root and no sudo)"
    fi
}

# Path of the NVRTC library the wheel installed, or nothing when it is not installed.
nvrtc_library_path() {
    local found
    found="$(find "$COLLBENCH_WHEEL_DIR" -path '*/lib/libnvrtc.so.*' ! -name '*builtins*' 2>/dev/null | sort | head -n 1)"
    [ -n "$found" ] && printf '%s\n' "$found"
}

# Exports COLLBENCH_NVRTC_LIBRARY (the file) and prepends its folder to LD_LIBRARY_PATH, so that
# both our own loader and cudarc's dlopen("libnvrtc.so.13") find the wheel's NVRTC. No-op when
# the caller already set COLLBENCH_NVRTC_LIBRARY or the wheel is absent.
export_nvrtc_env() {
    local lib
    if [ -z "${COLLBENCH_NVRTC_LIBRARY:-}" ]; then
        lib="$(nvrtc_library_path)" || return 0
        export COLLBENCH_NVRTC_LIBRARY="$lib"
    fi
    local dir
    dir="$(dirname "$COLLBENCH_NVRTC_LIBRARY")"
    case ":${LD_LIBRARY_PATH:-}:" in
    *":$dir:"*) ;;
    *) export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
    esac
}

# The module-cycle check (scripts/check-module-cycles.sh, suite module-cycles of test-all.sh, whose
# tool install-deps.sh installs): on (1) since the library's modules form no cycle (issue 12).
# COLLBENCH_MODULE_CYCLES=0 (or 1) overrides it for one run.
# shellcheck disable=SC2034 # used by the scripts that source this file
MODULE_CYCLES_CHECK="${COLLBENCH_MODULE_CYCLES:-1}"
# The cargo-cycles release the check runs (installed with --locked: its dependencies pinned too).
# shellcheck disable=SC2034
CARGO_CYCLES_VERSION=0.2.0

# The binaries cargo builds (each per-collective one is also a name of the multi-call `collbench`,
# which `make install` installs alone, with these names as links), and the nccl-tests name each
# one is also installed under ("ours:theirs"; collbench has no nccl-tests name).
# shellcheck disable=SC2034 # used by the scripts that source this file
COLLBENCH_BINARIES=(collbench allreduce-perf allgather-perf reducescatter-perf alltoall-perf alltoallv-perf
    broadcast-perf reduce-perf sendrecv-perf gather-perf scatter-perf hypercube-perf)
# shellcheck disable=SC2034
NCCL_TESTS_NAMES=(allreduce-perf:all_reduce_perf allgather-perf:all_gather_perf
    reducescatter-perf:reduce_scatter_perf alltoall-perf:alltoall_perf alltoallv-perf:alltoallv_perf
    broadcast-perf:broadcast_perf reduce-perf:reduce_perf sendrecv-perf:sendrecv_perf
    gather-perf:gather_perf scatter-perf:scatter_perf hypercube-perf:hypercube_perf)
