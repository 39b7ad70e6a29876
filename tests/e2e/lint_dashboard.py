#!/usr/bin/env python3
"""Lint grafana/ai-usage.json (python3 stdlib only).

Usage: lint_dashboard.py DASHBOARD.json [--promtool PATH]

Checks that the dashboard is importable and portable:
  * valid JSON, stable uid "ai-usage-exporter", no numeric id, title, schemaVersion
  * a `datasource` template variable of type datasource (prometheus), and every
    panel and every query target uses {"type": "prometheus", "uid": "${datasource}"}
  * query variables job, instance, project, user, model: multi, include All with
    custom all value `.*`, using the datasource variable, label_values() queries
  * every range vector in a panel query uses $__rate_interval / $__range /
    $__interval (no hard-coded windows), every ai_usage_* selector filters on
    $job and $instance, every variable used in a query is defined
  * unique panel ids and refIds, sane gridPos
  * the required panels exist (spend-this-month stat in a currency unit,
    spend by provider/model/project, topk users and projects, tokens by
    token_type, quota bar gauge 0..1 with 0.9/1 thresholds, cache-hit ratio,
    unpriced requests, ingest rejections)
  * with --promtool: every query, variables substituted, parses as PromQL
    (checked by `promtool check rules` on a generated rule file)
Prints one line per problem and exits 1 if there is any.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboard_lib as dl  # noqa: E402

REQUIRED_QUERY_VARS = ["job", "instance", "project", "user", "model"]
ALLOWED_RANGE_VARS = {"$__rate_interval", "$__range", "$__interval"}

errors = []


def err(msg):
    errors.append(msg)


def check_ds(where, ds):
    if not isinstance(ds, dict):
        err(f"{where}: datasource must be an object using ${{datasource}}, got {ds!r}")
        return
    if ds.get("uid") != dl.DATASOURCE_UID:
        err(f"{where}: datasource uid is {ds.get('uid')!r}, expected '${{datasource}}'")
    if ds.get("type") not in (None, "prometheus"):
        err(f"{where}: datasource type is {ds.get('type')!r}, expected 'prometheus'")


def panel_name(p):
    return f"panel {p.get('id')} {p.get('title')!r}"


def check_expr(where, expr, dash):
    # range vectors: [..] that are not part of a label matcher
    for m in re.finditer(r"\[([^\]]*)\]", expr):
        inner = m.group(1).strip()
        rng = inner.split(":")[0].strip()
        if rng not in ALLOWED_RANGE_VARS:
            err(f"{where}: range [{inner}] is hard-coded; use $__rate_interval or $__range")
    # every exporter metric selector must be filterable by job and instance
    for m in re.finditer(r"\b(ai_usage_\w+)\s*(\{[^}]*\})?", expr):
        metric, sel = m.group(1), m.group(2) or ""
        for var in ("job", "instance"):
            if not re.search(r'\b%s\s*=~\s*"\$%s"' % (var, var), sel):
                err(f"{where}: selector {metric}{sel} lacks {var}=~\"${var}\"")
    try:
        dl.substitute(expr, dash)
    except KeyError as e:
        err(f"{where}: {e.args[0]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dashboard")
    ap.add_argument("--promtool", help="promtool binary; enables PromQL syntax check")
    args = ap.parse_args()

    try:
        dash = dl.load(args.dashboard)
    except (OSError, ValueError) as e:
        print(f"FAIL: cannot load {args.dashboard}: {e}")
        return 1

    # ---------------------------------------------------------- top level
    if dash.get("uid") != "ai-usage-exporter":
        err(f"uid is {dash.get('uid')!r}, expected 'ai-usage-exporter'")
    if dash.get("id") is not None:
        err("id must be null so the dashboard imports on any Grafana")
    if not dash.get("title"):
        err("title missing")
    if not isinstance(dash.get("schemaVersion"), int):
        err("schemaVersion missing")
    if "__inputs" in dash:
        err("__inputs present: use the ${datasource} variable instead of import-time inputs")

    # --------------------------------------------------------- templating
    tvars = dl.template_vars(dash)
    dsv = tvars.get("datasource")
    if not dsv:
        err("template variable 'datasource' missing")
    else:
        if dsv.get("type") != "datasource":
            err(f"variable datasource has type {dsv.get('type')!r}, expected 'datasource'")
        if dsv.get("query") != "prometheus":
            err(f"variable datasource query is {dsv.get('query')!r}, expected 'prometheus'")
    for name in REQUIRED_QUERY_VARS:
        v = tvars.get(name)
        if not v:
            err(f"template variable {name!r} missing")
            continue
        where = f"variable {name}"
        if v.get("type") != "query":
            err(f"{where}: type {v.get('type')!r}, expected 'query'")
        if v.get("multi") is not True:
            err(f"{where}: multi must be true")
        if v.get("includeAll") is not True:
            err(f"{where}: includeAll must be true")
        if v.get("allValue") != ".*":
            err(f"{where}: allValue is {v.get('allValue')!r}, expected '.*'")
        check_ds(where, v.get("datasource"))
        q = dl.variable_query(v)
        lv = dl.parse_label_values(q)
        if not lv or lv[1] != name:
            err(f"{where}: query {q!r} is not label_values(..., {name})")
        if v.get("definition") and v.get("definition") != q:
            err(f"{where}: definition and query differ")
    for name, v in tvars.items():
        if v.get("type") == "query" and name not in REQUIRED_QUERY_VARS:
            check_ds(f"variable {name}", v.get("datasource"))

    # ------------------------------------------------------------- panels
    ids = {}
    all_exprs = []
    for p in dl.iter_panels(dash):
        where = panel_name(p)
        pid = p.get("id")
        if not isinstance(pid, int):
            err(f"{where}: id must be an integer")
        elif pid in ids:
            err(f"{where}: duplicate panel id (also {ids[pid]!r})")
        else:
            ids[pid] = p.get("title")
        gp = p.get("gridPos") or {}
        if not all(isinstance(gp.get(k), int) for k in ("h", "w", "x", "y")):
            err(f"{where}: gridPos needs integer h, w, x, y")
        elif gp["x"] < 0 or gp["x"] + gp["w"] > 24:
            err(f"{where}: gridPos x={gp['x']} w={gp['w']} exceeds 24 columns")
        if p.get("type") == "row":
            continue
        if not p.get("title"):
            err(f"{where}: title missing")
        check_ds(where, p.get("datasource"))
        targets = p.get("targets") or []
        if not targets:
            err(f"{where}: no query targets")
        refids = set()
        for t in targets:
            tw = f"{where} target {t.get('refId')}"
            check_ds(tw, t.get("datasource"))
            if not t.get("refId"):
                err(f"{tw}: refId missing")
            elif t["refId"] in refids:
                err(f"{tw}: duplicate refId")
            refids.add(t.get("refId"))
            expr = t.get("expr")
            if not expr or not isinstance(expr, str):
                err(f"{tw}: expr missing")
                continue
            check_expr(tw, expr, dash)
            all_exprs.append((tw, expr))

    # every "datasource" anywhere must be the variable (builtin annotation aside)
    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "datasource" and not path.startswith("annotations") \
                        and not path.startswith("templating.datasource"):
                    if isinstance(v, str) and v != dl.DATASOURCE_UID:
                        err(f"{path}.datasource is the string {v!r}; use the ${{datasource}} object")
                    elif isinstance(v, dict) and v.get("uid") != dl.DATASOURCE_UID:
                        err(f"{path}.datasource uid {v.get('uid')!r} is hard-coded")
                walk(v, f"{path}.{k}" if path else k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
    walk({k: v for k, v in dash.items() if k != "annotations"}, "")

    # ---------------------------------------------------- required panels
    def panels_where(pred):
        return [p for p in dl.iter_panels(dash) if p.get("type") != "row" and pred(p)]

    def exprs(p):
        return " ".join(t.get("expr", "") for t in p.get("targets") or [])

    def unit(p):
        return ((p.get("fieldConfig") or {}).get("defaults") or {}).get("unit", "")

    required = {
        "stat 'spend this month' (currency unit, this month so far)":
            lambda p: p.get("type") == "stat" and "ai_usage_cost_total" in exprs(p)
            and unit(p).startswith("currency") and p.get("timeFrom") == "now/M",
        "spend rate by provider/model":
            lambda p: p.get("type") == "timeseries" and "ai_usage_cost_total" in exprs(p)
            and re.search(r"by \([^)]*provider[^)]*model", exprs(p)),
        "spend rate by project":
            lambda p: p.get("type") == "timeseries" and "ai_usage_cost_total" in exprs(p)
            and re.search(r"by \([^)]*project", exprs(p)),
        "top users by spend (topk)":
            lambda p: "topk(" in exprs(p) and "ai_usage_cost_total" in exprs(p)
            and re.search(r"by \([^)]*user", exprs(p)),
        "top projects by spend (topk)":
            lambda p: "topk(" in exprs(p) and "ai_usage_cost_total" in exprs(p)
            and re.search(r"by \([^)]*project", exprs(p)),
        "tokens by token_type":
            lambda p: "ai_usage_tokens_total" in exprs(p) and re.search(r"by \([^)]*token_type", exprs(p)),
        "cache-hit ratio":
            lambda p: "cached=\"true\"" in exprs(p) or "ai_usage_cache_hit_ratio" in exprs(p),
        "unpriced requests":
            lambda p: "ai_usage_unpriced_requests_total" in exprs(p),
        "ingest rejections":
            lambda p: "ai_usage_ingest_records_total" in exprs(p) and "rejected" in json.dumps(p),
    }
    for what, pred in required.items():
        if not panels_where(pred):
            err(f"required panel missing: {what}")

    quota = panels_where(lambda p: p.get("type") == "bargauge" and "ai_usage_quota_usage_ratio" in exprs(p))
    if not quota:
        err("required panel missing: quota usage bar gauge from ai_usage_quota_usage_ratio")
    for p in quota:
        d = (p.get("fieldConfig") or {}).get("defaults") or {}
        where = panel_name(p)
        if d.get("min") != 0 or d.get("max") != 1:
            err(f"{where}: quota bar gauge must span min 0 .. max 1 (0-100 %)")
        if d.get("unit") != "percentunit":
            err(f"{where}: quota bar gauge unit must be percentunit")
        steps = [s.get("value") for s in (d.get("thresholds") or {}).get("steps", [])]
        colors = [s.get("color") for s in (d.get("thresholds") or {}).get("steps", [])]
        if 0.9 not in steps or 1 not in steps:
            err(f"{where}: thresholds must include 0.9 and 1 (got {steps})")
        elif len(set(colors)) < 3:
            err(f"{where}: base, 90 % and 100 % thresholds need distinct colours (got {colors})")

    # ------------------------------------------------------ PromQL syntax
    if args.promtool and all_exprs:
        with tempfile.TemporaryDirectory() as tmp:
            rf = os.path.join(tmp, "dashboard_exprs.rules.yml")
            with open(rf, "w", encoding="utf-8") as f:
                f.write("groups:\n  - name: dashboard\n    rules:\n")
                for i, (where, expr) in enumerate(all_exprs):
                    try:
                        q = dl.substitute(expr, dash)
                    except KeyError:
                        continue  # already reported
                    f.write(f"      - record: dashboard_expr_{i}\n")
                    f.write(f"        expr: {json.dumps(q)}\n")
            r = subprocess.run([args.promtool, "check", "rules", rf],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                out = (r.stdout + r.stderr).strip()
                bad = sorted({int(n) for n in re.findall(r"dashboard_expr_(\d+)", out)})
                detail = "".join(f"\n    dashboard_expr_{i} = {all_exprs[i][0]}: {all_exprs[i][1]}"
                                 for i in bad if i < len(all_exprs))
                err("PromQL syntax check failed:\n" + out + detail)

    for e in errors:
        print("FAIL: " + e)
    n_targets = len(all_exprs)
    if errors:
        print(f"lint_dashboard: {len(errors)} problem(s) in {args.dashboard}")
        return 1
    print(f"lint_dashboard: OK ({sum(1 for _ in dl.iter_panels(dash))} panels, "
          f"{n_targets} queries, {len(tvars)} variables)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
