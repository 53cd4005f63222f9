#!/bin/bash
# bf16 vs fp32 top-1 agreement of the suite's classifiers on real images (not a speed figure, so
# it needs no quiet machine).
#
# Default (--finetune STEPS): each classifier is first fine-tuned by `mhub finetune` (fp32, AdamW)
# on Fashion-MNIST TRAIN images with a fresh 10-class head (`--num-classes 10`: a Gemm, or
# squeezenet1_1's 1x1 Conv), STEPS batches of 16 (half as many for the heaviest models), so its
# logits carry the margins a user's fine-tuned model has. STEPS defaults to 300: after 60 steps
# from random weights the BatchNorm models' margins were below their bf16 logit error on several
# test images (mobilenet_v2 0.987, regnet_y_400mf 0.977 agreement, PyTorch's autocast no better);
# after 300 (150) they learned more (fp32 0.65-0.79) and agree >= 0.99 but mobilenet_v2 (0.983),
# which reaches 0.990 with `--finetune 1000 --schedule cosine` and 0.997 with 2000 (fp32 0.92;
# bench/RESULTS.md). The models with BatchNormalization are trained from
# bench/export_train_models.py's training-mode exports of the same architecture
# (--train-models DIR, default build/bench-train-models, exported there when missing) at lr 1e-3:
# the suite's files fold BatchNorm into random convolutions, and those stay at chance in a
# short fine-tune. The others (squeezenet1_1, vit_tiny, swin_t, ppocr_cls) start from the suite's
# file at lr 1e-4. `mhub finetune --out` writes BatchNorm in inference form (running statistics),
# so the evaluated model is an inference graph like the suite's (Conv + BN folded at load). After
# so few steps from random weights those running statistics lag the weights (mobilenet_v2: one
# class for every image in eval mode, 0.61 with batch statistics, the same in PyTorch), so each
# BN model's statistics are then recalibrated as torch's swa_utils.update_bn does: reset to zero,
# RECAL more batches (default 40) through `mhub finetune` with the backbone frozen and the head at
# lr 1e-12 (weights held; BatchNorm runs in training mode and its running statistics follow the
# final weights), then debiased into the mean of those batches' statistics
# (bench/bn_running_stats.py; without the reset mobilenet_v3_large, whose BatchNorms keep 0.99 of
# their statistics per batch, kept enough of its initial running variance to give one class); then
# `mhub eval --precision bf16` (which also runs fp32) on the first N TEST images, disjoint from
# the training ones, reports fp32 test accuracy, the share of images whose bf16 top-1 class is
# fp32's, and the accuracy change.
# --random-weights: the suite's files as exported (random weights, a fixed seed: near-tied logits),
# on the first N test images with labels taken modulo 2 (every suite head has >= 2 classes).
#
#   bench/bf16_agreement.sh [--finetune STEPS (default 300) | --random-weights] [--images N (default 300)]
#                           [--models a,b,...] [--suite DIR] [--train-models DIR] [--keep DIR] [--recalibrate RECAL]
#                           [--schedule constant|cosine (default constant)]
# --schedule: mhub finetune's learning-rate schedule while training (cosine: decaying to 0 over STEPS).
# --keep DIR: fine-tuned models are written to (and, on a rerun, read from) DIR as
#   NAME-STEPSxBATCH.onnx (NAME-bn-STEPSxBATCH.onnx from a training-mode export, and
#   NAME-bn-STEPSxBATCH-update_bnRECAL.onnx recalibrated; -SCHEDULE after STEPSxBATCH unless
#   constant), so reruns skip training; without it they live in a temporary folder.
# Images are resized by mhub to each model's input (224x224; ppocr_cls 48x192) and repeated into
# its channels, so the bf16 kernels are the ones the suite benchmarks. Prints one row per model.
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
mhub="$here/build/cli/mhub"
suite="$here/build/bench-suite"
train_models="$here/build/bench-train-models"
data=/usr/share/datasets/fashion-mnist
images=300
steps=300
schedule=constant
batch=16
mode=finetune
keep=""
models="resnet18,resnet50,mobilenet_v2,mobilenet_v3_large,shufflenet_v2_x1_0,regnet_y_400mf,squeezenet1_1,densenet121,googlenet,vit_tiny,swin_t,ppocr_cls"
# The models whose training step costs the most (about 3x resnet18's FLOPs or more): half the steps.
heavy=" resnet50 densenet121 swin_t "
# The models with BatchNormalization, fine-tuned from a training-mode export (above).
bn_kept=" resnet18 resnet50 mobilenet_v2 mobilenet_v3_large shufflenet_v2_x1_0 regnet_y_400mf densenet121 googlenet "
recal=40
# Every parameter but the classifier head's, per torchvision model (frozen while recalibrating).
backbone() {
  case "$1" in
    resnet18|resnet50) echo 'conv1.*,bn1.*,layer*' ;;
    mobilenet_v2|mobilenet_v3_large|densenet121) echo 'features.*' ;;
    shufflenet_v2_x1_0) echo 'conv1.*,stage*,conv5.*' ;;
    regnet_y_400mf) echo 'stem.*,trunk_output.*' ;;
    googlenet) echo 'conv*,inception*' ;;
  esac
}
usage="usage: bench/bf16_agreement.sh [--finetune STEPS | --random-weights] [--images N] [--models a,b,...] [--suite DIR] [--train-models DIR] [--keep DIR] [--recalibrate RECAL] [--schedule constant|cosine]"
while [ $# -gt 0 ]; do
  case "$1" in
    --finetune) mode=finetune; steps="$2"; shift 2 ;;
    --random-weights) mode=random; shift ;;
    --images) images="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --suite) suite="$2"; shift 2 ;;
    --train-models) train_models="$2"; shift 2 ;;
    --recalibrate) recal="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --schedule) schedule="$2"; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
