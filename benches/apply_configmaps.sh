#!/usr/bin/env bash
# Apply of N independent Kubernetes ConfigMaps to an emulated cluster, every emulated API call
# answered after a fixed latency, at several parallelisms: prints the wall time of the deploy
# stack's apply and its ratio to the bound ceil(N/P) x latency.
#
#   benches/apply_configmaps.sh [N] [LATENCY_MS] [P...]          # default: 3222 50 10 64 256
#
# With RATE_LIMIT=R (requests per second) the emulator also throttles everything beyond that
# quota with 429, and each parallelism runs twice: with adaptive parallelism (the default) and
# with --fixed-parallelism; the wall times compare the two (benchmark f of docs/performance.md).
#
# The objects go through the real kubernetes provider (kube-rs, server-side apply) to the
# emulated Kubernetes API of a DOKS cluster the base stack creates first.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-3222}"
latency="${2:-50}"
shift $(( $# > 2 ? 2 : $# ))
parallelisms=("${@:-10 64 256}")
[ "${#parallelisms[@]}" -eq 1 ] && read -r -a parallelisms <<< "${parallelisms[0]}"
rate_limit="${RATE_LIMIT:-}"

# PROFILE=dev runs a debug build (quicker to build, for trying the script out).
profile="${PROFILE:-release}"
cargo build -q --profile "$profile" -p strata-cli
dir="$profile"; [ "$profile" = dev ] && dir=debug
strata="${CARGO_TARGET_DIR:-$PWD/target}/$dir/strata"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/project/base" "$work/project/configs"
echo 'project "bench" {}' > "$work/project/strata.hcl"
cat > "$work/project/base/main.hcl" <<'HCL'
provider "digitalocean" {}

resource "digitalocean_kubernetes_cluster" "bench" {
  name    = "bench"
  region  = "nyc1"
  version = "1.31.1-do.4"

  node_pool {
    name       = "default"
    size       = "s-2vcpu-4gb"
    node_count = 1
  }
}

output "kubeconfig" {
  value     = digitalocean_kubernetes_cluster.bench.kubeconfig
  sensitive = true
}
HCL
cat > "$work/project/configs/main.hcl" <<HCL
dependency "base" {
  stack = "base"
}

provider "kubernetes" {
  kubeconfig = dependency.base.outputs.kubeconfig
}

resource "kubernetes_manifest" "config" {
  count = $n
  manifest = {
    apiVersion = "v1"
    kind       = "ConfigMap"
    metadata   = { name = "config-\${count.index}", namespace = "default" }
    data       = { index = "\${count.index}" }
  }
}
HCL
export STRATA_EMULATOR_PROVISION_MS=200
"$strata" --dir "$work/project" --emulate apply base --auto-approve > "$work/base.log"

modes=(adaptive)
[ -n "$rate_limit" ] && modes=(adaptive fixed)
echo "N=$n, ${latency} ms per call${rate_limit:+, quota $rate_limit requests/s}"
printf '%-12s %-10s %-10s %-10s %-8s %-10s\n' parallelism mode "wall (s)" "bound (s)" ratio "429s"
for p in "${parallelisms[@]}"; do
  for mode in "${modes[@]}"; do
    flag=()
    [ "$mode" = fixed ] && flag=(--fixed-parallelism)
    : > "$work/project/.strata/emulator/requests.jsonl"
    start=$(date +%s.%N)
    STRATA_EMULATOR_LATENCY_MS="$latency" STRATA_EMULATOR_RATE_LIMIT="${rate_limit:-0}" \
      "$strata" --dir "$work/project" --emulate apply configs --auto-approve --refresh=false \
      --parallelism "$p" "${flag[@]}" > "$work/apply.log" 2>&1 || true
    end=$(date +%s.%N)
    if ! grep -q "Apply complete! Resources: $n added" "$work/apply.log"; then
      printf '%-12s %-10s %s\n' "$p" "$mode" "failed: $(grep -m1 -o 'error.*' "$work/apply.log" || tail -1 "$work/apply.log")"
    else
      throttled=$(grep -c '"status":429' "$work/project/.strata/emulator/requests.jsonl" || true)
      python3 - "$start" "$end" "$n" "$p" "$latency" "$mode" "$throttled" <<'PY'
import math, sys
start, end, n, p, latency = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
mode, throttled = sys.argv[6], sys.argv[7]
wall = end - start
bound = math.ceil(n / p) * latency / 1000
print(f"{p:<12} {mode:<10} {wall:<10.2f} {bound:<10.2f} {wall / bound:<8.2f} {throttled:<10}")
PY
    fi
    STRATA_EMULATOR_LATENCY_MS=0 "$strata" --dir "$work/project" --emulate destroy configs --auto-approve > /dev/null 2>&1
  done
done
