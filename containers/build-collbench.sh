#!/usr/bin/env bash
# Container recipe step 3: builds collbench (release, --features mpi,fabric) from SRC and installs
# it under PREFIX (the multi-call binary and every name it answers to: scripts/install.sh), then
# checks that the installed names run. MPI comes from the mpicc on PATH, or the EFA installer's
# Open MPI (/opt/amazon/openmpi); libfabric's headers from pkg-config, including the EFA
# installer's /opt/amazon/efa. Also runs outside a container (tests/scripts/container-recipe.sh).
#   containers/build-collbench.sh SRC PREFIX
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 SRC PREFIX (got: $*)" >&2; exit 2; }
src="$(cd "$1" && pwd)"
prefix="$2"
case "$prefix" in /*) ;; *) echo "PREFIX '$prefix' must be an absolute path" >&2; exit 2 ;; esac

export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v mpicc >/dev/null 2>&1 && [ -x /opt/amazon/openmpi/bin/mpicc ]; then
    export PATH="/opt/amazon/openmpi/bin:$PATH"
fi
command -v mpicc >/dev/null 2>&1 || { echo "no mpicc on PATH or in /opt/amazon/openmpi/bin" >&2; exit 1; }
for pc in /opt/amazon/efa/lib/pkgconfig /opt/amazon/efa/lib64/pkgconfig; do
    [ ! -d "$pc" ] || export PKG_CONFIG_PATH="$pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
done
pkg-config --exists libfabric || { echo "no libfabric headers (pkg-config libfabric)" >&2; exit 1; }
echo "[build-collbench] mpicc $(command -v mpicc); libfabric $(pkg-config --modversion libfabric)"

cd "$src"
cargo build --release --features mpi,fabric --bin collbench
COLLBENCH_BIN_DIR="${CARGO_TARGET_DIR:-$src/target}/release" scripts/install.sh "$prefix"

# The installed names answer: the umbrella, a per-collective name and nccl-tests' name.
for name in collbench allreduce-perf all_reduce_perf; do
    "$prefix/bin/$name" --version
done
echo "[build-collbench] installed under $prefix"
