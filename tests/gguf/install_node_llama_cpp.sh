#!/bin/bash
# Installs npm node-llama-cpp (llama.cpp's prebuilt CPU binaries for linux-x64) outside the repo,
# under ${MHUB_PEERS_DIR:-$HOME/.cache/mhub-peers}/llama, without running install scripts (its
# postinstall would try to download or build llama.cpp): the prebuilt @node-llama-cpp/linux-x64
# package is installed explicitly instead. Prints the package folder; exit 1 when npm fails.
set -euo pipefail
version=3.22.1
dir=${MHUB_PEERS_DIR:-$HOME/.cache/mhub-peers}/llama
module=$dir/node_modules/node-llama-cpp
if [ -f "$module/package.json" ] && [ -d "$dir/node_modules/@node-llama-cpp/linux-x64/bins" ]; then
  echo "$module"
  exit 0
fi
command -v npm >/dev/null || { echo "npm is not installed" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || npm init -y >/dev/null
npm install --ignore-scripts --no-audit --no-fund --omit=optional \
  "node-llama-cpp@$version" "@node-llama-cpp/linux-x64@$version" >&2
echo "$module"
