#!/usr/bin/env bash
# Issue #20's 1M-user figures: the real binary over a store of CARD_USERS (1000000) distinct users
# (one record each, 20 models x 5 projects) with the shipped [metrics] defaults, against the same
# binary with the governor opened wide (max_series = 10M, quota_min_ratio = 0: every series shown).
# Prints startup, RSS, scrape time and size, the statistics answer's size, and checks that the
# governed page's ai_usage_cost_total sums to the store's total to the nano. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BENCH_BUILD:-build-bench}
OUT=bench/out/cardinality
USERS=${CARD_USERS:-1000000}
PORT=${BENCH_PORT:-19478}
mkdir -p "$OUT"
rm -rf "$OUT"/*
# An existing tree (BENCH_BUILD) is used as configured; a new one is a Release tree.
[ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DAIUSAGE_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j2 --target cardinality_bench ai-usage-exporter >/dev/null
EXPORTER=$BUILD/ai-usage-exporter

# Two configurations over the same store: the example config (a user "*" quota, defaults), and
# the same with every series shown (the behaviour before the governor).
sed "s|^include = \[\"pricing.toml\"\]|include = [\"$PWD/config/pricing.toml\"]|" config/example.toml \
  >"$OUT/governed.toml"
{ cat "$OUT/governed.toml"; printf '\n[metrics]\nmax_series = 10000000\nquota_min_ratio = 0.0\n'; } \
  >"$OUT/open.toml"
grep -q '^\[metrics\]' "$OUT/governed.toml" && { echo "cardinality: example.toml gained [metrics]" >&2; exit 1; }

"$BUILD/bench/cardinality_bench" gen "$OUT/users.db" "$USERS"
sync

ms_now() { date +%s%3N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system, in clock ticks
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# NAME CONFIG: startup until /-/ready, idle RSS, three scrapes (time and size), peak RSS, statistics.
run() {
  local t0 pid url=http://127.0.0.1:$PORT
  t0=$(ms_now)
  "$EXPORTER" --config "$2" --storage.path "$OUT/users.db" --web.listen-address "127.0.0.1:$PORT" \
    2>"$OUT/$1.log" &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 30000); do curl -sf -o /dev/null "$url/-/ready" && break; sleep 0.01; done
  echo "$1_startup_ms $(($(ms_now) - t0))"
  echo "$1_startup_cpu_s $(awk -v t="$(cpu_ticks "$pid")" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}')"
  echo "$1_rss_idle_mb $(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")"
  for i in 1 2 3; do  # wall time, and the process's CPU time (what a loaded machine hides)
    local c0 wall
    c0=$(cpu_ticks "$pid")
    wall=$(curl -sf -o "$OUT/$1.metrics.txt" -w '%{time_total}' "$url/metrics")
    echo "$1_scrape_s_$i $wall"
    echo "$1_scrape_cpu_s_$i $(awk -v t="$(($(cpu_ticks "$pid") - c0))" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}')"
  done
  echo "$1_page_mb $(awk -v b="$(stat -c %s "$OUT/$1.metrics.txt")" 'BEGIN {printf "%.2f", b / 1048576}')"
  echo "$1_page_lines $(wc -l <"$OUT/$1.metrics.txt")"
  echo "$1_rss_peak_mb $(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")"
  curl -sf -o "$OUT/$1.stats.json" "$url/api/v1/statistics"
  echo "$1_statistics_kb $(($(stat -c %s "$OUT/$1.stats.json") / 1024))"
  kill "$pid" && wait "$pid" 2>/dev/null || true
}
run governed "$OUT/governed.toml"
run open "$OUT/open.toml"

# Exactness: every sum over the governed page equals the store's total, to the nano.
python3 - "$OUT/governed.metrics.txt" "$OUT/governed.stats.json" <<'PY'
import json, sys
from decimal import Decimal
page = sum(Decimal(l.rsplit(" ", 1)[1]) for l in open(sys.argv[1]) if l.startswith("ai_usage_cost_total{"))
store = Decimal(json.load(open(sys.argv[2]))["totalCostNanos"]) / Decimal(10**9)
folded = [l.strip() for l in open(sys.argv[1]) if l.startswith("ai_usage_metrics_folded_series{")]
print("governed_cost_sum", page, "store_total", store, "exact", page == store)
print("\n".join(folded))
sys.exit(0 if page == store else 1)
PY
