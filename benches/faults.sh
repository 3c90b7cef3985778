#!/usr/bin/env bash
# Every example platform applied and destroyed under --emulate twice: on a healthy emulated cloud,
# then with 30% of requests answered 5xx and 30% throttled (429 with the cloud's headers).
# Prints the apply and destroy durations of both runs and the ratio of the applies.
#
#   benches/faults.sh [ERROR_RATE] [THROTTLE_RATE] [EXAMPLE...]   # default: 0.3 0.3, every example
#
# Every request is answered after LATENCY_MS plus up to JITTER_MS (default 50 and 50: a cloud
# API's usual round trip; LATENCY_MS=0 JITTER_MS=0 gives the emulator's own, near-zero latency).
# Which requests fail is random, and one call that fails many times in a row holds up all that
# depends on it, so faulty runs vary a lot: REPEAT=N (default 1) runs each faulty case N times
# and prints every run and the median.
# PROFILE=dev uses a debug build (quicker to build).
set -euo pipefail
cd "$(dirname "$0")/.."
error_rate="${1:-0.3}"
throttle_rate="${2:-0.3}"
shift $(( $# < 2 ? $# : 2 ))
profile="${PROFILE:-release}"
cargo build -q --profile "$profile" -p strata-cli
dir="$profile"; [ "$profile" = dev ] && dir=debug
strata="${CARGO_TARGET_DIR:-$PWD/target}/$dir/strata"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

export STRATA_EMULATOR_PROVISION_MS=500
export STRATA_EMULATOR_LATENCY_MS="${LATENCY_MS:-50}"
export STRATA_EMULATOR_JITTER_MS="${JITTER_MS:-50}"
export STRATA_VAR_db_admin_password=bench-admin-password-1
export STRATA_VAR_db_password=bench-db-password-2
export STRATA_VAR_minio_secret_key=bench-minio-secret-3
export STRATA_VAR_oidc_client_secret=bench-oidc-secret-4

seconds() { python3 -c "print(f'{$2 - $1:.1f}')"; }

run() { # example env -> "APPLY DESTROY" seconds
  local example="$1" env="$2" copy="$work/$1-$RANDOM"
  cp -r "stacks/$example" "$copy"
  rm -rf "$copy/.strata"
  local start middle end
  start=$(date +%s.%N)
  "$strata" --dir "$copy" --emulate --env "$env" apply --all --auto-approve > "$copy.apply.log" 2>&1 \
    || { echo "$example: apply failed, see below" >&2; tail -5 "$copy.apply.log" >&2; return 1; }
  middle=$(date +%s.%N)
  "$strata" --dir "$copy" --emulate --env "$env" destroy --all --auto-approve > "$copy.destroy.log" 2>&1 \
    || { echo "$example: destroy failed, see below" >&2; tail -5 "$copy.destroy.log" >&2; return 1; }
  end=$(date +%s.%N)
  echo "$(seconds "$start" "$middle") $(seconds "$middle" "$end")"
}

examples=("$@")
[ ${#examples[@]} -gt 0 ] || examples=(doks-ecommerce aks-autoscaling eks-platform gke-platform onprem-k3s)
echo "latency ${STRATA_EMULATOR_LATENCY_MS} ms + up to ${STRATA_EMULATOR_JITTER_MS} ms per request; faults: ${error_rate} 5xx + ${throttle_rate} 429; median of ${REPEAT:-1} faulty run(s)"
printf '%-16s %-22s %-22s %-11s %s\n' example "healthy apply/destroy" "faults apply/destroy" "apply ratio" "destroy ratio"
for example in "${examples[@]}"; do
  env=stage; [ "$example" = aks-autoscaling ] && env=production
  healthy=$(run "$example" "$env")
  read -r h_apply h_destroy <<< "$healthy"
  applies=() destroys=()
  for _ in $(seq "${REPEAT:-1}"); do
    faulty=$(STRATA_EMULATOR_ERROR_RATE="$error_rate" STRATA_EMULATOR_THROTTLE_RATE="$throttle_rate" run "$example" "$env")
    read -r f_apply f_destroy <<< "$faulty"
    applies+=("$f_apply") destroys+=("$f_destroy")
  done
  python3 - "$example" "$h_apply" "$h_destroy" "${applies[*]}" "${destroys[*]}" <<'PY'
import statistics, sys
example, h_apply, h_destroy = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
applies = [float(x) for x in sys.argv[4].split()]
destroys = [float(x) for x in sys.argv[5].split()]
f_apply, f_destroy = statistics.median(applies), statistics.median(destroys)
faults = f"{f_apply:.1f} s / {f_destroy:.1f} s"
print(f"{example:<16} {f'{h_apply} s / {h_destroy} s':<22} {faults:<22} {f_apply / h_apply:<11.1f} {f_destroy / h_destroy:.1f}")
if len(applies) > 1:
    print(f"{'':<16} {'':<22} runs: " + ", ".join(f"{a} / {d}" for a, d in zip(applies, destroys)))
PY
done
