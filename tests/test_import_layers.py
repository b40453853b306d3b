"""The top-level packages import each other without a cycle: walk every import (``ast``, including imports inside
functions) of every module of each package and fail with the cycle's path, e.g.
``policies -> pricing -> policies (policies/cost/rules_budget.py:12, pricing/x.py:3)``."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("review", "policies", "pricing", "stacks", "components", "ops", "bench", "engine_values")


def _package_of(module: str, level: int, path: Path, root: Path) -> str | None:
    """The top-level package an import refers to (relative imports resolved against ``path``)."""
    if level:
        parts = path.relative_to(root).with_suffix("").parts
        base = parts[: len(parts) - level]
        top = base[0] if base else None
        return top if top in PACKAGES else None
    top = module.split(".", 1)[0]
    return top if top in PACKAGES else None


def import_graph(root: Path = REPO) -> dict[str, dict[str, str]]:
    """``{package: {imported package: "file:line" of the first such import}}`` between top-level packages."""
    edges: dict[str, dict[str, str]] = {p: {} for p in PACKAGES}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    targets = [(a.name, 0) for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    targets = [(node.module or "", node.level)]
                else:
                    continue
                for module, level in targets:
                    dep = _package_of(module, level, path, root)
                    if dep and dep != pkg:
                        edges[pkg].setdefault(dep, f"{path.relative_to(root)}:{node.lineno}")
    return edges


def find_cycle(edges: dict[str, dict[str, str]]) -> list[str] | None:
    """One cycle as a path ``[a, b, ..., a]``, or None (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, {})):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def describe(cycle: list[str], edges: dict[str, dict[str, str]]) -> str:
    """``a -> b -> a (a/x.py:3: b; b/y.py:9: a)``."""
    where = "; ".join(f"{edges[a][b]} imports {b}" for a, b in itertools.pairwise(cycle))
    return f"{' -> '.join(cycle)} ({where})"


@pytest.fixture(scope="module")
def edges() -> dict[str, dict[str, str]]:
    """This repository's import graph, walked once for the module's tests (parsing every file takes seconds)."""
    return import_graph()


def test_no_cycle_between_top_level_packages(edges: dict[str, dict[str, str]]) -> None:
    cycle = find_cycle(edges)
    assert cycle is None, f"import cycle between top-level packages: {describe(cycle, edges)}"


def test_pricing_and_engine_values_stand_alone(edges: dict[str, dict[str, str]]) -> None:
    assert set(edges["engine_values"]) == set()
    assert set(edges["pricing"]) <= {"engine_values"}, edges["pricing"]
    assert set(edges["policies"]) <= {"engine_values", "pricing"}, edges["policies"]


def test_the_walk_reports_a_cycle_with_its_path(tmp_path: Path) -> None:
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "pricing" / "x.py").write_text("import json\n\n\ndef f():\n    from review.model import Graph\n")
    (tmp_path / "review" / "y.py").write_text("from policies import common\n")
    (tmp_path / "policies" / "z.py").write_text("from . import w\nfrom pricing.x import f\n")
    edges = import_graph(tmp_path)
    cycle = find_cycle(edges)
    assert cycle == ["policies", "pricing", "review", "policies"]
    assert describe(cycle, edges) == ("policies -> pricing -> review -> policies (policies/z.py:2 imports pricing; "
                                      "pricing/x.py:5 imports review; review/y.py:1 imports policies)")
