#!/usr/bin/env bash
# Real faults on a node of the multi-node cluster of scripts/cluster-up.sh (no test hooks): its link
# shaped slow, its link down, its processes killed. NODE is a node number (1..N) or host name.
#
#   scripts/cluster-fault.sh slow NODE [RATE]   shape the node's link both ways with tbf (default 200mbit)
#   scripts/cluster-fault.sh restore NODE       remove the shaping
#   scripts/cluster-fault.sh link NODE down|up  set the node's bridge port down (its TCP flows stall) or up
#   scripts/cluster-fault.sh kill NODE PROGRAM  SIGKILL every process named PROGRAM running on the node
#
# COLLBENCH_CLUSTER_DIR: the cluster's folder (default /tmp/collbench-cluster).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/cluster-lib.sh
source "$(dirname "$0")/cluster-lib.sh"

usage="usage: cluster-fault.sh slow NODE [RATE] | restore NODE | link NODE down|up | kill NODE PROGRAM"
[ $# -ge 2 ] || die "$usage"
[ -e "$CLUSTER_DIR/cluster.conf" ] || die "no cluster in $CLUSTER_DIR: start one with scripts/cluster-up.sh (or set COLLBENCH_CLUSTER_DIR)"
# shellcheck source=/dev/null
source "$CLUSTER_DIR/cluster.conf"
action="$1"
which="$2"
if ! [[ "$which" =~ ^[0-9]+$ && "$which" -ge 1 && "$which" -le "$CLUSTER_NODES" ]]; then
    which="$(cluster_which "$2")" && [ "$which" != head ] ||
        die "node '$2': expected a node number 1..$CLUSTER_NODES or one of the host names $(cluster_host 1)..$(cluster_host "$CLUSTER_NODES")"
fi
node_ns="$(cluster_netns "$which")"
bridge_ns="$(cluster_netns bridge)"
port="$(cluster_port "$which")"

case "$action" in
slow)
    rate="${3:-200mbit}"
    [[ "$rate" =~ ^[0-9]+(bit|kbit|mbit|gbit)$ ]] || die "rate '$rate': expected a number with bit, kbit, mbit or gbit (e.g. 200mbit)"
    # Both directions: the node's egress (its eth0) and the bridge's egress towards it (its port).
    ip netns exec "$node_ns" tc qdisc replace dev eth0 root tbf rate "$rate" burst 64kb latency 50ms
    ip netns exec "$bridge_ns" tc qdisc replace dev "$port" root tbf rate "$rate" burst 64kb latency 50ms
    log "$(cluster_host "$which"): link shaped to $rate both ways"
    ;;
restore)
    ip netns exec "$node_ns" tc qdisc del dev eth0 root 2>/dev/null || true
    ip netns exec "$bridge_ns" tc qdisc del dev "$port" root 2>/dev/null || true
    log "$(cluster_host "$which"): link shaping removed"
    ;;
link)
    case "${3:-}" in down | up) ;; *) die "link $2 '${3:-}': expected down or up" ;; esac
    ip -n "$bridge_ns" link set "$port" "$3"
    log "$(cluster_host "$which"): bridge port $port $3"
    ;;
kill)
    program="${3:-}"
    [ -n "$program" ] || die "kill $2: name the program whose processes to kill (as in /proc/PID/comm)"
    killed=()
    for pid in $(ip netns pids "$node_ns"); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$program" ] || continue
        kill -KILL "$pid" 2>/dev/null && killed+=("$pid")
    done
    [ "${#killed[@]}" -gt 0 ] || die "no process named '$program' runs on $(cluster_host "$which")"
    log "$(cluster_host "$which"): killed $program (pids ${killed[*]})"
    ;;
*) die "unknown action '$action': $usage" ;;
esac
