#!/usr/bin/env bash
# scripts/slurm-up.sh and slurm-down.sh themselves:
#   1. two clusters side by side (own munge, ports, state): both reach idle and run a job step;
#   2. slurm-down stops every recorded daemon (the PIDs are gone afterwards), removes the folder,
#      and a second slurm-down is harmless;
#   3. a start that fails half-way (slurmd replaced by one that dies) exits non-zero and stops the
#      munged and slurmctld it had already started;
#   4. bad settings are refused before anything starts.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
up="$root/scripts/slurm-up.sh"
down="$root/scripts/slurm-down.sh"
work="$(mktemp -d /tmp/collbench-lifecycle.XXXXXX)"
chmod 0755 "$work"
cleanup() {
    for cluster in "$work"/a "$work"/b "$work"/broken; do
        if [ -d "$cluster/pids" ]; then COLLBENCH_SLURM_DIR="$cluster" "$down" >/dev/null 2>&1 || true; fi
    done
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
alive() { [ -d "/proc/$1" ]; }

# 1. Two at once.
COLLBENCH_SLURM_DIR="$work/a" timeout 120 "$up" >"$work/a.env"
COLLBENCH_SLURM_DIR="$work/b" timeout 120 "$up" >"$work/b.env"
for cluster in a b; do
    (
        # shellcheck source=/dev/null
        source "$work/$cluster.env"
        # shellcheck disable=SC2016 # expanded by each task
        out="$(timeout 60 srun -n 2 bash -c 'echo "$SLURM_CLUSTER_NAME $SLURM_JOB_ID $SLURM_PROCID"')"
        [ "$(wc -l <<<"$out")" -eq 2 ] || fail "cluster $cluster: srun -n 2 printed: $out"
        echo "cluster $cluster ($SLURM_CONF): $(tr '\n' ';' <<<"$out")"
    )
done
port_a="$(grep -oP '^SlurmctldPort=\K\d+' "$work/a/etc/slurm.conf")"
port_b="$(grep -oP '^SlurmctldPort=\K\d+' "$work/b/etc/slurm.conf")"
[ "$port_a" != "$port_b" ] || fail "both clusters on port $port_a"

# 2. Down stops what up recorded.
pids=()
for daemon in slurmd slurmctld munged; do pids+=("$(cat "$work/a/pids/$daemon.pid")"); done
COLLBENCH_SLURM_DIR="$work/a" timeout 120 "$down"
for pid in "${pids[@]}"; do
    if alive "$pid"; then fail "pid $pid still alive after slurm-down"; fi
done
[ ! -e "$work/a" ] || fail "slurm-down left $work/a"
COLLBENCH_SLURM_DIR="$work/a" timeout 30 "$down" || fail "a second slurm-down failed"
# The other cluster is untouched and still schedules.
(
    # shellcheck source=/dev/null
    source "$work/b.env"
    timeout 60 srun -n 1 true || fail "cluster b stopped working when a was stopped"
)
COLLBENCH_SLURM_DIR="$work/b" timeout 120 "$down"
echo "two clusters up side by side, each stopped by its recorded PIDs"

# 3. A half-failed start cleans up after itself.
mkdir -p "$work/fakebin"
printf '#!/bin/sh\necho "fake slurmd: refusing to start" >&2\nexit 1\n' >"$work/fakebin/slurmd"
chmod +x "$work/fakebin/slurmd"
mkdir -p "$work/broken"
rc=0
PATH="$work/fakebin:$PATH" COLLBENCH_SLURM_DIR="$work/broken" COLLBENCH_SLURM_KEEP=1 \
    timeout 120 "$up" >/dev/null 2>"$work/broken.err" || rc=$?
[ "$rc" -ne 0 ] || fail "slurm-up succeeded with a slurmd that cannot start"
grep -q 'slurmd failed to start' "$work/broken.err" || fail "unclear failure: $(cat "$work/broken.err")"
for daemon in munged slurmctld; do
    pid_line="$(grep -oE "stopped $daemon \(pid [0-9]+\)" "$work/broken.err")" || fail "$daemon was not stopped after the failed start"
    pid="$(grep -oE '[0-9]+' <<<"$pid_line")"
    if alive "$pid"; then fail "$daemon (pid $pid) still alive after the failed start"; fi
done
echo "failed start (slurmd dies): exit $rc, munged and slurmctld stopped"

# 4. Bad settings.
for setting in COLLBENCH_SLURM_CPUS=zero COLLBENCH_SLURM_CPUS=0 COLLBENCH_SLURM_START_TIMEOUT=-1; do
    if out="$(env "$setting" COLLBENCH_SLURM_DIR="$work/never" timeout 30 "$up" 2>&1)"; then fail "$setting accepted"; fi
    grep -q "${setting%%=*}=" <<<"$out" || fail "$setting: error does not name the variable: $out"
    [ ! -e "$work/never/pids" ] || fail "$setting: something was started"
done
# A folder that already holds other files is refused and left as it was (slurm-down removes the
# cluster folder, so adopting one would delete them).
mkdir -p "$work/busy"
echo keep >"$work/busy/notes.txt"
if out="$(COLLBENCH_SLURM_DIR="$work/busy" timeout 30 "$up" 2>&1)"; then
    COLLBENCH_SLURM_DIR="$work/busy" COLLBENCH_SLURM_KEEP=1 timeout 60 "$down" >/dev/null 2>&1 || true
    fail "a non-empty COLLBENCH_SLURM_DIR was accepted"
fi
grep -q "COLLBENCH_SLURM_DIR=.*not empty" <<<"$out" || fail "unclear error for a non-empty folder: $out"
[ "$(ls -A "$work/busy")" = notes.txt ] || fail "slurm-up changed a folder it refused: $(ls -A "$work/busy")"
echo "slurm-lifecycle: ok"
