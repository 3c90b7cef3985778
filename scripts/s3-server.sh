#!/usr/bin/env bash
# Runs a local S3-compatible server (moto) with an empty bucket, for trying the s3 state backend
# by hand or running its tests against one long-lived server:
#
#   scripts/s3-server.sh [PORT] [BUCKET]        # default 9000 and "strata-state"
#   STRATA_S3_TEST_SERVER=http://127.0.0.1:9000 cargo test -p strata-state --test s3
#
# Any access key and secret are accepted. Stops with Ctrl-C.
set -euo pipefail

port="${1:-9000}"
bucket="${2:-strata-state}"

if ! command -v moto_server >/dev/null 2>&1; then
  echo "moto_server not found: pip install 'moto[server]==5.2.1'" >&2
  exit 1
fi

moto_server -H 127.0.0.1 -p "$port" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
curl -fsS -o /dev/null -X PUT "http://127.0.0.1:$port/$bucket"

cat <<INFO
S3 server on http://127.0.0.1:$port with bucket "$bucket". Backend settings:
  bucket = "$bucket"
  endpoint = "http://127.0.0.1:$port"
  region = "us-east-1"
  force_path_style = true
  (credentials: AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing)
INFO
wait "$server"
