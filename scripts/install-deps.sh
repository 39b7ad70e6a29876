#!/usr/bin/env bash
# Installs every build, test and bench dependency from Debian bookworm; idempotent, needs root.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git ca-certificates curl python3 tzdata openssl
  prometheus-cpp-dev libcivetweb-dev libsqlitecpp-dev libsqlite3-dev libtomlplusplus-dev
  libhowardhinnant-date-dev rapidjson-dev libssl-dev catch2 libsimdjson-dev nlohmann-json3-dev
  libabsl-dev prometheus prometheus-alertmanager wrk sqlite3 clang-format
  clang libclang-rt-14-dev systemd libprotobuf-dev protobuf-compiler zlib1g-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root: sudo $0" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
