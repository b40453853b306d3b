"""Runs policy packs over a captured graph. INTERIM: replaced by the security-pack work (issue 4)."""

from __future__ import annotations

from pathlib import Path

from .model import Graph, Violation


def run_policies(graph: Graph, extra_packs: list[Path] | None = None) -> tuple[list[Violation], list[str]]:
    """Return (violations, names of packs run)."""
    return [], []
