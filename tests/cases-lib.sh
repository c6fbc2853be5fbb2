# Case bookkeeping shared by the script suites (tests/slurm/run.sh, tests/cluster/run.sh). Source
# it, then set CASES_LABEL (the word in "=== LABEL case NAME") and CASES_SELECTED (space-separated
# case names; empty: every case). A suite may define after_case (run after every case, in the
# suite's shell; a failure fails the case) and CASES_WORK_DIR (each case then runs in its own
# folder CASES_WORK_DIR/NAME).
# shellcheck shell=bash

cases_passed=0
cases_failed=0
cases_failed_names=()

case_selected() { [ -z "${CASES_SELECTED:-}" ] || [[ " $CASES_SELECTED " == *" $1 "* ]]; }

# run_case NAME COMMAND...: runs COMMAND in a subshell and counts it as passed or failed.
run_case() {
    local name="$1" start rc=0
    shift
    case_selected "$name" || return 0
    start=$(date +%s)
    echo "=== $CASES_LABEL case $name"
    # A case runs in a subshell whose status is tested, where `set -e` does not apply: every step
    # of a case that can fail ends with `|| return 1` or `|| fail ...` (or is the case's last command).
    if [ -n "${CASES_WORK_DIR:-}" ]; then
        mkdir -p "$CASES_WORK_DIR/$name"
        (cd "$CASES_WORK_DIR/$name" && "$@") || rc=$?
    else
        ("$@") || rc=$?
    fi
    if declare -F after_case >/dev/null; then after_case || rc=1; fi
    if [ "$rc" -eq 0 ]; then
        cases_passed=$((cases_passed + 1))
        echo "--- PASS $name ($(($(date +%s) - start)) s)"
    else
        cases_failed=$((cases_failed + 1))
        cases_failed_names+=("$name")
        echo "--- FAIL $name (exit $rc, $(($(date +%s) - start)) s)"
    fi
}

# cases_summary: the suite's last line; succeeds when no case failed.
cases_summary() {
    echo "$CASES_LABEL: $cases_passed passed, $cases_failed failed${cases_failed_names:+ (${cases_failed_names[*]})}"
    [ "$cases_failed" -eq 0 ]
}
