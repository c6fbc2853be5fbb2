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
#   slow-node     one node's link shaped with tbf: accept --pairwise names exactly that node; a plain
#                 accept's FAIL names that node or says it cannot tell, never another one
#   link-down     a node's link set down mid-sweep with -T 10: every surviving rank ends within T+10 s
#                 with exit 4, the lost host is named, the JSON Lines keep every finished row
#   kill-ranks    a node's ranks SIGKILLed mid-sweep: the step ends non-zero within 30 s, no rank left
#   scancel       scancel of an interactive srun --mpi=pmix accept mid-sweep: every rank exits 143,
#                 the JSON Lines keep the finished rows and end with an incomplete end record
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
cx() { "$COLLBENCH_ROOT/scripts/cluster-exec.sh" "$@"; }
fault() { "$COLLBENCH_ROOT/scripts/cluster-fault.sh" "$@"; }
host() { echo "${COLLBENCH_CLUSTER_PREFIX}$1"; }

t0=$(date +%s)
"$COLLBENCH_ROOT/scripts/cluster-up.sh" 4 >"$work/cluster.env" || die "cluster-up.sh failed"
log "4-node cluster up in $(($(date +%s) - t0)) s (prefix $COLLBENCH_CLUSTER_PREFIX)"
# shellcheck source=/dev/null
source "$COLLBENCH_CLUSTER_DIR/cluster.conf"

passed=0
failed=0
failed_names=()
selected() { [ -z "${COLLBENCH_CLUSTER_CASES:-}" ] || [[ " $COLLBENCH_CLUSTER_CASES " == *" $1 "* ]]; }
run_case() {
    local name="$1"
    shift
    selected "$name" || return 0
    local start rc=0
    start=$(date +%s)
    echo "=== cluster case $name"
    mkdir -p "$work/$name"
    # A case runs in a subshell whose status is tested, where `set -e` does not apply: every step
    # of a case that can fail ends with `|| return 1` or `|| fail ...` (or is the case's last command).
    (cd "$work/$name" && "$@") || rc=$?
    # Whatever a case did to the links, the next one starts on a healthy cluster.
    heal || rc=1
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "--- PASS $name ($(($(date +%s) - start)) s)"
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        echo "--- FAIL $name (exit $rc, $(($(date +%s) - start)) s)"
    fi
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
    timeout 10 cx scancel --user=root 2>/dev/null || true
    timeout 90 bash -c "until [ \"\$($COLLBENCH_ROOT/scripts/cluster-exec.sh sinfo -h -N -t idle -o %N | sort -u | wc -l)\" -eq $CLUSTER_NODES ]; do sleep 0.5; done" || {
        echo "nodes not idle 90 s after the case: $(cx sinfo -h -N -o '%N %T' | tr '\n' ' ')" >&2
        timeout 10 cx scontrol update nodename="$(host "[1-$CLUSTER_NODES]")" state=resume 2>/dev/null || true
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
rows_in() { grep -c '"record":"row"' "$1" 2>/dev/null || true; }
# wait_rows FILE N SECONDS: until the JSON Lines file holds N finished rows.
wait_rows() {
    # shellcheck disable=SC2016 # expanded by the inner shell
    timeout "$3" bash -c 'until [ "$(grep -c "\"record\":\"row\"" "$1" 2>/dev/null)" -ge "$2" ]; do sleep 0.2; done' _ "$1" "$2"
}

case_hostnames() {
    timeout 60 cx srun -N 4 --ntasks-per-node=2 --mpi=pmix hostname >hosts.txt || fail "srun exited $?" || return 1
    sort hosts.txt | uniq -c
    [ "$(sort hosts.txt | uniq -c | awk '$1 == 2 {print $2}' | tr '\n' ' ')" = "$(host 1) $(host 2) $(host 3) $(host 4) " ] ||
        fail "expected each of $(host 1)..$(host 4) twice"
}

case_allreduce() {
    local rc=0 i before=()
    for i in 1 2 3 4; do before[i]="$(port_bytes "$i")"; done
    timeout 300 cx srun -N 4 --ntasks-per-node=1 --mpi=pmix "$bin_dir/allreduce-perf" -b 8 -e 16M -f 2 \
        >run.txt 2>run.err || rc=$?
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
    local template name rc job state args
    for template in "$COLLBENCH_ROOT"/sbatch/*.sbatch; do
        name="$(basename "$template" .sbatch)"
        mkdir -p "$name"
        rc=0
        args="-b 8 -e 1M -f 4"
        # Pairs on 2 shared cores differ by noise alone; the tolerance keeps a healthy node good.
        [ "$name" != pairwise ] || args="$args --pair-tolerance 95"
        env COLLBENCH_BIN="$bin_dir/$([ "$name" = allreduce ] && echo allreduce-perf || echo collbench)" \
            COLLBENCH_OUTPUT_DIR="$PWD/$name" COLLBENCH_ARGS="$args" \
            timeout 300 cx sbatch --wait --parsable --nodes=4 --ntasks-per-node=1 --gpus-per-node=0 \
            --chdir="$PWD/$name" --output="$PWD/$name/%x_%j.out" "$template" >"$name/job_id" || rc=$?
        job="$(cut -d';' -f1 <"$name/job_id")"
        state="$(timeout 10 cx scontrol show job "$job" | grep -oE 'JobState=[A-Z_]+|ExitCode=[0-9]+:[0-9]+' | tr '\n' ' ')"
        echo "$name.sbatch: job $job, sbatch --wait exited $rc, $state"
        [ "$rc" -eq 0 ] && [[ "$state" == *"JobState=COMPLETED"* ]] || {
            cat "$name"/*_"$job".out
            fail "$name.sbatch did not complete"
            return 1
        }
        grep -E '^# job ' "$name"/*_"$job".out
    done
}

run_case hostnames case_hostnames
run_case allreduce case_allreduce
run_case sbatch case_sbatch

echo "cluster: $passed passed, $failed failed${failed_names:+ (${failed_names[*]})}"
[ "$failed" -eq 0 ]
