#!/usr/bin/env bash
# Integration tests on a real 4-node Slurm inside this machine (scripts/cluster-up.sh: a network and
# UTS namespace per node, a bridge in a namespace of its own, one slurmd per node, PMIx, Open MPI
# over TCP on the bridge), with real faults instead of test hooks. The cluster is stopped and its
# namespaces removed on exit, also when a case fails or the suite is interrupted.
#
# Cases (every wait under `timeout`):
#   hostnames     srun -N 4 --ntasks-per-node=2 --mpi=pmix hostname: four host names, two tasks each
#   allreduce     srun -N 4 --ntasks-per-node=1 --mpi=pmix allreduce-perf -b 8 -e 16M -f 2: 22 rows,
#                 0 wrong, four distinct hosts in the rank lines, the data crossed every node's link
#   sbatch        sbatch --wait -N 4 of every template in sbatch/: each job COMPLETED with exit 0
#   slow-node     one node's link shaped with tbf: accept --pairwise and accept --bisect each name
#                 exactly that node; a plain accept's FAIL names that node or says it cannot tell,
#                 never another one
#   link-down     a node's link set down mid-sweep with -T 10: every surviving rank ends within T+10 s
#                 with exit 4, a survivor's liveness probe names the lost host (and no other), the
#                 JSON Lines keep every finished row
#   kill-ranks    a node's ranks SIGKILLed mid-sweep: the step ends non-zero within 30 s, no rank left;
#                 when -T ends it, a survivor's liveness probe says that node's process is gone
#   scancel       scancel of an interactive srun --mpi=pmix accept mid-sweep: every rank exits 143,
#                 the JSON Lines keep the finished rows and end with an incomplete end record
#   eight-nodes   a second cluster of 8 nodes beside the first: an 8-rank all-reduce; two of its
#                 links shaped: accept --pairwise and accept --bisect each name exactly those two
#                 nodes (both searches' rounds and runs printed);
#                 then it is stopped and leaves no namespace
#   restart       the cluster survives a crash (slurmctld, a slurmd and a node's namespaces killed):
#                 cluster-up.sh starts it afresh in the same folder and a job runs
# After the cases: the cluster is stopped, no process is left in its namespaces, the namespaces are
# gone and the machine's own network namespace has the same links as before.
#
#   tests/cluster/run.sh                 uses target/release (builds it when missing)
#   COLLBENCH_BIN_DIR=DIR                take the binaries from DIR instead
#   COLLBENCH_CLUSTER_CASES="a b"        run only these cases
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/../../scripts/lib.sh"
cd "$COLLBENCH_ROOT"

bin_dir="${COLLBENCH_BIN_DIR:-$COLLBENCH_ROOT/target/release}"
if [ -z "${COLLBENCH_BIN_DIR:-}" ] && [ ! -x "$bin_dir/collbench" ]; then
    log "building target/release (--features mpi,fabric)"
    timeout 1800 cargo build --release --features mpi,fabric --bins
fi
[ -x "$bin_dir/allreduce-perf" ] && [ -x "$bin_dir/collbench" ] || die "no allreduce-perf and collbench in $bin_dir"

