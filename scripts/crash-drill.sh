#!/usr/bin/env bash
# Many more SIGKILL trials than the test suite runs: kills `strata apply|destroy --all` at random
# instants, on the testing provider's fleet and on the DOKS example under --emulate with 10% 5xx
# and 10% 429 injected, and checks after every kill that the next apply converges and that the
# cloud holds exactly what state says.
#
#   scripts/crash-drill.sh [TRIALS]        # default 50; STRATA_CRASH_SEED=N replays one run
set -euo pipefail
cd "$(dirname "$0")/.."
trials="${1:-50}"
STRATA_CRASH_TRIALS="$trials" STRATA_EMULATED_CRASH_TRIALS="$trials" \
  cargo nextest run -p strata-cli --features testing --no-capture -E 'test(/^crash::/)'
