# The table rows of one bench/train_bench.sh section of bench/RESULTS.md after a run: the rows the
# section already has, each (model, batch) the run measured replaced by the run's row, new ones
# added; printed one per line in the order of `models` (then by batch). A row carries its own
# steps cell and "measured" cell (date and quiet.sh's line), so rows of separate runs can sit in
# one table. Rows written before rows carried these cells (7 cells) get them from the section's
# preamble ("- date:", "- quiet.sh:", "median of N steps after W warm-up steps, best median of R").
#
# Usage: awk -v section="train_bench.sh" -v models="resnet18,mobilenet_v2,..." \
#            -f bench/train_bench_rows.awk RESULTS.md NEW_ROWS
# RESULTS.md may lack the section (or be an empty file: /dev/null does); NEW_ROWS holds complete
# 9-cell rows.

function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }

function is_row(line) { return line ~ /^\| / && line !~ /^\| model \|/ && line !~ /^\| ---/ }

function key_of(line,    cells) {
  split(line, cells, "|")
  return trim(cells[2]) SUBSEP trim(cells[3])
}

function remember(line,    k) {
  k = key_of(line)
  if (!(k in rows)) order[++count] = k
  rows[k] = line
}

BEGIN {
  n_models = split(models, model_list, ",")
  for (i = 1; i <= n_models; i++) model_rank[model_list[i]] = i
}

# Pass 1: the section of RESULTS.md.
FILENAME == ARGV[1] {
  if ($0 == "<!-- " section " begin -->") { inside = 1; next }
  if ($0 == "<!-- " section " end -->") { inside = 0; next }
  if (!inside) next
  if ($0 ~ /^- date: /) { old_date = substr($0, 9) }
  if ($0 ~ /^- quiet\.sh: /) { old_quiet = substr($0, 3) }
  if ($0 ~ /^- threads: /) {
    old_steps = $0
    sub(/^- threads: /, "", old_steps)
    sub(/,.*/, "", old_steps)
    old_steps = old_steps " threads"
    if (match($0, /median of [0-9]+ steps after [0-9]+ warm-up steps/)) {
      m = substr($0, RSTART, RLENGTH)
      gsub(/ steps after /, " after ", m)
      gsub(/ warm-up steps/, " warm-up", m)
      old_steps = old_steps ", " m
    }
  }
  if ($0 ~ /best median of [0-9]+/ && match($0, /best median of [0-9]+/)) {
    old_rounds = substr($0, RSTART + 15, RLENGTH - 15)
  }
  if (!is_row($0)) next
  line = $0
  if (split(line, cells, "|") == 9) {  # a 7-cell row of the older format
    steps = old_steps (old_rounds != "" ? ", best of " old_rounds : "")
    line = line " " (steps != "" ? steps : "-") " | " (old_date != "" ? old_date : "-") "; " \
           (old_quiet != "" ? old_quiet : "quiet.sh: -") " |"
  }
  remember(line)
  next
}

# Pass 2: the run's rows.
is_row($0) { remember($0) }

END {
  # insertion sort by (model rank, batch); unknown models after the known ones, in their order
  for (i = 1; i <= count; i++) {
    split(order[i], kb, SUBSEP)
    rank[i] = ((kb[1] in model_rank) ? model_rank[kb[1]] : n_models + i) * 1000000 + kb[2]
    sorted[i] = i
  }
  for (i = 2; i <= count; i++) {
    j = i
    while (j > 1 && rank[sorted[j - 1]] > rank[sorted[j]]) { t = sorted[j]; sorted[j] = sorted[j - 1]; sorted[j - 1] = t; j-- }
  }
  for (i = 1; i <= count; i++) print rows[order[sorted[i]]]
}
