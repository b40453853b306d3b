"""Test harness: run our stacks, any program directory, or a snippet of program code through the review engine.

Everything runs in-process under Pulumi's mock runtime (the engine resets it for every run), so component and
stack tests read like specifications::

    def test_vpc(run_program):
        graph = run_program(lambda: Network("net", NetworkArgs(...)))
        assert graph.by_type("aws:ec2/subnet:Subnet")
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from review.engine import capture_program, run_callable
from review.model import Graph

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

_STACK_CACHE: dict[str, Graph] = {}


@pytest.fixture
def run_program() -> Callable[..., Graph]:
    """Run a function that declares resources; returns the captured :class:`~review.model.Graph`.

    Keyword arguments: ``config`` (``ns:key`` -> value), ``project``, ``stack``, ``region``.
    """

    def _run(fn: Callable[[], Any], **kwargs: Any) -> Graph:
        return run_callable(fn, **kwargs)

    return _run


@pytest.fixture
def run_stack() -> Callable[..., Graph]:
    """Run this repository's program for a stack (``dev``, ``staging``, ``prod``).

    ``extra_config`` overrides config keys (``ns:key`` -> value); runs without overrides are cached for the
    session, since a stack's graph does not change between tests.
    """

    def _run(stack: str, extra_config: Mapping[str, Any] | None = None) -> Graph:
        if extra_config:
            return capture_program(REPO, stack, extra_config=extra_config)
        if stack not in _STACK_CACHE:
            _STACK_CACHE[stack] = capture_program(REPO, stack)
        return copy.deepcopy(_STACK_CACHE[stack])

    return _run


@pytest.fixture
def run_dir() -> Callable[..., Graph]:
    """Run any Pulumi project directory for a stack."""

    def _run(directory: str | Path, stack: str = "dev", **kwargs: Any) -> Graph:
        return capture_program(directory, stack, **kwargs)

    return _run


@pytest.fixture
def trusted_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let ``review.cli`` run programs in this process instead of a child process: for tests of our own stacks
    and fixtures (trusted code) that are about formats and flags, not isolation; it saves a child interpreter per
    run. ``python -m review`` itself always isolates (tests/test_security_boundary.py)."""
    from review import cli
    from review.engine import capture_stack
    from review.isolate import ProgramOutput

    def run_here(project: Any, stack: str, config: Any, *, timeout: float) -> tuple[dict[str, Any], ProgramOutput]:
        raw, _ = capture_stack(project, stack, config)
        return raw, ProgramOutput()

    monkeypatch.setattr(cli, "run_isolated", run_here)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-inventories``: rewrite the golden stack inventories (and docs/settings.md) instead of comparing."""
    parser.addoption("--update-inventories", action="store_true", default=False,
                     help="regenerate tests/inventories/*.yaml and docs/settings.md from the current code")
