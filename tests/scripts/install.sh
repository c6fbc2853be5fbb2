#!/usr/bin/env bash
# `make install PREFIX=<temp>`: every binary is installed and runs (--help), every nccl-tests name is
# a relative symlink that resolves to its binary and runs; installing twice is fine; `make
# uninstall` removes all of it; nccl-tests' own files under the same names survive both. Also: a
# relative PREFIX is refused with a clear error.
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

for name in "${COLLBENCH_BINARIES[@]}"; do
    if [ ! -x "$prefix/bin/$name" ] || [ -L "$prefix/bin/$name" ]; then
        fail "$prefix/bin/$name is not an installed executable"
    fi
    help="$(timeout 30 "$prefix/bin/$name" --help 2>&1)" || fail "$name --help exited $?"
    grep -qi 'usage' <<<"$help" || fail "$name --help printed no usage: '$help'"
done
for pair in "${NCCL_TESTS_NAMES[@]}"; do
    ours="${pair%%:*}" theirs="${pair#*:}"
    link="$prefix/bin/$theirs"
    [ -L "$link" ] || fail "$link is not a symlink"
    [ "$(readlink "$link")" = "$ours" ] || fail "$link points to '$(readlink "$link")', expected '$ours' (relative)"
    [ "$(readlink -f "$link")" = "$(readlink -f "$prefix/bin/$ours")" ] || fail "$link does not resolve to $ours"
    help="$(timeout 30 "$link" --help 2>&1)" || fail "$theirs --help exited $?"
    grep -qi 'usage' <<<"$help" || fail "$theirs --help printed no usage"
    echo "ok  $theirs -> $ours"
done
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
echo "install: ${#COLLBENCH_BINARIES[@]} binaries, ${#NCCL_TESTS_NAMES[@]} nccl-tests links, templates, README; uninstall clean"
