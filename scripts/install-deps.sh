#!/usr/bin/env bash
# Installs every build, test and bench dependency from Debian bookworm, then the npm packages of
# tests/clients (npm ci, when its lock file changed); idempotent, needs root for apt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkgs=(build-essential cmake pkg-config git ca-certificates curl python3 tzdata openssl
  prometheus-cpp-dev libcivetweb-dev libsqlitecpp-dev libsqlite3-dev libtomlplusplus-dev
  libhowardhinnant-date-dev rapidjson-dev libssl-dev catch2 libsimdjson-dev nlohmann-json3-dev
  libabsl-dev prometheus prometheus-alertmanager wrk sqlite3 clang-format
  clang libclang-rt-14-dev systemd libprotobuf-dev protobuf-compiler zlib1g-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs tests/clients; Debian's only where no node is installed (any node ≥ 18 will do).
command -v node >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root: sudo $0" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# tests/clients: exactly the locked npm packages, no install scripts; the stamp holds the
# lock's hash, so this runs again only when the lock file changed or node_modules is gone.
clients=$root/tests/clients
lock_hash=$(sha256sum "$clients/package-lock.json" | cut -d' ' -f1)
stamp=$clients/node_modules/.install-deps-stamp
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
  (cd "$clients" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" >"$stamp"
fi
