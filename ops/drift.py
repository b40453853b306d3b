"""``python -m ops drift STACK``: what the stack declares (offline capture) against what the account holds.

The live side is the Resource Groups Tagging API (``tag:GetResources``, paginated) filtered on the stack's
``environment`` and ``managed-by=pulumi`` tags. Resources are compared per kind (the ARN's service and resource type:
``ec2:security-group``, ``logs:log-group``, ...), one live resource for one declared resource, never by Name alone:

1. by physical name, where the declared graph knows it (a bucket's ``bucket``, a topic's or log group's ``name``...)
   and the live ARN carries it;
2. then by the ``Name`` tag every component sets, one to one (a copy with the same tags and Name is left over);
3. then a live resource without a ``Name`` tag stands for a declared resource still unmatched (its tag was lost:
   reported as a missing tag).

Findings:

- **orphan**: a live resource left over (more live than declared of its kind, or a Name the stack does not
  declare): left behind by a removed resource, or created by hand with copied tags; listed by ARN;
- **not live**: a declared resource left over (fewer live than declared of its kind): not deployed yet, or deleted
  outside Pulumi;
- **missing tag**: live and tagged for this stack, but without a tag every declared resource carries.

Declared types the tagging API does not list (IAM roles, budgets, ...) are reported as not audited, never as drift.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine_values import is_unknown

TYPE_KIND: dict[str, str] = {
    "aws:acm/certificate:Certificate": "acm:certificate",
    "aws:appautoscaling/target:Target": "application-autoscaling:scalable-target",
    "aws:cloudwatch/logGroup:LogGroup": "logs:log-group",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "cloudwatch:alarm",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "ec2:security-group",
    "aws:ec2/eip:Eip": "ec2:elastic-ip",
    "aws:ec2/flowLog:FlowLog": "ec2:vpc-flow-log",
    "aws:ec2/internetGateway:InternetGateway": "ec2:internet-gateway",
    "aws:ec2/natGateway:NatGateway": "ec2:natgateway",
    "aws:ec2/routeTable:RouteTable": "ec2:route-table",
    "aws:ec2/securityGroup:SecurityGroup": "ec2:security-group",
    "aws:ec2/subnet:Subnet": "ec2:subnet",
    "aws:ec2/vpc:Vpc": "ec2:vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "ec2:vpc-endpoint",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "ec2:security-group-rule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "ec2:security-group-rule",
    "aws:ecr/repository:Repository": "ecr:repository",
    "aws:ecs/cluster:Cluster": "ecs:cluster",
    "aws:ecs/service:Service": "ecs:service",
    "aws:ecs/taskDefinition:TaskDefinition": "ecs:task-definition",
    "aws:elasticache/replicationGroup:ReplicationGroup": "elasticache:replicationgroup",
    "aws:elasticache/serverlessCache:ServerlessCache": "elasticache:serverlesscache",
    "aws:elasticache/subnetGroup:SubnetGroup": "elasticache:subnetgroup",
    "aws:elasticache/user:User": "elasticache:user",
    "aws:elasticache/userGroup:UserGroup": "elasticache:usergroup",
    "aws:kms/key:Key": "kms:key",
    "aws:lb/listener:Listener": "elasticloadbalancing:listener",
    "aws:lb/listenerRule:ListenerRule": "elasticloadbalancing:listener-rule",
    "aws:lb/loadBalancer:LoadBalancer": "elasticloadbalancing:loadbalancer",
    "aws:lb/targetGroup:TargetGroup": "elasticloadbalancing:targetgroup",
    "aws:rds/cluster:Cluster": "rds:cluster",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": "rds:cluster-pg",
    "aws:rds/instance:Instance": "rds:db",
    "aws:rds/parameterGroup:ParameterGroup": "rds:pg",
    "aws:rds/subnetGroup:SubnetGroup": "rds:subgrp",
    "aws:s3/bucket:Bucket": "s3:bucket",
    "aws:s3/bucketV2:BucketV2": "s3:bucket",
    "aws:secretsmanager/secret:Secret": "secretsmanager:secret",
    "aws:sns/topic:Topic": "sns:topic",
    "aws:wafv2/webAcl:WebAcl": "wafv2:webacl",
    # VPC Lattice (matched by Name tag: ARNs carry generated ids). Listeners are left out: their ARNs
    # (service/<svc>/listener/<id>) share the service's kind.
    "aws:vpclattice/service:Service": "vpc-lattice:service",
    "aws:vpclattice/serviceNetwork:ServiceNetwork": "vpc-lattice:servicenetwork",
    "aws:vpclattice/targetGroup:TargetGroup": "vpc-lattice:targetgroup",
    "aws:vpclattice/serviceNetworkServiceAssociation:ServiceNetworkServiceAssociation":
        "vpc-lattice:servicenetworkserviceassociation",
    "aws:vpclattice/serviceNetworkVpcAssociation:ServiceNetworkVpcAssociation":
        "vpc-lattice:servicenetworkvpcassociation",
}
"""Pulumi type -> the kind of its ARN as the tagging API returns it. Types not here are not audited."""

NAME_TAG = "Name"

PHYSICAL_NAME_INPUT: dict[str, str] = {
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:ecr/repository:Repository": "name",
    "aws:ecs/cluster:Cluster": "name",
    "aws:ecs/service:Service": "name",
    "aws:ecs/taskDefinition:TaskDefinition": "family",
    "aws:elasticache/replicationGroup:ReplicationGroup": "replicationGroupId",
    "aws:elasticache/serverlessCache:ServerlessCache": "name",
    "aws:lb/loadBalancer:LoadBalancer": "name",
    "aws:lb/targetGroup:TargetGroup": "name",
    "aws:rds/instance:Instance": "identifier",
    "aws:rds/cluster:Cluster": "clusterIdentifier",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:secretsmanager/secret:Secret": "name",
    "aws:sns/topic:Topic": "name",
}
"""Pulumi type -> the input holding the physical name (when the program sets it; else auto-named)."""


def arn_kind(arn: str) -> str:
    """``service:resource-type`` of an ARN (``arn:aws:ec2:r:a:vpc/vpc-1`` -> ``ec2:vpc``)."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return f"unknown:{arn}"
    service, resource = parts[2], parts[5]
    if service == "s3":
        return "s3:bucket" if "/" not in resource else "s3:object"
    if service == "sns":
        return "sns:topic"
    segments = resource.replace(":", "/").split("/")
    if service == "wafv2" and len(segments) > 1:  # regional/webacl/name/id
        return f"wafv2:{segments[1]}"
    return f"{service}:{segments[0]}"


