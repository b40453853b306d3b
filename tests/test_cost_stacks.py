"""Our stacks priced end to end, and the budget gate through the review's command line.

- ``python -m review prod --format json``: a cost with nothing unpriced and no price missing;
- every stack within its budget, prod at its HA shape (NAT per AZ, Multi-AZ database, 3 tasks, 3 cache nodes);
- a stack over its budget exits 1 with a mandatory violation from the cost pack.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pricing import CostReport
from review import engine
from review.cli import main as review_main
from review.cost import estimate_graph

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def reports() -> Iterator[dict[str, CostReport]]:
    """Each stack's estimate with its usage file (one capture per stack)."""
    out = {}
    for stack in ("dev", "staging", "prod"):
        graph = engine.capture_program(REPO, stack)
        out[stack] = estimate_graph(graph, REPO / f"usage.{stack}.yaml")
        out[stack].budget = graph.config["backend-hosting:budget"]["monthlyUsd"]  # type: ignore[attr-defined]
    yield out


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_nothing_unpriced_and_every_price_found(reports: dict[str, CostReport], stack: str) -> None:
    report = reports[stack]
    assert report.unpriced == []
    assert report.price_not_found == []
    assert report.notes == []  # every usage-file entry matches a resource
    assert report.free > 50


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
