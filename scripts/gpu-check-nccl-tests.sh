# shellcheck shell=bash
# Sourced by scripts/gpu-check.sh (uses its run, verdict, median_table and compare): nccl-tests
# 2.19.6 itself beside collbench, same machine, same NCCL file, same flags, alternating.
#
#   NCCL_TESTS_SRC   nccl-tests 2.19.6 source (default BIN_DIR/nccl-tests, where make gpu-bundle puts
#                    it); built here with this machine's nvcc into RESULTS_DIR/nccl-tests-build
#   NCCL_TESTS_BIN   an nccl-tests build folder to use instead (skips the build)
#   SIDE_SWEEPS      alternating sweeps per side and case (default 3); the goals take per-size medians
#   SIDE_COLLECTIVES the collectives compared (default all eleven)
#   CUDA_HOME        default /usr/local/cuda
#
# Only nccl-tests' own sources are compiled (the check builds nothing of collbench's).

# nccl_home_for LIBNCCL: a folder with include/nccl.h and lib/libnccl.so for nccl-tests' Makefile,
# made of links to the library collbench loaded and the newest nccl.h of the same major.minor
# found beside it, in the system or in the pip wheel.
nccl_home_for() {
    local lib=$1 home="$R/nccl-home" header="" candidate version
    version=$(basename "$(readlink -f "$lib")" | sed -n 's/^libnccl\.so\.\([0-9]*\.[0-9]*\).*/\1/p')
    for candidate in "$(dirname "$lib")/../include/nccl.h" /usr/include/nccl.h /usr/local/include/nccl.h \
        "$CUDA_HOME/include/nccl.h" $(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "include", "nccl.h"))' 2>/dev/null); do
        [[ -f $candidate ]] || continue
        if [[ -z $version ]] || grep -q "^#define NCCL_MINOR *${version#*.}$" "$candidate"; then
            header=$candidate
            break
        fi
        [[ -z $header ]] && header=$candidate
    done
    [[ -n $header ]] || return 1
    rm -rf "$home"
    mkdir -p "$home/lib"
    ln -s "$(dirname "$(readlink -f "$header")")" "$home/include"
    ln -s "$(readlink -f "$lib")" "$home/lib/libnccl.so"
    echo "$home"
}

# build_nccl_tests: sets NT_BIN to a folder holding nccl-tests' *_perf binaries, or returns 1.
build_nccl_tests() {
    if [[ -n ${NCCL_TESTS_BIN:-} ]]; then
        NT_BIN=$NCCL_TESTS_BIN
        return 0
    fi
    local src=${NCCL_TESTS_SRC:-$BIN_DIR/nccl-tests} home
    if [[ ! -f $src/src/common.cu ]]; then
        verdict FAIL nccl-tests-build "no nccl-tests source at $src (make gpu-bundle NCCL_TESTS_SRC=DIR carries it; git clone -b v2.19.6 https://github.com/NVIDIA/nccl-tests)"
        return 1
    fi
    if [[ -z ${NCCL_LIB:-} ]] || ! home=$(nccl_home_for "$NCCL_LIB"); then
        verdict FAIL nccl-tests-build "no nccl.h found for ${NCCL_LIB:-the NCCL collbench loaded (unknown)}"
        return 1
    fi
    local started=$SECONDS
    run nccl-tests-build make -C "$src" -j "$(nproc)" MPI=0 CUDA_HOME="$CUDA_HOME" NCCL_HOME="$home" \
        NVCC_GENCODE="-gencode=arch=compute_90,code=sm_90" BUILDDIR="$R/nccl-tests-build"
    if [[ $RC -ne 0 || ! -x $R/nccl-tests-build/all_reduce_perf ]]; then
        verdict FAIL nccl-tests-build "exit $RC: $(grep -m1 -i error "$R/nccl-tests-build.txt" | cut -c1-120)"
        return 1
    fi
    verdict PASS nccl-tests-build "$(grep -c '^Linking' "$R/nccl-tests-build.txt") programs in $((SECONDS - started)) s against $(readlink -f "$NCCL_LIB")"
    NT_BIN=$R/nccl-tests-build
}

