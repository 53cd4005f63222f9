# Sourced by the timing scripts (bench_ort.sh, train_bench.sh, fmnist_vs_torch.sh), which set
# $here to the repository root: the measurement under ../shared/tools/quiet.sh and the script's
# own section of bench/RESULTS.md.

# quiet_measure VERDICT_FILE COMMAND...: runs COMMAND under quiet.sh, its stderr copied into
# VERDICT_FILE; sets quiet_status (COMMAND's status, or quiet.sh's 75 for a noisy run) and
# quiet_line (quiet.sh's one-line verdict, empty if it gave none).
quiet_measure() {
  local verdict="$1"
  shift
  quiet_status=0
  "$here/../shared/tools/quiet.sh" -- "$@" 2> >(tee "$verdict" >&2) || quiet_status=$?
  sleep 0.2  # let tee finish writing quiet.sh's line
  quiet_line="$(grep '^quiet.sh:' "$verdict" | tail -1 || true)"
}

# run_measurement ROWS_FILE VERDICT_FILE: with $dry_run = 1, the script's own `measure ROWS_FILE`
# once without quiet.sh, then exit (nothing written); otherwise the script again under quiet.sh
# with its arguments ($args) and --inner ROWS_FILE (quiet_measure).
run_measurement() {
  if [ "${dry_run:-0}" = 1 ]; then
    measure "$1"
    echo "dry run: nothing written" >&2
    exit 0
  fi
  quiet_measure "$2" "$0" "${args[@]}" --inner "$1"
}

# results_preamble TITLE: a section's heading, date, machine and quiet.sh's line.
results_preamble() {
  echo "## $1"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "- $quiet_line"
}

# replace_section NAME BODY_FILE: BODY_FILE becomes the text between the "<!-- NAME begin -->"
# and "<!-- NAME end -->" markers of bench/RESULTS.md (appended when absent); the rest stays.
replace_section() {
  local out="$here/bench/RESULTS.md" merged
  merged="$(mktemp)"
  {
    if [ -f "$out" ]; then sed "/<!-- $1 begin -->/,/<!-- $1 end -->/d" "$out"; fi
    echo "<!-- $1 begin -->"
    cat "$2"
    echo "<!-- $1 end -->"
  } > "$merged"
  mv "$merged" "$out"
}
