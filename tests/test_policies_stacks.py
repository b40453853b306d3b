"""Our own stacks (every Pulumi.<stack>.yaml of this repository) pass every policy pack: no mandatory, unwaived
violation; the dev profile's relaxations are waivers that match a finding. The in-process policy run stays fast."""

from __future__ import annotations

from pathlib import Path

import pytest

from review.policy_runner import run_policies

REPO = Path(__file__).resolve().parent.parent
STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in REPO.glob("Pulumi.*.yaml"))


@pytest.mark.parametrize("stack", STACKS)
def test_stack_has_no_blocking_violation(run_stack, stack: str) -> None:
    graph = run_stack(stack)
    violations, packs = run_policies(graph)
    assert "security" in packs
    blocking = [f"{v.pack}/{v.policy} on {v.resource_type} {v.resource_name}: {v.message}"
                for v in violations if v.blocking]
    assert not blocking, "\n".join(blocking)
    unused = [v.message for v in violations if v.policy == "waiver-audit"]
    assert not unused, unused
    invalid = [v.message for v in violations if v.policy == "waiver-valid"]
    assert not invalid, invalid


def test_dev_public_subnet_tasks_are_a_waiver_not_a_weaker_rule(run_stack) -> None:
    violations, _ = run_policies(run_stack("dev"))
    waived = [v for v in violations if v.waived]
    assert {v.policy for v in waived} == {"ecs-service-no-public-ip"}
    assert all(v.enforcement == "mandatory" and len(v.waiver_reason.split()) >= 10 for v in waived)
