"""Render a review: text (a preview-like tree), markdown (for pull requests), json (the contract), mermaid."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from .model import SECRET, UNKNOWN, CostReport, Graph, Resource, Violation, display_value

# The settings that matter, per type: shown beside each resource in the text tree.
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "availabilityZone", "mapPublicIpOnLaunch"),
    "aws:ec2/natGateway:NatGateway": ("connectivityType",),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("serviceName", "vpcEndpointType"),
    "aws:ec2/flowLog:FlowLog": ("trafficType", "logDestinationType"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("ipProtocol", "fromPort", "toPort", "cidrIpv4",
                                                                  "referencedSecurityGroupId"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("ipProtocol", "fromPort", "toPort", "cidrIpv4",
                                                                "referencedSecurityGroupId"),
    "aws:ecs/taskDefinition:TaskDefinition": ("cpu", "memory", "runtimePlatform.cpuArchitecture"),
    "aws:ecs/service:Service": ("desiredCount", "launchType", "networkConfiguration.assignPublicIp"),
    "aws:appautoscaling/target:Target": ("minCapacity", "maxCapacity"),
    "aws:lb/loadBalancer:LoadBalancer": ("loadBalancerType", "internal", "enableDeletionProtection"),
    "aws:lb/listener:Listener": ("port", "protocol", "sslPolicy"),
    "aws:lb/targetGroup:TargetGroup": ("port", "protocol", "targetType"),
    "aws:rds/instance:Instance": ("engine", "engineVersion", "instanceClass", "multiAz", "allocatedStorage",
                                  "backupRetentionPeriod", "deletionProtection", "storageEncrypted"),
    "aws:rds/cluster:Cluster": ("engine", "engineVersion", "backupRetentionPeriod", "deletionProtection",
                                "storageEncrypted"),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("engine", "nodeType", "numCacheClusters",
                                                          "automaticFailoverEnabled", "multiAzEnabled",
                                                          "transitEncryptionEnabled", "atRestEncryptionEnabled"),
    "aws:s3/bucket:Bucket": ("bucket",),
    "aws:cloudwatch/logGroup:LogGroup": ("retentionInDays",),
    "aws:kms/key:Key": ("enableKeyRotation", "deletionWindowInDays"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("metricName", "threshold", "comparisonOperator"),
    "aws:budgets/budget:Budget": ("limitAmount", "timeUnit"),
}


# -- escaping: every name, type, value and message comes from the program (or its stack file) ----------------

def safe(text: Any) -> str:
    """One line of plain text: characters that are not printable (newlines, ANSI escapes, bidi overrides) shown
    as ``\\n``, ``\\x1b``, ``\\u202e``."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def md_code(text: Any, *, table: bool = True) -> str:
    """A markdown code span holding ``text`` literally (no markup, HTML, mention or link inside it).

    The fence is longer than any run of backticks inside; in a table cell ``|`` is escaped, as GFM requires.
    """
    text = safe(text)
    if not text.strip():
        return "` `" if not text else "`" + text + "`"
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "
    if table:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


_MD_ESCAPE = {c: "\\" + c for c in "\\`*_{}[]<>()#+!|~&$"}
_MD_ESCAPE["@"] = "@\u200b"  # no @mention


def md_text(text: Any) -> str:
    """Plain text inside markdown: one line, markup characters backslash-escaped, @mentions broken."""
    return "".join(_MD_ESCAPE.get(ch, ch) for ch in safe(text))


def mermaid_label(text: Any) -> str:
    """Text for a mermaid label: anything but letters, digits and ``_ .:/-`` (quotes, HTML, ``#``) as a
    ``#NN;`` entity code."""
    return "".join(ch if (ch.isalnum() and ch.isascii()) or ch in " _.:/-" else f"#{ord(ch)};" for ch in safe(text))


