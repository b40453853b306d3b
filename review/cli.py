"""``python -m review [STACK] [--program DIR] [--format text|markdown|json|mermaid] ...``

Exit 0: no mandatory violation. Exit 1: mandatory, unwaived violations. Exit 2: bad input (one line).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from .diff import Diff, base_workdir, checkout, compare, diff_markdown, diff_text
from .engine import InputError, ProgramError, run_stack
from .project import load_project
from .render import Report, render_json, render_markdown, render_mermaid, render_text

FORMATS = ("text", "markdown", "json", "mermaid", "tfplan")
REPO_ROOT = Path(__file__).resolve().parent.parent


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line and exit 2 (its own default is a usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"review: {message} (see python -m review --help)")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = _Parser(prog="python -m review", description="Offline review of a Pulumi Python program: resources, "
                "policy verdicts and monthly cost, under mocks, without cloud credentials.")
    p.add_argument("stack", nargs="?", default="dev", help="stack name (reads Pulumi.STACK.yaml); default dev")
    p.add_argument("--program", default=str(REPO_ROOT), metavar="DIR",
                   help="Pulumi project directory (default: this repository)")
    p.add_argument("--format", default="text", choices=FORMATS,
                   help="output format (default text); tfplan: the resources as Terraform plan JSON, for "
                        "Checkov, Trivy or OPA policies written for Terraform")
    p.add_argument("--policy-pack", action="append", default=[], metavar="DIR",
                   help="also run this CrossGuard policy pack (repeatable)")
    p.add_argument("--policy-pack-config", metavar="FILE",
                   help="JSON policy config keyed by pack name, as the CLI's --policy-pack-config takes per pack")
    p.add_argument("--no-policies", action="store_true", help="skip policy packs")
    p.add_argument("--usage", metavar="FILE", help="usage file for usage-based costs (default usage.STACK.yaml)")
    p.add_argument("--no-cost", action="store_true", help="skip the cost estimate")
    p.add_argument("--base", metavar="GITREF",
                   help="also review GITREF (e.g. origin/main) and show what changes against it")
    p.add_argument("--color", action="store_true", help="colour the text output")
    return p


def review(stack: str, program: Path, *, policy_packs: Sequence[str] = (), policies: bool = True,
           cost: bool = True, usage: str | None = None, policy_config: str | None = None) -> Report:
    """Run the program for STACK and judge and price it."""
    project = load_project(program)
    graph = run_stack(project, stack)
    report = Report(graph=graph)
    default_usage = project.root / f"usage.{stack}.yaml"
    usage_path = Path(usage) if usage else (default_usage if default_usage.exists() else None)
    if usage_path is not None and not usage_path.is_file():
        raise InputError(f"--usage {usage_path}: no such file")
    if policies:
        from .policy_runner import run_policies

        if policy_config is not None and not Path(policy_config).is_file():
            raise InputError(f"--policy-pack-config {policy_config}: no such file")
        # The cost pack's budget policy prices the stack with the same usage file as the report below.
        with _env("REVIEW_USAGE_FILE", str(usage_path) if usage_path else None):
            report.violations, report.policies_run = run_policies(
                graph, extra_packs=[Path(p) for p in policy_packs], policy_config=policy_config)
    if cost:
        from .cost import estimate_graph

        report.cost = estimate_graph(graph, usage_path)
    return report


@contextlib.contextmanager
def _env(name: str, value: str | None) -> Iterator[None]:
    """Set (or unset) an environment variable for the duration of a block."""
    old = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def close_event_loops() -> None:
    """Close the runtime's event loops before the process exits (else asyncio may print teardown noise)."""
    import asyncio
    import gc

    for obj in gc.get_objects():
        if isinstance(obj, asyncio.AbstractEventLoop) and not obj.is_closed() and not obj.is_running():
            obj.close()


def _diff_against(args: argparse.Namespace, head: Report) -> Diff:
    """Review the same stack at ``--base`` and compare it with the working tree's review."""
    with base_workdir() as tmp:
        base_program = checkout(args.base, Path(args.program), Path(tmp))
        try:
            base = review(args.stack, base_program, policy_packs=args.policy_pack, policies=not args.no_policies,
                          cost=not args.no_cost, usage=args.usage, policy_config=args.policy_pack_config)
        except InputError as exc:
            raise InputError(f"--base {args.base}: {exc}") from None
        except ProgramError as exc:
            raise ProgramError(f"at --base {args.base}: {exc}") from None
    return compare(base, head, args.base)


def _render_tfplan(report: Report) -> str:
    from .tfplan import to_tfplan

    return json.dumps(to_tfplan(report.graph), indent=2, default=str)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        report = review(args.stack, Path(args.program), policy_packs=args.policy_pack,
                        policies=not args.no_policies, cost=not args.no_cost, usage=args.usage,
                        policy_config=args.policy_pack_config)
        diff = _diff_against(args, report) if args.base else None
    except (InputError, ProgramError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    render = {"text": lambda r: render_text(r, color=args.color), "json": render_json,
              "markdown": render_markdown, "mermaid": render_mermaid, "tfplan": _render_tfplan}[args.format]
    if diff is not None and args.format == "json":
        doc = report.to_json()
        doc["diff"] = diff.to_json()
        text = json.dumps(doc, indent=2, default=str)
    else:
        text = render(report)
        if diff is not None and args.format == "text":
            text = text.rstrip("\n") + "\n\n" + diff_text(diff) + "\n"
        elif diff is not None and args.format == "markdown":
            text = text.rstrip("\n") + "\n\n" + diff_markdown(diff)
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head: not an error of the review
        sys.stderr.close()
    return report.exit_code
