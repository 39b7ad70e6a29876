"""Helpers shared by lint_dashboard.py and e2e_test.py (python3 stdlib only).

Walks a Grafana dashboard JSON model and turns the PromQL of its panels into
plain PromQL that Prometheus can evaluate, by substituting Grafana's template
and global variables with fixed values.
"""
import json
import re

DATASOURCE_UID = "${datasource}"

# Grafana global variables -> values usable in a plain PromQL query.
GLOBAL_VARS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__interval_ms": "15000",
}


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def iter_panels(dashboard):
    """Every panel, including panels nested in (collapsed) rows."""
    for p in dashboard.get("panels", []):
        yield p
        for sub in p.get("panels", []) or []:
            yield sub


def iter_targets(dashboard):
    """(panel, target) for every query target of every panel."""
    for p in iter_panels(dashboard):
        for t in p.get("targets", []) or []:
            yield p, t


def template_vars(dashboard):
    return {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}


_VAR_RE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]")


def substitute(expr, dashboard, all_value=".*"):
    """Replace $var / ${var} / ${var:fmt} / [[var]] with concrete values.

    Query/custom variables become their allValue (default `.*`), Grafana
    global variables the values in GLOBAL_VARS.  Unknown variables raise
    KeyError so that a typo in a dashboard is caught.
    """
    tvars = template_vars(dashboard)

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in GLOBAL_VARS:
            return GLOBAL_VARS[name]
        if name in tvars:
            v = tvars[name]
            if v.get("type") == "datasource":
                raise KeyError("datasource variable used inside a query: $" + name)
            return v.get("allValue") or all_value
        raise KeyError("unknown variable $" + name)

    return _VAR_RE.sub(repl, expr)


def variable_query(var):
    """The query string of a query variable (string or object form)."""
    q = var.get("query")
    if isinstance(q, dict):
        q = q.get("query", "")
    return q or var.get("definition", "")


_LABEL_VALUES_RE = re.compile(r"^\s*label_values\(\s*(?:(.+?)\s*,\s*)?(\w+)\s*\)\s*$", re.S)


def parse_label_values(query):
    """label_values(metric{sel}, label) -> (match or None, label); None if not label_values."""
    m = _LABEL_VALUES_RE.match(query or "")
    if not m:
        return None
    return m.group(1), m.group(2)
