#!/usr/bin/env python3
"""Disk full: 503 with nothing stored, nothing acknowledged that is not committed, and recovery
without a restart once space is freed; also when the service (re)starts on the full disk.

The database lives on a 2 MiB tmpfs this test mounts (root only: elsewhere it prints
"skipped: not root" and exits 0). A filler file takes the free space; ingest must answer 503
with Retry-After and store nothing of those batches; counts in the store, the statistics and
/metrics must equal what was acknowledged; after the filler is deleted the same batches are
resent and acknowledged, and PRAGMA integrity_check is ok. The same for OTLP exports (POST
/v1/traces, protobuf and JSON): 503 with Retry-After and a google.rpc.Status (code 14 UNAVAILABLE)
in the request's encoding, none of their spans stored, and stored when re-sent after the disk
has room.

Restart on a full disk, after a clean stop (no -wal, no -shm left: SQLite cannot create its
index), after kill -9 (records only in the WAL) and with no database at all: the service starts;
/-/healthy is 200, /-/ready 503 with a JSON reason, ai_usage_storage_degraded 1, ingest 503 with
Retry-After; reads, quota, alerts, cache-hit rate and /metrics equal what was acknowledged
(without a database they are 503 and /metrics has no usage families). Once the filler is deleted
it becomes ready without a restart, ingest works, and the store holds exactly what was
acknowledged.
"""
import argparse
import errno
import hashlib
import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Checks, Exporter, accepted_metric, base_config, gauge, record, write  # noqa: E402


def fill(path):
    """Writes until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 512, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)


def batch(tag, n):
    return [record(f"{tag}-{i}", user="u" * 200, project="p" * 200) for i in range(n)]


def _varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def _field(number, payload):
    """A length-delimited protobuf field (field numbers: src/otlp/otlp_trace.proto)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _kv(key, value):
    any_value = _field(1, value.encode()) if isinstance(value, str) else _varint(3 << 3) + _varint(value)
    return _field(1, key.encode()) + _field(2, any_value)


def otlp_export(tag, n, encoding):
    """An ExportTraceServiceRequest of `n` GenAI spans, each the record batch() would send (user,
    project, acme/m, 100 + 50 tokens); ids derived from `tag`, so a re-send has the same ids.
    Returns (body, Content-Type)."""
    end_ns = time.time_ns()
    attrs = [("gen_ai.provider.name", "acme"), ("gen_ai.request.model", "m"),
             ("gen_ai.usage.input_tokens", 100), ("gen_ai.usage.output_tokens", 50), ("user.id", "u" * 200)]
    ids = [hashlib.sha256(f"{tag}-{i}".encode()).digest() for i in range(n)]
    if encoding == "json":
        def value(v):
            return {"stringValue": v} if isinstance(v, str) else {"intValue": str(v)}
        spans = [{"traceId": d[:16].hex(), "spanId": d[16:24].hex(), "name": "chat",
                  "endTimeUnixNano": str(end_ns),
                  "attributes": [{"key": k, "value": value(v)} for k, v in attrs]} for d in ids]
        body = {"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "p" * 200}}]},
            "scopeSpans": [{"spans": spans}]}]}
        return json.dumps(body), "application/json"
    spans = b"".join(_field(2, _field(1, d[:16]) + _field(2, d[16:24]) + _field(5, b"chat") +
                               _varint(8 << 3 | 1) + struct.pack("<Q", end_ns) +
                               b"".join(_field(9, _kv(k, v)) for k, v in attrs)) for d in ids)
    resource = _field(1, _field(1, _kv("service.name", "p" * 200)))
    return _field(1, resource + _field(2, spans)), "application/x-protobuf"


def export(ex, tag, n, encoding):
    body, kind = otlp_export(tag, n, encoding)
    return ex.request("POST", "/v1/traces", body, {"Content-Type": kind})


def otlp_refused(checks, what, encoding, status, body, resp):
    """Checks the answer to an export refused because storage failed."""
    if encoding == "json":
        unavailable = isinstance(body, dict) and body.get("code") == 14 and \
            body.get("message", "").startswith("storage unavailable, nothing was stored: ")
    else:  # google.rpc.Status: code = 14 is field 1, varint; then the message
        unavailable = isinstance(body, str) and body.startswith("\x08\x0e\x12") and \
            "storage unavailable, nothing was stored: " in body
    checks.check(status == 503 and unavailable and resp.getheader("Retry-After") == "1"
                 and resp.getheader("Content-Type") == ("application/json" if encoding == "json"
                                                        else "application/x-protobuf"),
                 f"{what}: OTLP {encoding} export 503 with Retry-After and google.rpc.Status 14 "
                 f"({status}, {body!r:.200})")


