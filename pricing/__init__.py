"""Monthly cost estimate of a set of cloud resources: the price catalog (``pricing/catalog/*.csv``), usage files and
the per-resource estimator.

This package depends on neither the review nor the policy packs. Each caller turns what it has into
:class:`CostResource` views and calls :func:`estimate_resources`: the review a captured graph
(``review.cost.estimate_graph``), the cost pack the resources a stack rule receives
(``policies.cost.rules_budget``), so both price the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .catalog import CATALOG_DIR, Catalog, CatalogError, Price, default_catalog
from .estimator import FREE_TYPES, HOURS_PER_MONTH, PRICERS, PROVIDER_PACKAGES, CostResource, Estimator, estimate
from .report import CostComponent, CostReport, MissingPrice, ResourceCost
from .usage import USAGE_MODELS, Usage, UsageError, load_usage

__all__ = [
    "CATALOG_DIR", "FREE_TYPES", "HOURS_PER_MONTH", "PRICERS", "PROVIDER_PACKAGES", "USAGE_MODELS", "Catalog",
    "CatalogError", "CostComponent", "CostReport", "CostResource", "Estimator", "MissingPrice", "Price",
    "ResourceCost", "Usage", "UsageError", "default_catalog", "estimate", "estimate_resources", "load_usage",
]


def estimate_resources(resources: Iterable[CostResource], *, config: Mapping[str, Any] | None = None,
                       usage_file: str | Path | None = None, project: str | None = None,
                       catalog: Catalog | None = None) -> CostReport:
    """Price resources with the usage file (None: the built-in defaults) and the stack config.

    Raises :class:`UsageError` (one line) when the usage file cannot be read or is invalid.
    """
    usage = load_usage(usage_file)
    report = estimate(resources, config=config, usage=usage, catalog=catalog, project=project)
    report.usage_file = str(usage_file) if usage_file else None
    return report
