"""Deliberately insecure small Pulumi programs, each with the findings the security pack must report.

Every program is a function that declares resources with the real pulumi-aws / pulumi-gcp SDKs (so the inputs
are exactly what the engine and a policy pack see); ``PROGRAMS`` lists them with their stack config and the
``(policy, resource name)`` pairs expected. ``tests/test_policies_programs.py`` runs each under the review's
mock engine and the security pack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import aws_programs, gcp_programs


@dataclass
class Program:
    name: str
    fn: Callable[[], None]
    expect: list[tuple[str, str]]
    config: dict[str, Any] = field(default_factory=dict)


PROGRAMS: list[Program] = [
    Program(name, fn, expect, config)
    for module in (aws_programs, gcp_programs)
    for name, (fn, expect, config) in module.PROGRAMS.items()
]
