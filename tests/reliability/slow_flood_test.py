#!/usr/bin/env python3
"""1,000 slow or idle connections from one host do not stop legitimate ingest.

An attacker process holds 1,000 connections in four kinds (idle after connect, request headers
at one byte a second, a body at one byte a second after complete headers, idle on a kept-alive
connection after one request) and opens a new one whenever the server cuts one. Meanwhile a
client posts one record per request, each on a new connection, for 20 s: the 99th percentile of
their latency must stay under 1 s and every record must be stored. The server runs with its
default settings, started with the open-file soft limit at 1024 (systemd's default), which it
must raise itself.
"""
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Exporter, base_config, record, stored_ids, write, run  # noqa: E402

ATTACKERS = 1000
LEGIT_SECONDS = 20.0
RAMP_SECONDS = 20.0  # at most this long for the flood to reach the server
SOFT_NOFILE = 1024

KINDS = ("idle", "header", "body", "keepalive")
HEADER = (b"POST /api/v1/usage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + b"X-Slow: " + b"a" * 100000)
BODY_HEAD = (b"POST /api/v1/usage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             b"Content-Length: 100000\r\n\r\n")
KEEPALIVE_REQUEST = b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"


class Slow:
    """One attacker connection; `kind` says what it sends."""

    def __init__(self, port, kind, phase):
        self.kind, self.phase, self.sent = kind, phase, 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.connect_ex(("127.0.0.1", port))
        self.connected = False

    def start(self):
        self.connected = True
        if self.kind == "body":
            self.sock.send(BODY_HEAD)
        elif self.kind == "keepalive":
            self.sock.send(KEEPALIVE_REQUEST)

    def trickle(self):
        """One byte, for the kinds that trickle."""
        if self.kind == "header":
            self.sock.send(HEADER[self.sent % len(HEADER):][:1])
        elif self.kind == "body":
            self.sock.send(b" ")
        self.sent += 1


def attack(port, seconds):
    """Holds ATTACKERS connections for `seconds` or until SIGTERM; prints its counts as JSON."""
    stopped = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(True))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = ATTACKERS + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    conns = [Slow(port, KINDS[i % len(KINDS)], i % 10) for i in range(ATTACKERS)]
    stats = {"opened": ATTACKERS, "cut": 0, "max_established": 0}
    end, tick = time.time() + seconds, 0
    while time.time() < end and not stopped:
        poller = select.poll()
        by_fd = {}
        for c in conns:
            by_fd[c.sock.fileno()] = c
            poller.register(c.sock, select.POLLIN | (0 if c.connected else select.POLLOUT))
        cut = set()
        for fd, ev in poller.poll(100):
            c = by_fd[fd]
            try:
                if ev & (select.POLLERR | select.POLLHUP):
                    cut.add(fd)
                elif not c.connected and ev & select.POLLOUT:
                    c.start()
                elif ev & select.POLLIN and not c.sock.recv(65536):
                    cut.add(fd)  # the server closed it (an answer before the close is read above)
            except OSError:
                cut.add(fd)
        tick += 1
        for c in conns:
            if c.connected and tick % 10 == c.phase and c.sock.fileno() not in cut:
                try:
                    c.trickle()
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    cut.add(c.sock.fileno())
        for i, c in enumerate(conns):
            if c.sock.fileno() in cut:  # come back at once, as an attacker would
                c.sock.close()
                conns[i] = Slow(port, c.kind, c.phase)
                stats["cut"] += 1
                stats["opened"] += 1
        stats["max_established"] = max(stats["max_established"], sum(c.connected for c in conns))
    for c in conns:
        c.sock.close()
    print(json.dumps(stats), flush=True)


def server_sockets(pid):
    """How many sockets the server process holds open."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


def open_file_limits(pid):
    """The process's (soft, hard) open-file limits."""
    for line in open(f"/proc/{pid}/limits"):
        if line.startswith("Max open files"):
            return tuple(int(v) for v in line.split()[3:5])


def soft_nofile():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(SOFT_NOFILE, hard), hard))


def test(exporter, checks, tmp):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < ATTACKERS + 256:
        checks.check(False, f"hard open-file limit {hard} leaves no room for {ATTACKERS} connections")
        return
    db = os.path.join(tmp, "usage.db")
    ex = Exporter(exporter, write(os.path.join(tmp, "c.toml"), base_config(db)), os.path.join(tmp, "log"),
                  preexec_fn=soft_nofile)
    flood = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--attack", str(ex.port),
                              str(RAMP_SECONDS + LEGIT_SECONDS + 5)],
                             stdout=subprocess.PIPE, text=True)
    try:
        limits = open_file_limits(ex.proc.pid)
        held, deadline = 0, time.time() + RAMP_SECONDS
        while time.time() < deadline and held < ATTACKERS:
            time.sleep(0.5)
            held = max(held, server_sockets(ex.proc.pid))
        latencies, acknowledged, failures, n = [], [], [], 0
        end = time.time() + LEGIT_SECONDS
        while time.time() < end:
            rid = f"legit-{n}"
            n += 1
            start = time.time()
            try:
                status, body, _ = ex.ingest([record(rid)])
                if status == 200 and body["accepted"] == 1:
                    acknowledged.append(rid)
                else:
                    failures.append(f"{rid}: {status} {body}")
            except OSError as e:
                failures.append(f"{rid}: {e}")
            latencies.append(time.time() - start)
            held = max(held, server_sockets(ex.proc.pid)) if n % 20 == 0 else held
        try:
            status, _, _ = ex.request("GET", "/metrics")
        except OSError as e:
            status = str(e)
        proc = dict(line.split(":", 1) for line in open(f"/proc/{ex.proc.pid}/status"))
    finally:
        flood.terminate()
        out, _ = flood.communicate(timeout=30)
        rc = ex.stop()
    lines = out.strip().splitlines()
    stats = json.loads(lines[-1]) if lines else {"opened": 0, "cut": 0, "max_established": 0}
    latencies.sort()
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    print(f"flood: {stats}; server held up to {held} sockets; peak RSS {proc['VmHWM'].strip()}, "
          f"{proc['Threads'].strip()} threads; {len(latencies)} "
          f"requests, p50 {latencies[len(latencies) // 2]:.3f} s, p99 {p99:.3f} s, max {latencies[-1]:.3f} s")
    for f in failures[:5]:
        print(f"failed: {f}")
    checks.check(limits == (hard, hard), f"the server raised its open-file limit from {SOFT_NOFILE} "
                 f"to {limits[0]} (hard limit {hard})")
    # The server's sockets: the flood's and its listener.
    checks.check(stats["max_established"] == ATTACKERS and held > ATTACKERS,
                 f"{stats['max_established']} slow connections at once; the server held up to {held} sockets")
    checks.check(stats["cut"] > 0, f"the server cut {stats['cut']} slow connections, each came back")
    checks.check(len(latencies) >= 100, f"{len(latencies)} legitimate requests in {LEGIT_SECONDS:.0f} s")
    checks.check(not failures, f"{len(acknowledged)} of {n} legitimate records acknowledged")
    checks.check(p99 < 1.0, f"legitimate ingest p99 {p99:.3f} s during the flood (limit 1 s)")
    checks.check(status == 200, f"/metrics answers during the flood ({status})")
    checks.check(rc in (0, -9), f"server alive until stopped (rc {rc})")
    stored = set(stored_ids(db))
    checks.check(all(r in stored for r in acknowledged), "every acknowledged record is stored")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--attack":
        attack(int(sys.argv[2]), float(sys.argv[3]))
        sys.exit(0)
    sys.exit(run("slow_flood", test))
