#!/usr/bin/env bash
# config/ai-usage-exporter.service: systemd-analyze verify passes (with ExecStart pointed at the
# built binary), the offline security exposure stays at most 2.0, and the hardening is in place.
set -euo pipefail
bin=$1 src=$2
. "$src/tests/lib.sh"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
unit=$dir/ai-usage-exporter.service
sed "s|/usr/local/bin/ai-usage-exporter|$bin|" "$src/config/ai-usage-exporter.service" >"$unit"
out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify printed: $out"
score=$(systemd-analyze security --offline=yes "$unit" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "no exposure score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure $score > 2.0"
n=0
for d in DynamicUser=yes ProtectSystem=strict StateDirectory=ai-usage-exporter NoNewPrivileges=yes \
  'ExecReload=/bin/kill -HUP $MAINPID' KillSignal=SIGTERM; do
  grep -qxF "$d" "$src/config/ai-usage-exporter.service" || fail "missing $d"
  n=$((n + 1))
done
echo "systemd: $((n + 2)) passed, 0 failed (exposure $score)"
