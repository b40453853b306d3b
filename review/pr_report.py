"""The pull-request report (``--format markdown``): what a reviewer reads first comes first, and it always fits.

Layout, per stack (docs/architecture.md, "The pull-request report"):

1. a summary table, one line per stack: verdict, resources to create / update / replace / delete, new mandatory
   findings, monthly cost and its delta;
2. the changes (changed properties only, before -> after, secrets already redacted by the diff), then the findings
   the change introduces and fixes, with remediation; pre-existing findings and waivers collapsed;
3. an architecture diagram by component (:mod:`review.diagram`), what the change adds or removes marked;
4. collapsed details: cost breakdown, resources by type, estimated deploy time, and any section of
   :data:`DETAIL_PROVIDERS` (e.g. recovery objectives).

GitHub refuses a comment over 65,536 characters: :func:`render` keeps the whole document under :data:`LIMIT` by
applying the steps of :data:`TRIM_STEPS` in order (least important first) and says in a final line what it left
out. Every name, value and message comes from the program: it goes through :func:`review.render.md_code` /
:func:`review.render.md_text` (tables, markup) or :func:`review.render.mermaid_label` (the diagram).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .diagram import MAX_NODES, classify, diagram_for
from .render import _fmt, md_code, md_text

if TYPE_CHECKING:
    from .deploy_time import DeployEstimate
    from .diff import Diff
    from .model import Violation
    from .render import Report

GITHUB_LIMIT = 65_536
LIMIT = 65_000
"""The report's budget in characters: GitHub's comment limit less a safety margin (the sticky-comment header)."""
MAX_FIELDS = 10
"""Changed properties shown per resource before ``... N more``."""


@dataclass
class StackReview:
    """One stack's review, as the report renders it; ``error`` (one line) when the stack's input was bad."""

    stack: str
    report: Report | None = None
    diff: Diff | None = None
    base: Report | None = None
    deploy: dict[str, DeployEstimate] = field(default_factory=dict)
    error: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)
    """Extra collapsed sections ``(title, markdown)``, shown after the deploy time."""
    diagrams: dict[int, Any] = field(default_factory=dict, repr=False)
    """Diagrams drawn so far, by node cap."""
    rendered: dict[tuple[Any, ...], list[str]] = field(default_factory=dict, repr=False)
    """Sections rendered so far, by what shapes them: the trimming loop renders a stack several times."""

    def memo(self, key: tuple[Any, ...], make: Callable[[], list[str]]) -> list[str]:
        """``make()``, once per ``key``."""
        if key not in self.rendered:
            self.rendered[key] = make()
        return self.rendered[key]

    @property
    def exit_code(self) -> int:
        """2 bad input, 1 blocked, 0 pass."""
        if self.error is not None or self.report is None:
            return 2
        return self.report.exit_code


def _recovery(sr: StackReview) -> tuple[str, str] | None:
    """Recovery objectives: achieved RPO/RTO against the stated ones (:mod:`review.recovery`)."""
    from .recovery import assess

    if sr.report is None:
        return None
    rec = assess(sr.report.graph, sr.report.cost)
    if not rec.assessment.stores:
        return None
    return (f"Recovery: {rec.headline()}", rec.to_markdown())


DETAIL_PROVIDERS: list[Callable[[StackReview], tuple[str, str] | None]] = [_recovery]
"""Optional collapsed sections: each callable returns ``(title, markdown)`` or None (the first: recovery
objectives, :func:`_recovery`). Adding one is one call: ``DETAIL_PROVIDERS.append(provider)``."""


def add_details(sr: StackReview) -> StackReview:
    """Fill ``sr.details`` from :data:`DETAIL_PROVIDERS` (a provider that fails adds nothing)."""
    for provider in DETAIL_PROVIDERS:
        try:
            section = provider(sr)
        except Exception:  # an optional section never costs the review its verdict
            section = None
        if section:
            sr.details.append(section)
    return sr


@dataclass(frozen=True)
class Trim:
    """What a rendering leaves out (the full report: all defaults)."""

    by_type: bool = True
    cost_breakdown: bool = True
    details: bool = True
    preexisting: bool = True
    diagram_nodes: int = MAX_NODES
    """0: no diagram."""
    max_changes: int | None = None
    """Rows of each stack's change table (None: all)."""
    max_findings: int | None = None
    trimmed: tuple[str, ...] = ()


