#!/usr/bin/env python3
"""kill -9 torture: acknowledged records survive SIGKILL exactly once, and /metrics agrees.

Each cycle starts the exporter on the same SQLite file, lets CLIENTS threads ingest batches
(resending every batch whose response they did not see, and now and then one they did),
kills the server with SIGKILL at a random moment, and then checks with the server down:

  * PRAGMA integrity_check is "ok";
  * every acknowledged (project, id) is in the store exactly once, with the content that was
    sent (ids are keys within a project: some ids are sent in several projects);
  * nothing is in the store that was never sent;

and after the restart: /metrics counters and /api/v1/statistics equal the store's totals.
Loopback only; every loop is bounded. Exit 0 and "torture: N passed, 0 failed" on success.
"""
import argparse
import http.client
import json
import os
import random
import re
import signal
import sqlite3
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Exporter, Failure, base_config, write  # noqa: E402


PROJECTS = ["", "web", "api", "batch"]


def key(r):
    """The idempotency key of a sent record: ids are unique within a project."""
    return (r.get("projectId", ""), r["id"])


def record(rid, rng_seed, project=None):
    rng = random.Random(rng_seed)
    r = {
        "id": rid,
        "userId": f"user-{rng.randrange(5)}",
        "provider": "acme",
        "model": rng.choice(["small", "large-2", "large-3"]),
        "usage": {"promptTokens": rng.randrange(1, 100000), "completionTokens": rng.randrange(0, 50000)},
        "timestamp": int(time.time() * 1000) - rng.randrange(0, 3_600_000),
    }
    if project is None:
        project = rng.choice(PROJECTS)
    if project:
        r["projectId"] = project
    return r


class Ledger:
    """What the clients sent and what the server acknowledged, across cycles."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = {}  # (project, id) -> record
        self.acked = set()
        self.in_doubt = []  # batches whose response was never seen
        self.acked_batches = []
        self.requests = self.ok = self.failed = 0


def client(n, cycle, port, ledger, stop, rng):
    conn = None
    seq = 0
    twins = []  # records reusing a sent id in another project, for this client's next batch
    while not stop.is_set():
        with ledger.lock:
            if ledger.in_doubt:
                batch, resend = ledger.in_doubt.pop(), "in-doubt"
            elif ledger.acked_batches and rng.random() < 0.05:
                batch, resend = rng.choice(ledger.acked_batches), "acked"
            else:
                batch, resend = None, None
        if batch is None:
            batch, twins = twins, []
            for _ in range(rng.randrange(1, 21)):
                rid = f"c{cycle}-{n}-{seq}"
                seq += 1
                batch.append(record(rid, hash(rid)))
                if rng.random() < 0.2:
                    # The same id in another project: a record of its own, in this batch or the next.
                    other = rng.choice([p for p in PROJECTS if p != batch[-1].get("projectId", "")])
                    twin = record(rid, hash(rid + other), other)
                    (batch if rng.random() < 0.5 else twins).append(twin)
            with ledger.lock:
                for r in batch + twins:
                    ledger.sent[key(r)] = r
        body = json.dumps(batch)
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/api/v1/usage", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            text = resp.read()
            status = resp.status
            out = json.loads(text) if status == 200 else None
        except (OSError, http.client.HTTPException, ValueError):
            # No answer, or one cut short by the kill: unanswered, so the batch is resent.
            status, out = None, None
            if conn is not None:
                conn.close()
            conn = None
        if status is not None and status not in (200, 408, 503):
            raise Failure(f"answer {status} to a batch of records that may all be stored: {text[:300]!r}")
        with ledger.lock:
            ledger.requests += 1
            if status != 200:
                ledger.failed += 1
                ledger.in_doubt.append(batch)
        if status != 200:
            time.sleep(0.01)  # the server is down or refusing: retry soon, not in a busy loop
            continue
        with ledger.lock:
            ledger.ok += 1
            ids = [r["id"] for r in out["records"]]
            if ids != [r["id"] for r in batch]:
                raise Failure(f"acknowledged ids {ids[:3]}... differ from the batch sent")
            for r in out["records"]:
                if r["duplicate"] and resend is None:
                    raise Failure(f"a new record {r['id']} was answered as a duplicate: {out}")
            if out["accepted"] + out["duplicates"] != len(batch):
                raise Failure(f"accepted + duplicates != batch size: {out}")
            if resend == "acked" and out["duplicates"] != len(batch):
                raise Failure(f"a resent acknowledged batch was accepted again: {out}")
            ledger.acked.update(key(r) for r in batch)
            if resend != "acked":
                ledger.acked_batches.append(batch)
    if conn is not None:
        conn.close()


def check_store(db_path, ledger):
    """With the server down: integrity, exactly-once, content; returns the store's totals."""
    db = sqlite3.connect(db_path)
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            raise Failure(f"integrity_check: {integrity}")
        rows = db.execute(
            "SELECT id, user_id, project_id, provider, model, prompt_tokens, completion_tokens, cost_nanos "
            "FROM ai_usage").fetchall()
    finally:
        db.close()
    keys = [(r[2], r[0]) for r in rows]
    if len(keys) != len(set(keys)):
        raise Failure(f"{len(keys) - len(set(keys))} (project, id) keys stored more than once")
    stored = set(keys)
    missing = ledger.acked - stored
    if missing:
        raise Failure(f"{len(missing)} acknowledged records lost, e.g. {sorted(missing)[:5]}")
    phantom = stored - ledger.sent.keys()
    if phantom:
        raise Failure(f"{len(phantom)} stored records were never sent, e.g. {sorted(phantom)[:5]}")
    shared = len(keys) - len({rid for _, rid in keys})
    totals = {"count": len(rows), "input": 0, "output": 0, "cost": {}, "shared": shared}
    for rid, user, project, provider, model, prompt, completion, cost in rows:
        sent = ledger.sent[(project, rid)]
        if (user, project, provider, model, prompt, completion) != (
                sent["userId"], sent.get("projectId", ""), sent["provider"], sent["model"],
                sent["usage"]["promptTokens"], sent["usage"]["completionTokens"]):
            raise Failure(f"record {rid} stored with other content")
        totals["input"] += prompt
        totals["output"] += completion
        key = (provider, model, project, user)
        totals["cost"][key] = totals["cost"].get(key, 0) + cost
    return totals


