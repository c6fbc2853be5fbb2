#!/usr/bin/env bash
# Starts a real multi-node Slurm on this one machine: N nodes, each a network namespace (its own
# address on a bridge) plus a UTS and mount namespace (its own hostname, /etc/hosts and PMIx
# folder), one slurmd per node, slurmctld on a head namespace, munge, MPI through PMIx. Open MPI
# traffic between nodes goes over TCP on the bridge. Nothing is added to the machine's own network
# namespace: the bridge lives in a namespace of its own, and no namespace has a route out.
#
#   scripts/cluster-up.sh 4                 # or: make cluster-up NODES=4
#   scripts/cluster-exec.sh srun -N 4 --ntasks-per-node=2 --mpi=pmix hostname
#   scripts/cluster-down.sh                 # or: make cluster-down
#
# Environment:
#   COLLBENCH_CLUSTER_DIR     state folder (default /tmp/collbench-cluster): config, munge, logs,
#                             pids/*.pid of every daemon and namespace holder
#   COLLBENCH_CLUSTER_PREFIX  node host names PREFIX1..PREFIXN, head PREFIX-head (default node)
#   COLLBENCH_CLUSTER_CPUS    CPUs each node advertises (default 4)
#   COLLBENCH_CLUSTER_START_TIMEOUT  seconds to wait for each daemon and for the nodes (default 60)
#
# Idempotent: when the folder holds a healthy cluster of the same size it only prints its env. A
# folder left by a crash (a daemon or holder gone) is torn down and started afresh. Stdout carries
# only the `export` lines (also in DIR/env.sh); progress goes to stderr. Needs root.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/slurm-lib.sh
source "$(dirname "$0")/slurm-lib.sh"
# shellcheck source=scripts/cluster-lib.sh
source "$(dirname "$0")/cluster-lib.sh"

nodes="${1:-${NODES:-4}}"
cpus="${COLLBENCH_CLUSTER_CPUS:-4}"
prefix="${COLLBENCH_CLUSTER_PREFIX:-node}"
start_timeout="${COLLBENCH_CLUSTER_START_TIMEOUT:-60}"
case "$nodes" in '' | *[!0-9]*) die "node count '$nodes': expected an integer from 2 to $CLUSTER_MAX_NODES" ;; esac
if [ "$nodes" -lt 2 ] || [ "$nodes" -gt "$CLUSTER_MAX_NODES" ]; then
    die "node count $nodes: expected an integer from 2 to $CLUSTER_MAX_NODES"
fi
case "$cpus" in '' | *[!0-9]* | 0) die "COLLBENCH_CLUSTER_CPUS='$cpus': expected a positive integer" ;; esac
case "$start_timeout" in '' | *[!0-9]* | 0) die "COLLBENCH_CLUSTER_START_TIMEOUT='$start_timeout': expected a positive number of seconds" ;; esac
[[ "$prefix" =~ ^[a-z][a-z0-9]{0,15}$ ]] ||
    die "COLLBENCH_CLUSTER_PREFIX='$prefix': expected a lower-case letter then up to 15 letters or digits"

