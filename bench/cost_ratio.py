"""What our dev layouts save: a dev estimate / the same capability laid out with the usual defaults.

Each dev stack runs twice through the review engine: as configured (Pulumi.<stack>.yaml, usage.<stack>.yaml when
there is one), and with ``extra_config`` overriding the layout to the usual defaults (:data:`USUAL_DEFAULTS`):

- ``dev`` (AWS): 3 AZs with a NAT gateway per AZ (tasks in private subnets) and x86 Fargate;
- ``gcp-dev``: what the Cloud Run and Memorystore consoles give a newcomer who wants the same capability: one
  always-warm minimum instance (the setting most tutorials add against cold starts) and the cache on, at the
  console's smallest Memorystore shape (Basic tier, 1 GB).

Everything else (service size, database, buckets, logs, alerting, usage) is the same. Prints both totals, the
resources that differ, the ratio (target <= 0.40 for AWS dev) and the total against the 60 USD target with the
biggest cost drivers.

    python bench/cost_ratio.py [--stack dev --stack gcp-dev] [--format text|json]

Each run is its own process (the engine runs one program per interpreter run of a stack directory).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.40
TARGET_DEV_USD = 60.0
USUAL_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "backend-hosting:network": {"azCount": 3, "natStrategy": "per_az"},
        "backend-hosting:service": {"architecture": "x86_64"},
    },
    "gcp-dev": {
        "backend-hosting:service": {"scaling": {"min": 1, "max": 2}},
        "backend-hosting:cache": {"enabled": True},
    },
}
USUAL_LABEL = {"dev": "3 AZs, NAT per AZ, x86", "gcp-dev": "1 warm instance, Memorystore Basic 1 GB"}
TARGET_RATIO_STACKS = ("dev",)
"""The ratio target (<= 0.40) is set for AWS dev; the other stacks print their ratio."""


def estimate(stack: str, extra_config: dict[str, Any] | None) -> dict[str, Any]:
    """The stack's cost report (json) computed in a fresh interpreter (see :func:`_child`)."""
    proc = subprocess.run([sys.executable, __file__, "--child", stack, json.dumps(extra_config or {})], cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"estimate of {stack} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout)


def _child(stack: str, extra_json: str) -> None:
    """Capture the stack (structured overrides merged into the stack file's sections) and print its cost."""
    sys.path.insert(0, str(REPO))
    from review.cost import estimate_graph
    from review.engine import capture_program
    from review.project import load_project, load_stack_config

    extra = json.loads(extra_json)
    base = load_stack_config(load_project(REPO), stack).values
    merged = {k: {**base[k], **v} if isinstance(base.get(k), dict) and isinstance(v, dict) else v
              for k, v in extra.items()}
    graph = capture_program(REPO, stack, extra_config=merged or None)
    usage = REPO / f"usage.{stack}.yaml"
    print(json.dumps(estimate_graph(graph, usage if usage.exists() else None).to_json()))


def _by_resource(report: dict[str, Any]) -> dict[tuple[str, str], float]:
    return {(r["type"].rsplit(":", 1)[-1], r["name"]): r["monthly"] for r in report["resources"]}


def measure(stack: str) -> dict[str, Any]:
    """Both estimates of one stack, the ratio and what differs."""
    ours = estimate(stack, None)
    usual = estimate(stack, USUAL_DEFAULTS[stack])
    a, b = _by_resource(ours), _by_resource(usual)
    diff = sorted(((k, a.get(k, 0.0), b.get(k, 0.0)) for k in set(a) | set(b) if a.get(k, 0.0) != b.get(k, 0.0)),
                  key=lambda d: -(d[2] - d[1]))
    return {"ours": ours, "usual": usual, "ratio": ours["monthly_total"] / usual["monthly_total"], "diff": diff,
            "drivers": sorted(ours["resources"], key=lambda r: -r["monthly"])[:6]}


def main(argv: list[str] | None = None) -> int:
    """Measure and print."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1], argv[2])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack", action="append", choices=sorted(USUAL_DEFAULTS),
                    help="stack to measure (repeatable; default: dev and gcp-dev)")
    ap.add_argument("--format", default="text", choices=["text", "json"])
    args = ap.parse_args(argv)
    stacks = args.stack or list(USUAL_DEFAULTS)
    results = {stack: measure(stack) for stack in stacks}
    if args.format == "json":
        print(json.dumps([{"stack": stack, "ours": m["ours"]["monthly_total"], "usual": m["usual"]["monthly_total"],
                           "usual_defaults": USUAL_DEFAULTS[stack], "ratio": round(m["ratio"], 3),
                           "target_ratio": TARGET_RATIO if stack in TARGET_RATIO_STACKS else None,
                           "target_dev_usd": TARGET_DEV_USD,
                           "drivers": [{"name": r["name"], "type": r["type"], "monthly": r["monthly"]}
                                       for r in m["drivers"]]} for stack, m in results.items()], indent=2))
        return 0
    for stack, m in results.items():
        ours, usual, ratio = m["ours"], m["usual"], m["ratio"]
        label = f"usual defaults ({USUAL_LABEL[stack]})"
        print(f"stack {stack}: usage {ours.get('usage_file') or 'built-in defaults'}")
        print(f"  {'our layout':<56} {ours['monthly_total']:9.2f} USD/month")
        print(f"  {label:<56} {usual['monthly_total']:9.2f} USD/month")
        print("  where they differ (ours -> usual):")
        for (kind, name), x, y in m["diff"]:
            print(f"    {kind:<14} {name:<28} {x:8.2f} -> {y:8.2f}  ({y - x:+.2f})")
        verdict = (f"target <= {TARGET_RATIO:.2f}: {'met' if ratio <= TARGET_RATIO else 'NOT met'}"
                   if stack in TARGET_RATIO_STACKS else "no ratio target")
        print(f"  ratio ours/usual {ratio:.3f}  ({verdict})")
        print(f"  {stack} total {ours['monthly_total']:.2f} USD/month (target <= {TARGET_DEV_USD:.0f}: "
              f"{'met' if ours['monthly_total'] <= TARGET_DEV_USD else 'NOT met'}); biggest cost drivers:")
        for r in m["drivers"]:
            top = sorted(r["components"], key=lambda c: -c["monthly"])[:3]
            parts = ", ".join(f"{c['name']} {c['monthly']:.2f}" for c in top)
            print(f"    {r['monthly']:8.2f}  {r['name']:<26} {parts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
