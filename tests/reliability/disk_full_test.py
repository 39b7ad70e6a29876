#!/usr/bin/env python3
"""Disk full: 503 with nothing stored, nothing acknowledged that is not committed, and recovery
without a restart once space is freed.

The database lives on a 2 MiB tmpfs this test mounts (root only: elsewhere it prints
"skipped: not root" and exits 0). A filler file takes the free space; ingest must answer 503
with Retry-After and store nothing of those batches; counts in the store, the statistics and
/metrics must equal what was acknowledged; after the filler is deleted the same batches are
resent and acknowledged, and PRAGMA integrity_check is ok.
"""
import argparse
import errno
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Checks, Exporter, accepted_metric, base_config, record, write  # noqa: E402


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
        ex = None
        try:
            db = os.path.join(mnt, "usage.db")
            ex = Exporter(args.exporter, write(os.path.join(tmp, "c.toml"), base_config(db)), os.path.join(tmp, "log"))
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
            checks.check(accepted_metric(ex) == acked, "/metrics accepted == acknowledged after recovery")
            checks.check(ex.stop(signal.SIGTERM) == 0, "clean exit")
            conn = sqlite3.connect(db)
            try:
                checks.check(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check ok")
                count = conn.execute("SELECT count(*) FROM ai_usage").fetchone()[0]
            finally:
                conn.close()
            checks.check(count == acked, f"store holds exactly the acknowledged records ({count} == {acked})")
        finally:
            if ex is not None:
                ex.stop()
            subprocess.run(["umount", mnt], check=False)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