[ "$(id -u)" -eq 0 ] || die "namespaces and slurmd need root (uid is $(id -u)): run this as root"
for tool in ip tc unshare nsenter munged slurmctld slurmd sinfo srun runuser python3; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found: run scripts/install-deps.sh first"
done
id munge >/dev/null 2>&1 || die "no user 'munge': the munge package is not installed (scripts/install-deps.sh)"
ls /usr/lib/*/pmix2/lib/libpmix.so >/dev/null 2>&1 ||
    die "no pmix2/lib/libpmix.so: install libpmix-dev (srun --mpi=pmix fails without it)"

dir="$CLUSTER_DIR"
if [ -e "$dir/cluster.conf" ]; then
    # shellcheck source=/dev/null
    source "$dir/cluster.conf"
    if cluster_healthy; then
        [ "$CLUSTER_NODES" = "$nodes" ] ||
            die "$dir already holds a running cluster of $CLUSTER_NODES nodes (asked for $nodes): stop it with scripts/cluster-down.sh first"
        log "cluster in $dir is already up ($CLUSTER_NODES nodes)"
        cat "$dir/env.sh"
        exit 0
    fi
    log "$dir holds a cluster that is not healthy (a crash?): tearing it down, then starting afresh"
    "$COLLBENCH_ROOT/scripts/cluster-down.sh" "$dir" >&2
elif [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null || echo unreadable)" ]; then
    die "COLLBENCH_CLUSTER_DIR=$dir exists, is not empty and holds no cluster; cluster-down.sh removes the whole folder, so give a new or empty one"
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
CLUSTER_DIR="$dir"
chmod 0755 "$dir" # munged (user munge) traverses it; job steps read slurm.conf
mkdir -p "$dir/etc" "$dir/state" "$dir/log" "$dir/pids" "$dir/tmp" "$dir/nodes"
chmod 1777 "$dir/tmp"

# The tag keeps the namespace names of two clusters (two worktrees, CI) apart.
tag="$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat >"$dir/cluster.conf" <<CONF
CLUSTER_TAG=$tag
CLUSTER_NODES=$nodes
CLUSTER_PREFIX=$prefix
CONF
# shellcheck source=/dev/null
source "$dir/cluster.conf"

started_ok=0
cleanup_on_failure() {
    if [ "$started_ok" -ne 1 ]; then
        log "start failed; logs in $dir/log; stopping what was started"
        for f in "$dir"/log/*.log "$dir"/munge/munged.log; do
            [ -s "$f" ] && { echo "--- $f (tail)" >&2; tail -n 15 "$f" >&2; }
        done
        "$COLLBENCH_ROOT/scripts/cluster-down.sh" "$dir" >&2 || true
    fi
}
trap cleanup_on_failure EXIT

# ---- network: a bridge in its own namespace, one veth to each node and to the head --------------
bridge_ns="$(cluster_netns bridge)"
# Recorded before creation so that cluster-down.sh removes even a half-made set.
{
    echo "$bridge_ns"
    cluster_netns head
    for i in $(seq 1 "$nodes"); do cluster_netns "$i"; done
} >"$dir/netns"
while read -r ns; do
    [ ! -e "/run/netns/$ns" ] || die "network namespace $ns exists already (another cluster with tag $tag?)"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done <"$dir/netns"
ip -n "$bridge_ns" link add br0 type bridge
ip -n "$bridge_ns" link set br0 up

hosts="$dir/etc/hosts"
printf '127.0.0.1\tlocalhost\n%s\t%s\n' "$(cluster_addr head)" "$(cluster_host head)" >"$hosts"
for i in $(seq 1 "$nodes"); do printf '%s\t%s\n' "$(cluster_addr "$i")" "$(cluster_host "$i")" >>"$hosts"; done
chmod 0644 "$hosts"

# attach WHICH: a veth from the bridge (port p-WHICH) to the namespace (eth0) with its address.
attach() {
    local which="$1" ns port
    ns="$(cluster_netns "$which")"
    port="$(cluster_port "$which")"
    ip -n "$bridge_ns" link add "$port" type veth peer name eth0 netns "$ns"
    ip -n "$bridge_ns" link set "$port" master br0 up
    ip -n "$ns" addr add "$(cluster_addr "$which")/$CLUSTER_PREFIX_LEN" dev eth0
    ip -n "$ns" link set eth0 up
}

# A holder per namespace keeps its UTS and mount namespaces: hostname, the cluster's /etc/hosts and
# a private PMIx folder bound over DIR/tmp (every slurmd needs its own, or PMIx fails with "File
# exists"). Daemons are started into them with nsenter; a daemon that crashes leaves the node.
start_holder() {
    local which="$1" name ns pmix
    name="$(cluster_host "$which")"
    ns="$(cluster_netns "$which")"
    pmix="$dir/nodes/$name/pmix"
    mkdir -p "$pmix"
    chmod 1777 "$pmix"
    # shellcheck disable=SC2016 # expanded by the holder's shell
    setsid ip netns exec "$ns" unshare --uts --mount --propagation private -- bash -c '
        hostname "$1" && mount --bind "$2" /etc/hosts && mount --bind "$3" "$4" || exit 1
        echo $$ >"$5"
        exec -a "$6" sleep infinity' _ "$name" "$hosts" "$pmix" "$dir/tmp" "$dir/pids/holder-$name.pid" \
        "$(cluster_holder_argv0 "$which")" </dev/null >"$dir/log/holder-$name.log" 2>&1 &
}

attach head
start_holder head
for i in $(seq 1 "$nodes"); do
    attach "$i"
    start_holder "$i"
done
for which in head $(seq 1 "$nodes"); do
    wait_until "$start_timeout" "the namespace holder of $(cluster_host "$which")" \
        "[ -s '$dir/pids/holder-$(cluster_host "$which").pid' ]"
done
log "namespaces up: $bridge_ns (bridge), head and $nodes nodes on $(cluster_addr head)/$CLUSTER_PREFIX_LEN"

# ---- munge (a unix socket: reachable from every namespace) and slurm.conf ------------------------
start_munged "$dir" "$start_timeout"
log "munged up (pid $(cat "$dir/pids/munged.pid"))"

head_host="$(cluster_host head)"
node_range="${prefix}[1-$nodes]"
cat >"$dir/etc/slurm.conf" <<CONF
# Written by collbench scripts/cluster-up.sh: a private $nodes-node cluster in network namespaces.
ClusterName=collbench
SlurmctldHost=${head_host}($(cluster_addr head))
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${dir}/munge/munge.socket
StateSaveLocation=${dir}/state
# %n: every node's slurmd has its own spool, pid and log.
SlurmdSpoolDir=${dir}/spool-%n
SlurmctldPidFile=${dir}/pids/slurmctld.pid
SlurmdPidFile=${dir}/pids/slurmd-%n.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
TmpFS=${dir}/tmp
FirstJobId=$(random_first_job_id)
$(slurm_conf_policy)
CONF
for i in $(seq 1 "$nodes"); do
    echo "NodeName=$(cluster_host "$i") NodeAddr=$(cluster_addr "$i") CPUs=$cpus State=UNKNOWN" >>"$dir/etc/slurm.conf"
done
echo "PartitionName=local Nodes=$node_range Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO" >>"$dir/etc/slurm.conf"
# autodetect picked cgroup v2 on these machines and slurmd died ("Hybrid mode is not supported").
echo "CgroupPlugin=cgroup/v1" >"$dir/etc/cgroup.conf"
# DIR/tmp is a different folder on every node (the holder's bind mount).
echo "PMIxCliTmpDirBase=$dir/tmp" >"$dir/etc/mpi.conf"
: >"$dir/etc/plugstack.conf"
chmod 0644 "$dir"/etc/*.conf
cat >"$dir/env.sh" <<ENV
export SLURM_CONF='$dir/etc/slurm.conf'
export COLLBENCH_CLUSTER_DIR='$dir'
ENV

# ---- daemons: slurmctld in the head, one slurmd per node ---------------------------------------
in_ns head slurmctld -i >"$dir/log/slurmctld.out" 2>&1 || die "slurmctld failed to start (see $dir/log/slurmctld.log)"
wait_until "$start_timeout" "slurmctld's pid file" "[ -s '$dir/pids/slurmctld.pid' ]"
wait_until "$start_timeout" "slurmctld to answer" "$(in_ns_words head) scontrol ping 2>/dev/null | grep -q 'is UP'"
log "slurmctld up on $head_host (pid $(cat "$dir/pids/slurmctld.pid"))"
for i in $(seq 1 "$nodes"); do
    name="$(cluster_host "$i")"
    in_ns "$i" slurmd >"$dir/log/slurmd-$name.out" 2>&1 || die "slurmd on $name failed to start (see $dir/log/slurmd-$name.log)"
done
for i in $(seq 1 "$nodes"); do
    wait_until "$start_timeout" "slurmd's pid file on $(cluster_host "$i")" "[ -s '$dir/pids/slurmd-$(cluster_host "$i").pid' ]"
done
wait_until "$start_timeout" "all $nodes nodes to be idle" \
    "[ \"\$($(in_ns_words head) sinfo -h -N -t idle -o %N 2>/dev/null | sort -u | wc -l)\" -eq $nodes ]"
log "$nodes nodes idle: $($(in_ns_words head) sinfo -h -o '%N %T')"

cat "$dir/env.sh"
started_ok=1
