"""Monthly cost estimate of a captured graph. INTERIM: replaced by the cost work (issue 5)."""

from __future__ import annotations

from pathlib import Path

from ..model import CostReport, Graph


def estimate_graph(graph: Graph, usage_file: Path | None = None) -> CostReport:
    """Price every resource of the graph."""
    return CostReport()
