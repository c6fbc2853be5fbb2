#!/usr/bin/env bash
# make gpu-check: the GPU acceptance run. Builds nothing; needs the built binaries (BIN_DIR) and a
# GPU with NCCL. Prints a verdict table (PASS/FAIL per line) and, on an H100, a comparison with
# the nccl-tests 2.19.6 anchors (ratio per size for time and algbw). Exits 1 on any FAIL.
#
#   BIN_DIR      folder with collbench and allreduce-perf (default target/release)
#   GPU_TEST     the GPU test binary, of which its device:: tests run (default BIN_DIR/gpu-tests,
#                else the newest BIN_DIR/deps/gpu-*: cargo test --release --test gpu --no-run)
#   RESULTS_DIR  where every output goes (default results/gpu/run-<UTC time>)
#   ANCHORS      nccl-tests anchors (default ../shared/anchors/h100-1gpu-nccl-tests-2.19.6)
#   QUICK=1      skip the 4 GiB anchor sweeps and the side-by-side run of nccl-tests itself
#   NCCL_TESTS_SRC, NCCL_TESTS_BIN, SIDE_SWEEPS, SIDE_COLLECTIVES: see gpu-check-nccl-tests.sh
#   ANCHOR_RUNS  how many anchor sweeps the goals take the per-size median of (default 5)
#   GPU_CHECK_WITHOUT_GPU=1  run even where nvidia-smi finds no GPU (every GPU line then FAILs)
#   STRICT_GOALS=1  a missed performance goal (MISS) fails the check too; by default only
#                correctness and error-handling lines (FAIL) do, since single timings are noisy
#   REFERENCE    the minimal NCCL loop timed beside collbench on an H100 (scripts/nccl-reference.c;
#                default BIN_DIR/nccl-reference, else built into RESULTS_DIR with cc if there is one)
set -u -o pipefail

BIN_DIR=${BIN_DIR:-target/release}
RESULTS_DIR=${RESULTS_DIR:-results/gpu/run-$(date -u +%Y%m%dT%H%M%SZ)}
ANCHORS=${ANCHORS:-../shared/anchors/h100-1gpu-nccl-tests-2.19.6}
QUICK=${QUICK:-0}
ANCHOR_RUNS=${ANCHOR_RUNS:-5}
LIMIT=${LIMIT:-600}   # seconds any one command may take
STRICT_GOALS=${STRICT_GOALS:-0}

GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
# Without a GPU every line would FAIL for the same reason: say it once instead (exit 2),
# before any results folder is made.
if [[ -z $GPU_NAME && ${GPU_CHECK_WITHOUT_GPU:-0} != 1 ]]; then
    echo "gpu-check: no NVIDIA GPU here (nvidia-smi lists none or is missing); run it on a GPU node" \
        "(make gpu-bundle builds a folder to carry there), or set GPU_CHECK_WITHOUT_GPU=1 to run anyway" >&2
    exit 2
fi

mkdir -p "$RESULTS_DIR"
R=$(cd "$RESULTS_DIR" && pwd)
VERDICTS="$R/verdicts.txt"
: >"$VERDICTS"
export COLLBENCH_KERNEL_CACHE=${COLLBENCH_KERNEL_CACHE:-$R/kernel-cache}

verdict() { # verdict PASS|FAIL name detail
    printf '%-4s  %-44s %s\n' "$1" "$2" "$3" | tee -a "$VERDICTS"
}

# run NAME CMD...: runs with a time limit, keeps stdout+stderr in $R/NAME.txt and the command in
# $R/NAME.cmd; sets RC. --foreground keeps the command in the terminal's process group, so a
# Ctrl-C reaches it (collbench stops after the row and writes its files) and then this script
# (the INT trap below); -k: a command that ignores the time limit's SIGTERM is killed 30 s later.
run() {
    local name=$1
    shift
    printf '%q ' "$@" >"$R/$name.cmd"
    echo >>"$R/$name.cmd"
    timeout --foreground -k 30 "$LIMIT" "$@" >"$R/$name.txt" 2>&1
    RC=$?
}
# collbench exits 130 on Ctrl-C instead of dying of the signal, so bash would go on to the next
# check: stop here instead, with what is in $R so far.
trap 'echo "gpu-check: interrupted; partial results in $R" >&2; exit 130' INT TERM

