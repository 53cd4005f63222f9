#!/usr/bin/env bash
# README's first command: install dependencies, build, and run the main job on the model bundled
# in the repo, by its catalogue name (no network): show its card, classify the bundled sample
# images, and measure its accuracy on the Fashion-MNIST test set (Debian's dataset-fashion-mnist).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
mhub=build/cli/mhub
echo "== mhub info fashion-cnn"
$mhub info fashion-cnn
echo "== mhub run fashion-cnn -i models/fashion-cnn/sample_input.npy   (labels: 9 2 1 1 6 1 4 6)"
$mhub run fashion-cnn -i models/fashion-cnn/sample_input.npy
echo "== mhub eval fashion-cnn --data /usr/share/datasets/fashion-mnist"
$mhub eval fashion-cnn --data /usr/share/datasets/fashion-mnist
echo "Next: build/cli/mhub --help; the commands are listed in README.md"
