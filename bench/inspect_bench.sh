#!/usr/bin/env bash
# Times `mhub inspect` against ONNX Runtime's session creation on the same model, same run, and
# records peak memory of mhub inspect (to see that weights are not copied more than once).
# Usage: bench/inspect_bench.sh [MODEL.onnx] [REPEATS]
# Needs: build/cli/mhub, ../shared/peers/install.sh done (ORT), the benchmark models
# (/usr/bin/python3 ../shared/peers/export_models.py ~/.cache/mhub-bench-models).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-$HOME/.cache/mhub-bench-models/resnet50.onnx}
repeats=${2:-7}
peers=${MHUB_PEERS:-$HOME/.cache/mhub-peers}
mhub=build/cli/mhub
[ -f "$model" ] || { echo "missing $model: run ../shared/peers/export_models.py first" >&2; exit 1; }
times=()
for _ in $(seq "$repeats"); do
  start=$(date +%s%N)
  "$mhub" inspect --json "$model" >/dev/null
  times+=($(( ($(date +%s%N) - start) / 1000 )))
done
mhub_ms=$(printf '%s\n' "${times[@]}" | sort -n | awk -v n="$repeats" 'NR==int(n/2)+1 {printf "%.1f", $1/1000}')
rss_kb=$(/usr/bin/time -f %M "$mhub" inspect --json "$model" 2>&1 >/dev/null | tail -1)
ort_json=$(NODE_PATH="$peers/node_modules" node bench/ort_session_create.js "$model" "$repeats")
ort_ms=$(echo "$ort_json" | sed 's/.*"median_ms":\([0-9.]*\).*/\1/')
size_mb=$(( $(stat -c %s "$model") / 1048576 ))
ratio=$(awk -v a="$mhub_ms" -v b="$ort_ms" 'BEGIN {printf "%.2f", a/b}')
echo "model=$(basename "$model") size=${size_mb}MiB mhub_inspect_ms=$mhub_ms ort_create_ms=$ort_ms ratio=$ratio mhub_peak_rss=$((rss_kb/1024))MiB"
