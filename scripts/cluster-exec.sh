#!/usr/bin/env bash
# Runs a command on the multi-node cluster of scripts/cluster-up.sh: in the head's namespaces (where
# srun, sbatch, squeue and scontrol reach slurmctld and resolve the node names) or, with --node, in
# one node's. The current folder and environment are kept; SLURM_CONF is the cluster's.
#
#   scripts/cluster-exec.sh srun -N 4 --ntasks-per-node=2 --mpi=pmix hostname
#   scripts/cluster-exec.sh --node 2 ip -br addr
#   scripts/cluster-exec.sh bash           # a shell on the head node
#
# COLLBENCH_CLUSTER_DIR: the cluster's folder (default /tmp/collbench-cluster).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/cluster-lib.sh
source "$(dirname "$0")/cluster-lib.sh"

[ -e "$CLUSTER_DIR/cluster.conf" ] || die "no cluster in $CLUSTER_DIR: start one with scripts/cluster-up.sh (or set COLLBENCH_CLUSTER_DIR)"
# shellcheck source=/dev/null
source "$CLUSTER_DIR/cluster.conf"
which="head"
if [ "${1:-}" = --node ]; then
    [ $# -ge 2 ] || die "--node needs a node number (1..$CLUSTER_NODES) or host name"
    which="$2"
    shift 2
    if ! [[ "$which" =~ ^[0-9]+$ && "$which" -ge 1 && "$which" -le "$CLUSTER_NODES" ]]; then
        which="$(cluster_which "$which")" ||
            die "--node '$2': expected a node number 1..$CLUSTER_NODES or one of the host names $(cluster_host 1)..$(cluster_host "$CLUSTER_NODES")"
    fi
fi
[ $# -ge 1 ] || die "no command given (usage: cluster-exec.sh [--node N] COMMAND...)"
in_ns "$which" "$@"
