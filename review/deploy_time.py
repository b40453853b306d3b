"""Estimated deploy time: the critical path of a ``pulumi up`` through the captured resource graph.

The engine starts a resource as soon as what it waits for is done, and runs everything else in parallel:

* its dependencies: ``dependsOn`` and the resources whose outputs its inputs take (``propertyDependencies``).
  The SDK already expands a dependency on a component into the component's custom descendants; a dependency
  on a component that was not expanded (a remote component) waits for the component and all its descendants;
* its parent's registration: a custom parent is registered once it is created, a component as soon as its own
  dependencies are done (a component never blocks its children otherwise);
* its provider.

A resource then takes its typical time from ``review/deploy_times.csv`` (create, update or delete), components
and providers take none. For a change, only the created, updated and replaced resources take time; the others
are done at t=0. Deletes (and the old half of a create-before-delete replacement) run after every create and
update, in reverse dependency order, as the engine does.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import Graph, Resource, dig

TABLE = Path(__file__).with_name("deploy_times.csv")
DEFAULT_TYPE = "DEFAULT"
TARGET_RATIO = 1.1
"""Our stacks' target: the whole deploy within 1.1x of its slowest single resource."""


@dataclass(frozen=True)
class TimeRow:
    """Typical seconds for one type (or one variant of it)."""

    type: str
    when: str
    create: float
    update: float
    delete: float
    source: str

    def matches(self, res: Resource) -> bool:
        """True when the row has no condition or the resource's input at the path has the value."""
        if not self.when:
            return True
        path, _, expected = self.when.partition("=")
        value = dig(res.inputs, path, None)
        return str(value).lower() == expected.lower()


@functools.lru_cache(maxsize=4)
def load_table(path: str | Path = TABLE) -> dict[str, list[TimeRow]]:
    """The table, by type; conditioned rows first. Raises ValueError on a malformed row."""
    rows: dict[str, list[TimeRow]] = {}
    with open(path, newline="") as fh:
        lines = [line for line in fh if line.strip() and not line.startswith("#")]
    for i, rec in enumerate(csv.DictReader(lines), start=2):
        try:
            row = TimeRow(rec["type"].strip(), (rec["when"] or "").strip(), float(rec["create_s"]),
                          float(rec["update_s"]), float(rec["delete_s"]), (rec["source"] or "").strip())
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: row {i} is malformed ({exc})") from None
        if not row.source:
            raise ValueError(f"{path}: row {i} ({row.type}) has no source")
        rows.setdefault(row.type, []).append(row)
    for lst in rows.values():
        lst.sort(key=lambda r: not r.when)
    if DEFAULT_TYPE not in rows:
        raise ValueError(f"{path}: no {DEFAULT_TYPE} row")
    return rows


def row_for(res: Resource, table: dict[str, list[TimeRow]] | None = None) -> TimeRow | None:
    """The table row a resource is timed with; None for components and providers (they take no time)."""
    if not res.custom or res.type.startswith("pulumi:providers:"):
        return None
    table = table if table is not None else load_table()
    for row in table.get(res.type, []):
        if row.matches(res):
            return row
    return table[DEFAULT_TYPE][0]


@dataclass
class Step:
    """One resource on the timeline."""

    urn: str
    name: str
    type: str
    op: str
    """``create``, ``update``, ``replace``, ``delete`` or ``same``."""
    seconds: float
    start: float
    finish: float

    def to_json(self) -> dict[str, Any]:
        """JSON shape."""
        return {"name": self.name, "type": self.type, "op": self.op, "seconds": self.seconds,
                "start": self.start, "finish": self.finish}


@dataclass
class DeployEstimate:
    """The critical path of one deployment."""

    mode: str
    """``fresh`` (a first ``pulumi up``) or ``change`` (the diff under review)."""
    total: float
    chain: list[Step]
    """The slowest chain, first to last: only steps that take time."""
    slowest: Step | None
    unknown_types: list[str] = field(default_factory=list)
    """Types timed with the DEFAULT row."""

    @property
    def ratio(self) -> float:
        """Total over the slowest single resource (1.0: nothing waits behind a slow resource)."""
        if self.slowest is None or self.slowest.seconds <= 0:
            return 1.0
        return self.total / self.slowest.seconds

    def to_json(self) -> dict[str, Any]:
        """The ``deploy_time`` section of the review's JSON."""
        return {
            "mode": self.mode, "total_seconds": self.total, "ratio": round(self.ratio, 3),
            "target_ratio": TARGET_RATIO,
            "slowest": self.slowest.to_json() if self.slowest else None,
            "chain": [s.to_json() for s in self.chain], "unknown_types": self.unknown_types,
            "table": str(TABLE.name),
        }

    def to_markdown(self) -> str:
        """A compact table of the slowest chain, names escaped for GitHub markdown (for the lead's report)."""
        if self.slowest is None:
            return f"Estimated deploy time ({self.mode}): nothing to do.\n"
        lines = [f"Estimated deploy time ({self.mode}): **{_fmt(self.total)}**, slowest resource "
                 f"{_md(self.slowest.name)} {_fmt(self.slowest.seconds)} (ratio {self.ratio:.2f}).", "",
                 "| start | end | resource | type | operation |", "|---|---|---|---|---|"]
        lines += [f"| {_fmt(s.start)} | {_fmt(s.finish)} | {_md(s.name)} | {_md(short_type(s.type))} | {s.op} |"
                  for s in self.chain]
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        """One line for the text report."""
        if self.slowest is None:
            return f"Estimated deploy time ({self.mode}): nothing to do"
        chain = " -> ".join(f"{s.name} ({short_type(s.type)}) {_fmt(s.seconds)}" for s in self.chain)
        return (f"Estimated deploy time ({self.mode}): {_fmt(self.total)}; slowest resource {self.slowest.name} "
                f"{_fmt(self.slowest.seconds)} (ratio {self.ratio:.2f}); slowest chain: {chain}")


