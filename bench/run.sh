#!/usr/bin/env bash
# The benchmark suite of issue #4 in one command: builds Release, generates the data, and prints
# every measurement next to the baseline measured in the same run (also in bench/out/results.txt).
# Loopback only. Knobs: BENCH_RECORDS (10000000), BENCH_DURATION (wrk seconds, 10), BENCH_BUILD.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BENCH_BUILD:-build-bench}
OUT=bench/out
RECORDS=${BENCH_RECORDS:-10000000}
DURATION=${BENCH_DURATION:-10}
PORT=${BENCH_PORT:-19477}
mkdir -p "$OUT"
rm -rf "$OUT"/*.db "$OUT"/*.db-* "$OUT"/batch "$OUT"/*.log "$OUT"/*.txt
RES=$OUT/results.txt
SUITE_START=$(date +%s)

say() { echo "$*" | tee -a "$RES"; }
# Appends the harness's "name value" lines, each name prefixed with $1.
collect() { sed "s/^/$1/" | tee -a "$RES"; }
ms_now() { date +%s%3N; }

say "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "$(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r), $(df -T "$OUT" | awk 'NR==2 {print $2}')" \
  "on $(df "$OUT" | awk 'NR==2 {print $1}'); $(date -u +%FT%TZ)"

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DAIUSAGE_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j2 --target aiusage_bench otlp_bench catalog_bench ai-usage-exporter >/dev/null
B=$BUILD/bench/aiusage_bench
EXPORTER=$BUILD/ai-usage-exporter
"$B" models >"$OUT/models.txt"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_ready() {  # URL: polls every 10 ms for up to 60 s
  for _ in $(seq 6000); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.01
  done
  echo "bench: $1 never answered" >&2
  return 1
}
stop() { kill "$1" && wait "$1" 2>/dev/null || true; }

echo "== generate" >&2
"$B" gen "$OUT/big.db" "$RECORDS" | collect ""
"$B" gen "$OUT/small.db" 100000 | collect "small_"
# The generator's 2 GB reach the disk now: left dirty, their writeback stalled the first ingest
# run's WAL flushes (ext4 orders them) for up to a second.
sync

echo "== scrape" >&2
"$B" scrape "$OUT/big.db" 5 | collect ""
"$B" scrape "$OUT/small.db" 5 | collect "small_"

echo "== statistics" >&2
"$B" stats "$OUT/big.db" 20 | collect ""

echo "== startup and memory (the real binary)" >&2
# KEY DB: seconds until /-/ready answers, RSS when idle and at its peak over one scrape.
startup() {
  local t0 pid
  t0=$(ms_now)
  "$EXPORTER" --storage.path "$2" --web.listen-address "127.0.0.1:$PORT" 2>"$OUT/$1.log" &
  pid=$!
  PIDS+=("$pid")
  wait_ready "http://127.0.0.1:$PORT/-/ready"
  say "$1_startup_ms $(($(ms_now) - t0))"
  say "$1_rss_idle_mb $(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")"
  curl -sf "http://127.0.0.1:$PORT/metrics" >"$OUT/$1.metrics.txt"
  say "$1_rss_peak_mb $(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")"
  say "$1_accepted_counter $(awk '/^ai_usage_ingest_records_total\{result="accepted"\}/ {print $2}' "$OUT/$1.metrics.txt")"
  stop "$pid"
}
startup empty "$OUT/empty.db"
startup big "$OUT/big.db"
if command -v promtool >/dev/null; then
  promtool check metrics <"$OUT/big.metrics.txt" >"$OUT/promtool.txt" 2>&1 || true
  say "big_promtool_problems $(wc -l <"$OUT/promtool.txt")"
fi

echo "== request-side cost of a batch" >&2
"$B" parse 30 | collect ""

echo "== batch ingest" >&2
mkdir -p "$OUT/batch"
"$B" batch "$OUT/small.db" "$OUT/batch" 100 | collect ""
rm -rf "$OUT/batch"

echo "== OTLP export vs JSON batch" >&2
mkdir -p "$OUT/otlp"
"$BUILD/bench/otlp_bench" "$OUT/otlp" 5 | collect ""
rm -rf "$OUT/otlp"

echo "== LiteLLM catalog load" >&2
# The shared catalog beside the repository, when there is one (BENCH_CATALOG overrides).
CATALOG=${BENCH_CATALOG:-../shared/data/litellm-model-prices.json}
if [ -f "$CATALOG" ]; then
  "$BUILD/bench/catalog_bench" "$(realpath "$CATALOG")" 21 2>/dev/null | collect ""
else
  echo "bench: no $CATALOG, catalog load not measured" >&2
fi

echo "== single-record ingest (wrk, c=32)" >&2
# NAME: wrk against the server on $PORT, one record per POST; prints req/s, p50 and p99 (ms).
run_wrk() {
  wrk -t2 -c32 -d"${DURATION}s" --latency -s bench/ingest.lua "http://127.0.0.1:$PORT" \
    -- "$1-$(date +%s%N)" "$OUT/models.txt" >"$OUT/wrk-$1.txt"
  awk -v name="$1" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec:/ { printf "%s_requests_per_s %s\n", name, $2 }
    $1 == "50%" { printf "%s_p50_ms %.3f\n", name, ms($2) }
    $1 == "99%" { printf "%s_p99_ms %.3f\n", name, ms($2) }
    /Non-2xx/ { printf "%s_errors %s\n", name, $NF }
    /Socket errors/ { printf "%s_socket_errors %s\n", name, $0 }' "$OUT/wrk-$1.txt" | tee -a "$RES"
}
serve() {  # bare | bare1 | service DB GROUP_COMMIT
  : >"$OUT/serve.log"  # emptied here: the child's own truncation could come after the grep below
  "$B" serve "$1" "$PORT" 64 "${@:2}" >>"$OUT/serve.log" 2>&1 &
  SERVER=$!
  PIDS+=("$SERVER")
  until grep -q ready "$OUT/serve.log"; do
    kill -0 "$SERVER" || { cat "$OUT/serve.log" >&2; return 1; }
    sleep 0.05
  done
  # 3 s of the same load first, not measured: SQLite's cache and the hot rollup pages warm up.
  wrk -t2 -c32 -d3s -s bench/ingest.lua "http://127.0.0.1:$PORT" \
    -- "warmup-$(date +%s%N)" "$OUT/models.txt" >/dev/null
}
# The real binary with its embedded defaults (2048 HTTP threads) on DB, warmed up as serve's are.
serve_real() {
  "$EXPORTER" --storage.path "$1" --web.listen-address "127.0.0.1:$PORT" 2>"$OUT/real.log" &
  SERVER=$!
  PIDS+=("$SERVER")
  wait_ready "http://127.0.0.1:$PORT/-/ready"
  wrk -t2 -c32 -d3s -s bench/ingest.lua "http://127.0.0.1:$PORT" \
    -- "warmup-$(date +%s%N)" "$OUT/models.txt" >/dev/null
}
# The disk's floor: a request acknowledged after a flush waits at least one fdatasync, so c=32
# clients cannot exceed 32 / fdatasync-latency requests/s, whatever the server does.
"$B" fsync "$OUT/fsync.tmp" 500 | collect ""
# Scrapes every 2 s while ingest runs flat out: scrape latency and the ingest p99 under it.
run_scraped() {
  (
    sleep 1
    end=$(($(date +%s) + DURATION - 2))
    while [ "$(date +%s)" -lt "$end" ]; do
      curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$PORT/metrics" >>"$OUT/scrapes.txt"
      sleep 2
    done
  ) &
  SCRAPER=$!
  run_wrk "$1"
  wait "$SCRAPER"
}
# NAME: the service's WAL flushes over 100 ms since it started (warm-up included), from its own
# histogram: a disk stall that long moves a 10 s run's p99 by itself.
flush_stalls() {
  curl -s "http://127.0.0.1:$PORT/metrics" | awk -v name="$1" '
    /^ai_usage_store_flush_duration_seconds_bucket\{le="0.1"\}/ { fast = $2 }
    /^ai_usage_store_flush_duration_seconds_count/ { all = $2 }
    END { printf "%s_flushes_over_100ms %d\n", name, all - fast }' | tee -a "$RES"
}
# The block device under $OUT: its freezes during each service run (requests in flight, none
# completing for >= 100 ms) tell a stalled disk from a slow service.
DISK_STAT="/sys/class/block/$(basename "$(findmnt -n -o SOURCE --target "$OUT" 2>/dev/null)")/stat"
# NAME: runs wrk (scraped when NAME has "scraped") while the device's freezes are counted.
run_watched() {
  local watcher=""
  if [ -r "$DISK_STAT" ]; then
    "$B" freezes "$DISK_STAT" "$DURATION" "$1" >"$OUT/freezes.txt" &
    watcher=$!
  fi
  case "$1" in *scraped*) run_scraped "$1" ;; *) run_wrk "$1" ;; esac
  if [ -n "$watcher" ]; then wait "$watcher" && tee -a "$RES" <"$OUT/freezes.txt"; fi
}
# Five rounds, the baselines, the service (alone, and scraped) and the real binary alternating: a
# baseline's rate alone moved between 20k and 32k req/s from one minute to the next, and a disk
# stall can move any one run's p99. The table reports the median of each figure.
for round in 1 2 3 4 5; do
  serve bare
  run_wrk "bare_$round"
  stop "$SERVER"
  serve bare1
  run_wrk "bare_one_write_$round"
  stop "$SERVER"
  serve service "$OUT/big.db" 1
  run_watched "group_$round"
  flush_stalls "group_$round"
  stop "$SERVER"
  serve service "$OUT/big.db" 1
  run_watched "group_scraped_$round"
  flush_stalls "group_scraped_$round"
  stop "$SERVER"
  serve_real "$OUT/big.db"
  run_wrk "real_$round"
  stop "$SERVER"
done
for name in bare bare_one_write group group_scraped real; do
  for figure in requests_per_s p50_ms p99_ms; do
    awk -v want="^${name}_[0-9]+_${figure}\$" '$1 ~ want { print $2 }' "$RES" | sort -g |
      awk -v key="${name}_${figure}" '{ v[NR] = $1 } END { if (NR) print key, v[int((NR + 1) / 2)] }' |
      tee -a "$RES"
  done
done

sort -n "$OUT/scrapes.txt" | awk '{ v[NR] = $1 * 1000 } END {
  printf "scrape_under_ingest_count %d\nscrape_under_ingest_median_ms %.1f\nscrape_under_ingest_max_ms %.1f\n",
    NR, v[int((NR + 1) / 2)], v[NR] }' | tee -a "$RES"

serve service "$OUT/big.db" 0
run_wrk per_request
stop "$SERVER"

say "suite_seconds $(($(date +%s) - SUITE_START))"
echo "== ratios" >&2
bash bench/ratios.sh "$RES"