TRIM_STEPS: list[tuple[str, dict[str, Any]]] = [
    ("resources-by-type tables", {"by_type": False}),
    ("cost breakdowns", {"cost_breakdown": False}),
    ("deploy-time and other detail sections", {"details": False}),
    ("pre-existing findings and waivers (counted only)", {"preexisting": False}),
    ("diagram nodes (12 per stack)", {"diagram_nodes": 12}),
    ("diagram nodes (6 per stack)", {"diagram_nodes": 6}),
    ("change lists (40 rows per stack, with a count)", {"max_changes": 40}),
    ("finding lists (40 per stack, with a count)", {"max_findings": 40}),
    ("change lists (10 rows per stack, with a count)", {"max_changes": 10}),
    ("finding lists (10 per stack, with a count)", {"max_findings": 10}),
    ("diagrams", {"diagram_nodes": 0}),
    ("change and finding lists (counted only)", {"max_changes": 0, "max_findings": 0}),
]
"""Applied in order, least important first, until the report fits :data:`LIMIT`."""


# -- figures --------------------------------------------------------------------------------------------------

def _money(value: float) -> str:
    return f"${value:,.2f}"


def cost_cell(sr: StackReview) -> str:
    """Monthly cost (``at least`` when a price is missing)."""
    cost = sr.report.cost if sr.report else None
    if cost is None:
        return "not estimated"
    return ("at least " if cost.partial else "") + _money(cost.monthly_total)


def delta_cell(sr: StackReview) -> str:
    """The monthly delta against the base; a bound (``at least`` / ``at most``) when a side's total is partial; a
    dash without a base."""
    d = sr.diff
    if d is None or d.cost_before is None or d.cost_after is None:
        return "—"
    delta = round(d.cost_after - d.cost_before, 2)
    sign = "+" if delta >= 0 else "−"
    text = f"{sign}{_money(abs(delta))}"
    if not delta and not d.changes:
        return _money(0)
    if d.partial_before and d.partial_after:  # two lower bounds: their difference bounds nothing
        return f"{text} (prices missing on both sides)"
    if d.partial_after:  # the head's total is a lower bound, so is the delta
        return f"at least {text}"
    if d.partial_before:
        return f"at most {text}"
    return text


def counts(sr: StackReview) -> dict[str, int]:
    """Resources to create / update / replace / delete (without a base, every resource is a create)."""
    out = dict.fromkeys(("create", "update", "replace", "delete"), 0)
    if sr.diff is None:
        out["create"] = len(sr.report.graph.resources) if sr.report else 0
        return out
    for c in sr.diff.changes:
        out[c.kind] = out.get(c.kind, 0) + 1
    return out


def _vkey(v: Violation) -> str:
    return f"{v.pack}/{v.policy} {v.resource_name or 'stack'}"


def split_findings(sr: StackReview) -> tuple[list[Violation], list[Violation], list[Violation]]:
    """``(introduced, fixed, preexisting)``: without a base, every unwaived finding counts as introduced and only
    waived ones are pre-existing."""
    if sr.report is None:
        return [], [], []
    head = sr.report.violations
    if sr.base is None:
        return [v for v in head if not v.waived], [], [v for v in head if v.waived]
    base_keys = {_vkey(v) for v in sr.base.violations if not v.waived}
    head_keys = {_vkey(v) for v in head if not v.waived}
    introduced = [v for v in head if not v.waived and _vkey(v) not in base_keys]
    fixed = [v for v in sr.base.violations if not v.waived and _vkey(v) not in head_keys]
    pre = [v for v in head if v.waived or _vkey(v) in base_keys]
    return introduced, fixed, pre


def _rank(v: Violation) -> tuple[int, int]:
    sev = {"critical": 0, "high": 1, "medium": 2, "low": 3}.get(v.severity, 4)
    return (0 if v.blocking else 1 if v.enforcement == "mandatory" else 2, sev)


