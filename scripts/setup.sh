#!/usr/bin/env bash
# README's first command: install dependencies, build, and run the main job on the model
# bundled in the repo (no network): inspect and check it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
model=models/fashion-cnn/model.onnx
echo "== mhub inspect $model"
build/cli/mhub inspect "$model"
echo "== mhub check $model"
build/cli/mhub check "$model"
