#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for a set time and says, per target, how many inputs ran,
# whether it crashed and where the crashing inputs are (see docs/fuzzing.md):
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     # default 60 seconds, every target
#
# Works on a stable toolchain: the targets are built without a sanitizer (`-s none`), which is
# the one cargo-fuzz mode that needs no nightly flag, and with debug assertions (`-a`) so that
# arithmetic overflow panics instead of wrapping.
#
# Environment:
#   CARGO_TARGET_DIR   where the instrumented builds go (default: target/fuzz, apart from the
#                      workspace's own builds so that neither invalidates the other)
#   FUZZ_JOBS          build jobs (default 1: fuzzing is a background chore)
#   FUZZ_WORK          where the corpus grown during the run is kept (default: a fresh temp
#                      folder); the seeds in fuzz/corpus/ are only read
#   FUZZ_RSS_MB        memory limit per target in MiB (default 2048); going over is a finding
#   FUZZ_TIMEOUT       seconds one input may take before it counts as a hang (default 10)
#
# Exits 1 when a target crashed, 0 otherwise. Not part of CI: run it by hand or on a schedule.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
shift || true
case "$seconds" in
  '' | *[!0-9]*)
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...] (seconds must be a whole number, found \"$seconds\")" >&2
    exit 2
    ;;
esac

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/fuzz}"
export CARGO_BUILD_JOBS="${FUZZ_JOBS:-1}"
work="${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/strata-fuzz.XXXXXX")}"
rss_mb="${FUZZ_RSS_MB:-2048}"
timeout_s="${FUZZ_TIMEOUT:-10}"
artifacts="$root/fuzz/artifacts"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz not found; installing it from crates.io" >&2
  cargo install cargo-fuzz --locked
fi

cd "$root"
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

echo "building ${#targets[@]} targets into $CARGO_TARGET_DIR (jobs: $CARGO_BUILD_JOBS)"
# `cargo fuzz build` takes one target or all of them; build all, they share every dependency.
cargo fuzz build -s none -a

failed=0
summary=()
for target in "${targets[@]}"; do
  mkdir -p "$work/$target" "$artifacts/$target"
  log="$work/$target.log"
  before="$(find "$artifacts/$target" -type f | wc -l)"
  echo "fuzzing $target for ${seconds}s (log: $log)"
  dict=()
  if [ -f "fuzz/dicts/$target.dict" ]; then
    dict=("-dict=fuzz/dicts/$target.dict")
  fi
  status=0
  cargo fuzz run -s none -a "$target" "$work/$target" "fuzz/corpus/$target" -- \
    "${dict[@]}" \
    -max_total_time="$seconds" \
    -rss_limit_mb="$rss_mb" \
    -timeout="$timeout_s" \
    -print_final_stats=1 \
    -artifact_prefix="$artifacts/$target/" \
    >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  after="$(find "$artifacts/$target" -type f | wc -l)"
  found=$((after - before))
  if [ "$found" -gt 0 ]; then
    failed=1
    newest="$(ls -t "$artifacts/$target" | head -n 1)"
    summary+=("$target: ${runs:-?} runs, CRASHED ($found new input(s)); newest: $artifacts/$target/$newest; log: $log")
  elif [ "$status" -ne 0 ]; then
    failed=1
    summary+=("$target: ${runs:-?} runs, FAILED with exit status $status and no crashing input; log: $log")
  else
    summary+=("$target: ${runs:-?} runs, no crash")
  fi
done

echo
echo "summary (${seconds}s per target; grown corpus in $work):"
printf '  %s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "reproduce with: cargo fuzz run -s none -a TARGET ARTIFACT; then add the input to a fuzz_regressions.rs test"
fi
exit "$failed"
