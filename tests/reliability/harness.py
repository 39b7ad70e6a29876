"""Shared by the binary-level reliability tests: start the exporter, talk HTTP(S) on loopback."""
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import time


class Failure(Exception):
    pass


class Exporter:
    """The real binary on a free loopback port; stderr goes to `log_path`."""

    def __init__(self, binary, config, log_path, tls_ca=None, env=None, preexec_fn=None, prefix=()):
        self.log_path = log_path
        self.tls_ca = tls_ca
        self.log = open(log_path, "ab")
        seen = self.log_text().count("msg=listening")
        # `prefix` runs the binary through a command that execs it (e.g. prlimit): same PID.
        self.proc = subprocess.Popen([*prefix, binary, "--config", config], stdout=subprocess.DEVNULL,
                                     stderr=self.log, env=env, preexec_fn=preexec_fn)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Failure(f"exporter exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            ports = re.findall(r"msg=listening .*port=(\d+)", self.log_text())
            if len(ports) > seen:
                self.port = int(ports[-1])
                return
            time.sleep(0.02)
        self.proc.kill()
        raise Failure("exporter did not start within 20 s")

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def connection(self, timeout=10):
        if self.tls_ca:
            ctx = ssl.create_default_context(cafile=self.tls_ca)
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None):
        """(status, parsed JSON or text, headers)."""
        conn = self.connection()
        try:
            conn.request(method, path, body, headers or {})
            resp = conn.getresponse()
            data = resp.read().decode(errors="replace")
            kind = resp.getheader("Content-Type", "")
            return resp.status, json.loads(data) if kind.startswith("application/json") else data, resp
        finally:
            conn.close()

    def ingest(self, records, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.request("POST", "/api/v1/usage", json.dumps(records), h)

    def raw_socket(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def stop(self, sig=None):
        if self.proc.poll() is None:
            if sig is None:
                self.proc.kill()
            else:
                self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)


def record(rid, user="u", project=None, **extra):
    r = {"id": rid, "userId": user, "provider": "acme", "model": "m",
         "usage": {"promptTokens": 100, "completionTokens": 50}}
    if project:
        r["projectId"] = project
    r.update(extra)
    return r


def accepted_metric(ex):
    """ai_usage_ingest_records_total{result="accepted"} from the exporter's /metrics."""
    _, text, _ = ex.request("GET", "/metrics")
    for line in text.splitlines():
        if line.startswith('ai_usage_ingest_records_total{result="accepted"} '):
            return int(float(line.split()[-1]))
    return None


def gauge(ex, name):
    """The value of the unlabelled sample `name` on the exporter's /metrics, None without one."""
    _, text, _ = ex.request("GET", "/metrics")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def base_config(db_path, extra=""):
    return f"""
[server]
listen = "127.0.0.1:0"

[storage]
path = "{db_path}"

[billing]
currency = "USD"
timezone = "UTC"

[[pricing]]
provider = "acme"
model = "*"
input = 1.0
output = 2.0
{extra}"""


def stored_ids(db_path):
    import sqlite3
    db = sqlite3.connect(db_path)
    try:
        return [r[0] for r in db.execute("SELECT id FROM ai_usage")]
    finally:
        db.close()


class Checks:
    """Named checks with a closing 'N passed, N failed' line."""

    def __init__(self, name):
        self.name, self.passed, self.failed = name, 0, 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print(f"ok: {what}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL: {what}", flush=True)

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        return 0 if self.failed == 0 else 1


def run(name, test):
    """Main of a test script: `test(exporter, checks, tmp)` with --exporter parsed and a temp dir."""
    import argparse
    import tempfile
    p = argparse.ArgumentParser()
    p.add_argument("--exporter", required=True)
    args = p.parse_args()
    checks = Checks(name)
    with tempfile.TemporaryDirectory(prefix=f"aiusage-{name}-") as tmp:
        test(args.exporter, checks, tmp)
    return checks.finish()
