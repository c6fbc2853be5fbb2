#!/usr/bin/env bash
# Installs everything collbench builds, runs and tests with: the Debian packages below and the
# NVRTC wheel that the GPU kernel-compile test loads. Idempotent: when everything is present it
# only checks (well under a second) and changes nothing.
#
#   scripts/install-deps.sh            install what is missing
#   scripts/install-deps.sh --check    exit 0 when nothing is missing, 1 otherwise; install nothing
#
# Environment:
#   COLLBENCH_SKIP_NVRTC=1        do not install the NVRTC wheel
#   COLLBENCH_NVRTC_PIP_SPEC      pip requirement for it (default: nvidia-cuda-nvrtc~=13.0.0, the CUDA
#                                 13.0 NVRTC: its PTX loads on every driver that runs CUDA 13.0)
#   COLLBENCH_MODULE_CYCLES=0     do not install cargo-cycles (the module-cycle check's tool; on by
#                                 default, see scripts/lib.sh)
# After it ran, `source scripts/lib.sh; export_nvrtc_env` sets COLLBENCH_NVRTC_LIBRARY and
# LD_LIBRARY_PATH for the wheel (the Makefile does this for `make test`).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

# One line per purpose; every package the project's code, scripts and tests use.
DEBIAN_PACKAGES=(
    # build: rsmpi needs an MPI with mpicc and libclang for bindgen
    libopenmpi-dev openmpi-bin libclang-dev clang pkg-config gcc libc6-dev
    # real single-node Slurm with PMIx (libpmix-dev: slurm's mpi/pmix_v4 dlopens its unversioned .so)
    munge slurmctld slurmd slurm-client libpmix-dev
    # the multi-node cluster in network namespaces (ip, tc; unshare and nsenter are util-linux)
    iproute2 util-linux
    # fabric diagnostics: headers for bindgen (the library is loaded at run time); fi_info for tests
    libfabric-dev libfabric-bin
    # libinfinipath: its load-time SIGTERM handler is what tests/accept/crash.rs defends against
    libpsm-infinipath1
    # dashboards: promtool checks our metrics; a pushgateway receives pushes in the tests, and the
    # prometheus server scraping it evaluates the Grafana dashboard's queries (tests/accept/dashboard_live.rs)
    prometheus prometheus-pushgateway
    # tools the scripts and tests call (make: the README's commands; JSON Schema validation of -J
    # output; shell lint)
    make procps hostname python3 python3-jsonschema shellcheck
    # strip and readelf (make gpu-bundle and its test)
    binutils
    # jq: the README's JSON example, run by tests/scripts/docs-commands.sh
    jq
)

check_only=0
[ $# -le 1 ] || die "unexpected argument '$2' after '$1' (accepted: one of --check, --help)"
case "${1:-}" in
--check) check_only=1 ;;
"") ;;
-h | --help)
    sed -n '2,16p' "$0"
    exit 0
    ;;
*) die "unknown argument '$1' (accepted: --check, --help)" ;;
esac

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing_packages() {
    local package
    for package in "${DEBIAN_PACKAGES[@]}"; do
        is_installed "$package" || printf '%s\n' "$package"
    done
}

# apt-get with a bounded wait for the dpkg lock (other engineers or CI may be installing too).
apt_get() {
    DEBIAN_FRONTEND=noninteractive as_root timeout 900 apt-get \
        -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "$@"
}

