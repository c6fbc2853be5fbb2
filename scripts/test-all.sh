#!/usr/bin/env bash
# Every test of the project, one suite after another (the README's second command, `make test`,
# and CI's .ci/run). A failing suite does not stop the others; the exit code is non-zero when any
# failed, and the last line is the plain summary `N passed, N failed` over the suites.
#
# Suites, each under its own `timeout`:
#   fmt            cargo fmt --check
#   clippy         cargo clippy --all-targets -- -D warnings
#   clippy-mpi     the same with --features mpi,fabric (every optional part)
#   cargo-test     cargo test --features mpi,fabric (unit and integration tests; these start mpirun
#                  and real libfabric endpoints themselves)
#   build-release  cargo build --release --features mpi,fabric (the binaries the script suites run)
#   tests/scripts/NAME.sh   script-driven tests (make install, install-deps idempotence, lint, ...)
#   slurm          tests/slurm/run.sh: a real single-node Slurm with PMIx, srun and sbatch
#   cluster        tests/cluster/run.sh: a real 4-node Slurm in network namespaces, real faults
#   module-cycles  scripts/check-module-cycles.sh: the library's modules form no cycle (off with
#                  COLLBENCH_MODULE_CYCLES=0, see scripts/lib.sh)
#
# COLLBENCH_TEST_SUITES="fmt slurm" runs only the named suites (script suites by NAME).
set -uo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$COLLBENCH_ROOT" || exit 1
# The GPU kernel-compile test finds the NVRTC wheel that install-deps.sh put in .whl/.
export_nvrtc_env

passed=0
failed=0
summary=()
selected() { [ -z "${COLLBENCH_TEST_SUITES:-}" ] || [[ " $COLLBENCH_TEST_SUITES " == *" $1 "* ]]; }

# run_suite NAME SECONDS COMMAND...: the command's own output streams through.
run_suite() {
    local name="$1" limit="$2"
    shift 2
    selected "$name" || return 0
    local start rc=0 seconds
    start=$(date +%s)
    echo
    echo "===== suite $name (limit ${limit}s): $*"
    timeout --kill-after=30 "$limit" "$@" </dev/null || rc=$?
    seconds=$(($(date +%s) - start))
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        summary+=("PASS  $name  (${seconds}s)")
    else
        failed=$((failed + 1))
        local why="exit $rc"
        [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why="timed out after ${limit}s"
        summary+=("FAIL  $name  ($why, ${seconds}s)")
    fi
    echo "===== suite $name: $([ "$rc" -eq 0 ] && echo PASS || echo FAIL) in ${seconds}s"
}

run_suite fmt 120 cargo fmt --check
run_suite clippy 1800 cargo clippy --all-targets -- -D warnings
run_suite clippy-mpi 1800 cargo clippy --all-targets --features mpi,fabric -- -D warnings
run_suite cargo-test 2400 cargo test --features mpi,fabric
run_suite build-release 1800 cargo build --release --features mpi,fabric --bins
for script in tests/scripts/*.sh; do
    [ -e "$script" ] || continue
    run_suite "$(basename "$script" .sh)" 900 "$script"
done
run_suite slurm 1200 tests/slurm/run.sh
# The namespaced cluster (about 6 minutes): COLLBENCH_CLUSTER=0 leaves it out. Debian's Open MPI
# 4.1.4 crashes in MPI_Init in a few percent of its multi-node jobs (docs/local-cluster.md); the
# suite starts such a job again, up to three more times.
if [ "${COLLBENCH_CLUSTER:-1}" != 0 ]; then
    run_suite cluster 900 tests/cluster/run.sh
else
    echo
    echo "===== suite cluster: not run (COLLBENCH_CLUSTER=0)"
fi
if [ "$MODULE_CYCLES_CHECK" = 1 ]; then
    run_suite module-cycles 900 scripts/check-module-cycles.sh
elif selected module-cycles; then
    echo
    echo "===== suite module-cycles: off (COLLBENCH_MODULE_CYCLES=0)"
fi

echo
echo "===== summary"
for line in "${summary[@]}"; do echo "$line"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
