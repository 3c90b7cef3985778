#!/usr/bin/env bash
# Every example platform applied and destroyed under --emulate twice: on a healthy emulated cloud,
# then with 30% of requests answered 5xx and 30% throttled (429 with the cloud's headers).
# Prints both durations and their ratio.
#
#   benches/faults.sh [ERROR_RATE] [THROTTLE_RATE]      # default: 0.3 0.3
#
# PROFILE=dev uses a debug build (quicker to build).
set -euo pipefail
cd "$(dirname "$0")/.."
error_rate="${1:-0.3}"
throttle_rate="${2:-0.3}"
profile="${PROFILE:-release}"
cargo build -q --profile "$profile" -p strata-cli
dir="$profile"; [ "$profile" = dev ] && dir=debug
strata="${CARGO_TARGET_DIR:-$PWD/target}/$dir/strata"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

export STRATA_EMULATOR_PROVISION_MS=500
export STRATA_VAR_db_admin_password=bench-admin-password-1
export STRATA_VAR_db_password=bench-db-password-2
export STRATA_VAR_minio_secret_key=bench-minio-secret-3
export STRATA_VAR_oidc_client_secret=bench-oidc-secret-4

run() { # example env -> seconds for apply --all + destroy --all
  local example="$1" env="$2" copy="$work/$1-$RANDOM"
  cp -r "stacks/$example" "$copy"
  rm -rf "$copy/.strata"
  local start end
  start=$(date +%s.%N)
  "$strata" --dir "$copy" --emulate --env "$env" apply --all --auto-approve > "$copy.apply.log" 2>&1 \
    || { echo "$example: apply failed, see below" >&2; tail -5 "$copy.apply.log" >&2; return 1; }
  "$strata" --dir "$copy" --emulate --env "$env" destroy --all --auto-approve > "$copy.destroy.log" 2>&1 \
    || { echo "$example: destroy failed" >&2; tail -5 "$copy.destroy.log" >&2; return 1; }
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.1f}')"
}

printf '%-18s %-12s %-22s %-8s\n' example "healthy (s)" "${error_rate} 5xx + ${throttle_rate} 429 (s)" ratio
for spec in doks-ecommerce:stage aks-autoscaling:production eks-platform:stage gke-platform:stage onprem-k3s:stage; do
  example="${spec%%:*}" env="${spec##*:}"
  healthy=$(run "$example" "$env")
  faulty=$(STRATA_EMULATOR_ERROR_RATE="$error_rate" STRATA_EMULATOR_THROTTLE_RATE="$throttle_rate" run "$example" "$env")
  python3 -c "print(f'{\"$example\":<18} {$healthy:<12} {$faulty:<22} {$faulty / $healthy:.2f}')"
done
