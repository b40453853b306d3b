"""The review's recovery section: per stack, the RPO and RTO the deployed design achieves against the stated
objectives (``<project>:dr`` in the stack config, else the program's ``dr`` output).

A pure function over the captured graph; the model itself (what counts as a copy, how stale, how long to restore)
lives in ``policies/security/_recovery.py`` so the ``dr-objectives-met`` rule judges with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.common import ResourceIndex
from policies.security._recovery import Assessment, Objectives, fmt_minutes
from policies.security._recovery import assess as _assess

from .model import Graph
from .policy_runner import graph_resources
from .render import md_code, md_text, safe


def objectives_of(graph: Graph) -> Objectives | None:
    """The stated objectives: the stack config's ``dr`` (explicit), else the program's ``dr`` output."""
    return Objectives.parse(graph.config_value("dr")) or Objectives.parse(graph.outputs.get("dr"))


def default_region(graph: Graph) -> str | None:
    """The stack's region from its config (``aws:region``, ``gcp:region`` or ``<project>:region``)."""
    for key in ("aws:region", "gcp:region", f"{graph.project}:region"):
        value = graph.config.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _m(value: float | None) -> str:
    return fmt_minutes(value) if value is not None else "none"


@dataclass
class RecoveryReport:
    """What :func:`assess` returns: the assessment plus its renderings."""

    stack: str
    assessment: Assessment
    dr_cost: list[tuple[str, str, float]] = field(default_factory=list)
    """What disaster recovery costs a month, per resource ``(name, type, USD)`` (:func:`dr_costs`)."""

    @property
    def meets(self) -> bool:
        """No stated objective is missed (also true when nothing is stated)."""
        return not self.assessment.problems

    def to_json(self) -> dict[str, Any]:
        """The ``recovery`` section of ``--format json``."""
        a = self.assessment
        o = a.objectives
        return {
            "objectives": None if o is None else {"rpo_minutes": o.rpo_minutes, "rto_minutes": o.rto_minutes,
                                                  "region": o.region},
            "scenario": a.scenario,
            "achieved": {"rpo_minutes": a.rpo_minutes, "rto_minutes": a.rto_minutes},
            "meets": self.meets,
            "problems": a.problems,
            "caches_rebuilt": list(a.caches),
            "dr_cost": {"monthly_usd": round(sum(m for _, _, m in self.dr_cost), 2), "resources": [
                {"name": n, "type": t, "monthly_usd": round(m, 2)} for n, t, m in self.dr_cost]},
            "stores": [{"name": s.name, "kind": s.kind, "region": s.region, "paths": [
                {"mechanism": p.mechanism, "region": p.region, "rpo_minutes": p.rpo_minutes,
                 "restore_minutes": p.restore_minutes, "cross_region": p.cross_region} for p in s.paths]}
                for s in a.stores],
        }

    def headline(self) -> str:
        """Achieved against stated, in a few words (plain text, no names from the program)."""
        a = self.assessment
        o = a.objectives
        achieved = f"achieved RPO {_m(a.rpo_minutes)}, RTO {_m(a.rto_minutes)}"
        if o is None:
            return f"{achieved} (no objectives stated)"
        verdict = "meets" if self.meets else "MISSES"
        return f"{achieved}; {verdict} RPO {_m(o.rpo_minutes)}, RTO {_m(o.rto_minutes)}"

    def summary(self) -> str:
        """One text line."""
        a = self.assessment
        o = a.objectives
        if not a.stores:
            return f"Recovery ({safe(self.stack)}): no data stores"
        stated = "no objectives stated" if o is None else (
            f"objectives RPO {_m(o.rpo_minutes)}, RTO {_m(o.rto_minutes)}"
            + (f", DR region {safe(o.region)}" if o.region else ""))
        verdict = "" if o is None else ("; meets them" if self.meets else
                                        "; MISSES them: " + "; ".join(safe(p) for p in a.problems))
        return (f"Recovery ({safe(self.stack)}, {a.scenario} loss): achieved RPO {_m(a.rpo_minutes)}, RTO "
                f"{_m(a.rto_minutes)}; {stated}{verdict}")

    def _rows(self) -> list[tuple[str, str, str, str, str]]:
        a = self.assessment
        cross = a.scenario == "regional"
        rows = []
        for s in a.stores:
            rpo_path, rto_path = s.best(cross)
            if rpo_path is None or rto_path is None:
                rows.append((s.name, s.region or "?", "none", "-", "-"))
            else:
                rows.append((s.name, s.region or "?", f"{rpo_path.mechanism} ({rpo_path.region or '?'})",
                             _m(rpo_path.rpo_minutes), _m(rto_path.restore_minutes)))
        return rows

    def to_text(self) -> str:
        """The summary line, then one line per data store (its best copy, RPO and restore time)."""
        lines = [self.summary()]
        for name, region, copy, rpo, restore in self._rows():
            lines.append(f"  {safe(name)} ({safe(region)}): {safe(copy)}, RPO {rpo}, restore {restore}")
        for name in self.assessment.caches:
            lines.append(f"  {safe(name)}: cache, rebuilt empty (not restored; no effect on RPO or RTO)")
        if self.dr_cost:
            lines.append(f"  DR cost: {sum(m for _, _, m in self.dr_cost):,.2f} USD a month")
            for n, t, m in self.dr_cost:
                lines.append(f"    {m:10,.2f}  {safe(n)} ({safe(t.split(':')[1] if t.count(':') == 2 else t)})")
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        """A small table: one row per store, then the stack's achieved values against the objectives."""
        a = self.assessment
        o = a.objectives
        lines = [f"**Recovery** ({a.scenario} loss)", "", "| store | region | best copy | RPO | restore |",
                 "|---|---|---|---|---|"]
        for name, region, copy, rpo, restore in self._rows():
            lines.append(f"| {md_code(name)} | {md_code(region)} | {md_text(copy)} | {rpo} | {restore} |")
        lines += ["", "| | RPO | RTO |", "|---|---|---|",
                  f"| achieved | {_m(a.rpo_minutes)} | {_m(a.rto_minutes)} |"]
        if o is not None:
            lines.append(f"| objective | {_m(o.rpo_minutes)} | {_m(o.rto_minutes)} |")
        if a.caches:
            lines += ["", "Caches, rebuilt empty (not restored): " + ", ".join(md_code(c, table=False)
                                                                            for c in a.caches)]
        if self.dr_cost:
            lines += ["", f"DR cost: **{sum(m for _, _, m in self.dr_cost):,.2f} USD a month**", "",
                      "| resource | type | monthly (USD) |", "|---|---|---:|",
                      *[f"| {md_code(n)} | {md_code(t)} | {m:,.2f} |" for n, t, m in self.dr_cost]]
        if a.problems:
            lines += ["", *[f"- {md_text(p)}" for p in a.problems]]
        return "\n".join(lines) + "\n"


