#!/bin/bash
# Times one training step (forward + CrossEntropy + backward + SGD momentum 0.9 update, batch 8,
# 3x224x224 random images, 1000 classes) of resnet18 and mobilenet_v2 in mhub (`mhub bench
# --train --json`) and in PyTorch 1.13 (bench/train_bench_torch.py, torch.set_num_threads),
# alternating in the same run, median of --iters steps after 2 warm-up steps, and writes its
# own section of bench/RESULTS.md (between the "train_bench.sh begin/end" markers).
#
# Both sides train the same torchvision architectures with BatchNormalization in training mode:
# the models come from bench/export_train_models.py (into $MHUB_TRAIN_BENCH_MODELS, default
# build/bench-train-models), not the eval-mode exports of export_models.py, whose BatchNorms
# are folded into the convolutions.
#
# --fashion also times `mhub finetune` of the bundled fashion-cnn for one Fashion-MNIST epoch;
# --fashion-baseline BINARY times BINARY (an older build, named in the section by
# --baseline-label) and this mhub on the first 100 batches of it.
# Usage: bench/train_bench.sh [MHUB_BINARY] [--threads N] [--iters N] [--fashion]
#                             [--fashion-baseline BINARY [--baseline-label TEXT]]
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
mhub="$here/build/cli/mhub"
threads=2
iters=10
fashion=0
baseline=""
label=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --iters) iters="$2"; shift 2 ;;
    --fashion) fashion=1; shift ;;
    --fashion-baseline) baseline="$2"; shift 2 ;;
    --baseline-label) label="$2"; shift 2 ;;
    *) mhub="$1"; shift ;;
  esac
done
if ! /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
  echo "PyTorch / torchvision for /usr/bin/python3 not installed (Debian python3-torch, python3-torchvision)" >&2
  exit 77
fi
models="${MHUB_TRAIN_BENCH_MODELS:-$here/build/bench-train-models}"
[ -f "$models/mobilenet_v2.onnx" ] || /usr/bin/python3 "$here/bench/export_train_models.py" "$models" >/dev/null

out="$here/bench/RESULTS.md"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
{
  echo "## Training: mhub vs PyTorch 1.13 (CPU)"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: both engines' timings move with it)"
  echo "- one step = forward + cross-entropy + backward + SGD (momentum 0.9) update; batch 8, 3x224x224, 1000 classes, BatchNorm in training mode"
  echo "- threads: $threads, median of $iters steps after 2 warm-up steps, mhub and PyTorch alternating per model; written by bench/train_bench.sh"
  echo
  echo "| model | mhub ms/step | PyTorch ms/step | mhub images/s | PyTorch images/s | speed mhub/PyTorch |"
  echo "| --- | --- | --- | --- | --- | --- |"
} > "$tmp"
median() { sed -n 's/.*"median_ms": *\([0-9.]*\).*/\1/p'; }
for m in resnet18 mobilenet_v2; do
  ours=$("$mhub" bench "$models/$m.onnx" --train --batch 8 --threads "$threads" --iters "$iters" --warmup 2 --json | median)
  theirs=$(/usr/bin/python3 "$here/bench/train_bench_torch.py" "$m" --batch 8 --threads "$threads" --iters "$iters" --warmup 2 | median)
  awk -v m="$m" -v a="$ours" -v b="$theirs" \
    'BEGIN { printf "| %s | %.0f | %.0f | %.2f | %.2f | %.2fx |\n", m, a, b, 8000 / a, 8000 / b, b / a }' | tee -a "$tmp"
done

fashion_run() {  # BINARY [finetune options...] -> "seconds accuracy"
  local bin="$1"; shift
  local dir; dir="$(mktemp -d)"
  "$bin" finetune "$here/models/fashion-cnn/model.onnx" --data /usr/share/datasets/fashion-mnist --epochs 1 \
    --threads "$threads" --out "$dir/model.onnx" --json "$@" |
    /usr/bin/python3 -c 'import json, sys; e = json.load(sys.stdin)["epochs"][0]; print(e["seconds"], e["eval_accuracy"])'
  rm -rf "$dir"
}
if [ -n "$baseline" ] && [ -d /usr/share/datasets/fashion-mnist ]; then
  read -r before_s before_acc < <(fashion_run "$baseline" --limit-batches 100)
  read -r after_s after_acc < <(fashion_run "$mhub" --limit-batches 100)
  {
    echo
    echo "Fashion-MNIST, bundled fashion-cnn, first 100 batches of 32 + the 10k-image evaluation, $threads threads:"
    echo "baseline (${label:-$baseline}) $(printf '%.1f' "$before_s") s (test accuracy $before_acc), this mhub $(printf '%.1f' "$after_s") s (test accuracy $after_acc)."
  } | tee -a "$tmp"
fi
if [ "$fashion" = 1 ] && [ -d /usr/share/datasets/fashion-mnist ]; then
  read -r epoch_s epoch_acc < <(fashion_run "$mhub")
  {
    echo
    echo "Fashion-MNIST, bundled fashion-cnn, one epoch (60000 images, batch 32, AdamW) + evaluation, $threads threads:"
    echo "$(printf '%.1f' "$epoch_s") s, test accuracy $epoch_acc."
  } | tee -a "$tmp"
fi

# Replace our section (or append it) and keep everything else in RESULTS.md.
merged="$(mktemp)"
{
  if [ -f "$out" ]; then sed '/<!-- train_bench.sh begin -->/,/<!-- train_bench.sh end -->/d' "$out"; fi
  echo "<!-- train_bench.sh begin -->"
  cat "$tmp"
  echo "<!-- train_bench.sh end -->"
} > "$merged"
mv "$merged" "$out"
echo "wrote $out"
