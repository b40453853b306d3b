"""How much the review adds to running a program: ``python -m review STACK`` vs a bare mock run.

Both are fresh processes of the same interpreter (so both pay interpreter start-up and SDK imports; the review runs
the program in a child process, see docs/architecture.md "Isolation"); runs
alternate and the median of each is compared. Prints the ratio; target <= 1.2.

    python bench/review_speed.py [--stack prod] [--runs 5] [--format json]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET = 1.2


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[:300]}")
    return elapsed


def main() -> None:
    """Measure and print."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stack", default="prod")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--format", default="json", choices=["text", "json", "markdown"])
    args = ap.parse_args()
    review = [sys.executable, "-m", "review", args.stack, "--format", args.format]
    bare = [sys.executable, str(REPO / "bench" / "bare_run.py"), args.stack]
    _time(review)  # warm the OS file cache and bytecode caches for both
    _time(bare)
    r_times, b_times = [], []
    for _ in range(args.runs):
        r_times.append(_time(review))
        b_times.append(_time(bare))
    r, b = statistics.median(r_times), statistics.median(b_times)
    ratio = r / b
    print(f"stack={args.stack} runs={args.runs}")
    print(f"bare mock run      median {b:.3f}s  (min {min(b_times):.3f}s)")
    print(f"python -m review   median {r:.3f}s  (min {min(r_times):.3f}s)")
    print(f"ratio review/bare  {ratio:.2f}  (target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