# side_case NAME COLLECTIVE FLAGS...: SIDE_SWEEPS alternating sweeps of nccl-tests and collbench
# (the order flips each round), their per-size medians side by side in NAME.txt, and the goals:
# 8 B out-of-place time <= 1.02x and algbw >= 0.98x from 4 MiB, with each side's 8 B range.
side_case() {
    local name=$1 c=$2
    shift 2
    local ours=() theirs=() i first second
    for i in $(seq 1 "$SIDE_SWEEPS"); do
        first=nt second=cb
        ((i % 2 == 0)) && first=cb second=nt
        for side in $first $second; do
            if [[ $side == nt ]]; then
                run "side-$name-nt-$i" env LD_LIBRARY_PATH="$(dirname "$NCCL_LIB")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$NT_BIN/${c}_perf" "$@"
                [[ $RC -eq 0 ]] && theirs+=("$R/side-$name-nt-$i.txt")
            else
                run "side-$name-cb-$i" "$CB" run "$c" --backend nccl "$@"
                [[ $RC -eq 0 ]] && grep -q '^# Out of bounds values : 0 OK' "$R/side-$name-cb-$i.txt" &&
                    ours+=("$R/side-$name-cb-$i.txt")
            fi
        done
    done
    if [[ ${#ours[@]} -eq 0 || ${#theirs[@]} -eq 0 ]]; then
        verdict FAIL "vs nccl-tests: $name" "runs that passed: collbench ${#ours[@]}, nccl-tests ${#theirs[@]} of $SIDE_SWEEPS (side-$name-*.txt)"
        return
    fi
    median_table "${ours[@]}" >"$R/side-$name-cb-median.txt"
    median_table "${theirs[@]}" >"$R/side-$name-nt-median.txt"
    {
        echo "# $c $* : collbench vs nccl-tests 2.19.6, same machine and NCCL, median of ${#ours[@]}/${#theirs[@]} alternating sweeps"
        printf '%12s  %9s %9s %7s | %9s %9s %7s | %9s %9s %7s\n' size oop_us nt ratio ip_us nt ratio algbw nt ratio
        compare "$R/side-$name-cb-median.txt" "$R/side-$name-nt-median.txt"
    } | tee "$R/side-$name.txt"
    local ranges
    ranges="; 8 B sweeps $(range8 6 "${ours[@]}") vs $(range8 6 "${theirs[@]}") us"
    goal "$R/side-$name.txt" "vs nccl-tests: $name 8 B oop <= 1.02x" '$1 == 8 && $4 <= 1.02' '$2" us vs "$3" us ("$4"x)"' "$ranges"
    local low
    low=$(awk 'NR > 2 && $1 >= 4194304 { if (min == "" || $12 < min) { min = $12; at = $1 } } END { if (min != "") print min"x at "at" B" }' "$R/side-$name.txt")
    if [[ -z $low ]]; then
        return # a sweep that stops below 4 MiB (-G 10) has no bandwidth goal
    elif awk 'NR > 2 && $1 >= 4194304 { if ($12 < 0.98) bad = 1 } END { exit bad }' "$R/side-$name.txt"; then
        verdict PASS "vs nccl-tests: $name algbw >= 0.98x from 4 MiB" "lowest $low"
    else
        verdict MISS "vs nccl-tests: $name algbw >= 0.98x from 4 MiB" "lowest $low"
    fi
}

# first_row_seconds CMD...: seconds from start to the first table row on stdout.
first_row_seconds() {
    local start
    start=$(date +%s.%N)
    timeout 120 "$@" 2>/dev/null | while IFS= read -r line; do
        if [[ $line =~ ^\ +[0-9] ]]; then
            awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", b - a }'
            cat >/dev/null
            break
        fi
    done
}

nccl_tests_side_by_side() {
    CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
    SIDE_SWEEPS=${SIDE_SWEEPS:-3}
    NCCL_LIB=$(head -1 "$R/coll-all_reduce.txt" 2>/dev/null | sed -n 's/.*compatible) NCCL [0-9.]* (\([^)]*\)).*/\1/p')
    build_nccl_tests || return
    local sweep=(-b 8 -e 1G -f 8 -g 1 -n 20 -w 5)
    local c
    for c in ${SIDE_COLLECTIVES:-all_reduce all_gather reduce_scatter alltoall alltoallv broadcast reduce gather scatter sendrecv hypercube}; do
        side_case "$c" "$c" "${sweep[@]}"
    done
    side_case all_reduce-G10 all_reduce -b 8 -e 8M -f 8 -g 1 -n 20 -w 1 -G 10
    # -x runs on both sides; collbench refuses -D (exit 6, its device kernels are not implemented),
    # which prints a MISS naming the refusal.
    for flags in "-x 1" "-D 1 -R 2" "-D 2 -R 2"; do
        # shellcheck disable=SC2086 # the flags are words
        run "side-flag-${flags// /}" "$CB" run all_reduce --backend nccl -b 8 -e 8 $flags
        if [[ $RC -eq 0 ]]; then
            # shellcheck disable=SC2086
            side_case "all_reduce${flags// /}" all_reduce -b 8 -e 1G -f 8 -g 1 -n 20 -w 5 $flags
        else
            verdict MISS "vs nccl-tests: all_reduce $flags" "collbench exit $RC: $(grep -m1 collbench: "$R/side-flag-${flags// /}.txt" | cut -c1-100)"
        fi
    done
    # Start to first row of a one-size run, alternating, median of 5 each.
    local ours=() theirs=() i
    for i in 1 2 3 4 5; do
        theirs+=("$(first_row_seconds env LD_LIBRARY_PATH="$(dirname "$NCCL_LIB")" "$NT_BIN/all_reduce_perf" -b 8 -e 8 -g 1)")
        ours+=("$(first_row_seconds "$CB" run all_reduce --backend nccl -b 8 -e 8 -g 1)")
    done
    local ours_s theirs_s
    ours_s=$(printf '%s\n' "${ours[@]}" | sort -g | sed -n 3p)
    theirs_s=$(printf '%s\n' "${theirs[@]}" | sort -g | sed -n 3p)
    if [[ -n $ours_s && -n $theirs_s ]] && awk -v o="$ours_s" -v t="$theirs_s" 'BEGIN { exit !(o <= t) }'; then
        verdict PASS "vs nccl-tests: start to first row <= 1.0x" "$ours_s s vs $theirs_s s (medians of 5; ${ours[*]} | ${theirs[*]})"
    else
        verdict MISS "vs nccl-tests: start to first row <= 1.0x" "${ours_s:-?} s vs ${theirs_s:-?} s (medians of 5; ${ours[*]} | ${theirs[*]})"
    fi
}
