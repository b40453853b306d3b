"""Catalog integrity: every row sourced and dated, no negative prices, consistent units, every priced SKU in every
covered region, derived rows equal to their documented rule, and no region borrowing another's prices."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pricing.catalog import BASES, CATALOG_DIR, FIELDS, UNITS, Catalog, CatalogError, default_catalog, parse_rows

REFERENCE = {"aws": "us-east-1", "gcp": "us-central1"}
COVERED = {"aws": {"us-east-1", "eu-west-1"}, "gcp": {"us-central1"}}
PARTIAL = {"aws": {"ap-southeast-1", "ap-southeast-3", "us-west-2"},
           "gcp": {"asia-southeast1", "asia-southeast2", "us-east1"}}
MULTI_REGIONS = {"aws": set(), "gcp": {"us"}}
"""GCP multi-region locations (dual-region buckets: their own SKUs, issue 14)."""
"""Regions with only the prices a source was found for (docs/cost.md lists what is missing in each)."""
EU_FACTOR = 1.0625


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


def test_files_are_one_per_provider_and_region() -> None:
    names = sorted(p.name for p in CATALOG_DIR.glob("*.csv"))
    assert names == ["aws-ap-southeast-1.csv", "aws-ap-southeast-3.csv", "aws-eu-west-1.csv", "aws-global.csv",
                     "aws-us-east-1.csv", "aws-us-west-2.csv", "gcp-asia-southeast1.csv", "gcp-asia-southeast2.csv",
                     "gcp-global.csv", "gcp-us-central1.csv", "gcp-us-east1.csv", "gcp-us.csv"]
    for path in CATALOG_DIR.glob("*.csv"):
        provider, region = path.stem.split("-", 1)
        for row in parse_rows(path):
            assert (row.provider, row.region) == (provider, region), f"{path.name}: {row.ref} in the wrong file"


def test_every_row_has_source_date_basis_and_a_valid_price(catalog: Catalog) -> None:
    for p in catalog:
        assert p.usd >= 0, p.ref
        assert p.source.strip() and p.source_date.strip(), p.ref
        assert p.basis in BASES, p.ref
        assert p.unit in UNITS, p.ref
        assert p.description.strip(), p.ref
        if p.basis in ("derived", "proxy"):
            assert p.source.startswith(p.basis.upper()), f"{p.ref}: a {p.basis} row states its rule first"


def test_covered_regions(catalog: Catalog) -> None:
    for provider, regions in COVERED.items():
        assert catalog.regions(provider) == regions | PARTIAL[provider] | MULTI_REGIONS[provider]


@pytest.mark.parametrize("provider", ["aws", "gcp"])
def test_partial_regions_price_only_skus_the_estimator_knows(catalog: Catalog, provider: str) -> None:
    ref = {(p.service, p.sku): p.unit for p in catalog if p.provider == provider and p.region == REFERENCE[provider]}
    for region in PARTIAL[provider]:
        rows = {(p.service, p.sku): p.unit for p in catalog if p.provider == provider and p.region == region}
        assert rows and all(ref.get(k) == unit for k, unit in rows.items()), f"{provider}/{region}"


def test_derived_jakarta_cloud_sql_rows_are_half_the_quoted_regional_figure(catalog: Catalog) -> None:
    derived = [p for p in catalog if p.region == "asia-southeast2" and p.basis == "derived"]
    assert {p.sku for p in derived} == {"custom:memory-gb-hour", "storage:ssd"}
    ha = catalog.get("gcp", "asia-southeast2", "cloudsql", "ha-multiplier")
    assert ha is not None and ha.usd == 2
    quoted_regional = {"custom:memory-gb-hour": 0.0182, "storage:ssd": 0.442}  # the cited HA figures
    for p in derived:
        assert p.usd == pytest.approx(quoted_regional[p.sku] / ha.usd), p.ref
        assert str(quoted_regional[p.sku]) in p.source.replace("0.018200000", "0.0182").replace("0.442000000", "0.442")


@pytest.mark.parametrize("provider", ["aws", "gcp"])
def test_every_priced_sku_is_in_every_covered_region_with_the_same_unit(catalog: Catalog, provider: str) -> None:
    ref = {(p.service, p.sku): p.unit for p in catalog if p.provider == provider and p.region == REFERENCE[provider]}
    for region in COVERED[provider]:
        rows = {(p.service, p.sku): p.unit for p in catalog if p.provider == provider and p.region == region}
        assert rows == ref, f"{provider}/{region} differs from {REFERENCE[provider]}"


def test_units_are_consistent_per_service_and_sku(catalog: Catalog) -> None:
    units: dict[tuple[str, str, str], set[str]] = {}
    for p in catalog:
        units.setdefault((p.provider, p.service, p.sku), set()).add(p.unit)
    assert {k: v for k, v in units.items() if len(v) > 1} == {}


def test_derived_eu_west_1_rows_follow_the_documented_factor(catalog: Catalog) -> None:
    derived = [p for p in catalog if p.region == "eu-west-1" and p.basis == "derived"]
    assert derived, "eu-west-1 gaps are filled by the documented factor"
    for p in derived:
        base = catalog.get("aws", "us-east-1", p.service, p.sku)
        assert base is not None
        if p.unit == "multiplier":  # a ratio is carried over, not scaled
            assert p.usd == base.usd, p.ref
            continue
        # six decimals, or six significant digits for prices below a cent per unit (Lambda GB-seconds)
        assert p.usd == pytest.approx(round(base.usd * EU_FACTOR, 6)) or \
            p.usd == pytest.approx(base.usd * EU_FACTOR, rel=1e-5), p.ref
        assert "1.0625" in p.source


def test_quoted_eu_west_1_rows_are_the_reference_figures(catalog: Catalog) -> None:
    assert catalog.get("aws", "eu-west-1", "elasticache", "node:cache.t4g.micro").usd == 0.017
    assert catalog.get("aws", "eu-west-1", "elasticache", "node:cache.t4g.medium").usd == 0.068
    assert catalog.get("aws", "eu-west-1", "s3", "storage:standard").basis == "quoted"


def test_multi_az_rows_agree_with_the_multiplier(catalog: Catalog) -> None:
    for region in COVERED["aws"]:
        mult = catalog.get("aws", region, "rds", "multi-az-multiplier").usd
        single = catalog.get("aws", region, "rds", "storage:gp3").usd
        multi = catalog.get("aws", region, "rds", "storage:gp3:multi-az").usd
        assert multi == pytest.approx(single * mult, rel=1e-3)


def test_lookup_never_borrows_another_region(catalog: Catalog) -> None:
    assert catalog.get("aws", "eu-north-1", "elb", "alb-hour") is None
    # A partly covered region: Singapore has a NAT price, Jakarta has none, and Jakarta never borrows it.
    assert catalog.get("aws", "ap-southeast-1", "vpc", "nat-gateway-hour").usd == 0.059
    assert catalog.get("aws", "ap-southeast-3", "vpc", "nat-gateway-hour") is None
    assert catalog.get("aws", "us-east-1", "elb", "alb-hour").usd == 0.0225
    # Global prices (Route 53) apply in any region, including uncovered ones.
    assert catalog.get("aws", "eu-north-1", "route53", "hosted-zone").usd == 0.5
    # KMS publishes one key price for every region: a global row, not Singapore's row copied to Jakarta.
    key = catalog.get("aws", "ap-southeast-3", "kms", "key")
    assert key is not None and key.region == "global" and key.usd == 1 and "aws.amazon.com/kms/pricing" in key.source
    assert catalog.get("gcp", "us-central1", "cloudrun", "requests").region == "global"


def _write(tmp: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp / "aws-us-east-1.csv"
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, FIELDS)
        w.writeheader()
        w.writerows(rows)
    return tmp


GOOD = dict(provider="aws", region="us-east-1", service="kms", sku="key", description="key", unit="key-month",
            usd="1", basis="quoted", source="somewhere", source_date="2024-01-01")


@pytest.mark.parametrize(("change", "error"), [
    ({"usd": "-1"}, "negative price"),
    ({"usd": "abc"}, "not a number"),
    ({"source": ""}, "empty source"),
    ({"source_date": ""}, "empty source_date"),
    ({"unit": "parsecs"}, "unknown unit"),
    ({"basis": "guessed"}, "basis 'guessed'"),
])
def test_bad_rows_are_rejected_with_file_and_line(tmp_path: Path, change: dict[str, str], error: str) -> None:
    with pytest.raises(CatalogError, match=rf"aws-us-east-1.csv:2: .*{error}"):
        Catalog.load(_write(tmp_path, [{**GOOD, **change}]))


def test_duplicate_rows_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="duplicate price aws/us-east-1/kms/key"):
        Catalog.load(_write(tmp_path, [GOOD, GOOD]))
