"""Test harness: run our stacks, any program directory, or a snippet of program code through the review engine.

Everything runs in-process under Pulumi's mock runtime (the engine resets it for every run), so component and
stack tests read like specifications::

    def test_vpc(run_program):
        graph = run_program(lambda: Network("net", NetworkArgs(...)))
        assert graph.by_type("aws:ec2/subnet:Subnet")
"""

from __future__ import annotations

import sys

# Cache bytecode (in the gitignored __pycache__ directories) even under PYTHONDONTWRITEBYTECODE: otherwise every
# xdist worker compiles our modules and re-applies pytest's assertion rewriting to every test module on every run
# (about 3 s of CPU per worker), and every review child compiles our modules again. Set before anything of ours is
# imported; docs/testing.md.
sys.dont_write_bytecode = False

import gc

# The garbage collector, at CPython's default thresholds (700, 10, 10), spent about 30 s of the suite's ~110 s of CPU:
# the provider SDKs and the captured graphs are hundreds of thousands of long-lived objects, and every full
# collection walks them all. Collect far less often (every 100 000 net allocations instead of 700); memory stays
# bounded (a few hundred MB per worker). docs/testing.md.
gc.set_threshold(100_000, 20, 20)

import contextlib
import copy
import hashlib
import importlib.metadata
import os
import pickle
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from helpers import TEST_CATALOG, trusted_in_process

import pricing.estimator
from pricing import Catalog
from review.engine import capture_program, run_callable
from review.model import Graph

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

_STACK_CACHE: dict[str, Graph] = {}


@pytest.fixture(autouse=True, scope="session")
def test_price_catalog() -> Iterator[Catalog]:
    """Every in-process estimate prices from the test catalog (``tests/fixtures/catalog``), so a refresh of the
    shipped catalog never changes a test's expected figure; a test of the shipped catalog passes it explicitly."""
    catalog = Catalog.load(TEST_CATALOG)
    patch = pytest.MonkeyPatch()
    patch.setattr(pricing.estimator, "default_catalog", lambda: catalog)
    yield catalog
    patch.undo()


@pytest.fixture
def run_program() -> Callable[..., Graph]:
    """Run a function that declares resources; returns the captured :class:`~review.model.Graph`.

    Keyword arguments: ``config`` (``ns:key`` -> value), ``project``, ``stack``, ``region``.
    """

    def _run(fn: Callable[[], Any], **kwargs: Any) -> Graph:
        return run_callable(fn, **kwargs)

    return _run


@pytest.fixture(scope="session")
def run_stack(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Graph]:
    """Run this repository's program for a stack (``dev``, ``staging``, ``prod``, ``gcp-dev``...).

    A stack's graph does not change during a test run, so each stack is captured once per run and every caller
    gets a deep copy. Under pytest-xdist the workers share the captures through pickles in the run's temporary
    directory, keyed on a hash of what shapes a graph (program, components, stacks, stack files, the review engine
    and the installed Pulumi SDKs). ``extra_config`` overrides config keys (``ns:key`` -> value) and always
    captures afresh.
    """
    shared = tmp_path_factory.getbasetemp().parent / "stack-graphs" if os.environ.get("PYTEST_XDIST_WORKER") \
        else None

    def _run(stack: str, extra_config: Mapping[str, Any] | None = None) -> Graph:
        if extra_config:
            return capture_program(REPO, stack, extra_config=extra_config)
        if stack not in _STACK_CACHE:
            _STACK_CACHE[stack] = _shared_capture(stack, shared) if shared else capture_program(REPO, stack)
        return copy.deepcopy(_STACK_CACHE[stack])

    return _run


def _source_key() -> str:
    """A hash of every file that shapes a captured graph, and of the Pulumi SDK versions."""
    h = hashlib.sha256()
    files = [*REPO.glob("Pulumi*.yaml"), REPO / "__main__.py"]
    for package in ("components", "stacks", "review"):
        files.extend((REPO / package).rglob("*.py"))
    for path in sorted(files):
        h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    for dist in ("pulumi", "pulumi_aws", "pulumi_gcp"):
        h.update(f"{dist}={importlib.metadata.version(dist)}".encode())
    return h.hexdigest()[:16]


