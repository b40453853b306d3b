"""The monthly budget gate: the stack's estimate (the :mod:`pricing` estimator, on the resources the pack receives)
against ``budget.monthlyUsd`` from the stack config (``<project>:budget``) or the policy config."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine_values import SECRET
from policies.common import REPO_ROOT, Context, Res, ResourceIndex, stack_rule
from pricing import PROVIDER_PACKAGES, Catalog, CatalogError, CostReport, CostResource, UsageError, estimate_resources

CATEGORY = "cost-budget"
DEFAULT_WARN_FRACTION = 0.8

_USAGE_FILE = {"type": "string", "default": "",
               "description": "Usage file for usage-based costs (absolute, or relative to the pack process's "
                              "working directory: the pack directory under the CLI); default: the usage file the "
                              "runner priced with (python -m review: --usage, else usage.<stack>.yaml), else "
                              "usage.<stack>.yaml beside the project's Pulumi.yaml when the pack runs from the "
                              "project's checkout, else the built-in defaults."}
_CATALOG_DIR = {"type": "string", "default": "",
                "description": "Price catalog directory (CSV files in the format of pricing/catalog, e.g. with "
                               "negotiated prices); default: the catalog shipped with the pricing package."}
_MONTHLY = {"type": ["number", "null"], "default": None,
            "description": "Monthly budget in USD; default: budget.monthlyUsd of the stack config."}
_DRIVERS = {"type": "number", "default": 3, "description": "How many of the biggest cost drivers to name."}


@dataclass(frozen=True)
class Budget:
    """The budget in force and where it came from."""

    monthly_usd: float
    warn_fraction: float
    source: str


def stack_budget(ctx: Context) -> Budget | None:
    """Policy config ``monthlyUsd`` / ``warnFraction`` over the stack config's ``budget``; None if neither."""
    raw = ctx.stack.setting("budget")
    stack_cfg: dict[str, Any] = raw if isinstance(raw, dict) else {}
    monthly, source = ctx.config.get("monthlyUsd"), "policy config"
    if monthly is None:
        monthly, source = stack_cfg.get("monthlyUsd"), f"{ctx.stack.project or 'stack'}:budget.monthlyUsd"
    if not isinstance(monthly, (int, float)) or isinstance(monthly, bool) or monthly <= 0:
        return None
    fraction = ctx.config.get("warnFraction")
    if fraction is None:
        fraction = stack_cfg.get("warnFraction", DEFAULT_WARN_FRACTION)
    if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        fraction = DEFAULT_WARN_FRACTION
    return Budget(float(monthly), float(fraction), source)


def usage_path(ctx: Context) -> Path | None:
    """The usage file to price with when the rule prices the stack itself: the ``usageFile`` policy config, else
    ``usage.<stack>.yaml`` at the root of the checkout this pack runs from when the stack is that checkout's
    project (``policies/<pack>`` of this repository); else None (the built-in defaults)."""
    given = ctx.config.get("usageFile")
    if given:
        return Path(given)
    stack = ctx.stack.stack
    if stack and _is_own_project(ctx.stack.project):
        candidate = REPO_ROOT / f"usage.{stack}.yaml"
        if candidate.is_file():
            return candidate
    return None


def _is_own_project(project: str) -> bool:
    try:
        text = (REPO_ROOT / "Pulumi.yaml").read_text(encoding="utf-8")
    except OSError:
        return False
    return bool(project) and any(line.strip() == f"name: {project}" for line in text.splitlines())


def stack_estimate(index: ResourceIndex, ctx: Context) -> CostReport:
    """The stack's monthly estimate: the runner's (``ctx.stack.cost_estimate``, the review prices once) unless the
    policy config names its own ``usageFile`` or ``catalogDir``; else the resources this rule received, priced here
    (under the CLI)."""
    given = ctx.stack.cost_estimate
    if isinstance(given, CostReport) and not ctx.config.get("usageFile") and not ctx.config.get("catalogDir"):
        return given
    catalog_dir = ctx.config.get("catalogDir")
    return estimate_resources(cost_resources(index.resources), config=ctx.stack.config, usage_file=usage_path(ctx),
                              project=ctx.stack.project or None,
                              catalog=_catalog(str(catalog_dir)) if catalog_dir else None)


