#!/usr/bin/env bash
# The container recipe (containers/Dockerfile) outside a container: no container registry is
# reachable where collbench is tested, so no CUDA base image can be pulled and no image built
# (docs/troubleshooting.md#building-the-container-image). What can run here does:
#   - the Dockerfile's build steps are the scripts in containers/, each COPYed before it runs
#   - install-build-deps.sh (idempotent: installs only what is missing; cargo already present)
#   - build-collbench.sh SRC PREFIX: the release build and install, then the installed names run
#     a real 1-rank sweep
# install-efa.sh downloads AWS's EFA installer (not reachable here): only its syntax is checked.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$COLLBENCH_ROOT"
fail() { echo "FAIL: $*" >&2; exit 1; }

# Every RUN calls a recipe script that exists and was copied in before.
copied="$(grep -E '^COPY containers/' containers/Dockerfile)"
runs="$(grep -cE '^RUN ' containers/Dockerfile)"
[ "$runs" -ge 3 ] || fail "expected the three recipe steps as RUN lines, found $runs"
while read -r script; do
    [ -x "containers/$script" ] || fail "Dockerfile runs $script, which is not an executable in containers/"
    grep -q "containers/$script" <<<"$copied" || fail "Dockerfile runs $script without copying it first"
    echo "recipe step: containers/$script"
done < <(grep -oE '^RUN /opt/collbench-recipe/[a-z-]+\.sh' containers/Dockerfile | sed 's|.*/||')
bash -n containers/install-efa.sh

timeout 600 containers/install-build-deps.sh || fail "install-build-deps.sh exited $?"
prefix="$(mktemp -d /tmp/collbench-recipe.XXXXXX)"
trap 'rm -rf "$prefix"' EXIT
timeout 1800 containers/build-collbench.sh "$COLLBENCH_ROOT" "$prefix" || fail "build-collbench.sh exited $?"
out="$(timeout 120 "$prefix/bin/all_reduce_perf" --backend mpi -b 8 -e 1K -f 4)" || fail "installed all_reduce_perf exited $?"
grep -q '^# Out of bounds values : 0 OK' <<<"$out" || fail "no clean footer: $out"
echo "container recipe: the steps build, install and run collbench outside a container"
