#!/bin/sh
# bench/train_bench_rows.awk on a made-up bench/RESULTS.md: a run's rows replace only the
# (model, batch) rows they measured, older 7-cell rows get their section's date and quiet.sh line,
# other sections are not read, rows come out in the model list's order.
# Usage: train_bench_rows.sh REPO_ROOT
set -eu
awk_file="$1/bench/train_bench_rows.awk"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cat > "$dir/RESULTS.md" <<'MD'
# results
<!-- train_bench.sh begin -->
## Training: mhub vs PyTorch 1.13 (CPU)

- date: 2026-01-01 10:00 UTC
- quiet.sh: load 0.1 -> 1.0, 9.0 s, foreign CPU 0.1% of 2 cores: quiet
- threads: 2, median of 3 steps after 2 warm-up steps, best median of 2 interleaved
  rounds per engine; written by bench/train_bench.sh

| model | batch | mhub ms/step | PyTorch ms/step | mhub examples/s | PyTorch examples/s | speed mhub/PyTorch |
| --- | --- | --- | --- | --- | --- | --- |
| resnet18 | 8 | 368 | 684 | 21.73 | 11.70 | 1.86x |
| mobilenet_v2 | 8 | 281 | 745 | 28.49 | 10.73 | 2.65x |
| resnet18 | 32 | 1377 | 3140 | 23.24 | 10.19 | 2.28x |
<!-- train_bench.sh end -->
<!-- train_bench.sh bf16 begin -->
| resnet18 | 8 | 1 | 2 | 3 | 4 | 9.99x |
<!-- train_bench.sh bf16 end -->
MD
cat > "$dir/new" <<'MD'
| bert_encoder | 8 | 900 | 1200 | 8.89 | 6.67 | 1.33x | 2 threads, median of 2 after 1 warm-up, best of 2 | NEW |
| resnet18 | 8 | 300 | 690 | 26.67 | 11.59 | 2.30x | 2 threads, median of 5 after 2 warm-up, best of 2 | NEW |
MD
awk -v section="train_bench.sh" -v models="resnet18,mobilenet_v2,bert_encoder" -f "$awk_file" "$dir/RESULTS.md" "$dir/new" > "$dir/got"
old="2 threads, median of 3 after 2 warm-up, best of 2 | 2026-01-01 10:00 UTC; quiet.sh: load 0.1 -> 1.0, 9.0 s, foreign CPU 0.1% of 2 cores: quiet |"
cat > "$dir/want" <<MD
| resnet18 | 8 | 300 | 690 | 26.67 | 11.59 | 2.30x | 2 threads, median of 5 after 2 warm-up, best of 2 | NEW |
| resnet18 | 32 | 1377 | 3140 | 23.24 | 10.19 | 2.28x | $old
| mobilenet_v2 | 8 | 281 | 745 | 28.49 | 10.73 | 2.65x | $old
| bert_encoder | 8 | 900 | 1200 | 8.89 | 6.67 | 1.33x | 2 threads, median of 2 after 1 warm-up, best of 2 | NEW |
MD
diff -u "$dir/want" "$dir/got"
# a results file without the section: the run's rows alone, in the model list's order
awk -v section="train_bench.sh" -v models="resnet18,bert_encoder" -f "$awk_file" /dev/null "$dir/new" > "$dir/got"
head -n 1 "$dir/new" > "$dir/second"
tail -n 1 "$dir/new" > "$dir/want"
cat "$dir/second" >> "$dir/want"
diff -u "$dir/want" "$dir/got"
echo "train_bench_rows: ok"
