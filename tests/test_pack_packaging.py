"""Each policy pack runs from a packaged copy (``python -m policies.package <pack> OUTDIR``), without this
repository: started as the Pulumi CLI starts a Python pack (``python -u -m pulumi.policy <engine> .`` in the pack
directory, no PYTHONPATH), it serves GetAnalyzerInfo, Configure, Analyze and AnalyzeStack and reports exactly what
the checkout's pack reports in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import TEST_CATALOG

from policies.common import load_pack
from policies.package import PackageError, package, undeclared_imports, vendored_paths
from review.engine import run_callable
from review.policy_runner import PackProcess, graph_resources, run_pack, run_pack_protocol, stack_info

REPO = Path(__file__).resolve().parent.parent
BUDGET_POLICIES = ("budget-not-exceeded", "budget-warning", "cost-estimate-complete")
WAIVER = {"policy": "no-gpu-instances", "resource": "gpu-*",  # a cost policy: the security pack must know it
          "reason": "the GPU training jobs of this test stack are reviewed by hand every month by the team"}
CONFIG = {"aws:region": "us-east-1", "proj:environment": "prod", "proj:budget": {"monthlyUsd": 20},
          "proj:waivers": [WAIVER]}


def _program() -> None:
    import pulumi_aws as aws

    aws.lb.LoadBalancer("alb", internal=True, subnets=["subnet-a", "subnet-b"])
    aws.rds.Instance("db", engine="postgres", instance_class="db.m7g.24xlarge", allocated_storage=20,
                     publicly_accessible=True)
    aws.s3.Bucket("assets")


@pytest.fixture(scope="module")
def graph():
    return run_callable(_program, project="proj", stack="test", config=CONFIG)


def _clean_env() -> dict[str, str]:
    return {"PYTHONPATH": "", "PYTHONSAFEPATH": "1"}


@pytest.mark.parametrize("name", ["security", "cost"])
def test_a_packaged_pack_reports_what_the_checkout_reports(name: str, graph, tmp_path: Path) -> None:
    out = package(name, tmp_path / name)
    assert (out / "__main__.py").is_file() and (out / "requirements.txt").is_file()
    assert not (out / "review").exists() and not (out / "stacks").exists()
    # The pack's interpreter cannot reach this repository: only the packaged copy can serve the pack.
    probe = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u; print([m for m in ('review', 'stacks', 'policies') "
                               "if u.find_spec(m)])"],
        cwd=tmp_path, env={**os.environ, **_clean_env()}, capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "[]"

    stack = stack_info(graph)
    # Both price from the test catalog (the packaged pack carries the shipped one as its default).
    user_config = {p: {"catalogDir": str(TEST_CATALOG)} for p in BUDGET_POLICIES} if name == "cost" else None
    with PackProcess(out, env={**_clean_env(), "PULUMI_CONFIG": json.dumps(
            {k: v if isinstance(v, str) else json.dumps(v) for k, v in graph.config.items()}),
            "PULUMI_PROJECT": "proj", "PULUMI_STACK": "test", "PULUMI_DRY_RUN": "true"}) as proc:
        pack_name, packaged, policies = run_pack_protocol(out, graph, stack, user_config, process=proc)

    checkout = load_pack(REPO / "policies" / name)
    assert pack_name == name and sorted(policies) == sorted(r.name for r in checkout.rules)
    in_process = run_pack(checkout, graph_resources(graph), stack, user_config)
    local = sorted((v.policy, v.resource_name or "", v.enforcement, v.message) for v in in_process if not v.waived)
    wire = sorted((v.policy, v.resource_name or "", v.enforcement, v.message) for v in packaged
                  if v.policy != "waiver-audit")
    assert wire == local
    assert local  # the program violates both packs
    assert not any(v.policy == "waiver-valid" for v in packaged)  # a waiver may name the other pack's policy
    if name == "cost":  # pricing and its catalog came along: the budget gate priced the stack
        assert any(v.policy == "instance-size-ceiling" for v in packaged)
        [budget] = [v for v in packaged if v.policy == "budget-not-exceeded"]
        assert "exceeds the budget of 20.00 USD" in budget.message


def test_packaging_refuses_undeclared_requirements_and_unknown_packs(tmp_path: Path) -> None:
    paths = vendored_paths(REPO / "policies" / "cost")
    assert REPO / "pricing" in paths and REPO / "engine_values" in paths
    assert REPO / "review" not in paths and REPO / "policies" / "security" not in paths
    partial = tmp_path / "requirements.txt"
    partial.write_text("pulumi>=3,<4\npulumi-policy>=1,<2\n")
    assert [m.split()[0] for m in undeclared_imports(paths, partial)] == ["croniter", "pydantic", "yaml"]
    assert undeclared_imports(paths, REPO / "policies" / "cost" / "requirements.txt") == []
    with pytest.raises(PackageError, match="not a policy pack of this repository"):
        package("nope", tmp_path / "out")
