"""``python -m ops bootstrap-gcp``: the GCP delivery bootstrap's config, derived from the stacks (docs/ops.md).

Captures each GCP stack offline (review engine), derives its deploy account's roles
(:mod:`ops.gcp_bootstrap.roles`), and prints (or, with ``--write``, writes) the config of the bootstrap stack
``ops/gcp_bootstrap/Pulumi.<project>.yaml``; ``pulumi up`` in that directory creates the resources.
Exit 0: done. Exit 2: bad input (one line).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from .gcp_bootstrap.program import REPO_RE, STACK_RE, attribute_condition, secrets_provider
from .prices import OpsError

BOOTSTRAP_DIR = Path(__file__).resolve().parent / "gcp_bootstrap"
PROJECT_RE = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
GCP_REGION_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]$")
GCS_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$")
BILLING_RE = re.compile(r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")


class BadInput(Exception):
    """Bad command-line input (exit 2)."""


def add_parser(sub: Any) -> None:
    """The ``bootstrap-gcp`` subcommand."""
    g = sub.add_parser("bootstrap-gcp", help="GCP: workload identity for GitHub, deploy accounts, state bucket, keys",
                       description="Derive the GCP delivery bootstrap's config from the stacks and print or write "
                                   "ops/gcp_bootstrap/Pulumi.<project>.yaml (then pulumi up there; docs/runbook.md).")
    g.add_argument("--repo", required=True, metavar="ORG/REPO", help="GitHub repository allowed to deploy")
    g.add_argument("--stacks", required=True, metavar="LIST", help="comma-separated GCP stacks, e.g. gcp-dev,gcp-prod")
    g.add_argument("--project", metavar="PROJECT", help="GCP project (default: the stacks' gcpProject; they must "
                                                        "share it)")
    g.add_argument("--region", metavar="REGION", help="region of the state bucket and keys (default: the stacks' "
                                                      "region)")
    g.add_argument("--bucket", metavar="NAME", help="state bucket (default: <project>-pulumi-state)")
    g.add_argument("--billing-account", metavar="ID",
                   help="billing account of the stacks' budgets (XXXXXX-XXXXXX-XXXXXX)")
    g.add_argument("--program", metavar="DIR", default=".", help="the Pulumi project of the stacks (default: .)")
    g.add_argument("--write", action="store_true", help="write the bootstrap stack file instead of printing it")


def _stack_region(graph: Any) -> str | None:
    for r in graph:
        if r.type == "pulumi:providers:gcp" and isinstance(r.inputs.get("region"), str):
            return r.inputs["region"]
    value = graph.config_value("region")
    return value if isinstance(value, str) else None


def run(args: argparse.Namespace, graph_loader: Callable[[Path, str], Any] | None = None,
        out_dir: Path = BOOTSTRAP_DIR) -> tuple[str, dict[str, Any], list[str]]:
    """(bootstrap stack name, its config document, next steps); raises BadInput or OpsError."""
    from .gcp_bootstrap.roles import grants_for_graph

    stacks = list(dict.fromkeys(s.strip() for s in args.stacks.split(",") if s.strip()))
    if not REPO_RE.match(args.repo):
        raise BadInput(f"ops: --repo {args.repo!r} is not ORG/REPO")
    if not stacks or not all(STACK_RE.match(s) for s in stacks):
        raise BadInput(f"ops: --stacks {args.stacks!r} is not a comma-separated list of stack names")
    if args.project and not PROJECT_RE.match(args.project):
        raise BadInput(f"ops: --project {args.project!r} is not a GCP project id")
    if args.region and not GCP_REGION_RE.match(args.region):
        raise BadInput(f"ops: --region {args.region!r} is not a GCP region (e.g. us-central1)")
    if args.bucket and not GCS_BUCKET_RE.match(args.bucket):
        raise BadInput(f"ops: --bucket {args.bucket!r} is not a valid bucket name")
    if args.billing_account and not BILLING_RE.match(args.billing_account):
        raise BadInput(f"ops: --billing-account {args.billing_account!r} is not XXXXXX-XXXXXX-XXXXXX")
    program = Path(args.program)
    real = graph_loader is None
    if graph_loader is None:
        if not (program / "Pulumi.yaml").is_file():
            raise BadInput(f"ops: --program {args.program}: no Pulumi.yaml there")
        from review.engine import capture_program

        def graph_loader(directory: Path, stack: str) -> Any:
            return capture_program(directory, stack)

    entries: dict[str, Any] = {}
    projects: set[str] = set()
    regions: set[str] = set()
    for s in stacks:
        if real and not (program / f"Pulumi.{s}.yaml").is_file():
            raise BadInput(f"ops: --stacks: no stack {s!r} (no Pulumi.{s}.yaml in {program})")
        graph = graph_loader(program, s)
        if not any(r.type == "pulumi:providers:gcp" for r in graph) and not any(
                r.type.startswith("gcp:") for r in graph):
            raise BadInput(f"ops: stack {s!r} is not a GCP stack (AWS stacks: python -m ops bootstrap)")
        grants = grants_for_graph(graph, s, project=args.project)
        if grants.billing and not args.billing_account:
            raise BadInput(f"ops: stack {s!r} declares a budget: give --billing-account")
        entries[s] = {k: v for k, v in grants.to_config().items() if k != "project"}
        if grants.project:
            projects.add(grants.project)
        if region := _stack_region(graph):
            regions.add(region)
    project = args.project or (projects.pop() if len(projects) == 1 else None)
    if project is None:
        raise BadInput(f"ops: the stacks deploy into {len(projects)} projects ({', '.join(sorted(projects))}): "
                       "bootstrap one project at a time with --project")
    region = args.region or (regions.pop() if len(regions) == 1 else None)
    if region is None:
        raise BadInput("ops: the stacks use several regions: give --region")
    config: dict[str, Any] = {
        "gcp:project": project, "gcp:region": region,
        "gcp-delivery-bootstrap:repo": args.repo, "gcp-delivery-bootstrap:region": region,
        "gcp-delivery-bootstrap:stacks": entries,
    }
    if args.bucket:
        config["gcp-delivery-bootstrap:bucket"] = args.bucket
    if args.billing_account:
        config["gcp-delivery-bootstrap:billingAccount"] = args.billing_account
    bucket = args.bucket or f"{project}-pulumi-state"
    steps = [f"cd {out_dir} && pulumi login --local && pulumi stack init {project} && pulumi up",
             f"provider condition: {attribute_condition(args.repo, stacks)}",
             f"repository/environment variables: PULUMI_BACKEND_URL = gs://{bucket}; "
             "GCP_WORKLOAD_IDENTITY_PROVIDER = the workload_identity_provider output"]
    for s in stacks:
        steps.append(f"GitHub environment {s}: GCP_DEPLOY_SERVICE_ACCOUNT = "
                     f"deploy-{s}@{project}.iam.gserviceaccount.com; pulumi stack init {s} "
                     f"--secrets-provider \"{secrets_provider(project, region, s)}\"")
    return project, {"config": config}, steps


def main(args: argparse.Namespace, graph_loader: Callable[[Path, str], Any] | None = None,
         out_dir: Path = BOOTSTRAP_DIR) -> int:
    """Print or write the bootstrap stack's config; 0 done, 2 bad input (one line on stderr)."""
    import sys

    from review.engine import InputError, ProgramError

    try:
        name, doc, steps = run(args, graph_loader, out_dir)
    except BadInput as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (InputError, ProgramError, OpsError) as exc:
        print(f"ops: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    text = ("# GCP delivery bootstrap (python -m ops bootstrap-gcp): review, then pulumi up in this directory.\n"
            + yaml.safe_dump(doc, sort_keys=False, width=1000))
    if args.write:
        path = out_dir / f"Pulumi.{name}.yaml"
        path.write_text(text)
        print(f"Wrote {path}")
    else:
        print(text)
    print("Next:")
    for line in steps:
        print(f"  {line}")
    return 0
