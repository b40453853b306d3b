"""Shared test helpers: stand-ins for other components, and running a component page's example."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.aws.common import service_principal_policy

DOCS = Path(__file__).resolve().parent.parent / "docs" / "components"


class FakeService(pulumi.ComponentResource):
    """Stands in for the Service: a security group (``Connectable``) and a task role (``Grantable``)."""

    def __init__(self, name: str) -> None:
        super().__init__("test:aws:Service", name)
        self.security_group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id="vpc-0123",
                                                    opts=pulumi.ResourceOptions(parent=self))
        self.task_role = aws.iam.Role(f"{name}-task", assume_role_policy=service_principal_policy(
            "ecs-tasks.amazonaws.com"), opts=pulumi.ResourceOptions(parent=self))


def doc_example(doc: Path) -> Callable[[], None]:
    """The first ```python block of a component page, as a program."""
    code = re.search(r"```python\n(.*?)```", doc.read_text(), re.S)
    assert code, f"{doc} has no python example"
    return lambda: exec(compile(code.group(1), str(doc), "exec"), {"__name__": "__example__"})


def documents_every_argument(doc: Path, *args_classes: type) -> list[str]:
    """Arguments of the dataclasses that the page does not mention as `name` (empty when all are documented)."""
    text = doc.read_text()
    return [f for cls in args_classes for f in cls.__dataclass_fields__ if f"`{f}`" not in text]


def children_after_outputs(run: Callable[[Callable[[], None]], object], program: Callable[[], None]) -> list[str]:
    """Run ``program`` (with ``run``, e.g. the ``run_program`` fixture) and name every resource a component
    created after its ``register_outputs`` (``"<component> -> <child>"``; empty when none did).

    Pulumi finishes a component when its outputs are registered: a child created later is outside what the
    engine and the component's own outputs describe, so every component must register its outputs last."""
    registered: dict[int, tuple[pulumi.Resource, frozenset[pulumi.Resource]]] = {}
    original = pulumi.ComponentResource.register_outputs

    def register(self: pulumi.ComponentResource, outputs: object) -> None:
        registered[id(self)] = (self, frozenset(self._childResources))
        original(self, outputs)  # type: ignore[arg-type]

    pulumi.ComponentResource.register_outputs = register  # type: ignore[method-assign]
    try:
        run(program)
    finally:
        pulumi.ComponentResource.register_outputs = original  # type: ignore[method-assign]
    return sorted(f"{comp.pulumi_resource_name} -> {child.pulumi_resource_name}"
                  for comp, before in registered.values() for child in comp._childResources - before)
