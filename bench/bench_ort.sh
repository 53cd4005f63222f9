#!/bin/bash
# Times mhub (`mhub bench --json`) against ONNX Runtime (../shared/peers/ort_bench.js) on the
# benchmark suite (bench/export_suite.py: build/bench-suite/suite.tsv), batch 1 and 8, the same
# thread count, in interleaved rounds (mhub, ORT, mhub, ORT ...; each engine's best median counts),
# the whole measurement under ../shared/tools/quiet.sh. Only a run quiet.sh calls quiet is written
# to its own section of bench/RESULTS.md (between the "bench_ort.sh begin/end" markers; the rest of
# the file is left as it is): the table, the geometric mean of mhub/ORT and quiet.sh's line.
# A noisy run prints its table and exits 75 without touching RESULTS.md.
# --precision bf16: mhub computes Conv/ConvTranspose/MatMul/Gemm in bfloat16 (`mhub bench
# --precision bf16`, which also reports its max relative error against mhub's fp32) while ORT
# stays fp32; written to a section of its own.
# Short models get more iterations: after the first round, a model whose median took less than
# --min-ms / --iters runs ceil(--min-ms / median) iterations per median in the other rounds (at
# most 400), so each median of a 5 ms model spans as much time as the 10 runs of a 30 ms one and
# one slow run of the virtual machine moves it less (audio_crnn batch 8, 6 ms, read 1.21x ORT
# once with 10 iterations x 2 rounds and 1.00x in 4 alternated rounds). A model under 5 ms gets twice
# --rounds: its rounds are shorter than the virtual machine's slow phases (audio_crnn batch 1 read
# 1.14-1.30x in two suite runs of 3 rounds and at parity alternated 3 x 200 runs right after).
# Usage: bench/bench_ort.sh [MHUB_BINARY] [--threads N] [--iters N] [--rounds N] [--min-ms MS]
#                           [--models a,b,...] [--batches 1,8] [--suite DIR] [--precision fp32|bf16]
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
mhub="$here/build/cli/mhub"
threads=2
iters=10
rounds=3
min_ms=300
models=""
batches="1,8"
suite="$here/build/bench-suite"
precision=fp32
inner=""
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --iters) iters="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --min-ms) min_ms="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --suite) suite="$2"; shift 2 ;;
    --precision) precision="$2"; shift 2 ;;
    --inner) inner="$2"; shift 2 ;;  # internal: measure and write table rows to this file
    *) mhub="$1"; shift ;;
  esac
done
peers="${MHUB_PEERS_DIR:-$HOME/.cache/mhub-peers}/node_modules"
shared="$here/../shared"
if [ ! -d "$peers/onnxruntime-node" ]; then
  echo "ONNX Runtime peer not installed ($peers/onnxruntime-node): run $shared/peers/install.sh" >&2
  exit 77
fi
[ -f "$suite/suite.tsv" ] || /usr/bin/python3 "$here/bench/export_suite.py" "$suite" || true
[ -f "$suite/suite.tsv" ] || { echo "no suite at $suite (bench/export_suite.py failed)" >&2; exit 1; }

