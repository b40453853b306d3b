"""Regenerate the AWS part of the price catalog from the AWS Price List API.

``python -m ops prices refresh --service elb --service fargate --region ap-southeast-3``

For each catalog service (``fargate``, ``ec2``, ``ebs``, ``vpc``, ``elb``, ``rds``, ``elasticache``, ``s3``,
``cloudwatch``, ``kms``, ``secretsmanager``, ``wafv2``, ``ecr``) a *recipe* names the Price List service code, the
``TERM_MATCH`` filters (region code, plus attributes such as operating system or database engine) and how a
product maps to a catalog SKU (mostly by its ``usagetype``). Products come from the paginated ``get_products`` of
the ``pricing`` client (its endpoint is in us-east-1); the on-demand price is the first tier (``beginRange`` 0) of
the offer's price dimensions, converted to the catalog unit (e.g. a per-request price to per 1k requests).

The SKUs fetched are those of the reference region's file (us-east-1), so a new region (say ap-southeast-3,
Jakarta) gets exactly the SKUs the estimator knows. Refreshed rows replace the same service's rows in
``pricing/catalog/aws-<region>.csv`` with ``basis=api``; rows of other services are kept; SKUs the API did not
return keep their current row (reported), or are absent for a new region (the estimator then says "price not
found"). Ratios that are not prices (the Multi-AZ multiplier) are copied from the reference region.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pricing.catalog import CATALOG_DIR, FIELDS, Price, parse_rows

REFERENCE_REGION = "us-east-1"
PRICING_ENDPOINT_REGION = "us-east-1"
REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


class OpsError(Exception):
    """A failure to report as one line (exit 1)."""


def _usage(attrs: Mapping[str, str]) -> str:
    """``usagetype`` without its region prefix: ``APS3-NatGateway-Hours`` -> ``NatGateway-Hours``."""
    ut = attrs.get("usagetype", "")
    head, sep, tail = ut.partition("-")
    return tail if sep and (head.isupper() and len(head) <= 6 and any(c.isdigit() for c in head)) else ut


Classifier = Callable[[Mapping[str, str]], "tuple[str, float] | None"]
"""Product attributes -> (catalog sku, factor from the API unit to the catalog unit), or None to skip."""


@dataclass
class Recipe:
    """How one catalog service is read from the Price List API."""

    service_code: str
    classify: Classifier
    filters: dict[str, str] = field(default_factory=dict)
    per_sku_filter: str | None = None
    """Attribute to filter on per wanted SKU (e.g. ``instanceType``), one query each, for big catalogs."""
    sku_value: Callable[[str], str | None] | None = None
    """Wanted SKU -> the value of ``per_sku_filter`` (None: the SKU is not queried that way)."""


def _by_usage(table: Mapping[str, tuple[str, float]]) -> Classifier:
    def classify(attrs: Mapping[str, str]) -> tuple[str, float] | None:
        return table.get(_usage(attrs))

    return classify


def _fargate(attrs: Mapping[str, str]) -> tuple[str, float] | None:
    return {
        "Fargate-vCPU-Hours:perCPU": ("vcpu-hour:x86_64", 1.0), "Fargate-GB-Hours": ("gb-hour:x86_64", 1.0),
        "Fargate-ARM-vCPU-Hours:perCPU": ("vcpu-hour:arm64", 1.0), "Fargate-ARM-GB-Hours": ("gb-hour:arm64", 1.0),
        "Fargate-EphemeralStorage-GB-Hours": ("ephemeral-storage-gb-hour", 1.0),
    }.get(_usage(attrs))


def _ec2(attrs: Mapping[str, str]) -> tuple[str, float] | None:
    if attrs.get("instanceType") and attrs.get("operatingSystem") == "Linux":
        return f"instance:{attrs['instanceType']}", 1.0
    return None


def _ebs(attrs: Mapping[str, str]) -> tuple[str, float] | None:
    vol = attrs.get("volumeApiName")
    family = attrs.get("productFamily")
    if not vol:
        return None
    if family == "Storage":
        return f"storage:{vol}", 1.0
    if family == "System Operation" and "IOPS" in attrs.get("group", "") + _usage(attrs):
        return f"iops:{vol}", 1.0
    if family == "Provisioned Throughput":
        return f"throughput:{vol}", 1.0
    return None


def _vpc(attrs: Mapping[str, str]) -> tuple[str, float] | None:
    u = _usage(attrs)
    if u.endswith("NatGateway-Hours"):
        return "nat-gateway-hour", 1.0
    if u.endswith("NatGateway-Bytes"):
        return "nat-gateway-gb", 1.0
    if u == "PublicIPv4:InUseAddress":
        return "public-ipv4-hour", 1.0
    if u.endswith("VpcEndpoint-Hours"):
        return "interface-endpoint-hour", 1.0
    if u.endswith("VpcEndpoint-Bytes"):
        return "interface-endpoint-gb", 1.0
    return None


def _lattice(attrs: Mapping[str, str]) -> tuple[str, float] | None:
    """VPC Lattice service rows of the AmazonVPC offer, told apart by what their usage type counts (hours, bytes,
    requests). The exact usage-type names were not available offline: they are matched by substring (any
    ``...Lattice...`` usage type that is not a VPC resource's), so check the first refresh's diff."""
    u = _usage(attrs)
    if "lattice" not in u.lower() or "resource" in u.lower():
        return None
    if u.endswith(("Hours", "Hrs", "Hour")):
        return "service-hour", 1.0
    if u.endswith("Bytes") or u.endswith("GB"):
        return "data-gb", 1.0
    if "request" in u.lower():
        return "requests", 1_000_000.0  # per request -> per 1M (the first paid tier)
    return None


def _rds(attrs: Mapping[str, str]) -> tuple[str, float] | None:
    family, engine, deploy = attrs.get("productFamily"), attrs.get("databaseEngine", ""), attrs.get("deploymentOption")
    u = _usage(attrs)
    if family == "Database Instance" and engine == "PostgreSQL" and deploy == "Single-AZ" and attrs.get("instanceType"):
        return f"instance:postgres:{attrs['instanceType']}", 1.0
    if u.endswith("Aurora:ServerlessV2Usage"):
        return "aurora:serverless-v2-acu-hour", 1.0
    if u.endswith("Aurora:ServerlessV2IOOptimizedUsage"):
        return "aurora:serverless-v2-acu-hour:io-optimized", 1.0
    if u.endswith("Aurora:StorageUsage"):
        return "aurora:storage", 1.0
    if u.endswith("Aurora:StorageIOUsage"):
        return "aurora:io-requests", 1_000_000.0  # per I/O -> per 1M requests
    if u.endswith("Aurora:BackupUsage"):
        return "aurora:backup-storage", 1.0
    if u.endswith("RDS:ChargedBackupUsage"):
        return "backup-storage", 1.0
    if family == "Database Storage":
        volume = {"General Purpose-GP3": "gp3", "General Purpose": "gp2", "Provisioned IOPS": "io1"}.get(
            attrs.get("volumeType", ""))
        if volume and deploy == "Single-AZ":
            return f"storage:{volume}", 1.0
        if volume == "gp3" and deploy == "Multi-AZ":
            return "storage:gp3:multi-az", 1.0
    if family == "Provisioned IOPS" and deploy == "Single-AZ":
        return ("iops:gp3", 1.0) if "GP3" in u.upper() else ("iops:io1", 1.0)
    return None


def _elasticache(attrs: Mapping[str, str]) -> tuple[str, float] | None:
    family, u = attrs.get("productFamily"), _usage(attrs)
    if family == "Cache Instance" and attrs.get("cacheEngine") == "Redis" and attrs.get("instanceType"):
        return f"node:{attrs['instanceType']}", 1.0
    if family == "ElastiCache Serverless":
        engine = attrs.get("cacheEngine", "").lower()
        if engine in ("redis", "valkey"):
            if "CachedData" in u or "DataStored" in u:
                return f"serverless:{engine}:data-gb-hour", 1.0
            if "ECPU" in u:
                return f"serverless:{engine}:ecpu-million", 1_000_000.0
    if family == "Storage Snapshot" and u.endswith("BackupUsage"):
        return "backup-storage", 1.0
    return None


def _s3(attrs: Mapping[str, str]) -> tuple[str, float] | None:
    family, u = attrs.get("productFamily"), _usage(attrs)
    if family == "Storage" and attrs.get("volumeType") == "Standard" and u == "TimedStorage-ByteHrs":
        return "storage:standard", 1.0
    if family == "API Request" and attrs.get("group") == "S3-API-Tier1":
        return "requests:put", 1000.0
    if family == "API Request" and attrs.get("group") == "S3-API-Tier2":
        return "requests:get", 1000.0
    return None


RECIPES: dict[str, Recipe] = {
    "fargate": Recipe("AmazonECS", _fargate),
    "ec2": Recipe("AmazonEC2", _ec2, filters={"operatingSystem": "Linux", "tenancy": "Shared",
                                              "preInstalledSw": "NA", "capacitystatus": "Used",
                                              "licenseModel": "No License required"},
                  per_sku_filter="instanceType", sku_value=lambda s: s.split(":", 1)[1] if s.startswith(
                      "instance:") else None),
    "ebs": Recipe("AmazonEC2", _ebs, per_sku_filter="volumeApiName",
                  sku_value=lambda s: s.split(":", 1)[1]),
    "vpc": Recipe("AmazonVPC", _vpc),
    "vpc-lattice": Recipe("AmazonVPC", _lattice),
    "elb": Recipe("AWSELB", _by_usage({"LoadBalancerUsage": ("alb-hour", 1.0), "LCUUsage": ("alb-lcu-hour", 1.0)}),
                  filters={"productFamily": "Load Balancer-Application"}),
    "rds": Recipe("AmazonRDS", _rds),
    "elasticache": Recipe("AmazonElastiCache", _elasticache),
    "s3": Recipe("AmazonS3", _s3),
    "cloudwatch": Recipe("AmazonCloudWatch", _by_usage({
        "DataProcessing-Bytes": ("logs:ingest", 1.0), "TimedStorage-ByteHrs": ("logs:storage", 1.0),
        "CW:AlarmMonitorUsage": ("alarm:standard", 1.0), "CW:HighResAlarmMonitorUsage": ("alarm:high-resolution", 1.0),
        "DashboardsUsageHour-Basic": ("dashboard", 1.0), "DashboardsUsageHour": ("dashboard", 1.0)})),
    "kms": Recipe("awskms", _by_usage({"KMS-Keys": ("key", 1.0), "KMS-Requests": ("requests", 10_000.0)})),
    "secretsmanager": Recipe("AWSSecretsManager", _by_usage({
        "AWSSecretsManager-Secrets": ("secret", 1.0), "AWSSecretsManager-APIRequest": ("api-requests", 10_000.0)})),
    "wafv2": Recipe("awswaf", _by_usage({"WebACL": ("web-acl", 1.0), "Rule": ("rule", 1.0),
                                         "Request": ("requests", 1_000_000.0)})),
    "ecr": Recipe("AmazonECR", _by_usage({"TimedStorage-ByteHrs": ("storage", 1.0)})),
    # SQS and EventBridge Scheduler price per request: the catalog keeps them per million (the first paid tier).
    "sqs": Recipe("AWSQueueService", _by_usage({"Requests-RBP": ("requests:standard", 1_000_000.0),
                                                "Requests-FIFO-RBP": ("requests:fifo", 1_000_000.0)})),
    "scheduler": Recipe("AWSEvents", _by_usage({"Scheduler-Invocation": ("invocations", 1_000_000.0),
                                                "Scheduler-Invocations": ("invocations", 1_000_000.0)})),
    # Lambda: requests per million, duration per GB-second by architecture (the first tier of each).
    "lambda": Recipe("AWSLambda", _by_usage({"Request": ("requests", 1_000_000.0),
                                             "Lambda-GB-Second": ("gb-second:x86_64", 1.0),
                                             "Lambda-GB-Second-ARM": ("gb-second:arm64", 1.0)})),
    # issue 14. Usage types as the Price List's AWSBackup offer names warm storage per resource type (not verified
    # from this machine, which has no network): a refresh that finds nothing leaves the sourced rows as they are.
    "backup": Recipe("AWSBackup", _by_usage({"WarmStorage-ByteHrs-RDS": ("storage:rds", 1.0),
                                             "WarmStorage-ByteHrs-S3": ("storage:s3", 1.0)})),
}
# The Price List also lists the ECS-on-EC2 and Windows variants and tiers; the classifiers keep what we price.


# -- the API ---------------------------------------------------------------------------------------------------

def fetch_products(client: Any, service_code: str, filters: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every product (decoded PriceList item) matching the TERM_MATCH filters, following NextToken pages."""
    paginator = client.get_paginator("get_products")
    flt = [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()]
    out = []
    for page in paginator.paginate(ServiceCode=service_code, Filters=flt, FormatVersion="aws_v1"):
        for item in page.get("PriceList", []):
            out.append(json.loads(item) if isinstance(item, str) else item)
    return out


def on_demand_price(product: Mapping[str, Any]) -> tuple[float, str, str] | None:
    """(USD, API unit, effective date) of the first tier of the on-demand offer; None if there is none."""
    offers = (product.get("terms") or {}).get("OnDemand") or {}
    for offer in offers.values():
        dims = list((offer.get("priceDimensions") or {}).values())
        if not dims:
            continue
        dims.sort(key=lambda d: float(d.get("beginRange") or 0))
        first = dims[0]
        usd = (first.get("pricePerUnit") or {}).get("USD")
        if usd is None:
            continue
        date = str(offer.get("effectiveDate") or product.get("publicationDate") or "")[:10]
        return float(usd), str(first.get("unit", "")), date
    return None


@dataclass
class RefreshResult:
    """What one refresh changed."""

    region: str
    path: Path
    updated: list[Price] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Wanted SKUs the API did not return."""


def wanted_skus(service: str, reference: Iterable[Price]) -> dict[str, Price]:
    """The SKUs the catalog has for a service in the reference region (what the estimator knows)."""
    return {p.sku: p for p in reference if p.service == service}


def refresh(client: Any, services: Iterable[str], regions: Iterable[str], *, catalog_dir: Path = CATALOG_DIR,
            today: str | None = None) -> list[RefreshResult]:
    """Refresh ``services`` in ``regions`` and rewrite their catalog files."""
    today = today or dt.date.today().isoformat()
    ref_path = catalog_dir / f"aws-{REFERENCE_REGION}.csv"
    reference = parse_rows(ref_path)
    results = []
    for region in regions:
        path = catalog_dir / f"aws-{region}.csv"
        existing = parse_rows(path) if path.exists() else []
        result = RefreshResult(region, path)
        new_rows: dict[tuple[str, str], Price] = {(p.service, p.sku): p for p in existing}
        for service in services:
            want = wanted_skus(service, reference)
            found = _refresh_service(client, service, region, want, today)
            for sku, ref in want.items():
                if ref.unit == "multiplier":
                    found.setdefault(sku, Price("aws", region, service, sku, ref.description, ref.unit, ref.usd,
                                                ref.basis, f"same ratio as {REFERENCE_REGION} (not a price): "
                                                           f"{ref.source}", ref.source_date))
            for sku, price in found.items():
                new_rows[(service, sku)] = price
                result.updated.append(price)
            result.missing += [f"{service}/{sku}" for sku in want if sku not in found]
        write_catalog(path, new_rows.values())
        results.append(result)
    return results


def _refresh_service(client: Any, service: str, region: str, want: Mapping[str, Price],
                     today: str) -> dict[str, Price]:
    recipe = RECIPES[service]
    queries: list[dict[str, str]] = []
    base = {"regionCode": region, **recipe.filters}
    if recipe.per_sku_filter and recipe.sku_value:
        values = sorted({v for s in want if (v := recipe.sku_value(s))})
        queries = [{**base, recipe.per_sku_filter: v} for v in values]
    else:
        queries = [base]
    found: dict[str, Price] = {}
    for flt in queries:
        for product in fetch_products(client, recipe.service_code, flt):
            attrs = dict((product.get("product") or {}).get("attributes") or {})
            attrs.setdefault("productFamily", (product.get("product") or {}).get("productFamily", ""))
            hit = recipe.classify(attrs)
            if hit is None:
                continue
            sku, factor = hit
            if sku not in want or sku in found:
                continue
            price = on_demand_price(product)
            if price is None:
                continue
            usd, api_unit, date = price
            ref = want[sku]
            source = (f"AWS Price List API get_products ServiceCode={recipe.service_code} regionCode={region} "
                      f"usagetype={attrs.get('usagetype', '?')} sku={(product.get('product') or {}).get('sku', '?')}"
                      f" ({usd:g} USD per {api_unit}" + (f", x{factor:g} to per {ref.unit}" if factor != 1 else "")
                      + ")")
            found[sku] = Price("aws", region, service, sku, ref.description, ref.unit, round(usd * factor, 10), "api",
                               source, date or today)
    return found


def write_catalog(path: Path, rows: Iterable[Price]) -> None:
    """Write a catalog file, rows sorted by service and SKU."""
    ordered = sorted(rows, key=lambda p: (p.service, p.sku))
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, FIELDS, lineterminator="\n")
        w.writeheader()
        for p in ordered:
            w.writerow({"provider": p.provider, "region": p.region, "service": p.service, "sku": p.sku,
                        "description": p.description, "unit": p.unit, "usd": f"{p.usd:g}", "basis": p.basis,
                        "source": p.source, "source_date": p.source_date})
