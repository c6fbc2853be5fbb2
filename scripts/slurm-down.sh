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
# shellcheck source=scripts/slurm-lib.sh
source "$(dirname "$0")/slurm-lib.sh"

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
    cancel_all_jobs
fi

stop_recorded "$dir/pids/slurmd.pid" slurmd
stop_recorded "$dir/pids/slurmctld.pid" slurmctld
stop_recorded "$dir/pids/munged.pid" munged

if [ "${COLLBENCH_SLURM_KEEP:-0}" = 1 ]; then
    log "kept $dir (COLLBENCH_SLURM_KEEP=1)"
else
    rm -rf "$dir"
fi