# ok_run NAME CMD...: expects exit 0 and "# Out of bounds values : 0 OK".
ok_run() {
    local name=$1
    run "$@"
    if [[ $RC -eq 0 ]] && grep -q '^# Out of bounds values : 0 OK' "$R/$name.txt"; then
        verdict PASS "$name" "$(grep -c '^ ' "$R/$name.txt") rows, 0 wrong"
    else
        verdict FAIL "$name" "exit $RC; $(grep -E 'Out of bounds|error' "$R/$name.txt" | head -2 | tr '\n' ' ')"
    fi
}

echo "# gpu-check on $(hostname): ${GPU_NAME:-no nvidia-smi}; BIN_DIR=$BIN_DIR; results in $R"
CB="$BIN_DIR/collbench"
AR="$BIN_DIR/allreduce-perf"
for bin in "$CB" "$AR"; do
    [[ -x $bin ]] || { verdict FAIL "binary $bin" "missing (build: cargo build --release --features mpi,fabric)"; }
done

# 1. The device test: GPU fill == host fill for every dtype, every collective x dtype x op in and
#    out of place checked on the device, planted corruption, graph and per-iteration modes.
GPU_TEST=${GPU_TEST:-$BIN_DIR/gpu-tests}
if [[ ! -x $GPU_TEST ]]; then
    # `cargo test --release --test gpu --no-run` leaves it under deps/ with a hash.
    # The newest executable of them (not the .d dependency files).
    GPU_TEST=""
    for candidate in "$BIN_DIR"/deps/gpu-*; do
        [[ -x $candidate && $candidate != *.d ]] || continue
        [[ -z $GPU_TEST || $candidate -nt $GPU_TEST ]] && GPU_TEST=$candidate
    done
fi
if [[ -n $GPU_TEST && -x $GPU_TEST ]]; then
    run device-test env COLLBENCH_REQUIRE_GPU=1 COLLBENCH_ANCHORS="$ANCHORS" "$GPU_TEST" device:: --nocapture --test-threads 1
    fills=$(grep -c '^SELFTEST PASS' "$R/device-test.txt")
    checks=$(grep -c '^CHECK PASS' "$R/device-test.txt")
    bad=$(grep -cE '^(SELFTEST|CHECK) FAIL' "$R/device-test.txt")
    if [[ $RC -eq 0 && $bad -eq 0 ]]; then
        verdict PASS device-test "GPU fill == host fill: $fills dtype/op ranges; $checks collective checks, 0 wrong; corruption found"
    else
        verdict FAIL device-test "exit $RC; $bad failing lines (see device-test.txt)"
    fi
else
    verdict FAIL device-test "$BIN_DIR/gpu-tests missing (cargo test --release --test gpu --no-run; copy the binary)"
fi

# 2. Every collective x every dtype x every op, in and out of place, validated, through the binary.
for c in $("$CB" list 2>/dev/null | awk 'NR>1 {print $1}'); do
    ok_run "coll-$c" "$CB" run "$c" --backend nccl -b 8 -e 1M -f 32 -d all -o all -n 3 -w 1 --collbench-json "$R/coll-$c.json"
done

# The first line names the NCCL that was loaded: its version and the file.
if head -1 "$R/coll-all_reduce.txt" 2>/dev/null | grep -q 'compatible) NCCL [0-9.]* (/[^)]*libnccl[^)]*)'; then
    verdict PASS library-in-header "$(head -1 "$R/coll-all_reduce.txt" | sed 's/.*compatible) //' | cut -c1-100)"
else
    verdict FAIL library-in-header "first line does not name the NCCL file: $(head -1 "$R/coll-all_reduce.txt" 2>/dev/null | cut -c1-120)"
fi

# 2b. The grouped send/recv fallbacks NCCL < 2.28 needs (alltoall, gather, scatter).
for c in alltoall gather scatter; do
    ok_run "fallback-send-recv-$c" env COLLBENCH_NCCL_DISABLE=ncclAlltoAll,ncclGather,ncclScatter "$CB" run "$c" --backend nccl -b 8 -e 1M -f 32 -d all -n 3 -w 1
done

