#!/bin/bash
# ctest e2e.finetune_fashion: what the README tells a new user to do, end to end. Fine-tunes the
# bundled fashion-cnn (catalogue name) for two Fashion-MNIST epochs with SGD (cosine schedule; one
# epoch of the README's constant lr 0.01 lands at 0.89), evaluates the
# written model (its recorded normalisation) and requires >= 90% test accuracy; then, when ONNX
# Runtime's peer is installed, runs the exported ONNX file there on the first 64 test images and
# requires the same predictions and logits within 1e-4 of mhub's (relative to their scale).
# Usage: tests/e2e/finetune_fashion.sh MHUB_BINARY SCRATCH_DIR
# Exit 0: passed; 1: failed; 77: Debian's dataset-fashion-mnist is not installed (skipped).
set -eu
mhub="$1"
scratch="$2"
here="$(cd "$(dirname "$0")/../.." && pwd)"
data=/usr/share/datasets/fashion-mnist
[ -d "$data" ] || { echo "skipped: $data missing (Debian package dataset-fashion-mnist)"; exit 77; }
rm -rf "$scratch" && mkdir -p "$scratch"
start=$(date +%s)
"$mhub" finetune fashion-cnn --data "$data" --epochs 2 --optimizer sgd --lr 0.01 --schedule cosine --threads 2 \
  --out "$scratch/tuned.onnx" --json > "$scratch/finetune.json"
trained=$(date +%s)
"$mhub" eval "$scratch/tuned.onnx" --data "$data" --threads 2 --json > "$scratch/eval.json"
accuracy=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["accuracy"])' "$scratch/eval.json")
echo "finetune: $((trained - start)) s; eval accuracy $accuracy"
/usr/bin/python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 0.90 else 1)' "$accuracy" ||
  { echo "FAIL: test accuracy $accuracy < 0.90"; exit 1; }

peers="${MHUB_PEERS_DIR:-$HOME/.cache/mhub-peers}/node_modules"
shared="$here/../shared/peers"
if [ ! -d "$peers/onnxruntime-node" ] || ! command -v node >/dev/null; then
  echo "ONNX Runtime peer not installed ($peers/onnxruntime-node): exported-model check skipped"
  exit 0
fi
# The first 64 test images, normalised as the model recorded it (mhub eval's loader), as raw
# float32 for ort_bench.js --inputs; mhub runs the same bytes through compare_ort.py.
/usr/bin/python3 - "$data" "$scratch" <<'PY'
import gzip, json, os, sys
import numpy as np
data, scratch = sys.argv[1], sys.argv[2]
name = next(n for n in os.listdir(data) if n.startswith("t10k-images"))
raw = open(os.path.join(data, name), "rb").read()
if name.endswith(".gz"):
    raw = gzip.decompress(raw)
images = np.frombuffer(raw, dtype=np.uint8, offset=16)[:64 * 784].astype(np.float32) / 255.0
os.makedirs(os.path.join(scratch, "in"), exist_ok=True)
# fashion-cnn's catalogue normalisation (models.json), recorded in the model by finetune
entry = next(e for e in json.load(open(os.path.join(os.environ["MHUB_SOURCE_DIR"], "models.json")))["models"] if e["name"] == "fashion-cnn")
pre = entry.get("preprocessing", {})
mean, std = (pre.get("mean") or [0.0])[0], (pre.get("std") or [1.0])[0]
((images - mean) / std).astype(np.float32).tofile(os.path.join(scratch, "in", "input_0.bin"))
PY
NODE_PATH="$peers" node "$shared/ort_bench.js" "$scratch/tuned.onnx" --iters 1 --dim batch=64 \
  --inputs "$scratch/in" --dump "$scratch/ort" > /dev/null
result=$(/usr/bin/python3 "$here/bench/compare_ort.py" "$mhub" "$scratch/tuned.onnx" "$scratch/ort" --max-rel 1e-4) ||
  { echo "FAIL: $result"; exit 1; }
echo "ONNX Runtime vs mhub on 64 test images: $result"
case "$result" in
  *'"same_argmax": false'*) echo "FAIL: ONNX Runtime predicts other classes"; exit 1 ;;
esac
