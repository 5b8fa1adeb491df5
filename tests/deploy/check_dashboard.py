#!/usr/bin/python3
"""Checks deploy/grafana/quotad-dashboard.json against a real node (ctest).

  check_dashboard.py <quotad-binary>

Starts the node on 127.0.0.1 (kernel-chosen ports, a temporary data dir,
node "dash-node" in region "dash-region"), makes one Acquire (hand-encoded,
over Debian's python3-grpcio) so the RPC series exist, scrapes /metrics, and
checks: the dashboard's variables are region and node, from label_values of
an exported metric; every metric a panel queries is exported; every label a
panel selects or groups by exists on that metric's series (where the node
has any); every quotad_ series carries region and node. Every wait has a
deadline. Prints what failed; exits 1 on any failure.
"""
import json
import os
import re
import sys

import grpc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "testing"))
from quotad_node import QuotadNode  # noqa: E402

FAILURES = []


def check(cond, message):
    if not cond:
        FAILURES.append(message)


def scrape(binary):
    """{metric name: [label dict, ...]} of a fresh node after one Acquire."""
    policy = f"{ROOT}/deploy/policy/aup.textproto"
    with QuotadNode(binary, policy, node_id="dash-node", region="dash-region") as node:
        acquire = grpc.insecure_channel(node.target).unary_unary(
            "/quotad.v1.QuotaService/Acquire", request_serializer=lambda b: b,
            response_deserializer=lambda b: b)
        acquire(b"\x0a\x09192.0.2.1", timeout=10)  # AcquireRequest{ip: "192.0.2.1"}
        text = node.scrape()
    series = {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            series.setdefault(m.group(1), [])
            if m.group(2) == "histogram":
                for suffix in ("_bucket", "_count", "_sum"):
                    series.setdefault(m.group(1) + suffix, [])
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$", line)
        if m:
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            series.setdefault(m.group(1), []).append(labels)
    return series


def main():
    series = scrape(sys.argv[1])
    for name, samples in series.items():
        if not name.startswith("quotad_"):
            continue  # prometheus-cpp's own exposer_* series
        for labels in samples:
            check(labels.get("region") == "dash-region" and labels.get("node") == "dash-node",
                  f"{name}{labels}: no region/node labels")
    dash = json.load(open(f"{ROOT}/deploy/grafana/quotad-dashboard.json"))
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    for var in ("region", "node"):
        check(var in variables, f"no ${var} variable")
        m = re.match(r"label_values\((\w+)(?:\{[^}]*\})?, (\w+)\)", variables.get(var, {}).get("query", ""))
        check(m is not None and m.group(1) in series and m.group(2) == var,
              f"${var}: {variables.get(var, {}).get('query')}")
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            check('region=~"$region"' in expr and 'node=~"$node"' in expr,
                  f"{panel['title']}: not filtered by $region and $node: {expr}")
            grouped = set()
            for by in re.findall(r"by \(([^)]*)\)", expr):
                grouped |= {label.strip() for label in by.split(",")} - {"le"}
            for name, matchers in re.findall(r"(quotad_\w+)\{([^}]*)\}", expr):
                check(name in series, f"{panel['title']}: {name} is not exported")
                used = set(re.findall(r"(\w+)\s*(?:=~|!=|!~|=)", matchers)) | grouped
                for labels in series.get(name, [])[:1]:
                    missing = used - set(labels)
                    check(not missing, f"{panel['title']}: {name} has no label {sorted(missing)}")
    for f in FAILURES:
        print("FAILED:", f)
    print(f"dashboard: {len(dash['panels'])} panels, {len(series)} metric names exported; "
          f"{len(FAILURES)} failures")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
