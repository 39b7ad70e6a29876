#!/usr/bin/env python3
"""A slow-client flood does not stop legitimate ingest.

200 connections trickle bytes (half of them their headers, half a body after complete headers),
one byte per connection every 0.3 s, reconnecting when the server cuts them. Meanwhile a normal
client ingests 20 batches and scrapes /metrics: every request must succeed within 2 s. The
server runs with its default thread count and timeouts.
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Exporter, base_config, record, write, run  # noqa: E402

FLOOD = 200


def flood(port, stop, stats):
    def connect(i):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setblocking(False)
        if i % 2:  # complete headers, then a body that never finishes
            s.send(b"POST /api/v1/usage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 100000\r\n\r\n")
        stats["connections"] += 1
        return s

    socks = [connect(i) for i in range(FLOOD)]
    stats["ready"].set()
    head = b"POST /api/v1/usage HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 10000
    pos = [0] * FLOOD
    while not stop.is_set():
        for i, s in enumerate(socks):
            byte = head[pos[i] % len(head):pos[i] % len(head) + 1] if i % 2 == 0 else b" "
            try:
                s.send(byte)
                pos[i] += 1
            except BlockingIOError:
                pass
            except OSError:  # cut by the server: come back, as an attacker would
                stats["cut"] += 1
                s.close()
                try:
                    socks[i] = connect(i)
                except OSError:
                    pass
        stop.wait(0.3)
    for s in socks:
        s.close()


def test(exporter, checks, tmp):
    db = os.path.join(tmp, "usage.db")
    ex = Exporter(exporter, write(os.path.join(tmp, "c.toml"), base_config(db)), os.path.join(tmp, "log"))
    stop = threading.Event()
    stats = {"connections": 0, "cut": 0, "ready": threading.Event()}
    t = threading.Thread(target=flood, args=(ex.port, stop, stats))
    t.start()
    try:
        stats["ready"].wait(30)
        time.sleep(1.0)  # the flood holds its connections
        worst, ok = 0.0, 0
        for n in range(20):
            start = time.time()
            try:
                status, body, _ = ex.ingest([record(f"legit-{n}-{i}") for i in range(5)])
                ok += status == 200 and body["accepted"] == 5
            except OSError as e:
                print(f"request {n}: {e}")
            worst = max(worst, time.time() - start)
            time.sleep(0.1)
        status, _, _ = ex.request("GET", "/metrics")
        checks.check(stats["connections"] >= FLOOD, f"{stats['connections']} slow connections opened")
        checks.check(ok == 20, f"{ok} of 20 legitimate batches acknowledged during the flood")
        checks.check(worst < 2.0, f"slowest legitimate request took {worst:.2f} s (limit 2 s)")
        checks.check(status == 200, "/metrics answers during the flood")
    finally:
        stop.set()
        t.join(timeout=30)
        rc = ex.stop()
    checks.check(rc in (0, -9), f"server alive until stopped (rc {rc})")


if __name__ == "__main__":
    sys.exit(run("slow_flood", test))
