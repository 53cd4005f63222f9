#!/bin/bash
# bf16 vs fp32 top-1 agreement of the suite's classifiers on real images (not a speed figure, so
# it needs no quiet machine).
#
# Default (--finetune STEPS): each classifier is first fine-tuned by `mhub finetune` (fp32, AdamW at 1e-4)
# on Fashion-MNIST TRAIN images with a fresh 10-class head (squeezenet1_1's head is a 1x1 Conv, which
# finetune cannot replace: it keeps its 1000 classes), STEPS batches of 16 (half as many for
# the heaviest models), so its logits carry the margins a user's fine-tuned model has; then
# `mhub eval --precision bf16` (which also runs fp32) on the first N TEST images, disjoint from
# the training ones, reports fp32 test accuracy, the share of images whose bf16 top-1 class is
# fp32's, and the accuracy change.
# --random-weights: the suite's files as exported (random weights, a fixed seed: near-tied logits),
# on the first N test images with labels taken modulo 2 (every suite head has >= 2 classes).
#
#   bench/bf16_agreement.sh [--finetune STEPS (default 60) | --random-weights] [--images N (default 300)]
#                           [--models a,b,...] [--suite DIR] [--keep DIR]
# --keep DIR: fine-tuned models are written to (and, on a rerun, read from) DIR as
#   NAME-STEPSxBATCH.onnx, so reruns skip training; without it they live in a temporary folder.
# Images are resized by mhub to each model's input (224x224; ppocr_cls 48x192) and repeated into
# its channels, so the bf16 kernels are the ones the suite benchmarks. Prints one row per model.
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
mhub="$here/build/cli/mhub"
suite="$here/build/bench-suite"
data=/usr/share/datasets/fashion-mnist
images=300
steps=60
batch=16
mode=finetune
keep=""
models="resnet18,resnet50,mobilenet_v2,mobilenet_v3_large,shufflenet_v2_x1_0,regnet_y_400mf,squeezenet1_1,densenet121,googlenet,vit_tiny,swin_t,ppocr_cls"
# The models whose training step costs the most (about 3x resnet18's FLOPs or more): half the steps.
heavy=" resnet50 densenet121 swin_t "
usage="usage: bench/bf16_agreement.sh [--finetune STEPS | --random-weights] [--images N] [--models a,b,...] [--suite DIR] [--keep DIR]"
while [ $# -gt 0 ]; do
  case "$1" in
    --finetune) mode=finetune; steps="$2"; shift 2 ;;
    --random-weights) mode=random; shift ;;
    --images) images="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --suite) suite="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
