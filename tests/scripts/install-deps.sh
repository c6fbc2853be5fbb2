#!/usr/bin/env bash
# scripts/install-deps.sh is idempotent: with everything present it reports so, installs nothing,
# leaves /usr/sbin/policy-rc.d as it was, and is fast; --check agrees; a bad argument is refused.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
policy_before="$(sha256sum /usr/sbin/policy-rc.d 2>/dev/null || echo absent)"

# First run may install (bare machine); the second must be a no-op.
timeout 1200 "$root/scripts/install-deps.sh"
start=$(date +%s%N)
out="$(timeout 60 "$root/scripts/install-deps.sh" 2>&1)"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
echo "$out"
grep -q 'all dependencies present' <<<"$out" || fail "second run did not report everything present"
if grep -q 'installing' <<<"$out"; then fail "second run installed something: $out"; fi
[ "$elapsed_ms" -lt 5000 ] || fail "second run took ${elapsed_ms} ms, expected a fast no-op (< 5 s)"
timeout 60 "$root/scripts/install-deps.sh" --check || fail "--check reports something missing right after install"
[ "$(sha256sum /usr/sbin/policy-rc.d 2>/dev/null || echo absent)" = "$policy_before" ] || fail "policy-rc.d changed"

if out="$(timeout 10 "$root/scripts/install-deps.sh" --bogus 2>&1)"; then fail "--bogus accepted"; fi
grep -q "unknown argument '--bogus'" <<<"$out" || fail "unclear error for --bogus: $out"
# A second argument is not silently dropped (`--check --quiet` would otherwise run a plain check).
if out="$(timeout 10 "$root/scripts/install-deps.sh" --check --bogus 2>&1)"; then fail "--check --bogus accepted"; fi
grep -q "'--bogus'" <<<"$out" || fail "unclear error for --check --bogus: $out"

# The NVRTC wheel is there and lib.sh exports it for the GPU kernel-compile test.
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
unset COLLBENCH_NVRTC_LIBRARY
export_nvrtc_env
[ -f "${COLLBENCH_NVRTC_LIBRARY:-}" ] || fail "COLLBENCH_NVRTC_LIBRARY not set to a file: '${COLLBENCH_NVRTC_LIBRARY:-}'"
case ":$LD_LIBRARY_PATH:" in *":$(dirname "$COLLBENCH_NVRTC_LIBRARY"):"*) ;; *) fail "LD_LIBRARY_PATH lacks the NVRTC folder" ;; esac
python3 -c 'import ctypes, os; ctypes.CDLL(os.environ["COLLBENCH_NVRTC_LIBRARY"])' || fail "NVRTC does not load"
echo "install-deps: second run ${elapsed_ms} ms, nothing installed; NVRTC at $COLLBENCH_NVRTC_LIBRARY loads"