def _md(text: str) -> str:
    """Plain text for a markdown table cell: no pipes, backticks, HTML or line breaks get through."""
    out = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("*", "\\*")
    out = out.replace("_", "\\_").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(out.split())


def short_type(type_: str) -> str:
    """``aws:rds/instance:Instance`` -> ``rds/instance``."""
    parts = type_.split(":")
    return parts[1] if len(parts) == 3 else type_


def _fmt(seconds: float) -> str:
    minutes, sec = divmod(round(seconds), 60)
    return f"{minutes}m{sec:02d}s" if minutes else f"{sec}s"


def waits_for(res: Resource, known: Mapping[str, Resource]) -> list[str]:
    """URNs in ``known`` that ``res`` waits for before it starts (dependencies and provider; not the parent)."""
    deps = list(res.options.get("dependsOn") or [])
    for urns in res.property_dependencies.values():
        deps.extend(urns)
    if res.provider_urn:
        deps.append(res.provider_urn)
    seen: dict[str, None] = {}
    for urn in deps:
        if urn != res.urn and urn in known:
            seen.setdefault(urn)
    return list(seen)


class _Timeline:
    """Forward pass over the graph: start and finish of every resource, with the step it waited for.

    Iterative (a hostile program may declare a chain deeper than Python's recursion limit); a dependency cycle,
    which the engine would refuse, is broken where it is found.
    """

    def __init__(self, graph: Graph, cost: dict[str, tuple[str, float]]) -> None:
        self.by_urn = {r.urn: r for r in graph.resources}
        self.children: dict[str, list[str]] = {}
        for r in graph.resources:
            if r.parent:
                self.children.setdefault(r.parent, []).append(r.urn)
        self.deps = {r.urn: waits_for(r, self.by_urn) for r in graph.resources}
        self.cost = cost
        self.start: dict[str, float] = {}
        self.finish: dict[str, float] = {}
        self.pred: dict[str, str | None] = {}

    def _under(self, urn: str) -> list[str]:
        """``urn`` and, for a component (a dependency the SDK did not expand), everything under it."""
        if self.by_urn[urn].custom:
            return [urn]
        out, todo = [], [urn]
        while todo:
            u = todo.pop()
            out.append(u)
            todo.extend(self.children.get(u, []))
        return out

    def _prereqs(self, urn: str) -> list[str]:
        res = self.by_urn[urn]
        out = [u for dep in self.deps[urn] for u in self._under(dep)]
        if res.parent and res.parent in self.by_urn:
            out.append(res.parent)
        return out

    def _settle(self, urn: str) -> None:
        res = self.by_urn[urn]
        start, pred = 0.0, None
        for dep in self.deps[urn]:
            for u in self._under(dep):
                t = self.finish.get(u, 0.0)  # absent: on a cycle
                if t > start:
                    start, pred = t, u
        if res.parent and res.parent in self.by_urn:
            parent = self.by_urn[res.parent]
            t = (self.finish if parent.custom else self.start).get(res.parent, 0.0)
            if t > start:
                start, pred = t, (res.parent if parent.custom else self.pred.get(res.parent))
        self.start[urn] = start
        self.finish[urn] = start + self.cost.get(urn, ("same", 0.0))[1]
        self.pred[urn] = pred

    def visit(self, root: str) -> None:
        active: set[str] = set()
        stack = [(root, False)]
        while stack:
            urn, expanded = stack.pop()
            if urn in self.finish:
                continue
            if expanded:
                self._settle(urn)
                active.discard(urn)
                continue
            if urn in active:
                continue
            active.add(urn)
            stack.append((urn, True))
            stack.extend((p, False) for p in self._prereqs(urn) if p not in self.finish and p not in active)

    def run(self) -> None:
        for urn in self.by_urn:
            self.visit(urn)

    def chain_to(self, urn: str | None) -> list[str]:
        out: list[str] = []
        seen: set[str] = set()
        while urn is not None and urn not in seen:
            seen.add(urn)
            out.append(urn)
            urn = self.pred.get(urn)
        return list(reversed(out))