# 3. Modes: graphs, blocking, registration, unaligned, per-iteration, memory report, null stream.
ok_run mode-graph "$AR" --backend nccl -b 8 -e 8M -f 8 -g 1 -n 20 -w 1 -G 10
ok_run mode-blocking-z1 "$AR" --backend nccl -b 8 -e 1M -f 64 -z 1
ok_run mode-blocking-z3 "$AR" --backend nccl -b 8 -e 1M -f 64 -z 3 -m 4
ok_run mode-register-R1 "$AR" --backend nccl -b 8 -e 8M -f 64 -R 1
ok_run mode-register-R2 "$AR" --backend nccl -b 8 -e 8M -f 64 -R 2
ok_run mode-unaligned-u1 "$AR" --backend nccl -b 8 -e 1M -f 64 -u 1 -d all
ok_run mode-per-iteration-I1 "$AR" --backend nccl -b 8 -e 8M -f 8 -n 20 -w 1 -I 1
# -z 3 separates iterations by a wait and a barrier: each iteration gets its own end event.
ok_run mode-per-iteration-I1-z3 "$AR" --backend nccl -b 8 -e 1M -f 64 -n 20 -w 1 -I 1 -z 3
ok_run mode-memory-M1 "$AR" --backend nccl -b 8 -e 1M -f 64 -M 1 --collbench-json "$R/mode-memory-M1.json"
ok_run mode-null-stream-y1 "$AR" --backend nccl -b 8 -e 1M -f 64 -y 1
ok_run mode-aggregated-m8 "$AR" --backend nccl -b 8 -e 1M -f 64 -m 8
ok_run mode-parallel-init-p1 "$AR" --backend nccl -b 8 -e 1M -f 64 -p 1
ok_run mode-timeout-T5 "$AR" --backend nccl -b 8 -e 8M -f 64 -T 5
# One memory line per rank under the rank lines, and the same numbers in --collbench-json's `memory`.
# (grep, not python: the GPU machines need not have python3.)
if grep -q '^#  Memory rank  0 GPU .*: NCCL init used [0-9]* MiB, buffers [0-9]* MiB, [0-9]* MiB free of [0-9]* MiB$' "$R/mode-memory-M1.txt" &&
    grep -Eq '"kind": ?"device"' "$R/mode-memory-M1.json" &&
    grep -Eq '"communicator_bytes": ?[1-9]' "$R/mode-memory-M1.json" &&
    grep -Eq '"buffer_bytes": ?[1-9]' "$R/mode-memory-M1.json"; then
    verdict PASS mode-memory-M1-report "memory line and JSON memory entry: $(grep -m1 '^#  Memory rank' "$R/mode-memory-M1.txt" | cut -c4-)"
else
    verdict FAIL mode-memory-M1-report "no well-formed memory line or JSON memory entry"
fi
# -e beyond free device memory: lowered with nccl-tests' notice, and the run still passes.
ok_run mode-memory-cap "$AR" --backend nccl -b 1M -e 1T -f 32 -n 2 -w 1
grep -q 'Reducing maxBytes' "$R/mode-memory-cap.txt" || verdict FAIL mode-memory-cap-notice "no 'Reducing maxBytes' notice"
# -C 1: the time column is the host's launch time, while algbw still divides by the completion
# time (nccl-tests' rule). At 64 MiB the launch is a few us of a ~50 us operation, so out of
# place (in place is a no-op on one rank) algbw x time must be far below the size.
for graphs in 0 10; do
    name=mode-cputime-C1-G$graphs
    ok_run "$name" "$AR" --backend nccl -b 64M -e 64M -n 20 -w 2 -C 1 -G "$graphs"
    row=$(awk '$1 == 67108864 { print $6, $7; exit }' "$R/$name.txt")
    if awk -v r="$row" 'BEGIN { split(r, f, " "); exit !(f[1] > 0 && f[2] > 0 && f[1] * f[2] * 1000 < 0.5 * 67108864) }'; then
        verdict PASS "$name-rule" "64 MiB: launch ${row% *} us, algbw ${row#* } GB/s from the completion time"
    else
        verdict FAIL "$name-rule" "64 MiB time/algbw '${row:-no row}': algbw is not from the completion time"
    fi
done

# 4. The planted corruption must fail the run: exit 7 and FAILED.
run corruption env COLLBENCH_TEST_CORRUPT=0:3 "$AR" --backend nccl -b 1M -e 1M -d float
if [[ $RC -eq 7 ]] && grep -q 'FAILED' "$R/corruption.txt"; then
    verdict PASS corruption "exit 7, $(grep 'Out of bounds' "$R/corruption.txt")"