def verdict(sr: StackReview) -> str:
    """``✅ pass``, ``❌ blocked`` or ``⚠️ bad input``."""
    return {0: "✅ pass", 1: "❌ blocked", 2: "⚠️ bad input"}[sr.exit_code]


# -- sections -------------------------------------------------------------------------------------------------

def summary_table(reviews: Sequence[StackReview]) -> list[str]:
    """One line per stack, then a footnote for stacks without a base and a line per bad input."""
    out = ["| Stack | Verdict | Create | Update | Replace | Delete | New mandatory | Monthly cost | Delta |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    no_base = False
    for sr in reviews:
        if sr.report is None:
            out.append(f"| {md_code(sr.stack)} | {verdict(sr)} | | | | | | | |")
            continue
        n = counts(sr)
        star = "*" if sr.diff is None else ""
        no_base |= sr.diff is None
        introduced, _, _ = split_findings(sr)
        new_mandatory = sum(1 for v in introduced if v.blocking)
        out.append(f"| {md_code(sr.stack)} | {verdict(sr)} | {n['create']}{star} | {n['update']} | "
                   f"{n['replace']} | {n['delete']} | {new_mandatory} | {cost_cell(sr)} | {delta_cell(sr)} |")
    out.append("")
    if no_base:
        out += ["\\* No `--base`: every resource counts as a create and every finding as new.", ""]
    for sr in reviews:
        if sr.error is not None:
            out += [f"- ⚠️ {md_code(sr.stack, table=False)}: {md_text(sr.error)}"]
    if any(sr.error is not None for sr in reviews):
        out.append("")
    return out


def _value(value: Any) -> str:
    if value is None:
        return "_(unset)_"
    return md_code(_fmt(value))


_ORDER = {"delete": 0, "replace": 1, "update": 2, "create": 3}
_SIGN = {"create": "➕ create", "update": "✏️ update", "replace": "♻️ replace", "delete": "➖ delete"}


def _change_rank(c: Any) -> tuple[int, int]:
    """Deletes and replaces first; within a kind, data, then services, then edge, then supporting resources
    (the sort is stable: the program's order after that)."""
    tier = classify(c.type)
    return _ORDER.get(c.kind, 9), {"data": 0, "compute": 1, "edge": 2}.get(tier[0], 3) if tier else 3


def changes_section(sr: StackReview, h: str, trim: Trim) -> list[str]:
    """Changed properties only, before -> after (the diff redacts secrets: ``[secret]``, ``[secret, changed]``)."""
    d = sr.diff
    if d is None:
        return []
    out = [f"{h} Changes against {md_code(d.base_ref, table=False)}", ""]
    if not d.changes:
        return [*out, "No resource changes.", ""]
    rows: list[str] = []
    limit = trim.max_changes
    total = 0
    skipping = False
    for c in sorted(d.changes, key=_change_rank):
        n = 1 if not c.fields else min(len(c.fields), MAX_FIELDS) + (len(c.fields) > MAX_FIELDS)
        total += n
        if skipping or (limit is not None and len(rows) + n > limit):  # counted, not rendered
            skipping = True
            continue
        res = f"{md_code(c.name)} {md_code(c.type)}"
        if not c.fields:
            rows.append(f"| {_SIGN.get(c.kind, c.kind)} | {res} | | |")
            continue
        for k, (path, before, after) in enumerate(c.fields[:MAX_FIELDS]):
            rows.append(f"| {_SIGN.get(c.kind, c.kind) if k == 0 else ''} | {res if k == 0 else ''} | "
                        f"{md_code(path)} | {_value(before)} → {_value(after)} |")
        if len(c.fields) > MAX_FIELDS:
            rows.append(f"| | | … {len(c.fields) - MAX_FIELDS} more properties | |")
    if rows and total > len(rows):
        rows.append(f"| | … {total - len(rows)} more rows ({len(d.changes)} resources in all) | | |")
    if rows:
        out += ["| Change | Resource | Property | Before → after |", "|---|---|---|---|", *rows, ""]
    else:
        out += [f"{len(d.changes)} resources change (list trimmed).", ""]
    return out


def _finding_rows(items: Sequence[Violation]) -> list[str]:
    rows = ["| Enforcement | Policy | Resource | Message | Remediation |", "|---|---|---|---|---|"]
    for v in items:
        tag = "waived" if v.waived else ("**mandatory**" if v.enforcement == "mandatory" else v.enforcement)
        msg = md_text(v.message)
        fix = f"_waiver: {md_text(v.waiver_reason)}_" if v.waived and v.waiver_reason else md_text(v.remediation)
        rows.append(f"| {tag} | {md_code(f'{v.pack}/{v.policy}')} | {md_code(v.resource_name or 'stack')} | "
                    f"{msg} | {fix} |")
    return rows


def findings_section(sr: StackReview, h: str, trim: Trim) -> list[str]:
    """New findings (with remediation), fixed findings, then the pre-existing ones collapsed."""
    if sr.report is None:
        return []
    introduced, fixed, pre = split_findings(sr)
    introduced.sort(key=_rank)
    out: list[str] = []
    title = "Findings this change introduces" if sr.base is not None else "Findings"
    if not sr.report.policies_run and not sr.report.violations:
        return [f"{h} {title}", "", "Policies not run.", ""]
    out += [f"{h} {title}", ""]
    if not introduced:
        out += ["None.", ""]
    else:
        shown = introduced if trim.max_findings is None else introduced[:trim.max_findings]
        if shown:
            out += [*_finding_rows(shown), ""]
        if len(shown) < len(introduced):
            out += [f"… {len(introduced) - len(shown)} more findings not shown "
                    f"({sum(1 for v in introduced if v.blocking)} blocking in all).", ""]
    if fixed:
        out += [f"Fixed by this change ({len(fixed)}): " + ", ".join(
            md_code(_vkey(v), table=False) for v in fixed[:trim.max_findings if trim.max_findings else None])
            + (" …" if trim.max_findings is not None and len(fixed) > trim.max_findings else ""), ""]
    if pre:
        waived = sum(1 for v in pre if v.waived)
        blocking = sum(1 for v in pre if v.blocking)
        label = f"Pre-existing findings and waivers ({len(pre)}: {blocking} blocking, {waived} waived)"
        if trim.preexisting:
            out += [f"<details><summary>{label}</summary>", "", *_finding_rows(sorted(pre, key=_rank)), "",
                    "</details>", ""]
        else:
            out += [f"{label}: not shown (trimmed).", ""]
    return out


def diagram_section(sr: StackReview, h: str, trim: Trim) -> list[str]:
    """The architecture by component, in a ``mermaid`` block (labels escaped by :mod:`review.diagram`)."""
    if sr.report is None or trim.diagram_nodes <= 0:
        return []
    key = trim.diagram_nodes
    dg = sr.diagrams.get(key)
    if dg is None:  # the trimming loop renders a stack several times: draw each size once
        dg = sr.diagrams[key] = diagram_for(sr.report.graph, sr.base.graph if sr.base else None,
                                            sr.diff.changes if sr.diff else (), max_nodes=key)
    if not dg.nodes:
        return [f"{h} Architecture", "", f"No load balancer, service or data resource to draw "
                f"({dg.supporting} supporting resources).", ""]
    body = ["```mermaid", dg.to_mermaid().rstrip("\n"), "```", "", md_text(dg.legend())]
    if sr.diff is not None and not sr.diff.changes:  # nothing changes in this stack: the picture is collapsed
        return _collapsed("Architecture (unchanged)", body)
    return [f"{h} Architecture", "", *body, ""]


def _collapsed(title: str, body: Sequence[str]) -> list[str]:
    return [f"<details><summary>{title}</summary>", "", *body, "", "</details>", ""]


def details_section(sr: StackReview, trim: Trim) -> list[str]:
    """Cost breakdown, resources by type, deploy time, and the optional sections, each collapsed."""
    if sr.report is None:
        return []
    out: list[str] = []
    cost = sr.report.cost
    if cost is not None and trim.cost_breakdown:
        body = ["| Resource | Type | Monthly (USD) |", "|---|---|---:|"]
        for r in sorted(cost.resources, key=lambda r: -r.monthly):
            if r.monthly > 0 or r.not_found:
                note = " (price not found: " + ", ".join(md_text(m) for m in r.not_found) + ")" if r.not_found else ""
                body.append(f"| {md_code(r.name)}{note} | {md_code(r.type)} | {r.monthly:,.2f} |")
        if cost.partial:
            body.append(f"| **Total: at least** ({md_text(cost.partial_text())}) | | **{cost.monthly_total:,.2f}** |")
        else:
            body.append(f"| **Total** | | **{cost.monthly_total:,.2f}** |")
        if cost.unpriced:
            body += ["", "Unpriced: " + ", ".join(md_code(u.get("type"), table=False) for u in cost.unpriced)]
        out += _collapsed(f"Monthly cost breakdown ({cost_cell(sr)})", body)
    if trim.by_type:
        g = sr.report.graph
        body = ["| Type | Count |", "|---|---:|", *(f"| {md_code(t)} | {n} |" for t, n in g.counts().items())]
        out += _collapsed(f"Resources by type ({len(g.resources)})", body)
    if trim.details:
        if sr.deploy:
            body = [e.to_markdown().rstrip("\n") + "\n" for e in sr.deploy.values()]
            out += _collapsed("Estimated deploy time", body)
        for title, markdown in sr.details:
            out += _collapsed(md_text(title), [markdown.rstrip("\n")])
    return out


def stack_section(sr: StackReview, h: str, trim: Trim) -> list[str]:
    """Changes, findings, diagram, details of one stack (``h``: the heading marks of its subsections)."""
    if sr.report is None:
        return [f"⚠️ Not reviewed: {md_text(sr.error or 'no report')}", ""]
    return [*sr.memo(("changes", h, trim.max_changes), lambda: changes_section(sr, h, trim)),
            *sr.memo(("findings", h, trim.max_findings, trim.preexisting), lambda: findings_section(sr, h, trim)),
            *sr.memo(("diagram", h, trim.diagram_nodes), lambda: diagram_section(sr, h, trim)),
            *sr.memo(("details", trim.cost_breakdown, trim.by_type, trim.details), lambda: details_section(sr, trim))]


def _document(reviews: Sequence[StackReview], trim: Trim, *, project: str, all_stacks: bool,
              summary: list[str]) -> str:
    if all_stacks:
        out = [f"## Pulumi review: {md_code(project, table=False)}, {len(reviews)} stacks", "", *summary]
        for sr in reviews:
            out += ["---", "", f"### {md_code(sr.stack, table=False)}: {verdict(sr)}", "",
                    *stack_section(sr, "####", trim)]
    else:
        sr = reviews[0]
        out = [f"## Pulumi review: {md_code(project, table=False)} / {md_code(sr.stack, table=False)}", "",
               *summary, *stack_section(sr, "###", trim)]
    if trim.trimmed:
        out += ["---", "", "_Trimmed to fit GitHub's comment limit: " + "; ".join(trim.trimmed) +
                ". The full review: `python -m review` locally, or `--format json`._"]
    return "\n".join(out).rstrip("\n") + "\n"


def render(reviews: Sequence[StackReview], *, project: str, all_stacks: bool = False, limit: int = LIMIT) -> str:
    """The markdown report of one stack (or of every stack with ``all_stacks``), at most ``limit`` characters."""
    trim = Trim()
    summary = summary_table(reviews)  # never trimmed
    text = _document(reviews, trim, project=project, all_stacks=all_stacks, summary=summary)
    for label, change in TRIM_STEPS:
        if len(text) <= limit:
            return text
        trim = replace(trim, **change, trimmed=(*trim.trimmed, label))
        text = _document(reviews, trim, project=project, all_stacks=all_stacks, summary=summary)
    if len(text) <= limit:
        return text
    note = "\n---\n\n_Trimmed to fit GitHub's comment limit: " + "; ".join(trim.trimmed) + \
        "; and everything after this point._\n"
    cut = text.rfind("\n", 0, limit - len(note))
    return text[:max(cut, 0)] + "\n" + note
