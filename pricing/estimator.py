"""The estimator: price a set of resources per month.

One implementation for every caller: the review (``review.cost.estimate_graph``) and the cost pack's budget
rules (``policies.cost.rules_budget``) turn what they have into :class:`CostResource` views and call
:func:`estimate`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine_values import UNKNOWN_VALUES, dig

from .catalog import Catalog, Price, default_catalog
from .report import CostComponent, CostReport, ResourceCost
from .usage import Usage

HOURS_PER_MONTH = 730
"""Hours in a billing month, as AWS, GCP and Infracost count them."""

PROVIDER_PACKAGES = ("aws", "gcp")
"""Packages whose resources the estimator prices (others are listed as unpriced)."""

REMOTE_COMPONENT_PACKAGES = ("awsx", "eks", "aws-apigateway", "aws-static-website", "google-cloud-static-website")
"""Multi-language component packages: under mocks they arrive without children, so what they create is unseen."""


class Free(Exception):
    """Raised by a pricer: this resource (in this configuration) costs nothing by itself."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class CostResource:
    """What the estimator needs to know about one resource, whoever captured it."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool = True
    parent: str | None = None
    provider_inputs: dict[str, Any] | None = None
    """Inputs of the explicit provider resource (its ``region``), when there is one."""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)

    @property
    def package(self) -> str:
        """``aws`` for ``aws:ec2/vpc:Vpc``."""
        return self.type.split(":", 1)[0]

    def get(self, path: str, default: Any = None) -> Any:
        """An input by dotted path; unknown values count as absent."""
        cur = dig(self.inputs, path, None)
        return default if cur is None or (isinstance(cur, str) and cur in UNKNOWN_VALUES) else cur


def num(value: Any, default: float | None = None) -> float | None:
    """A number from an engine value (numbers arrive as floats, some as strings); unknown -> default."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and value in UNKNOWN_VALUES):
        return default
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return default
    return default


def truthy(value: Any) -> bool:
    """True only for a known true value."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


class Pricing:
    """Builds one resource's cost: components found in the catalog, and what was not found."""

    def __init__(self, est: Estimator, res: CostResource, provider: str, region: str | None) -> None:
        self.est = est
        self.res = res
        self.provider = provider
        self.region = region
        self.components: list[CostComponent] = []
        self.not_found: list[str] = []
        self._usage_model: Any = None
        self._usage_keys: set[str] = set()
        self._usage_loaded = False

    # -- prices -----------------------------------------------------------------------------------------
    def price(self, service: str, sku: str) -> Price | None:
        """The catalog row for this resource's provider and region (or global)."""
        return self.est.catalog.get(self.provider, self.region, service, sku)

    def charge(self, name: str, quantity: float, unit: str, service: str, sku: str, *,
               usage_based: bool = False) -> CostComponent | None:
        """Add ``quantity`` x the catalog price; a missing price is recorded as "price not found"."""
        p = self.price(service, sku)
        if p is None:
            where = self.region or "unknown region"
            self.not_found.append(f"{name} [{self.provider}/{where}/{service}/{sku}]")
            return None
        comp = CostComponent(name=name, quantity=round(float(quantity), 6), unit=unit, unit_price=p.usd,
                             monthly=float(quantity) * p.usd, usage_based=usage_based, sku=p.ref, basis=p.basis)
        self.components.append(comp)
        return comp

    def factor(self, service: str, sku: str, name: str) -> float | None:
        """A multiplier row (e.g. Multi-AZ); None (and a "not found" entry) when missing."""
        p = self.price(service, sku)
        if p is None:
            self.not_found.append(f"{name} [{self.provider}/{self.region or 'unknown region'}/{service}/{sku}]")
            return None
        return p.usd

    # -- usage ------------------------------------------------------------------------------------------
    def usage(self, key: str) -> tuple[Any, bool]:
        """(value, from_file) of a usage key for this resource: the file's value or the built-in default."""
        if not self._usage_loaded:
            self._usage_model, self._usage_keys = self.est.usage.for_resource(self.res.type, self.res.name)
            self._usage_loaded = True
        if self._usage_model is None:
            raise KeyError(f"{self.res.type} has no usage model")
        return getattr(self._usage_model, key), key in self._usage_keys

    # -- graph ------------------------------------------------------------------------------------------
    def linked(self, prop: str, type_: str | tuple[str, ...]) -> CostResource | None:
        """The resource of ``type_`` that input ``prop`` depends on (property dependencies)."""
        types = (type_,) if isinstance(type_, str) else type_
        for urn in self.res.property_dependencies.get(prop, []):
            r = self.est.by_urn.get(urn)
            if r is not None and r.type in types:
                return r
        return None

    def referencing(self, type_: str, prop: str) -> list[CostResource]:
        """Resources of ``type_`` whose input ``prop`` depends on this resource."""
        return [r for r in self.est.by_type.get(type_, []) if self.res.urn in r.property_dependencies.get(prop, [])]

    def hours(self) -> float:
        """Hours in the month."""
        return HOURS_PER_MONTH


