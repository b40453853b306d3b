"""Our five stacks priced in the four Southeast Asia regions with the shipped catalog (issue 15).

Each stack's captured graph is moved to a SEA region (every input and config string naming the stack's home
region, ``us-east-1`` or ``us-central1``, now names the SEA region: provider region, resource regions and
locations in either case, zones, ARNs) and priced with ``pricing/catalog``. Moving a captured graph instead of
capturing the program again keeps this module fast; pricing the moved graphs gives exactly the totals and missing
rows of ``python -m review STACK`` run on a copy of the program whose stack file names the SEA region (checked for
all ten pairs when the catalog rows were added).

:data:`STILL_MISSING` lists, per stack and region, the catalog rows no citable source was found for (docs/cost.md
says what was searched). The test asserts the missing rows are exactly these: a row we found that goes missing
fails it, and so does a new missing row (a stack that starts using a SKU the SEA catalog lacks), so the list can
neither grow nor shrink silently. docs/cost.md's table of missing rows is checked against the same list.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pricing import CATALOG_DIR, Catalog
from review.cost import estimate_graph
from review.model import Graph
from stacks.settings import DR_REGIONS, gcp_multi_region

REPO = Path(__file__).resolve().parent.parent
HOME = {"aws": "us-east-1", "gcp": "us-central1"}
SEA = {"aws": ("ap-southeast-3", "ap-southeast-1"), "gcp": ("asia-southeast2", "asia-southeast1")}
STACKS = {"dev": "aws", "staging": "aws", "prod": "aws", "gcp-dev": "gcp", "gcp-prod": "gcp"}

_ELASTICACHE = {"elasticache/node:cache.m7g.large", "elasticache/node:cache.t4g.small",
                "elasticache/serverless:valkey:data-gb-hour", "elasticache/serverless:valkey:ecpu-million"}
_JAKARTA_ALL = {"fargate/vcpu-hour:arm64", "fargate/gb-hour:arm64", "kms/requests", "scheduler/invocations",
                "s3/storage:standard", "s3/requests:put", "s3/requests:get"}
_JAKARTA_EDGE = {"vpc/nat-gateway-hour", "vpc/nat-gateway-gb", "wafv2/web-acl", "wafv2/rule", "wafv2/requests"}
_ARMOR = {"cloudarmor/policy", "cloudarmor/rule", "cloudarmor/requests"}
_ROTATION = {"lambda/requests", "lambda/gb-second:arm64"}  # prod's secret rotator (ADR 17)
_CDN_LOGS = {"cloudwatch/logs:vended-s3"}  # CloudFront's access logs (staging, prod; ADR 19)
_DR_HERE = {"backup/copy:cross-region", "backup/storage:rds", "backup/storage:s3", "s3/replication:rtc",
            "s3/replication:transfer"}  # prod's AWS Backup and S3 replication, billed in the stack's region
_GCS_DUAL_ASIA = {"gcs/replication:turbo@asia", "gcs/storage:standard:dual-region@asia"}  # gcp-prod's buckets
_MEMORYSTORE_HA = {"memorystore/redis:standard:m2", "memorystore/redis:read-replica:m2"}

STILL_MISSING: dict[tuple[str, str], set[str]] = {
    ("dev", "ap-southeast-1"): {"scheduler/invocations", "sqs/requests:standard",
                                "elasticache/serverless:valkey:data-gb-hour",
                                "elasticache/serverless:valkey:ecpu-million"},
    ("staging", "ap-southeast-1"): _CDN_LOGS | {"scheduler/invocations", "sqs/requests:standard",
                                    "elasticache/node:cache.t4g.small"},
    ("prod", "ap-southeast-1"): _ROTATION | _CDN_LOGS | _DR_HERE | {
        # the DR region, ap-southeast-2 (Sydney), is not in the catalog at all
        "backup/storage:rds@ap-southeast-2", "backup/storage:s3@ap-southeast-2", "kms/requests@ap-southeast-2",
        "rds/backup-storage@ap-southeast-2", "rds/transfer:cross-region@ap-southeast-2",
        "s3/requests:get@ap-southeast-2", "s3/requests:put@ap-southeast-2", "s3/storage:standard@ap-southeast-2",
        "scheduler/invocations", "sqs/requests:standard",
                                             "elasticache/node:cache.m7g.large", "rds/instance:postgres:db.m7g.large"},
    ("dev", "ap-southeast-3"): _JAKARTA_ALL | {"elasticache/serverless:valkey:data-gb-hour",
                                               "elasticache/serverless:valkey:ecpu-million"},
    ("staging", "ap-southeast-3"): _JAKARTA_ALL | _JAKARTA_EDGE | _CDN_LOGS | {"elasticache/node:cache.t4g.small",
                                                                   "rds/instance:postgres:db.t4g.small"},
    ("prod", "ap-southeast-3"): _JAKARTA_ALL | _JAKARTA_EDGE | _ROTATION | _CDN_LOGS | _DR_HERE | {
        "backup/storage:rds@ap-southeast-1", "backup/storage:s3@ap-southeast-1",
        "rds/transfer:cross-region@ap-southeast-1",
        "elasticache/node:cache.m7g.large", "rds/instance:postgres:db.m7g.large", "rds/multi-az-multiplier",
        "vpc/interface-endpoint-hour", "vpc/interface-endpoint-gb"},
    ("gcp-dev", "asia-southeast1"): {"cloudsql/instance:db-f1-micro", "cloudsql/storage:ssd",
                                     "loadbalancing/ingress-gb"},
    ("gcp-dev", "asia-southeast2"): {"cloudsql/instance:db-f1-micro", "loadbalancing/ingress-gb"},
    ("gcp-prod", "asia-southeast1"): _ARMOR | _MEMORYSTORE_HA | _GCS_DUAL_ASIA | {
        "cloudsql/custom:vcpu-hour@asia-southeast2",
        "cloudsql/custom:vcpu-hour", "cloudsql/custom:memory-gb-hour", "cloudsql/storage:ssd",
        "cloudsql/ha-multiplier", "loadbalancing/ingress-gb"},
    ("gcp-prod", "asia-southeast2"): _ARMOR | _MEMORYSTORE_HA | _GCS_DUAL_ASIA | {
        "cloudsql/custom:memory-gb-hour@asia-southeast1", "cloudsql/custom:vcpu-hour@asia-southeast1",
        "cloudsql/storage:ssd@asia-southeast1","cloudsql/custom:vcpu-hour",
                                                                 "loadbalancing/ingress-gb"},
}
PAIRS = [(stack, region) for stack, cloud in STACKS.items() for region in SEA[cloud]]


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return Catalog.load(CATALOG_DIR)


def _moved(value: Any, regions: dict[str, str], exact: dict[str, str]) -> Any:
    if isinstance(value, str):
        if value in exact:  # a GCS multi-region (US -> ASIA), replaced only as a whole value
            return exact[value]
        for old, new in regions.items():  # also GCS's upper-case locations (US-CENTRAL1)
            value = value.replace(old, new).replace(old.upper(), new.upper())
        return value
    if isinstance(value, dict):
        return {k: _moved(v, regions, exact) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, regions, exact) for v in value]
    return value


def moved_to(graph: Graph, region: str, cloud: str) -> Graph:
    """The captured graph (a private copy) with every mention of the home region replaced by ``region``, of the
    home's DR region by ``region``'s default DR region (DR_REGIONS), and on GCP of the home's multi-region by
    ``region``'s (dual-region buckets): what the stack file would build there with its DR defaults."""
    home = HOME[cloud]
    assert graph.config.get("backend-hosting:region") == home, "the stack file no longer names its home region"
    regions = {home: region, DR_REGIONS[cloud][home]: DR_REGIONS[cloud][region]}
    exact: dict[str, str] = {}
    if cloud == "gcp":
        old, new = gcp_multi_region(home), gcp_multi_region(region)
        assert old and new
        exact = {old: new, old.lower(): new.lower()}
    for res in graph.resources:
        res.inputs = _moved(res.inputs, regions, exact)
    graph.config = _moved(graph.config, regions, exact)
    return graph


