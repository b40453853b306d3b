"""``python -m review [STACK | --all-stacks] [--program DIR] [--format text|markdown|json|mermaid|tfplan] ...``

Exit 0: no mandatory violation. Exit 1: mandatory, unwaived violations. Exit 2: bad input (one line). With
``--all-stacks``: 2 if any stack had bad input (named on stderr), else 1 if any stack is blocked, else 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .isolate import DEFAULT_TIMEOUT, ProgramOutput, one_line, run_isolated
from .model import SECRET
from .project import InputError, ProgramError, load_project, load_stack_config, stack_name
from .secrets import build_graph, resource_tokens, scrub

if TYPE_CHECKING:
    from .deploy_time import DeployEstimate
    from .diff import Diff
    from .model import Graph
    from .pr_report import StackReview
    from .render import Report

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
    p.add_argument("stack", nargs="?", default=None, help="stack name (reads Pulumi.STACK.yaml); default dev")
    p.add_argument("--all-stacks", action="store_true",
                   help="review every stack of the program (each Pulumi.STACK.yaml, sorted by name) in one report; "
                        "not with a STACK argument; formats text, markdown and json")
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
    p.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"stop the program after this many seconds (exit 2); default {DEFAULT_TIMEOUT:g}")
    return p


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"--timeout {one_line(text, 40)!r}: expected a positive number of seconds")
    return value


def _preload(policies: bool, cost: bool) -> None:
    """Import the judging and pricing code while the program runs in its child process."""
    with contextlib.suppress(Exception):
        from . import diff, render  # noqa: F401
        from .isolate import answer_schema

        answer_schema()
        if policies:
            from . import policy_runner  # noqa: F401
        if cost:
            from . import cost as _cost  # noqa: F401


def _config_tokens(graph: Graph) -> set[str]:
    """The plain values of secret config keys (short ones are scrubbed as whole words)."""
    return {str(v) for k, v in graph.real_config.items()
            if k in graph.secret_keys and isinstance(v, (str, int, float)) and not isinstance(v, bool) and v != SECRET}


def review(stack: str, program: Path, *, policy_packs: Sequence[str] = (), policies: bool = True,
           cost: bool = True, usage: str | None = None, policy_config: str | None = None,
           timeout: float = DEFAULT_TIMEOUT) -> Report:
    """Run the program for STACK in a child process (:mod:`review.isolate`), then judge and price its graph here."""
    short = stack_name(stack)
    project = load_project(program)
    config = load_stack_config(project, short)
    if config.note:  # no stack file: previewed with the project's defaults, as the CLI does
        _say(f"note: {one_line(config.note, 400)}")
    default_usage = project.root / f"usage.{short}.yaml"
    usage_path = Path(usage) if usage else (default_usage if default_usage.exists() else None)
    if usage_path is not None and not usage_path.is_file():
        raise InputError(f"--usage {usage_path}: no such file")
    if usage_path is not None:
        try:
            usage_path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{usage_path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
        except OSError as exc:
            raise InputError(f"{usage_path}: cannot read: {exc.strerror or exc}") from None
    if policies and policy_config is not None and not Path(policy_config).is_file():
        raise InputError(f"--policy-pack-config {policy_config}: no such file")
    pack_config: dict[str, Any] | None = None
    if policies and policy_config is not None:  # read (and refused) before the program runs, like --usage
        from .policy_runner import load_policy_config

        pack_config = load_policy_config(policy_config)
    loader = threading.Thread(target=_preload, args=(policies, cost), daemon=True)
    loader.start()
    known = {str(config.values[k]) for k in config.secret_keys
             if k in config.values and config.values[k] != SECRET and not isinstance(config.values[k], bool)}
    try:
        raw, output = run_isolated(project, short, config, timeout=timeout)
    except (InputError, ProgramError) as exc:  # the program's own message may quote a secret config value
        raise type(exc)(scrub(str(exc), known, known)) from None
    graph = build_graph(raw, dict(config.values), config.secret_keys)
    loader.join()
    from .render import Report

    report = Report(graph=graph, program_output=output)
    # Priced once: the report's cost section and the cost pack's budget rules use the same estimate.
    estimate = None
    if cost or policies:
        from .cost import estimate_graph

        estimate = estimate_graph(graph, usage_path)
    if policies:
        from .policy_runner import run_policies

        report.violations, report.policies_run = run_policies(
            graph, extra_packs=[Path(p) for p in policy_packs], policy_config=pack_config, cost_estimate=estimate)
        by_urn = {r.urn: r for r in graph.resources}
        for v in report.violations:  # a policy may quote the real value it judged
            res = by_urn.get(v.urn) if v.urn else None
            tokens = resource_tokens(res) if res is not None else set()
            v.message = scrub(v.message, graph.secret_texts, tokens | _config_tokens(graph))
    if cost:
        report.cost = estimate
    return report


def _diff_against(args: argparse.Namespace, head: Report, stack: str) -> tuple[Diff, Report]:
    """Review the same stack at ``--base`` and compare it with the working tree's review (and the base review)."""
    from .diff import base_workdir, checkout, compare

    with base_workdir() as tmp:
        base_program = checkout(args.base, Path(args.program), Path(tmp))
        shown = one_line(args.base, 80)
        if _new_stack(stack, Path(args.program), base_program):  # added by the change: everything is a create
            from .model import CostReport, Graph
            from .render import Report

            empty = Report(graph=Graph(head.graph.project, head.graph.stack, [], {}),
                           cost=CostReport() if head.cost is not None else None)
            return compare(empty, head, args.base), empty
        try:
            base = review(stack, base_program, policy_packs=args.policy_pack, policies=not args.no_policies,
                          cost=not args.no_cost, usage=args.usage, policy_config=args.policy_pack_config,
                          timeout=args.timeout)
        except InputError as exc:
            raise InputError(f"--base {shown}: {exc}") from None
        except ProgramError as exc:
            raise ProgramError(f"at --base {shown}: {exc}") from None
    return compare(base, head, args.base), base


