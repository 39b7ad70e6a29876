#!/usr/bin/env bash
# The binary's command line: help, version, bad flags, bad config, clean stop on SIGTERM.
set -euo pipefail
bin=$1 src=$2
. "$src/tests/lib.sh"
dir=$(mktemp -d)
trap 'stop_exporter; rm -rf "$dir"' EXIT

"$bin" --help | grep -q -- "--web.listen-address" || fail "--help lacks the flags"
"$bin" --version | grep -q "^ai-usage-exporter 0\." || fail "--version"
set +e
"$bin" --bogus 2>"$dir/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "unknown flag exit code $rc"
grep -q 'unknown argument "--bogus"' "$dir/err" || fail "unknown flag message: $(cat "$dir/err")"

printf '[billing]\ntimezone = "Mars/Olympus"\n' >"$dir/bad.toml"
set +e
"$bin" --config "$dir/bad.toml" 2>"$dir/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "bad config exit code $rc"
grep -q "bad.toml:2:12: billing.timezone: unknown time zone" "$dir/err" || fail "bad config message: $(cat "$dir/err")"

# price: the entry that applies, its source and its prices per class; 1 when none does.
out=$("$bin" price --config "$src/config/example.toml" --prompt-tokens 300000 openai gpt-5.4-2026-03-05)
grep -q '^openai/gpt-5.4-2026-03-05: entry openai/gpt-5.4 (.*pricing.toml:[0-9]*:[0-9]*)$' <<<"$out" || fail "price entry: $out"
grep -q '^long-context tier: above 272000 prompt tokens$' <<<"$out" || fail "price tier: $out"
grep -Eq '^  input +5$' <<<"$out" || fail "price input: $out"
grep -Eq '^  reasoning +22.5$' <<<"$out" || fail "price reasoning: $out"
# Other tools' names: a Bedrock id priced at the vendor's entry; a batch record at its tier's.
out=$("$bin" price --config "$src/config/example.toml" bedrock us.anthropic.claude-sonnet-4-5-20250929-v1:0)
grep -q '^bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0: entry anthropic/claude-sonnet-4-5 (' <<<"$out" || fail "price bedrock: $out"
out=$("$bin" price --config "$src/config/example.toml" --service-tier batch anthropic claude-sonnet-4-5)
grep -qx 'service tier: batch' <<<"$out" || fail "price batch tier: $out"
grep -Eq '^  input +1.5$' <<<"$out" || fail "price batch input: $out"
set +e
"$bin" price --config "$src/config/example.toml" openai gpt-5.4-pro >/dev/null 2>"$dir/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "price of an unknown model: exit code $rc"
grep -qx 'no price for openai/gpt-5.4-pro' "$dir/err" || fail "price message: $(cat "$dir/err")"
set +e
"$bin" price openai 2>"$dir/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "price without a model: exit code $rc"
grep -q 'expected PROVIDER and MODEL' "$dir/err" || fail "price usage: $(cat "$dir/err")"

start_exporter "$bin" "$src/config/example.toml" "$dir"
curl -sf "http://127.0.0.1:$PORT/-/healthy" >/dev/null || fail "healthy"
curl -sf -XPOST "http://127.0.0.1:$PORT/api/v1/usage" -H 'Content-Type: application/json' \
  -d '{"id":"k1","userId":"u","provider":"openai","model":"gpt-4o","usage":{"promptTokens":1,"completionTokens":1}}' >/dev/null
kill -TERM "$EXPORTER_PID"
wait "$EXPORTER_PID" || fail "exit code after SIGTERM: $?"
EXPORTER_PID=
grep -q 'msg="shutting down" signal=SIGTERM' "$LOG" || fail "no shutdown line: $(cat "$LOG")"
grep -q 'msg=stopped' "$LOG" || fail "no stopped line"
[ "$(sqlite3 "$dir/usage.db" "select count(*) from ai_usage where id='k1'")" = 1 ] || fail "record not stored"
echo "cli: 9 passed, 0 failed"