if [ -n "$inner" ]; then
  median() { sed -n 's/.*"median_ms":\([0-9.]*\).*/\1/p'; }
  error_of() { sed -n 's/.*"max_rel_error_vs_fp32":\([-0-9.e+]*\).*/\1/p'; }
  wait_of() { sed -n 's/.*"openmp_wait":"\([^"]*\)".*/\1/p'; }
  while IFS=$'\t' read -r name file batch_dim extra; do
    [ -z "$models" ] || [[ ",$models," == *",$name,"* ]] || continue
    for b in ${batches//,/ }; do
      odims=(--dim "$batch_dim=$b")
      mdims=(--batch "$b")
      if [ "$extra" != "-" ]; then
        for kv in ${extra//,/ }; do odims+=(--dim "$kv"); mdims+=(--dim "$kv"); done
      fi
      best_ours="" best_theirs="" error="" n=$iters r=0 more=$rounds slept=0 all_ours="" all_theirs=""
      while [ "$r" -lt "$more" ]; do
        r=$((r + 1))
        report=$("$mhub" bench "$suite/$file" "${mdims[@]}" --threads "$threads" --iters "$n" --precision "$precision" --json)
        ours=$(median <<<"$report")
        # mhub picks its threads' wait at start from the other work on the cores: a round whose
        # threads slept between regions (passive) is listed under the table
        [[ "$(wait_of <<<"$report")" == spin* ]] || slept=$((slept + 1))
        [ "$precision" = fp32 ] || error=$(error_of <<<"$report")
        theirs=$(NODE_PATH="$peers" node "$shared/peers/ort_bench.js" "$suite/$file" "${odims[@]}" --threads "$threads" \
                 --iters "$n" | median)
        [ -n "$ours" ] && [ -n "$theirs" ] || break
        all_ours="$all_ours $ours" all_theirs="$all_theirs $theirs"
        best_ours=$(awk -v a="$ours" -v b="${best_ours:-$ours}" 'BEGIN { print (a < b ? a : b) }')
        best_theirs=$(awk -v a="$theirs" -v b="${best_theirs:-$theirs}" 'BEGIN { print (a < b ? a : b) }')
        # the faster engine's median sets the count, so both engines run the same number
        n=$(awk -v m="$min_ms" -v a="$best_ours" -v b="$best_theirs" -v i="$iters" \
            'BEGIN { t = (a < b ? a : b); k = (t > 0 ? int(m / t + 0.999) : i); if (k < i) k = i; if (k > 400) k = 400; print k }')
        # A model under 5 ms: a round of either engine lasts about --min-ms, shorter than this VM's slow
        # phases (seconds), so one engine's rounds can all fall in one: twice the rounds for it.
        if [ "$r" -eq 1 ] && awk -v t="$best_ours" 'BEGIN { exit !(t < 5) }'; then more=$((rounds * 2)); fi
      done
      if [ -z "$ours" ] || [ -z "$theirs" ]; then
        printf '| %s | %s | %s | %s | - |%s\n' "$name" "$b" "${ours:-failed}" "${theirs:-failed}" "${error:+ - |}" | tee -a "$inner"
        continue
      fi
      ratio=$(awk -v a="$best_ours" -v b="$best_theirs" 'BEGIN { printf "%.3f", a / b }')
      [ "$slept" -eq 0 ] || echo "$name batch $b: $slept of $r rounds" | tee -a "$inner.slept" >&2
      # This VM has phases of a few seconds in which one engine or both run up to twice as fast
      # (both engines' rounds move; short models most): a row whose rounds of one engine spread by
      # more than 1.3x lists them all under the table, so a ratio set by one such round shows.
      awk -v a="$all_ours" -v b="$all_theirs" 'function spread(s,   v, n, i, lo, hi) {
          n = split(s, v, " "); lo = hi = v[1]; for (i = 2; i <= n; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] }
          return lo > 0 ? hi / lo : 1 }
        BEGIN { exit !(spread(a) > 1.3 || spread(b) > 1.3) }' &&
        printf '%s batch %s: mhub%s; ORT%s\n' "$name" "$b" "$(printf ' %.2f' $all_ours)" "$(printf ' %.2f' $all_theirs)" |
        tee -a "$inner.uneven" >&2
      if [ "$precision" = fp32 ]; then
        printf '| %s | %s | %.2f | %.2f | %s |\n' "$name" "$b" "$best_ours" "$best_theirs" "$ratio" | tee -a "$inner"
      else
        printf '| %s | %s | %.2f | %.2f | %s | %.2g |\n' "$name" "$b" "$best_ours" "$best_theirs" "$ratio" "${error:-0}" | tee -a "$inner"
      fi
    done
  done < "$suite/suite.tsv"
  exit 0
fi

. "$here/bench/quiet_results.sh"
rows="$(mktemp)" verdict="$(mktemp)" tmp="$(mktemp)"
trap 'rm -f "$rows" "$rows.slept" "$rows.uneven" "$verdict" "$tmp"' EXIT
quiet_measure "$verdict" "$0" "${args[@]}" --inner "$rows"
geomean=$(awk -F'|' 'NF > 5 && $6 + 0 > 0 { s += log($6); n++ } END { if (n) printf "%.3f", exp(s / n) }' "$rows")
if [ "$quiet_status" -ne 0 ]; then
  echo "not recorded (status $quiet_status): ${quiet_line:-quiet.sh gave no verdict}; geometric mean of this run: ${geomean:-n/a}" >&2
  exit "$quiet_status"
fi
section=bench_ort.sh title="Inference: mhub vs ONNX Runtime (CPU), benchmark suite"
header="| model | batch | mhub ms | ORT ms | mhub/ORT |" rule="| --- | --- | --- | --- | --- |"
if [ "$precision" != fp32 ]; then
  section="bench_ort.sh $precision" title="Inference: mhub --precision $precision vs ONNX Runtime fp32 (CPU), benchmark suite"
  header="| model | batch | mhub $precision ms | ORT fp32 ms | mhub/ORT | max rel. error vs mhub fp32 |"
  rule="| --- | --- | --- | --- | --- | --- |"
fi
{
  results_preamble "$title"
  echo "- threads: $threads, iterations: $iters per median (after the first round at least $min_ms ms of runs, at most 400),"
  echo "  best median of $rounds interleaved rounds per engine;"
  echo "  models from bench/export_suite.py (random weights, fixed seed), inputs random; written by bench/bench_ort.sh"
  echo
  echo "$header"
  echo "$rule"
  cat "$rows"
  echo
  echo "- geometric mean of mhub/ORT over the $(awk -F'|' '$6 + 0 > 0' "$rows" | wc -l) timed rows: **$geomean**"
  failed=$(grep -c ' - |$' "$rows" || true)
  [ "$failed" = 0 ] || echo "- rows that failed to run in one engine: $failed (no ratio, not in the mean)"
  if [ -s "$rows.slept" ]; then
    echo "- rounds in which mhub's threads slept between regions (it saw other work at start: openmp_wait not spin):"
    sed 's/^/  - /' "$rows.slept"
  fi
  if [ -s "$rows.uneven" ]; then
    echo "- rows whose rounds of one engine spread by more than 1.3x (this VM's fast phases), every round's median in ms:"
    sed 's/^/  - /' "$rows.uneven"
  fi
  echo "- where mhub's time goes: \`mhub bench MODEL --profile\` (kernel ms by op, slowest nodes)"
} > "$tmp"
replace_section "$section" "$tmp"
echo "wrote $here/bench/RESULTS.md (geometric mean $geomean)"
