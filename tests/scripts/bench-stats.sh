#!/usr/bin/env bash
# The peer bench's statistics (benches/peers.py: the one-sided signed-rank test that marks cells
# beyond or inside the noise, and the marks themselves) against values worked out by hand. The
# bench itself needs OSU and IMB and minutes of mpirun; this runs in a second.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
python3 "$root/benches/peers.py" --self-test