def arn_physical_name(arn: str) -> str:
    """The resource's own name in its ARN (``...:log-group:/aws/ecs/app`` -> ``/aws/ecs/app``; a bucket's name; a
    load balancer's or task definition family's name; a secret's name without its random suffix)."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return arn
    service, resource = parts[2], parts[5]
    if service in ("s3", "sns"):
        return resource
    if service == "logs":
        name = resource.split(":", 1)[1] if ":" in resource else resource
        return name[:-2] if name.endswith(":*") else name
    if service == "secretsmanager":
        name = resource.split(":", 1)[-1]
        return re.sub(r"-[A-Za-z0-9]{6}$", "", name)
    segments = resource.replace(":", "/").split("/")
    if service == "elasticloadbalancing" and segments[0] == "loadbalancer" and len(segments) > 2:
        return segments[2]  # loadbalancer/app/NAME/ID
    if service == "elasticloadbalancing" and segments[0] == "targetgroup" and len(segments) > 1:
        return segments[1]  # targetgroup/NAME/ID
    if service == "ecs" and segments[0] == "task-definition" and len(segments) > 1:
        return segments[1]
    return segments[-1]


@dataclass(frozen=True)
class Declared:
    """One declared, taggable resource."""

    urn: str
    type: str
    kind: str
    name: str
    tags: Mapping[str, str]
    physical: str | None = None
    """The physical name, where the declared graph knows it (an explicit name input)."""


@dataclass
class Report:
    """The audit of one stack."""

    stack: str
    environment: str
    region: str
    declared: int
    live: int
    required_tags: list[str]
    orphans: list[dict[str, Any]] = field(default_factory=list)
    not_live: list[dict[str, Any]] = field(default_factory=list)
    missing_tags: list[dict[str, Any]] = field(default_factory=list)
    not_audited: dict[str, int] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per kind: how many are declared and how many are live."""

    @property
    def clean(self) -> bool:
        """No finding of any kind."""
        return not (self.orphans or self.not_live or self.missing_tags)

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` object."""
        return {"stack": self.stack, "environment": self.environment, "region": self.region, "clean": self.clean,
                "declared": self.declared, "live": self.live, "required_tags": self.required_tags,
                "orphans": self.orphans, "not_live": self.not_live, "missing_tags": self.missing_tags,
                "not_audited": self.not_audited, "counts": self.counts}

    def to_text(self) -> str:
        """Human-readable report, one finding a line."""
        n = len(self.orphans) + len(self.not_live) + len(self.missing_tags)
        head = (f"drift {self.stack} (environment={self.environment}, {self.region}): {self.declared} declared and "
                f"{self.live} live taggable resources; "
                + ("clean" if self.clean else f"{n} finding{'s' if n != 1 else ''}"))
        lines = [head]
        differ = [f"{k} {c['declared']} declared / {c['live']} live" for k, c in sorted(self.counts.items())
                  if c["declared"] != c["live"]]
        if differ and self.live:
            lines.append("counts that differ: " + ", ".join(differ))
        if self.orphans:
            lines.append("orphans (tagged for this stack, more than it declares of their kind or a Name it does not "
                         "declare: left behind, or made by hand):")
            lines += [f"  {o['kind']:<32} {o['name'] or '(no Name tag)'}  {o['arn']}" for o in self.orphans]
        if self.not_live:
            lines.append("not live (declared, no live resource of its kind left to match it: not deployed yet, or "
                         "deleted outside Pulumi):")
            lines += [f"  {d['kind']:<32} {d['name']}  ({d['type']})" for d in self.not_live]
        if self.missing_tags:
            lines.append(f"missing tags (every declared resource carries {', '.join(self.required_tags)}):")
            lines += [f"  {m['kind']:<32} {m['name'] or '(no Name tag)'}  {m['arn']}  missing: "
                      f"{', '.join(m['missing'])}" for m in self.missing_tags]
        if self.live == 0 and self.declared:
            lines.append(f"nothing live is tagged environment={self.environment}, managed-by=pulumi in "
                         f"{self.region}: is the stack deployed in this account and region?")
        if self.not_audited:
            lines.append("not audited (the tagging API does not list them): "
                         + ", ".join(f"{t} ({c})" for t, c in sorted(self.not_audited.items())))
        return "\n".join(lines)


def declared_resources(graph: Iterable[Any]) -> tuple[list[Declared], dict[str, int]]:
    """The graph's taggable custom resources of audited types, and a count of the taggable types not audited."""
    out: list[Declared] = []
    skipped: Counter[str] = Counter()
    for res in graph:
        tags = res.inputs.get("tags") if res.custom else None
        if not isinstance(tags, dict) or not tags:
            continue
        kind = TYPE_KIND.get(res.type)
        if kind is None:
            skipped[res.type] += 1
            continue
        plain = {k: v for k, v in tags.items() if isinstance(v, str)}
        key = PHYSICAL_NAME_INPUT.get(res.type)
        physical = res.inputs.get(key) if key else None
        if not isinstance(physical, str) or not physical or is_unknown(physical):
            physical = None
        out.append(Declared(urn=res.urn, type=res.type, kind=kind, name=plain.get(NAME_TAG, res.name), tags=plain,
                            physical=physical))
    return out, dict(sorted(skipped.items()))


def required_tags(declared: Iterable[Declared]) -> list[str]:
    """Tag keys every declared taggable resource carries (the stack's standard tags and ``Name``)."""
    sets = [set(d.tags) for d in declared]
    return sorted(set.intersection(*sets)) if sets else []


def live_resources(client: Any, environment: str) -> list[dict[str, Any]]:
    """Every resource tagged ``environment=<env>`` and ``managed-by=pulumi`` (all pages)."""
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TagFilters": [{"Key": "environment", "Values": [environment]},
                                             {"Key": "managed-by", "Values": ["pulumi"]}],
                              "ResourcesPerPage": 100}
    while True:
        page = client.get_resources(**kwargs)
        out.extend(page.get("ResourceTagMappingList", []))
        token = page.get("PaginationToken")
        if not token:
            return out
        kwargs["PaginationToken"] = token


def compare(stack: str, environment: str, region: str, graph: Iterable[Any],
            live: Iterable[Mapping[str, Any]]) -> Report:
    """Compare declared and live resources per kind, one to one (no AWS calls): see the module docstring."""
    declared, skipped = declared_resources(graph)
    required = required_tags(declared)
    live_list = sorted(live, key=lambda i: i["ResourceARN"])
    report = Report(stack=stack, environment=environment, region=region, declared=len(declared),
                    live=len(live_list), required_tags=required, not_audited=skipped)
    by_kind: dict[str, tuple[list[Declared], list[dict[str, Any]]]] = {}
    for d in declared:
        by_kind.setdefault(d.kind, ([], []))[0].append(d)
    for item in live_list:
        arn = item["ResourceARN"]
        tags = {t["Key"]: t.get("Value", "") for t in item.get("Tags", [])}
        entry = {"arn": arn, "kind": arn_kind(arn), "name": tags.get(NAME_TAG, ""), "tags": tags}
        by_kind.setdefault(entry["kind"], ([], []))[1].append(entry)
        missing = [k for k in required if k not in tags]
        if missing:
            report.missing_tags.append({"arn": arn, "kind": entry["kind"], "name": entry["name"], "missing": missing})
    for kind in sorted(by_kind):
        decl, lives = by_kind[kind]
        if kind in REVISIONED:
            lives = _latest_revisions(lives)
        report.counts[kind] = {"declared": len(decl), "live": len(lives)}
        unmatched_d, unmatched_l = _match(decl, lives)
        report.orphans += [{"arn": e["arn"], "kind": kind, "name": e["name"]} for e in unmatched_l]
        report.not_live += [{"urn": d.urn, "type": d.type, "kind": d.kind, "name": d.name}
                            for d in sorted(unmatched_d, key=lambda d: d.name)]
    return report


REVISIONED = frozenset({"ecs:task-definition"})
"""Kinds whose every revision has its own ARN and tags (one declared task definition, many registered revisions)."""


def _latest_revisions(lives: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per family: its latest revision (``task-definition/app:12`` over ``task-definition/app:9``)."""
    latest: dict[str, dict[str, Any]] = {}

    def revision(arn: str) -> int:
        tail = arn.rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    for e in lives:
        family = arn_physical_name(e["arn"])
        if family not in latest or revision(e["arn"]) > revision(latest[family]["arn"]):
            latest[family] = e
    return sorted(latest.values(), key=lambda e: e["arn"])


def _match(declared: list[Declared], live: list[dict[str, Any]]) -> tuple[list[Declared], list[dict[str, Any]]]:
    """One kind's declared and live resources paired one to one; returns what is left on each side."""
    decl = list(declared)
    lives = list(live)

    def pair(key_d: Callable[[Declared], str | None], key_l: Callable[[dict[str, Any]], str | None]) -> None:
        for d in list(decl):
            k = key_d(d)
            if not k:
                continue
            hit = next((e for e in lives if key_l(e) == k), None)
            if hit is not None:
                decl.remove(d)
                lives.remove(hit)

    pair(lambda d: d.physical, lambda e: arn_physical_name(e["arn"]))
    # a declared resource whose physical name is known and not live is not live, whatever Names say
    known = [d for d in decl if d.physical]
    decl = [d for d in decl if not d.physical]
    pair(lambda d: d.name, lambda e: e["name"] or None)
    nameless = [e for e in lives if not e["name"]]
    while decl and nameless:  # a lost Name tag: the same resource (reported as a missing tag)
        decl.pop()
        lives.remove(nameless.pop(0))
    return known + decl, lives


def environment_of(graph: Any, stack: str) -> str:
    """The stack's ``environment`` setting (the tag value its resources carry)."""
    return str(graph.config_value("environment", stack))


def region_of(graph: Iterable[Any], default: str = "us-east-1") -> str:
    """The region of the stack's explicit AWS provider."""
    for res in graph:
        if res.type == "pulumi:providers:aws" and isinstance(res.inputs.get("region"), str):
            return res.inputs["region"]
    return default
