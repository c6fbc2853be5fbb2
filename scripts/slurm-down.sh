#!/usr/bin/env bash
# Stops the private Slurm that scripts/slurm-up.sh started: cancels its jobs, then stops slurmd,
# slurmctld and munged by the PIDs recorded in $COLLBENCH_SLURM_DIR/pids (never by name), each
# with SIGTERM and, after a bounded wait, SIGKILL. Safe to run twice or on a half-started cluster.
#
#   scripts/slurm-down.sh [DIR]        DIR defaults to $COLLBENCH_SLURM_DIR
#   COLLBENCH_SLURM_KEEP=1             keep DIR (logs) instead of removing it
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

dir="${1:-${COLLBENCH_SLURM_DIR:-}}"
[ -n "$dir" ] || die "no cluster directory: pass it as the argument or set COLLBENCH_SLURM_DIR"
[ -d "$dir" ] || {
    log "$dir does not exist: nothing to stop"
    exit 0
}
[ -d "$dir/pids" ] || die "$dir has no pids/ folder: not a cluster started by slurm-up.sh"

# Cancel whatever still runs, so that slurmstepd processes end with their jobs.
if [ -s "$dir/etc/slurm.conf" ] && [ -s "$dir/pids/slurmctld.pid" ]; then
    export SLURM_CONF="$dir/etc/slurm.conf"
    if timeout 10 scancel --full --quiet --user=root 2>/dev/null; then
        # shellcheck disable=SC2016 # expanded by the inner shell, on each poll
        timeout 20 bash -c 'while [ -n "$(squeue -h -o %i 2>/dev/null)" ]; do sleep 0.5; done' ||
            log "jobs still listed after 20 s; stopping the daemons anyway"
    fi
fi

# Stops one recorded daemon. The pid is trusted only while /proc says it still runs that program,
# so a recycled pid is never signalled.
stop_recorded() {
    local name="$1" pid_file="$dir/pids/$1.pid" pid
    [ -s "$pid_file" ] || return 0
    pid="$(tr -dc '0-9' <"$pid_file")"
    if [ -z "$pid" ] || [ ! -d "/proc/$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$name" ]; then
        rm -f "$pid_file"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    if ! timeout 15 bash -c "while [ -d /proc/$pid ]; do sleep 0.2; done"; then
        log "$name (pid $pid) ignored SIGTERM for 15 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        timeout 5 bash -c "while [ -d /proc/$pid ]; do sleep 0.1; done" || die "$name (pid $pid) survived SIGKILL"
    fi
    rm -f "$pid_file"
    log "stopped $name (pid $pid)"
}

stop_recorded slurmd
stop_recorded slurmctld
stop_recorded munged

if [ "${COLLBENCH_SLURM_KEEP:-0}" = 1 ]; then
    log "kept $dir (COLLBENCH_SLURM_KEEP=1)"
else
    rm -rf "$dir"
fi
