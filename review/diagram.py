"""An architecture diagram of a stack by component, for the pull-request report (Mermaid ``flowchart``).

Not a box per resource: each resource type is classified into a tier (:data:`TIERS`): ``edge`` (CDN, firewall,
load balancer, API gateway), ``compute`` (services, functions, instances) or ``data`` (databases, caches,
buckets, queues). Everything else (network, IAM, keys, logs, alarms) supports those and is counted, not drawn.
Tiered resources are grouped into one node per (nearest component ancestor, tier, kind) - a component's load
balancer, its service, its database - or, without a component, per type. Edges come from the graph's wiring:
a direct dependency between two tiered resources, or a path of at most :data:`MAX_HOPS` "connector" resources
(security groups and their rules, target groups and listeners, IAM roles and policies, task definitions,
backend services and network endpoint groups, service accounts and IAM members...), drawn from the front tier
to the back (internet -> edge -> compute -> data). With a base graph, nodes the change adds are ``:::added``
(green), nodes it removes ``:::removed`` (red, dashed edges), nodes with a changed resource ``:::changed``.
The number of nodes is capped; the rest are aggregated into one ``+N more`` node per tier.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from .model import Graph, Resource
from .render import mermaid_label

EDGE, COMPUTE, DATA = "edge", "compute", "data"
TIER_ORDER = {EDGE: 0, COMPUTE: 1, DATA: 2}
TIER_TITLE = {EDGE: "Edge", COMPUTE: "Services", DATA: "Data"}
MAX_NODES = 24
MAX_HOPS = 4
HUB_LIMIT = 6
"""A connector wired to more tiered resources than this (a shared security group, an admin role) links nothing."""

# type pattern (regular expression on the type token, case-insensitive) -> (tier, kind shown in the node)
TIERS: list[tuple[str, str, str]] = [
    # edge
    (r"^aws:cloudfront/distribution:", EDGE, "CDN"),
    (r"^aws:wafv2?/webAcl:|^aws:waf(regional)?/webAcl:", EDGE, "WAF"),
    (r"^aws:(lb|alb|elb)/loadBalancer:|^aws:elb/loadBalancer:", EDGE, "load balancer"),
    (r"^aws:apigateway(v2)?/(restApi|api):", EDGE, "API gateway"),
    (r"^aws:globalaccelerator/accelerator:", EDGE, "accelerator"),
    (r"^gcp:compute/(global)?forwardingRule:", EDGE, "load balancer"),
    (r"^gcp:compute/(region)?urlMap:|^gcp:compute/target(http|https|ssl|tcp)proxy:", EDGE, "load balancer"),
    (r"^gcp:compute/securityPolicy:", EDGE, "Cloud Armor"),
    (r"^gcp:apigateway/gateway:", EDGE, "API gateway"),
    (r"^azure(-native)?:.*(frontdoor|applicationgateway|cdn).*:", EDGE, "edge"),
    # compute
    (r"^aws:ecs/service:", COMPUTE, "ECS service"),
    (r"^aws:lambda/function:", COMPUTE, "Lambda"),
    (r"^aws:ec2/instance:", COMPUTE, "EC2 instance"),
    (r"^aws:autoscaling/group:", COMPUTE, "auto scaling group"),
    (r"^aws:eks/(cluster|nodeGroup):", COMPUTE, "EKS"),
    (r"^aws:apprunner/service:", COMPUTE, "App Runner"),
    (r"^aws:elasticbeanstalk/environment:", COMPUTE, "Beanstalk"),
    (r"^aws:batch/jobDefinition:|^aws:sfn/stateMachine:", COMPUTE, "jobs"),
    (r"^gcp:cloudrun(v2)?/service:", COMPUTE, "Cloud Run service"),
    (r"^gcp:cloudrunv2/job:", COMPUTE, "Cloud Run job"),
    (r"^gcp:cloudfunctions(v2)?/function:", COMPUTE, "Cloud Function"),
    (r"^gcp:compute/(instance|instanceGroupManager|regionInstanceGroupManager):", COMPUTE, "VM"),
    (r"^gcp:container/(cluster|nodePool):", COMPUTE, "GKE"),
    (r"^gcp:appengine/.*version:", COMPUTE, "App Engine"),
    (r"^kubernetes:apps/v1:(deployment|statefulset|daemonset):", COMPUTE, "workload"),
    # data
    (r"^aws:rds/(instance|cluster):", DATA, "database"),
    (r"^aws:(dynamodb/table|docdb/cluster|neptune/cluster|redshift/cluster|opensearch/domain):", DATA, "database"),
    (r"^aws:elasticache/(replicationGroup|cluster|serverlessCache):|^aws:memorydb/cluster:", DATA, "cache"),
    (r"^aws:s3/bucket(v2)?:", DATA, "bucket"),
    (r"^aws:efs/fileSystem:", DATA, "file system"),
    (r"^aws:(sqs/queue|kinesis/stream|mq/broker|msk/cluster):", DATA, "queue"),
    (r"^aws:sns/topic:", DATA, "topic"),
    (r"^gcp:sql/databaseInstance:|^gcp:(alloydb/cluster|spanner/instance|firestore/database):", DATA, "database"),
    (r"^gcp:(bigquery/dataset|bigtable/instance):", DATA, "database"),
    (r"^gcp:(redis|memorystore)/instance:|^gcp:memcache/instance:", DATA, "cache"),
    (r"^gcp:storage/bucket:", DATA, "bucket"),
    (r"^gcp:pubsub/(topic|subscription):|^gcp:cloudtasks/queue:", DATA, "queue"),
]
_TIER_RE = [(re.compile(p, re.IGNORECASE), tier, kind) for p, tier, kind in TIERS]

# Support types a wiring path may pass through (regular expressions on the type token, case-insensitive).
CONNECTORS = re.compile(
    r"securityGroup|firewall|/targetGroup|/listener|/iam|/role|/policy:|/rolePolicy|instanceProfile"
    r"|/taskDefinition|/backendService|/backendBucket|networkEndpointGroup|serviceaccount/|IAMMember|IAMBinding"
    r"|iamMember|iamBinding|/permission:|eventSourceMapping|originAccess|webAclAssociation|/integration:"
    r"|/route:|/stage:|/subscription:|/topicSubscription|/eventTarget|/eventRule|vpcAccessConnector"
    r"|/secret:|/secretVersion|/user:|/userGroup|/database:",
    re.IGNORECASE)
_STACK_TYPE = "pulumi:pulumi:Stack"


def classify(type_: str) -> tuple[str, str] | None:
    """``(tier, kind)`` of a resource type, or None for a supporting resource."""
    for rx, tier, kind in _TIER_RE:
        if rx.search(type_):
            return tier, kind
    return None


@dataclass
class Node:
    """One box: the tiered resources of a component (or of a type) in one tier."""

    key: tuple[str, str, str]
    tier: str
    label: str
    urns: list[str] = field(default_factory=list)
    status: str = ""
    """``added``, ``removed``, ``changed`` or empty."""


@dataclass
class Diagram:
    """The nodes, edges and counts behind the Mermaid text."""

    nodes: list[Node]
    edges: list[tuple[int, int, bool]]
    """(from, to, dashed) indexes into :attr:`nodes`."""
    internet: list[int]
    """Nodes the internet reaches (the front of the edge tier)."""
    supporting: int
    aggregated: int = 0

    def to_mermaid(self) -> str:
        """The ``flowchart LR`` text; every label through :func:`review.render.mermaid_label`."""
        lines = ["flowchart LR"]
        if self.internet:
            lines.append('  internet(("Internet"))')
        for tier in (EDGE, COMPUTE, DATA):
            members = [i for i, n in enumerate(self.nodes) if n.tier == tier]
            if not members:
                continue
            lines.append(f'  subgraph tier_{tier}["{TIER_TITLE[tier]}"]')
            for i in members:
                n = self.nodes[i]
                shape = ('[("', '")]') if tier == DATA else ('["', '"]')
                cls = f":::{n.status}" if n.status else ""
                lines.append(f"    n{i}{shape[0]}{mermaid_label(n.label)}{shape[1]}{cls}")
            lines.append("  end")
        for i in self.internet:
            lines.append(f"  internet --> n{i}")
        for a, b, dashed in self.edges:
            lines.append(f"  n{a} {'-.->' if dashed else '-->'} n{b}")
        used = {n.status for n in self.nodes if n.status}
        styles = {"added": "fill:#dcfce7,stroke:#16a34a,color:#14532d",
                  "removed": "fill:#fee2e2,stroke:#dc2626,color:#7f1d1d,stroke-dasharray:4 3",
                  "changed": "fill:#fef3c7,stroke:#d97706,color:#78350f"}
        lines += [f"  classDef {k} {v}" for k, v in styles.items() if k in used]
        return "\n".join(lines) + "\n"

    def legend(self) -> str:
        """One line under the diagram: what is not drawn and what the colours mean."""
        parts = [f"{len(self.nodes)} components drawn"]
        if self.aggregated:
            parts.append(f"{self.aggregated} more aggregated")
        parts.append(f"{self.supporting} supporting resources (network, IAM, keys, logs, alarms...) not drawn")
        if any(n.status for n in self.nodes):
            parts.append("green: added, amber: changed, red: removed")
        return "; ".join(parts) + "."


def _short(name: str, limit: int = 48) -> str:
    """A name cut to ``limit`` characters (labels stay readable; the tables carry full names)."""
    return name if len(name) <= limit else name[:limit - 3] + "..."


def _component_of(r: Resource, known: dict[str, Resource]) -> Resource | None:
    cur = known.get(r.parent) if r.parent else None
    while cur is not None:
        if not cur.custom and cur.type != _STACK_TYPE:
            return cur
        cur = known.get(cur.parent) if cur.parent else None
    return None


def _deps(r: Resource) -> set[str]:
    out = {u for urns in r.property_dependencies.values() for u in urns}
    out.update(u for u in r.options.get("dependsOn") or () if isinstance(u, str))
    return out


def build(graph: Graph, *, base: Graph | None = None, created: Collection[str] = (),
          changed: Collection[str] = (), deleted: Collection[str] = (), max_nodes: int = MAX_NODES) -> Diagram:
    """The diagram of ``graph``; with ``base``, resources of ``deleted`` (URNs of ``base``) are drawn as removed,
    and nodes whose resources are all in ``created`` as added, any in ``changed`` as changed."""
    resources = list(graph.resources)
    if base is not None:
        here = {r.urn for r in resources}
        resources += [r for r in base.resources if r.urn not in here and r.urn in set(deleted)]
    known = {r.urn: r for r in resources}
    created, changed, deleted = set(created), set(changed), set(deleted)

    nodes: list[Node] = []
    node_of: dict[str, int] = {}
    by_key: dict[tuple[str, str, str], int] = {}
    supporting = 0
    for r in resources:
        if not r.custom or r.type.startswith("pulumi:providers:"):
            continue
        cls = classify(r.type)
        if cls is None:
            supporting += 1
            continue
        tier, kind = cls
        comp = _component_of(r, known)
        # A component's edge (load balancer, WAF, CDN) is one box; its services and data one box per kind.
        key = (comp.urn, tier, "" if tier == EDGE else kind) if comp else ("", tier, r.type)
        if key not in by_key:
            by_key[key] = len(nodes)
            nodes.append(Node(key, tier, ""))
        node_of[r.urn] = by_key[key]
        nodes[by_key[key]].urns.append(r.urn)
    for n in nodes:
        members = [known[u] for u in n.urns]
        first = members[0]
        comp = _component_of(first, known)
        kinds = list(dict.fromkeys((classify(m.type) or ("", ""))[1] for m in members))
        kind = " / ".join(kinds)
        count = f" x{len(n.urns)}" if len(n.urns) > 1 and len({m.type for m in members}) == 1 else ""
        n.label = f"{_short(comp.name)}: {kind}{count}" if comp else (
            f"{kind}: {_short(first.name)}" if len(n.urns) == 1 else f"{kind}{count or ' x' + str(len(n.urns))}")
        urns = set(n.urns)
        if urns <= deleted:
            n.status = "removed"
        elif urns <= created:
            n.status = "added"
        elif urns & (created | changed | deleted):
            n.status = "changed"

    # Wiring: undirected adjacency over dependencies, walked through connector resources only. A component's
    # dependencies count for the resources inside it, and a dependency on a component means its resources (remote
    # components such as awsx's take their inputs as a whole).
    kids: dict[str, list[str]] = defaultdict(list)
    for r in resources:
        if r.parent:
            kids[r.parent].append(r.urn)

    def inside(urn: str) -> set[str]:
        out, todo = set(), [urn]
        while todo and len(out) < 200:
            for k in kids.get(todo.pop(), ()):
                if known[k].custom:
                    out.add(k)
                todo.append(k)
        return out

    def wired(r: Resource) -> set[str]:
        deps = set(_deps(r))
        cur = known.get(r.parent) if r.parent else None
        while cur is not None and not cur.custom and cur.type != _STACK_TYPE:
            deps |= _deps(cur)
            cur = known.get(cur.parent) if cur.parent else None
        out = set()
        for d in deps:
            target = known.get(d)
            if target is None or d == r.urn:
                continue
            out |= inside(d) if not target.custom else {d}
        out.discard(r.urn)
        return out

    direct: dict[str, set[str]] = {r.urn: wired(r) for r in resources if r.custom}
    adj: dict[str, set[str]] = defaultdict(set)
    for urn, deps in direct.items():
        for d in deps:
            adj[urn].add(d)
            adj[d].add(urn)
    connector = {u for u, r in known.items() if u not in node_of and r.custom and CONNECTORS.search(r.type)}
    reach_count: dict[str, int] = {}
    for c in connector:
        reach_count[c] = sum(1 for u in adj[c] if u in node_of)
    hubs = {c for c, k in reach_count.items() if k > HUB_LIMIT}
    pairs: set[tuple[int, int]] = set()
    for urn, i in node_of.items():
        seen = {urn}
        frontier = [urn]
        for _hop in range(MAX_HOPS + 1):
            nxt = []
            for u in frontier:
                for v in adj[u]:
                    if v in seen:
                        continue
                    seen.add(v)
                    if v in node_of:
                        j = node_of[v]
                        if j != i:
                            pairs.add((i, j))
                    elif v in connector and v not in hubs:
                        nxt.append(v)
            frontier = nxt
    edges: set[tuple[int, int]] = set()
    for i, j in pairs:
        ti, tj = TIER_ORDER[nodes[i].tier], TIER_ORDER[nodes[j].tier]
        if ti < tj:
            edges.add((i, j))
        elif ti > tj:
            edges.add((j, i))
        elif nodes[i].tier == EDGE and any(d in nodes[j].urns for u in nodes[i].urns for d in direct.get(u, ())):
            edges.add((i, j))  # CDN -> load balancer: the one that references the other is in front
    fronted = {j for i, j in edges if nodes[i].tier == EDGE and nodes[j].tier == EDGE}
    internet = [i for i, n in enumerate(nodes) if n.tier == EDGE and i not in fronted]

    nodes, edges, internet, aggregated = _cap(nodes, edges, internet, max_nodes)
    dashed = [(a, b, nodes[a].status == "removed" or nodes[b].status == "removed") for a, b in sorted(edges)]
    return Diagram(nodes, dashed, internet, supporting, aggregated)


def _cap(nodes: list[Node], edges: set[tuple[int, int]], internet: list[int],
         max_nodes: int) -> tuple[list[Node], set[tuple[int, int]], list[int], int]:
    """At most ``max_nodes`` nodes: changed ones first, then by tier and size; the rest become ``+N more``."""
    if len(nodes) <= max_nodes:
        return nodes, edges, internet, 0
    order = sorted(range(len(nodes)), key=lambda i: (not nodes[i].status, TIER_ORDER[nodes[i].tier],
                                                     -len(nodes[i].urns), nodes[i].label))
    tiers_over = {nodes[i].tier for i in order[max(max_nodes - 3, 0):]}
    keep = order[:max(max_nodes - len(tiers_over), 0)]
    new: list[Node] = [nodes[i] for i in keep]
    remap = {old: k for k, old in enumerate(keep)}
    aggregated = 0
    for tier in (EDGE, COMPUTE, DATA):
        rest = [i for i in order if i not in remap and nodes[i].tier == tier]
        if not rest:
            continue
        aggregated += len(rest)
        agg = Node(("", tier, "+more"), tier, f"+{len(rest)} more {TIER_TITLE[tier].lower()} components",
                   [u for i in rest for u in nodes[i].urns])
        for i in rest:
            remap[i] = len(new)
        new.append(agg)
    new_edges = {(remap[a], remap[b]) for a, b in edges if remap[a] != remap[b]}
    new_internet = sorted({remap[i] for i in internet})
    return new, new_edges, new_internet, aggregated


def diagram_for(graph: Graph, base: Graph | None = None, changes: Iterable[object] = (), *,
                max_nodes: int = MAX_NODES) -> Diagram:
    """The diagram of a review (and of its diff: objects with ``urn`` and ``kind``)."""
    created, changed, deleted = set(), set(), set()
    for ch in changes:
        kind, urn = getattr(ch, "kind", ""), getattr(ch, "urn", "")
        {"create": created, "delete": deleted}.get(kind, changed).add(urn)
    return build(graph, base=base, created=created, changed=changed, deleted=deleted, max_nodes=max_nodes)
