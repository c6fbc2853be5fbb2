#!/usr/bin/env bash
# Every command block of README.md and docs/*.md that can run here runs, and its output must match
# the sample printed under it (tests/scripts/docs_commands.py: numbers with a decimal point may
# differ, words and integers may not). Blocks that need GPUs or a real cluster are marked as not
# run, with the reason, and listed. After a change of wording or field names, regenerate the
# samples with: tests/scripts/docs-commands.sh --update
#
# Binaries: COLLBENCH_BIN_DIR, else target/release (built by the build-release suite), else
# target/debug.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$COLLBENCH_ROOT"
bin_dir="${COLLBENCH_BIN_DIR:-}"
if [ -z "$bin_dir" ]; then
    for candidate in target/release target/debug; do
        if [ -x "$candidate/collbench" ] && [ -x "$candidate/allreduce-perf" ]; then
            bin_dir="$candidate"
            break
        fi
    done
fi
if [ -z "$bin_dir" ]; then
    log "building target/release (--features mpi,fabric)"
    timeout 1800 cargo build --release --features mpi,fabric --bins
    bin_dir=target/release
fi
command -v jq >/dev/null 2>&1 || die "jq not found: run scripts/install-deps.sh"
log "binaries from $bin_dir"
exec timeout 600 python3 tests/scripts/docs_commands.py "$COLLBENCH_ROOT" "$bin_dir" "$@"
