#!/usr/bin/env python3
"""End-to-end test: exporter -> Prometheus (rules) -> Alertmanager -> webhook.

python3 stdlib only.  Usage:

    e2e_test.py --exporter build/ai-usage-exporter [--repo .]
                [--prometheus prometheus] [--alertmanager prometheus-alertmanager]
                [--keep-tmp] [--verbose]

Everything runs on 127.0.0.1 with free ports (bind to port 0, release) and
temporary files; every process is started in its own process group and is
killed on exit, also on failure or timeout.  The whole run is limited to
TIME_LIMIT seconds.

What is checked (each prints PASS/FAIL with the reason):
  1. quota warning: a user at 85 % of its token quota raises nothing, at 91 %
     the AIUsageQuotaExhausted warning reaches the webhook with the expected
     annotations
  2. quota critical: at 101 % the critical alert reaches the webhook and
     the warning of the same quota is resolved (only the highest threshold
     reached is shown); another user at 95 % still gets its warning
  2a. a week-window quota: its warning carries window="week"
  2b. projected exhaustion: a quota at (1 + elapsed share) / 2 of its limit
     in a window that is past its first hour pages
     AIUsageQuotaProjectedExhaustion, and /api/v1/quota gives exhaustedAt
  3. PromQL: every query of grafana/ai-usage.json (template variables
     substituted) and every recording rule evaluates without error through
     /api/v1/query and returns data; the dashboard's label_values() variables
     find values; every rule group is healthy
  4. scrape health: the exporter target is up with no scrape error, and no
     sample was dropped as duplicate/out of order/out of bounds
  5. data-quality alerts: AIUsageUnpricedModel and AIUsageIngestRejections
     fire on real data and reach the webhook

The shipped alert rules use for: 2m and more; the test loads a copy with
for: rewritten to 0s (the exporter-down/absent alerts to 10m, so that they
stay quiet), and a copy of config/alertmanager.yml with the webhook URLs
pointed at the test's receiver and group_wait/group_interval set to 1s.
The last line is "e2e: N passed, M failed"; the exit code is 0 only if
nothing failed.
"""
import argparse
import ctypes
import datetime
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboard_lib as dl  # noqa: E402

TIME_LIMIT = int(os.environ.get("AIUSAGE_E2E_TIME_LIMIT", "55"))  # seconds for the whole run
HTTP_TIMEOUT = 5         # seconds for one HTTP request
JOB = "ai-usage-exporter"
ALERT = "AIUsageQuotaExhausted"
QUOTA_TOKENS = 10000

T0 = time.monotonic()
VERBOSE = False


class Fail(Exception):
    """A check failed; the message says why."""


class Timeout(Exception):
    pass


def log(msg):
    print(f"[{time.monotonic() - T0:5.1f}s] {msg}", flush=True)


def debug(msg):
    if VERBOSE:
        log(msg)


# --------------------------------------------------------------------- HTTP

def http(method, url, body=None, content_type="application/json", timeout=HTTP_TIMEOUT):
    """(status, text) of a request; never raises for HTTP error statuses."""
    data = None
    headers = {}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = content_type
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as e:
        raise Fail(f"{method} {url}: {getattr(e, 'reason', e)}") from None


