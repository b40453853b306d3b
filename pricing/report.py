"""The cost report: a stack's monthly estimate, per resource and per priced component (the JSON contract of the
review's ``cost`` section)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_REF = re.compile(r"^(?P<component>.*) \[(?P<provider>[a-z0-9-]+)/(?P<region>[^/\]]+)/(?P<service>[^/\]]+)/"
                  r"(?P<sku>[^\]]+)\]$")


@dataclass(frozen=True)
class MissingPrice:
    """A component the estimate could not price: the catalog row it needs (when known) and why."""

    resource: str
    component: str
    provider: str | None = None
    region: str | None = None
    """The region looked up (``unknown region`` when the resource's region could not be told)."""
    service: str | None = None
    sku: str | None = None

    @property
    def ref(self) -> str | None:
        """``provider/region/service/sku`` of the missing catalog row; None when not a catalog lookup."""
        if self.provider is None:
            return None
        return f"{self.provider}/{self.region}/{self.service}/{self.sku}"

    @classmethod
    def parse(cls, resource: str, entry: str) -> MissingPrice:
        """From a ``ResourceCost.not_found`` entry (``name [provider/region/service/sku]``)."""
        m = _REF.match(entry)
        if not m:
            return cls(resource, entry)
        return cls(resource, m["component"], m["provider"], m["region"], m["service"], m["sku"])

    def to_json(self) -> dict[str, Any]:
        """Contract shape."""
        return {"resource": self.resource, "component": self.component, "price": self.ref,
                "region": self.region, "service": self.service, "sku": self.sku}


@dataclass
class CostComponent:
    """One priced line of a resource: quantity x unit price per month."""

    name: str
    quantity: float
    unit: str
    unit_price: float
    monthly: float
    usage_based: bool = False
    """The quantity came from the usage file (or its defaults), not from the resource's settings."""
    sku: str = ""
    """The catalog row priced, ``provider/region/service/sku``."""
    basis: str = ""
    """How the catalog figure was obtained: quoted, api, proxy or derived (see docs/cost.md)."""

    def to_json(self) -> dict[str, Any]:
        """Contract shape."""
        return {"name": self.name, "quantity": self.quantity, "unit": self.unit, "unit_price": self.unit_price,
                "monthly": round(self.monthly, 2), "usage_based": self.usage_based, "sku": self.sku,
                "basis": self.basis}


@dataclass
class ResourceCost:
    """The monthly cost of one resource."""

    urn: str
    type: str
    name: str
    components: list[CostComponent]
    not_found: list[str] = field(default_factory=list)
    """Components whose price is missing for the resource's region ("price not found")."""
    region: str | None = None
    """The region the resource was priced in."""

    @property
    def monthly(self) -> float:
        """Sum of the components."""
        return sum(c.monthly for c in self.components)

    def to_json(self) -> dict[str, Any]:
        """Contract shape."""
        return {"urn": self.urn, "type": self.type, "name": self.name, "region": self.region,
                "monthly": round(self.monthly, 2), "components": [c.to_json() for c in self.components],
                "price_not_found": self.not_found}


@dataclass
class CostReport:
    """The stack's monthly estimate."""

    currency: str = "USD"
    resources: list[ResourceCost] = field(default_factory=list)
    unpriced: list[dict[str, str]] = field(default_factory=list)
    """Resources of types the estimator does not know: ``{"urn", "type", "name", "reason"}``."""
    free: int = 0
    """Resources known to cost nothing (VPCs, subnets, security groups, IAM...)."""
    usage_file: str | None = None
    """The usage file usage-based quantities came from (None: the built-in defaults)."""
    notes: list[str] = field(default_factory=list)
    """Remarks on the estimate, e.g. usage-file entries that match no resource."""

    @property
    def monthly_total(self) -> float:
        """Sum over resources."""
        return sum(r.monthly for r in self.resources)

    @property
    def price_not_found(self) -> list[str]:
        """Every component whose price is missing, as ``resource: component``."""
        return [f"{r.name}: {m}" for r in self.resources for m in r.not_found]

    @property
    def missing(self) -> list[MissingPrice]:
        """Every component whose price is missing, with the catalog row it needs."""
        return [MissingPrice.parse(r.name, m) for r in self.resources for m in r.not_found]

    @property
    def partial(self) -> bool:
        """The total is a lower bound: a price is missing or a resource is unpriced."""
        return bool(self.unpriced) or any(r.not_found for r in self.resources)

    def total_text(self) -> str:
        """``59.13 USD``, or ``at least 12.00 USD (partial: 3 prices missing, 1 resource unpriced)``."""
        total = f"{self.monthly_total:,.2f} {self.currency}"
        if not self.partial:
            return total
        return f"at least {total} ({self.partial_text()})"

    def partial_text(self) -> str:
        """``partial: 3 prices missing, 1 resource unpriced``."""
        parts = []
        n = len(self.missing)
        if n:
            parts.append(f"{n} price{'s' if n != 1 else ''} missing")
        u = len(self.unpriced)
        if u:
            parts.append(f"{u} resource{'s' if u != 1 else ''} unpriced")
        return "partial: " + ", ".join(parts)

    def refresh_commands(self) -> list[str]:
        """The ``python -m ops prices refresh`` commands that fetch the missing catalog rows, one per provider and
        region (lookups without a known region, or of the ``global`` file, have none)."""
        wanted: dict[tuple[str, str], set[str]] = {}
        for m in self.missing:
            if m.provider and m.region and m.service and m.region not in ("unknown region", "global"):
                wanted.setdefault((m.provider, m.region), set()).add(m.service)
        out = []
        for (provider, region), services in sorted(wanted.items()):
            cloud = "" if provider == "aws" else f" --cloud {provider}"
            flags = " ".join(f"--service {s}" for s in sorted(services))
            out.append(f"python -m ops prices refresh{cloud} {flags} --region {region}")
        return out

    def drivers(self, n: int = 3) -> list[ResourceCost]:
        """The ``n`` most expensive resources."""
        return sorted(self.resources, key=lambda r: -r.monthly)[:n]

    def to_json(self) -> dict[str, Any]:
        """Contract shape."""
        return {"currency": self.currency, "monthly_total": round(self.monthly_total, 2),
                "partial": self.partial, "missing": [m.to_json() for m in self.missing],
                "resources": [r.to_json() for r in self.resources], "unpriced": self.unpriced,
                "free_resources": self.free, "usage_file": self.usage_file, "notes": self.notes}
