#!/usr/bin/env bash
# Starts a real single-node Slurm (slurmctld + slurmd, auth by munge, MPI through PMIx) in a
# private directory, without touching /etc/slurm or /etc/munge, and waits until its node is idle.
#
#   eval "$(scripts/slurm-up.sh)"      # exports SLURM_CONF and COLLBENCH_SLURM_DIR
#   srun --mpi=pmix -n 4 ./prog        # always under `timeout` in scripts
#   scripts/slurm-down.sh              # stops the daemons by the PIDs recorded here
#
# Everything lives in COLLBENCH_SLURM_DIR (default: a new /tmp/collbench-slurm.XXXXXX): munge key,
# socket and log; slurm.conf, cgroup.conf, mpi.conf; state, spool, logs; pids/*.pid. Ports are
# picked free at start, so several such clusters (other worktrees, CI) can run side by side.
# Stdout carries only the `export` lines; progress goes to stderr. Needs root (slurmd does) and the
# packages of scripts/install-deps.sh. On any failure it stops what it started and exits non-zero.
#
# Environment: COLLBENCH_SLURM_CPUS (CPUs the node advertises, default 8: more than the real cores,
# accepted thanks to SlurmdParameters=config_overrides), COLLBENCH_SLURM_START_TIMEOUT (seconds to
# wait for each daemon and for the node to be idle, default 60), COLLBENCH_SLURM_GPUS (default 0: no
# GRES at all, as HyperPod's slurm.conf; N: GresTypes=gpu and the node has N GPUs as GRES, counted
# without device files since there is no GPU here, so jobs can ask --gpus-per-node and get
# SLURM_GPUS_ON_NODE as on a cluster with GPU GRES).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/slurm-lib.sh
source "$(dirname "$0")/slurm-lib.sh"

cpus="${COLLBENCH_SLURM_CPUS:-8}"
gpus="${COLLBENCH_SLURM_GPUS:-0}"
case "$gpus" in '' | *[!0-9]*) die "COLLBENCH_SLURM_GPUS='$gpus': expected a number of GPUs (0: no GRES)" ;; esac
start_timeout="${COLLBENCH_SLURM_START_TIMEOUT:-60}"
case "$cpus" in '' | *[!0-9]* | 0) die "COLLBENCH_SLURM_CPUS='$cpus': expected a positive integer" ;; esac
case "$start_timeout" in '' | *[!0-9]* | 0) die "COLLBENCH_SLURM_START_TIMEOUT='$start_timeout': expected a positive number of seconds" ;; esac