@functools.lru_cache(maxsize=4)
def _catalog(directory: str) -> Catalog:
    return Catalog.load(directory)


def _plain(value: Any) -> Any:
    """Policy props may carry secrets as wrapper objects: keep plain values only (unknowns stay sentinels)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return SECRET


def cost_resources(resources: Iterable[Res]) -> list[CostResource]:
    """The estimator's views of a stack rule's resources (under the CLI and offline alike)."""
    out = []
    for r in resources:
        custom = (r.type.split(":", 1)[0] in PROVIDER_PACKAGES or r.provider_urn is not None) and \
            not r.type.startswith("pulumi:")
        out.append(CostResource(
            urn=r.urn, type=r.type, name=r.name, inputs=_plain(dict(r.props or {})), custom=custom,
            parent=r.parent, provider_inputs=_plain(dict(r.provider_props)) if r.provider_props else None,
            property_dependencies={k: list(v) for k, v in (r.prop_deps or {}).items()},
            dependencies=list(r.deps or []),
        ))
    return out


def drivers_text(report: CostReport, n: int) -> str:
    """``name 29.57 (type), ...`` for the ``n`` biggest resources."""
    parts = []
    for r in report.drivers(max(int(n), 1)):
        if r.monthly <= 0:
            break
        top = max(r.components, key=lambda c: c.monthly, default=None)
        detail = f"; {top.name} {top.monthly:.2f}" if top is not None and len(r.components) > 1 else ""
        parts.append(f"{r.name} {r.monthly:.2f} ({r.type.rsplit(':', 1)[-1]}{detail})")
    return ", ".join(parts) or "none"


def _estimate_or_error(index: ResourceIndex, ctx: Context) -> tuple[CostReport | None, str | None]:
    try:
        return stack_estimate(index, ctx), None
    except (UsageError, CatalogError) as exc:
        return None, f"cannot estimate the stack: {exc}"


@stack_rule(
    "budget-not-exceeded", severity="high", category=CATEGORY,
    description="The stack's estimated monthly cost (the pricing estimator the review uses, usage-based lines "
                "from the usage file) does not exceed budget.monthlyUsd; the message names the biggest cost drivers.",
    remediation="Shrink the biggest cost drivers (see the message and the review's cost section) or raise "
                "budget.monthlyUsd in Pulumi.<stack>.yaml after review.",
    config={"monthlyUsd": _MONTHLY, "usageFile": _USAGE_FILE, "catalogDir": _CATALOG_DIR, "topDrivers": _DRIVERS})
def budget_not_exceeded(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    budget = stack_budget(ctx)
    if budget is None:
        return
    report, error = _estimate_or_error(index, ctx)
    if report is None:
        yield None, str(error)
        return
    total = report.monthly_total
    if total > budget.monthly_usd:
        yield None, (f"estimated {total:,.2f} USD/month exceeds the budget of {budget.monthly_usd:,.2f} USD "
                     f"({total / budget.monthly_usd:.0%}, {budget.source}); biggest cost drivers: "
                     f"{drivers_text(report, ctx.config.get('topDrivers', 3))}")


def missing_text(report: CostReport) -> str:
    """What the estimate lacks: the missing catalog rows per provider and region, prices that are not catalog
    lookups, and resources of types without pricing."""
    by_region: dict[tuple[str, str], list[str]] = {}
    other: list[str] = []
    for m in report.missing:
        if m.provider is None:
            other.append(f"{m.resource}: {m.component}")
            continue
        row = f"{m.service}/{m.sku}"
        rows = by_region.setdefault((m.provider, m.region or "unknown region"), [])
        if row not in rows:
            rows.append(row)
    parts = [f"{len(rows)} price{'s' if len(rows) != 1 else ''} missing for {provider} {region} "
             f"({', '.join(sorted(rows))})" for (provider, region), rows in sorted(by_region.items())]
    if other:
        parts.append(f"not priceable as configured: {'; '.join(other)}")
    if report.unpriced:
        parts.append(f"{len(report.unpriced)} resource{'s' if len(report.unpriced) != 1 else ''} without pricing ("
                     + ", ".join(f"{u.get('name')} {u.get('type')}" for u in report.unpriced) + ")")
    return "; ".join(parts)


@stack_rule(
    "budget-verifiable", severity="high", category=CATEGORY,
    description="When a budget is set, the estimate is complete: a price missing for the stack's region (or a "
                "resource type without pricing) makes the total a lower bound, so the budget cannot be verified "
                "and the gate fails closed. The message names the region, the missing prices and the command "
                "that fetches them.",
    remediation="Fetch the missing prices (python -m ops prices refresh --service ... --region ..., see the "
                "message) or add them to pricing/catalog with their source; for a resource type without pricing, "
                "add a rule in pricing/aws.py or pricing/gcp.py. A reviewed waiver accepts an unverified budget.",
    config={"monthlyUsd": _MONTHLY, "usageFile": _USAGE_FILE})
def budget_verifiable(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    budget = stack_budget(ctx)
    if budget is None:
        return
    report, _ = _estimate_or_error(index, ctx)
    if report is None or not report.partial:
        return  # an estimate that cannot be made at all is reported by budget-not-exceeded
    commands = report.refresh_commands()
    fetch = f"; fetch them: {' && '.join(commands)}" if commands else ""
    yield None, (f"the budget of {budget.monthly_usd:,.2f} USD ({budget.source}) cannot be verified: the estimate "
                 f"is {report.total_text()}: {missing_text(report)}{fetch}")


@stack_rule(
    "budget-warning", severity="medium", category=CATEGORY, enforcement="advisory",
    description="Warns when the estimate passes warnFraction of the budget (default budget.warnFraction of the "
                "stack config, else 0.8) without exceeding it, naming the biggest cost drivers.",
    remediation="Plan for the growth: shrink the named drivers or raise the budget before the next change "
                "crosses it.",
    config={"monthlyUsd": _MONTHLY, "usageFile": _USAGE_FILE, "catalogDir": _CATALOG_DIR, "topDrivers": _DRIVERS,
            "warnFraction": {"type": ["number", "null"], "default": None,
                             "description": "Fraction of the budget that triggers the warning; default: "
                                            "budget.warnFraction of the stack config, else 0.8."}})
def budget_warning(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    budget = stack_budget(ctx)
    if budget is None:
        return
    report, _ = _estimate_or_error(index, ctx)
    if report is None:
        return
    total = report.monthly_total
    threshold = budget.monthly_usd * budget.warn_fraction
    if threshold < total <= budget.monthly_usd:
        yield None, (f"estimated {total:,.2f} USD/month is {total / budget.monthly_usd:.0%} of the budget of "
                     f"{budget.monthly_usd:,.2f} USD (warning above {budget.warn_fraction:.0%}); biggest cost "
                     f"drivers: {drivers_text(report, ctx.config.get('topDrivers', 3))}")


@stack_rule(
    "cost-estimate-complete", severity="low", category=CATEGORY, enforcement="advisory",
    description="Every resource of the stack is priced: no resource type without pricing and no component "
                "whose price is missing for the region (so the budget gate sees the whole bill).",
    remediation="Add the missing prices to pricing/catalog (python -m ops prices refresh --region ...) or a "
                "pricing rule for the type in pricing/aws.py or pricing/gcp.py; until then, budget for the listed "
                "items by hand.",
    config={"usageFile": _USAGE_FILE, "catalogDir": _CATALOG_DIR})
def cost_estimate_complete(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    report, error = _estimate_or_error(index, ctx)
    if report is None:
        yield None, str(error)
        return
    for item in report.unpriced:
        yield index.get(item.get("urn")), f"not priced: {item.get('type')} ({item.get('reason')})"
    for rc in report.resources:
        if rc.not_found:
            yield index.get(rc.urn), (f"price not found in {rc.region or 'an unknown region'}: "
                                      f"{'; '.join(rc.not_found)}")