[[ "$steps" =~ ^[1-9][0-9]*$ ]] || { echo "--finetune takes a positive number of steps, not '$steps'" >&2; exit 2; }
[[ "$schedule" =~ ^(constant|cosine)$ ]] || { echo "--schedule takes constant or cosine, not '$schedule'" >&2; exit 2; }
[[ "$recal" =~ ^[1-9][0-9]*$ ]] || { echo "--recalibrate takes a positive number of batches, not '$recal'" >&2; exit 2; }
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
    --batch-size "$batch" --optimizer adamw --lr "$lr" --mean 0.286 --std 0.353 "${size[@]}" \
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
    suffix=""
    [ "$schedule" = constant ] || suffix="-$schedule"
    trained="$n x $batch${suffix:+ ($schedule)} | "
    tuned="$keep/$name-${n}x$batch$suffix.onnx"
    lr=1e-4
    if [[ "$bn_kept" == *" $name "* ]]; then
      model="$train_models/$name.onnx"
      [ -f "$model" ] || /usr/bin/python3 "$here/bench/export_train_models.py" "$train_models" --only "$name" > /dev/null 2>&1 ||
        { echo "$name | export of the training-mode model failed (bench/export_train_models.py)"; status=1; continue; }
      tuned="$keep/$name-bn-${n}x$batch$suffix.onnx"
      lr=1e-3
      trained="$n x $batch${suffix:+ ($schedule)}, BN kept | "
    fi
    if [ ! -f "$tuned" ]; then
      finetune --num-classes 10 --schedule "$schedule" ||
        { echo "$name | finetune failed: $(grep -m1 -i 'error' "$scratch/finetune.log" || tail -1 "$scratch/finetune.log")"; status=1; continue; }
      mv "$scratch/partial.onnx" "$tuned"
      cp "$scratch/finetune.log" "$tuned.log"  # its loss and accuracy during training, for the record
    fi
    if [[ "$bn_kept" == *" $name "* ]]; then
      # The running statistics start from zero and are debiased after the batches
      # (bench/bn_running_stats.py): the average of those batches' statistics, whatever the
      # BatchNorm momentum (mobilenet_v3_large keeps 0.99 per batch, the others 0.9).
      batches=$recal
      model="$scratch/reset.onnx"
      stats="/usr/bin/python3 $here/bench/bn_running_stats.py"
      untrained="$tuned"
      tuned="${tuned%.onnx}-update_bn$batches.onnx"
      trained="$n x $batch${suffix:+ ($schedule)}, BN kept, $batches recalibration | "
      if [ ! -f "$tuned" ]; then
        # --seed 1: other batches than training's; the lr (must be > 0) moves no weight measurably.
        lr=1e-12
        { $stats reset "$untrained" "$model" && n=$batches finetune --freeze "$(backbone "$name")" --seed 1 &&
          $stats debias "$scratch/partial.onnx" "$scratch/debiased.onnx" "$batches"; } ||
          { echo "$name | recalibration failed: $(grep -m1 -i 'error' "$scratch/finetune.log" || tail -1 "$scratch/finetune.log")"; status=1; continue; }
        mv "$scratch/debiased.onnx" "$tuned"
        cp "$scratch/finetune.log" "$tuned.log"
      fi
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
