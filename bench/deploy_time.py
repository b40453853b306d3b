"""Estimated deploy time of a fresh ``pulumi up`` per stack: critical path, slowest resource, ratio.

The ratio is the whole deploy over its slowest single resource (target <= 1.1: nothing slow waits behind
another slow thing it does not need). Times come from review/deploy_times.csv (docs/deploy-time.md).

    python bench/deploy_time.py [--stacks dev,staging,prod,gcp-dev,gcp-prod] [--format text|json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from review.deploy_time import TARGET_RATIO, estimate, short_type  # noqa: E402
from review.engine import InputError, ProgramError, capture_program  # noqa: E402

STACKS = ("dev", "staging", "prod", "gcp-dev", "gcp-prod")


def _mmss(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m}m{s:02d}s"


def main(argv: list[str] | None = None) -> int:
    """Print the estimate per stack; exit 2 on bad input."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stacks", default=",".join(STACKS))
    p.add_argument("--format", choices=("text", "json"), default="text")
    args = p.parse_args(argv)
    out = {}
    for stack in [s.strip() for s in args.stacks.split(",") if s.strip()]:
        try:
            est = estimate(capture_program(REPO, stack))
        except (InputError, ProgramError) as exc:
            print(f"error: {stack}: {exc}", file=sys.stderr)
            return 2
        out[stack] = est
    if args.format == "json":
        print(json.dumps({s: e.to_json() for s, e in out.items()}, indent=2))
        return 0
    for stack, est in out.items():
        flag = "ok" if est.ratio <= TARGET_RATIO else f"ABOVE {TARGET_RATIO}"
        slow = est.slowest
        print(f"{stack}: {_mmss(est.total)} total, slowest {slow.name} ({short_type(slow.type)}) "
              f"{_mmss(slow.seconds)}, ratio {est.ratio:.2f} [{flag}]")
        for step in est.chain:
            print(f"    {_mmss(step.start)} -> {_mmss(step.finish)}  {step.name} ({short_type(step.type)})")
    print("\n| stack | total | slowest resource | ratio |\n|---|---|---|---|")
    for stack, est in out.items():
        print(f"| {stack} | {_mmss(est.total)} | {est.slowest.name} {_mmss(est.slowest.seconds)} | {est.ratio:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
