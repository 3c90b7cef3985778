#!/usr/bin/env bash
# Apply of N independent resources with a fixed latency per cloud call, at several parallelisms:
# prints the wall time and its ratio to the bound ceil(N/P) x latency.
#
#   benches/apply_parallelism.sh [N] [LATENCY_MS] [P...]      # default: 3222 50 10 64 256
#
# Uses the testing provider, whose every call sleeps LATENCY_MS, so the figure measures the
# engine's scheduling and journaling, not a cloud.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-3222}"
latency="${2:-50}"
shift $(( $# > 2 ? 2 : $# ))
parallelisms=("${@:-10 64 256}")
[ "${#parallelisms[@]}" -eq 1 ] && read -r -a parallelisms <<< "${parallelisms[0]}"

cargo build -q --release -p strata-cli --features testing
strata="$PWD/target/release/strata"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/project/fleet"
echo 'project "bench" {}' > "$work/project/strata.hcl"
cat > "$work/project/fleet/main.hcl" <<HCL
provider "testing" {}

resource "testing_thing" "item" {
  count = $n
  name  = "item-\${count.index}"
  size  = count.index
}
HCL
export STRATA_TESTING_DIR="$work/cloud"

printf '%-12s %-8s %-12s %-12s %-8s\n' parallelism N "wall (s)" "bound (s)" ratio
for p in "${parallelisms[@]}"; do
  start=$(date +%s.%N)
  STRATA_TESTING_LATENCY_MS="$latency" "$strata" --dir "$work/project" apply --all --auto-approve --parallelism "$p" > "$work/apply.log"
  end=$(date +%s.%N)
  grep -q "Apply complete! Resources: $n added" "$work/apply.log" || { echo "apply did not complete"; tail "$work/apply.log"; exit 1; }
  python3 - "$start" "$end" "$n" "$p" "$latency" <<'PY'
import math, sys
start, end, n, p, latency = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
wall = end - start
bound = math.ceil(n / p) * latency / 1000
print(f"{p:<12} {n:<8} {wall:<12.2f} {bound:<12.2f} {wall / bound:<8.2f}")
PY
  "$strata" --dir "$work/project" destroy --all --auto-approve > /dev/null
done
