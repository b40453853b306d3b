"""Baseline for bench/review_speed.py: run the program under Pulumi's plain mock runtime and nothing else.

Same interpreter and process model as ``python -m review``: one process, the program's config from its stack
file, the same mock answers for provider functions; but no graph capture, no policies, no pricing, no output.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime import stack as pulumi_stack
from pulumi.runtime.sync_await import _sync_await

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from review.mocks import ReviewMocks  # noqa: E402
from review.project import load_project, load_stack_config  # noqa: E402


def main() -> None:
    """``python bench/bare_run.py STACK [DIR]``."""
    stack = sys.argv[1] if len(sys.argv) > 1 else "prod"
    project = load_project(sys.argv[2] if len(sys.argv) > 2 else REPO)
    cfg = load_stack_config(project, stack)
    region = str(cfg.values.get(f"{project.name}:region") or cfg.values.get("aws:region") or "us-east-1")
    pulumi_mocks.set_mocks(ReviewMocks(region=region), project=project.name, stack=stack, preview=True)
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_all_config(cfg.as_engine_config(), cfg.secret_keys)
    sys.path.insert(0, str(project.program_dir))
    import os

    os.chdir(project.program_dir)
    _sync_await(pulumi_stack.run_in_stack(lambda: runpy.run_path(str(project.main), run_name="__main__")))


if __name__ == "__main__":
    main()
