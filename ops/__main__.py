"""``python -m ops prices refresh --service SERVICE --region REGION`` (repeatable flags).

Exit 0: refreshed. Exit 1: the API failed (credentials, network, throttling): one line. Exit 2: bad flags: one line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .prices import PRICING_ENDPOINT_REGION, RECIPES, REGION_RE, OpsError, refresh


class UsageError(Exception):
    """Bad command-line input (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"ops: {message} (see python -m ops prices refresh --help)")


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = _Parser(prog="python -m ops", description="Operations tooling for the live cloud.")
    sub = p.add_subparsers(dest="area", required=True, parser_class=_Parser)
    prices = sub.add_parser("prices", help="the price catalog (review/cost/catalog)")
    psub = prices.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = psub.add_parser("refresh", help="regenerate AWS catalog rows from the AWS Price List API",
                        description="Regenerate the AWS rows of review/cost/catalog/aws-REGION.csv for the given "
                                    "services from the AWS Price List API (boto3 pricing client, us-east-1).")
    r.add_argument("--service", action="append", required=True, metavar="SERVICE",
                   help=f"catalog service to refresh (repeatable; 'all' for every one): {', '.join(RECIPES)}")
    r.add_argument("--region", action="append", required=True, metavar="REGION",
                   help="AWS region code, e.g. eu-west-1 or ap-southeast-3 (repeatable)")
    r.add_argument("--catalog-dir", metavar="DIR", help="catalog directory (default: review/cost/catalog)")
    r.add_argument("--profile", metavar="NAME", help="AWS profile for the pricing API (default: the environment)")
    return p


def _validate(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    services: list[str] = []
    for s in args.service:
        for name in s.split(","):
            name = name.strip()
            if name == "all":
                services.extend(RECIPES)
            elif name not in RECIPES:
                raise UsageError(f"ops: unknown service {name!r} (known: {', '.join(RECIPES)}, all)")
            else:
                services.append(name)
    regions = []
    for reg in args.region:
        if not REGION_RE.match(reg):
            raise UsageError(f"ops: {reg!r} is not an AWS region code (e.g. eu-west-1, ap-southeast-3)")
        regions.append(reg)
    if args.catalog_dir and not Path(args.catalog_dir).is_dir():
        raise UsageError(f"ops: --catalog-dir {args.catalog_dir}: no such directory")
    return list(dict.fromkeys(services)), list(dict.fromkeys(regions))


def pricing_client(profile: str | None = None):
    """The Price List API client (its endpoint lives in us-east-1)."""
    import boto3

    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    return session.client("pricing", region_name=PRICING_ENDPOINT_REGION)


def main(argv: Sequence[str] | None = None, *, client=None) -> int:
    """Entry point; returns the exit code. ``client`` replaces the boto3 pricing client (tests)."""
    try:
        args = build_parser().parse_args(argv)
        services, regions = _validate(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    from botocore.exceptions import BotoCoreError, ClientError

    from review.cost.catalog import CATALOG_DIR

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


if __name__ == "__main__":
    sys.exit(main())