work="$(mktemp -d /tmp/collbench-cluster-test.XXXXXX)"
chmod 0755 "$work"
export COLLBENCH_CLUSTER_DIR="$work/cluster"
# Host names c<random>n1..4: another cluster on this machine (another worktree, CI) has others.
COLLBENCH_CLUSTER_PREFIX="c$(head -c 2 /dev/urandom | od -An -tx1 | tr -d ' \n')n"
export COLLBENCH_CLUSTER_PREFIX
links_before="$(ip -br link | awk '{print $1}' | sort)"
netns_of_cluster=""
teardown() {
    local status=$?
    if [ -e "$COLLBENCH_CLUSTER_DIR/cluster.conf" ]; then
        netns_of_cluster="$(cat "$COLLBENCH_CLUSTER_DIR/netns" 2>/dev/null || true)"
        "$COLLBENCH_ROOT/scripts/cluster-down.sh" || status=1
    fi
    local nested
    for nested in "$work"/*/*/cluster.conf; do
        [ ! -e "$nested" ] || "$COLLBENCH_ROOT/scripts/cluster-down.sh" "$(dirname "$nested")" || status=1
    done
    # Nothing of the cluster may outlive the suite.
    local ns
    for ns in $netns_of_cluster; do
        [ ! -e "/run/netns/$ns" ] || {
            echo "FAIL: network namespace $ns left after cluster-down" >&2
            status=1
        }
    done
    [ "$(ip -br link | awk '{print $1}' | sort)" = "$links_before" ] || {
        echo "FAIL: the machine's own network namespace changed: $(ip -br link | awk '{print $1}' | tr '\n' ' ')" >&2
        status=1
    }
    rm -rf "$work"
    exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 4 ranks on 2 real cores: Open MPI must yield when idle (as mpirun --oversubscribe would).
export OMPI_MCA_mpi_yield_when_idle=1
cx="$COLLBENCH_ROOT/scripts/cluster-exec.sh"
fault() { "$COLLBENCH_ROOT/scripts/cluster-fault.sh" "$@"; }
host() { echo "${COLLBENCH_CLUSTER_PREFIX}$1"; }

t0=$(date +%s)
"$COLLBENCH_ROOT/scripts/cluster-up.sh" 4 >"$work/cluster.env" || die "cluster-up.sh failed"
log "4-node cluster up in $(($(date +%s) - t0)) s (prefix $COLLBENCH_CLUSTER_PREFIX)"
# shellcheck source=/dev/null
source "$COLLBENCH_CLUSTER_DIR/cluster.conf"

# shellcheck source=tests/cases-lib.sh
source "$here/../cases-lib.sh"
CASES_LABEL=cluster
CASES_SELECTED="${COLLBENCH_CLUSTER_CASES:-}"
CASES_WORK_DIR="$work"
after_case() {
    # shellcheck source=/dev/null
    source "$COLLBENCH_CLUSTER_DIR/cluster.conf" # the restart case makes a new one
    # Whatever a case did to the links, the next one starts on a healthy cluster.
    heal
}
fail() {
    echo "FAIL: $*" >&2
    return 1
}

# heal: every link up and unshaped, no job left, every node idle.
heal() {
    local i
    for i in $(seq 1 "$CLUSTER_NODES"); do
        fault link "$i" up 2>/dev/null || true
        fault restore "$i" 2>/dev/null || true
    done
    timeout 10 "$cx" scancel --user=root 2>/dev/null || true
    timeout 90 bash -c "until [ \"\$($COLLBENCH_ROOT/scripts/cluster-exec.sh sinfo -h -N -t idle -o %N | sort -u | wc -l)\" -eq $CLUSTER_NODES ]; do sleep 0.5; done" || {
        echo "nodes not idle 90 s after the case: $("$cx" sinfo -h -N -o '%N %T' | tr '\n' ' ')" >&2
        timeout 10 "$cx" scontrol update nodename="$(host "[1-$CLUSTER_NODES]")" state=resume 2>/dev/null || true
        return 1
    }
}

# port_bytes NODE: bytes through the node's bridge port so far (both directions).
port_bytes() {
    ip -n "collbench-$CLUSTER_TAG-bridge" -s -j link show "p-$1" |
        python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]; print(s["rx"]["bytes"] + s["tx"]["bytes"])'
}

