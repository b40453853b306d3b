"""The cost report: a stack's monthly estimate, per resource and per priced component (the JSON contract of the
review's ``cost`` section)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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

    def drivers(self, n: int = 3) -> list[ResourceCost]:
        """The ``n`` most expensive resources."""
        return sorted(self.resources, key=lambda r: -r.monthly)[:n]

    def to_json(self) -> dict[str, Any]:
        """Contract shape."""
        return {"currency": self.currency, "monthly_total": round(self.monthly_total, 2),
                "resources": [r.to_json() for r in self.resources], "unpriced": self.unpriced,
                "free_resources": self.free, "usage_file": self.usage_file, "notes": self.notes}
