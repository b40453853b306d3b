"""``python -m ops``: tooling for the live cloud (docs/ops.md).

- ``prices refresh [--cloud aws|gcp] --service SERVICE --region REGION`` (repeatable flags). Exit 0: refreshed.
  Exit 1: the API failed (AWS credentials, network, throttling): one line. Exit 2: bad flags, or no Google
  application default credentials (``--cloud gcp``): one line.
- ``bootstrap --repo ORG/REPO --stacks dev,staging,prod --region R [--bucket B] [--name N] [--dry-run]``: state
  bucket, GitHub OIDC provider, one deploy role per stack. Exit 0: done. Exit 1: AWS refused: one line. Exit 2: bad
  input: one line.
- ``bootstrap-gcp --repo ORG/REPO --stacks gcp-dev,gcp-prod [--project P] [--region R] [--write]``: the GCP
  delivery bootstrap's config (workload identity, deploy accounts, state bucket, KMS keys), then ``pulumi up`` of
  ``ops/gcp_bootstrap``. Exit 0: done. Exit 2: bad input: one line.
- ``drift STACK [--region R] [--format text|json]``. Exit 0: clean. Exit 1: drift found. Exit 2: bad input: one
  line. Exit 3: the audit could not run (AWS API error): one line.
- ``audit STACK [--region R] [--format text|json] [--policy-pack-config FILE]``: the security pack's rules over the
  stack's live resources. Exit 0: no mandatory finding. Exit 1: mandatory findings. Exit 2: one line for bad input,
  no credentials, access denied, throttling (after retries with backoff) or another AWS error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import prices_gcp
from .bootstrap import DEFAULT_NONCURRENT_DAYS, Options, StackFacts, capture_facts
from .prices import PRICING_ENDPOINT_REGION, RECIPES, REGION_RE, OpsError, refresh

REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
STACK_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
BUCKET_RE = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,20}$")


class UsageError(Exception):
    """Bad command-line input (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"ops: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = _Parser(prog="python -m ops", description="Operations tooling for the live cloud.")
    sub = p.add_subparsers(dest="area", required=True, parser_class=_Parser)
    prices = sub.add_parser("prices", help="the price catalog (pricing/catalog)")
    psub = prices.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = psub.add_parser("refresh", help="regenerate catalog rows from the AWS Price List API or the Cloud Billing "
                                        "Catalog API",
                        description="Regenerate the rows of pricing/catalog/<cloud>-REGION.csv for the given services: "
                                    "AWS from the Price List API (boto3 pricing client, us-east-1), GCP from the "
                                    "Cloud Billing Catalog API (google-cloud-billing, application default "
                                    "credentials).")
    r.add_argument("--cloud", choices=["aws", "gcp"], default="aws", help="which catalog (default aws)")
    r.add_argument("--service", action="append", required=True, metavar="SERVICE",
                   help=f"catalog service to refresh (repeatable; 'all' for every one): aws: {', '.join(RECIPES)}; "
                        f"gcp: {', '.join(prices_gcp.RECIPES)}")
    r.add_argument("--region", action="append", required=True, metavar="REGION",
                   help="region code, e.g. ap-southeast-3 (aws) or asia-southeast2, global (gcp) (repeatable)")
    r.add_argument("--catalog-dir", metavar="DIR", help="catalog directory (default: pricing/catalog)")
    r.add_argument("--profile", metavar="NAME", help="AWS profile for the pricing API (default: the environment)")

    b = sub.add_parser("bootstrap", help="state bucket, GitHub OIDC provider and per-stack deploy roles",
                       description="Create or update, idempotently, the Pulumi state bucket, the GitHub Actions OIDC "
                                   "provider and one deploy role per stack (docs/ops.md).")
    b.add_argument("--repo", required=True, metavar="ORG/REPO", help="GitHub repository allowed to deploy")
    b.add_argument("--stacks", required=True, metavar="LIST", help="comma-separated stacks, e.g. dev,staging,prod")
    b.add_argument("--region", required=True, metavar="REGION", help="region of the state bucket, e.g. us-east-1")
    b.add_argument("--bucket", metavar="NAME", help="state bucket (default: backend-hosting-state-ACCOUNT-REGION)")
    b.add_argument("--name", metavar="NAME", help="resource-name prefix of the stacks (default: each stack's "
                                                  "backend-hosting:name setting, app)")
    b.add_argument("--noncurrent-days", type=int, default=DEFAULT_NONCURRENT_DAYS, metavar="N",
                   help=f"expire noncurrent state versions after N days (default {DEFAULT_NONCURRENT_DAYS})")
    b.add_argument("--program", metavar="DIR", default=".", help="the Pulumi project (default: .)")
    b.add_argument("--profile", metavar="NAME", help="AWS profile (default: the environment)")
    b.add_argument("--dry-run", action="store_true",
                   help="print the plan and the policy documents; only read APIs are called")

    from .gcp_cli import add_parser as add_gcp_bootstrap

    add_gcp_bootstrap(sub)

    d = sub.add_parser("drift", help="compare a stack's declared resources with the tagged resources in the account",
                       description="Compare what STACK declares (captured offline) with the resources tagged "
                                   "environment=<env> and managed-by=pulumi (Resource Groups Tagging API).")
    d.add_argument("stack", metavar="STACK")
    d.add_argument("--region", metavar="REGION", help="region to audit (default: the stack's region)")
    d.add_argument("--format", choices=["text", "json"], default="text")
    d.add_argument("--program", metavar="DIR", default=".", help="the Pulumi project (default: .)")
    d.add_argument("--profile", metavar="NAME", help="AWS profile (default: the environment)")

    a = sub.add_parser("audit", help="judge a stack's live resources with the security pack's rules",
                       description="Describe the resources tagged environment=<env> and managed-by=pulumi for STACK, "
                                   "map them onto the properties the security pack checks and judge them with the "
                                   "same rules (docs/ops.md).")
    a.add_argument("stack", metavar="STACK")
    a.add_argument("--region", metavar="REGION", help="region to audit (default: the stack's region)")
    a.add_argument("--format", choices=["text", "json"], default="text")
    a.add_argument("--program", metavar="DIR", default=".", help="the Pulumi project (default: .)")
    a.add_argument("--profile", metavar="NAME", help="AWS profile (default: the environment)")
    a.add_argument("--policy-pack-config", metavar="FILE",
                   help="JSON keyed by pack name, as python -m review takes it (enforcement levels, rule config)")
    return p


def _validate(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    gcp = args.cloud == "gcp"
    recipes = prices_gcp.RECIPES if gcp else RECIPES
    services: list[str] = []
    for s in args.service:
        for name in s.split(","):
            name = name.strip()
            if name == "all":
                services.extend(recipes)
            elif name not in recipes:
                kind = "gcp service" if gcp else "service"
                raise UsageError(f"ops: unknown {kind} {name!r} (known: {', '.join(recipes)}, all)")
            else:
                services.append(name)
    regions = []
    for reg in args.region:
        if gcp and not prices_gcp.REGION_RE.match(reg):
            raise UsageError(f"ops: {reg!r} is not a GCP region (e.g. asia-southeast2, us-central1) or global")
        if not gcp and not REGION_RE.match(reg):
            raise UsageError(f"ops: {reg!r} is not an AWS region code (e.g. eu-west-1, ap-southeast-3)")
        regions.append(reg)
    if gcp and args.profile:
        raise UsageError("ops: --profile is an AWS profile; --cloud gcp uses application default credentials")
    if args.catalog_dir and not Path(args.catalog_dir).is_dir():
        raise UsageError(f"ops: --catalog-dir {args.catalog_dir}: no such directory")
    return list(dict.fromkeys(services)), list(dict.fromkeys(regions))


def pricing_client(profile: str | None = None):
    """The Price List API client (its endpoint lives in us-east-1)."""
    import boto3

    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    return session.client("pricing", region_name=PRICING_ENDPOINT_REGION)


def _session(profile: str | None = None) -> Any:
    import boto3

    return boto3.Session(profile_name=profile) if profile else boto3.Session()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _program_dir(value: str) -> Path:
    path = Path(value)
    if not (path / "Pulumi.yaml").is_file():
        raise UsageError(f"ops: --program {value}: no Pulumi.yaml there")
    return path


def _bootstrap(args: argparse.Namespace, session: Any, facts_for: Callable[[str], StackFacts] | None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from review.engine import InputError, ProgramError

    from .bootstrap import run

    stacks = [s.strip() for s in args.stacks.split(",") if s.strip()]
    if not REPO_RE.match(args.repo):
        raise UsageError(f"ops: --repo {args.repo!r} is not ORG/REPO")
    if not stacks or not all(STACK_RE.match(s) for s in stacks):
        raise UsageError(f"ops: --stacks {args.stacks!r} is not a comma-separated list of stack names")
    if not REGION_RE.match(args.region):
        raise UsageError(f"ops: {args.region!r} is not an AWS region code (e.g. us-east-1)")
    if args.bucket and not BUCKET_RE.match(args.bucket):
        raise UsageError(f"ops: --bucket {args.bucket!r} is not a valid S3 bucket name")
    if args.name and not NAME_RE.match(args.name):
        raise UsageError(f"ops: --name {args.name!r}: lowercase letters, digits and dashes, 2-21 characters")
    if args.noncurrent_days < 1:
        raise UsageError("ops: --noncurrent-days must be at least 1")
    if facts_for is None:
        program = _program_dir(args.program)
        for s in stacks:
            if not (program / f"Pulumi.{s}.yaml").is_file():
                raise UsageError(f"ops: --stacks: no stack {s!r} (no Pulumi.{s}.yaml in {program})")

        def facts_for(stack: str) -> StackFacts:
            return capture_facts(program, stack, name=args.name)

    opts = Options(repo=args.repo, stacks=list(dict.fromkeys(stacks)), region=args.region, bucket=args.bucket,
                   name=args.name, noncurrent_days=args.noncurrent_days, dry_run=args.dry_run)
    try:
        result = run(opts, session or _session(args.profile), facts_for)
    except (InputError, ProgramError) as exc:
        raise UsageError(f"ops: {_one_line(exc)}") from None
    except (BotoCoreError, ClientError, OpsError) as exc:
        print(f"ops: bootstrap failed: {_one_line(exc)}", file=sys.stderr)
        return 1
    print(("Plan (dry run: nothing changed)" if args.dry_run else "Done") + ":")
    for line in result.actions:
        print(f"  {line}")
    if args.dry_run:
        from .bootstrap import bucket_policy

        print(f"\nBucket policy of {result.bucket}:\n{json.dumps(bucket_policy(result.bucket), indent=2)}")
        for stack in opts.stacks:
            print(f"\nTrust policy of {stack}:\n{json.dumps(result.trust[stack], indent=2)}")
            print(f"\nPermissions of {stack}:\n{json.dumps(result.policies[stack], indent=2)}")
            if stack in result.boundaries:
                print(f"\nPermissions boundary of {stack}'s roles:\n{json.dumps(result.boundaries[stack], indent=2)}")
        print()
    print(f"State backend: {result.login}")
    print(f"  (GitHub repository variable PULUMI_BACKEND_URL = s3://{result.bucket}?region={opts.region})")
    for stack, arn in result.role_arns.items():
        print(f"GitHub environment {stack}: DEPLOY_ROLE_ARN = {arn}")
    for stack, command in result.stack_init.items():
        print(f"Stack {stack} (secrets encrypted with its KMS key): {command}")
    return 0


def _stack_graph(args: argparse.Namespace, graph_loader: Callable[[Path, str], Any] | None) -> Any:
    """The stack's declared graph (offline capture), for drift and audit; bad input raises UsageError."""
    from review.engine import InputError, ProgramError

    if args.region and not REGION_RE.match(args.region):
        raise UsageError(f"ops: {args.region!r} is not an AWS region code (e.g. us-east-1)")
    if not STACK_RE.match(args.stack):
        raise UsageError(f"ops: {args.stack!r} is not a stack name")
    if graph_loader is None:
        from review.engine import capture_program

        program = _program_dir(args.program)
        if not (program / f"Pulumi.{args.stack}.yaml").is_file():
            raise UsageError(f"ops: no stack {args.stack!r} (no Pulumi.{args.stack}.yaml in {program})")
        graph_loader = capture_program
        path = program
    else:
        path = Path(args.program)
    try:
        graph = graph_loader(path, args.stack)
    except (InputError, ProgramError) as exc:
        raise UsageError(f"ops: {_one_line(exc)}") from None
    if not any(r.type == "pulumi:providers:aws" for r in graph):
        raise UsageError(f"ops: stack {args.stack!r} is not an AWS stack")
    return graph


def _drift(args: argparse.Namespace, session: Any, graph_loader: Callable[[Path, str], Any] | None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from .drift import compare, environment_of, live_resources, region_of

    graph = _stack_graph(args, graph_loader)
    environment = environment_of(graph, args.stack)
    region = args.region or region_of(graph)
    try:
        client = (session or _session(args.profile)).client("resourcegroupstaggingapi", region_name=region)
        live = live_resources(client, environment)
    except (BotoCoreError, ClientError) as exc:
        print(f"ops: the Resource Groups Tagging API failed: {_one_line(exc)}", file=sys.stderr)
        return 3
    report = compare(args.stack, environment, region, graph, live)
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.to_text())
    return 0 if report.clean else 1


def _audit(args: argparse.Namespace, session: Any, graph_loader: Callable[[Path, str], Any] | None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from review.policy_runner import load_policy_config
    from review.project import InputError

    from .audit import audit, one_line_error
    from .drift import environment_of, region_of

    graph = _stack_graph(args, graph_loader)
    try:
        config = load_policy_config(args.policy_pack_config).get("security") if args.policy_pack_config else None
    except InputError as exc:
        raise UsageError(f"ops: {_one_line(exc)}") from None
    environment = environment_of(graph, args.stack)
    region = args.region or region_of(graph)
    try:
        if session is None:
            session = _session(args.profile)
        report = audit(session, args.stack, environment, region, project=graph.project, config=graph.config,
                       graph=graph, policy_config=config)
    except (BotoCoreError, ClientError) as exc:
        print(f"ops: audit {args.stack}: {one_line_error(exc)}", file=sys.stderr)
        return 2
    except InputError as exc:  # a bad enforcement level in --policy-pack-config
        raise UsageError(f"ops: {_one_line(exc)}") from None
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.to_text())
    return 0 if report.clean else 1


def main(argv: Sequence[str] | None = None, *, client: Any = None, gcp_client: Any = None, session: Any = None,
         facts_for: Callable[[str], StackFacts] | None = None,
         graph_loader: Callable[[Path, str], Any] | None = None) -> int:
    """Entry point; returns the exit code.

    For tests: ``client`` replaces the boto3 pricing client, ``gcp_client`` the Cloud Billing catalog client,
    ``session`` the boto3 session of bootstrap, drift and audit, ``facts_for`` the offline capture of a stack's
    facts (bootstrap), ``graph_loader`` the capture (drift, audit).
    """
    try:
        args = build_parser().parse_args(argv)
        if args.area == "bootstrap":
            return _bootstrap(args, session, facts_for)
        if args.area == "drift":
            return _drift(args, session, graph_loader)
        if args.area == "bootstrap-gcp":
            from .gcp_cli import main as bootstrap_gcp

            return bootstrap_gcp(args, graph_loader)
        if args.area == "audit":
            return _audit(args, session, graph_loader)
        services, regions = _validate(args)
        if args.cloud == "gcp":
            gcp_client = gcp_client or prices_gcp.billing_client()
    except (UsageError, prices_gcp.NoCredentials) as exc:
        msg = str(exc) if isinstance(exc, UsageError) else (
            f"ops: no Google application default credentials for the Cloud Billing Catalog API ({exc}); run "
            "`gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS")
        print(msg, file=sys.stderr)
        return 2
    if args.cloud == "gcp":
        return _refresh_gcp(args, gcp_client, services, regions)
    from botocore.exceptions import BotoCoreError, ClientError

    from pricing.catalog import CATALOG_DIR

    try:
        client = client or pricing_client(args.profile)
        results = refresh(client, services, regions,
                          catalog_dir=Path(args.catalog_dir) if args.catalog_dir else CATALOG_DIR)
    except (BotoCoreError, ClientError, OpsError) as exc:
        print(f"ops: the AWS Price List API failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    for res in results:
        print(f"{res.path}: {len(res.updated)} prices refreshed ({', '.join(services)} in {res.region})")
        for sku in res.missing:
            print(f"  not returned by the API (kept as it was, or absent: price not found): {sku}")
    return 0


def _refresh_gcp(args: argparse.Namespace, client: Any, services: list[str], regions: list[str]) -> int:
    from google.api_core.exceptions import GoogleAPIError

    from pricing.catalog import CATALOG_DIR

    try:
        results = prices_gcp.refresh_gcp(client, services, regions,
                                         catalog_dir=Path(args.catalog_dir) if args.catalog_dir else CATALOG_DIR)
    except (GoogleAPIError, OpsError) as exc:
        print(f"ops: the Cloud Billing Catalog API failed: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    for res in results:
        print(f"{res.path}: {len(res.updated)} prices refreshed ({', '.join(services)} in {res.region})")
        for sku in res.missing:
            print(f"  not returned by the API (kept as it was, or absent: price not found): {sku}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