# rank_wrapper FILE: a script that runs its arguments and appends "rank R host H exit C at T" to FILE,
# so that each rank's own exit code and time are known even when srun cannot report them.
rank_wrapper() {
    cat >"$work/rank-exit.sh" <<'SH'
#!/bin/bash
out="$1"
shift
"$@"
rc=$?
echo "rank ${SLURM_PROCID:-?} host $(hostname) exit $rc at $(date +%s.%N)" >>"$out"
exit "$rc"
SH
    chmod +x "$work/rank-exit.sh"
    echo "$work/rank-exit.sh"
}
rows_in() {
    local n
    n="$(grep -c '"record":"row"' "$1" 2>/dev/null || true)"
    echo "${n:-0}"
}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
# whole_jsonl FILE: every line is a whole JSON record (rows are appended and fsynced one by one).
whole_jsonl() { python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$1"; }
now() { date +%s.%N; }
# ranks_left: PIDs of collbench processes on the cluster's nodes.
ranks_left() {
    local i pid
    for i in $(seq 1 "$CLUSTER_NODES"); do
        for pid in $(ip netns pids "collbench-$CLUSTER_TAG-$i" 2>/dev/null); do
            [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != collbench ] || echo "$pid"
        done
    done
}
# elapsed FROM TO: seconds between two `now` stamps, rounded to 0.1.
elapsed() { python3 -c 'import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))' "$1" "$2"; }
# srun_bg NAME SRUN-ARGS...: srun on the cluster in the background (under `timeout 240`); its exit
# code and end time go to NAME.rc and NAME.end, its output to NAME.out and NAME.err.
srun_bg() {
    local name="$1"
    shift
    (
        rc=0
        timeout 240 "$cx" srun "$@" >"$name.out" 2>"$name.err" || rc=$?
        echo "$rc" >"$name.rc"
        now >"$name.end"
    ) &
}
# Open MPI 4.1.4's TCP transport now and then kills a rank inside MPI_Init on this loaded machine:
# a call through a NULL pointer in an mca_btl_tcp event handler, while a peer that already left
# MPI_Init connects (its "failed to TCP connect" warning follows). A plain C MPI program does the
# same (docs/local-cluster.md), so a job that died of it is started again, at most three more times.
# srun says "task N: Segmentation fault", or "Exited with exit code 139" under a wrapper shell.
startup_crash() {
    grep -qE 'task [0-9]+: (Segmentation fault|Exited with exit code 139)' "$1" 2>/dev/null &&
        grep -qE 'Open MPI failed to TCP connect to a peer|mca_btl_tcp_recv_blocking.*Connection reset by peer' "$1" 2>/dev/null &&
        ! grep -qE '^ +[0-9]+ +[0-9]+ +[a-z0-9_]+ ' "$1" 2>/dev/null
}
# srun_retry OUT ERR SECONDS SRUN-ARGS...: srun on the cluster with --kill-on-bad-exit=1 (a crashed
# rank ends the step); run again after an Open MPI start-up crash. Returns srun's exit code.
srun_retry() {
    local out="$1" err="$2" limit="$3" try rc=0
    shift 3
    for try in 1 2 3 4; do
        rc=0
        timeout "$limit" "$cx" srun --kill-on-bad-exit=1 "$@" >"$out" 2>"$err" || rc=$?
        [ "$rc" -ne 0 ] && startup_crash "$err" || return "$rc"
        echo "try $try: a rank died in MPI_Init (Open MPI start-up crash, see above); again" >&2
        grep -E 'srun: error: |Message:' "$err" >&2
    done
    return "$rc"
}
# start_sweep NAME JSONL SRUN-ARGS...: srun_bg, then waits (120 s) for 2 finished rows in JSONL;
# after an Open MPI start-up crash the job is cancelled and started again (at most three more times).
start_sweep() {
    local name="$1" jsonl="$2" try deadline
    shift 2
    for try in 1 2 3 4; do
        rm -f "$name".* "$jsonl"
        srun_bg "$name" "$@"
        deadline=$((SECONDS + 120))
        while [ "$(rows_in "$jsonl")" -lt 2 ] && [ ! -e "$name.end" ] && ! startup_crash "$name.err"; do
            [ "$SECONDS" -lt "$deadline" ] || return 1
            sleep 0.2
        done
        [ "$(rows_in "$jsonl")" -lt 2 ] && startup_crash "$name.err" || {
            [ "$(rows_in "$jsonl")" -ge 2 ]
            return
        }
        echo "try $try: a rank died in MPI_Init (Open MPI start-up crash); again" >&2
        grep -E 'srun: error: |Message:' "$name.err" >&2
        timeout 10 "$cx" scancel --user=root || true
        wait_file "$name.end" 60 || return 1
    done
    return 1
}
# wait_file FILE SECONDS: until FILE exists.
wait_file() { timeout "$2" bash -c 'until [ -e "$1" ]; do sleep 0.1; done' _ "$1"; }

case_hostnames() {
    timeout 60 "$cx" srun -N 4 --ntasks-per-node=2 --mpi=pmix hostname >hosts.txt || fail "srun exited $?" || return 1
    sort hosts.txt | uniq -c
    [ "$(sort hosts.txt | uniq -c | awk '$1 == 2 {print $2}' | tr '\n' ' ')" = "$(host 1) $(host 2) $(host 3) $(host 4) " ] ||
        fail "expected each of $(host 1)..$(host 4) twice"
}

case_allreduce() {
    local rc=0 i before=()
    for i in 1 2 3 4; do before[i]="$(port_bytes "$i")"; done
    srun_retry run.txt run.err 300 -N 4 --ntasks-per-node=1 --mpi=pmix "$bin_dir/allreduce-perf" -b 8 -e 16M -f 2 || rc=$?
    cat run.txt
    [ "$rc" -eq 0 ] || fail "srun exited $rc: $(tail -n 20 run.err)" || return 1
    python3 "$here/../slurm/check_output.py" --rows 22 --min-bytes 8 --max-bytes 16777216 --nranks 4 --text run.txt || return 1
    # nccl-tests' rank lines: "#  Rank  0 Group  0 Pid  1234 on  HOST device ..."
    [ "$(grep -E '^#  Rank +[0-9]+ ' run.txt | sed -E 's/.* on +([^ ]+) device.*/\1/' | sort -u | tr '\n' ' ')" = \
        "$(host 1) $(host 2) $(host 3) $(host 4) " ] || fail "rank lines do not name the four hosts" || return 1
    # Open MPI's traffic went over TCP through the bridge: every node's port moved at least 16 MiB
    # x 20 iterations of the largest all-reduce (Slurm's own messages are kilobytes).
    for i in 1 2 3 4; do
        local moved=$(($(port_bytes "$i") - before[i]))
        echo "$(host "$i"): $moved bytes through its bridge port"
        [ "$moved" -ge $((320 * 1024 * 1024)) ] || fail "$(host "$i") moved only $moved bytes over the bridge" || return 1
    done
}

# Every template, as an operator submits it to 4 CPU-only nodes.
case_sbatch() {
    local template name
    for template in "$COLLBENCH_ROOT"/sbatch/*.sbatch; do
        name="$(basename "$template" .sbatch)"
        submit_template "$template" "$name" || return 1
    done
}

# submit_template TEMPLATE NAME: sbatch --wait of TEMPLATE on 4 nodes x 1 task; submitted again
# after an Open MPI start-up crash.
submit_template() {
    local template="$1" name="$2" rc job state args try
    args="-b 8 -e 1M -f 4"
    # Pairs on 2 shared cores differ by noise alone; the tolerance keeps a healthy node good.
    [ "$name" != pairwise ] || args="$args --pair-tolerance 95"
    for try in 1 2 3 4; do
        rm -rf "$name"
        mkdir -p "$name"
        rc=0
        env COLLBENCH_BIN="$bin_dir/$([ "$name" = allreduce ] && echo allreduce-perf || echo collbench)" \
            COLLBENCH_OUTPUT_DIR="$PWD/$name" COLLBENCH_ARGS="$args" \
            timeout 300 "$cx" sbatch --wait --parsable --nodes=4 --ntasks-per-node=1 --gpus-per-node=0 \
            --chdir="$PWD/$name" --output="$PWD/$name/%x_%j.out" "$template" >"$name/job_id" || rc=$?
        job="$(cut -d';' -f1 <"$name/job_id")"
        state="$(timeout 10 "$cx" scontrol show job "$job" | grep -oE 'JobState=[A-Z_]+|ExitCode=[0-9]+:[0-9]+' | tr '\n' ' ')"
        echo "$name.sbatch: job $job, sbatch --wait exited $rc, $state"
        [ "$rc" -ne 0 ] && startup_crash "$name/"*_"$job".out || break
        echo "try $try: a rank died in MPI_Init (Open MPI start-up crash); again" >&2
    done
    [ "$rc" -eq 0 ] && [[ "$state" == *"JobState=COMPLETED"* ]] || {
        cat "$name"/*_"$job".out
        fail "$name.sbatch did not complete"
        return 1
    }
    grep -E '^# job ' "$name"/*_"$job".out
}

# One node's link shaped to about 1 % of the others': pairwise names that node and no other, and so
# does bisect, judged by the threshold pairwise derived.
case_slow_node() {
    local rc=0 slow=3
    fault slow "$slow" 50mbit || return 1
    # A pair fails below 10 % of round 1's median pair (--pair-tolerance 90): on 2 shared cores
    # healthy pairs running beside each other differ by 2x, the slow node's pairs by 50x or more.
    srun_retry pairwise.txt pairwise.err 300 -N 4 --ntasks-per-node=1 --mpi=pmix "$bin_dir/collbench" accept --pairwise \
        -b 4M -e 4M -n 3 -w 1 --pair-tolerance 90 --collbench-json pairwise.json --jsonl pairwise.jsonl || rc=$?
    cat pairwise.txt
    [ "$rc" -eq 7 ] || fail "accept --pairwise exited $rc, expected 7: $(tail -n 5 pairwise.err)" || return 1
    [ "$(json pairwise.json '[b["host"] for b in d["bad_hosts"]]')" = "['$(host "$slow")']" ] ||
        fail "JSON bad_hosts is not exactly ['$(host "$slow")']" || return 1
    [ "$(json pairwise.json 'd["unresolved_hosts"]')" = "[]" ] || fail "unresolved hosts" || return 1
    [ "$(grep -c '^scontrol update nodename=' pairwise.txt)" -eq 1 ] || fail "expected exactly one drain line" || return 1
    grep -q "^scontrol update nodename=$(host "$slow") state=drain " pairwise.txt || fail "$(host "$slow") not named" || return 1
    bisect_names bisect "$(json pairwise.json 'd["threshold_gbps"]')" 4 "$(host "$slow")"
}

# accept --bisect on every node of the cluster at --min-busbw GBPS: exit 7 naming exactly the
# given hosts, none unresolved; prints its rounds and group runs. Files NAME.txt, .err, .json.
bisect_names() {
    local name="$1" gbps="$2" nodes="$3" rc=0 expected
    shift 3
    expected="$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "$@")"
    srun_retry "$name.txt" "$name.err" 300 -N "$nodes" --mpi=pmix "$bin_dir/collbench" accept --bisect \
        -b 4M -e 4M -n 3 -w 1 --min-busbw "$gbps" --collbench-json "$name.json" || rc=$?
    grep -E '^# (round|Bad|[0-9]+ rounds|  )' "$name.txt"
    [ "$rc" -eq 7 ] || fail "accept --bisect exited $rc, expected 7: $(tail -n 5 "$name.err")" || return 1
    [ "$(json "$name.json" 'sorted(b["host"] for b in d["bad_hosts"])')" = "$expected" ] ||
        fail "accept --bisect: bad_hosts is not exactly $expected" || return 1
    [ "$(json "$name.json" 'd["unresolved_hosts"]')" = "[]" ] || fail "accept --bisect: unresolved hosts" || return 1
    [ "$(grep -c '^scontrol update nodename=' "$name.txt")" -eq "$#" ] || fail "accept --bisect: expected $# drain lines"
}

# "N rounds, M runs" of an isolation report.
rounds_and_runs() { json "$1" '"%d rounds, %d runs" % (len(d["rounds"]), sum(len(r) for r in d["rounds"]))'; }

# A node's link set down mid-sweep under -T 10: the ranks left stall in the collective, their
# watchdog fires and ends the job; the finished rows stay in the JSON Lines.
case_link_down() {
    local lost=4 timeout_s=10 cut end took rows
    start_sweep run run.jsonl -N 4 --ntasks-per-node=1 --mpi=pmix "$bin_dir/collbench" accept -b 1M -e 64M -f 2 -n 10 \
        -T "$timeout_s" --jsonl run.jsonl --collbench-json run.json || fail "no 2 rows within 120 s: $(cat run.err)" || return 1
    fault link "$lost" down || return 1
    cut="$(now)"
    rows="$(rows_in run.jsonl)"
    wait_file run.end $((timeout_s + 60)) || fail "srun still running $((timeout_s + 60)) s after the cut" || return 1
    end="$(cat run.end)"
    took="$(elapsed "$cut" "$end")"
    cat run.err
    echo "link of $(host "$lost") down after $rows rows; srun exited $(cat run.rc) after $took s"
    [ "$(cat run.rc)" -eq 4 ] || fail "srun exited $(cat run.rc), expected 4 (watchdog)" || return 1
    python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$took" $((timeout_s + 10)) ||
        fail "the job ended $took s after the cut, more than T + 10 = $((timeout_s + 10)) s" || return 1
    # Each message names the rank that gave up and its host: a survivor, stuck in the collective.
    grep -E "^collbench: timeout after $timeout_s s on rank [0-2] \(host ${COLLBENCH_CLUSTER_PREFIX}[1-3]\): stuck in all_reduce" run.err ||
        fail "no watchdog message from a surviving rank" || return 1
    # ... and the liveness probe of a survivor names the lost host, and only that one.
    grep -E "^collbench: timeout: rank [0-2] \(host ${COLLBENCH_CLUSTER_PREFIX}[1-3]\) asked every other rank over TCP: no answer within [0-9.]+ s from host $(host "$lost") \(rank $((lost - 1))\): lost \(its host or its link is down\)$" run.err ||
        fail "no surviving rank named $(host "$lost") as the lost host" || return 1
    whole_jsonl run.jsonl || fail "torn record in run.jsonl" || return 1
    [ "$(rows_in run.jsonl)" -ge "$rows" ] || fail "run.jsonl lost finished rows: $(rows_in run.jsonl) < $rows"
}

# A node's ranks SIGKILLed mid-sweep. Open MPI's other ranks then wait forever for the dead peer
# ("An MPI communication peer process has unexpectedly disconnected"): the job ends through srun's
# --kill-on-bad-exit (the templates set it) within seconds, or through collbench's -T watchdog.
case_kill_ranks() {
    local victim=2 run start took
    for run in kill-on-bad-exit watchdog; do
        local args=(-N 4 --ntasks-per-node=1 --mpi=pmix)
        local sweep=(accept -b 1M -e 64M -f 2 -n 10 --jsonl "$run.jsonl")
        if [ "$run" = kill-on-bad-exit ]; then args+=(--kill-on-bad-exit=1); else sweep+=(-T 10); fi
        start_sweep "$run" "$run.jsonl" "${args[@]}" "$bin_dir/collbench" "${sweep[@]}" ||
            fail "$run: no 2 rows within 120 s" || return 1
        fault kill "$victim" collbench || return 1
        start="$(now)"
        wait_file "$run.end" 60 || fail "$run: srun still running 60 s after the kill" || return 1
        took="$(elapsed "$start" "$(cat "$run.end")")"
        grep -E '^srun: error: ' "$run.err"
        echo "$run: $(host "$victim")'s rank killed; srun exited $(cat "$run.rc") after $took s"
        [ "$(cat "$run.rc")" -ne 0 ] || fail "$run: srun exited 0 after a rank was killed" || return 1
        python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 30 else 1)' "$took" ||
            fail "$run: the job ended $took s after the kill (bound 30 s)" || return 1
        if [ "$run" = watchdog ] && [ "$(cat "$run.rc")" -eq 4 ]; then
            # The watchdog ended it: a survivor's liveness probe found the killed rank's host up
            # and its process gone.
            grep -E "^collbench: timeout: rank [0-9]+ \(host [^)]*\) asked every other rank over TCP: host $(host "$victim") \(rank $((victim - 1))\) refused: no collbench process there any more$" "$run.err" ||
                fail "$run: no survivor said $(host "$victim")'s process is gone: $(grep '^collbench: timeout' "$run.err")" || return 1
        fi
        # No rank is left on any node.
        local deadline=$((SECONDS + 20))
        while [ -n "$(ranks_left)" ]; do
            [ "$SECONDS" -lt "$deadline" ] || fail "$run: collbench ranks still run 20 s after srun ended: $(ranks_left)" || return 1
            sleep 0.2
        done
    done
}

# scancel of an interactive srun --mpi=pmix step: slurmstepd sends SIGTERM to every rank; each
# finishes its row, rank 0 writes the end record (complete: false), every rank exits 143.
case_scancel() {
    local job start
    cat >rank-exit.sh <<'SH'
#!/bin/bash
# Records this rank's own exit code (srun's "Exited with exit code" lines say the same).
out="$1"
shift
trap : TERM INT # outlive the rank: its exit code is what is recorded
"$@"
rc=$?
echo "rank $SLURM_PROCID host $(hostname) exit $rc" >>"$out"
exit "$rc"
SH
    chmod +x rank-exit.sh
    start_sweep run run.jsonl -N 4 --ntasks-per-node=1 --mpi=pmix "$PWD/rank-exit.sh" "$PWD/run.exits" "$bin_dir/collbench" accept \
        -b 1M -e 256M -f 2 -n 10 --jsonl run.jsonl --collbench-json run.json || fail "no 2 rows within 120 s: $(cat run.err)" || return 1
    job="$(timeout 10 "$cx" squeue -h -o %i | head -n 1)"
    [ -n "$job" ] || fail "no job in squeue" || return 1
    timeout 10 "$cx" scancel "$job" || return 1
    start="$(now)"
    wait_file run.end 60 || fail "srun still running 60 s after scancel" || return 1
    cat run.err
    sort run.exits
    echo "scancel of job $job: srun exited $(cat run.rc) after $(elapsed "$start" "$(cat run.end)") s; $(rows_in run.jsonl) rows kept"
    [ "$(grep -c ' exit 143$' run.exits)" -eq 4 ] || fail "not every rank exited 143" || return 1
    [ "$(grep -c 'Exited with exit code 143' run.err)" -eq 4 ] || fail "srun does not report exit 143 for every task" || return 1
    [ "$(cat run.rc)" -eq 143 ] || fail "srun exited $(cat run.rc), expected 143" || return 1
    whole_jsonl run.jsonl || fail "torn record in run.jsonl" || return 1
    [ "$(rows_in run.jsonl)" -ge 2 ] || fail "finished rows lost" || return 1
    tail -n 1 run.jsonl | grep -q '"record":"end"' || fail "no end record" || return 1
    tail -n 1 run.jsonl | grep -q '"complete":false' || fail "the end record claims a complete run" || return 1
    [ "$(json run.json 'd["complete"]')" = False ] || fail "-J claims a complete run"
}

# A second cluster of 8 nodes beside the first (own folder, tag, namespaces and host names): an
# 8-rank all-reduce across all of them; two slow links among the 8, named by accept --pairwise with
# its round count; then the cluster is stopped and leaves nothing.
case_eight_nodes() {
    local dir="$PWD/eight" prefix="${COLLBENCH_CLUSTER_PREFIX}e" rc=0 ns namespaces
    export COLLBENCH_CLUSTER_DIR="$dir" COLLBENCH_CLUSTER_PREFIX="$prefix"
    # This case runs in a subshell: the 8-node cluster goes with it, whatever fails.
    # shellcheck disable=SC2064 # the folder is fixed now; the local is gone when the trap runs
    trap "'$COLLBENCH_ROOT/scripts/cluster-down.sh' '$dir' >/dev/null 2>&1" EXIT
    COLLBENCH_CLUSTER_CPUS=1 timeout 120 "$COLLBENCH_ROOT/scripts/cluster-up.sh" 8 >/dev/null ||
        fail "8-node cluster-up failed" || return 1
    namespaces="$(cat "$dir/netns")"
    srun_retry eight.txt eight.err 300 -N 8 --mpi=pmix "$bin_dir/allreduce-perf" -b 8 -e 1M -f 4 || rc=$?
    cat eight.txt
    [ "$rc" -eq 0 ] || fail "srun on 8 nodes exited $rc: $(tail -n 5 eight.err)" || return 1
    python3 "$here/../slurm/check_output.py" --rows 9 --min-bytes 8 --max-bytes 524288 --nranks 8 --text eight.txt || return 1
    [ "$(grep -E '^#  Rank +[0-9]+ ' eight.txt | sed -E 's/.* on +([^ ]+) device.*/\1/' | sort -u | wc -l)" -eq 8 ] ||
        fail "the rank lines do not name 8 distinct hosts" || return 1

    # Two slow links among 8 nodes: accept --pairwise names both, and so does accept --bisect at
    # pairwise's threshold; both searches' counts are printed side by side.
    local slow_a=3 slow_b=6
    fault slow "$slow_a" 50mbit || return 1
    fault slow "$slow_b" 50mbit || return 1
    rc=0
    srun_retry pw8.txt pw8.err 300 -N 8 --mpi=pmix "$bin_dir/collbench" accept --pairwise \
        -b 4M -e 4M -n 3 -w 1 --pair-tolerance 90 --collbench-json pw8.json || rc=$?
    grep -E '^# (round|Bad|  )' pw8.txt
    [ "$rc" -eq 7 ] || fail "8 nodes, 2 slow: accept --pairwise exited $rc, expected 7" || return 1
    [ "$(json pw8.json 'sorted(b["host"] for b in d["bad_hosts"])')" = "['${prefix}$slow_a', '${prefix}$slow_b']" ] ||
        fail "8 nodes, 2 slow: bad_hosts is not exactly ${prefix}$slow_a and ${prefix}$slow_b" || return 1
    bisect_names bisect8 "$(json pw8.json 'd["threshold_gbps"]')" 8 "${prefix}$slow_a" "${prefix}$slow_b" || return 1
    echo "8 nodes, 2 slow, both named: accept --pairwise $(rounds_and_runs pw8.json), $(json pw8.json 'round(d["elapsed_seconds"], 1)') s;" \
        "accept --bisect $(rounds_and_runs bisect8.json), $(json bisect8.json 'round(d["elapsed_seconds"], 1)') s"

    "$COLLBENCH_ROOT/scripts/cluster-down.sh" "$dir" || fail "8-node cluster-down failed" || return 1
    for ns in $namespaces; do
        [ ! -e "/run/netns/$ns" ] || fail "namespace $ns left by the 8-node cluster" || return 1
    done
}

# A crash (slurmctld, one slurmd and one node's namespace holder SIGKILLed) and a second start in
# the same folder; a start on a healthy cluster changes nothing.
case_restart() {
    local dir="$COLLBENCH_CLUSTER_DIR" pids old_netns ns
    old_netns="$(cat "$dir/netns")"
    pids="$(cat "$dir/pids/slurmctld.pid") $(cat "$dir/pids/slurmd-$(host 2).pid") $(cat "$dir/pids/holder-$(host 3).pid")"
    # shellcheck disable=SC2086 # a list of PIDs
    kill -KILL $pids
    timeout 120 "$COLLBENCH_ROOT/scripts/cluster-up.sh" 4 >up.out 2>up.err || fail "second start failed: $(cat up.err)" || return 1
    grep -q 'not healthy' up.err || fail "the crash was not noticed: $(cat up.err)" || return 1
    for ns in $old_netns; do
        [ ! -e "/run/netns/$ns" ] || fail "the crashed cluster's namespace $ns is still there" || return 1
    done
    # shellcheck source=/dev/null
    source "$dir/cluster.conf"
    timeout 60 "$cx" srun -N 4 hostname | sort | tr '\n' ' ' | tee hosts.txt
    echo
    [ "$(cat hosts.txt)" = "$(host 1) $(host 2) $(host 3) $(host 4) " ] || fail "srun after restart" || return 1
    timeout 120 "$COLLBENCH_ROOT/scripts/cluster-up.sh" 4 >again.out 2>again.err || fail "start on a healthy cluster failed" || return 1
    grep -q 'already up' again.err || fail "a start on a healthy cluster did something: $(cat again.err)"
}

run_case hostnames case_hostnames
run_case allreduce case_allreduce
run_case sbatch case_sbatch
run_case slow-node case_slow_node
run_case link-down case_link_down
run_case kill-ranks case_kill_ranks
run_case scancel case_scancel
run_case eight-nodes case_eight_nodes
# Last: it replaces the cluster (new tag, new namespaces).
run_case restart case_restart

cases_summary
