#!/usr/bin/env python3
"""SIGTERM under load: in-flight requests finish, new ones get 503, nothing acknowledged is lost.

Clients ingest continuously; one client is in the middle of sending its body when SIGTERM
arrives and finishes it afterwards: it must get its 200. The exporter must exit 0, and every
id acknowledged by a 200 (before or during the drain) must be in the store.
"""
import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Exporter, base_config, record, stored_ids, write, run  # noqa: E402


def test(exporter, checks, tmp):
    db = os.path.join(tmp, "usage.db")
    cfg = write(os.path.join(tmp, "c.toml"),
                base_config(db).replace('listen = "127.0.0.1:0"', 'listen = "127.0.0.1:0"\ndrain_timeout = "10s"'))
    ex = Exporter(exporter, cfg, os.path.join(tmp, "log"))
    acked, lock, stop = set(), threading.Lock(), threading.Event()
    statuses = {}

    def client(n):
        seq = 0
        while not stop.is_set():
            batch = [record(f"c{n}-{seq + i}") for i in range(5)]
            seq += 5
            try:
                status, body, _ = ex.ingest(batch)
            except OSError:
                status = "refused"
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    acked.update(r["id"] for r in body["records"])
            if status != 200:
                time.sleep(0.02)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    slow_body = json.dumps([record("slow-1"), record("slow-2")]).encode()
    slow = ex.raw_socket()
    slow.sendall(b"POST /api/v1/usage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(slow_body) + slow_body[:20])
    time.sleep(1.0)
    ex.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)  # the drain is under way: the slow request is in flight
    slow.sendall(slow_body[20:])
    reply = b""
    while True:
        chunk = slow.recv(65536)
        if not chunk:
            break
        reply += chunk
    rc = ex.proc.wait(timeout=30)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    log = ex.log_text()
    checks.check(rc == 0, f"exit code 0 after SIGTERM (got {rc})")
    checks.check(reply.startswith(b"HTTP/1.1 200"), f"the request in flight at SIGTERM got 200: {reply[:60]!r}")
    checks.check(statuses.get(200, 0) > 0, f"clients were acknowledged before the signal: {statuses}")
    checks.check(statuses.get(503, 0) + statuses.get("refused", 0) > 0,
                 "requests after SIGTERM were refused (503 while draining, then no listener)")
    checks.check('msg="shutting down" signal=SIGTERM' in log and "msg=stopped" in log, "shutdown logged")
    ids = stored_ids(db)
    checks.check(len(ids) == len(set(ids)), "no id stored twice")
    missing = acked - set(ids)
    checks.check(not missing, f"all {len(acked)} acknowledged ids stored ({len(missing)} missing)")
    checks.check({"slow-1", "slow-2"} <= set(ids), "the in-flight request's records are stored")


if __name__ == "__main__":
    sys.exit(run("shutdown", test))
