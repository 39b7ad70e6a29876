#!/usr/bin/env python3
"""Config reload on the real binary: SIGHUP and POST /-/reload apply a good file; a bad one is
refused with the reason logged while the old configuration keeps serving; the
ai_usage_config_last_reload_* gauges follow.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Exporter, base_config, gauge, record, write, run  # noqa: E402


def wait_log(ex, needle, count):
    for _ in range(200):
        if ex.log_text().count(needle) >= count:
            return True
        time.sleep(0.02)
    return False


def test(exporter, checks, tmp):
    db = os.path.join(tmp, "usage.db")
    path = os.path.join(tmp, "c.toml")
    write(path, base_config(db))
    ex = Exporter(exporter, path, os.path.join(tmp, "log"))
    try:
        checks.check(gauge(ex, "ai_usage_config_last_reload_successful") == 1, "successful gauge is 1 at start")
        started = gauge(ex, "ai_usage_config_last_reload_success_timestamp_seconds")
        checks.check(started and abs(started - time.time()) < 60, "success timestamp is the start time")
        ex.ingest([record("r1")])
        write(path, base_config(db, '\n[[quota]]\nscope = "user"\nsubject = "u"\ntokens = 100\n'))
        time.sleep(1.1)  # the success timestamp has second resolution in this check
        ex.proc.send_signal(signal.SIGHUP)
        checks.check(wait_log(ex, 'msg="configuration reloaded" trigger=SIGHUP', 1), "SIGHUP reload logged")
        _, q, _ = ex.request("GET", "/api/v1/quota?userId=u")
        checks.check(q["limits"]["tokens"] == 100 and q["exceeded"], f"the new quota applies: {q['limits']}")
        checks.check(gauge(ex, "ai_usage_config_last_reload_success_timestamp_seconds") > started,
                     "success timestamp moved")
        write(path, base_config(db, '\n[[quota]]\nscope = "user"\nsubject = "u"\ntokens = -1\n'))
        ex.proc.send_signal(signal.SIGHUP)
        checks.check(wait_log(ex, "configuration reload failed", 1), "bad file refused")
        checks.check("quota[0].tokens: must be greater than 0" in ex.log_text(), "the reason is logged")
        checks.check(gauge(ex, "ai_usage_config_last_reload_successful") == 0, "successful gauge is 0")
        _, q, _ = ex.request("GET", "/api/v1/quota?userId=u")
        checks.check(q["limits"]["tokens"] == 100, "the old configuration keeps serving")
        status, body, _ = ex.request("POST", "/-/reload")
        checks.check(status == 400 and "must be greater than 0" in body["error"], f"POST /-/reload refuses: {body}")
        write(path, base_config(os.path.join(tmp, "other.db")))
        status, body, _ = ex.request("POST", "/-/reload")
        checks.check(status == 400 and "storage.path changed" in body["error"], "restart-only change refused")
        write(path, base_config(db))
        status, body, _ = ex.request("POST", "/-/reload")
        checks.check(status == 200, f"POST /-/reload applies a good file ({status})")
        checks.check(gauge(ex, "ai_usage_config_last_reload_successful") == 1, "successful gauge back to 1")
        _, q, _ = ex.request("GET", "/api/v1/quota?userId=u")
        checks.check(q["limits"]["tokens"] is None, "the quota is gone again")
        not_files(ex, checks, tmp, path, db)
        checks.check(ex.proc.poll() is None, "the server kept running throughout")
    finally:
        checks.check(ex.stop(signal.SIGTERM) == 0, "clean exit")
    refused_at_startup(exporter, checks, tmp, db)


QUOTA = '\n[[quota]]\nscope = "user"\nsubject = "u"\ntokens = 100\n'


def logged(text):
    """`text` as a quoted log value shows it."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def bad_includes(tmp):
    """(include, what the error says): none of them is a regular file within 16 MiB."""
    fifo = os.path.join(tmp, "fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)  # no writer: a plain open for reading would block
    return [("/dev/zero", "is a character device, not a regular file"),
            (tmp, "is a directory, not a regular file"),
            (fifo, "is a FIFO, not a regular file")]


def not_files(ex, checks, tmp, path, db):
    """A reload whose include is a device, a directory or a FIFO is refused within a bounded time,
    naming the include's file:line:col; the old configuration keeps serving."""
    write(path, base_config(db, QUOTA))
    status, _, _ = ex.request("POST", "/-/reload")
    checks.check(status == 200, "a quota to tell the old configuration by")
    for n, (include, error) in enumerate(bad_includes(tmp)):
        # `include` is a top-level key: it goes before base_config's tables, on line 2, column 12.
        write(path, f'# include test\ninclude = ["{include}"]\n' + base_config(db))
        want = f'{path}:2:12: include "{include}": {error}'
        if n % 2 == 0:
            status, body, _ = ex.request("POST", "/-/reload")
            checks.check(status == 400 and want in body["error"], f"POST /-/reload refuses {include}: {body}")
        else:
            before = ex.log_text().count("configuration reload failed")
            ex.proc.send_signal(signal.SIGHUP)
            checks.check(wait_log(ex, "configuration reload failed", before + 1), f"SIGHUP reload of {include} refused")
        checks.check(logged(want) in ex.log_text(), f"the log names {want}")
        _, q, _ = ex.request("GET", "/api/v1/quota?userId=u")
        checks.check(q["limits"]["tokens"] == 100, f"the old configuration keeps serving after {include}")
    write(path, base_config(db))


def refused_at_startup(exporter, checks, tmp, db):
    """At startup the same includes stop the binary with exit code 1 and the reason."""
    for include, error in bad_includes(tmp):
        path = write(os.path.join(tmp, "start.toml"), f'# include test\ninclude = ["{include}"]\n' + base_config(db))
        try:
            run = subprocess.run([exporter, "--config", path], capture_output=True, text=True, timeout=20)
            rc, err = run.returncode, run.stderr
        except subprocess.TimeoutExpired:
            rc, err = None, "did not exit within 20 s"
        want = logged(f'{path}:2:12: include "{include}": {error}')
        checks.check(rc == 1 and want in err, f"startup with include {include} exits 1 naming it: {rc} {err[-300:]}")


if __name__ == "__main__":
    sys.exit(run("reload", test))
