"""Regenerate the GCP part of the price catalog from the Cloud Billing Catalog API.

``python -m ops prices refresh --cloud gcp --service cloudrun --service memorystore --region asia-southeast2``

The Cloud Billing Catalog API (``google-cloud-billing``: ``CloudCatalogClient.list_services`` and
``list_skus``, both paginated) lists every public SKU of a billing service with its description, the regions it is
sold in (``service_regions``) and its list price (``pricing_info[0].pricing_expression.tiered_rates``). For each
catalog service a table of :class:`GcpSku` names the billing services to read (by display name, e.g. "Cloud Run",
"Networking") and, per catalog SKU, a pattern over the SKU description and the factor from the API unit to the
catalog unit (e.g. a per-request price to per 1M requests).

A SKU matches a region when the region is in its ``service_regions``; a SKU sold only as ``global`` (Cloud NAT,
Cloud Armor, the first global forwarding rules) matches every region, and a regional SKU wins over a global one.
The price is the first non-zero tier (tier 0 is often a free allowance), in USD (``currency_code="USD"``), dated by
``pricing_info.effective_time``, written with ``basis=api`` and a source naming the billing service, SKU id and
description. Rows of other services are kept; SKUs the API did not return keep their row (or stay absent in a new
region: "price not found") and are listed. Ratios that are not prices (Cloud SQL's HA multiplier) are copied from
the reference region (us-central1).

The SKU descriptions follow those of the public catalog (e.g. "Redis Capacity Basic M1 Jakarta", "Cloud SQL for
PostgreSQL: Zonal - vCPU in Jakarta", "Networking Cloud Armor Policy"); the patterns have been checked against
recorded responses only (tests/test_ops_prices_gcp.py), not against the live API from this environment.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pricing.catalog import CATALOG_DIR, GLOBAL, Price, parse_rows

from .prices import OpsError, write_catalog

REFERENCE_REGION = "us-central1"
REGION_RE = re.compile(r"^([a-z]+-[a-z]+\d+|global)$")
SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class GcpSku:
    """One catalog SKU and how it is found in the Cloud Billing catalog."""

    sku: str
    pattern: str
    """Regular expression searched in the SKU description (case-insensitive)."""
    unit: str
    description: str
    factor: float = 1.0
    """API unit -> catalog unit (e.g. 1e6 for a per-request price priced per 1M requests)."""


@dataclass(frozen=True)
class GcpRecipe:
    """How one catalog service is read: the billing services (display names) and its SKUs."""

    billing_services: tuple[str, ...]
    skus: tuple[GcpSku, ...]


def _memorystore() -> tuple[GcpSku, ...]:
    out = []
    for n, band in enumerate(("m1", "m2", "m3", "m4", "m5"), start=1):
        out.append(GcpSku(f"redis:basic:{band}", rf"^Redis Capacity Basic M{n}\b", "GB-hour",
                          f"Memorystore for Redis Basic tier, M{n} capacity, per GB-hour"))
        out.append(GcpSku(f"redis:standard:{band}", rf"^Redis Capacity Standard M{n}\b", "GB-hour",
                          f"Memorystore for Redis Standard tier, M{n} capacity, per GB-hour"))
        out.append(GcpSku(f"redis:read-replica:{band}", rf"^Redis Capacity Read Replica M{n}\b", "GB-hour",
                          f"Memorystore for Redis read replica beyond the first, M{n} capacity, per GB-hour"))
    out.append(GcpSku("valkey:node:shared-core-nano", r"^Shared Core Nano Node\b", "hour",
                      "Memorystore for Valkey node, shared-core-nano"))
    out.append(GcpSku("valkey:node:standard-small", r"^Standard Small Node\b", "hour",
                      "Memorystore for Valkey node, standard-small"))
    return tuple(out)


RECIPES: dict[str, GcpRecipe] = {
    "cloudrun": GcpRecipe(("Cloud Run",), (
        GcpSku("cpu-second:request-based", r"^CPU Allocation Time( \(tier \d\))?$", "vCPU-second",
               "Cloud Run CPU, request-based billing"),
        GcpSku("memory-second:request-based", r"^Memory Allocation Time( \(tier \d\))?$", "GiB-second",
               "Cloud Run memory, request-based billing"),
        GcpSku("cpu-second:idle-min-instance", r"^Idle Min-Instance CPU Allocation Time", "vCPU-second",
               "Cloud Run idle minimum instance CPU, request-based billing"),
        GcpSku("memory-second:idle-min-instance", r"^Idle Min-Instance Memory Allocation Time", "GiB-second",
               "Cloud Run idle minimum instance memory, request-based billing"),
        GcpSku("cpu-second:instance-based", r"^CPU Allocation Time \((Always-on CPU|instance-based)", "vCPU-second",
               "Cloud Run CPU, instance-based billing (CPU always allocated)"),
        GcpSku("memory-second:instance-based", r"^Memory Allocation Time \((Always-on CPU|instance-based)",
               "GiB-second", "Cloud Run memory, instance-based billing (CPU always allocated)"),
        GcpSku("requests", r"^Requests$", "1M requests", "Cloud Run requests", 1_000_000.0),
        GcpSku("cpu-second:job", r"^(Jobs )?CPU Allocation Time \(Jobs?\)", "vCPU-second", "Cloud Run jobs CPU"),
        GcpSku("memory-second:job", r"^(Jobs )?Memory Allocation Time \(Jobs?\)", "GiB-second",
               "Cloud Run jobs memory"),
    )),
    "pubsub": GcpRecipe(("Cloud Pub/Sub",), (
        GcpSku("throughput", r"^Message Delivery Basic", "TiB", "Pub/Sub message throughput (publish and delivery)"),
    )),
    "cloudscheduler": GcpRecipe(("Cloud Scheduler",), (
        GcpSku("job", r"^Jobs?$", "job-month", "Cloud Scheduler job"),
    )),
    "cloudsql": GcpRecipe(("Cloud SQL",), (
        GcpSku("instance:db-f1-micro", r"^Cloud SQL for PostgreSQL: Zonal - Micro instance in ", "hour",
               "Cloud SQL PostgreSQL db-f1-micro, zonal"),
        GcpSku("instance:db-g1-small", r"^Cloud SQL for PostgreSQL: Zonal - Small instance in ", "hour",
               "Cloud SQL PostgreSQL db-g1-small, zonal"),
        GcpSku("custom:vcpu-hour", r"^Cloud SQL for PostgreSQL: Zonal - vCPU in ", "vCPU-hour",
               "Cloud SQL PostgreSQL custom vCPU, zonal"),
        GcpSku("custom:memory-gb-hour", r"^Cloud SQL for PostgreSQL: Zonal - RAM in ", "GB-hour",
               "Cloud SQL PostgreSQL custom memory, zonal"),
        GcpSku("storage:ssd", r"^Cloud SQL for PostgreSQL: Zonal - Standard storage in ", "GB-month",
               "Cloud SQL SSD storage, zonal"),
        GcpSku("backups", r"^Cloud SQL: Backups in ", "GB-month", "Cloud SQL backups"),
    )),
    "memorystore": GcpRecipe(("Cloud Memorystore for Redis", "Memorystore for Valkey"), _memorystore()),
    "loadbalancing": GcpRecipe(("Networking", "Compute Engine"), (
        GcpSku("forwarding-rule", r"^Regional External Application Load Balancer Forwarding Rule Additional", "hour",
               "Regional forwarding rule"),
        GcpSku("ingress-gb", r"^Global External Application Load Balancer Inbound Data Processing", "GB",
               "Inbound data processed by the load balancer"),
        GcpSku("global-forwarding-rule", r"^Cloud Load Balancer Forwarding Rule Minimum Global", "hour",
               "Global forwarding rules: the first 5 of a project together, flat"),
        GcpSku("global-forwarding-rule:additional", r"^Cloud Load Balancer Forwarding Rule Additional Global", "hour",
               "Global forwarding rules: each rule beyond the first 5 of a project"),
    )),
    "nat": GcpRecipe(("Networking", "Compute Engine"), (
        GcpSku("vm-hour", r"^Networking Cloud Nat Gateway Uptime", "VM-hour", "Cloud NAT gateway uptime per VM"),
        GcpSku("data-gb", r"^Networking Cloud Nat Data Processing", "GB", "Cloud NAT data processed"),
    )),
    "compute": GcpRecipe(("Compute Engine", "Networking"), (
        GcpSku("external-ipv4-hour", r"^External IP Charge on a Standard VM", "hour",
               "External IPv4 address in use on a standard VM"),
        GcpSku("external-ipv4-hour:unused", r"^Static Ip Charge", "hour",
               "Static external IPv4 address, reserved and unused"),
        GcpSku("external-ipv4-hour:nat", r"^Networking Cloud NAT IP Usage", "hour",
               "External IPv4 address used by a Cloud NAT gateway"),
    )),
    "gcs": GcpRecipe(("Cloud Storage",), (
        GcpSku("storage:standard", r"^Standard Storage ", "GB-month", "Cloud Storage Standard storage"),
    )),
    # issue 14: Cloud CDN (SKU description patterns as the Billing Catalog names them; not verified from this
    # machine, which has no network: a refresh that matches nothing leaves the sourced rows as they are)
    "cdn": GcpRecipe(("Networking",), (
        GcpSku("cache-egress:na", r"^Networking Cloud CDN Traffic Cache Data Transfer to North America", "GB",
               "Cloud CDN cache egress to North America"),
        GcpSku("lookups", r"^Networking Cloud CDN Cache Lookup", "10k requests", "Cloud CDN cache lookups"),
    )),
    "logging": GcpRecipe(("Cloud Logging",), (
        GcpSku("ingest", r"^Log Storage cost", "GiB", "Cloud Logging ingestion beyond the free allotment"),
    )),
    "secretmanager": GcpRecipe(("Secret Manager",), (
        GcpSku("version", r"^Secret version replica storage", "version-month", "Secret Manager active secret version"),
        GcpSku("access", r"^Secret access operations", "10k operations", "Secret Manager access operations",
               10_000.0),
    )),
    "identityplatform": GcpRecipe(("Identity Platform",), (
        GcpSku("mau:tier1", r"^Identity Platform Monthly Active Users? - Tier 1", "MAU",
               "Identity Platform MAU, Tier 1 providers (email, social)"),
    )),
    "kms": GcpRecipe(("Cloud Key Management Service (KMS)",), (
        GcpSku("key-version:software", r"^Active software symmetric key versions", "version-month",
               "Cloud KMS active key version, SOFTWARE protection level"),
        GcpSku("operations:software", r"^Cryptographic operations with a software symmetric key", "10k operations",
               "Cloud KMS cryptographic operations, SOFTWARE protection level", 10_000.0),
    )),
    "artifactregistry": GcpRecipe(("Artifact Registry",), (
        GcpSku("storage", r"^Artifact Registry Storage", "GB-month", "Artifact Registry storage"),
    )),
    "monitoring": GcpRecipe(("Cloud Monitoring",), (
        GcpSku("alert-condition", r"^Alerting Policy Conditions?", "condition-month",
               "Cloud Monitoring alerting: one condition per month"),
        GcpSku("alert-time-series", r"^Alerting Policy Time Series", "1M time series",
               "Cloud Monitoring alerting: 1M time series returned", 1_000_000.0),
    )),
    "cloudarmor": GcpRecipe(("Networking", "Compute Engine"), (
        GcpSku("policy", r"^Networking Cloud Armor Policy$", "policy-month", "Cloud Armor Standard security policy"),
        GcpSku("rule", r"^Networking Cloud Armor Rule$", "rule-month", "Cloud Armor Standard rule"),
        GcpSku("requests", r"^Networking Cloud Armor Requests$", "1M requests",
               "Cloud Armor Standard requests evaluated", 1_000_000.0),
    )),
}


@dataclass
class GcpRefreshResult:
    """What one region's refresh changed."""

    region: str
    path: Path
    updated: list[Price] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _money(m: Any) -> float:
    return float(getattr(m, "units", 0) or 0) + float(getattr(m, "nanos", 0) or 0) / 1e9


