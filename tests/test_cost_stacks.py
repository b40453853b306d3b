"""Our stacks priced end to end, and the budget gate through the review's command line.

- the shipped catalog (``pricing/catalog``) prices every AWS stack: nothing unpriced, no price missing;
- the README's target: AWS dev at most 60 USD/month at its usage file, with the shipped catalog;
- every stack within its budget, prod at its HA shape (NAT per AZ, Multi-AZ database, 3 tasks, 3 cache nodes);
- a stack over its budget exits 1 with a mandatory violation from the cost pack.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pricing import CATALOG_DIR, Catalog, CostReport
from review.cli import main as review_main
from review.cost import estimate_graph

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    """The catalog the project ships (every other estimate in the tests uses the test catalog)."""
    return Catalog.load(CATALOG_DIR)


@pytest.fixture(scope="module")
def reports(run_stack) -> Iterator[dict[str, CostReport]]:
    """Each stack's estimate with its usage file, from the test catalog."""
    out = {}
    for stack in ("dev", "staging", "prod"):
        graph = run_stack(stack)
        out[stack] = estimate_graph(graph, REPO / f"usage.{stack}.yaml")
        out[stack].budget = graph.config["backend-hosting:budget"]["monthlyUsd"]  # type: ignore[attr-defined]
    yield out


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_shipped_catalog_prices_every_aws_stack(run_stack, shipped: Catalog, stack: str) -> None:
    report = estimate_graph(run_stack(stack), REPO / f"usage.{stack}.yaml", catalog=shipped)
    assert report.unpriced == []
    assert report.price_not_found == []
    assert report.notes == []  # every usage-file entry matches a resource
    assert report.free > 50