else
    verdict FAIL corruption "exit $RC (expected 7 and FAILED)"
fi

# 4b. -T on a stream that never finishes (COLLBENCH_TEST_STREAM_HANG: the waits of rank 0 never
#     see its stream done, as when a peer never joins): every communicator is aborted with
#     ncclCommAbort, the error names rank, host, GPU, collective and size, exit 4, within ~-T.
hang_start=$(date +%s.%N)
run timeout-stream-hang env COLLBENCH_TEST_STREAM_HANG=0 "$AR" --backend nccl -b 1M -e 1M -T 3
hang_seconds=$(awk -v a="$hang_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if [[ $RC -eq 4 ]] &&
    grep -q 'timeout: rank 0 (host .*, GPU [0-9]* \[.*\]) all_reduce 1048576 B: operations did not complete within -T 3 s; aborted every communicator' "$R/timeout-stream-hang.txt" &&
    awk -v s="$hang_seconds" 'BEGIN { exit !(s < 30) }'; then
    verdict PASS timeout-stream-hang "exit 4 after ${hang_seconds}s: $(grep -o 'operations did not complete.*' "$R/timeout-stream-hang.txt" | head -1 | cut -c1-70)"
else
    verdict FAIL timeout-stream-hang "exit $RC after ${hang_seconds}s (expected 4 and the abort message): $(grep -m1 collbench "$R/timeout-stream-hang.txt" | cut -c1-120)"
fi

# 5. A missing NCCL: exit 3 and the list of what was tried.
run missing-library env COLLBENCH_NCCL_LIBRARY=/nonexistent/libnccl.so.2 "$AR" --backend nccl -b 8 -e 8
if [[ $RC -eq 3 ]] && grep -q '/nonexistent/libnccl.so.2: no such file' "$R/missing-library.txt"; then
    verdict PASS missing-library "exit 3: $(head -1 "$R/missing-library.txt" | cut -c1-80)"
else
    verdict FAIL missing-library "exit $RC (expected 3 with the tried list)"
fi

# 6. Start to exit of a one-size run with a warm kernel cache (the runs above warmed it).
start=$(date +%s.%N)
run startup "$AR" --backend nccl -b 8 -e 8
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
if [[ $RC -eq 0 ]] && awk -v e="$elapsed" 'BEGIN { exit !(e <= 1.5) }'; then
    verdict PASS "goal: startup" "one-size run start to exit ${elapsed}s (goal <= 1.5 s, warm kernel cache)"
else
    if [[ $RC -eq 0 ]]; then
        verdict MISS "goal: startup" "one-size run start to exit ${elapsed}s (goal <= 1.5 s)"
    else
        verdict FAIL startup "exit $RC"
    fi
fi

# 6b. Which network NCCL selected (issue 5): the first line and the JSON name it, and
#     --require-net judges it: the selected family passes, efa fails (exit 7) on a machine without
#     EFA. The private NCCL log must not be left in $TMPDIR.
NET_TMP="$R/net-tmp"
mkdir -p "$NET_TMP"
run net-reported env TMPDIR="$NET_TMP" "$AR" --backend nccl -b 8 -e 8 --collbench-json "$R/net-reported.json"
selected=$(head -1 "$R/net-reported.txt" | sed -n 's/.*, network: //p')
if [[ $RC -eq 0 && -n $selected && $selected != unknown* ]] && grep -q '"network_by_process"' "$R/net-reported.json"; then
    verdict PASS net-reported "NCCL selected: $selected (first line and backend.network_by_process)"
else
    verdict FAIL net-reported "exit $RC; first line: $(head -1 "$R/net-reported.txt" | cut -c1-160)"
fi
case "$selected" in
    Socket*) family=socket ;;
    IB*) family=ib ;;
    *Libfabric*) family=ofi ;;
    *) family="${selected%% (*}" ;;
esac
run net-require-selected env TMPDIR="$NET_TMP" "$AR" --backend nccl -b 8 -e 8 --require-net "${family:-socket}"
if [[ $RC -eq 0 ]] && grep -q '^#  PASS  network: ' "$R/net-require-selected.txt"; then
    verdict PASS net-require-selected "--require-net ${family:-socket}: exit 0, $(grep -m1 '^#  PASS  network: ' "$R/net-require-selected.txt" | cut -c10-140)"