@dataclass
class Report:
    """Everything the review found about one stack."""

    graph: Graph
    violations: list[Violation] = field(default_factory=list)
    cost: CostReport | None = None
    policies_run: list[str] = field(default_factory=list)
    """Names of the packs that ran."""
    program_output: Any = None
    """What the program printed (:class:`review.isolate.ProgramOutput`), shown apart from the report."""

    @property
    def exit_code(self) -> int:
        """1 when a mandatory, unwaived violation exists, else 0."""
        return 1 if any(v.blocking for v in self.violations) else 0

    def to_json(self) -> dict[str, Any]:
        """The JSON contract (docs/architecture.md)."""
        g = self.graph
        return {
            "project": g.project,
            "stack": g.stack,
            "resources": [r.to_json() for r in g.resources],
            "violations": [v.to_json() for v in self.violations],
            "cost": self.cost.to_json() if self.cost else {"currency": "USD", "monthly_total": 0.0,
                                                           "resources": [], "unpriced": []},
            "outputs": display_value(g.outputs),
            "summary": {
                "resources": len(g.resources),
                "by_type": g.counts(),
                "blocking_violations": sum(1 for v in self.violations if v.blocking),
                "policy_packs": self.policies_run,
            },
        }


def _fmt(value: Any) -> str:
    if value == UNKNOWN:
        return "(unknown)"
    if value == SECRET:
        return SECRET
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        text = json.dumps(display_value(value), separators=(",", ":"))
        return text if len(text) <= 60 else text[:57] + "..."
    text = str(value)
    return text if len(text) <= 100 else text[:97] + "..."


def key_settings(r: Resource, limit: int = 8) -> list[str]:
    """``key=value`` strings for the settings worth showing of a resource."""
    keys = KEY_SETTINGS.get(r.type)
    out = []
    if keys:
        for k in keys:
            v = r.get(k)
            if v is not None:
                out.append(f"{k.rsplit('.', 1)[-1]}={_fmt(v)}")
    else:
        for k, v in r.inputs.items():
            if k in ("tags", "tagsAll", "name", "policy", "assumeRolePolicy", "containerDefinitions",
                     "dashboardBody") or \
                    isinstance(v, (dict, list)) or v == UNKNOWN:
                continue
            out.append(f"{k}={_fmt(v)}")
            if len(out) >= 3:
                break
    if r.options.get("protect"):
        out.append("protect")
    if r.options.get("retainOnDelete"):
        out.append("retainOnDelete")
    return out[:limit + 2]


def render_text(report: Report, *, width: int = 1000, color: bool = False) -> str:
    """A tree like ``pulumi preview``, then policy findings and the cost estimate."""
    g = report.graph
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, color_system="standard" if color else None,
                      highlight=False, soft_wrap=True)
    root = Tree(f"[bold]{escape(safe(g.project))}[/bold] / [bold]{escape(safe(g.stack))}[/bold]  "
                f"({len(g.resources)} resources, preview)")
    nodes: dict[str | None, Tree] = {None: root}
    by_parent: dict[str | None, list[Resource]] = defaultdict(list)
    known = {r.urn for r in g.resources}
    for r in g.resources:
        by_parent[r.parent if r.parent in known else None].append(r)

    def add(parent_urn: str | None, tree: Tree) -> None:
        for r in by_parent.get(parent_urn, []):
            settings = key_settings(r)
            label = f"+ {escape(safe(r.type))}  [bold]{escape(safe(r.name))}[/bold]"
            if settings:
                label += "  [dim]" + escape(safe(" ".join(settings))) + "[/dim]"
            node = tree.add(label)
            nodes[r.urn] = node
            add(r.urn, node)

    add(None, root)
    console.print(root, crop=False)
    if g.outputs:
        console.print("\n[bold]Outputs[/bold]")
        for k, v in sorted(g.outputs.items()):
            console.print(escape(safe(f"  {k}: {_fmt(v)}")))
    console.print(f"\n[bold]Resources[/bold]: {len(g.resources)} to create")
    if report.policies_run or report.violations:
        console.print("\n" + _violations_text(report), markup=False)
    if report.cost is not None:
        console.print("\n" + cost_text(report.cost), markup=False)
    return buf.getvalue()


def _violations_text(report: Report) -> str:
    lines = [f"Policy packs: {', '.join(report.policies_run) or 'none'}"]
    if not report.violations:
        lines.append("  No policy violations.")
        return "\n".join(lines)
    grouped: dict[str, list[Violation]] = defaultdict(list)
    for v in report.violations:
        grouped[safe(f"{v.resource_type or 'stack'}  {v.resource_name or ''}".strip())].append(v)
    blocking = sum(1 for v in report.violations if v.blocking)
    waived = sum(1 for v in report.violations if v.waived)
    lines.append(f"  {len(report.violations)} findings: {blocking} blocking (mandatory), {waived} waived, "
                 f"{len(report.violations) - blocking - waived} advisory")
    for key, items in grouped.items():
        lines.append(f"\n  {key}")
        for v in items:
            tag = "WAIVED" if v.waived else v.enforcement.upper()
            lines.append(f"    [{tag}] {safe(v.pack)}/{safe(v.policy)} ({v.severity}): {safe(v.message)}")
            if v.waived and v.waiver_reason:
                lines.append(f"      waiver: {safe(v.waiver_reason)}")
            elif v.remediation:
                lines.append(f"      fix: {safe(v.remediation)}")
    return "\n".join(lines)


