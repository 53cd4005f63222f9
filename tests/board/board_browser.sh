#!/bin/bash
# ctest board.browser: `mhub board` on a log folder holding a small sweep (grid of 4 trials on a
# Fashion-MNIST subset, two of which fail on purpose: --schedule bogus) and a single finetune run,
# driven in Debian's chromium (headless) through puppeteer-core (npm, in the peers folder).
# board_check.js checks the page (every run listed, curve points = metrics.jsonl rows, live
# update, sweep charts, the model page's op histogram and graph, for a model in the log folder
# and one in a model cache laid out as Hugging Face's: snapshot symlink into blobs/), path traversal refusals and
# the Host check; screenshots are kept in SCRATCH_DIR (board-runs.png, board-model.png).
# Usage: tests/board/board_browser.sh MHUB_BINARY SCRATCH_DIR
# Exit 0: passed; 1: failed; 77: chromium, node/npm or the Fashion-MNIST package missing (skipped).
set -eu
mhub="$1"
scratch="$2"
here="$(cd "$(dirname "$0")" && pwd)"
data=/usr/share/datasets/fashion-mnist
chromium=${MHUB_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "skipped: $chromium missing (Debian package chromium)"; exit 77; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "skipped: node/npm missing"; exit 77; }
[ -d "$data" ] || { echo "skipped: $data missing (Debian package dataset-fashion-mnist)"; exit 77; }
peers=${MHUB_PEERS_DIR:-$HOME/.cache/mhub-peers}
if [ ! -d "$peers/node_modules/puppeteer-core" ]; then  # scripts/install-deps.sh installs it; this is the fallback
  mkdir -p "$peers"
  (cd "$peers" && { [ -f package.json ] || npm init -y >/dev/null; } &&
    npm install --ignore-scripts --no-audit --no-fund puppeteer-core@24 >/dev/null) ||
    { echo "skipped: puppeteer-core could not be installed into $peers (npm registry unreachable?)"; exit 77; }
fi
rm -rf "$scratch" && mkdir -p "$scratch/logs"
/usr/bin/python3 "$here/../e2e/fashion_subset.py" "$data" "$scratch/data" 1024 256
base="finetune fashion-cnn --data $scratch/data --epochs 2 --limit-batches 8"
"$mhub" sweep --base "$base" --param lr=0.02,0.05 --param schedule=cosine,bogus --method grid --parallel 2 --threads 2 \
  --out "$scratch/logs/sweep" > "$scratch/sweep.out" 2> "$scratch/sweep.err" || { echo "FAIL: sweep"; cat "$scratch/sweep.err"; exit 1; }
grep -q 'bogus' "$scratch/logs/sweep/results.csv" || { echo "FAIL: the failing trials' errors are not in results.csv"; exit 1; }
"$mhub" finetune fashion-cnn --data "$scratch/data" --epochs 1 --limit-batches 8 --threads 2 --out "$scratch/logs/single/model.onnx" \
  --logdir "$scratch/logs/single" --json > /dev/null

# A model cache as `mhub pull` leaves it: the snapshot's file is a symlink into blobs/.
cache="$scratch/hub-cache"
commit=0123456789abcdef0123456789abcdef01234567
mkdir -p "$cache/models--acme--fashion-cnn/blobs" "$cache/models--acme--fashion-cnn/snapshots/$commit"
blob=$(sha256sum "$here/../../models/fashion-cnn/model.onnx" | cut -d' ' -f1)
cp "$here/../../models/fashion-cnn/model.onnx" "$cache/models--acme--fashion-cnn/blobs/$blob"
ln -s "../../blobs/$blob" "$cache/models--acme--fashion-cnn/snapshots/$commit/model.onnx"
export MHUB_BOARD_CACHE_MODEL="models--acme--fashion-cnn/snapshots/$commit/model.onnx"

HF_HUB_CACHE="$cache" "$mhub" board --logdir "$scratch/logs" --port 0 > "$scratch/board.out" 2>&1 &
board=$!
trap 'kill $board 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*/' "$scratch/board.out" || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "FAIL: mhub board printed no address"; cat "$scratch/board.out"; exit 1; }
NODE_PATH="$peers/node_modules" node "$here/board_check.js" "$url" "$scratch/logs" "$scratch" "$chromium"
