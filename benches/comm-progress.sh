#!/usr/bin/env bash
# What creating a communicator costs every later MPI call of the process (Open MPI 4.1): a new
# communicator's id is agreed by a nonblocking allreduce, which leaves libnbc's progress function
# registered for the rest of the process, and every opal_progress call runs it. For a 2-rank 8 B
# all_reduce (2 floats) this prints, per variant, the median time per call over ROUNDS alternating
# rounds and, where `perf` is installed, the share of rank 0's cycles in ompi_coll_libnbc_progress:
#   world             a bare C loop on MPI_COMM_WORLD, no communicator created (as OSU and IMB)
#   split_type_freed  the same loop after one MPI_Comm_split_type, freed at once
#   dup               the loop on a duplicate of MPI_COMM_WORLD made by MPI_Comm_dup
#   create_group      the loop on a duplicate made by MPI_Comm_create_group, whose id is agreed
#                     point to point
#   collbench         allreduce-perf -b 8 -e 8 -c 0 (it creates two communicators, both with
#                     MPI_Comm_create_group: the NCCL_TESTS_SPLIT group and the transport's duplicate)
# Usage: benches/comm-progress.sh [ROUNDS] (default 5). Needs mpicc (libopenmpi-dev) and
# cargo build --release --features mpi --bins. See docs/benchmarks.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${COLLBENCH_BIN_DIR:-$root/target/release}/allreduce-perf"
rounds="${1:-5}"
iterations=1000000
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || {
    echo "comm-progress.sh: ROUNDS must be a positive whole number, got '$rounds'" >&2
    exit 2
}
[ -x "$bin" ] || {
    echo "comm-progress.sh: $bin is missing; build it: cargo build --release --features mpi --bins" >&2
    exit 2
}
command -v mpicc >/dev/null || {
    echo "comm-progress.sh: mpicc is missing; install libopenmpi-dev" >&2
    exit 2
}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mpicc -O2 -o "$work/comm_progress" "$root/benches/comm_progress.c"
mpirun_args=(-np 2 --bind-to core)
[ "$(id -u)" = 0 ] && mpirun_args+=(--allow-run-as-root)
variants=(world split_type_freed dup create_group collbench)

# The command each rank of a variant's run executes, into the array `command`.
variant_command() {
    case "$1" in
    collbench) command=("$bin" -b 8 -e 8 -c 0 -n "$iterations" -w 1000 --backend mpi) ;;
    *) command=("$work/comm_progress" "$1" "$iterations") ;;
    esac
}

# Time per call (us) of one run of a variant: the C loop prints it alone, allreduce-perf in the
# out-of-place time column of its one row.
time_per_call() {
    variant_command "$1"
    mpirun "${mpirun_args[@]}" "${command[@]}" 2>/dev/null |
        awk '/^#/ { next } NF >= 6 { print $6; exit } NF == 1 { print $1; exit }'
}

# Each rank under perf record, into its own file.
cat >"$work/perf-rank.sh" <<WRAP
#!/usr/bin/env bash
exec perf record -q -F 5000 -o "$work/perf.\$OMPI_COMM_WORLD_RANK.data" "\$@"
WRAP
chmod +x "$work/perf-rank.sh"

# Share (%) of rank 0's cycles in ompi_coll_libnbc_progress, from one run under perf record.
libnbc_share() {
    variant_command "$1"
    mpirun "${mpirun_args[@]}" "$work/perf-rank.sh" "${command[@]}" >/dev/null 2>&1
    perf report -i "$work/perf.0.data" --no-children --sort symbol 2>/dev/null |
        awk '/ompi_coll_libnbc_progress/ { sub("%", "", $1); share += $1 } END { printf "%.1f", share + 0 }'
}

echo "# benches/comm-progress.sh: 2 ranks, 8 B MPI_Allreduce (float, sum), $iterations calls per run, $rounds rounds; $(date -u +%Y-%m-%dT%H:%MZ), load: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A times
for ((round = 0; round < rounds; round++)); do
    for variant in "${variants[@]}"; do
        times[$variant]+="$(time_per_call "$variant") "
    done
done
printf "%-18s %-14s %s\n" variant "median us/call" "libnbc progress, % of rank 0's cycles"
for variant in "${variants[@]}"; do
    median=$(tr ' ' '\n' <<<"${times[$variant]}" | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    share="(perf not installed)"
    command -v perf >/dev/null && share="$(libnbc_share "$variant")"
    printf "%-18s %-14s %s\n" "$variant" "$median" "$share"
done