def _new_stack(stack: str, program: Path, base_program: Path) -> bool:
    """True when the working tree has ``Pulumi.<stack>.yaml`` and the base revision has no such file."""
    try:
        here = load_project(program).stack_file(stack).is_file()
        there = load_project(base_program).stack_file(stack).is_file()
    except InputError:  # no project at the base: reviewing it says so
        return False
    return here and not there


def deploy_estimates(report: Report, diff: Diff | None = None, base: Report | None = None) -> dict[str, DeployEstimate]:
    """``fresh``: a first ``pulumi up`` of the stack; ``change``: the change against ``--base`` (when given)."""
    from .deploy_time import estimate, estimate_diff

    out = {"fresh": estimate(report.graph)}
    if diff is not None:
        out["change"] = estimate_diff(report.graph, base.graph if base else None, diff.changes)
    return out


class _Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP: handled like SIGINT."""


def _on_signal(signum: int, frame: object) -> None:
    raise _Signalled(signal.Signals(signum).name)


def _say(line: str) -> None:
    """One line on stderr (which may be closed)."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def show_program_output(output: ProgramOutput | None, secrets: frozenset[str] = frozenset(), *,
                        max_lines: int = 40) -> str:
    """What the program printed, for stderr: each line prefixed, escaped and without the text of the secrets it
    knows, at most ``max_lines`` per stream."""
    if output is None:
        return ""
    parts = []
    for name, data, total in (("stdout", output.stdout, output.stdout_total),
                              ("stderr", output.stderr, output.stderr_total)):
        if not total:
            continue
        lines = data.decode("utf-8", errors="replace").splitlines()
        shown = [f"  | {one_line(scrub(line, secrets), 200)}" for line in lines[:max_lines]]
        more = total - sum(len(line.encode()) + 1 for line in lines[:max_lines])
        parts.append(f"program {name} ({total} bytes, shown apart from the report):")
        parts.extend(shown)
        if more > 0:
            parts.append(f"  | ... {more} more bytes not shown")
    return "\n".join(parts)


def _write_stdout(text: str) -> bool:
    """Write the report; False if stdout was closed (e.g. piped into ``head``)."""
    try:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        return True
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError):  # so the interpreter's final flush does not fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        return False


