#!/usr/bin/env bash
# Installs what the test suite needs beyond cargo, from the package registries:
# - moto's S3 server, the third-party S3 implementation the s3 state backend is tested against;
# - xmlschema, an XSD validator, and Jenkins' JUnit schema (junit-10.xsd, shipped in pytest's
#   source distribution), against which the drift tests validate JUnit reports.
set -euo pipefail
cd "$(dirname "$0")/.."

pip install --quiet 'moto[server]==5.2.1' 'xmlschema==4.3.2'

schemas=target/test-schemas
if [ ! -f "$schemas/junit-10.xsd" ]; then
  tmp=$(mktemp -d)
  pip download --quiet --no-deps --no-binary :all: 'pytest==9.2.0' -d "$tmp"
  tar -xzf "$tmp"/pytest-9.2.0.tar.gz -C "$tmp" pytest-9.2.0/testing/example_scripts/junit-10.xsd
  mkdir -p "$schemas"
  cp "$tmp"/pytest-9.2.0/testing/example_scripts/junit-10.xsd "$schemas/junit-10.xsd"
  rm -rf "$tmp"
fi
