"""Policy precision and reach on the corpus (bench/corpus): bad programs caught and good programs left clean.

A bad program counts as caught only when a policy about its defect reports it (any level); a good program is
clean when no policy reports a mandatory, unwaived finding. Targets: 100% and 100%.

    python bench/policy_corpus.py [--verbose] [--cloud aws|gcp]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.corpus import PROGRAMS, judge, real_secret_values  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the corpus and print the figures; exit 1 when a target is missed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--verbose", "-v", action="store_true", help="list every program and its verdict")
    ap.add_argument("--cloud", choices=["aws", "gcp"])
    args = ap.parse_args(argv)
    start = time.perf_counter()
    programs = [p for p in PROGRAMS if args.cloud in (None, p.cloud)]
    real = real_secret_values()
    skipped = [p for p in programs if p.needs_real_secrets and not real]
    verdicts = [judge(p) for p in programs if p not in skipped]
    good = [v for v in verdicts if v.program.good]
    bad = [v for v in verdicts if not v.program.good]
    caught = [v for v in bad if v.ok]
    clean = [v for v in good if v.ok]
    for v in verdicts:
        if args.verbose or not v.ok:
            mark = "ok  " if v.ok else "MISS"
            detail = (", ".join(v.mandatory) or "clean") if v.program.good else (
                f"expects {'/'.join(v.program.catches)}; fired {len(v.fired)} policies")
            print(f"{mark} {v.program.name}: {detail}")
    elapsed = time.perf_counter() - start
    print(f"programs: {len(verdicts)} ({len(good)} good, {len(bad)} bad; "
          f"{sum(p.cloud == 'aws' for p in programs)} AWS, {sum(p.cloud == 'gcp' for p in programs)} GCP; "
          f"{sum(bool(p.config) for p in programs)} without an environment, the rest prod) "
          f"in {elapsed:.1f}s")
    if skipped:
        print(f"not judged: {len(skipped)} bad programs whose defect is a literal in a secret-wrapped input "
              f"({', '.join(p.name for p in skipped)}): this review redacts secret inputs before policies see them")
    print(f"bad caught: {len(caught)}/{len(bad)} = {100 * len(caught) / max(len(bad), 1):.1f}%  (target 100%)")
    print(f"good left clean: {len(clean)}/{len(good)} = {100 * len(clean) / max(len(good), 1):.1f}%  (target 100%)")
    return 0 if len(caught) == len(bad) and len(clean) == len(good) else 1


if __name__ == "__main__":
    sys.exit(main())
