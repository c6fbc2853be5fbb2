# Names, addresses and namespace entry for the multi-node cluster of cluster-up.sh. Source it after
# lib.sh; after `source "$CLUSTER_DIR/cluster.conf"` the functions know the cluster's tag, size and
# host name prefix. A node is named by its number (1..N) or `head`.
# shellcheck shell=bash

CLUSTER_DIR="${COLLBENCH_CLUSTER_DIR:-/tmp/collbench-cluster}"
# shellcheck disable=SC2034 # used by the scripts that source this file
CLUSTER_MAX_NODES=32
# The bridge's subnet: head 10.77.0.1, node i 10.77.0.(10+i). It exists only inside the cluster's
# namespaces (none has a route out), so two clusters may both use it.
# shellcheck disable=SC2034
CLUSTER_PREFIX_LEN=24

cluster_netns() { echo "collbench-${CLUSTER_TAG}-$1"; }
cluster_port() { echo "p-$1"; }
cluster_holder_argv0() { echo "collbench-holder-${CLUSTER_TAG}-$1"; }
cluster_host() {
    if [ "$1" = head ]; then echo "${CLUSTER_PREFIX}-head"; else echo "${CLUSTER_PREFIX}$1"; fi
}
cluster_addr() {
    if [ "$1" = head ]; then echo 10.77.0.1; else echo "10.77.0.$((10 + $1))"; fi
}

# cluster_which HOST: the node number (or head) of a host name; fails for a name not in the cluster.
cluster_which() {
    local i
    [ "$1" != "$(cluster_host head)" ] || {
        echo head
        return 0
    }
    for i in $(seq 1 "$CLUSTER_NODES"); do
        [ "$1" != "$(cluster_host "$i")" ] || {
            echo "$i"
            return 0
        }
    done
    return 1
}

# pid_running PID_FILE PROGRAM: prints the recorded PID while /proc says it still runs PROGRAM.
pid_running() {
    local pid
    [ -s "$1" ] || return 1
    pid="$(tr -dc '0-9' <"$1")"
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && echo "$pid"
}

# holder_pid WHICH: the PID of the process that holds WHICH's namespaces (checked by its argv[0]).
holder_pid() {
    local name pid argv0
    name="$(cluster_host "$1")"
    pid="$(pid_running "$CLUSTER_DIR/pids/holder-$name.pid" sleep)" || return 1
    argv0="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1)"
    [ "$argv0" = "$(cluster_holder_argv0 "$1")" ] && echo "$pid"
}

# in_ns WHICH COMMAND...: runs COMMAND in WHICH's network, UTS and mount namespaces, in the current
# folder, with the cluster's SLURM_CONF.
in_ns() {
    local which="$1" pid
    shift
    pid="$(holder_pid "$which")" || die "$(cluster_host "$which") is not running (no namespace holder): start the cluster with scripts/cluster-up.sh"
    nsenter -t "$pid" -n -u -m --wd="$PWD" env SLURM_CONF="$CLUSTER_DIR/etc/slurm.conf" "$@"
}

# in_ns_words WHICH: the same entry as words, for command strings run by `bash -c` (wait_until).
in_ns_words() {
    local pid
    pid="$(holder_pid "$1")" || die "$(cluster_host "$1") is not running (no namespace holder)"
    echo "nsenter -t $pid -n -u -m env SLURM_CONF=$CLUSTER_DIR/etc/slurm.conf"
}

# cluster_healthy: every holder and daemon of the cluster is running.
cluster_healthy() {
    local which
    pid_running "$CLUSTER_DIR/pids/munged.pid" munged >/dev/null || return 1
    pid_running "$CLUSTER_DIR/pids/slurmctld.pid" slurmctld >/dev/null || return 1
    for which in head $(seq 1 "$CLUSTER_NODES"); do
        holder_pid "$which" >/dev/null || return 1
        [ "$which" = head ] || pid_running "$CLUSTER_DIR/pids/slurmd-$(cluster_host "$which").pid" slurmd >/dev/null || return 1
    done
}
