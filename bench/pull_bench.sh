#!/usr/bin/env bash
# Pull benchmark for mhub (issue 4), all against one local nginx in one run:
#   1. throughput: `mhub pull` vs `curl` of the same 1 GiB file (target: mhub >= 0.9x curl)
#   2. 8 connections vs 1 on a per-connection throttled location (target: >= 6x)
#   3. a warm pull of a pinned commit (target: zero requests in nginx's access log)
# Appends the results to bench/RESULTS.md. Needs: a built build/cli/mhub, nginx, curl, openssl.
# Environment: MHUB_BENCH_SIZE_MIB (default 1024), MHUB_BENCH_RUNS (default 3), TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$PWD
mhub=${MHUB_BIN:-$repo_root/build/cli/mhub}
size_mib=${MHUB_BENCH_SIZE_MIB:-1024}
runs=${MHUB_BENCH_RUNS:-3}
slow_mib=16
slow_rate=2m
[ -x "$mhub" ] || { echo "build mhub first (scripts/build.sh)"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mhub-bench.XXXXXX")
nginx_pid=""
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

echo "preparing a ${size_mib} MiB file and a ${slow_mib} MiB throttled file in $work"
mkdir -p "$work"/{tmp,cdn,tls}
head -c "$((size_mib << 20))" /dev/urandom > "$work/big.bin"
head -c "$((slow_mib << 20))" /dev/urandom > "$work/slow.bin"
big_sha=$(sha256sum "$work/big.bin" | cut -d' ' -f1)
slow_sha=$(sha256sum "$work/slow.bin" | cut -d' ' -f1)
mv "$work/big.bin" "$work/cdn/$big_sha"
mv "$work/slow.bin" "$work/cdn/$slow_sha"
commit=$(printf 'bench commit' | sha1sum | cut -d' ' -f1)
tests/hub/make_ca.sh "$work/tls"

hub_port=$(free_port); tls_port=$(free_port); bad_tls_port=$(free_port); cdn_port=$(free_port); slow_port=$(free_port)
{
  for rev in main "$commit"; do
    cat <<LOC
location = /bench/big/resolve/$rev/big.bin {
  add_header X-Repo-Commit $commit always;
  add_header X-Linked-Etag '"$big_sha"';
  add_header X-Linked-Size $((size_mib << 20));
  return 302 http://127.0.0.1:$cdn_port/blobs/$big_sha;
}
location = /bench/big/resolve/$rev/slow.bin {
  add_header X-Repo-Commit $commit always;
  add_header X-Linked-Etag '"$slow_sha"';
  add_header X-Linked-Size $((slow_mib << 20));
  return 302 http://127.0.0.1:$slow_port/slow/$slow_sha;
}
LOC
  done
} > "$work/hub_locations.conf"
sed -e "s|@PREFIX@|$work|g" -e "s|@HUB_PORT@|$hub_port|g" -e "s|@TLS_PORT@|$tls_port|g" \
    -e "s|@BAD_TLS_PORT@|$bad_tls_port|g" -e "s|@CDN_PORT@|$cdn_port|g" -e "s|@SLOW_PORT@|$slow_port|g" \
    -e "s|@SLOW_RATE@|$slow_rate|g" tests/hub/nginx.conf.in > "$work/nginx.conf"
nginx -p "$work" -c "$work/nginx.conf" -e "$work/error.log" &
nginx_pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$hub_port/" && break; sleep 0.05; done
endpoint="http://127.0.0.1:$hub_port"
# Warm the page cache so that neither side reads the source from disk.
cat "$work/cdn/$big_sha" > /dev/null

best() { sort -g | head -1; }
echo "1. throughput, best of $runs"
curl_times=(); mhub_times=()
for i in $(seq "$runs"); do
  start=$(now)
  curl -sSfL -o "$work/curl.out" "$endpoint/bench/big/resolve/main/big.bin"
  curl_times+=("$(echo "$(now) - $start" | bc)")
  rm -f "$work/curl.out"
  rm -rf "$work/cache"
  start=$(now)
  "$mhub" pull "hf:bench/big:big.bin" --endpoint "$endpoint" --cache-dir "$work/cache" > /dev/null
  mhub_times+=("$(echo "$(now) - $start" | bc)")
done
curl_s=$(printf '%s\n' "${curl_times[@]}" | best)
mhub_s=$(printf '%s\n' "${mhub_times[@]}" | best)
curl_rate=$(echo "scale=1; $size_mib / $curl_s" | bc)
mhub_rate=$(echo "scale=1; $size_mib / $mhub_s" | bc)
throughput_ratio=$(echo "scale=2; $curl_s / $mhub_s" | bc)
echo "   curl ${curl_s}s (${curl_rate} MiB/s), mhub ${mhub_s}s (${mhub_rate} MiB/s): mhub/curl = ${throughput_ratio}x"

echo "2. throttled location ($slow_rate per connection, ${slow_mib} MiB, 1 MiB chunks)"
timed_slow_pull() {
  rm -rf "$work/cache-slow"
  local start; start=$(now)
  MHUB_CHUNK_BYTES=$((1 << 20)) "$mhub" pull "hf:bench/big:slow.bin" --endpoint "$endpoint" \
    --cache-dir "$work/cache-slow" --connections "$1" > /dev/null
  echo "$(now) - $start" | bc
}
one_s=$(timed_slow_pull 1)
eight_s=$(timed_slow_pull 8)
parallel_ratio=$(echo "scale=2; $one_s / $eight_s" | bc)
echo "   1 connection ${one_s}s, 8 connections ${eight_s}s: ${parallel_ratio}x"

echo "3. warm pull of a pinned commit"
"$mhub" pull "hf:bench/big@$commit:big.bin" --endpoint "$endpoint" --cache-dir "$work/cache" > /dev/null  # fills the commit's snapshot if needed
lines_before=$(wc -l < "$work/access.log")
start=$(now)
"$mhub" pull "hf:bench/big@$commit:big.bin" --endpoint "$endpoint" --cache-dir "$work/cache" > /dev/null
warm_s=$(echo "$(now) - $start" | bc)
sleep 0.2
warm_requests=$(( $(wc -l < "$work/access.log") - lines_before ))
echo "   ${warm_requests} requests, ${warm_s}s"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
load=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo
  echo "## Pull benchmark $(date -u '+%Y-%m-%d %H:%M UTC') — $(nproc) cores, $cpu, load average $load at the end"
  echo
  echo "| measure | result | target |"
  echo "| --- | --- | --- |"
  echo "| ${size_mib} MiB pull, best of $runs: curl | ${curl_s} s (${curl_rate} MiB/s) | |"
  echo "| ${size_mib} MiB pull, best of $runs: mhub (8 connections, sha256 verified) | ${mhub_s} s (${mhub_rate} MiB/s) | |"
  echo "| mhub / curl throughput | ${throughput_ratio}x | >= 0.9x |"
  echo "| throttled ${slow_rate}/connection, ${slow_mib} MiB: 1 vs 8 connections | ${one_s} s vs ${eight_s} s = ${parallel_ratio}x | >= 6x |"
  echo "| warm pull of a pinned commit: requests in nginx's access log | ${warm_requests} (${warm_s} s) | 0 |"
} >> bench/RESULTS.md
echo "appended to bench/RESULTS.md"
