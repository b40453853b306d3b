"""Names that more than one tool must agree on: the stack's program and the bootstrap that prepares its account."""

from __future__ import annotations

from .settings import NAMESPACE

PROJECT = NAMESPACE
"""The Pulumi project (and config namespace) of this repository's program."""


def boundary_policy_name(stack: str, project: str = PROJECT) -> str:
    """The permissions-boundary policy every role of ``stack`` carries, created by ``python -m ops bootstrap``."""
    return f"{project}-boundary-{stack}"
