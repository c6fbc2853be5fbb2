#!/usr/bin/env bash
# Slurm case: sbatch/acceptance.sbatch on the local cluster (1 node x 4 tasks, host backend).
#   pass     COLLBENCH_MIN_BUSBW tiny: job COMPLETED exit 0, JSON verdict PASS, JSON Lines rows,
#            Prometheus textfile accepted by promtool with the job's id
#   fail     COLLBENCH_MIN_BUSBW far above the host: sbatch --wait exits 7, job FAILED 7:0, verdict
#            FAIL naming nobody (a uniform shortfall: no rank stands out)
#   scancel  a long sweep cancelled mid-run: every rank stops after the same row, exits 143, and
#            every output keeps the finished rows and says the run is incomplete
#   noprofile --profile auto where no profile matches: PASS on data and completeness, with a note
# Run by tests/slurm/run.sh with SLURM_CONF, COLLBENCH_BIN_DIR and COLLBENCH_CASE_DIR set.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${COLLBENCH_CASE_DIR:?}"
bin="${COLLBENCH_BIN_DIR:?}/collbench"
[ -x "$bin" ] || { echo "no $bin" >&2; exit 1; }
fail() { echo "FAIL: $*" >&2; exit 1; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

# submit TAG [VAR=VALUE...]: sbatch --wait of the template; prints sbatch's exit code.
submit() {
    local tag="$1" rc=0
    shift
    mkdir -p "$dir/$tag"
    env COLLBENCH_BIN="$bin" COLLBENCH_OUTPUT_DIR="$dir/$tag" OMPI_MCA_mpi_yield_when_idle=1 "$@" \
        timeout 300 sbatch --wait --parsable --nodes=1 --ntasks-per-node=4 \
        --chdir="$dir/$tag" --output="$dir/$tag/%x_%j.out" "$root/sbatch/acceptance.sbatch" \
        >"$dir/$tag/job_id" || rc=$?
    echo "$rc"
}
job_of() { cut -d';' -f1 <"$dir/$1/job_id"; }
state_of() { scontrol show job "$1" | grep -oE 'JobState=[A-Z_]+|ExitCode=[0-9]+:[0-9]+' | tr '\n' ' '; }

# ---- pass ---------------------------------------------------------------------------------------
rc="$(submit pass COLLBENCH_MIN_BUSBW=0.000001 COLLBENCH_ARGS="-b 1M -e 8M -f 2")"
job="$(job_of pass)"
base="$dir/pass/collbench-acceptance_$job"
cat "$dir/pass/collbench-acceptance_$job.out"
[ "$rc" -eq 0 ] || fail "pass: sbatch --wait exited $rc"
state_of "$job" | grep -q 'JobState=COMPLETED' || fail "pass: $(state_of "$job")"
# The verdict block is on stderr (stdout stays nccl-tests' table, docs/output.md): the job's .out.
grep -q '^# Verdict: PASS' "$base.out" || fail "pass: no PASS verdict in $base.out"
! grep -q '^# Verdict' "$base.txt" || fail "pass: the verdict reached the table in $base.txt"
[ "$(json "$base.json" 'd["verdict"]["passed"]')" = True ] || fail "pass: JSON verdict"
[ "$(json "$base.json" 'd["slurm"]["job_id"]')" = "$job" ] || fail "pass: JSON job id"
[ "$(grep -c '"record":"row"' "$base.jsonl")" -eq 4 ] || fail "pass: 4 rows in $base.jsonl"
timeout 30 promtool check metrics <"$base.prom" || fail "pass: promtool rejects $base.prom"
grep -q "slurm_job_id=\"$job\"} 1" "$base.prom" || fail "pass: job id not in $base.prom"
grep -qE '^collbench_verdict_passed\{.*\} 1$' "$base.prom" || fail "pass: verdict metric"
echo "pass: ok (job $job)"

# ---- fail ---------------------------------------------------------------------------------------
rc="$(submit fail COLLBENCH_MIN_BUSBW=100000 COLLBENCH_ARGS="-b 1M -e 8M -f 2")"
job="$(job_of fail)"
base="$dir/fail/collbench-acceptance_$job"
[ "$rc" -eq 7 ] || fail "fail: sbatch --wait exited $rc, expected 7"
state_of "$job" | grep -q 'JobState=FAILED ExitCode=7:0' || fail "fail: $(state_of "$job")"
grep -q '^# Verdict: FAIL' "$base.out" || fail "fail: no FAIL verdict in $base.out"
grep -q '^# No rank stands out: run accept --pairwise to isolate' "$base.out" ||
    fail "fail: a uniform shortfall did not say that no rank stands out"
! grep -qE '^#   rank [0-9]+ on [^ ]+' "$base.out" || fail "fail: a rank was named without evidence"
! grep -q '^collbench_failing_host' "$base.prom" || fail "fail: a failing host without evidence"
[ "$(json "$base.json" 'd["verdict"]["passed"]')" = False ] || fail "fail: JSON verdict"
grep -qE '^collbench_verdict_passed\{.*\} 0$' "$base.prom" || fail "fail: verdict metric"
echo "fail: ok (job $job)"

# ---- scancel mid-sweep --------------------------------------------------------------------------
mkdir -p "$dir/cancel"
job="$(env COLLBENCH_BIN="$bin" COLLBENCH_OUTPUT_DIR="$dir/cancel" OMPI_MCA_mpi_yield_when_idle=1 \
    COLLBENCH_MIN_BUSBW=0.000001 COLLBENCH_ARGS="-b 1M -e 256M -f 2 -n 40" \
    timeout 30 sbatch --parsable --nodes=1 --ntasks-per-node=4 \
    --chdir="$dir/cancel" --output="$dir/cancel/%x_%j.out" "$root/sbatch/acceptance.sbatch" | cut -d';' -f1)"
base="$dir/cancel/collbench-acceptance_$job"
# shellcheck disable=SC2016 # expanded by the inner shell
timeout 120 bash -c 'until [ "$(cat "$1" 2>/dev/null | grep -c "\"record\":\"row\"")" -ge 2 ]; do sleep 0.2; done' _ "$base.jsonl" ||
    fail "cancel: no 2 rows within 120 s"
timeout 10 scancel "$job"
# shellcheck disable=SC2016
timeout 90 bash -c 'until [ -z "$(squeue -h -j "$1" 2>/dev/null)" ]; do sleep 0.5; done' _ "$job" ||
    fail "cancel: job $job still listed 90 s after scancel"
state_of "$job" | grep -q 'JobState=CANCELLED' || fail "cancel: $(state_of "$job")"
rows="$(grep -c '"record":"row"' "$base.jsonl")"
[ "$rows" -ge 2 ] || fail "cancel: only $rows finished rows kept in $base.jsonl"
[ "$rows" -lt 9 ] || fail "cancel: all 9 rows finished; the cancel came too late to test anything"
# Every kept line is a whole JSON record (rows are appended and fsynced one by one).
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$base.jsonl" ||
    fail "cancel: $base.jsonl has a torn record"
# Every rank got SIGTERM from slurmstepd, stopped after the same row and wrote the end record:
# exit 143 (the template prints it), an end record that says incomplete, and no output that
# claims a complete run. (Until the umbrella stopped linking libfabric, libinfinipath's load-time
# SIGTERM handler made every rank exit 1 here before any of this was written.)
grep -q '^# collbench accept exit code 143;' "$dir"/cancel/*_"$job".out ||
    fail "cancel: collbench did not exit 143: $(tail -5 "$dir"/cancel/*_"$job".out)"
tail -n 1 "$base.jsonl" | grep -q '"record":"end"' || fail "cancel: no end record in $base.jsonl"
tail -n 1 "$base.jsonl" | grep -q '"complete":false' || fail "cancel: end record claims a complete run"
[ "$(json "$base.json" 'd["complete"]')" = False ] || fail "cancel: JSON claims a complete run"
[ "$(json "$base.json" 'd["verdict"]["passed"]')" = False ] || fail "cancel: the verdict passed an interrupted run"
grep -qE '^collbench_run_complete\{.*\} 0$' "$base.prom" || fail "cancel: prom does not say the run is incomplete"
echo "cancel: ok (job $job, $rows rows kept)"

# ---- --profile auto on a machine no profile covers ---------------------------------------------
# Judged on data and completeness (exit 0), and the verdict says that no profile applied.
rc="$(submit noprofile COLLBENCH_PROFILE=auto COLLBENCH_ARGS="-b 1M -e 2M -f 2")"
job="$(job_of noprofile)"
base="$dir/noprofile/collbench-acceptance_$job"
[ "$rc" -eq 0 ] || fail "noprofile: sbatch --wait exited $rc: $(tail -5 "$base.out")"
grep -q "^#  note: --profile auto: no busbw profile applied for instance type" "$base.out" ||
    fail "noprofile: no note in $base.out"
[ "$(json "$base.json" '"no busbw profile applied" in d["verdict"]["note"]')" = True ] || fail "noprofile: JSON verdict note"
echo "noprofile: ok (job $job)"
