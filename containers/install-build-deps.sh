#!/usr/bin/env bash
# Container recipe step 1: what building collbench needs on a Debian/Ubuntu base (compiler,
# pkg-config, libclang for bindgen, NCCL from NVIDIA's apt repository when the base has it
# configured, as the CUDA images do), and a Rust toolchain through rustup when there is no cargo.
# Idempotent: installs only what is missing.
#   containers/install-build-deps.sh [RUST_VERSION]
set -euo pipefail
rust_version="${1:-stable}"
export DEBIAN_FRONTEND=noninteractive

packages=(build-essential ca-certificates curl pkg-config libclang-dev git)
# NCCL: the CUDA images' apt source (developer.download.nvidia.com) carries libnccl2/libnccl-dev.
if apt-cache show libnccl2 >/dev/null 2>&1; then
    packages+=(libnccl2 libnccl-dev)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
    rm -rf /var/lib/apt/lists/*
fi
echo "[install-build-deps] packages present: ${packages[*]}"

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs |
        sh -s -- -y --profile minimal --default-toolchain "$rust_version"
fi
PATH="$HOME/.cargo/bin:$PATH" cargo --version
