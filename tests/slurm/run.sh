#!/usr/bin/env bash
# Integration tests on a real single-node Slurm with PMIx, started here by scripts/slurm-up.sh and
# stopped by recorded PID on exit (also on failure, SIGINT or SIGTERM).
#
# Cases (each bounded by `timeout`):
#   mpi-hello        a C MPI program (mpicc) under `srun --mpi=pmix -n 4`: the Slurm + PMIx + Open MPI
#                    plumbing itself, independent of collbench
#   srun-allreduce   `srun --mpi=pmix -n 4 allreduce-perf -b 8 -e 16M -f 2`: exit 0, 22 rows,
#                    0 wrong, the nccl-tests footers once (only rank 0 prints)
#   srun-corrupt     the same with COLLBENCH_TEST_CORRUPT=1:0: srun exits 7, footer FAILED
#   sbatch-allreduce `sbatch --wait sbatch/allreduce.sbatch` on 1 node x 4 tasks, no GPUs: job exit 0,
#                    its output file and JSON (schema, job id, EFA/NCCL environment) checked
#   sbatch-corrupt   the same job with a planted corruption: sbatch --wait exits 7, job FAILED
#   tests/slurm/case-*.sh  further cases (other features' templates), run with the cluster's env
#
#   tests/slurm/run.sh                 uses target/release/allreduce-perf (builds it when missing)
#   COLLBENCH_BIN_DIR=DIR              take the binaries from DIR instead
#   COLLBENCH_SLURM_CASES="a b"        run only these cases
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$here/../../scripts/lib.sh"
cd "$COLLBENCH_ROOT"

bin_dir="${COLLBENCH_BIN_DIR:-$COLLBENCH_ROOT/target/release}"
if [ -z "${COLLBENCH_BIN_DIR:-}" ] && [ ! -x "$bin_dir/allreduce-perf" ]; then
    log "building target/release (--features mpi,fabric)"
    timeout 1800 cargo build --release --features mpi,fabric --bins
fi
[ -x "$bin_dir/allreduce-perf" ] || die "no allreduce-perf in $bin_dir"