def otlp_stored(status, body, encoding):
    """Whether an OTLP answer says every span was stored (an empty ExportTraceServiceResponse)."""
    return status == 200 and body == ({} if encoding == "json" else "")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exporter", required=True)
    args = p.parse_args()
    if os.geteuid() != 0:
        print("skipped: not root (mounting a size-limited tmpfs needs root)")
        return 0
    checks = Checks("disk_full")
    with tempfile.TemporaryDirectory(prefix="aiusage-diskfull-") as tmp:
        mnt = os.path.join(tmp, "mnt")
        os.mkdir(mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt], check=True)
        try:
            acked = while_running(args.exporter, checks, tmp, mnt)
            for stop in ("SIGTERM", "SIGKILL"):
                acked = restart_on_full_disk(args.exporter, checks, tmp, mnt, acked, stop)
            for name in os.listdir(mnt):
                os.unlink(os.path.join(mnt, name))
            restart_on_full_disk(args.exporter, checks, tmp, mnt, 0, "no database")
        finally:
            subprocess.run(["umount", mnt], check=False)
    return checks.finish()


def while_running(exporter, checks, tmp, mnt):
    """The disk fills while the service runs; returns the records acknowledged."""
    ex = None
    try:
        db = os.path.join(mnt, "usage.db")
        ex = Exporter(exporter, write(os.path.join(tmp, "c.toml"), base_config(db)), os.path.join(tmp, "log"))
        acked = 0
        status, body, _ = ex.ingest(batch("before", 20))
        checks.check(status == 200, f"ingest works before the disk fills ({status})")
        acked += body["accepted"] if status == 200 else 0
        filler = os.path.join(mnt, "filler")
        fill(filler)
        refused, answers = [], []
        for n in range(40):
            if len(refused) == 5:
                break
            b = batch(f"full{n}", 50)
            status, body, resp = ex.ingest(b)
            answers.append(status)
            if status == 200:
                acked += body["accepted"]
            else:
                refused.append(b)
                if status == 503 and len(refused) == 1:
                    checks.check(body["error"].startswith("storage unavailable, nothing was stored: "),
                                 f"503 body names the cause: {body['error']}")
                    checks.check(resp.getheader("Retry-After") == "1", "503 carries Retry-After")
        checks.check(all(s in (200, 503) for s in answers), f"only 200 or 503 while full: {set(answers)}")
        checks.check(len(refused) == 5, f"{len(refused)} of {len(answers)} batches refused while the disk is full")
        refused_exports = []
        for encoding in ("protobuf", "json"):
            for n in range(10):
                status, body, resp = export(ex, f"otlp-full-{encoding}{n}", 50, encoding)
                if otlp_stored(status, body, encoding):
                    acked += 50
                    continue
                otlp_refused(checks, "while the disk is full", encoding, status, body, resp)
                refused_exports.append((f"otlp-full-{encoding}{n}", encoding))
                break
        checks.check(len(refused_exports) == 2, f"an export of each encoding refused ({refused_exports})")
        _, stats, _ = ex.request("GET", "/api/v1/statistics")
        checks.check(stats["totalCalls"] == acked, f"statistics count {stats['totalCalls']} == acknowledged {acked}")
        checks.check(accepted_metric(ex) == acked, "/metrics accepted == acknowledged")
        os.unlink(filler)
        ok = 0
        for b in refused:
            status, body, _ = ex.ingest(b)
            if status == 200 and body["accepted"] == len(b):
                ok += 1
                acked += body["accepted"]
            else:
                print(f"retry answered {status}: {body}")
        checks.check(ok == len(refused), f"after freeing space, {ok} of {len(refused)} refused batches accepted "
                                         "on retry, without a restart")
        for tag, encoding in refused_exports:
            status, body, _ = export(ex, tag, 50, encoding)
            stored = otlp_stored(status, body, encoding)
            checks.check(stored, f"after freeing space, the refused OTLP {encoding} export is stored ({status})")
            acked += 50 if stored else 0
        checks.check(accepted_metric(ex) == acked, "/metrics accepted == acknowledged after recovery")
        checks.check(ex.stop(signal.SIGTERM) == 0, "clean exit")
        check_store(checks, db, acked, "")
        return acked
    finally:
        if ex is not None:
            ex.stop()


def check_store(checks, db, acked, what):
    """integrity_check is ok and the store holds exactly `acked` records."""
    conn = sqlite3.connect(db)
    try:
        checks.check(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f"{what}integrity_check ok")
        count = conn.execute("SELECT count(*) FROM ai_usage").fetchone()[0]
    finally:
        conn.close()
    checks.check(count == acked, f"{what}the store holds exactly the acknowledged records ({count} == {acked})")


def reads_match(ex, checks, acked, what):
    """Statistics, quota, alerts, cache-hit rate and /metrics agree with `acked` records."""
    status, stats, _ = ex.request("GET", "/api/v1/statistics")
    checks.check(status == 200 and stats["totalCalls"] == acked, f"{what}: statistics count {acked} ({status})")
    status, quota, _ = ex.request("GET", "/api/v1/quota?userId=" + "u" * 200)
    checks.check(status == 200 and quota["usage"]["tokens"] == 150 * acked,
                 f"{what}: quota counts {acked} records ({status})")
    status, _, _ = ex.request("GET", "/api/v1/alerts")
    checks.check(status == 200, f"{what}: alerts answer ({status})")
    status, rate, _ = ex.request("GET", "/api/v1/cache-hit-rate")
    checks.check(status == 200 and rate["total"] == acked, f"{what}: cache-hit rate counts {acked} ({status})")
    checks.check(accepted_metric(ex) == acked, f"{what}: /metrics accepted == {acked}")


