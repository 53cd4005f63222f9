#!/bin/bash
# ctest e2e.sweep_fashion: a 4-trial random sweep of the bundled fashion-cnn on a Fashion-MNIST
# subset (2048 train / 512 test images, 16 batches per epoch) with successive halving (eta 2,
# rungs at 1, 2 and 4 epochs), two trials at a time. The sweep's process group is killed with
# SIGKILL once the first trial has recorded its first rung, then the sweep is run again on the
# same folder. Checks: every trial in results.csv once; one trial done and three halted (two
# at epoch 1, one at epoch 2); trials recorded before the kill are not started again; the logs
# of a trial interrupted mid-segment hold no step twice; best.onnx exists and `mhub eval` on it
# gives the accuracy the sweep recorded for the best trial.
# Usage: tests/e2e/sweep_fashion.sh MHUB_BINARY SCRATCH_DIR
# Exit 0: passed; 1: failed; 77: Debian's dataset-fashion-mnist is not installed (skipped).
set -eu
mhub="$1"
scratch="$2"
here="$(cd "$(dirname "$0")" && pwd)"
data=/usr/share/datasets/fashion-mnist
[ -d "$data" ] || { echo "skipped: $data missing (Debian package dataset-fashion-mnist)"; exit 77; }
rm -rf "$scratch" && mkdir -p "$scratch"
/usr/bin/python3 "$here/fashion_subset.py" "$data" "$scratch/data" 2048 512
out="$scratch/sweep"
sweep=("$mhub" sweep --base "finetune fashion-cnn --data $scratch/data --epochs 4 --limit-batches 16 --schedule cosine"
       --param lr=log:0.003:0.1 --param optimizer=sgd,adamw --trials 4 --seed 7 --halving 2 --parallel 2 --threads 2 --out "$out")

# First run, killed (the whole process group, SIGKILL) once a trial has recorded its first rung.
setsid "${sweep[@]}" > "$scratch/first.out" 2> "$scratch/first.err" &
leader=$!
recorded() {
  /usr/bin/python3 -c 'import json,sys
try: s = json.load(open(sys.argv[1]))
except Exception: sys.exit(1)
sys.exit(0 if any(t["epochs"] >= 1 for t in s["trials"]) else 1)' "$out/sweep.json"
}
for _ in $(seq 1 600); do
  recorded && break
  kill -0 "$leader" 2>/dev/null || { echo "FAIL: the sweep ended before it could be killed"; cat "$scratch/first.err"; exit 1; }
  sleep 0.1
done
kill -KILL -- "-$leader"
wait "$leader" 2>/dev/null || true
cp "$out/sweep.json" "$scratch/at-kill.json"
echo "killed the sweep; state at the kill:"
/usr/bin/python3 -c 'import json,sys
for t in json.load(open(sys.argv[1]))["trials"]: print(" ", t["id"], t["status"], "epochs", t["epochs"])' "$scratch/at-kill.json"

# Second run: continues the same sweep.
"${sweep[@]}" > "$scratch/second.out" 2> "$scratch/second.err" || { echo "FAIL: the resumed sweep failed"; cat "$scratch/second.err"; exit 1; }
cat "$scratch/second.out"
"$mhub" eval "$out/best.onnx" --data "$scratch/data" --threads 2 --json > "$scratch/eval.json"

/usr/bin/python3 - "$out" "$scratch" <<'PY'
import csv, json, os, re, sys
out, scratch = sys.argv[1], sys.argv[2]
fail = []
rows = list(csv.DictReader(open(os.path.join(out, "results.csv"))))
ids = [r["trial"] for r in rows]
if sorted(ids) != ["t000", "t001", "t002", "t003"]:
    fail.append("results.csv trials: %s" % ids)
statuses = sorted((r["status"], r["halted_at"]) for r in rows)
if statuses != [("done", ""), ("halted", "1"), ("halted", "1"), ("halted", "2")]:
    fail.append("statuses (status, halted_at): %s; expected one done, two halted at 1, one at 2" % statuses)
for r in rows:
    expected = {"done": 4, "halted": int(r["halted_at"] or 0)}.get(r["status"])
    if expected is not None and int(r["epochs"]) != expected:
        fail.append("%s: %s epochs, expected %d" % (r["trial"], r["epochs"], expected))
state = json.load(open(os.path.join(out, "sweep.json")))
at_kill = json.load(open(os.path.join(scratch, "at-kill.json")))
second_log = open(os.path.join(scratch, "second.err")).read()
started = set()
for line in second_log.splitlines():
    m = re.match(r"sweep: (t\d+) .*: epochs (\d+) -> (\d+)$", line)
    if m:
        started.add((m.group(1), int(m.group(2))))
for t in at_kill["trials"]:
    if t["epochs"] >= 1 and (t["id"], 0) in started:
        fail.append("%s had recorded epoch %d before the kill but was started from epoch 0 again" % (t["id"], t["epochs"]))
for t in state["trials"]:
    steps = []
    for line in open(os.path.join(out, "trials", t["id"], "metrics.jsonl")):
        row = json.loads(line)
        if "train/loss" in row:
            steps.append(row["step"])
    if steps != sorted(set(steps)):
        fail.append("%s: metrics.jsonl repeats or reorders steps (an interrupted segment not rolled back)" % t["id"])
    if len(steps) != 16 * t["epochs"]:
        fail.append("%s: %d train/loss rows for %d epochs of 16 batches" % (t["id"], len(steps), t["epochs"]))
best = [r for r in rows if r["best"] == "yes"]
if len(best) != 1 or best[0]["status"] != "done":
    fail.append("expected one best trial that ran all epochs: %s" % best)
elif not os.path.exists(os.path.join(out, "best.onnx")):
    fail.append("best.onnx missing")
else:
    trial = next(t for t in state["trials"] if t["id"] == best[0]["trial"])
    recorded = trial["history"][-1]["eval_accuracy"]
    evaluated = json.load(open(os.path.join(scratch, "eval.json")))["accuracy"]
    print("best %s: recorded eval accuracy %.6f, mhub eval of best.onnx %.6f" % (trial["id"], recorded, evaluated))
    if abs(recorded - evaluated) > 1e-9:
        fail.append("mhub eval of best.onnx gives %.6f, the sweep recorded %.6f" % (evaluated, recorded))
if fail:
    print("FAIL:\n  " + "\n  ".join(fail))
    sys.exit(1)
print("sweep resumed after SIGKILL: every trial once, halving marked, best model evaluates to its recorded accuracy")
PY
