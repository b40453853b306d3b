"""The price catalog: on-demand USD prices per provider, region, service and SKU, each with its source and date.

The data lives in ``pricing/catalog/<provider>-<region>.csv`` (one file per provider and region, plus
``<provider>-global.csv`` for prices that do not depend on a region, e.g. Route 53 hosted zones). Columns:

``provider, region, service, sku, description, unit, usd, basis, source, source_date``

``basis`` says how the figure was obtained: ``quoted`` (copied from the cited source), ``api`` (written by
``python -m ops prices refresh`` from the AWS Price List API), ``proxy`` (a cited figure for a neighbouring SKU or
region, the proxy named in ``source``) or ``derived`` (computed from a catalog figure by the rule named in
``source``, see docs/cost.md). A lookup for a region returns that region's row, else the provider's ``global``
row, never another region's: a region without its own rows is "price not found".
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
FIELDS = ("provider", "region", "service", "sku", "description", "unit", "usd", "basis", "source", "source_date")
BASES = ("quoted", "api", "proxy", "derived")
GLOBAL = "global"

# The units a catalog row may use, and the quantity each stands for (what an estimator multiplies by).
UNITS = {
    "hour": "hours", "vCPU-hour": "vCPU-hours", "GB-hour": "GB-hours", "LCU-hour": "LCU-hours",
    "ACU-hour": "ACU-hours", "VM-hour": "VM-hours",
    "GB": "GB", "GiB": "GiB", "GB-month": "GB-months", "IOPS-month": "IOPS-months", "MBps-month": "MBps-months",
    "1k requests": "1k requests", "10k requests": "10k requests", "1M requests": "1M requests",
    "10k operations": "10k operations", "1M queries": "1M queries", "1M ECPU": "1M ECPUs",
    "alarm-metric-month": "alarm metrics", "dashboard-month": "dashboards", "key-month": "keys",
    "secret-month": "secrets", "ACL-month": "web ACLs", "rule-month": "rules", "zone-month": "hosted zones",
    "version-month": "secret versions", "vCPU-second": "vCPU-seconds", "GiB-second": "GiB-seconds",
    "GB-second": "GB-seconds",
    "condition-month": "conditions", "1M time series": "1M time series", "policy-month": "policies",
    "TiB": "TiB", "job-month": "job-months", "MAU": "MAU",
    "multiplier": "x",
}


class CatalogError(ValueError):
    """A catalog file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Price:
    """One catalog row."""

    provider: str
    region: str
    service: str
    sku: str
    description: str
    unit: str
    usd: float
    basis: str
    source: str
    source_date: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        """(provider, region, service, sku)."""
        return (self.provider, self.region, self.service, self.sku)

    @property
    def ref(self) -> str:
        """``provider/region/service/sku``, as reports cite it."""
        return "/".join(self.key)


def parse_rows(path: Path) -> list[Price]:
    """Read and validate one catalog CSV."""
    out: list[Price] = []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [f for f in FIELDS if f not in (reader.fieldnames or [])]
            if missing:
                raise CatalogError(f"{path.name}: missing columns {', '.join(missing)}")
            for lineno, raw in enumerate(reader, start=2):
                out.append(_row(path, lineno, raw))
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from None
    return out


def _row(path: Path, lineno: int, raw: dict[str, str]) -> Price:
    where = f"{path.name}:{lineno}"
    vals = {k: (raw.get(k) or "").strip() for k in FIELDS}
    for k in ("provider", "region", "service", "sku", "unit", "basis", "source", "source_date"):
        if not vals[k]:
            raise CatalogError(f"{where}: empty {k}")
    try:
        usd = float(vals["usd"])
    except ValueError:
        raise CatalogError(f"{where}: usd {vals['usd']!r} is not a number") from None
    if usd < 0:
        raise CatalogError(f"{where}: negative price {usd}")
    if vals["unit"] not in UNITS:
        raise CatalogError(f"{where}: unknown unit {vals['unit']!r} (known: {', '.join(UNITS)})")
    if vals["basis"] not in BASES:
        raise CatalogError(f"{where}: basis {vals['basis']!r} must be one of {', '.join(BASES)}")
    return Price(provider=vals["provider"], region=vals["region"], service=vals["service"], sku=vals["sku"],
                 description=vals["description"], unit=vals["unit"], usd=usd, basis=vals["basis"],
                 source=vals["source"], source_date=vals["source_date"])


class Catalog:
    """Prices indexed by (provider, region, service, sku)."""

    def __init__(self, prices: Iterable[Price]) -> None:
        self._prices: dict[tuple[str, str, str, str], Price] = {}
        for p in prices:
            if p.key in self._prices:
                raise CatalogError(f"duplicate price {p.ref}")
            self._prices[p.key] = p

    @classmethod
    def load(cls, directory: str | Path | None = None) -> Catalog:
        """Every ``*.csv`` in ``directory`` (default: the packaged catalog)."""
        root = Path(directory) if directory else CATALOG_DIR
        files = sorted(root.glob("*.csv"))
        if not files:
            raise CatalogError(f"{root}: no catalog files (*.csv)")
        rows: list[Price] = []
        for f in files:
            rows.extend(parse_rows(f))
        return cls(rows)

    def __iter__(self):
        return iter(self._prices.values())

    def __len__(self) -> int:
        return len(self._prices)

    def get(self, provider: str, region: str | None, service: str, sku: str) -> Price | None:
        """The price for this region, else the provider's global price; never another region's."""
        if region:
            hit = self._prices.get((provider, region, service, sku))
            if hit is not None:
                return hit
        return self._prices.get((provider, GLOBAL, service, sku))

    def regions(self, provider: str) -> set[str]:
        """Regions with rows for a provider (``global`` excluded)."""
        return {p.region for p in self._prices.values() if p.provider == provider and p.region != GLOBAL}


@functools.lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The packaged catalog, loaded once per process."""
    return Catalog.load()
