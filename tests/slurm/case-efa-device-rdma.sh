#!/usr/bin/env bash
# Slurm case: the templates' FI_EFA_USE_DEVICE_RDMA handling. libfabric aborts every rank when it
# is 1 on an EFA NIC without RDMA read (g5, g6), and turns it on by itself where the NIC has it,
# so the templates leave it alone (a value the user exported included) unless
# COLLBENCH_EFA_DEVICE_RDMA is 0 or 1; another value fails the job with exit 6 before srun, as does
# a COLLBENCH_EFA (or pairwise.sbatch's COLLBENCH_DRAIN) other than 0 or 1; pairwise.sbatch passes
# COLLBENCH_PUSH_GATEWAY on.
# COLLBENCH_BIN is a stand-in that prints what the rank sees: only the template is checked here.
# Run by tests/slurm/run.sh with SLURM_CONF, COLLBENCH_BIN_DIR and COLLBENCH_CASE_DIR set.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${COLLBENCH_CASE_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
printf '#!/bin/sh\necho "rank sees FI_EFA_USE_DEVICE_RDMA=${FI_EFA_USE_DEVICE_RDMA-<unset>}"\n' >"$dir/show-env"
chmod 0755 "$dir/show-env"

# submit NAME EXPECTED_EXIT VAR=VALUE...: the allreduce template, one task; prints its output file.
submit() {
    local name="$1" expected="$2" rc=0
    shift 2
    mkdir -p "$dir/$name"
    env -u FI_EFA_USE_DEVICE_RDMA -u COLLBENCH_EFA_DEVICE_RDMA COLLBENCH_BIN="$dir/show-env" \
        COLLBENCH_OUTPUT_DIR="$dir/$name" "$@" \
        timeout 120 sbatch --wait --parsable --nodes=1 --ntasks-per-node=1 \
        --chdir="$dir/$name" --output="$dir/$name/job.out" "$root/sbatch/allreduce.sbatch" >/dev/null || rc=$?
    [ "$rc" -eq "$expected" ] || fail "$name: sbatch --wait exited $rc, expected $expected: $(cat "$dir/$name/job.out")"
}
expect_seen() {
    grep -qx "rank sees FI_EFA_USE_DEVICE_RDMA=$2" "$dir/$1/job.out" ||
        fail "$1: expected the rank to see FI_EFA_USE_DEVICE_RDMA=$2: $(cat "$dir/$1/job.out")"
    echo "ok  $1: FI_EFA_USE_DEVICE_RDMA=$2"
}

submit default 0
expect_seen default '<unset>'
submit forced-on 0 COLLBENCH_EFA_DEVICE_RDMA=1
expect_seen forced-on 1
submit forced-off 0 COLLBENCH_EFA_DEVICE_RDMA=0
expect_seen forced-off 0
submit user-value 0 FI_EFA_USE_DEVICE_RDMA=0
expect_seen user-value 0
submit efa-block-off 0 COLLBENCH_EFA=0 COLLBENCH_EFA_DEVICE_RDMA=1
expect_seen efa-block-off '<unset>'

submit bad-value 6 COLLBENCH_EFA_DEVICE_RDMA=yes
grep -q 'COLLBENCH_EFA_DEVICE_RDMA=yes: expected 0, 1 or unset' "$dir/bad-value/job.out" ||
    fail "bad-value: no message naming the value: $(cat "$dir/bad-value/job.out")"
! grep -q 'rank sees' "$dir/bad-value/job.out" || fail "bad-value: the ranks ran"
echo "ok  bad-value: exit 6 before srun"

# COLLBENCH_EFA and pairwise's COLLBENCH_DRAIN take 0 or 1 too: "yes" ran without the EFA settings,
# or printed the drain lines without draining, silently.
submit bad-efa 6 COLLBENCH_EFA=yes
grep -q 'COLLBENCH_EFA=yes: expected 1' "$dir/bad-efa/job.out" ||
    fail "bad-efa: no message naming the value: $(cat "$dir/bad-efa/job.out")"
! grep -q 'rank sees' "$dir/bad-efa/job.out" || fail "bad-efa: the ranks ran"
echo "ok  bad-efa: exit 6 before srun"
rc=0
mkdir -p "$dir/bad-drain"
env COLLBENCH_BIN="$dir/show-env" COLLBENCH_OUTPUT_DIR="$dir/bad-drain" COLLBENCH_DRAIN=yes \
    timeout 120 sbatch --wait --parsable --nodes=1 --ntasks-per-node=1 \
    --chdir="$dir/bad-drain" --output="$dir/bad-drain/job.out" "$root/sbatch/pairwise.sbatch" >/dev/null || rc=$?
[ "$rc" -eq 6 ] || fail "bad-drain: sbatch --wait exited $rc, expected 6: $(cat "$dir/bad-drain/job.out")"
grep -q 'COLLBENCH_DRAIN=yes: expected 1' "$dir/bad-drain/job.out" ||
    fail "bad-drain: no message naming the value: $(cat "$dir/bad-drain/job.out")"
! grep -q 'rank sees' "$dir/bad-drain/job.out" || fail "bad-drain: the ranks ran"
echo "ok  bad-drain: exit 6 before srun"
# pairwise.sbatch hands COLLBENCH_PUSH_GATEWAY on as acceptance.sbatch does (it was ignored).
printf '#!/bin/sh\necho "rank args: $*"\n' >"$dir/show-args"
chmod 0755 "$dir/show-args"
mkdir -p "$dir/pairwise-push"
rc=0
env COLLBENCH_BIN="$dir/show-args" COLLBENCH_OUTPUT_DIR="$dir/pairwise-push" \
    COLLBENCH_PUSH_GATEWAY=http://pushgateway.example:9091 \
    timeout 120 sbatch --wait --parsable --nodes=1 --ntasks-per-node=1 \
    --chdir="$dir/pairwise-push" --output="$dir/pairwise-push/job.out" "$root/sbatch/pairwise.sbatch" >/dev/null || rc=$?
[ "$rc" -eq 0 ] || fail "pairwise-push: sbatch --wait exited $rc: $(cat "$dir/pairwise-push/job.out")"
grep -q '^rank args: accept --pairwise .*--push-gateway http://pushgateway.example:9091' "$dir/pairwise-push/job.out" ||
    fail "pairwise-push: --push-gateway not passed: $(cat "$dir/pairwise-push/job.out")"
echo "ok  pairwise-push: --push-gateway passed to the ranks"
echo "efa-device-rdma: FI_EFA_USE_DEVICE_RDMA left to libfabric unless COLLBENCH_EFA_DEVICE_RDMA says; COLLBENCH_EFA, COLLBENCH_DRAIN checked"