def get_json(url):
    status, text = http("GET", url)
    if status != 200:
        raise Fail(f"GET {url} -> HTTP {status}: {text[:300]}")
    return json.loads(text)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, timeout, interval=0.2):
    """Poll predicate() until it returns a truthy value; Fail after timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = predicate()
            if v:
                return v
        except (OSError, ValueError, Fail) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_exc})" if last_exc else ""
            raise Fail(f"timed out after {timeout:.0f}s waiting for {what}{extra}")
        time.sleep(interval)


# ---------------------------------------------------------------- processes

# Resolved here, in the parent, so that the forked child only makes the call.
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent():
    """preexec_fn: SIGKILL the child if this test process dies (Linux)."""
    if _prctl is not None:
        _prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG


class Procs:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []  # (name, Popen, logpath)

    def start(self, name, argv):
        logpath = os.path.join(self.tmp, f"{name}.log")
        logf = open(logpath, "wb")
        debug(f"start {name}: {' '.join(argv)}")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                 cwd=self.tmp, start_new_session=True, preexec_fn=_die_with_parent)
        except OSError as e:
            raise Fail(f"cannot start {name} ({argv[0]}): {e}")
        finally:
            logf.close()
        self.procs.append((name, p, logpath))
        return p

    def check_alive(self):
        for name, p, logpath in self.procs:
            if p.poll() is not None:
                raise Fail(f"{name} exited with status {p.returncode}\n{self.tail(logpath)}")

    @staticmethod
    def tail(logpath, n=25):
        try:
            with open(logpath, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return f"  (no log at {logpath})"
        if not lines:
            return "  (empty)"
        return "\n".join(f"  | {line}" for line in lines[-n:])

    def dump_logs(self):
        for name, _, logpath in self.procs:
            print(f"---- last lines of {name} log ({logpath}):\n{self.tail(logpath)}", flush=True)

    def stop_all(self):
        for name, p, _ in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 5
        for name, p, _ in reversed(self.procs):
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                debug(f"{name} ignored SIGTERM, killing")
            # also reap anything left in the group
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                print(f"WARNING: could not stop {name} (pid {p.pid})", flush=True)


# ----------------------------------------------------------------- webhook

class Webhook:
    """Alertmanager webhook receiver collecting every notification."""

    def __init__(self):
        self.lock = threading.Lock()
        self.notifications = []  # (path, payload)
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"unparsable": body.decode("utf-8", "replace")}
                with hook.lock:
                    hook.notifications.append((self.path, payload))
                debug(f"webhook {self.path}: " + ", ".join(
                    f"{a.get('status')} {a.get('labels', {}).get('alertname')}/"
                    f"{a.get('labels', {}).get('severity')}/{a.get('labels', {}).get('subject', '')}"
                    for a in payload.get("alerts", [])))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = None

    def start(self):
        """Serve in a thread; called once every process is started (no fork with threads)."""
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def alerts(self):
        """Every alert ever delivered, as (path, alert dict)."""
        with self.lock:
            return [(path, a) for path, p in self.notifications for a in p.get("alerts", [])]

    def find(self, status="firing", **labels):
        for path, a in self.alerts():
            if a.get("status") == status and all(a.get("labels", {}).get(k) == v for k, v in labels.items()):
                return path, a
        return None

    def close(self):
        if self.thread:
            self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------ set-up

EXPORTER_CONFIG = """\
# written by tests/e2e/e2e_test.py
[server]
listen = "127.0.0.1:{port}"

[storage]
path = "{db}"

[billing]
currency = "USD"
timezone = "UTC"

[[pricing]]
provider = "openai"
model = "gpt-4o"
input = 2.50
output = 10.00
cache_read = 1.25

[[pricing]]
provider = "openai"
model = "gpt-4o-mini"
input = 0.15
output = 0.60
cache_read = 0.075

[[pricing]]
provider = "anthropic"
model = "claude-sonnet-4"
input = 3.00
output = 15.00
cache_read = 0.30
cache_write = 3.75

[[quota]]
scope = "user"
subject = "*"
tokens = {quota}

[[quota]]
scope = "user"
subject = "weekly"
window = "week"
tokens = 1000

[[quota]]
scope = "user"
subject = "fc-day"
window = "day"
tokens = 1000000

[[quota]]
scope = "user"
subject = "fc-week"
window = "week"
tokens = 1000000

[[quota]]
scope = "user"
subject = "fc-month"
tokens = 1000000

[[quota]]
scope = "project"
subject = "*"
tokens = 1000000

