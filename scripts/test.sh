#!/usr/bin/env bash
# README's second command and what CI runs: install dependencies, build, run every test:
#   1. ctest on the normal build: unit tests, ONNX backend-suite round trip and conformance,
#      the slow 2 GiB external-data test, everything else registered in tests/;
#   2. the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Expects ../shared (ONNX backend tests, peers) beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

# The public benchmark models (torchvision resnet18/50, mobilenet_v2, a BERT-size encoder) for
# the round-trip test, exported once with Debian's PyTorch.
models=build/bench-models
if [ ! -f "$models/bert_base_like.onnx" ] && [ -f ../shared/peers/export_models.py ]; then
  /usr/bin/python3 ../shared/peers/export_models.py "$models" >/dev/null
fi
export MHUB_BENCH_MODELS=$PWD/$models

(cd build && ctest --output-on-failure --timeout 1500 "$@")

echo "== unit tests under ASan/UBSan"
MHUB_BUILD_DIR=build-asan MHUB_TARGETS="mhub_tests mhub_train_tests mhub_format_tests" scripts/build.sh -DMHUB_SANITIZE=ON -DMHUB_CUDA=OFF
(cd build-asan && ctest --output-on-failure --timeout 1500 -L unit)

# Optional: fuzz every parser for N seconds each (clang build in build-fuzz/;
# about 2-3 min to build plus N s per target). Off unless MHUB_FUZZ_SECONDS is set, e.g. 30.
if [ "${MHUB_FUZZ_SECONDS:-0}" -gt 0 ]; then
  scripts/fuzz.sh "$MHUB_FUZZ_SECONDS"
fi