def _steps(tl: _Timeline, urns: Iterable[str], offset: float = 0.0) -> list[Step]:
    steps = []
    for urn in urns:
        op, seconds = tl.cost.get(urn, ("same", 0.0))
        if seconds <= 0:
            continue
        r = tl.by_urn[urn]
        steps.append(Step(urn, r.name, r.type, op, seconds, offset + tl.start[urn], offset + tl.finish[urn]))
    return steps


def _reverse(graph: Graph) -> Graph:
    """The graph with every dependency edge turned around (a resource is deleted after its dependents)."""
    dependents: dict[str, list[str]] = {}
    known = {r.urn: r for r in graph.resources}
    for r in graph.resources:
        for dep in waits_for(r, known):
            dependents.setdefault(dep, []).append(r.urn)
    out = []
    for r in graph.resources:
        out.append(Resource(urn=r.urn, type=r.type, name=r.name, parent=None, custom=r.custom, provider=None,
                            inputs=r.inputs, options={"dependsOn": dependents.get(r.urn, [])}))
    return Graph(project=graph.project, stack=graph.stack, resources=out, outputs={})


def estimate(graph: Graph, *, created: Collection[str] | None = None, updated: Collection[str] = (),
             replaced: Collection[str] = (), deleted: Collection[str] = (), base: Graph | None = None,
             table: dict[str, list[TimeRow]] | None = None) -> DeployEstimate:
    """The critical path of deploying ``graph``.

    With no change sets (``created`` None and the others empty): a fresh ``pulumi up`` creating everything.
    Otherwise a change: URNs of ``graph`` that are created, updated or replaced, and URNs of ``base`` (the
    graph before the change; needed to order deletes) that are deleted.
    """
    table = table if table is not None else load_table()
    fresh = created is None and not updated and not replaced and not deleted
    create_set = {r.urn for r in graph.resources} if fresh else set(created or ())
    unknown: set[str] = set()
    cost: dict[str, tuple[str, float]] = {}
    olds: dict[str, tuple[str, float]] = {}
    for r in graph.resources:
        row = row_for(r, table)
        if row is None:
            continue
        if row.type == DEFAULT_TYPE:
            unknown.add(r.type)
        if r.urn in replaced:
            before = row.delete if r.options.get("deleteBeforeReplace") else 0.0
            cost[r.urn] = ("replace", before + row.create)
            if not before:
                olds[r.urn] = ("delete", row.delete)
        elif r.urn in create_set:
            cost[r.urn] = ("create", row.create)
        elif r.urn in updated:
            cost[r.urn] = ("update", row.update)
    forward = _Timeline(graph, cost)
    forward.run()
    end_urn = max(forward.finish, key=lambda u: (forward.finish[u], u in cost), default=None)
    phase1 = forward.finish.get(end_urn, 0.0) if end_urn else 0.0
    chain = _steps(forward, forward.chain_to(end_urn)) if phase1 > 0 else []
    every = _steps(forward, cost)

    # Deletes: after every create/update, dependents first.
    del_graph = base if base is not None else graph
    del_cost = dict(olds)
    del_known = {r.urn: r for r in del_graph.resources}
    for urn in deleted:
        r = del_known.get(urn)
        if r is None:
            continue
        row = row_for(r, table)
        if row is not None:
            if row.type == DEFAULT_TYPE:
                unknown.add(r.type)
            del_cost[urn] = ("delete", row.delete)
    if del_cost:
        rev = _Timeline(_reverse(del_graph), del_cost)
        for urn in del_cost:
            if rev.by_urn.get(urn) is not None:
                rev.visit(urn)
        del_end = max(del_cost, key=lambda u: rev.finish.get(u, 0.0))
        phase2 = rev.finish.get(del_end, 0.0)
        if phase2 > 0:
            chain = chain + _steps(rev, rev.chain_to(del_end), offset=phase1)
            every = every + _steps(rev, [u for u in del_cost if u in rev.finish], offset=phase1)
    else:
        phase2 = 0.0
    slowest = max(every, key=lambda s: s.seconds, default=None)
    return DeployEstimate(mode="fresh" if fresh else "change", total=phase1 + phase2, chain=chain,
                          slowest=slowest, unknown_types=sorted(unknown))


def estimate_diff(head: Graph, base: Graph | None, changes: Iterable[Any]) -> DeployEstimate:
    """The estimate of a ``review.diff`` change list (objects with ``urn`` and ``kind``)."""
    created, updated, replaced, deleted = set(), set(), set(), set()
    for ch in changes:
        {"create": created, "update": updated, "replace": replaced, "delete": deleted}.get(
            ch.kind, updated).add(ch.urn)
    return estimate(head, created=created, updated=updated, replaced=replaced, deleted=deleted, base=base)