[[quota]]
scope = "global"
cost = 1000.0
"""

PROMETHEUS_CONFIG = """\
# written by tests/e2e/e2e_test.py
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {rules_dir}/*.yml
alerting:
  alertmanagers:
    - api_version: v2
      static_configs:
        - targets: ["127.0.0.1:{am_port}"]
scrape_configs:
  - job_name: {job}
    static_configs:
      - targets: ["127.0.0.1:{exporter_port}"]
"""


def rewrite_alert_rules(text):
    """for: -> 0s (exporter down/absent: 10m, so that start-up does not page)."""
    out, current, rewritten = [], None, set()
    for line in text.splitlines(keepends=True):
        m = re.match(r"^\s*- alert:\s*(\S+)", line)
        if m:
            current = m.group(1)
        m = re.match(r"^(\s*)for:\s*\S+(.*)$", line.rstrip("\n"))
        if m and current:
            dur = "10m" if current in ("AIUsageExporterDown", "AIUsageExporterAbsent") else "0s"
            line = f"{m.group(1)}for: {dur}{m.group(2)}\n"
            rewritten.add(current)
        out.append(line)
    if ALERT not in rewritten:
        raise Fail(f"could not rewrite the for: of {ALERT} in rules/ai-usage.alerts.yml")
    return "".join(out)


def rewrite_alertmanager_config(text, webhook_port):
    text, n = re.subn(r"http://127\.0\.0\.1:5001/", f"http://127.0.0.1:{webhook_port}/", text)
    if n == 0:
        raise Fail("config/alertmanager.yml has no webhook URL http://127.0.0.1:5001/ to point at the test receiver")
    text = re.sub(r"(?m)^(\s*)group_wait:\s*\S+", r"\1group_wait: 1s", text)
    text = re.sub(r"(?m)^(\s*)group_interval:\s*\S+", r"\1group_interval: 1s", text)
    return text


class Env:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.procs = Procs(tmp)
        self.webhook = None
        ports = set()
        while len(ports) < 3:
            ports.add(free_port())
        self.exporter_port, self.prom_port, self.am_port = list(ports)
        self.exporter = f"http://127.0.0.1:{self.exporter_port}"
        self.prom = f"http://127.0.0.1:{self.prom_port}"
        self.am = f"http://127.0.0.1:{self.am_port}"
        self.seq = 0

    def setup(self):
        a, tmp = self.args, self.tmp
        for binary, what in ((a.exporter, "exporter"), (a.prometheus, "Prometheus"),
                             (a.alertmanager, "Alertmanager")):
            if not (os.path.isfile(binary) and os.access(binary, os.X_OK)) and not shutil.which(binary):
                raise Fail(f"{what} binary not found: {binary}")
        self.webhook = Webhook()

        # exporter
        cfg = os.path.join(tmp, "exporter.toml")
        with open(cfg, "w") as f:
            f.write(EXPORTER_CONFIG.format(port=self.exporter_port, db=os.path.join(tmp, "ai-usage.db"),
                                           quota=QUOTA_TOKENS))
        self.procs.start("exporter", [a.exporter, "--config", cfg,
                                      "--web.listen-address", f"127.0.0.1:{self.exporter_port}",
                                      "--storage.path", os.path.join(tmp, "ai-usage.db")])

        # rules: recording rules as shipped, alert rules with short for:
        rules_dir = os.path.join(tmp, "rules")
        os.makedirs(rules_dir)
        shutil.copy(os.path.join(a.repo, "rules", "ai-usage.rules.yml"), rules_dir)
        with open(os.path.join(a.repo, "rules", "ai-usage.alerts.yml")) as f:
            alerts = rewrite_alert_rules(f.read())
        with open(os.path.join(rules_dir, "ai-usage.alerts.yml"), "w") as f:
            f.write(alerts)

        # Alertmanager
        with open(os.path.join(a.repo, "config", "alertmanager.yml")) as f:
            amcfg = rewrite_alertmanager_config(f.read(), self.webhook.port)
        amcfg_path = os.path.join(tmp, "alertmanager.yml")
        with open(amcfg_path, "w") as f:
            f.write(amcfg)
        self.procs.start("alertmanager", [a.alertmanager, f"--config.file={amcfg_path}",
                                          f"--storage.path={os.path.join(tmp, 'am-data')}",
                                          "--data.retention=744h",  # as config/alertmanager.yml says
                                          f"--web.listen-address=127.0.0.1:{self.am_port}",
                                          "--cluster.listen-address=", "--log.level=warn"])

        # Prometheus
        pcfg = os.path.join(tmp, "prometheus.yml")
        with open(pcfg, "w") as f:
            f.write(PROMETHEUS_CONFIG.format(rules_dir=rules_dir, am_port=self.am_port, job=JOB,
                                             exporter_port=self.exporter_port))
        self.procs.start("prometheus", [a.prometheus, f"--config.file={pcfg}",
                                        f"--storage.tsdb.path={os.path.join(tmp, 'prom-data')}",
                                        f"--web.listen-address=127.0.0.1:{self.prom_port}",
                                        "--log.level=warn"])

        self.webhook.start()
        for name, url in (("exporter", self.exporter), ("alertmanager", self.am), ("prometheus", self.prom)):
            def ready(url=url):
                self.procs.check_alive()
                return http("GET", url + "/-/ready", timeout=1)[0] == 200
            wait_for(f"{name} /-/ready", ready, 15)
        # the rule files must have loaded
        groups = self.prom_api("rules")["groups"]
        names = sorted(g["name"] for g in groups)
        if not any(g["file"].endswith("ai-usage.rules.yml") for g in groups) or \
                not any(g["file"].endswith("ai-usage.alerts.yml") for g in groups):
            raise Fail(f"Prometheus did not load both rule files (groups: {names})")
        log(f"up: exporter :{self.exporter_port}, prometheus :{self.prom_port}, "
            f"alertmanager :{self.am_port}, webhook :{self.webhook.port}")

    # ------------------------------------------------------------ helpers
    def prom_api(self, path, **params):
        url = f"{self.prom}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        j = get_json(url)
        if j.get("status") != "success":
            raise Fail(f"Prometheus /api/v1/{path} {params}: {j.get('errorType')}: {j.get('error')}")
        return j["data"]

    def query(self, expr):
        """Instant query; returns the result list, raises Fail on error."""
        status, text = http("GET", f"{self.prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        try:
            j = json.loads(text)
        except ValueError:
            raise Fail(f"query {expr!r}: HTTP {status}: {text[:200]}")
        if status != 200 or j.get("status") != "success":
            raise Fail(f"query {expr!r}: {j.get('errorType')}: {j.get('error')}")
        d = j["data"]
        if d["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": d["result"]}]
        return d["result"]

    def post(self, records, expect=200):
        status, text = http("POST", f"{self.exporter}/api/v1/usage", records)
        if status != expect:
            raise Fail(f"POST /api/v1/usage -> HTTP {status} (expected {expect}): {text[:300]}")
        return text

    def record(self, user, project, provider, model, prompt, completion, cache_read=0, cache_write=0,
               cached=False, rid=None):
        self.seq += 1
        r = {"id": rid or f"e2e-{self.seq}", "userId": user, "projectId": project, "provider": provider,
             "model": model, "usage": {"promptTokens": prompt, "completionTokens": completion}}
        if cache_read:
            r["usage"]["cacheReadTokens"] = cache_read
        if cache_write:
            r["usage"]["cacheWriteTokens"] = cache_write
        if cached:
            r["cached"] = True
        return r

    def background(self, phase):
        """Varied traffic on every provider/model/project/user and every token type,
        plus one duplicate and one rejected record (sent separately)."""
        dup = self.record("u3", "p3", "openai", "gpt-4o-mini", 10, 10, rid=f"e2e-dup-{phase}")
        self.post([dup])
        self.post([dup])  # same id again: result="duplicate"
        self.post({"userId": "u3", "provider": "openai", "model": "gpt-4o-mini",
                   "usage": {"promptTokens": -1}}, expect=400)  # result="rejected"
        return [
            self.record("u3", "p3", "openai", "gpt-4o-mini", 300, 100, cache_read=100),
            self.record("u3", "p3", "openai", "gpt-4o-mini", 200, 50, cached=True),
            self.record("u3", "p1", "anthropic", "claude-sonnet-4", 200, 60, cache_read=50, cache_write=50),
            self.record("u2", "p2", "openai", "gpt-4o", 100, 20, cached=True),
            self.record("u3", "p3", "acme", "mystery-1", 80, 20),  # no [[pricing]] entry
            self.record("u1", "p1", "openai", "gpt-4o", 10, 10, cached=True),  # cached: not in quota
        ]

    def ratio(self, subject):
        r = self.query(f'ai_usage_quota_usage_ratio{{job="{JOB}",scope="user",subject="{subject}",resource="tokens"}}')
        return float(r[0]["value"][1]) if r else None

    def wait_ratio(self, subject, value, timeout=8):
        def ok():
            v = self.ratio(subject)
            return v is not None and abs(v - value) < 1e-9
        wait_for(f"Prometheus to scrape ai_usage_quota_usage_ratio{{subject={subject!r}}} == {value}", ok, timeout)
        debug(f"ratio {subject} = {value} scraped")

    def prom_alerts(self, **labels):
        return [a for a in self.prom_api("alerts")["alerts"]
                if all(a["labels"].get(k) == v for k, v in labels.items())]

    def am_alerts(self, **labels):
        j = get_json(f"{self.am}/api/v2/alerts")
        return [a for a in j if all(a["labels"].get(k) == v for k, v in labels.items())]

    def stop(self):
        self.procs.stop_all()
        if self.webhook:
            self.webhook.close()


# ------------------------------------------------------------------ checks

def expect_annotations(alert, severity, subject, pct, window="month"):
    ann = alert.get("annotations", {})
    if severity == "warning":
        summary = f"user quota for {subject} (tokens, {window}) is {pct} used"
        desc = (f"The tokens quota of user {subject} is {pct} used in the current {window} "
                "(warning threshold 90%). Requests beyond 100 % exceed the budget.")
    else:
        summary = f"user quota for {subject} (tokens, {window}) is exhausted: {pct} used"
        desc = (f"The tokens quota of user {subject} is {pct} used in the current {window} "
                f"(critical threshold 100%). The budget of this {window} is exhausted.")
    want = {"summary": summary, "description": desc,
            "runbook_url": "https://github.com/ai-usage-exporter/ai-usage-exporter/blob/main/docs/runbook.md"
                           "#aiusagequotaexhausted"}
    for k, v in want.items():
        if ann.get(k) != v:
            raise Fail(f"{severity} alert for {subject}: annotation {k} is {ann.get(k)!r}, expected {v!r}")


def check_warning(env):
    # 85 %: nothing may fire for u1
    env.post([env.record("u1", "p1", "openai", "gpt-4o", 5000, 1500, cache_read=1000),
              env.record("u1", "p1", "openai", "gpt-4o", 1000, 1000),
              env.record("u2", "p2", "anthropic", "claude-sonnet-4", 3000, 2000, cache_write=500)]
             + env.background(0))
    env.wait_ratio("u1", 0.85)
    time.sleep(2.5)  # > 2 evaluation intervals at 85 %
    fired = env.prom_alerts(alertname=ALERT, subject="u1")
    if fired:
        raise Fail(f"{ALERT} is {fired[0]['state']} for u1 at 85 % (labels {fired[0]['labels']})")
    log("85 %: no alert for u1 (ok)")

    # 91 %: warning
    env.post([env.record("u1", "p1", "openai", "gpt-4o", 400, 200)] + env.background(1))
    env.wait_ratio("u1", 0.91)
    path, alert = wait_for("the u1 warning at the webhook",
                           lambda: env.webhook.find(alertname=ALERT, severity="warning", subject="u1",
                                                    scope="user", resource="tokens"), 10)
    expect_annotations(alert, "warning", "u1", "91%")
    if env.webhook.find(alertname=ALERT, severity="critical", subject="u1"):
        raise Fail("critical alert for u1 delivered at 91 %")
    log(f"91 %: warning for u1 delivered to {path}")


def check_critical(env):
    env.post([env.record("u1", "p1", "openai", "gpt-4o", 600, 400),
              env.record("u2", "p2", "anthropic", "claude-sonnet-4", 3500, 1000)] + env.background(2))
    env.wait_ratio("u1", 1.01)
    env.wait_ratio("u2", 0.95)   # u2: 5000 + 4500 = 9500 tokens
    path, alert = wait_for("the u1 critical alert at the webhook",
                           lambda: env.webhook.find(alertname=ALERT, severity="critical", subject="u1",
                                                    scope="user", resource="tokens"), 10)
    expect_annotations(alert, "critical", "u1", "101%")
    log(f"101 %: critical for u1 delivered to {path}")

    # The exporter shows only the highest threshold reached: the 90 % warning is replaced, so
    # Alertmanager no longer has it active (resolved, or inhibited by the critical one until
    # its resolution arrives; the inhibition also mutes the resolved notice).
    def warning_gone():
        return all(w["status"]["state"] != "active"
                   for w in env.am_alerts(alertname=ALERT, severity="warning", subject="u1"))
    wait_for("Alertmanager to drop the u1 warning next to the critical alert", warning_gone, 10)
    if env.webhook.find(status="resolved", alertname=ALERT, severity="critical", subject="u1"):
        raise Fail("the u1 critical alert was resolved while u1 is over its limit")
    log("u1 warning no longer active once the critical threshold replaced it")

    path, alert = wait_for("the u2 warning at the webhook",
                           lambda: env.webhook.find(alertname=ALERT, severity="warning", subject="u2"), 10)
    expect_annotations(alert, "warning", "u2", "95%")
    ws = env.am_alerts(alertname=ALERT, severity="warning", subject="u2")
    if not ws or ws[0]["status"]["inhibitedBy"] or ws[0]["status"]["state"] != "active":
        raise Fail(f"u2 warning should be active and not inhibited, Alertmanager has {ws}")
    if env.webhook.find(alertname=ALERT, severity="critical", subject="u2"):
        raise Fail("critical alert delivered for u2 at 95 %")
    log(f"95 %: warning for u2 delivered to {path}, not inhibited")


def check_weekly(env):
    env.post([env.record("weekly", "wk", "openai", "gpt-4o-mini", 900, 50)])
    path, alert = wait_for("the weekly-window warning at the webhook",
                           lambda: env.webhook.find(alertname=ALERT, severity="warning", subject="weekly",
                                                    window="week", threshold="0.9"), 10)
    expect_annotations(alert, "warning", "weekly", "95%", window="week")
    log(f"95 % of a week quota: warning with window=week delivered to {path}")


def forecast_window(now):
    """(window, elapsed share) of a UTC window at least 65 minutes old and at most 99 % through."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = day - datetime.timedelta(days=day.weekday())
    month = day.replace(day=1)
    next_month = (month + datetime.timedelta(days=32)).replace(day=1)
    for name, start, end in (("day", day, day + datetime.timedelta(days=1)),
                             ("week", week, week + datetime.timedelta(days=7)),
                             ("month", month, next_month)):
        elapsed = (now - start).total_seconds()
        share = elapsed / (end - start).total_seconds()
        if elapsed >= 65 * 60 and share <= 0.99:
            return name, share
    return None, None


def check_projected(env):
    window, share = forecast_window(datetime.datetime.now(datetime.timezone.utc))
    if window is None:
        raise Fail("no budget window is between its first hour and 99 % through right now")
    # used share r of the limit with r / share > 1: projected past the limit, not used up yet
    used = (1 + share) / 2
    subject = f"fc-{window}"
    env.post([env.record(subject, "fc", "openai", "gpt-4o-mini", int(used * 1_000_000), 0)])
    path, alert = wait_for(f"AIUsageQuotaProjectedExhaustion for {subject} at the webhook",
                           lambda: env.webhook.find(alertname="AIUsageQuotaProjectedExhaustion",
                                                    subject=subject, window=window, resource="tokens"), 10)
    status, text = http("GET", f"{env.exporter}/api/v1/quota?userId={subject}&window={window}")
    q = json.loads(text)
    if status != 200 or not q.get("projected") or not q["projected"].get("exhaustedAt"):
        raise Fail(f"/api/v1/quota for {subject}: no projected exhaustion in {text[:300]}")
    log(f"{window} window {share:.0%} through, {used:.1%} used: projected exhaustion at "
        f"{q['projected']['exhaustedAt']} delivered to {path}")


def _has_data(result):
    for s in result:
        v = s.get("value", [None, "NaN"])[1]
        try:
            if not math.isnan(float(v)):
                return True
        except (TypeError, ValueError):
            pass
    return False


def check_promql(env):
    dash = dl.load(os.path.join(env.args.repo, "grafana", "ai-usage.json"))
    problems, n = [], 0
    for panel, target in dl.iter_targets(dash):
        where = f"dashboard panel {panel.get('title')!r} {target.get('refId')}"
        try:
            expr = dl.substitute(target.get("expr", ""), dash)
            res = env.query(expr)
            n += 1
            if not _has_data(res):
                problems.append(f"{where}: no data (only NaN or empty) for {expr}")
            else:
                debug(f"ok {where}: {len(res)} series")
        except (Fail, KeyError) as e:
            problems.append(f"{where}: {e}")

    # template variables: label_values(metric, label) must find values
    for name, var in dl.template_vars(dash).items():
        if var.get("type") != "query":
            continue
        lv = dl.parse_label_values(dl.variable_query(var))
        if not lv:
            problems.append(f"variable {name}: query is not label_values(): {dl.variable_query(var)!r}")
            continue
        match, label = lv
        params = {"match[]": dl.substitute(match, dash)} if match else {}
        try:
            values = env.prom_api(f"label/{label}/values", **params)
            if not [v for v in values if v]:
                problems.append(f"variable {name}: label_values found nothing ({params})")
            elif name == "job" and JOB not in values:
                problems.append(f"variable job: {JOB!r} not among {values}")
        except Fail as e:
            problems.append(f"variable {name}: {e}")

    # rules: every group healthy, every recording rule returns data
    rules = 0
    for g in env.prom_api("rules")["groups"]:
        for r in g["rules"]:
            rules += 1
            where = f"rule {r['name']} (group {g['name']})"
            if r.get("health") != "ok" or r.get("lastError"):
                problems.append(f"{where}: health {r.get('health')!r} {r.get('lastError', '')}")
            if r["type"] != "recording":
                continue
            try:
                if not _has_data(env.query(r["query"])):
                    problems.append(f"{where}: expression returns no data: {r['query']}")
                if not _has_data(env.query(r["name"])):
                    problems.append(f"{where}: no recorded samples")
            except Fail as e:
                problems.append(f"{where}: {e}")
    if problems:
        raise Fail(f"{len(problems)} PromQL problem(s):\n    " + "\n    ".join(problems))
    log(f"{n} dashboard queries, {len(dl.template_vars(dash)) - 1} variables and {rules} rules "
        "evaluate with data")


def check_target(env):
    targets = [t for t in env.prom_api("targets", state="active")["activeTargets"]
               if t["labels"].get("job") == JOB]
    if len(targets) != 1:
        raise Fail(f"expected one active {JOB} target, Prometheus has {len(targets)}")
    t = targets[0]
    if t["health"] != "up" or t["lastError"]:
        raise Fail(f"target {t['scrapeUrl']}: health {t['health']!r}, lastError {t['lastError']!r}")
    up = env.query(f'up{{job="{JOB}"}}')
    if not up or up[0]["value"][1] != "1":
        raise Fail(f"up{{job={JOB!r}}} is {up}")
    bad = []
    for m in ("prometheus_target_scrapes_sample_duplicate_timestamp_total",
              "prometheus_target_scrapes_sample_out_of_order_total",
              "prometheus_target_scrapes_sample_out_of_bounds_total",
              "prometheus_target_scrapes_exceeded_sample_limit_total"):
        r = env.query(m)
        if r and float(r[0]["value"][1]) != 0:
            bad.append(f"{m} = {r[0]['value'][1]}")
    if bad:
        raise Fail("Prometheus dropped samples of the exporter: " + ", ".join(bad))
    n = env.query(f'scrape_samples_scraped{{job="{JOB}"}}')
    log(f"target {t['scrapeUrl']} up, no scrape errors, {n[0]['value'][1] if n else '?'} samples per scrape")


def check_data_quality_alerts(env):
    wait_for("AIUsageUnpricedModel for acme/mystery-1 at the webhook",
             lambda: env.webhook.find(alertname="AIUsageUnpricedModel", provider="acme", model="mystery-1"), 8)
    wait_for("AIUsageIngestRejections at the webhook",
             lambda: env.webhook.find(alertname="AIUsageIngestRejections", job=JOB), 8)
    log("AIUsageUnpricedModel and AIUsageIngestRejections delivered")


CHECKS = [
    ("quota warning at 91 %, nothing at 85 %", check_warning),
    ("quota critical at 101 % replaces the warning; 95 % still warns", check_critical),
    ("a week-window quota alerts with window=week", check_weekly),
    ("projected exhaustion alerts before the limit is reached", check_projected),
    ("dashboard queries and recording rules return data", check_promql),
    ("exporter target up without scrape errors", check_target),
    ("unpriced-model and ingest-rejection alerts fire", check_data_quality_alerts),
]


def main():
    global VERBOSE
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exporter", default=os.environ.get("AIUSAGE_EXPORTER_BIN", "build/ai-usage-exporter"))
    ap.add_argument("--repo", default=os.path.dirname(os.path.dirname(here)))
    ap.add_argument("--prometheus", default="prometheus")
    ap.add_argument("--alertmanager", default="prometheus-alertmanager")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()
    VERBOSE = args.verbose
    args.exporter = os.path.abspath(args.exporter) if os.sep in args.exporter else args.exporter
    args.repo = os.path.abspath(args.repo)

    def on_alarm(signum, frame):
        raise Timeout(f"time limit of {TIME_LIMIT}s exceeded")

    def on_term(signum, frame):
        raise Timeout(f"terminated by signal {signum}")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.alarm(TIME_LIMIT)

    tmp = tempfile.mkdtemp(prefix="ai-usage-e2e-")
    env = Env(args, tmp)
    passed, failed = 0, 0
    dump = False
    try:
        try:
            env.setup()
            setup_ok = True
        except Fail as e:
            print(f"FAIL: setup: {e}", flush=True)
            setup_ok, dump = False, True
        for i, (name, fn) in enumerate(CHECKS, 1):
            if not setup_ok:
                print(f"FAIL: {i}. {name}: not run (set-up failed or a process died)", flush=True)
                failed += 1
                continue
            try:
                fn(env)
                print(f"PASS: {i}. {name}", flush=True)
                passed += 1
            except Fail as e:
                print(f"FAIL: {i}. {name}: {e}", flush=True)
                failed += 1
                dump = True
                try:
                    env.procs.check_alive()
                except Fail as dead:
                    print(f"FAIL: {dead}", flush=True)
                    setup_ok = False
    except Timeout as e:
        print(f"FAIL: {e}", flush=True)
        failed = max(1, len(CHECKS) - passed)
        dump = True
    except Exception:  # noqa: BLE001 - report, clean up, fail
        print("FAIL: unexpected error:\n" + traceback.format_exc(), flush=True)
        failed = max(1, len(CHECKS) - passed)
        dump = True
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if dump:
            env.procs.dump_logs()
            if env.webhook:
                print(f"---- webhook received {len(env.webhook.alerts())} alert(s): " + json.dumps(
                    [(p, a.get("status"), a.get("labels")) for p, a in env.webhook.alerts()]), flush=True)
        env.stop()
        if args.keep_tmp:
            print(f"temporary files kept in {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    log("done")
    print(f"e2e: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and passed == len(CHECKS) else 1


if __name__ == "__main__":
    sys.exit(main())