def _readme_dev_target() -> float:
    """The bound of the README's "AWS dev <= N USD/month" target row."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^\| AWS dev (?:≤|<=) (\d+(?:\.\d+)?) USD/month at its usage file \|", text, re.M)
    assert match, "README.md has no 'AWS dev <= N USD/month at its usage file' target row"
    return float(match.group(1))


def test_dev_meets_the_readme_target(run_stack, shipped: Catalog) -> None:
    bound = _readme_dev_target()
    assert bound == 60
    report = estimate_graph(run_stack("dev"), REPO / "usage.dev.yaml", catalog=shipped)
    assert report.unpriced == [] and report.price_not_found == []
    assert 0 < report.monthly_total <= bound, f"dev costs {report.monthly_total:.2f} USD/month, over {bound}"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_stack_is_within_its_budget(reports: dict[str, CostReport], stack: str) -> None:
    report = reports[stack]
    assert 0 < report.monthly_total <= report.budget  # type: ignore[attr-defined]


def test_prod_is_priced_at_its_ha_shape(reports: dict[str, CostReport]) -> None:
    prod = {r.type: [] for r in reports["prod"].resources}
    for r in reports["prod"].resources:
        prod[r.type].append(r)
    assert len(prod["aws:ec2/natGateway:NatGateway"]) == 3
    assert len(prod["aws:ec2/eip:Eip"]) == 3
    [db] = prod["aws:rds/instance:Instance"]
    assert "Multi-AZ" in db.components[0].name and db.components[0].quantity == 1460
    svc = {r.name: r for r in prod["aws:ecs/service:Service"]}
    assert "x 3 tasks" in svc["app-prod-api-service"].components[0].name
    assert "x 2 tasks" in svc["app-prod-worker-service"].components[0].name  # the worker's floor in prod
    [cache] = prod["aws:elasticache/replicationGroup:ReplicationGroup"]
    assert cache.components[0].quantity == 3 * 730


def test_dev_is_the_cheap_layout(reports: dict[str, CostReport]) -> None:
    dev = reports["dev"]
    types = {r.type for r in dev.resources}
    assert "aws:ec2/natGateway:NatGateway" not in types
    svc = {r.name: r for r in dev.resources if r.type == "aws:ecs/service:Service"}
    assert "arm64" in svc["app-dev-api-service"].components[0].name
    assert "1 task" in svc["app-dev-api-service"].components[0].name
    # The worker scales to zero: only the usage file's task-hours above the floor are charged.
    worker = svc["app-dev-worker-service"]
    assert [c.name for c in worker.components if c.quantity and not c.usage_based] == []
    assert sum(c.monthly for c in worker.components if c.usage_based) > 0
    # Jobs cost only when they run: runs x minutes, on the task definition.
    jobs = {r.name: r for r in dev.resources if r.type == "aws:ecs/taskDefinition:TaskDefinition"}
    assert set(jobs) == {"app-dev-nightly-task", "app-dev-migrate-task"}
    assert all(c.usage_based for j in jobs.values() for c in j.components)
    assert dev.monthly_total < reports["staging"].monthly_total < reports["prod"].monthly_total


@pytest.mark.usefixtures("trusted_in_process")
def test_a_stack_over_its_budget_exits_1_with_a_mandatory_cost_violation(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: budgeted\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text(textwrap.dedent("""\
        config:
          aws:region: us-east-1
          budgeted:environment: dev
          budgeted:budget:
            monthlyUsd: 20
        """))
    (tmp_path / "__main__.py").write_text(textwrap.dedent("""\
        import pulumi_aws as aws

        aws.lb.LoadBalancer("alb", internal=True, subnets=["subnet-a", "subnet-b"])
        """))
    code = review_main(["dev", "--program", str(tmp_path), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    budget = [v for v in report["violations"] if v["policy"] == "budget-not-exceeded"]
    assert code == 1
    assert budget and budget[0]["pack"] == "cost" and budget[0]["enforcement"] == "mandatory"
    assert "estimated 22.27 USD/month exceeds the budget of 20.00 USD" in budget[0]["message"]
    assert report["cost"]["monthly_total"] == 22.27


def _program_copy(tmp_path: Path, stack: str, region: str) -> Path:
    """This repository's program with ``stack``'s file moved to ``region`` (the code is linked, not copied)."""
    for name in ("Pulumi.yaml", "__main__.py", "stacks", "components"):
        (tmp_path / name).symlink_to(REPO / name)
    text = (REPO / f"Pulumi.{stack}.yaml").read_text()
    moved = re.sub(r"(?m)^(\s*backend-hosting:region:).*$", rf"\1 {region}", text)
    assert moved != text
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(moved)
    return tmp_path


@pytest.mark.usefixtures("trusted_in_process")
def test_dev_in_a_region_the_catalog_lacks_fails_its_budget_closed(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """eu-north-1 has no catalog rows: the estimate is partial, so the 100 USD budget cannot be verified."""
    program = _program_copy(tmp_path, "dev", "eu-north-1")
    code = review_main(["dev", "--program", str(program), "--format", "json", "--usage", str(REPO / "usage.dev.yaml")])
    report = json.loads(capsys.readouterr().out)
    blocking = [v for v in report["violations"] if v["enforcement"] == "mandatory" and not v.get("waived")]
    assert code == 1
    assert [(v["pack"], v["policy"]) for v in blocking] == [("cost", "budget-verifiable")]
    message = blocking[0]["message"]
    assert "budget of 100.00 USD" in message and "cannot be verified" in message
    assert "missing for aws eu-north-1" in message and "fargate/vcpu-hour:arm64" in message
    assert "python -m ops prices refresh" in message and "--service fargate" in message
    assert message.endswith("--region eu-north-1")
    cost = report["cost"]
    assert cost["partial"] is True
    assert cost["missing"] and all(m["region"] == "eu-north-1" for m in cost["missing"])
    assert {"price": "aws/eu-north-1/elb/alb-hour", "service": "elb", "sku": "alb-hour"}.items() <= \
        next(m for m in cost["missing"] if m["sku"] == "alb-hour").items()


def test_gcp_dev_is_fully_priced_and_within_the_60_usd_target(run_stack, shipped: Catalog) -> None:
    """Issue 15: gcp-dev at AWS dev's level (<= 60 USD/month at its usage), with nothing unpriced or missing."""
    usage = REPO / "usage.gcp-dev.yaml"
    report = estimate_graph(run_stack("gcp-dev"), usage if usage.exists() else None, catalog=shipped)
    assert report.unpriced == [] and report.price_not_found == [] and not report.partial
    assert 0 < report.monthly_total <= 60
    types = {r.type for r in report.resources}
    assert "gcp:redis/instance:Instance" not in types  # no Memorystore unless the stack file asks (ADR 12)
    [run] = [r for r in report.resources if r.name == "app-dev-api-run"]
    assert not any("idle minimum" in c.name for c in run.components)  # scales to zero
