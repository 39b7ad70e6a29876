#!/usr/bin/env bash
# The real binary's /metrics, after real ingest, passes `promtool check metrics` with no output.
set -euo pipefail
bin=$1 src=$2
. "$src/tests/lib.sh"
dir=$(mktemp -d)
trap 'stop_exporter; rm -rf "$dir"' EXIT
start_exporter "$bin" "$src/config/example.toml" "$dir"
curl -sf -XPOST "http://127.0.0.1:$PORT/api/v1/usage" -H 'Content-Type: application/json' -d '[
 {"userId":"alice","projectId":"web","provider":"anthropic","model":"claude-3-5-sonnet-20241022","usage":{"promptTokens":1000,"completionTokens":500,"cacheReadTokens":200}},
 {"userId":"bob","provider":"openai","model":"gpt-4o","usage":{"promptTokens":10,"completionTokens":5},"cached":true},
 {"userId":"b\"o\\b","provider":"acme","model":"unknown","usage":{"promptTokens":1,"completionTokens":1}}]' >/dev/null
curl -s -XPOST "http://127.0.0.1:$PORT/api/v1/usage" -H 'Content-Type: application/json' -d '{' >/dev/null
curl -sf "http://127.0.0.1:$PORT/metrics" >"$dir/metrics.txt"
grep -q '^ai_usage_requests_total{' "$dir/metrics.txt" || fail "no usage series in /metrics"
out=$(promtool check metrics <"$dir/metrics.txt" 2>&1) || fail "promtool check metrics failed: $out"
[ -z "$out" ] || fail "promtool check metrics printed: $out"
echo "promtool check metrics: clean ($(grep -vc '^#' "$dir/metrics.txt") samples)"
