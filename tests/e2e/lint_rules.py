#!/usr/bin/env python3
"""Check alerting-rule conventions that promtool does not (python3 stdlib only).

Usage: lint_rules.py ALERTS.yml RECORDING.yml RUNBOOK.md

  * every alert has a `for:`, a severity label (warning|critical), and
    summary, description and runbook_url annotations
  * every runbook_url anchor exists in the runbook (explicit <a id=...> or the
    GitHub slug of a heading), and every alert name has a runbook section
  * quota alerts mention scope, subject, window, resource and the humanized percentage
  * recording rule names follow level:metric:operation
The rule files are parsed with a small indentation-based reader, enough for
the flat layout used in rules/ (no YAML library needed).
"""
import re
import sys

errors = []


def err(msg):
    errors.append(msg)


def read_rules(path):
    """List of dicts with keys alert/record, for, labels, annotations."""
    rules, cur, section = [], None, None
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for raw in lines:
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        m = re.match(r"^(\s*)- (alert|record):\s*(\S+)\s*$", line)
        if m:
            cur = {"kind": m.group(2), "name": m.group(3), "indent": len(m.group(1)) + 2,
                   "labels": {}, "annotations": {}, "for": None}
            rules.append(cur)
            section = None
            continue
        if cur is None:
            continue
        indent = len(line) - len(line.lstrip())
        if indent < cur["indent"]:
            cur, section = None, None
            continue
        m = re.match(r"^\s*(\w+):\s*(.*)$", line)
        if not m:
            continue
        key, val = m.group(1), m.group(2).strip()
        if indent == cur["indent"]:
            section = key if key in ("labels", "annotations") else None
            if key == "for":
                cur["for"] = val
        elif section and indent > cur["indent"]:
            if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
                val = val[1:-1]
            cur[section][key] = val
    return rules


def github_slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def runbook_anchors(path):
    anchors = set()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    anchors.update(re.findall(r'<a\s+(?:id|name)="([^"]+)"', text))
    for h in re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.M):
        anchors.add(github_slug(h))
    return anchors


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    alerts_path, rec_path, runbook = sys.argv[1:]
    anchors = runbook_anchors(runbook)

    alerts = [r for r in read_rules(alerts_path) if r["kind"] == "alert"]
    if not alerts:
        err(f"{alerts_path}: no alerts found")
    for a in alerts:
        w = f"alert {a['name']} ({a['labels'].get('severity')})"
        if not a["for"]:
            err(f"{w}: no for: duration")
        sev = a["labels"].get("severity")
        if sev not in ("warning", "critical"):
            err(f"{w}: severity label is {sev!r}, expected warning or critical")
        for ann in ("summary", "description", "runbook_url"):
            if not a["annotations"].get(ann):
                err(f"{w}: annotation {ann} missing")
        url = a["annotations"].get("runbook_url", "")
        m = re.search(r"docs/runbook\.md#([\w\-]+)$", url)
        if not m:
            err(f"{w}: runbook_url {url!r} does not point at docs/runbook.md#anchor")
        elif m.group(1) not in anchors:
            err(f"{w}: runbook anchor #{m.group(1)} not found in {runbook}")
        elif m.group(1) != a["name"].lower():
            err(f"{w}: runbook anchor #{m.group(1)} should be #{a['name'].lower()}")
        if a["name"].startswith("AIUsageQuota"):
            for ann in ("summary", "description"):
                text = a["annotations"].get(ann, "")
                for need in ("$labels.scope", "$labels.subject", "$labels.resource",
                             "$labels.window", "$value | humanizePercentage"):
                    if need not in text:
                        err(f"{w}: {ann} does not mention {{{{ {need} }}}}")
    sevs = {}
    for a in alerts:
        sevs.setdefault(a["name"], set()).add(a["labels"].get("severity"))
    if sevs.get("AIUsageQuotaExhausted") != {"warning", "critical"}:
        err(f"expected AIUsageQuotaExhausted with warning and critical severities, got "
            f"{sorted(sevs.get('AIUsageQuotaExhausted', set()))}")

    records = [r for r in read_rules(rec_path) if r["kind"] == "record"]
    if not records:
        err(f"{rec_path}: no recording rules found")
    for r in records:
        if not re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", r["name"]):
            err(f"recording rule {r['name']}: name does not follow level:metric:operation")

    for e in errors:
        print("FAIL: " + e)
    if errors:
        print(f"lint_rules: {len(errors)} problem(s)")
        return 1
    print(f"lint_rules: OK ({len(alerts)} alerts, {len(records)} recording rules, "
          f"{len(anchors)} runbook anchors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
