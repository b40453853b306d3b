"""The review's cost step: the captured graph as :class:`pricing.CostResource` views, priced by :mod:`pricing`."""

from __future__ import annotations

from pathlib import Path

from pricing import Catalog, CostReport, CostResource, UsageError, estimate_resources

from .model import Graph
from .project import InputError

__all__ = ["cost_resources", "estimate_graph"]


def cost_resources(graph: Graph) -> list[CostResource]:
    """One view per captured resource; provider inputs are joined from the provider resources."""
    out = []
    for r in graph.resources:
        provider = graph.get(r.provider_urn) if r.provider_urn else None
        out.append(CostResource(
            urn=r.urn, type=r.type, name=r.name, inputs=r.inputs, custom=r.custom, parent=r.parent,
            provider_inputs=provider.inputs if provider is not None else None,
            property_dependencies=r.property_dependencies,
            dependencies=list(r.options.get("dependsOn") or []),
        ))
    return out


def estimate_graph(graph: Graph, usage_file: str | Path | None = None, *, catalog: Catalog | None = None) -> CostReport:
    """Price every resource of a captured graph (usage from ``usage_file``, else the built-in defaults).

    A bad usage file is bad input: :class:`~review.project.InputError` (one line, exit 2).
    """
    try:
        return estimate_resources(cost_resources(graph), config=graph.config, usage_file=usage_file,
                                  project=graph.project, catalog=catalog)
    except UsageError as exc:
        raise InputError(str(exc)) from None