[[ "$steps" =~ ^[1-9][0-9]*$ ]] || { echo "--finetune takes a positive number of steps, not '$steps'" >&2; exit 2; }
[ -x "$mhub" ] || { echo "no $mhub: build first (scripts/build.sh)" >&2; exit 1; }
[ -d "$data" ] || { echo "skipped: no Fashion-MNIST at $data" >&2; exit 77; }
[ -f "$suite/suite.tsv" ] || { echo "skipped: no suite at $suite (bench/export_suite.py)" >&2; exit 77; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM  # so an interrupted run removes its scratch folder too
[ -n "$keep" ] || keep="$scratch/tuned"
mkdir -p "$keep"
# IDX folders: eval/ holds the first N test images in both splits (eval reads test); train/ all
# 60000 training images, with the last 64 test images as its test split (finetune evaluates after
# its epoch; those are not among the first N unless N > 9936).
python3 - "$data" "$scratch" "$images" "$mode" <<'PY'
import gzip, os, struct, sys
src, dst, n, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def read(split):
    return (gzip.open(os.path.join(src, f"{split}-images-idx3-ubyte.gz")).read()[16:],
            gzip.open(os.path.join(src, f"{split}-labels-idx1-ubyte.gz")).read()[8:])
def write(folder, split, pixels, labels):
    os.makedirs(os.path.join(dst, folder), exist_ok=True)
    open(os.path.join(dst, folder, f"{split}-images-idx3-ubyte"), "wb").write(
        struct.pack(">IIII", 2051, len(labels), 28, 28) + pixels)
    open(os.path.join(dst, folder, f"{split}-labels-idx1-ubyte"), "wb").write(struct.pack(">II", 2049, len(labels)) + labels)
test_pixels, test_labels = read("t10k")
if n < 1 or n > len(test_labels):
    sys.exit(f"--images must be between 1 and the {len(test_labels)} test images")
labels = test_labels[:n]
if mode == "random":  # labels 0/1: every suite head has at least two classes (ppocr_cls exactly two)
    labels = bytes(b % 2 for b in labels)
for split in ("t10k", "train"):
    write("eval", split, test_pixels[:n * 784], labels)
if mode == "finetune":
    train_pixels, train_labels = read("train")
    write("train", "train", train_pixels, train_labels)
    write("train", "t10k", test_pixels[-64 * 784:], test_labels[-64:])
PY
if [ "$mode" = finetune ]; then
  echo "model | train steps x batch | test images | fp32 test accuracy | top-1 agreement bf16 vs fp32 | accuracy change"
else
  echo "model | images | top-1 agreement bf16 vs fp32 | accuracy change"
fi
# Trains $model for $n steps into $scratch/partial.onnx, log in $scratch/finetune.log; arguments go to
# mhub finetune. Fashion-MNIST's pixel mean and std: finetune records them in the model for eval.
finetune() {
  "$mhub" finetune "$model" --data "$scratch/train" "$@" --epochs 1 --limit-batches "$n" \
    --batch-size "$batch" --optimizer adamw --lr 1e-4 --mean 0.286 --std 0.353 "${size[@]}" \
    --out "$scratch/partial.onnx" > "$scratch/finetune.log" 2>&1
}
status=0
for name in ${models//,/ }; do
  row=$(awk -F'\t' -v n="$name" '$1 == n' "$suite/suite.tsv")
  [ -n "$row" ] || { echo "$name | not in $suite/suite.tsv"; status=1; continue; }
  model="$suite/$(cut -f2 <<<"$row")"
  size=()  # the suite's files fix 224x224; ppocr_cls leaves its size open
  [ "$name" != ppocr_cls ] || size=(--input-size "48,192")
  trained=""
  if [ "$mode" = finetune ]; then
    n=$steps
    [[ "$heavy" != *" $name "* ]] || n=$(( (steps + 1) / 2 ))
    trained="$n x $batch | "
    tuned="$keep/$name-${n}x$batch.onnx"
    if [ ! -f "$tuned" ]; then
      # A head that is no Gemm/MatMul (squeezenet's 1x1 Conv) cannot be replaced: the model then
      # trains its own wider head, Fashion-MNIST's labels 0-9 being valid classes of it.
      finetune --num-classes 10 || { grep -q "num-classes: the model's output is not made by" "$scratch/finetune.log" && finetune; } ||
        { echo "$name | finetune failed: $(grep -m1 -i 'error' "$scratch/finetune.log" || tail -1 "$scratch/finetune.log")"; status=1; continue; }
      mv "$scratch/partial.onnx" "$tuned"
    fi
    model="$tuned"
  fi
  report=$("$mhub" eval "$model" --data "$scratch/eval" --precision bf16 --batch-size 32 "${size[@]}" --json 2> "$scratch/eval.log") ||
    { echo "$name | eval failed: $(tail -1 "$scratch/eval.log")"; status=1; continue; }
  python3 - "$name" "$trained" "$report" <<'PY'
import json, sys
name, trained, r = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
accuracy = f"{r['fp32_accuracy']:.4f} | " if trained else ""
print(f"{name} | {trained}{r.get('examples', '?')} | {accuracy}{r['top1_agreement_with_fp32']:.4f} | {r['accuracy_change']:+.4f}", flush=True)
PY
done
exit $status