def cost_text(cost: CostReport) -> str:
    """The cost section: per resource and total; usage-based lines marked with *."""
    lines = [f"Monthly cost estimate ({cost.currency})"]
    rows = sorted(cost.resources, key=lambda r: -r.monthly)
    for r in rows:
        if not r.components and not r.not_found:
            continue
        lines.append(f"  {r.monthly:>10.2f}  {safe(r.type)}  {safe(r.name)}")
        for c in r.components:
            mark = "*" if c.usage_based else " "
            lines.append(f"  {'':>10}   {mark} {safe(c.name)}: {c.quantity:g} {safe(c.unit)} x {c.unit_price:g} = "
                         f"{c.monthly:.2f}")
        for missing in r.not_found:
            lines.append(f"  {'':>10}     {safe(missing)}: price not found")
    if cost.partial:
        lines.append(f"  {cost.monthly_total:>10.2f}  TOTAL per month: at least {cost.monthly_total:,.2f} "
                     f"{cost.currency} ({safe(cost.partial_text())})  (* = usage-based, from the usage file)")
    else:
        lines.append(f"  {cost.monthly_total:>10.2f}  TOTAL per month  (* = usage-based, from the usage file)")
    if cost.unpriced:
        lines.append(f"  Unpriced ({len(cost.unpriced)}): " + ", ".join(
            safe(f"{u.get('type')} {u.get('name')}") for u in cost.unpriced))
    return "\n".join(lines)


def render_json(report: Report) -> str:
    """The JSON contract (docs/architecture.md), pretty-printed."""
    return json.dumps(report.to_json(), indent=2, sort_keys=False, default=str)


def render_markdown(report: Report) -> str:
    """The pull-request comment of one stack without a base (:mod:`review.pr_report`)."""
    from .pr_report import StackReview, render

    return render([StackReview(report.graph.stack, report)], project=report.graph.project)


def render_mermaid(report: Report) -> str:
    """A flowchart: each component is a box of its resources (grouped by type), edges for dependencies."""
    g = report.graph
    known = {r.urn: r for r in g.resources}
    ident: dict[str, str] = {}

    def nid(urn: str) -> str:
        if urn not in ident:
            ident[urn] = f"n{len(ident)}"
        return ident[urn]

    lines = ["flowchart LR"]
    components = [r for r in g.resources if not r.custom]
    top_custom = [r for r in g.resources if r.custom and (r.parent is None or r.parent not in known)
                  and not r.type.startswith("pulumi:providers:")]

    label = mermaid_label

    for comp in components:
        lines.append(f'  subgraph {nid(comp.urn)}["{label(comp.type)} {label(comp.name)}"]')
        kids = [r for r in g.children(comp) if r.custom]
        counts: dict[str, int] = defaultdict(int)
        for k in kids:
            counts[k.type.rsplit(":", 1)[-1]] += 1
        for i, (t, n) in enumerate(sorted(counts.items())):
            lines.append(f'    {nid(comp.urn)}_{i}["{label(t)}{" x" + str(n) if n > 1 else ""}"]')
        lines.append("  end")
    for r in top_custom:
        lines.append(f'  {nid(r.urn)}["{label(r.type.rsplit(":", 1)[-1])} {label(r.name)}"]')
    # Component-to-component edges from property dependencies of their descendants.
    def owner(urn: str) -> str | None:
        cur = known.get(urn)
        while cur is not None:
            if not cur.custom:
                return cur.urn
            cur = known.get(cur.parent) if cur.parent else None
        return urn if urn in known else None

    edges = set()
    for r in g.resources:
        src = owner(r.urn)
        for deps in r.property_dependencies.values():
            for d in deps:
                dst = owner(d)
                if src and dst and src != dst and src in ident and dst in ident:
                    edges.add((dst, src))
    for a, b in sorted(edges):
        lines.append(f"  {ident[a]} --> {ident[b]}")
    return "\n".join(lines) + "\n"
