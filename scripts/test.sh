#!/usr/bin/env bash
# README's second command and what CI runs: install dependencies, build, run every test
# (unit, ONNX backend-suite round trip, the slow 2 GiB external-data test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure --timeout 1200 "$@"