def scrape(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.request("GET", "/api/v1/statistics")
    stats = json.loads(conn.getresponse().read())
    conn.close()
    samples = []
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = re.match(r'^(\w+)(?:\{(.*)\})? (\S+)$', line)
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples, stats


def check_metrics(port, totals):
    samples, stats = scrape(port)

    def total(name, **want):
        return sum(v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in want.items()))

    if total("ai_usage_ingest_records_total", result="accepted") != totals["count"]:
        raise Failure(f"accepted counter {total('ai_usage_ingest_records_total', result='accepted')} "
                      f"!= {totals['count']} stored")
    if total("ai_usage_requests_total") != totals["count"]:
        raise Failure("ai_usage_requests_total != stored records")
    if total("ai_usage_tokens_total", token_type="input") != totals["input"]:
        raise Failure("input tokens in /metrics != store")
    if total("ai_usage_tokens_total", token_type="output") != totals["output"]:
        raise Failure("output tokens in /metrics != store")
    costs = {(l["provider"], l["model"], l["project"], l["user"]): v
             for n, l, v in samples if n == "ai_usage_cost_total"}
    if costs.keys() != totals["cost"].keys():
        raise Failure("cost series in /metrics != store")
    for key, nanos in totals["cost"].items():
        if abs(costs[key] - nanos / 1e9) > 1e-9 * max(1.0, nanos / 1e9):
            raise Failure(f"cost of {key}: /metrics {costs[key]} != store {nanos / 1e9}")
    all_cost = sum(totals["cost"].values())
    if (stats["totalCalls"], stats["totalTokens"], stats["totalCostNanos"]) != (
            totals["count"], totals["input"] + totals["output"], all_cost):
        raise Failure(f"statistics {stats['totalCalls']}/{stats['totalTokens']}/{stats['totalCostNanos']} "
                      f"!= store {totals['count']}/{totals['input'] + totals['output']}/{all_cost}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exporter", required=True)
    p.add_argument("--cycles", type=int, default=10)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--max-load-seconds", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=int(time.time()))
    args = p.parse_args()
    rng = random.Random(args.seed)
    print(f"torture: seed {args.seed}, {args.cycles} cycles, {args.clients} clients", flush=True)
    with tempfile.TemporaryDirectory(prefix="aiusage-torture-") as tmp:
        db_path = os.path.join(tmp, "usage.db")
        config = write(os.path.join(tmp, "torture.toml"),
                       base_config(db_path).replace('listen = "127.0.0.1:0"', 'listen = "127.0.0.1:0"\nthreads = 32'))
        log_path = os.path.join(tmp, "exporter.log")
        ledger = Ledger()
        totals = None
        passed = 0
        try:
            for cycle in range(args.cycles + 1):
                server = Exporter(args.exporter, config, log_path)
                proc, port = server.proc, server.port
                if totals is not None:
                    check_metrics(port, totals)  # the restarted server agrees with the store
                    passed += 1
                if cycle == args.cycles:
                    proc.send_signal(signal.SIGTERM)
                    if proc.wait(timeout=30) != 0:
                        raise Failure(f"exit code {proc.returncode} after SIGTERM")
                    break
                stop = threading.Event()
                errors = []

                def run(n):
                    try:
                        client(n, cycle, port, ledger, stop, random.Random(rng.random()))
                    except Exception as e:  # noqa: BLE001 - reported below
                        errors.append(e)
                        stop.set()

                threads = [threading.Thread(target=run, args=(n,)) for n in range(args.clients)]
                for t in threads:
                    t.start()
                time.sleep(rng.uniform(0.02, args.max_load_seconds))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                stop.set()
                for t in threads:
                    t.join(timeout=30)
                if errors:
                    raise errors[0]
                totals = check_store(db_path, ledger)
                print(f"cycle {cycle + 1}: {totals['count']} stored ({totals['shared']} sharing an id "
                      f"with another project's), {len(ledger.acked)} acknowledged, "
                      f"{len(ledger.in_doubt)} batches in doubt, {ledger.requests} requests "
                      f"({ledger.failed} unanswered: cut by a kill or refused while down)", flush=True)
        except Failure as e:
            print(f"FAIL (seed {args.seed}): {e}", flush=True)
            print(f"torture: {passed} passed, 1 failed")
            return 1
        if len(ledger.acked) == 0 or ledger.failed == 0 or totals["shared"] == 0:
            print("FAIL: the run acknowledged nothing, no kill cut a request or no id was stored in "
                  "two projects; nothing was proven")
            print(f"torture: {passed} passed, 1 failed")
            return 1
    print(f"torture: {passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
