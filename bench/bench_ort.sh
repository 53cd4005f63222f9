#!/bin/bash
# Times mhub (`mhub bench --json`) and ONNX Runtime (ort_bench.js) on resnet18, resnet50,
# mobilenet_v2 and the BERT-base-size encoder (seq 128), batch 1 and 8, same thread count,
# in the same run, and writes the ratios to its own section of bench/RESULTS.md (between the
# "bench_ort.sh begin/end" markers; the rest of the file is left as it is).
# Usage: bench/bench_ort.sh [MHUB_BINARY] [--threads N] [--iters N]
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
mhub="$here/build/cli/mhub"
threads=2
iters=10
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --iters) iters="$2"; shift 2 ;;
    *) mhub="$1"; shift ;;
  esac
done
peers="$HOME/.cache/mhub-peers/node_modules"
models="$HOME/.cache/mhub-bench-models"
shared="$here/../shared/peers"
if [ ! -d "$peers/onnxruntime-node" ]; then
  echo "ONNX Runtime peer not installed ($peers/onnxruntime-node): run $shared/install.sh" >&2
  exit 77
fi
[ -f "$models/resnet18.onnx" ] || /usr/bin/python3 "$shared/export_models.py" "$models"

out="$here/bench/RESULTS.md"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
{
  echo "## Inference: mhub vs ONNX Runtime (CPU)"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: timings of both engines move with it)"
  echo "- threads: $threads, iterations: $iters (median), inputs random; written by bench/bench_ort.sh"
  echo
  echo "| model | batch | mhub ms | ORT ms | mhub/ORT |"
  echo "| --- | --- | --- | --- | --- |"
} > "$tmp"
median() { sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p'; }
for m in resnet18 resnet50 mobilenet_v2 bert_base_like; do
  for b in 1 8; do
    dims=(--dim batch=$b)
    mdims=(--batch $b)
    if [ "$m" = bert_base_like ]; then dims+=(--dim seq=128); mdims+=(--dim seq=128); fi
    ours=$("$mhub" bench "$models/$m.onnx" "${mdims[@]}" --threads "$threads" --iters "$iters" --json | median)
    theirs=$(NODE_PATH="$peers" node "$shared/ort_bench.js" "$models/$m.onnx" "${dims[@]}" --threads "$threads" --iters "$iters" | median)
    ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')
    printf '| %s | %s | %.1f | %.1f | %s |\n' "$m" "$b" "$ours" "$theirs" "$ratio" | tee -a "$tmp"
  done
done
{
  echo
  echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- where mhub's time goes: \`mhub bench MODEL --profile\` (kernel ms by op, slowest nodes)"
} >> "$tmp"
# Replace our section (or append it) and keep everything else in RESULTS.md.
merged="$(mktemp)"
{
  if [ -f "$out" ]; then sed '/<!-- bench_ort.sh begin -->/,/<!-- bench_ort.sh end -->/d' "$out"; fi
  echo "<!-- bench_ort.sh begin -->"
  cat "$tmp"
  echo "<!-- bench_ort.sh end -->"
} > "$merged"
mv "$merged" "$out"
echo "wrote $out"