install_debian_packages() {
    local -a missing
    mapfile -t missing < <(missing_packages)
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    if [ "$check_only" -eq 1 ]; then
        log "missing Debian packages: ${missing[*]}"
        return 1
    fi
    command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]} and no apt-get: install them by hand"
    log "installing Debian packages: ${missing[*]}"

    # No init system runs services here: a policy-rc.d that answers 101 ("action forbidden") keeps
    # postinst scripts from trying to start munge/slurm/prometheus. The previous one is restored.
    policy=/usr/sbin/policy-rc.d
    saved_policy=""
    if [ -e "$policy" ]; then
        saved_policy="$(mktemp)"
        as_root cp -p "$policy" "$saved_policy"
    fi
    restore_policy() {
        if [ -n "$saved_policy" ]; then
            as_root cp -p "$saved_policy" "$policy"
            rm -f "$saved_policy"
        else
            as_root rm -f "$policy"
        fi
    }
    trap restore_policy EXIT
    printf '#!/bin/sh\n# written by collbench scripts/install-deps.sh while installing\nexit 101\n' |
        as_root tee "$policy" >/dev/null
    as_root chmod 0755 "$policy"

    # One `apt-get update` per run, and only because something is missing.
    # dpkg's chatter goes to a log that is shown only when the install fails.
    local apt_log
    apt_log="$(mktemp)"
    if ! { apt_get update -qq && apt_get install -y -qq --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1; then
        tail -n 40 "$apt_log" >&2
        rm -f "$apt_log"
        die "apt-get failed installing: ${missing[*]} (log tail above)"
    fi
    rm -f "$apt_log"

    restore_policy
    trap - EXIT

    mapfile -t missing < <(missing_packages)
    [ "${#missing[@]}" -eq 0 ] || die "still missing after apt-get install: ${missing[*]}"
}

# The NVRTC wheel goes into the project (.whl/, git-ignored) with `pip --target`: no venv, no
# system site-packages touched, removable with `rm -rf .whl`.
install_nvrtc_wheel() {
    [ "${COLLBENCH_SKIP_NVRTC:-0}" = 1 ] && return 0
    if nvrtc_library_path >/dev/null; then
        return 0
    fi
    if [ "$check_only" -eq 1 ]; then
        log "missing: NVRTC wheel under $COLLBENCH_WHEEL_DIR"
        return 1
    fi
    if ! python3 -m pip --version >/dev/null 2>&1; then
        DEBIAN_PACKAGES+=(python3-pip)
        install_debian_packages
    fi
    local spec="${COLLBENCH_NVRTC_PIP_SPEC:-nvidia-cuda-nvrtc~=13.0.0}"
    log "installing $spec into $COLLBENCH_WHEEL_DIR"
    timeout 600 python3 -m pip install --quiet --disable-pip-version-check --no-deps \
        --root-user-action=ignore --upgrade --target "$COLLBENCH_WHEEL_DIR" "$spec"
    nvrtc_library_path >/dev/null || die "pip installed '$spec' but no lib/libnvrtc.so.* under $COLLBENCH_WHEEL_DIR"
}

# cargo-cycles, for the module-cycle check when it is on (lib.sh): built from crates.io the first
# time (about 3 CPU-minutes), a version check afterwards.
cargo_cycles_present() {
    [ "$(cargo-cycles --version 2>/dev/null)" = "cargo-cycles $CARGO_CYCLES_VERSION" ]
}

install_cargo_cycles() {
    [ "$MODULE_CYCLES_CHECK" = 1 ] || return 0
    cargo_cycles_present && return 0
    if [ "$check_only" -eq 1 ]; then
        log "missing: cargo-cycles $CARGO_CYCLES_VERSION (the module-cycle check is on)"
        return 1
    fi
    command -v cargo >/dev/null 2>&1 || return 1
    log "installing cargo-cycles $CARGO_CYCLES_VERSION (cargo install --locked; minutes the first time)"
    timeout 3600 cargo install --quiet --locked cargo-cycles --version "$CARGO_CYCLES_VERSION" ||
        die "cargo install cargo-cycles $CARGO_CYCLES_VERSION failed"
    cargo_cycles_present || die "cargo-cycles $CARGO_CYCLES_VERSION installed but 'cargo-cycles --version' does not report it"
}

check_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        log "cargo not found: install Rust >= 1.85 with rustup (https://rustup.rs); Debian's cargo is too old"
        return 1
    fi
}

status=0
install_debian_packages || status=1
install_nvrtc_wheel || status=1
check_rust || status=1
install_cargo_cycles || status=1
if [ "$status" -eq 0 ] && [ "$check_only" -eq 0 ]; then
    log "all dependencies present (NVRTC: $(nvrtc_library_path || echo skipped))"
fi
exit "$status"
