"""Turn what a caller has into :class:`~review.cost.estimator.CostResource` views.

- :func:`from_graph`: the review's captured :class:`~review.model.Graph`;
- :func:`from_policy_resources`: a CrossGuard pack's ``StackValidationArgs.resources`` (``PolicyResource``
  objects: ``resource_type``, ``props``, ``urn``, ``name``, ``provider``, ``parent``, ``property_dependencies``);
- :func:`from_rule_resources`: the policy framework's ``policies.common.Res`` views (what a stack rule gets,
  under the CLI and offline alike).

Both then go through the same estimator, so the review's cost section and the cost pack's budget policy agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import SECRET, Graph
from .estimator import PROVIDER_PACKAGES, CostResource


def from_graph(graph: Graph) -> list[CostResource]:
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


def _urn(obj: Any) -> str | None:
    return getattr(obj, "urn", None) if obj is not None else None


def _plain(value: Any) -> Any:
    """Policy props may carry secrets as wrapper objects or unknowns as sentinels: keep plain values only."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return SECRET


def from_policy_resources(resources: Iterable[Any]) -> list[CostResource]:
    """Views of a policy pack's stack resources (``pulumi_policy.PolicyResource``)."""
    out = []
    for r in resources:
        rtype = r.resource_type
        provider = getattr(r, "provider", None)
        package = rtype.split(":", 1)[0]
        # Component resources have no provider; a custom resource of a provider package always has one.
        custom = package in PROVIDER_PACKAGES or provider is not None
        if rtype.startswith("pulumi:"):
            custom = False
        deps = {k: [u for u in (_urn(x) for x in v or []) if u] for k, v in
                (getattr(r, "property_dependencies", None) or {}).items()}
        out.append(CostResource(
            urn=r.urn, type=rtype, name=r.name, inputs=_plain(dict(r.props or {})), custom=custom,
            parent=_urn(getattr(r, "parent", None)),
            provider_inputs=_plain(dict(provider.props or {})) if provider is not None else None,
            property_dependencies=deps,
            dependencies=[u for u in (_urn(x) for x in getattr(r, "dependencies", None) or []) if u],
        ))
    return out


def from_rule_resources(resources: Iterable[Any]) -> list[CostResource]:
    """Views of ``policies.common.Res`` objects (``type``, ``props``, ``provider_props``, ``prop_deps``...)."""
    out = []
    for r in resources:
        package = r.type.split(":", 1)[0]
        custom = (package in PROVIDER_PACKAGES or getattr(r, "provider_urn", None) is not None) and \
            not r.type.startswith("pulumi:")
        provider_props = getattr(r, "provider_props", None)
        out.append(CostResource(
            urn=r.urn, type=r.type, name=r.name, inputs=_plain(dict(r.props or {})), custom=custom,
            parent=getattr(r, "parent", None),
            provider_inputs=_plain(dict(provider_props)) if provider_props else None,
            property_dependencies={k: list(v) for k, v in (getattr(r, "prop_deps", None) or {}).items()},
            dependencies=list(getattr(r, "deps", None) or []),
        ))
    return out
