#!/usr/bin/env bash
# `strata drift --all` over N managed resources whose every read takes LATENCY_MS: prints the
# wall time beside the sum of the reads (what reading them one by one would take) and the bound
# ceil(N/P) x latency of P reads at a time.
#
#   benches/drift_reads.sh [N] [LATENCY_MS] [P...]      # default: 1000 20 10 64
#
# Uses the testing provider, whose reads sleep LATENCY_MS, in four stacks of N/4 resources.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
latency="${2:-20}"
shift $(( $# > 2 ? 2 : $# ))
parallelisms=("${@:-10 64}")
[ "${#parallelisms[@]}" -eq 1 ] && read -r -a parallelisms <<< "${parallelisms[0]}"

profile="${PROFILE:-release}"
cargo build -q --profile "$profile" -p strata-cli --features testing
dir="$profile"; [ "$profile" = dev ] && dir=debug
strata="${CARGO_TARGET_DIR:-$PWD/target}/$dir/strata"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo 'project "bench" {}' > "$work/project.hcl"
mkdir -p "$work/project"
mv "$work/project.hcl" "$work/project/strata.hcl"
per_stack=$(( n / 4 ))
for s in 1 2 3 4; do
  mkdir -p "$work/project/fleet$s"
  cat > "$work/project/fleet$s/main.hcl" <<HCL
provider "testing" {}

resource "testing_thing" "item" {
  count = $per_stack
  name  = "fleet$s-\${count.index}"
  size  = count.index
}
HCL
done
export STRATA_TESTING_DIR="$work/cloud"
"$strata" --dir "$work/project" apply --all --auto-approve --parallelism 64 > /dev/null
total=$(( per_stack * 4 ))

printf '%-12s %-8s %-10s %-14s %-10s %-8s\n' parallelism N "wall (s)" "sum of reads" "bound (s)" ratio
for p in "${parallelisms[@]}"; do
  start=$(date +%s.%N)
  code=0
  STRATA_TESTING_LATENCY_MS="$latency" "$strata" --dir "$work/project" drift --all --parallelism "$p" > "$work/drift.log" || code=$?
  end=$(date +%s.%N)
  [ "$code" = 0 ] || { echo "drift exited $code"; tail "$work/drift.log"; exit 1; }
  python3 - "$start" "$end" "$total" "$p" "$latency" <<'PY'
import math, sys
start, end, n, p, latency = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
wall = end - start
bound = math.ceil(n / p) * latency / 1000
print(f"{p:<12} {n:<8} {wall:<10.2f} {n * latency / 1000:<14.2f} {bound:<10.2f} {wall / bound:<8.2f}")
PY
done