else
    verdict FAIL net-require-selected "--require-net ${family:-socket}: exit $RC (expected 0 and a PASS network check)"
fi
run net-require-efa env TMPDIR="$NET_TMP" "$AR" --backend nccl -b 8 -e 8 --require-net efa
if [[ $selected == *"provider efa"* ]]; then want=0; else want=7; fi
if [[ $RC -eq $want ]] && grep -q "require-net efa" "$R/net-require-efa.txt"; then
    verdict PASS net-require-efa "exit $RC as expected: $(grep -m1 -o 'network: [0-9].*' "$R/net-require-efa.txt" | cut -c1-140)"
else
    verdict FAIL net-require-efa "exit $RC (expected $want); selected: ${selected:-nothing}"
fi
leftovers=$(find "$NET_TMP" -mindepth 1 | head -3)
if [[ -z $leftovers ]]; then
    verdict PASS net-private-log-removed "nothing left in \$TMPDIR after 3 NCCL runs"
else
    verdict FAIL net-private-log-removed "left behind: $leftovers"
fi
# The user's own logging wins: NCCL_DEBUG=WARN is left alone (network unknown, so a requirement
# fails and says why); NCCL_DEBUG_FILE is read where the user put it and kept.
run net-user-warn env NCCL_DEBUG=WARN "$AR" --backend nccl -b 8 -e 8 --require-net "${family:-socket}"
if [[ $RC -eq 7 ]] && grep -q 'unknown (NCCL_DEBUG=WARN' "$R/net-user-warn.txt"; then
    verdict PASS net-user-warn "NCCL_DEBUG=WARN respected: exit 7, network unknown with the reason"
else
    verdict FAIL net-user-warn "exit $RC (expected 7 naming NCCL_DEBUG=WARN)"
fi
run net-user-file env NCCL_DEBUG=INFO NCCL_DEBUG_FILE="$R/nccl-user.%h.%p.log" "$AR" --backend nccl -b 8 -e 8 --require-net "${family:-socket}"
user_logs=$(find "$R" -maxdepth 1 -name 'nccl-user.*.log' | wc -l)
if [[ $RC -eq 0 && $user_logs -ge 1 ]] && head -1 "$R/net-user-file.txt" | grep -q ', network: '; then
    verdict PASS net-user-file "read the user's NCCL_DEBUG_FILE ($user_logs file kept): $(head -1 "$R/net-user-file.txt" | sed -n 's/.*, network: //p')"
else
    verdict FAIL net-user-file "exit $RC; $user_logs user log file(s)"
fi