def _render_tfplan(report: Report) -> str:
    from .tfplan import to_tfplan

    return json.dumps(to_tfplan(report.graph), indent=2, default=str)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code: 0 pass, 1 blocked by a mandatory unwaived violation, 2 anything else."""
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):
            handlers[sig] = signal.signal(sig, _on_signal)
    try:
        return _main(argv)
    except KeyboardInterrupt as exc:
        _say(f"error: interrupted ({exc.args[0] if isinstance(exc, _Signalled) else 'SIGINT'}); no verdict")
        return 2
    except (InputError, ProgramError) as exc:
        _say(f"error: {one_line(str(exc), 600)}")
        return 2
    except Exception as exc:
        _say(f"error: internal error: {type(exc).__name__}: {one_line(str(exc), 300)}")
        return 2
    finally:
        for sig, old in handlers.items():
            signal.signal(sig, old)


def review_stack(args: argparse.Namespace, stack: str) -> StackReview:
    """Review one stack as the command line asks (and against ``--base``), with its deploy-time estimate."""
    from .pr_report import StackReview, add_details

    report = review(stack, Path(args.program), policy_packs=args.policy_pack,
                    policies=not args.no_policies, cost=not args.no_cost, usage=args.usage,
                    policy_config=args.policy_pack_config, timeout=args.timeout)
    diff, base = _diff_against(args, report, stack) if args.base is not None else (None, None)
    return add_details(StackReview(stack, report, diff, base, deploy_estimates(report, diff, base)))


def _stack_json(sr: StackReview) -> dict:
    from .recovery import assess as assess_recovery

    if sr.report is None:
        return {"stack": sr.stack, "error": sr.error, "exit_code": 2}
    doc = sr.report.to_json()
    if sr.diff is not None:
        doc["diff"] = sr.diff.to_json()
    doc["deploy_time"] = {k: v.to_json() for k, v in sr.deploy.items()}
    doc["recovery"] = assess_recovery(sr.report.graph, sr.report.cost).to_json()
    doc["exit_code"] = sr.exit_code
    return doc


def _stack_text(sr: StackReview, color: bool) -> str:
    from .diff import diff_text
    from .recovery import assess as assess_recovery
    from .render import render_text

    if sr.report is None:
        return f"{sr.stack}: not reviewed: {sr.error}\n"
    text = render_text(sr.report, color=color)
    text = text.rstrip("\n") + "\n\n" + "\n".join(e.summary() for e in sr.deploy.values()) + "\n"
    text += "\n" + assess_recovery(sr.report.graph, sr.report.cost).to_text()
    if sr.diff is not None:
        text = text.rstrip("\n") + "\n\n" + diff_text(sr.diff) + "\n"
    return text


def _all_stacks(args: argparse.Namespace) -> list[StackReview]:
    from .pr_report import StackReview

    if args.stack is not None:
        raise InputError(f"--all-stacks reviews every stack: drop the stack argument {one_line(args.stack, 80)!r} "
                         "(or drop --all-stacks)")
    if args.usage is not None:
        raise InputError("--usage names one stack's usage file: with --all-stacks each stack reads its own "
                         "usage.STACK.yaml")
    if args.format not in ("text", "markdown", "json"):
        raise InputError(f"--all-stacks works with --format text, markdown or json, not {args.format}")
    stacks = load_project(Path(args.program)).stacks()
    if not stacks:
        raise InputError(f"{args.program}: no Pulumi.<stack>.yaml file: no stack to review with --all-stacks")
    out = []
    for stack in stacks:
        try:
            out.append(review_stack(args, stack))
        except (InputError, ProgramError) as exc:
            out.append(StackReview(stack, error=one_line(str(exc), 600)))
    return out


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if not args.all_stacks:
        args.stack = args.stack if args.stack is not None else "dev"
        stack_name(args.stack)
    if args.base is not None:  # refused before any program runs
        from .diff import resolve_base

        resolve_base(args.base, Path(args.program))
    if args.all_stacks:
        reviews = _all_stacks(args)
    else:
        reviews = [review_stack(args, args.stack)]
    from .pr_report import render as render_pr
    from .render import render_mermaid

    if args.format == "json":
        docs = [_stack_json(sr) for sr in reviews]
        if args.all_stacks:
            code = _combined_exit(reviews)
            text = json.dumps({"project": load_project(Path(args.program)).name, "exit_code": code, "stacks": docs},
                              indent=2, default=str)
        else:
            docs[0].pop("exit_code", None)
            text = json.dumps(docs[0], indent=2, default=str)
    elif args.format == "text":
        parts = [_stack_text(sr, args.color) for sr in reviews]
        if args.all_stacks:
            head = [f"{sr.stack}: " + (f"not reviewed: {sr.error}" if sr.error else
                                       "BLOCKED" if sr.exit_code else "pass") for sr in reviews]
            parts = ["Stacks: " + "; ".join(head) + "\n",
                     *(f"=== {sr.stack} ===\n{t}" for sr, t in zip(reviews, parts, strict=True))]
        text = "\n".join(parts)
    elif args.format == "markdown":
        project = reviews[0].report.graph.project if reviews[0].report else load_project(Path(args.program)).name
        text = render_pr(reviews, project=project, all_stacks=args.all_stacks)
    elif args.format == "mermaid":
        text = render_mermaid(reviews[0].report)
    else:
        text = _render_tfplan(reviews[0].report)
    for sr in reviews:
        if sr.report is None:
            continue
        shown = show_program_output(sr.report.program_output, sr.report.graph.secret_texts)
        if shown:
            _say(shown if not args.all_stacks else f"stack {sr.stack}: " + shown)
    if not _write_stdout(text):
        _say("error: standard output was closed before the whole report was written; no verdict")
        return 2
    for sr in reviews:
        if sr.error is not None:
            _say(f"error: stack {one_line(sr.stack, 80)}: {sr.error}")
    return _combined_exit(reviews)


def _combined_exit(reviews: Sequence[StackReview]) -> int:
    """2 if any stack had bad input, else 1 if any is blocked, else 0."""
    codes = {sr.exit_code for sr in reviews}
    return 2 if 2 in codes else 1 if 1 in codes else 0
