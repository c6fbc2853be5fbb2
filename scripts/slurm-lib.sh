# Helpers shared by the private Slurm clusters (slurm-up.sh: one node on loopback; cluster-up.sh:
# several nodes in network namespaces). Source it after lib.sh; it defines functions only.
# shellcheck shell=bash

# wait_until SECONDS WHAT COMMAND: polls COMMAND (a shell string) until it succeeds, at most SECONDS.
wait_until() {
    local limit="$1" what="$2"
    shift 2
    if ! timeout "$limit" bash -c "until $*; do sleep 0.2; done"; then
        die "timed out after ${limit}s waiting for $what"
    fi
}

# start_munged DIR SECONDS: a private munged (user munge) with a new key, socket, pid, log and seed
# files in DIR/munge, its PID recorded in DIR/pids/munged.pid. Prints nothing; dies on failure.
start_munged() {
    local dir="$1" limit="$2" munge_dir="$1/munge"
    mkdir -p "$munge_dir" "$dir/pids"
    chown munge:munge "$munge_dir"
    chmod 0755 "$munge_dir" # not group/other-writable (munged checks); clients must reach the socket
    head -c 1024 /dev/urandom >"$munge_dir/munge.key"
    chown munge:munge "$munge_dir/munge.key"
    chmod 0400 "$munge_dir/munge.key"
    runuser -u munge -- munged \
        --key-file="$munge_dir/munge.key" --socket="$munge_dir/munge.socket" \
        --pid-file="$munge_dir/munged.pid" --log-file="$munge_dir/munged.log" \
        --seed-file="$munge_dir/munged.seed" --num-threads=2
    wait_until "$limit" "munged's pid file" "[ -s '$munge_dir/munged.pid' ]"
    cp "$munge_dir/munged.pid" "$dir/pids/munged.pid"
    wait_until "$limit" "munged to answer" \
        "munge --socket='$munge_dir/munge.socket' -n </dev/null | unmunge --socket='$munge_dir/munge.socket' >/dev/null 2>&1"
}

# stop_recorded PID_FILE PROGRAM: stops the daemon whose PID the file holds, SIGTERM then SIGKILL
# after 15 s, and removes the file. The PID is trusted only while /proc says it still runs PROGRAM,
# so a recycled PID is never signalled.
stop_recorded() {
    local pid_file="$1" program="$2" pid
    [ -s "$pid_file" ] || {
        rm -f "$pid_file"
        return 0
    }
    pid="$(tr -dc '0-9' <"$pid_file")"
    if [ -z "$pid" ] || [ ! -d "/proc/$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$program" ]; then
        rm -f "$pid_file"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    if ! timeout 15 bash -c "while [ -d /proc/$pid ]; do sleep 0.2; done"; then
        log "$program (pid $pid) ignored SIGTERM for 15 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        timeout 5 bash -c "while [ -d /proc/$pid ]; do sleep 0.1; done" || die "$program (pid $pid) survived SIGKILL"
    fi
    rm -f "$pid_file"
    log "stopped $program (pid $pid)"
}

# free_port: a TCP port free on 127.0.0.1 now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# random_first_job_id: job ids start at a random point so that two clusters on one machine never
# share a job id in the PMIx and Open MPI temporary paths that are keyed by it.
random_first_job_id() { echo $((1000 + RANDOM * 16 + RANDOM % 16)); }

# cancel_all_jobs [RUNNER...]: cancels every job of the cluster that SLURM_CONF names and waits
# (bounded) until the queue is empty, so that slurmstepd processes end with their jobs. RUNNER
# (e.g. an nsenter into the controller's namespaces) prefixes scancel and squeue.
cancel_all_jobs() {
    if timeout 10 "$@" scancel --full --quiet --user=root 2>/dev/null; then
        # shellcheck disable=SC2016 # expanded by the inner shell, on each poll
        timeout 20 "$@" bash -c 'while [ -n "$(squeue -h -o %i 2>/dev/null)" ]; do sleep 0.5; done' ||
            log "jobs still listed after 20 s; stopping the daemons anyway"
    fi
}

# slurm_conf_policy: the slurm.conf lines both private clusters share (plugins, limits, timers).
slurm_conf_policy() {
    cat <<'CONF'
# No cgroup hierarchy of our own here: track processes through /proc, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
# Reject at submit time what can never run (else an impossible request waits forever).
EnforcePartLimits=ALL
# A node that was down comes back by itself when its slurmd registers.
ReturnToService=2
# More CPUs than the real cores so that several ranks fit on a 2-core machine.
SlurmdParameters=config_overrides
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=600
SchedulerType=sched/backfill
CONF
}
