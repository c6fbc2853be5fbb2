#!/usr/bin/env bash
# Container recipe step 2: the EFA user-space software (libfabric with the efa provider, Open MPI,
# the aws-ofi-nccl plugin) from AWS's EFA installer, without the kernel module (the host has it).
# Skipped when /opt/amazon/efa is already there (a base image that ships it).
#   containers/install-efa.sh [VERSION]   (default latest)
set -euo pipefail
version="${1:-latest}"
if [ -e /opt/amazon/efa/lib/libfabric.so.1 ] || [ -e /opt/amazon/efa/lib64/libfabric.so.1 ]; then
    echo "[install-efa] /opt/amazon/efa already present: nothing to do"
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
curl -fsSL -o "$work/efa.tar.gz" "https://efa-installer.amazonaws.com/aws-efa-installer-${version}.tar.gz"
tar -xzf "$work/efa.tar.gz" -C "$work"
# --skip-kmod: no kernel module in a container; --skip-limit-conf: the host sets memlock limits;
# --no-verify: there is no EFA device at image build time.
(cd "$work/aws-efa-installer" && ./efa_installer.sh -y --skip-kmod --skip-limit-conf --no-verify)
echo "[install-efa] installed EFA software $version under /opt/amazon"
