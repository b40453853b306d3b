"""``python -m ops prices refresh --cloud gcp`` against recorded Cloud Billing Catalog API responses.

The client is the real ``google.cloud.billing_v1.CloudCatalogClient`` (anonymous credentials); only its transport's
``list_services`` and ``list_skus`` calls are replaced by recorded pages (``ListServicesResponse`` /
``ListSkusResponse`` with ``next_page_token``), so the library's pagers, types and our mapping run as they would
against the API. SKU descriptions, ids and shapes follow the public catalog; the prices are test values.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    from google.api_core import exceptions as gexc
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import billing_v1
    from google.cloud.billing_v1 import types

from ops.__main__ import main
from ops.prices_gcp import list_price, refresh_gcp
from pricing import estimate
from pricing.catalog import CATALOG_DIR, Catalog, parse_rows

REGION = "asia-southeast2"


def sku(sku_id: str, service: str, description: str, regions: list[str], unit: str,
        tiers: list[tuple[float, int, int]], when: str = "2026-11-01T00:00:00Z") -> types.Sku:
    """A catalog SKU; ``tiers`` are (start usage, units, nanos) in USD."""
    return types.Sku(
        name=f"services/{service}/skus/{sku_id}", sku_id=sku_id, description=description,
        category=types.Category(service_display_name={"CR": "Cloud Run", "MS": "Cloud Memorystore for Redis",
                                                      "NW": "Networking"}[service[:2]],
                                resource_family="ApplicationServices", resource_group="Misc", usage_type="OnDemand"),
        service_regions=regions,
        pricing_info=[types.PricingInfo(
            effective_time=when,
            pricing_expression=types.PricingExpression(
                usage_unit=unit, base_unit=unit, base_unit_conversion_factor=1, display_quantity=1,
                tiered_rates=[types.PricingExpression.TierRate(
                    start_usage_amount=start, unit_price={"currency_code": "USD", "units": units, "nanos": nanos})
                    for start, units, nanos in tiers]))])


SERVICES = [
    types.ListServicesResponse(services=[types.Service(name="services/CR01", display_name="Cloud Run")],
                               next_page_token="p2"),
    types.ListServicesResponse(services=[
        types.Service(name="services/MS01", display_name="Cloud Memorystore for Redis"),
        types.Service(name="services/NW01", display_name="Networking")]),
]
RUN_SKUS = [
    types.ListSkusResponse(skus=[
        # Tier 1 and Tier 2 SKUs: only the one sold in the region is taken; tier 0 is the free allowance.
        sku("CR01-T1", "CR01", "CPU Allocation Time", ["us-central1"], "s", [(0, 0, 0), (180000, 0, 24000)]),
        sku("CR01-T2", "CR01", "CPU Allocation Time (tier 2)", ["asia-southeast1", REGION], "s",
            [(0, 0, 0), (180000, 0, 33600)]),
        sku("CR01-M2", "CR01", "Memory Allocation Time (tier 2)", ["asia-southeast1", REGION], "GiBy.s",
            [(0, 0, 0), (360000, 0, 3500)]),
    ], next_page_token="next"),
    types.ListSkusResponse(skus=[
        sku("CR01-I2", "CR01", "Idle Min-Instance CPU Allocation Time (tier 2)", [REGION], "s", [(0, 0, 3500)]),
        sku("CR01-R", "CR01", "Requests", ["global"], "count", [(0, 0, 0), (2000000, 0, 400)]),
    ]),
]
MEMORYSTORE_SKUS = [types.ListSkusResponse(skus=[
    sku("MS01-B1", "MS01", "Redis Capacity Basic M1 Jakarta", [REGION], "GiBy.h", [(0, 0, 62000000)]),
    sku("MS01-B1X", "MS01", "Redis Capacity Basic M1 Singapore", ["asia-southeast1"], "GiBy.h", [(0, 0, 54000000)]),
])]
NETWORKING_SKUS = [types.ListSkusResponse(skus=[
    sku("NW01-P", "NW01", "Networking Cloud Armor Policy", ["global"], "mo", [(0, 5, 0)]),
    sku("NW01-R", "NW01", "Networking Cloud Armor Rule", ["global"], "mo", [(0, 1, 0)]),
    sku("NW01-Q", "NW01", "Networking Cloud Armor Requests", ["global"], "count", [(0, 0, 750)]),
])]


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    d = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, d)
    return d


@pytest.fixture
def client() -> Any:
    """A real catalog client whose transport answers with the recorded pages."""
    c = billing_v1.CloudCatalogClient(credentials=AnonymousCredentials())
    pages = {"services/CR01": RUN_SKUS, "services/MS01": MEMORYSTORE_SKUS, "services/NW01": NETWORKING_SKUS}
    calls: dict[str, Any] = {"services": 0, "skus": []}

    def list_services(request: Any, **_: Any) -> types.ListServicesResponse:
        calls["services"] += 1
        return SERVICES[1] if request.page_token == "p2" else SERVICES[0]

    def list_skus(request: Any, **_: Any) -> types.ListSkusResponse:
        calls["skus"].append((request.parent, request.currency_code, request.page_token))
        recorded = pages[request.parent]
        return recorded[1] if request.page_token == "next" else recorded[0]

    def answer(request: Any, **kw: Any) -> Any:  # both methods share one callable type: dispatch on the request
        return list_services(request) if isinstance(request, types.ListServicesRequest) else list_skus(request)

    with mock.patch.object(type(c.transport.list_services), "__call__", side_effect=answer):
        c.calls = calls  # type: ignore[attr-defined]
        yield c


def test_list_price_is_the_first_paid_tier_in_usd() -> None:
    assert list_price(RUN_SKUS[0].skus[1]) == (pytest.approx(0.0000336), "s", "2026-11-01")
    assert list_price(MEMORYSTORE_SKUS[0].skus[0])[0] == pytest.approx(0.062)
    assert list_price(types.Sku(description="free", pricing_info=[])) is None


def test_refresh_follows_pages_picks_the_regions_sku_and_converts_units(client: Any, catalog_dir: Path) -> None:
    [result] = refresh_gcp(client, ["cloudrun", "memorystore", "cloudarmor"], [REGION], catalog_dir=catalog_dir,
                           today="2026-12-03")
    assert client.calls["services"] == 2  # both pages of services
    assert ("services/CR01", "USD", "next") in client.calls["skus"]  # the second page of Cloud Run SKUs
    rows = {(p.service, p.sku): p for p in parse_rows(catalog_dir / f"gcp-{REGION}.csv")}
    cpu = rows[("cloudrun", "cpu-second:request-based")]
    assert cpu.usd == pytest.approx(0.0000336) and cpu.basis == "api" and cpu.source_date == "2026-11-01"
    assert "CR01-T2" in cpu.source and "CPU Allocation Time (tier 2)" in cpu.source
    assert rows[("cloudrun", "requests")].usd == pytest.approx(0.40)  # per request -> per 1M requests
    assert rows[("cloudrun", "cpu-second:idle-min-instance")].usd == pytest.approx(0.0000035)
    assert rows[("memorystore", "redis:basic:m1")].usd == pytest.approx(0.062)  # Jakarta, not Singapore
    assert rows[("cloudarmor", "policy")].usd == 5 and rows[("cloudarmor", "policy")].unit == "policy-month"
    assert rows[("cloudarmor", "requests")].usd == pytest.approx(0.75)
    # rows of other services are kept; what the API did not return is listed
    assert rows[("gcs", "storage:standard")].basis == "quoted"
    assert "cloudrun/cpu-second:instance-based" in result.missing
    assert "memorystore/redis:standard:m2" in result.missing
    assert {p.sku for p in result.updated} >= {"redis:basic:m1", "policy", "rule", "requests"}


def test_a_new_region_gets_its_file_and_the_estimator_prices_it(client: Any, catalog_dir: Path) -> None:
    refresh_gcp(client, ["cloudarmor"], ["europe-west10"], catalog_dir=catalog_dir)
    rows = parse_rows(catalog_dir / "gcp-europe-west10.csv")
    assert {p.sku for p in rows} == {"policy", "rule", "requests"}  # global SKUs apply to every region
    from pricing import CostResource

    armor = CostResource(urn="urn:armor", type="gcp:compute/securityPolicy:SecurityPolicy", name="armor",
                         inputs={"rules": [{}, {}]}, provider_inputs={"region": "europe-west10"})
    report = estimate([armor], catalog=Catalog.load(catalog_dir))
    assert report.resources[0].not_found == []
    assert report.monthly_total == pytest.approx(5 + 2 * 1 + 0.75)


def test_cli_refreshes_and_prints_what_changed(client: Any, catalog_dir: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prices", "refresh", "--cloud", "gcp", "--service", "memorystore", "--region", REGION,
                 "--catalog-dir", str(catalog_dir)], gcp_client=client)
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].endswith(f"gcp-{REGION}.csv: 1 prices refreshed (memorystore in {REGION})")
    assert "not returned by the API" in out


def test_cli_api_failure_is_one_line_exit_1(catalog_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = billing_v1.CloudCatalogClient(credentials=AnonymousCredentials())
    with mock.patch.object(type(c.transport.list_services), "__call__",
                           side_effect=gexc.PermissionDenied("billing catalog access denied")):
        code = main(["prices", "refresh", "--cloud", "gcp", "--service", "kms", "--region", REGION,
                     "--catalog-dir", str(catalog_dir)], gcp_client=c)
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err
    assert err.startswith("ops: the Cloud Billing Catalog API failed:") and "access denied" in err


@pytest.mark.parametrize("argv, message", [
    (["--service", "fargate", "--region", REGION], "unknown gcp service 'fargate'"),
    (["--service", "kms", "--region", "ap-southeast-3"], "'ap-southeast-3' is not a GCP region"),
    (["--service", "kms", "--region", REGION, "--profile", "x"], "--profile is an AWS profile"),
])
def test_cli_bad_flags_are_one_line_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prices", "refresh", "--cloud", "gcp", *argv], gcp_client=object())
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and message in err


def test_cli_without_google_credentials_is_one_line_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from google.auth.exceptions import DefaultCredentialsError

    def no_credentials(*_: Any, **__: Any) -> Any:
        raise DefaultCredentialsError("Your default credentials were not found. To set up ...")

    monkeypatch.setattr("google.auth.default", no_credentials)
    code = main(["prices", "refresh", "--cloud", "gcp", "--service", "kms", "--region", REGION])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert "no Google application default credentials" in err and "Your default credentials were not found" in err


def test_every_catalog_service_can_be_refreshed_so_the_gate_command_works() -> None:
    """The budget gate prints `ops prices refresh --service S` for each missing row: every S must be accepted."""
    from ops.prices import RECIPES as AWS_RECIPES
    from ops.prices_gcp import RECIPES as GCP_RECIPES

    aws = {p.service for p in parse_rows(CATALOG_DIR / "aws-us-east-1.csv")}
    gcp = {p.service for f in ("gcp-us-central1.csv", "gcp-global.csv") for p in parse_rows(CATALOG_DIR / f)}
    assert aws <= set(AWS_RECIPES)
    assert gcp | {"cloudarmor"} <= set(GCP_RECIPES)  # Cloud Armor is priced by pricing/gcp.py, absent from the rows
