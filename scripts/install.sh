#!/usr/bin/env bash
# Installs the multi-call binary `collbench` (stripped) under PREFIX/bin, and every other name it
# answers to as a relative symlink: collbench's per-collective names (allreduce-perf, ...) to
# collbench, and nccl-tests' names (all_reduce_perf, ...) to those, so that existing scripts run
# unchanged; the binary picks the program from the name it was started as. Also the sbatch
# templates under PREFIX/share/collbench/sbatch and the README under PREFIX/share/doc/collbench.
# A nccl-tests name that is already there and is not our link (nccl-tests itself installed in the
# same prefix) is left alone, by install and by uninstall.
#
#   scripts/install.sh PREFIX              (make install PREFIX=/opt/collbench)
#   scripts/install.sh --uninstall PREFIX  removes exactly what install put there
# DESTDIR is honoured (packaging). The binary comes from COLLBENCH_BIN_DIR (default target/release);
# STRIP names the strip program (default strip; STRIP=true installs the binary as built).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

# True when $1 is the relative symlink to $2 that install makes.
is_our_link() { [ -L "$1" ] && [ "$(readlink "$1")" = "$2" ]; }

uninstall=0
if [ "${1:-}" = --uninstall ]; then
    uninstall=1
    shift
fi
{ [ $# -eq 1 ] && [ -n "$1" ]; } || die "usage: $0 [--uninstall] PREFIX (got: $*)"
case "$1" in /*) ;; *) die "PREFIX '$1' must be an absolute path, e.g. /usr/local or /opt/collbench" ;; esac
dest="${DESTDIR:-}$1"
bin_dir="${COLLBENCH_BIN_DIR:-$COLLBENCH_ROOT/target/release}"
# collbench's own per-collective names: every binary name but the multi-call binary itself.
own_names=("${COLLBENCH_BINARIES[@]:1}")

if [ "$uninstall" -eq 1 ]; then
    for pair in "${NCCL_TESTS_NAMES[@]}"; do
        ! is_our_link "$dest/bin/${pair#*:}" "${pair%%:*}" || rm -f "$dest/bin/${pair#*:}"
    done
    # Our names are ours whatever they are (links now, whole binaries from older installs).
    for name in "${COLLBENCH_BINARIES[@]}"; do rm -f "$dest/bin/$name"; done
    rm -rf "$dest/share/collbench" "$dest/share/doc/collbench"
    log "removed collbench from $dest"
    exit 0
fi

[ -x "$bin_dir/collbench" ] || die "$bin_dir/collbench is missing: build first (cargo build --release --features mpi,fabric, or make install)"
install -d "$dest/bin" "$dest/share/collbench/sbatch" "$dest/share/doc/collbench"
install -m 0755 "$bin_dir/collbench" "$dest/bin/collbench"
"${STRIP:-strip}" "$dest/bin/collbench" || die "${STRIP:-strip} $dest/bin/collbench failed (STRIP=true skips stripping)"
# Relative links: the tree stays valid when DESTDIR is stripped or the prefix is moved.
for name in "${own_names[@]}"; do
    ln -sfn collbench "$dest/bin/$name"
done
kept=()
for pair in "${NCCL_TESTS_NAMES[@]}"; do
    link="$dest/bin/${pair#*:}"
    if [ -e "$link" ] || [ -L "$link" ]; then
        if ! is_our_link "$link" "${pair%%:*}"; then
            kept+=("$link")
            continue
        fi
    fi
    ln -sfn "${pair%%:*}" "$link"
done
[ "${#kept[@]}" -eq 0 ] || log "kept ${#kept[@]} existing file(s) that collbench did not install (nccl-tests itself?): ${kept[*]}; remove them and install again to get the collbench links"
install -m 0644 "$COLLBENCH_ROOT"/sbatch/*.sbatch "$dest/share/collbench/sbatch/"
install -m 0644 "$COLLBENCH_ROOT/README.md" "$dest/share/doc/collbench/README.md"
log "installed collbench ($(du -h "$dest/bin/collbench" | cut -f1)), ${#own_names[@]} collbench names and $((${#NCCL_TESTS_NAMES[@]} - ${#kept[@]})) nccl-tests names as links in $dest/bin"
