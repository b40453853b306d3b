"""``python -m ops prices refresh`` against recorded Price List API responses (botocore Stubber, no network).

The responses have the shape of ``pricing.get_products`` (``FormatVersion`` aws_v1, ``PriceList`` of JSON strings with
``product.attributes`` and ``terms.OnDemand...priceDimensions``); the prices in them are test values.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ops.__main__ import main
from ops.prices import on_demand_price, refresh
from pricing.catalog import CATALOG_DIR, Catalog, parse_rows

DATE = "2026-08-01T00:00:00Z"


def product(sku: str, attrs: dict[str, str], tiers: list[tuple[str, str, str]], family: str = "") -> str:
    """A PriceList item; ``tiers`` are (beginRange, USD, unit)."""
    dims = {f"{sku}.JRTCKXETXF.{i}": {"rateCode": f"{sku}.JRTCKXETXF.{i}", "beginRange": begin,
                                      "endRange": "Inf", "unit": unit, "pricePerUnit": {"USD": usd},
                                      "description": f"tier {i}", "appliesTo": []}
            for i, (begin, usd, unit) in enumerate(tiers)}
    return json.dumps({
        "product": {"productFamily": family, "sku": sku, "attributes": attrs},
        "serviceCode": attrs.get("servicecode", ""),
        "terms": {"OnDemand": {f"{sku}.JRTCKXETXF": {"offerTermCode": "JRTCKXETXF", "sku": sku,
                                                      "effectiveDate": DATE, "priceDimensions": dims,
                                                      "termAttributes": {}}}},
        "version": "20260801000000", "publicationDate": DATE,
    })


def filters(**kv: str) -> list[dict[str, str]]:
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in kv.items()]


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    d = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, d)
    (d / "aws-ap-southeast-3.csv").unlink(missing_ok=True)  # these tests add Jakarta as a new region
    return d


@pytest.fixture
def client() -> Any:
    return boto3.client("pricing", region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


ELB_PAGE_1 = [
    product("AAA1", {"usagetype": "APS3-LoadBalancerUsage", "regionCode": "ap-southeast-3", "servicecode": "AWSELB"},
            [("0", "0.0252000000", "Hrs")], "Load Balancer-Application"),
]
ELB_PAGE_2 = [
    product("AAA2", {"usagetype": "APS3-LCUUsage", "regionCode": "ap-southeast-3"},
            [("0", "0.0080000000", "LCU-Hrs")], "Load Balancer-Application"),
    product("AAA3", {"usagetype": "APS3-Outposts-LoadBalancerUsage", "regionCode": "ap-southeast-3"},
            [("0", "0.0100000000", "Hrs")], "Load Balancer-Application"),
]


def test_refresh_adds_a_region_from_paginated_responses(client: Any, catalog_dir: Path) -> None:
    with Stubber(client) as stub:
        params = {"ServiceCode": "AWSELB", "FormatVersion": "aws_v1",
                  "Filters": filters(regionCode="ap-southeast-3", productFamily="Load Balancer-Application")}
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": ELB_PAGE_1, "NextToken": "p2"},
                          params)
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": ELB_PAGE_2},
                          {**params, "NextToken": "p2"})
        [result] = refresh(client, ["elb"], ["ap-southeast-3"], catalog_dir=catalog_dir)
        stub.assert_no_pending_responses()
    rows = {p.sku: p for p in parse_rows(catalog_dir / "aws-ap-southeast-3.csv")}
    assert set(rows) == {"alb-hour", "alb-lcu-hour"} and result.missing == []
    hour = rows["alb-hour"]
    assert (hour.usd, hour.unit, hour.basis, hour.source_date) == (0.0252, "hour", "api", "2026-08-01")
    assert "ServiceCode=AWSELB regionCode=ap-southeast-3 usagetype=APS3-LoadBalancerUsage sku=AAA1" in hour.source
    assert hour.description == "Application Load Balancer hour"

    # The estimator now prices an ALB in Jakarta (and still says "price not found" for what was not refreshed).
    import pulumi_aws as aws

    from review.cost import estimate_graph
    from review.engine import run_callable

    graph = run_callable(lambda: aws.lb.LoadBalancer("alb", subnets=["a", "b"]),
                         config={"aws:region": "ap-southeast-3"})
    alb = estimate_graph(graph, catalog=Catalog.load(catalog_dir)).resources[0]
    assert alb.monthly == pytest.approx(730 * 0.0252 + 730 * 0.008)
    assert alb.not_found == ["public IPv4 addresses (one per AZ, 2) [aws/ap-southeast-3/vpc/public-ipv4-hour]"]


def test_per_sku_queries_and_existing_rows_of_other_services_are_kept(client: Any, catalog_dir: Path) -> None:
    before = {(p.service, p.sku): p for p in parse_rows(catalog_dir / "aws-eu-west-1.csv")}
    wanted = sorted(p.sku.split(":", 1)[1] for p in before.values() if p.service == "ec2")
    with Stubber(client) as stub:
        for i, itype in enumerate(wanted):
            items = [] if itype == "c7g.large" else [product(
                f"EC2{i}", {"instanceType": itype, "operatingSystem": "Linux", "usagetype": f"EU-BoxUsage:{itype}"},
                [("0", f"{0.01 * (i + 1):.10f}", "Hrs")], "Compute Instance")]
            stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": items}, {
                "ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1",
                "Filters": filters(regionCode="eu-west-1", operatingSystem="Linux", tenancy="Shared",
                                   preInstalledSw="NA", capacitystatus="Used", licenseModel="No License required",
                                   instanceType=itype)})
        [result] = refresh(client, ["ec2"], ["eu-west-1"], catalog_dir=catalog_dir)
    after = {(p.service, p.sku): p for p in parse_rows(catalog_dir / "aws-eu-west-1.csv")}
    assert set(after) == set(before)
    assert wanted[:2] == ["c7g.large", "m7g.large"]
    assert after[("ec2", "instance:m7g.large")].basis == "api"
    assert after[("ec2", "instance:m7g.large")].usd == 0.02
    assert result.missing == ["ec2/instance:c7g.large"]
    assert after[("ec2", "instance:c7g.large")] == before[("ec2", "instance:c7g.large")]  # kept as it was
    assert after[("rds", "storage:gp3")] == before[("rds", "storage:gp3")]  # another service: untouched


def test_first_tier_and_unit_conversion(client: Any, catalog_dir: Path) -> None:
    s3 = [
        product("S1", {"usagetype": "APS3-TimedStorage-ByteHrs", "volumeType": "Standard"},
                [("0", "0.0250000000", "GB-Mo"), ("51200", "0.0240000000", "GB-Mo"),
                 ("512000", "0.0230000000", "GB-Mo")], "Storage"),
        product("S2", {"usagetype": "APS3-Requests-Tier1", "group": "S3-API-Tier1"},
                [("0", "0.0000050000", "Requests")], "API Request"),
        product("S3", {"usagetype": "APS3-Requests-Tier2", "group": "S3-API-Tier2"},
                [("0", "0.0000004000", "Requests")], "API Request"),
        product("S4", {"usagetype": "APS3-TimedStorage-GlacierByteHrs", "volumeType": "Amazon Glacier"},
                [("0", "0.0050000000", "GB-Mo")], "Storage"),
    ]
    with Stubber(client) as stub:
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": s3},
                          {"ServiceCode": "AmazonS3", "FormatVersion": "aws_v1",
                           "Filters": filters(regionCode="ap-southeast-3")})
        refresh(client, ["s3"], ["ap-southeast-3"], catalog_dir=catalog_dir)
    rows = {p.sku: p for p in parse_rows(catalog_dir / "aws-ap-southeast-3.csv")}
    assert rows["storage:standard"].usd == 0.025  # first tier (beginRange 0), not the cheaper ones
    assert rows["requests:put"].usd == pytest.approx(0.005) and rows["requests:put"].unit == "1k requests"
    assert rows["requests:get"].usd == pytest.approx(0.0004)
    assert "x1000 to per 1k requests" in rows["requests:put"].source


def test_on_demand_price_parsing() -> None:
    item = json.loads(product("X", {}, [("10", "2", "GB"), ("0", "3", "GB")]))
    assert on_demand_price(item) == (3.0, "GB", "2026-08-01")
    assert on_demand_price({"terms": {}}) is None


def test_cli_refresh_prints_what_changed(client: Any, catalog_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kms = [product("K1", {"usagetype": "APS3-KMS-Keys"}, [("0", "1.0000000000", "Keys")]),
           product("K2", {"usagetype": "APS3-KMS-Requests"}, [("0", "0.0000030000", "Requests")])]
    with Stubber(client) as stub:
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": kms},
                          {"ServiceCode": "awskms", "FormatVersion": "aws_v1",
                           "Filters": filters(regionCode="ap-southeast-3")})
        code = main(["prices", "refresh", "--service", "kms", "--region", "ap-southeast-3",
                     "--catalog-dir", str(catalog_dir)], client=client)
    out = capsys.readouterr().out
    assert code == 0
    path = catalog_dir / "aws-ap-southeast-3.csv"
    assert out.splitlines()[0] == f"{path}: 2 prices refreshed (kms in ap-southeast-3)"
    rows = {p.sku: p for p in parse_rows(catalog_dir / "aws-ap-southeast-3.csv")}
    assert rows["requests"].usd == pytest.approx(0.03)


def test_cli_api_failure_is_one_line_exit_1(client: Any, catalog_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Stubber(client) as stub:
        stub.add_client_error("get_products", service_error_code="ThrottlingException", service_message="Rate exceeded")
        code = main(["prices", "refresh", "--service", "kms", "--region", "eu-west-1",
                     "--catalog-dir", str(catalog_dir)], client=client)
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err and err.startswith("ops: the AWS Price List API failed:")
    assert "ThrottlingException" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["prices", "refresh", "--service", "dynamodb", "--region", "eu-west-1"], "ops: unknown service 'dynamodb'"),
    (["prices", "refresh", "--service", "elb"], "the following arguments are required: --region"),
    (["prices", "refresh", "--service", "elb", "--region", "Ireland"], "'Ireland' is not an AWS region code"),
    (["prices", "refresh", "--service", "elb", "--region", "eu-west-1", "--catalog-dir", "/nope"],
     "--catalog-dir /nope: no such directory"),
    (["prices", "frobnicate"], "invalid choice: 'frobnicate'"),
    (["prices", "refresh", "--service", "elb", "--region", "eu-west-1", "--bogus"], "unrecognized arguments"),
])
def test_bad_flags_are_one_line_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv, client=object()) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
