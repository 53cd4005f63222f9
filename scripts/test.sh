#!/usr/bin/env bash
# README's second command and what CI runs: install dependencies, build, run every test
# (unit, ONNX backend-suite round trip, the slow 2 GiB external-data test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure --timeout 1200 "$@"
# Optional: fuzz every weight-format reader for N seconds each (clang build in build-fuzz/;
# about 2-3 min to build plus 4*N s). Off unless MHUB_FUZZ_SECONDS is set, e.g. 30.
if [ "${MHUB_FUZZ_SECONDS:-0}" -gt 0 ]; then
  cd .. && scripts/fuzz.sh "$MHUB_FUZZ_SECONDS"
fi
