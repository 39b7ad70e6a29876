# Shared by the shell tests: start the exporter on a free loopback port and stop it.
# start_exporter BIN CONFIG DIR  → sets EXPORTER_PID, PORT, LOG
start_exporter() {
  local bin=$1 config=$2 dir=$3
  LOG=$dir/exporter.log
  : >"$LOG"  # before the reads below: the child opens it only once it runs
  "$bin" --config "$config" --web.listen-address 127.0.0.1:0 --storage.path "$dir/usage.db" 2>"$LOG" &
  EXPORTER_PID=$!
  for _ in $(seq 1 600); do  # 30 s: only a hung startup reaches it
    PORT=$(sed -n 's/.*msg=listening .*port=\([0-9]*\).*/\1/p' "$LOG" | head -1)
    [ -n "$PORT" ] && return 0
    kill -0 "$EXPORTER_PID" 2>/dev/null || { cat "$LOG" >&2; return 1; }
    sleep 0.05
  done
  echo "exporter did not start" >&2
  cat "$LOG" >&2
  return 1
}

stop_exporter() {
  [ -n "${EXPORTER_PID:-}" ] && kill "$EXPORTER_PID" 2>/dev/null && wait "$EXPORTER_PID" 2>/dev/null
  EXPORTER_PID=
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