[ "$(id -u)" -eq 0 ] || die "slurmd must run as root (uid is $(id -u)): run this as root"
for tool in munged slurmctld slurmd sinfo srun runuser python3; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found: run scripts/install-deps.sh first"
done
id munge >/dev/null 2>&1 || die "no user 'munge': the munge package is not installed (scripts/install-deps.sh)"
# Slurm's mpi/pmix_v4 plugin dlopens the unversioned libpmix.so that only libpmix-dev ships.
ls /usr/lib/x86_64-linux-gnu/pmix2/lib/libpmix.so /usr/lib/*/pmix2/lib/libpmix.so >/dev/null 2>&1 ||
    die "no pmix2/lib/libpmix.so: install libpmix-dev (srun --mpi=pmix fails without it)"

dir="${COLLBENCH_SLURM_DIR:-}"
if [ -z "$dir" ]; then
    dir="$(mktemp -d /tmp/collbench-slurm.XXXXXX)"
else
    [ ! -e "$dir/pids" ] || die "COLLBENCH_SLURM_DIR=$dir already holds a cluster (pids/): stop it with scripts/slurm-down.sh first"
    # slurm-down.sh (also the cleanup of a failed start) removes the whole folder: never adopt one
    # that holds anything else.
    if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null || echo unreadable)" ]; then
        die "COLLBENCH_SLURM_DIR=$dir exists and is not empty; slurm-down.sh removes the whole folder, so give a new or empty one"
    fi
    mkdir -p "$dir"
fi
dir="$(cd "$dir" && pwd)"
# munged (user munge) must traverse it; job steps read slurm.conf.
chmod 0755 "$dir"
mkdir -p "$dir/etc" "$dir/state" "$dir/spool" "$dir/log" "$dir/pids" "$dir/tmp" "$dir/munge"
chmod 1777 "$dir/tmp"

started_ok=0
cleanup_on_failure() {
    if [ "$started_ok" -ne 1 ]; then
        log "start failed; logs in $dir/log and $dir/munge; stopping what was started"
        for f in "$dir"/log/*.log "$dir"/munge/munged.log; do
            [ -s "$f" ] && { echo "--- $f (tail)" >&2; tail -n 15 "$f" >&2; }
        done
        COLLBENCH_SLURM_DIR="$dir" "$COLLBENCH_ROOT/scripts/slurm-down.sh" >&2 || true
    fi
}
trap cleanup_on_failure EXIT

# ---- munge: private key, socket, pid and log; runs as user munge --------------------------------
start_munged "$dir" "$start_timeout"
munge_socket="$dir/munge/munge.socket"
log "munged up (pid $(cat "$dir/pids/munged.pid"))"

# ---- slurm.conf ---------------------------------------------------------------------------------
node="$(hostname -s)"
ctld_port="$(free_port)"
slurmd_port="$(free_port)"
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port="$(free_port)"; done
first_job_id="$(random_first_job_id)"

cat >"$dir/etc/slurm.conf" <<CONF
# Written by collbench scripts/slurm-up.sh: a private single-node cluster for tests.
ClusterName=collbench
SlurmctldHost=${node}(127.0.0.1)
SlurmctldPort=${ctld_port}
SlurmdPort=${slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${munge_socket}
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/pids/slurmctld.pid
SlurmdPidFile=${dir}/pids/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
TmpFS=${dir}/tmp
FirstJobId=${first_job_id}
$(slurm_conf_policy)
$([ "$gpus" -eq 0 ] || echo "GresTypes=gpu")
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus}$([ "$gpus" -eq 0 ] || echo " Gres=gpu:${gpus}") State=UNKNOWN
PartitionName=local Nodes=${node} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF

# autodetect picked cgroup v2 on these machines and slurmd died ("Hybrid mode is not supported").
cat >"$dir/etc/cgroup.conf" <<CONF
CgroupPlugin=cgroup/v1
CONF
# PMIx's per-step client directories go under our private tmp, not a shared /tmp path.
cat >"$dir/etc/mpi.conf" <<CONF
PMIxCliTmpDirBase=${dir}/tmp
CONF
: >"$dir/etc/plugstack.conf"
if [ "$gpus" -gt 0 ]; then
    # There is no GPU here: stand-in device files (character devices with /dev/null's numbers,
    # reading them reads nothing) for slurmd to count, so the allocation and SLURM_GPUS_ON_NODE are
    # what a cluster with GPU GRES gives. slurmd reports 0 GPUs for a gres.conf without File=.
    mkdir -p "$dir/dev"
    for ((i = 0; i < gpus; i++)); do
        mknod -m 0666 "$dir/dev/gpu$i" c 1 3
    done
    echo "NodeName=${node} Name=gpu File=${dir}/dev/gpu[0-$((gpus - 1))]" >"$dir/etc/gres.conf"
fi
chmod 0644 "$dir"/etc/*.conf
export SLURM_CONF="$dir/etc/slurm.conf"

# ---- daemons ------------------------------------------------------------------------------------
# Both daemonise and write their pid files (paths above); stop them with slurm-down.sh.
slurmctld -f "$SLURM_CONF" -i >"$dir/log/slurmctld.out" 2>&1 ||
    die "slurmctld failed to start (see $dir/log/slurmctld.log)"
wait_until "$start_timeout" "slurmctld's pid file" "[ -s '$dir/pids/slurmctld.pid' ]"
wait_until "$start_timeout" "slurmctld to answer" "scontrol ping 2>/dev/null | grep -q 'is UP'"
log "slurmctld up (pid $(cat "$dir/pids/slurmctld.pid"), port $ctld_port)"

slurmd -f "$SLURM_CONF" -N "$node" >"$dir/log/slurmd.out" 2>&1 ||
    die "slurmd failed to start (see $dir/log/slurmd.log)"
wait_until "$start_timeout" "slurmd's pid file" "[ -s '$dir/pids/slurmd.pid' ]"
wait_until "$start_timeout" "node $node to be idle" "sinfo -h -n '$node' -o %T 2>/dev/null | grep -qx idle"
log "slurmd up (pid $(cat "$dir/pids/slurmd.pid")); node $node idle with $cpus CPUs$([ "$gpus" -eq 0 ] || echo " and $gpus GPUs as GRES")"

cat >"$dir/env.sh" <<ENV
export SLURM_CONF='$SLURM_CONF'
export COLLBENCH_SLURM_DIR='$dir'
ENV
cat "$dir/env.sh"
started_ok=1
