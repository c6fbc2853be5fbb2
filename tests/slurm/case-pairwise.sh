#!/usr/bin/env bash
# Slurm case: sbatch/pairwise.sbatch on the local cluster. One node stands in for several hosts
# (COLLBENCH_TEST_HOSTNAME gives each task a host name); COLLBENCH_TEST_DELAY makes one task's host
# slow (it sleeps 0.6 s after every operation).
#   name     5 simulated hosts, one slow: sbatch --wait exits 7, the output names that host and
#            only it, with its scontrol drain line; the JSON says the same
#   drain    4 simulated hosts, the slow one named like the real Slurm node, COLLBENCH_DRAIN=1:
#            the batch script (not rank 0) runs collbench's scontrol line and the node is DRAIN
#            with collbench's reason (the node is resumed afterwards, also when the case fails)
# Run by tests/slurm/run.sh with SLURM_CONF, COLLBENCH_BIN_DIR and COLLBENCH_CASE_DIR set.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${COLLBENCH_CASE_DIR:?}"
bin="${COLLBENCH_BIN_DIR:?}/collbench"
[ -x "$bin" ] || { echo "no $bin" >&2; exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
node="$(sinfo -h -o %N | head -n 1)"
[ -n "$node" ] || fail "no node in sinfo"
resume() { timeout 10 scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true; }
trap resume EXIT

# Large slow/fast contrast and a 95% tolerance: robust on an oversubscribed 2-core machine.
args="-b 4M -e 4M -n 3 -w 1 --pair-tolerance 95"

# submit TAG NTASKS [VAR=VALUE...]: prints sbatch --wait's exit code.
submit() {
    local tag="$1" ntasks="$2" rc=0
    shift 2
    mkdir -p "$dir/$tag"
    env COLLBENCH_BIN="$bin" COLLBENCH_OUTPUT_DIR="$dir/$tag" COLLBENCH_ARGS="$args" \
        OMPI_MCA_mpi_yield_when_idle=1 "$@" \
        timeout 300 sbatch --wait --parsable --nodes=1 --ntasks-per-node="$ntasks" \
        --chdir="$dir/$tag" --output="$dir/$tag/%x_%j.out" "$root/sbatch/pairwise.sbatch" \
        >"$dir/$tag/job_id" || rc=$?
    echo "$rc"
}
job_of() { cut -d';' -f1 <"$dir/$1/job_id"; }

# ---- name the slow host -------------------------------------------------------------------------
rc="$(submit name 5 COLLBENCH_TEST_HOSTNAME=n0,n1,n2,n3,n4 COLLBENCH_TEST_DELAY=3:600000)"
job="$(job_of name)"
base="$dir/name/collbench-pairwise_$job"
cat "$dir/name/collbench-pairwise_$job.out"
[ "$rc" -eq 7 ] || fail "name: sbatch --wait exited $rc, expected 7"
[ "$(grep -c '^scontrol update' "$base.txt")" -eq 1 ] || fail "name: expected exactly one drain line"
grep -q '^scontrol update nodename=n3 state=drain reason="collbench: busbw ' "$base.txt" || fail "name: n3 not named"
[ "$(json "$base.json" '[b["host"] for b in d["bad_hosts"]]')" = "['n3']" ] || fail "name: JSON bad_hosts"
[ "$(json "$base.json" 'd["unresolved_hosts"]')" = "[]" ] || fail "name: unresolved hosts"
grep -q '"record":"pairwise"' "$base.jsonl" || fail "name: no pairwise record in $base.jsonl"
echo "name: ok (job $job)"

# ---- --drain drains the real node ---------------------------------------------------------------
rc="$(submit drain 4 COLLBENCH_TEST_HOSTNAME="x0,x1,$node,x3" COLLBENCH_TEST_DELAY=2:600000 COLLBENCH_DRAIN=1)"
job="$(job_of drain)"
base="$dir/drain/collbench-pairwise_$job"
cat "$dir/drain/collbench-pairwise_$job.out"
[ "$rc" -eq 7 ] || fail "drain: sbatch --wait exited $rc, expected 7"
# The batch script drains (from its host, not from rank 0, which may be in a container).
grep -q "^# drained $node\$" "$dir/drain/collbench-pairwise_$job.out" || fail "drain: the template did not report draining $node"
show="$(timeout 10 scontrol show node "$node")"
echo "$show" | grep -qE 'State=[A-Z+]*DRAIN' || fail "drain: $node is not drained: $show"
echo "$show" | grep -q 'Reason=collbench: busbw ' || fail "drain: reason missing: $show"
[ "$(json "$base.json" '[(b["host"], b["drained"]) for b in d["bad_hosts"]]')" = "[('$node', None)]" ] ||
    fail "drain: JSON bad_hosts"
resume
timeout 30 bash -c "until sinfo -h -n '$node' -o %T | grep -qx idle; do sleep 0.5; done" ||
    fail "drain: $node not idle after resume"
echo "drain: ok (job $job, $node drained and resumed)"
