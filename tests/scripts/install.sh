#!/usr/bin/env bash
# `make install PREFIX=<temp>`: one stripped multi-call binary, collbench; every other name (ours,
# allreduce-perf, and nccl-tests', all_reduce_perf) is a relative symlink that resolves to it and
# runs (--help, --version), and all_reduce_perf, allreduce-perf and `collbench run all_reduce` print
# the same table; installing twice is fine; `make uninstall` removes all of it; nccl-tests' own
# files under the same names survive both. Also: a relative PREFIX is refused with a clear error.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$COLLBENCH_ROOT"

prefix="$(mktemp -d /tmp/collbench-install.XXXXXX)"
trap 'rm -rf "$prefix"' EXIT
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

timeout 1800 make --no-print-directory install PREFIX="$prefix"
timeout 600 make --no-print-directory install PREFIX="$prefix" >/dev/null # twice: idempotent

{ [ -x "$prefix/bin/collbench" ] && [ ! -L "$prefix/bin/collbench" ]; } || fail "$prefix/bin/collbench is not an installed executable"
# Stripped: no symbol table, no debug info.
sections="$(readelf -S -W "$prefix/bin/collbench")"
! grep -qE '\.(symtab|debug_info)' <<<"$sections" || fail "collbench is not stripped: $(grep -E 'symtab|debug' <<<"$sections")"
echo "installed collbench: $(stat -c %s "$prefix/bin/collbench") bytes; $prefix/bin holds $(du -sb "$prefix/bin" | cut -f1) bytes"
for name in "${COLLBENCH_BINARIES[@]}"; do
    if [ "$name" != collbench ]; then
        [ "$(readlink "$prefix/bin/$name")" = collbench ] || fail "$prefix/bin/$name is not a relative link to collbench"
    fi
    help="$(timeout 30 "$prefix/bin/$name" --help 2>&1)" || fail "$name --help exited $?"
    grep -qi 'usage' <<<"$help" || fail "$name --help printed no usage: '$help'"
    version="$(timeout 30 "$prefix/bin/$name" --version 2>&1)" || fail "$name --version exited $?"
    grep -q '^collbench [0-9]' <<<"$version" || fail "$name --version printed '$version'"
done
for pair in "${NCCL_TESTS_NAMES[@]}"; do
    ours="${pair%%:*}" theirs="${pair#*:}"
    link="$prefix/bin/$theirs"
    [ -L "$link" ] || fail "$link is not a symlink"
    [ "$(readlink "$link")" = "$ours" ] || fail "$link points to '$(readlink "$link")', expected '$ours' (relative)"
    [ "$(readlink -f "$link")" = "$(readlink -f "$prefix/bin/collbench")" ] || fail "$link does not resolve to collbench"
    help="$(timeout 30 "$link" --help 2>&1)" || fail "$theirs --help exited $?"
    grep -qi 'usage' <<<"$help" || fail "$theirs --help printed no usage"
    grep -q "$ours\|$theirs" <<<"$help" || fail "$theirs --help does not name its program: $help"
    timeout 30 "$link" --version | grep -q '^collbench [0-9]' || fail "$theirs --version"
    echo "ok  $theirs -> $ours -> collbench"
done
# The three spellings of one run print the same table (the first line names the program's library,
# the rank lines its pid).
table() { timeout 60 "$@" -b 8 -e 1K -f 4 -n 1 -w 0 --backend mpi -c 0 | grep -v '^#  Rank' | sed 1d | sed -E 's/[0-9]+\.[0-9]+|[0-9]+e[+-][0-9]+/T/g' | tr -s ' '; }
a="$(table "$prefix/bin/all_reduce_perf")" || fail "all_reduce_perf failed"
b="$(table "$prefix/bin/allreduce-perf")" || fail "allreduce-perf failed"
c="$(table "$prefix/bin/collbench" run all_reduce)" || fail "collbench run all_reduce failed"
[ "$a" = "$b" ] || fail "all_reduce_perf and allreduce-perf differ:
$(diff <(echo "$a") <(echo "$b"))"
[ "$a" = "$c" ] || fail "all_reduce_perf and collbench run all_reduce differ:
$(diff <(echo "$a") <(echo "$c"))"
grep -q '^# Collective test concluded: all_reduce_perf' <<<"$a" || fail "no all_reduce table: $a"
# The link table (scripts/lib.sh) must match the binary's own registry (`collbench list`: collective,
# binary, nccl-tests name), so a collective added to the code without its link is caught here.
listed="$(timeout 30 "$prefix/bin/collbench" list | awk 'NR > 1 && NF == 3 { print $2 ":" $3 }' | sort)"
expected="$(printf '%s\n' "${NCCL_TESTS_NAMES[@]}" | sort)"
[ "$listed" = "$expected" ] || fail "collbench list and scripts/lib.sh disagree:
$(diff <(echo "$expected") <(echo "$listed"))"

for template in sbatch/*.sbatch; do
    cmp -s "$template" "$prefix/share/collbench/sbatch/$(basename "$template")" || fail "$template not installed"
done
[ -f "$prefix/share/doc/collbench/README.md" ] || fail "README not installed"

if out="$(scripts/install.sh relative/prefix 2>&1)"; then fail "a relative PREFIX was accepted"; fi
grep -q "must be an absolute path" <<<"$out" || fail "relative PREFIX error unclear: $out"

timeout 60 make --no-print-directory uninstall PREFIX="$prefix"
left="$(find "$prefix" -mindepth 1 ! -type d)"
[ -z "$left" ] || fail "uninstall left: $left"

# nccl-tests already installed in the prefix (a real all_reduce_perf, a link to another build):
# install keeps both and says so, uninstall leaves them, the other names get our links.
printf '#!/bin/sh\necho nccl-tests\n' >"$prefix/bin/all_reduce_perf"
chmod 0755 "$prefix/bin/all_reduce_perf"
ln -s /opt/nccl-tests/build/all_gather_perf "$prefix/bin/all_gather_perf"
out="$(COLLBENCH_BIN_DIR="$COLLBENCH_ROOT/target/release" scripts/install.sh "$prefix" 2>&1)" || fail "install over nccl-tests failed: $out"
grep -q "kept 2 existing file(s).*all_reduce_perf" <<<"$out" || fail "install did not say it kept nccl-tests' files: $out"
[ "$("$prefix/bin/all_reduce_perf")" = nccl-tests ] || fail "install replaced the existing all_reduce_perf"
[ "$(readlink "$prefix/bin/all_gather_perf")" = /opt/nccl-tests/build/all_gather_perf ] || fail "install replaced the existing all_gather_perf link"
[ "$(readlink "$prefix/bin/broadcast_perf")" = broadcast-perf ] || fail "install skipped broadcast_perf"
scripts/install.sh --uninstall "$prefix" 2>/dev/null
[ "$("$prefix/bin/all_reduce_perf")" = nccl-tests ] || fail "uninstall removed nccl-tests' all_reduce_perf"
[ -L "$prefix/bin/all_gather_perf" ] || fail "uninstall removed the all_gather_perf link it had not made"
left="$(find "$prefix" -mindepth 1 ! -type d ! -name all_reduce_perf ! -name all_gather_perf)"
[ -z "$left" ] || fail "uninstall left: $left"
echo "install: collbench, $((${#COLLBENCH_BINARIES[@]} - 1)) collbench names and ${#NCCL_TESTS_NAMES[@]} nccl-tests names as links, templates, README; uninstall clean"
