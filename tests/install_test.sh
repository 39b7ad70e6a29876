#!/usr/bin/env bash
# `cmake --install` puts the binary and the TLS shim it loads side by side, and the installed
# binary runs.
set -euo pipefail
cmake=$1 build=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
"$cmake" --install "$build" --prefix "$prefix" >/dev/null
for f in ai-usage-exporter libaiusage-tls-compat.so; do
  [ -f "$prefix/bin/$f" ] || { echo "FAIL: bin/$f not installed:" >&2; find "$prefix" >&2; exit 1; }
done
"$prefix/bin/ai-usage-exporter" --version | grep -q "^ai-usage-exporter 0\." ||
  { echo "FAIL: the installed binary does not run" >&2; exit 1; }