def list_price(sku: Any) -> tuple[float, str, str] | None:
    """(USD, API unit, effective date) of the first non-zero tier of a SKU's current price; None if none."""
    for info in list(getattr(sku, "pricing_info", []) or [])[:1]:
        expr = info.pricing_expression
        tiers = sorted(expr.tiered_rates, key=lambda t: float(t.start_usage_amount or 0))
        for tier in tiers:
            usd = _money(tier.unit_price)
            if usd > 0:
                when = info.effective_time
                date = when.strftime("%Y-%m-%d") if hasattr(when, "strftime") else str(when or "")[:10]
                return usd, str(expr.usage_unit), date
    return None


def services_by_name(client: Any) -> dict[str, str]:
    """Billing service display name -> resource name (``services/XXXX-XXXX-XXXX``), following pages."""
    return {s.display_name: s.name for s in client.list_services(request={})}


def _sku_regions(sku: Any) -> list[str]:
    return [str(r) for r in (getattr(sku, "service_regions", []) or [])]


def refresh_gcp(client: Any, services: Iterable[str], regions: Iterable[str], *, catalog_dir: Path = CATALOG_DIR,
                today: str | None = None) -> list[GcpRefreshResult]:
    """Refresh ``services`` in ``regions`` (``global`` for the global file) and rewrite their catalog files."""
    today = today or dt.date.today().isoformat()
    services = list(services)
    reference = {(p.service, p.sku): p for p in parse_rows(catalog_dir / f"gcp-{REFERENCE_REGION}.csv")}
    names = services_by_name(client)
    skus_cache: dict[str, list[Any]] = {}

    def skus_of(display: str) -> list[Any]:
        if display not in skus_cache:
            name = names.get(display)
            skus_cache[display] = [] if name is None else list(
                client.list_skus(request={"parent": name, "currency_code": "USD"}))
        return skus_cache[display]

    results = []
    for region in regions:
        path = catalog_dir / f"gcp-{region}.csv"
        existing = parse_rows(path) if path.exists() else []
        rows: dict[tuple[str, str], Price] = {(p.service, p.sku): p for p in existing}
        result = GcpRefreshResult(region, path)
        for service in services:
            recipe = RECIPES[service]
            found = _refresh_service(service, recipe, region, [s for d in recipe.billing_services for s in skus_of(d)],
                                     reference, today)
            if region != GLOBAL:
                for (svc, sku), ref in reference.items():
                    if svc == service and ref.unit == "multiplier":
                        found.setdefault(sku, Price("gcp", region, service, sku, ref.description, ref.unit, ref.usd,
                                                    ref.basis, f"same ratio as {REFERENCE_REGION} (not a price): "
                                                               f"{ref.source}", ref.source_date))
            for sku, price in found.items():
                rows[(service, sku)] = price
                result.updated.append(price)
            result.missing += [f"{service}/{w.sku}" for w in recipe.skus if w.sku not in found]
        write_catalog(path, rows.values())
        results.append(result)
    return results