DR_COMPONENTS = frozenset({"backend:aws:BackupPlan", "backend:aws:DatabaseBackupReplica", "backend:aws:BucketReplica",
                           "backend:gcp:DatabaseReplica"})
"""Components whose every resource exists for disaster recovery (stacks/edge.py)."""
DR_TYPES = frozenset({
    "aws:backup/vault:Vault", "aws:backup/plan:Plan", "aws:backup/selection:Selection",
    "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig"})
"""Resource types that exist only for disaster recovery, wherever they are declared."""


def dr_costs(graph: Graph, cost: Any) -> list[tuple[str, str, float]]:
    """The priced resources that exist for disaster recovery (a :data:`DR_TYPES` type, or inside a
    :data:`DR_COMPONENTS` component), most expensive first. Dual-region buckets are priced whole at the dual-region
    rate and not counted here (their single-region price is not separable)."""
    if cost is None:
        return []
    by_urn = {r.urn: r for r in graph.resources}

    def for_dr(urn: str) -> bool:
        r = by_urn.get(urn)
        seen = 0
        while r is not None and seen < 100:
            if r.type in DR_TYPES or r.type in DR_COMPONENTS:
                return True
            r, seen = by_urn.get(r.parent or ""), seen + 1
        return False

    rows = [(r.name, r.type, r.monthly) for r in cost.resources if r.monthly > 0 and for_dr(r.urn)]
    return sorted(rows, key=lambda row: (-row[2], row[0]))


def assess(graph: Graph, cost: Any = None) -> RecoveryReport:
    """The recovery report of a captured graph (with ``cost``, a :class:`pricing.CostReport`: the DR cost)."""
    index = ResourceIndex(graph_resources(graph))
    return RecoveryReport(graph.stack, _assess(index, objectives_of(graph), default_region(graph)),
                          dr_costs(graph, cost))
