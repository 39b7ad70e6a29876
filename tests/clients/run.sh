#!/usr/bin/env bash
# ctest clients_otel_js: the real-client OTLP test; exit 77 (skipped) only when the npm packages
# are not installed (scripts/install-deps.sh runs `npm ci` here).
set -euo pipefail
bin=$1 src=$2
dir=$src/tests/clients
if [ ! -d "$dir/node_modules" ]; then
  echo "SKIP: $dir/node_modules is absent; scripts/install-deps.sh installs it (npm ci)"
  exit 77
fi
exec node "$dir/otel_js_test.js" "$bin" "$src"