def _refresh_service(service: str, recipe: GcpRecipe, region: str, skus: list[Any],
                     reference: Mapping[tuple[str, str], Price], today: str) -> dict[str, Price]:
    found: dict[str, tuple[int, Price]] = {}
    for want in recipe.skus:
        rx = re.compile(want.pattern, re.IGNORECASE)
        for sku in skus:
            if not rx.search(str(sku.description)):
                continue
            where = _sku_regions(sku)
            rank = 0 if region in where else 1 if GLOBAL in where or not where else None
            if rank is None or (want.sku in found and found[want.sku][0] <= rank):
                continue
            price = list_price(sku)
            if price is None:
                continue
            usd, api_unit, date = price
            ref = reference.get((service, want.sku))
            source = (f"Cloud Billing Catalog API {sku.name} ({sku.category.service_display_name}) "
                      f"'{sku.description}' "
                      f"regions {','.join(where) or '-'} ({usd:g} USD per {api_unit}"
                      + (f", x{want.factor:g} to per {want.unit}" if want.factor != 1 else "") + ")")
            found[want.sku] = (rank, Price("gcp", region, service, want.sku,
                                           ref.description if ref else want.description,
                                           ref.unit if ref else want.unit, round(usd * want.factor, 10), "api",
                                           source, date or today))
    return {sku: p for sku, (_, p) in found.items()}


def billing_client() -> Any:
    """The Cloud Billing Catalog client with application default credentials.

    Raises :class:`OpsError` subclass :class:`NoCredentials` when there are none (exit 2)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # google-api-core's Python-version notice
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError
        from google.cloud import billing_v1
    try:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-billing.readonly"])
    except DefaultCredentialsError as exc:
        raise NoCredentials(str(exc).split(". ")[0]) from None
    return billing_v1.CloudCatalogClient(credentials=credentials)


class NoCredentials(OpsError):
    """No Google application default credentials (bad input: exit 2)."""
