#!/usr/bin/env python3
"""Signals during startup: SIGHUP, SIGTERM and SIGINT are blocked by the binary's first code (a
.preinit_array entry, before any library initialiser and main), so one sent while it starts never
kills it: SIGHUP becomes a reload once it serves, SIGTERM and SIGINT a clean exit (code 0) once it
is up.

Two loops, each signal sent 0 to 50 ms into the window:
- during a library initialiser made slow by an LD_PRELOAD shim (--slow-init-lib; its constructor
  creates a marker file, then sleeps 100 ms): the stand-in for a loaded machine, where the time
  before main is long; with the signals blocked only in main, each of these killed the process;
- after the process's code has started (its blocked-signal mask is set, /proc/PID/status), while it
  loads the configuration and opens the store.
What no program code can cover is the dynamic loader's own time before that first code runs
(docs/reliability.md, "Signals during startup").
"""
import argparse
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Checks, base_config, write  # noqa: E402

BLOCKED = (1 << (signal.SIGHUP - 1)) | (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
DELAYS_MS = [0, 2, 5, 10, 20, 35, 50]


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.0005)
    return False


def signals_blocked(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            blk = re.search(r"^SigBlk:\s*([0-9a-f]+)", f.read(), re.M)
        return blk is not None and int(blk.group(1), 16) & BLOCKED == BLOCKED
    except OSError:
        return False


class Start:
    """The binary starting with its stderr in a log; `env` adds to the environment."""

    def __init__(self, exporter, config, log_path, env=None):
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen([exporter, "--config", config], stdout=subprocess.DEVNULL,
                                         stderr=log, env={**os.environ, **(env or {})})

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def port(self):
        m = re.search(r"msg=listening .*port=(\d+)", self.log())
        return int(m.group(1)) if m else None

    def healthy(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port(), timeout=10)
        try:
            conn.request("GET", "/-/healthy")
            return conn.getresponse().status == 200
        finally:
            conn.close()

    def exit_code(self, seconds=30):
        try:
            return self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def one(exporter, checks, tmp, n, sig, delay_ms, window, slow_lib):
    config = write(os.path.join(tmp, f"c{n}.toml"), base_config(os.path.join(tmp, f"u{n}.db")))
    marker = os.path.join(tmp, f"marker{n}")
    env = {"LD_PRELOAD": slow_lib, "AIUSAGE_SLOW_INIT_MARKER": marker} if window == "slow init" else {}
    s = Start(exporter, config, os.path.join(tmp, f"log{n}"), env)
    started = (lambda: os.path.exists(marker)) if window == "slow init" else (lambda: signals_blocked(s.proc.pid))
    what = f"{signal.Signals(sig).name} {delay_ms} ms into {window}"
    if not wait_for(started, 20):
        checks.check(False, f"{what}: the window opened")
        s.proc.kill()
        s.proc.wait()
        return
    time.sleep(delay_ms / 1000)
    s.proc.send_signal(sig)
    if sig == signal.SIGHUP:
        up = wait_for(lambda: s.proc.poll() is not None or s.port() is not None, 20) and s.proc.poll() is None
        reloaded = up and wait_for(lambda: 'msg="configuration reloaded" trigger=SIGHUP' in s.log(), 10)
        checks.check(up and s.healthy() and reloaded,
                     f"{what}: still running, serves, the reload applied once up (rc {s.proc.poll()})")
        s.proc.send_signal(signal.SIGTERM)
    rc = s.exit_code()
    checks.check(rc == 0, f"{what}: exit code {rc}")
    if sig != signal.SIGHUP:
        checks.check(f"signal={signal.Signals(sig).name}" in s.log() and "msg=stopped" in s.log(),
                     f"{what}: started, then stopped cleanly")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exporter", required=True)
    p.add_argument("--slow-init-lib", required=True)
    args = p.parse_args()
    checks = Checks("startup_signal")
    with tempfile.TemporaryDirectory(prefix="aiusage-startup-signal-") as tmp:
        n = 0
        for window in ("slow init", "startup"):
            for i, delay in enumerate(DELAYS_MS):
                for sig in (signal.SIGHUP, signal.SIGTERM if i % 2 == 0 else signal.SIGINT):
                    one(args.exporter, checks, tmp, n, sig, delay, window, args.slow_init_lib)
                    n += 1
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
