#!/usr/bin/env bash
# The library's modules must not form a cycle (issue 12: data flows one way, CLI -> plan -> world ->
# backend -> measurement -> aggregation -> sinks -> verdict). cargo-cycles builds the graph of the
# library's modules from their `mod` and `use crate::…` items; its depth-first walk finds a cycle
# whenever there is one and prints the cycles it meets (not always all of them: how many depends on
# the walk's order) with the file:line of each edge. Exit 0: no cycle; 1: cycles or no tool.
#
# What it does not see: `super::`/`self::` imports and paths written inline (`crate::x::Y` in a
# type or call without a `use`); a cycle made only of those passes. cargo-modules (`dependencies
# --acyclic`) resolves everything but judges items, not modules, and takes far longer to install.
#
# The suite module-cycles of scripts/test-all.sh runs this unless COLLBENCH_MODULE_CYCLES=0 (see
# scripts/lib.sh); scripts/install-deps.sh installs the tool.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

installed="$(cargo-cycles --version 2>/dev/null || true)"
[ -n "$installed" ] ||
    die "cargo-cycles is not installed: COLLBENCH_MODULE_CYCLES=1 scripts/install-deps.sh installs $CARGO_CYCLES_VERSION"
[ "$installed" = "cargo-cycles $CARGO_CYCLES_VERSION" ] ||
    log "warning: $installed, the check was written for $CARGO_CYCLES_VERSION"

# cargo-cycles 0.2.0 reads ./Cargo.toml and panics on a workspace whose root package is the member
# "." (it takes the member's last path component): give it a manifest of the library alone, and
# the checkout under the name collbench (module paths are printed under the folder's name).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf '[package]\nname = "collbench"\nversion = "0.0.0"\n' >"$work/Cargo.toml"
ln -s "$COLLBENCH_ROOT" "$work/collbench"
if (cd "$work" && timeout 300 cargo-cycles --workspace "$work/collbench"); then
    log "no module cycle in the library"
else
    die "the library has module cycles (listed above, each edge with its file:line)"
fi