Pricer = Callable[[Pricing], None]

PRICERS: dict[str, Pricer] = {}
"""Resource type token -> function adding its cost components."""

FREE_TYPES: dict[str, str] = {}
"""Resource type tokens known to cost nothing by themselves, with the reason."""


def pricer(*types: str) -> Callable[[Pricer], Pricer]:
    """Register a pricing function for resource types."""

    def deco(fn: Pricer) -> Pricer:
        for t in types:
            PRICERS[t] = fn
        return fn

    return deco


def free(reason: str, *types: str) -> None:
    """Register resource types that cost nothing by themselves."""
    for t in types:
        FREE_TYPES[t] = reason


class Estimator:
    """Prices resources with a catalog, a usage file and the stack config."""

    def __init__(self, resources: Iterable[CostResource], *, config: Mapping[str, Any] | None = None,
                 usage: Usage | None = None, catalog: Catalog | None = None, project: str | None = None) -> None:
        from . import aws, gcp  # noqa: F401  (register the pricers)

        self.resources = list(resources)
        self.config = dict(config or {})
        self.usage = usage or Usage()
        self.catalog = catalog or default_catalog()
        self.project = project
        self.by_urn = {r.urn: r for r in self.resources}
        self.by_type: dict[str, list[CostResource]] = {}
        self.children: dict[str, int] = {}
        for r in self.resources:
            self.by_type.setdefault(r.type, []).append(r)
            if r.parent:
                self.children[r.parent] = self.children.get(r.parent, 0) + 1

    # -- region -----------------------------------------------------------------------------------------
    def region_of(self, res: CostResource) -> str | None:
        """The resource's own ``region`` (or GCP ``location``), its provider's region, else the stack config."""
        provider = res.package
        for key in ("region", "location") if provider == "gcp" else ("region",):
            val = res.inputs.get(key)
            if isinstance(val, str) and val and val not in UNKNOWN_VALUES:
                return val.lower()
        if res.provider_inputs:
            val = res.provider_inputs.get("region")
            if isinstance(val, str) and val and val not in UNKNOWN_VALUES:
                return val
        keys = [f"{provider}:region"]
        if self.project:
            keys.append(f"{self.project}:region")
        keys += [k for k in self.config if k.endswith(":region") and k not in keys]
        for k in keys:
            val = self.config.get(k)
            if isinstance(val, str) and val and not val.startswith("["):
                return val
        return None

    # -- estimate ---------------------------------------------------------------------------------------
    def estimate(self) -> CostReport:
        """Price every resource."""
        report = CostReport()
        report.notes = self.usage.check([(r.type, r.name) for r in self.resources if r.custom])
        for res in self.resources:
            if res.type.startswith("pulumi:"):
                continue  # providers and the stack
            if not res.custom:
                if res.package in REMOTE_COMPONENT_PACKAGES and not self.children.get(res.urn):
                    report.unpriced.append({"urn": res.urn, "type": res.type, "name": res.name,
                                            "reason": "remote component: the resources it creates are not "
                                                      "visible to the review"})
                continue
            if res.type in FREE_TYPES:
                report.free += 1
                continue
            fn = PRICERS.get(res.type)
            if fn is None:
                report.unpriced.append({"urn": res.urn, "type": res.type, "name": res.name,
                                        "reason": "no pricing for this resource type"})
                continue
            p = Pricing(self, res, res.package, self.region_of(res))
            try:
                fn(p)
            except Free:
                report.free += 1
                continue
            rc = ResourceCost(urn=res.urn, type=res.type, name=res.name, components=p.components,
                              not_found=p.not_found, region=p.region)
            report.resources.append(rc)
        return report


def estimate(resources: Iterable[CostResource], *, config: Mapping[str, Any] | None = None,
             usage: Usage | None = None, catalog: Catalog | None = None, project: str | None = None) -> CostReport:
    """Price resources; see :class:`Estimator`."""
    return Estimator(resources, config=config, usage=usage, catalog=catalog, project=project).estimate()
