#!/usr/bin/env python3
"""A failed flush: the batch is committed but not known to be on disk, so the answer is a 503
that asks for a retry with the same ids, and that retry is answered as duplicates; nothing is
lost or counted twice.

fdatasync is made to fail with EIO (LD_PRELOAD of --fault-lib) while a flag file exists.
"""
import argparse
import os
import signal
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Checks, Exporter, accepted_metric, base_config, record, write  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exporter", required=True)
    p.add_argument("--fault-lib", required=True)
    args = p.parse_args()
    checks = Checks("flush_failure")
    with tempfile.TemporaryDirectory(prefix="aiusage-flush-") as tmp:
        db = os.path.join(tmp, "usage.db")
        flag = os.path.join(tmp, "fail-fdatasync")
        env = dict(os.environ, LD_PRELOAD=os.path.abspath(args.fault_lib), AIUSAGE_FAIL_FDATASYNC=flag)
        ex = Exporter(args.exporter, write(os.path.join(tmp, "c.toml"), base_config(db)),
                      os.path.join(tmp, "log"), env=env)
        try:
            a = [record(f"a{i}") for i in range(5)]
            b = [record(f"b{i}") for i in range(5)]
            c = [record(f"c{i}") for i in range(5)]
            status, body, _ = ex.ingest(a)
            checks.check(status == 200 and body["accepted"] == 5, f"flushes work at first ({status})")

            write(flag, "")
            status, body, resp = ex.ingest(b)
            checks.check(status == 503, f"a failed flush answers 503 ({status})")
            expected = ("storage unavailable, the batch may be stored; retry it with the same ids: "
                        "committed but not confirmed on disk: fdatasync ")
            checks.check(body.get("error", "").startswith(expected) and "Input/output error" in body["error"],
                         f"the 503 says the batch may be stored: {body}")
            checks.check(resp.getheader("Retry-After") == "1", "the 503 carries Retry-After")

            os.unlink(flag)
            status, body, _ = ex.ingest(b)
            checks.check(status == 200 and body["accepted"] == 0 and body["duplicates"] == 5,
                         f"the retry with the same ids is answered as duplicates ({status}, {body})")
            status, body, _ = ex.ingest(c)
            checks.check(status == 200 and body["accepted"] == 5, f"flushes work again ({status})")

            _, stats, _ = ex.request("GET", "/api/v1/statistics")
            checks.check(stats["totalCalls"] == 15, f"statistics count each record once ({stats['totalCalls']})")
            checks.check(accepted_metric(ex) == 15, "/metrics counts each record once")
            checks.check(ex.stop(signal.SIGTERM) == 0, "clean exit")
            conn = sqlite3.connect(db)
            try:
                checks.check(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check ok")
                ids = sorted(r[0] for r in conn.execute("SELECT id FROM ai_usage"))
            finally:
                conn.close()
            checks.check(ids == sorted(r["id"] for r in a + b + c), f"the store holds a, b and c once ({len(ids)})")
        finally:
            ex.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