# 7. On an H100: the anchors' sweep, side by side.
# table FILE ANCHOR: size | time ratio oop/ip | algbw ratio oop (ours / nccl-tests).
compare() {
    awk -v anchor="$2" '
        BEGIN { while ((getline line < anchor) > 0) { if (line ~ /^#/) continue; n = split(line, f, " "); if (n >= 13) { at[f[1]] = f[6]; ab[f[1]] = f[7]; it[f[1]] = f[10] } } }
        /^#/ || NF < 13 { next }
        ($1 in at) { printf "%12s  %9s %9s %7.3f | %9s %9s %7.3f | %9s %9s %7.3f\n", $1, $6, at[$1], $6/at[$1], $10, it[$1], $10/it[$1], $7, ab[$1], (ab[$1] > 0 ? $7/ab[$1] : 0) }
    ' "$1"
}
# median_table FILE...: per size, the median out-of-place time, algbw and in-place time of the
# runs, as rows with nccl-tests' columns (the others zero) that compare() reads.
median_column() { # median_column COLUMN FILE...: "size median"
    local column=$1
    shift
    awk -v c="$column" '!/^#/ && NF >= 13 { print $1, $c }' "$@" | sort -k1,1n -k2,2g |
        awk '{ values[$1] = values[$1] " " $2; n[$1]++ }
             END { for (s in values) { split(substr(values[s], 2), v, " "); print s, v[int((n[s] + 1) / 2)] } }' |
        LC_ALL=C sort -k1,1 # join wants its keys in text order
}
median_table() {
    join <(median_column 6 "$@") <(median_column 7 "$@") | join - <(median_column 10 "$@") |
        sort -k1,1n | awk '{ printf "%12s 0 float sum -1 %s %s 0 0 %s 0 0 0\n", $1, $2, $3, $4 }'
}
# Columns: 1 size | 2 ours 3 anchor 4 ratio | 6 ours 7 anchor 8 ratio (in place) |
# 10 ours 11 anchor 12 ratio (algbw, out of place).
goal() { # goal COMPARISON-FILE NAME AWK-CONDITION AWK-DETAIL [MORE-DETAIL]
    local detail
    detail=$(awk "NR > 2 && $3 { print $4 }" "$1" | head -1)
    if [[ -n $detail ]]; then verdict PASS "$2" "$detail${5:-}"; else
        verdict MISS "$2" "$(awk "NR > 2 && \$1 == 8 { print $4 }" "$1" | head -1)${5:-}"; fi
}
# range8 COLUMN FILE...: the lowest and highest 8 B time of the sweeps, so a median a few
# percent apart can be told from the sweeps' own scatter.
range8() {
    local column=$1
    shift
    awk -v c="$column" '!/^#/ && NF >= 13 && $1 == 8 { if (n++ == 0 || $c < lo) lo = $c; if ($c > hi) hi = $c }
        END { if (n) printf "%s-%s", lo, hi }' "$@"
}
if [[ ${GPU_NAME:-} == *H100* && -f $ANCHORS/all_reduce.txt ]]; then
    if [[ $QUICK != 1 ]]; then
        # One sweep's smallest sizes swing by 30 % from run to run (a few hundred ns of host time
        # over 50 operations), so the goals use the per-size median of ANCHOR_RUNS sweeps.
        # The anchors come from another H100 on another day. A minimal NCCL loop timed the way
        # nccl-tests does (scripts/nccl-reference.c), on the same NCCL file, alternating with our
        # sweeps, separates collbench's own cost from this machine's state.
        reference=${REFERENCE:-$BIN_DIR/nccl-reference}
        if [[ ! -x $reference ]]; then
            reference=""
            for source in "$(dirname "$0")/nccl-reference.c" "$BIN_DIR/nccl-reference.c"; do
                if [[ -f $source ]] && command -v cc >/dev/null &&
                    cc -O2 -std=c11 -o "$R/nccl-reference" "$source" -ldl 2>"$R/nccl-reference-build.txt"; then
                    reference="$R/nccl-reference"
                    break
                fi
            done
        fi
        nccl_file=$(head -1 "$R/coll-all_reduce.txt" 2>/dev/null | sed -n 's/.*compatible) NCCL [0-9.]* (\([^)]*\)).*/\1/p')
        runs=()
        references=()
        for i in $(seq 1 "$ANCHOR_RUNS"); do
            run "anchor-all_reduce-$i" "$AR" --backend nccl -b 8 -e 4G -f 2 -g 1 -n 50 -w 5 --collbench-json "$R/anchor-all_reduce-$i.json"
            runs+=("$R/anchor-all_reduce-$i.txt")
            if [[ -n $reference ]]; then
                run "reference-all_reduce-$i" env ${nccl_file:+COLLBENCH_NCCL_LIBRARY="$nccl_file"} "$reference" -b 8 -e 4G -f 2 -n 50 -w 5
                [[ $RC -eq 0 ]] && references+=("$R/reference-all_reduce-$i.txt")
            fi
        done
        median_table "${runs[@]}" >"$R/anchor-all_reduce-median.txt"
        {
            echo "# all_reduce vs nccl-tests 2.19.6 on one H100 (-b 8 -e 4G -f 2 -g 1 -n 50 -w 5), median of $ANCHOR_RUNS sweeps"
            printf '%12s  %9s %9s %7s | %9s %9s %7s | %9s %9s %7s\n' size oop_us anchor ratio ip_us anchor ratio algbw anchor ratio
            compare "$R/anchor-all_reduce-median.txt" "$ANCHORS/all_reduce.txt"
        } | tee "$R/anchor-comparison.txt"
        goal "$R/anchor-comparison.txt" "goal: 8 B out-of-place time <= 1.05x" '$1 == 8 && $4 <= 1.05' '$2" us vs "$3" us ("$4"x)"'
        goal "$R/anchor-comparison.txt" "goal: 8 B in-place time <= 1.05x" '$1 == 8 && $8 <= 1.05' '$6" us vs "$7" us ("$8"x)"'
        low=$(awk 'NR > 2 && $1 >= 4194304 { if (min == "" || $12 < min) { min = $12; at = $1 } } END { print min" at "at" B" }' "$R/anchor-comparison.txt")
        if awk 'NR > 2 && $1 >= 4194304 { n++; if ($12 < 0.98) bad = 1 } END { exit !(n > 0 && !bad) }' "$R/anchor-comparison.txt"; then
            verdict PASS "goal: algbw >= 0.98x for sizes >= 4 MiB" "lowest ratio $low"
        else
            verdict MISS "goal: algbw >= 0.98x for sizes >= 4 MiB" "lowest ratio $low"
        fi
        # The same goals against the minimal loop on this machine (same columns, so compare() reads
        # its median table as it reads the anchors).
        if [[ -z $reference ]]; then
            verdict FAIL nccl-reference "neither BIN_DIR/nccl-reference nor cc to build scripts/nccl-reference.c"
        elif [[ ${#references[@]} -eq 0 ]]; then
            verdict FAIL nccl-reference "no run exited 0: $(tail -1 "$R/reference-all_reduce-1.txt" 2>/dev/null | cut -c1-120)"
        else
            median_table "${references[@]}" >"$R/reference-all_reduce-median.txt"
            {
                echo "# all_reduce vs nccl-reference (scripts/nccl-reference.c) on this machine, NCCL ${nccl_file:-libnccl.so.2}, median of ${#references[@]} sweeps each, alternating"
                printf '%12s  %9s %9s %7s | %9s %9s %7s | %9s %9s %7s\n' size oop_us ref ratio ip_us ref ratio algbw ref ratio
                compare "$R/anchor-all_reduce-median.txt" "$R/reference-all_reduce-median.txt"
            } | tee "$R/reference-comparison.txt"
            verdict PASS nccl-reference "${#references[@]} sweeps: reference-comparison.txt"
            goal "$R/reference-comparison.txt" "same machine: 8 B out-of-place <= 1.05x ref" '$1 == 8 && $4 <= 1.05' '$2" us vs "$3" us ("$4"x)"' \
                "; sweeps $(range8 6 "${runs[@]}") vs $(range8 6 "${references[@]}") us"
            goal "$R/reference-comparison.txt" "same machine: 8 B in-place <= 1.05x ref" '$1 == 8 && $8 <= 1.05' '$6" us vs "$7" us ("$8"x)"' \
                "; sweeps $(range8 10 "${runs[@]}") vs $(range8 10 "${references[@]}") us"
        fi
    fi
    {
        echo "# all_reduce -G 10 vs nccl-tests 2.19.6 (-b 8 -e 8M -f 8 -g 1 -n 20 -w 1 -G 10)"
        compare "$R/mode-graph.txt" "$ANCHORS/all_reduce_cudagraph_G10.txt"
    } | tee "$R/anchor-comparison-G10.txt"
    g8=$(awk '!/^#/ && $1 == 8 { print $6 }' "$R/mode-graph.txt" | head -1)
    if [[ -n $g8 ]] && awk -v g="$g8" 'BEGIN { exit !(g <= 1.5) }'; then
        verdict PASS "goal: -G 10 8 B time <= 1.5 us" "$g8 us"
    else
        verdict MISS "goal: -G 10 8 B time <= 1.5 us" "${g8:-no row} us"
    fi
fi

# 8. nccl-tests 2.19.6 itself, built here from its source, beside collbench: every collective,
#    -G 10, -x/-D, start to first row (scripts/gpu-check-nccl-tests.sh).
if [[ $QUICK == 1 ]]; then
    echo "# QUICK=1: nccl-tests side by side not run"
elif [[ -f $(dirname "$0")/gpu-check-nccl-tests.sh ]]; then
    # shellcheck source=scripts/gpu-check-nccl-tests.sh
    source "$(dirname "$0")/gpu-check-nccl-tests.sh"
    nccl_tests_side_by_side
else
    verdict FAIL nccl-tests-side-by-side "gpu-check-nccl-tests.sh is missing beside gpu-check.sh"
fi

echo
echo "# Verdicts"
cat "$VERDICTS"
fails=$(grep -c '^FAIL' "$VERDICTS")
misses=$(grep -c '^MISS' "$VERDICTS")
echo "# $(grep -c '^PASS' "$VERDICTS") passed, $fails failed, $misses performance goal(s) missed"
[[ $fails -eq 0 ]] && { [[ $STRICT_GOALS != 1 ]] || [[ $misses -eq 0 ]]; }
