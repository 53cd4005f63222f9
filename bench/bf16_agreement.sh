#!/bin/bash
# bf16 vs fp32 top-1 agreement of the suite's classifiers on real images (not a speed figure, so
# it needs no quiet machine): the first N Fashion-MNIST test images, resized by `mhub eval` to each
# model's input and repeated into its channels, evaluated with --precision bf16 (which also runs
# fp32 and reports the share of images whose top-1 class agrees).
#   bench/bf16_agreement.sh [--images N (default 300)] [--models a,b,...] [--suite DIR]
# Prints one row per model: model | images | top-1 agreement with fp32 | accuracy change.
# The suite's models have random weights (bench/export_suite.py): their accuracy on these labels
# (Fashion-MNIST's labels taken modulo 2) means nothing; the agreement does (near-tied logits make it a harder test, not an easier one).
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
mhub="$here/build/cli/mhub"
suite="$here/build/bench-suite"
data=/usr/share/datasets/fashion-mnist
images=300
models="resnet18,resnet50,mobilenet_v2,mobilenet_v3_large,shufflenet_v2_x1_0,regnet_y_400mf,squeezenet1_1,densenet121,googlenet,vit_tiny,swin_t,ppocr_cls"
while [ $# -gt 0 ]; do
  case "$1" in
    --images) images="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --suite) suite="$2"; shift 2 ;;
    *) echo "usage: bench/bf16_agreement.sh [--images N] [--models a,b,...] [--suite DIR]" >&2; exit 2 ;;
  esac
done
[ -x "$mhub" ] || { echo "no $mhub: build first (scripts/build.sh)" >&2; exit 1; }
[ -d "$data" ] || { echo "skipped: no Fashion-MNIST at $data" >&2; exit 77; }
[ -f "$suite/suite.tsv" ] || { echo "skipped: no suite at $suite (bench/export_suite.py)" >&2; exit 77; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# The first N test images and labels as an IDX folder (both splits the same: eval reads test).
python3 - "$data" "$scratch/data" "$images" <<'PY'
import gzip, os, struct, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(dst)
images = gzip.open(os.path.join(src, "t10k-images-idx3-ubyte.gz")).read()
labels = gzip.open(os.path.join(src, "t10k-labels-idx1-ubyte.gz")).read()
if n < 1 or n > struct.unpack(">I", images[4:8])[0]:
    sys.exit(f"--images must be between 1 and the {struct.unpack('>I', images[4:8])[0]} test images")
for split in ("t10k", "train"):
    open(os.path.join(dst, f"{split}-images-idx3-ubyte"), "wb").write(
        struct.pack(">IIII", 2051, n, 28, 28) + images[16:16 + n * 784])
    # Labels 0/1: every classifier here has at least two classes (ppocr_cls has exactly two).
    open(os.path.join(dst, f"{split}-labels-idx1-ubyte"), "wb").write(
        struct.pack(">II", 2049, n) + bytes(b % 2 for b in labels[8:8 + n]))
PY
echo "model | images | top-1 agreement bf16 vs fp32 | accuracy change"
status=0
for name in ${models//,/ }; do
  row=$(awk -F'\t' -v n="$name" '$1 == n' "$suite/suite.tsv")
  [ -n "$row" ] || { echo "$name | not in $suite/suite.tsv"; status=1; continue; }
  file=$(cut -f2 <<<"$row")
  size=()
  [ "$name" != ppocr_cls ] || size=(--input-size 48,192)
  report=$("$mhub" eval "$suite/$file" --data "$scratch/data" --precision bf16 --batch-size 32 "${size[@]}" --json) ||
    { echo "$name | eval failed"; status=1; continue; }
  python3 - "$name" "$report" <<'PY'
import json, sys
r = json.loads(sys.argv[2])
print(f"{sys.argv[1]} | {r.get('examples', '?')} | {r['top1_agreement_with_fp32']:.4f} | {r['accuracy_change']:+.4f}")
PY
done
exit $status