work="$(mktemp -d /tmp/collbench-slurm-test.XXXXXX)"
chmod 0755 "$work"
cluster_dir=""
teardown() {
    local status=$?
    if [ -n "$cluster_dir" ]; then
        COLLBENCH_SLURM_DIR="$cluster_dir" "$COLLBENCH_ROOT/scripts/slurm-down.sh" || status=1
    fi
    rm -rf "$work"
    exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The node advertises 8 CPUs on 2 real cores, so Open MPI (told nothing about oversubscription under
# srun) would busy-poll 4 ranks on 2 cores: 10x slower. Ask it to yield when idle, as mpirun
# --oversubscribe does by itself. Jobs inherit it (sbatch and srun export the environment).
export OMPI_MCA_mpi_yield_when_idle=1

t0=$(date +%s)
COLLBENCH_SLURM_DIR="$work/cluster" "$COLLBENCH_ROOT/scripts/slurm-up.sh" >"$work/cluster.env" || die "slurm-up.sh failed"
cluster_dir="$work/cluster"
# shellcheck source=/dev/null
source "$work/cluster.env"
log "cluster up in $(($(date +%s) - t0)) s (SLURM_CONF=$SLURM_CONF)"

# shellcheck source=tests/cases-lib.sh
source "$here/../cases-lib.sh"
CASES_LABEL=slurm
CASES_SELECTED="${COLLBENCH_SLURM_CASES:-}"

# Sizes 8 B .. 16 MiB by factor 2: 2^3 .. 2^24, 22 rows.
sweep=(-b 8 -e 16M -f 2)
rows=22
check_run() { python3 "$here/check_output.py" --rows "$rows" --min-bytes 8 --max-bytes 16777216 --nranks 4 "$@"; }

case_mpi_hello() {
    cat >"$work/hello.c" <<'C'
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
    int rank, size, rank_sum = 0;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Allreduce(&rank, &rank_sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    printf("rank %d of %d: sum of ranks %d\n", rank, size, rank_sum);
    MPI_Finalize();
    return 0;
}
C
    mpicc -o "$work/hello" "$work/hello.c" || return 1
    timeout 60 srun --mpi=pmix -n 4 "$work/hello" >"$work/hello.out" || return 1
    cat "$work/hello.out"
    # Four ranks of one world of 4, each seeing 0+1+2+3.
    [ "$(grep -c 'of 4: sum of ranks 6$' "$work/hello.out")" -eq 4 ]
}

case_srun_allreduce() {
    local rc=0
    timeout 120 srun --mpi=pmix -n 4 "$bin_dir/allreduce-perf" "${sweep[@]}" >"$work/srun.txt" 2>"$work/srun.err" || rc=$?
    cat "$work/srun.txt"
    [ "$rc" -eq 0 ] || {
        cat "$work/srun.err" >&2
        echo "srun exited $rc, expected 0" >&2
        return 1
    }
    check_run --text "$work/srun.txt"
}

case_srun_corrupt() {
    local rc=0
    COLLBENCH_TEST_CORRUPT=1:0 timeout 120 srun --mpi=pmix -n 4 "$bin_dir/allreduce-perf" "${sweep[@]}" \
        >"$work/corrupt.txt" 2>"$work/corrupt.err" || rc=$?
    grep -E '^# Out of bounds' "$work/corrupt.txt" || true
    [ "$rc" -eq 7 ] || {
        tail -n 20 "$work/corrupt.err" >&2
        echo "srun exited $rc with a planted corruption, expected 7" >&2
        return 1
    }
    check_run --text "$work/corrupt.txt" --expect-wrong
}

# Submits the template as a user would on a cluster, overriding only the allocation for this
# 1-node, no-GPU Slurm. Prints the job id; the job's exit code is sbatch's.
submit_allreduce() {
    local tag="$1"
    shift
    mkdir -p "$work/$tag"
    env COLLBENCH_BIN="$bin_dir/allreduce-perf" COLLBENCH_OUTPUT_DIR="$work/$tag" "$@" \
        timeout 180 sbatch --wait --parsable --nodes=1 --ntasks-per-node=4 \
        --chdir="$work/$tag" --output="$work/$tag/%x_%j.out" "$COLLBENCH_ROOT/sbatch/allreduce.sbatch" \
        >"$work/$tag/job_id"
}

job_state() { scontrol show job "$1" | grep -oE 'JobState=[A-Z_]+|ExitCode=[0-9]+:[0-9]+' | tr '\n' ' '; }

case_sbatch_allreduce() {
    local rc=0 job
    submit_allreduce sbatch || rc=$?
    job="$(cut -d';' -f1 <"$work/sbatch/job_id")"
    echo "job $job: sbatch --wait exited $rc; $(job_state "$job")"
    cat "$work/sbatch/collbench-allreduce_$job.out"
    [ "$rc" -eq 0 ] || return 1
    job_state "$job" | grep -q 'JobState=COMPLETED' || return 1
    check_run --text "$work/sbatch/collbench-allreduce_$job.out" \
        --json "$work/sbatch/collbench-allreduce_$job.json" --job-id "$job" \
        --env FI_PROVIDER=efa --env NCCL_BUFFSIZE=8388608 --no-env FI_EFA_USE_DEVICE_RDMA || return 1
    # The template's own copies of the outputs, on the "shared" path.
    check_run --text "$work/sbatch/collbench-allreduce_$job.txt" --csv "$work/sbatch/collbench-allreduce_$job.csv"
}

case_sbatch_corrupt() {
    local rc=0 job
    submit_allreduce corrupt COLLBENCH_TEST_CORRUPT=2:5 || rc=$?
    job="$(cut -d';' -f1 <"$work/corrupt/job_id")"
    echo "job $job: sbatch --wait exited $rc; $(job_state "$job")"
    [ "$rc" -eq 7 ] || { echo "sbatch --wait exited $rc for a corrupted run, expected 7" >&2; return 1; }
    job_state "$job" | grep -q 'JobState=FAILED ExitCode=7:0' || return 1
    check_run --text "$work/corrupt/collbench-allreduce_$job.out" \
        --json "$work/corrupt/collbench-allreduce_$job.json" \
        --csv "$work/corrupt/collbench-allreduce_$job.csv" --expect-wrong
}

run_case mpi-hello case_mpi_hello
run_case srun-allreduce case_srun_allreduce
run_case srun-corrupt case_srun_corrupt
run_case sbatch-allreduce case_sbatch_allreduce
run_case sbatch-corrupt case_sbatch_corrupt
# Further cases: executables tests/slurm/case-NAME.sh, run with SLURM_CONF, COLLBENCH_BIN_DIR and a
# scratch folder (COLLBENCH_CASE_DIR) in the environment; exit 0 = pass.
for extra in "$here"/case-*.sh; do
    [ -e "$extra" ] || continue
    name="$(basename "$extra" .sh)"
    name="${name#case-}"
    mkdir -p "$work/$name"
    run_case "$name" env COLLBENCH_BIN_DIR="$bin_dir" COLLBENCH_CASE_DIR="$work/$name" timeout 600 "$extra"
done

cases_summary