def _shared_capture(stack: str, directory: Path) -> Graph:
    """The stack's graph from the run's shared pickle; the first worker to ask captures it (under a file lock)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{_source_key()}-{stack}.pickle"
    with open(directory / f"{stack}.lock", "w") as lock:
        with contextlib.suppress(ImportError):  # POSIX; elsewhere two workers may both capture (same result)
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return pickle.loads(path.read_bytes())
        graph = capture_program(REPO, stack)
        tmp = path.with_suffix(f".{os.getpid()}")
        tmp.write_bytes(pickle.dumps(graph))
        tmp.replace(path)
        return graph


@pytest.fixture
def run_dir() -> Callable[..., Graph]:
    """Run any Pulumi project directory for a stack."""

    def _run(directory: str | Path, stack: str = "dev", **kwargs: Any) -> Graph:
        return capture_program(directory, stack, **kwargs)

    return _run


@pytest.fixture(name="trusted_in_process")
def _trusted_in_process() -> Iterator[None]:
    """Let ``review.cli`` run programs in this process instead of a child process: for tests of our own stacks
    and fixtures (trusted code) that are about formats and flags, not isolation; it saves a child interpreter per
    run. ``python -m review`` itself always isolates (tests/test_security_boundary.py). See
    :func:`helpers.trusted_in_process`."""
    with trusted_in_process():
        yield


GCP_MODULES = frozenset({
    "test_cost_estimator", "test_cost_gcp", "test_cost_gcp_workloads", "test_cost_pack", "test_cost_stacks",
    "test_engine_programs", "test_gcp_bootstrap", "test_gcp_data", "test_gcp_inventories", "test_gcp_monitoring",
    "test_gcp_network", "test_gcp_service", "test_gcp_stacks", "test_gcp_workloads", "test_identity", "test_kit",
    "test_ops_prices_gcp", "test_policies_programs", "test_policy_corpus",
})
"""The test modules that run GCP programs or capture the GCP stacks (or price with the GCP billing client)."""
MOTO_MODULES = frozenset({"test_ops_audit", "test_ops_bootstrap", "test_ops_drift", "test_rotation_handler"})
"""The test modules that run against moto (helpers.moto_session): ``ops`` and the secret rotation function."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``test_cost_stacks`` (which prices our AWS stacks) runs last in the GCP unit: by then the other worker has
    usually captured the AWS stacks (``test_ops_bootstrap``), so this one loads them instead of waiting for the
    capture's lock at the start of the run."""
    items.sort(key=lambda item: item.path.stem == "test_cost_stacks")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``--dist loadfile`` (pyproject.toml), a test module is one unit of work (its module fixtures start
    once), except that the modules of :data:`GCP_MODULES` form one unit, and those of :data:`MOTO_MODULES` another:
    only the worker that runs them pays for importing pulumi_gcp's modules, or moto and botocore's service models
    (seconds per process). (``--dist loadgroup`` cannot express this: with pytest 9 xdist's group suffix no longer
    reaches the node ids.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            name = Path(module).stem
            return "gcp" if name in GCP_MODULES else "moto" if name in MOTO_MODULES else module

    return ModuleScheduling(config, log)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Freeze what is alive when the run is over: the interpreter's shutdown then skips walking it in the
    collections it makes while tearing down modules (about 2-4 s per worker that imported the SDKs, and the
    controller waits for every worker to exit)."""
    gc.freeze()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-inventories``: rewrite the golden stack inventories (and docs/settings.md) instead of comparing."""
    parser.addoption("--update-inventories", action="store_true", default=False,
                     help="regenerate tests/inventories/*.yaml and docs/settings.md from the current code")
