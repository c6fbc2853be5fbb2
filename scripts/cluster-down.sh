#!/usr/bin/env bash
# Stops the multi-node cluster of scripts/cluster-up.sh: cancels its jobs, stops every slurmd,
# slurmctld and munged by the PIDs recorded in DIR/pids (never by name), ends whatever still runs
# inside the cluster's own network namespaces (job steps of a node whose link was cut, namespace
# holders) by PID, deletes those namespaces and removes DIR. Safe to run twice, on a half-started
# cluster and after a crash.
#
#   scripts/cluster-down.sh [DIR]      DIR defaults to $COLLBENCH_CLUSTER_DIR, else /tmp/collbench-cluster
#   COLLBENCH_CLUSTER_KEEP=1           keep DIR (logs) instead of removing it
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/slurm-lib.sh
source "$(dirname "$0")/slurm-lib.sh"
# shellcheck source=scripts/cluster-lib.sh
source "$(dirname "$0")/cluster-lib.sh"

CLUSTER_DIR="${1:-$CLUSTER_DIR}"
dir="$CLUSTER_DIR"
[ -d "$dir" ] || {
    log "$dir does not exist: nothing to stop"
    exit 0
}
[ -e "$dir/cluster.conf" ] || die "$dir has no cluster.conf: not a cluster started by cluster-up.sh"
# shellcheck source=/dev/null
source "$dir/cluster.conf"

if pid_running "$dir/pids/slurmctld.pid" slurmctld >/dev/null && holder_pid head >/dev/null; then
    # shellcheck disable=SC2046 # the nsenter words
    cancel_all_jobs $(in_ns_words head)
fi
for pid_file in "$dir"/pids/slurmd-*.pid; do
    [ -e "$pid_file" ] && stop_recorded "$pid_file" slurmd
done
stop_recorded "$dir/pids/slurmctld.pid" slurmctld
stop_recorded "$dir/pids/munged.pid" munged

# Everything else that runs in the cluster's namespaces was started by it: the holders, and job
# steps that outlived their slurmd (a node cut off mid-job).
namespaces=()
[ ! -s "$dir/netns" ] || mapfile -t namespaces <"$dir/netns"
ns_pids() {
    local ns
    for ns in ${namespaces[@]+"${namespaces[@]}"}; do
        [ ! -e "/run/netns/$ns" ] || ip netns pids "$ns" 2>/dev/null || true
    done
}
pids="$(ns_pids | tr '\n' ' ')"
if [ -n "${pids// /}" ]; then
    # shellcheck disable=SC2086 # a list of PIDs
    kill -TERM $pids 2>/dev/null || true
    # shellcheck disable=SC2016 # expanded by the inner shell
    if ! timeout 10 bash -c 'for p in $1; do while [ -d /proc/$p ]; do sleep 0.1; done; done' _ "$pids"; then
        log "still running 10 s after SIGTERM in the cluster's namespaces: $(ns_pids | tr '\n' ' '); SIGKILL"
        # shellcheck disable=SC2046
        kill -KILL $(ns_pids) 2>/dev/null || true
        # shellcheck disable=SC2016
        timeout 10 bash -c 'for p in $1; do while [ -d /proc/$p ]; do sleep 0.1; done; done' _ "$pids" ||
            die "processes survived SIGKILL in the cluster's namespaces: $(ns_pids | tr '\n' ' ')"
    fi
fi
for ns in ${namespaces[@]+"${namespaces[@]}"}; do
    [ ! -e "/run/netns/$ns" ] || ip netns del "$ns" || die "could not delete network namespace $ns"
done
rm -f "$dir"/pids/holder-*.pid
log "stopped the cluster in $dir (${#namespaces[@]} namespaces removed)"

if [ "${COLLBENCH_CLUSTER_KEEP:-0}" = 1 ]; then
    log "kept $dir (COLLBENCH_CLUSTER_KEEP=1)"
else
    rm -rf "$dir"
fi