def test_the_pairs_cover_every_stack_and_sea_region() -> None:
    assert sorted(STILL_MISSING) == sorted(PAIRS)
    assert sorted(p.name for p in REPO.glob("Pulumi.*.yaml")) == sorted(f"Pulumi.{s}.yaml" for s in STACKS)


@pytest.mark.parametrize(("stack", "region"), PAIRS)
def test_sea_region_misses_exactly_the_rows_no_source_was_found_for(run_stack, shipped: Catalog, stack: str,
                                                                    region: str) -> None:
    cloud = STACKS[stack]
    graph = moved_to(run_stack(stack), region, cloud)
    usage = REPO / f"usage.{stack}.yaml"
    report = estimate_graph(graph, usage if usage.exists() else None, catalog=shipped)
    assert report.unpriced == []
    assert report.notes == []
    dr_region = DR_REGIONS[cloud][region]
    multi = {(gcp_multi_region(region) or "").lower()} if cloud == "gcp" else set()
    assert {m.region for m in report.missing} <= {region, dr_region} | multi
    # A row missing in the DR region (prod's copies there) is named with it: "service/sku@region".
    assert {f"{m.service}/{m.sku}" + ("" if m.region == region else f"@{m.region}")
            for m in report.missing} == STILL_MISSING[(stack, region)]
    # What is found is priced from this region's, its DR region's (or the global / multi-region) rows, never from
    # the home region's.
    priced = {c.sku.split("/")[1] for r in report.resources for c in r.components if c.sku}
    assert priced and priced <= {region, dr_region, "global"} | multi


def test_docs_list_the_same_missing_rows() -> None:
    """docs/cost.md's "What our five stacks still miss there" table gives each pair's count of missing rows."""
    text = (REPO / "docs" / "cost.md").read_text(encoding="utf-8")
    header = re.search(r"^\| stack \| ap-southeast-3 \| ap-southeast-1 \| asia-southeast2 \| asia-southeast1 \|$",
                       text, re.M)
    assert header, "docs/cost.md lost its table of missing SEA rows"
    columns = ("ap-southeast-3", "ap-southeast-1", "asia-southeast2", "asia-southeast1")
    documented: dict[tuple[str, str], int] = {}
    for line in text[header.end():].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        for region, cell in zip(columns, cells[1:], strict=True):
            if cell:
                documented[(cells[0], region)] = int(cell.split()[0])
    assert documented == {pair: len(rows) for pair, rows in STILL_MISSING.items()}
