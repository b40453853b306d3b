"""The review prices a stack once and hands the estimate to the cost pack's budget rules; the same pack under the
CLI's protocol, given the same usage file in its policy config, prices the resources itself and reaches the same
verdict. No environment variable carries the usage file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import TEST_CATALOG

import pricing.estimator
from review.cli import review
from review.policy_runner import run_pack_protocol, stack_info

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("trusted_in_process")  # our fixture program: no child interpreter
BUDGET_POLICIES = ("budget-not-exceeded", "budget-warning", "cost-estimate-complete")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An internal ALB under a 30 USD budget: 22.27 USD with the built-in usage (1 LCU), over 30 with 3 LCUs."""
    (tmp_path / "Pulumi.yaml").write_text("name: budgeted\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text(textwrap.dedent("""\
        config:
          aws:region: us-east-1
          budgeted:environment: dev
          budgeted:budget:
            monthlyUsd: 30
        """))
    (tmp_path / "__main__.py").write_text(textwrap.dedent("""\
        import pulumi_aws as aws

        aws.lb.LoadBalancer("alb", internal=True, subnets=["subnet-a", "subnet-b"])
        """))
    (tmp_path / "usage.dev.yaml").write_text("resource_usage:\n  alb:\n    average_lcus: 3\n")
    return tmp_path


def _budget_verdict(violations: list) -> list[tuple[str, str, str]]:
    return sorted((v.policy, v.enforcement, v.message) for v in violations if v.policy in BUDGET_POLICIES)


def test_the_review_prices_once_and_the_budget_uses_its_usage_file(project: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = pricing.estimator.Estimator.estimate

    def counting(self: pricing.estimator.Estimator) -> pricing.CostReport:
        calls.append(len(self.resources))
        return real(self)

    monkeypatch.setattr(pricing.estimator.Estimator, "estimate", counting)
    report = review("dev", project)
    assert len(calls) == 1  # three budget rules and the cost section, one estimate
    assert report.cost is not None and report.cost.usage_file == str(project / "usage.dev.yaml")
    [over] = [v for v in report.violations if v.policy == "budget-not-exceeded"]
    assert over.enforcement == "mandatory"
    assert f"estimated {report.cost.monthly_total:,.2f} USD/month exceeds the budget of 30.00 USD" in over.message

    calls.clear()
    without_cost_section = review("dev", project, cost=False)
    assert len(calls) == 1 and without_cost_section.cost is None
    assert _budget_verdict(without_cost_section.violations) == _budget_verdict(report.violations)


def test_review_and_cli_protocol_give_the_same_budget_verdict(project: Path) -> None:
    reviewed = review("dev", project)
    graph = reviewed.graph
    usage = str(project / "usage.dev.yaml")
    config = {name: {"usageFile": usage, "catalogDir": str(TEST_CATALOG)} for name in BUDGET_POLICIES}
    _, under_cli, _ = run_pack_protocol(REPO / "policies" / "cost", graph, stack_info(graph), config)
    assert _budget_verdict(under_cli) == _budget_verdict(reviewed.violations)
    assert [p for p, _, _ in _budget_verdict(under_cli)] == ["budget-not-exceeded"]
