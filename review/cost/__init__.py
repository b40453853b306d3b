"""Monthly cost estimate of a stack: price catalog, usage files and the per-resource estimator.

``estimate_graph(graph, usage_file)`` is what the review calls; the cost policy pack prices the resources of a
``StackValidationArgs`` through :func:`estimate_policy_resources` (the same estimator).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..model import CostReport, Graph
from .catalog import Catalog, CatalogError, Price, default_catalog
from .estimator import FREE_TYPES, HOURS_PER_MONTH, PRICERS, CostResource, Estimator, estimate
from .sources import from_graph, from_policy_resources, from_rule_resources
from .usage import USAGE_MODELS, Usage, UsageError, load_usage

__all__ = [
    "FREE_TYPES", "HOURS_PER_MONTH", "PRICERS", "USAGE_MODELS", "Catalog", "CatalogError", "CostResource",
    "Estimator", "Price", "Usage", "UsageError", "default_catalog", "estimate", "estimate_graph",
    "estimate_policy_resources", "estimate_rule_resources", "load_usage",
]


def estimate_graph(graph: Graph, usage_file: str | Path | None = None, *, catalog: Catalog | None = None) -> CostReport:
    """Price every resource of a captured graph (usage from ``usage_file``, else the built-in defaults)."""
    usage = load_usage(usage_file)
    report = estimate(from_graph(graph), config=graph.config, usage=usage, catalog=catalog, project=graph.project)
    report.usage_file = str(usage_file) if usage_file else None
    return report


def estimate_policy_resources(resources: Iterable[Any], *, config: Mapping[str, Any] | None = None,
                              usage_file: str | Path | None = None, project: str | None = None,
                              catalog: Catalog | None = None) -> CostReport:
    """Price a policy pack's stack resources with the review's estimator."""
    usage = load_usage(usage_file)
    report = estimate(from_policy_resources(resources), config=config, usage=usage, catalog=catalog,
                      project=project)
    report.usage_file = str(usage_file) if usage_file else None
    return report


def estimate_rule_resources(resources: Iterable[Any], *, config: Mapping[str, Any] | None = None,
                            usage_file: str | Path | None = None, project: str | None = None,
                            catalog: Catalog | None = None) -> CostReport:
    """Price the policy framework's ``Res`` views (the cost pack's budget policy) with the same estimator."""
    usage = load_usage(usage_file)
    report = estimate(from_rule_resources(resources), config=config, usage=usage, catalog=catalog, project=project)
    report.usage_file = str(usage_file) if usage_file else None
    return report