def restart_on_full_disk(exporter, checks, tmp, mnt, acked, stop):
    """Ingest, fill the disk, stop (`stop`), start again on the full disk; then free it."""
    db = os.path.join(mnt, "usage.db")
    config = write(os.path.join(tmp, "c.toml"), base_config(db))
    log = os.path.join(tmp, "log")
    filler = os.path.join(mnt, "filler")
    what = f"restart on a full disk after {stop}" if stop != "no database" else "first start on a full disk"
    ex = None
    try:
        if stop != "no database":
            ex = Exporter(exporter, config, log)
            status, body, _ = ex.ingest(batch(f"pre-{stop}", 10))
            checks.check(status == 200, f"{what}: ingest before the stop ({status})")
            acked += body["accepted"] if status == 200 else 0
            code = ex.stop(signal.SIGTERM if stop == "SIGTERM" else signal.SIGKILL)
            checks.check(code == (0 if stop == "SIGTERM" else -9), f"{what}: stopped ({code})")
            print(f"files left: {sorted(os.listdir(mnt))}")
        fill(filler)
        ex = Exporter(exporter, config, log)
        checks.check(ex.proc.poll() is None, f"{what}: the service starts")
        status, text, _ = ex.request("GET", "/-/healthy")
        checks.check(status == 200, f"{what}: /-/healthy 200 ({status})")
        status, ready, resp = ex.request("GET", "/-/ready")
        if stop == "SIGKILL":
            # The -shm files a kill leaves keep their blocks, which SQLite reuses: the store opens
            # for writing, and ingest meets the full disk per request, as while running.
            checks.check(status == 200, f"{what}: opened for writing, /-/ready 200 ({status})")
            checks.check(gauge(ex, "ai_usage_storage_degraded") == 0, f"{what}: ai_usage_storage_degraded 0")
        else:
            want = "unavailable" if stop == "no database" else "read-only"
            checks.check(status == 503 and ready.get("status") == "degraded" and ready.get("storage") == want
                         and ready["error"].startswith("the store cannot be opened for writing: ")
                         and resp.getheader("Retry-After") == "1", f"{what}: /-/ready 503 {ready}")
            checks.check(gauge(ex, "ai_usage_storage_degraded") == 1, f"{what}: ai_usage_storage_degraded 1")
        if stop == "no database":
            status, body, resp = ex.request("GET", "/api/v1/statistics")
            checks.check(status == 503 and body["error"].startswith("storage unavailable: ")
                         and resp.getheader("Retry-After") == "1", f"{what}: statistics 503 {body}")
            _, text, _ = ex.request("GET", "/metrics")
            checks.check("ai_usage_build_info{" in text and "ai_usage_ingest_records_total" not in text,
                         f"{what}: /metrics without usage families (not zeros)")
        else:
            reads_match(ex, checks, acked, what)
        refused = batch(f"refused-{stop}", 10)
        status, body, resp = ex.ingest(refused)
        checks.check(status == 503 and body["error"].startswith("storage unavailable, nothing was stored: ")
                     and resp.getheader("Retry-After") == "1", f"{what}: ingest 503 {body}")
        for encoding in ("protobuf", "json"):
            otlp_refused(checks, what, encoding, *export(ex, f"otlp-refused-{stop}-{encoding}", 10, encoding))
        if stop != "no database":
            reads_match(ex, checks, acked, f"{what}, after the refused exports")
        os.unlink(filler)
        deadline = time.time() + 20
        while time.time() < deadline and ex.request("GET", "/-/ready")[0] != 200:
            time.sleep(0.05)
        checks.check(ex.request("GET", "/-/ready")[0] == 200, f"{what}: ready once space is freed, without a restart")
        checks.check(gauge(ex, "ai_usage_storage_degraded") == 0, f"{what}: ai_usage_storage_degraded 0")
        status, body, _ = ex.ingest(refused)
        checks.check(status == 200 and body["accepted"] == len(refused), f"{what}: the refused batch accepted ({status})")
        acked += body["accepted"] if status == 200 else 0
        for encoding in ("protobuf", "json"):
            status, body, _ = export(ex, f"otlp-refused-{stop}-{encoding}", 10, encoding)
            stored = otlp_stored(status, body, encoding)
            checks.check(stored, f"{what}: the refused OTLP {encoding} export stored ({status})")
            acked += 10 if stored else 0
        reads_match(ex, checks, acked, f"{what}, recovered")
        checks.check(ex.stop(signal.SIGTERM) == 0, f"{what}: clean exit")
        check_store(checks, db, acked, f"{what}: ")
        return acked
    finally:
        if ex is not None:
            ex.stop()
        if os.path.exists(filler):
            os.unlink(filler)


if __name__ == "__main__":
    sys.exit(main())
