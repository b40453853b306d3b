"""Golden inventories of the dev, staging and prod stacks, in the style of cloud-foundation-fabric.

``tests/inventories/<stack>.yaml`` holds:

- ``values``: per resource (``"<type> <name>"``), only the settings a reviewer cares about (``VALUE_KEYS``), plus
  resource options that protect data or hand ownership elsewhere (``protect``, ``retainOnDelete``,
  ``ignoreChanges``);
- ``counts``: the exact number of resources per type; ``0`` means the type must not exist (types present in any
  other stack, and ``MUST_NOT_EXIST``);
- ``outputs``: the stack outputs.

A change shows up as a failing key-by-key comparison; regenerate deliberately with
``python -m pytest tests/test_inventories.py --update-inventories`` and review the YAML diff in the pull request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from test_stacks import STACKS

from review.model import MISSING, Graph, dig, display_value

INVENTORIES = Path(__file__).resolve().parent / "inventories"

VALUE_KEYS: dict[str, list[str]] = {
    "aws:ec2/vpc:Vpc": ["cidrBlock", "enableDnsHostnames", "enableDnsSupport"],
    "aws:ec2/subnet:Subnet": ["cidrBlock", "availabilityZone", "mapPublicIpOnLaunch", "tags.tier"],
    "aws:ec2/natGateway:NatGateway": ["connectivityType"],
    "aws:ec2/route:Route": ["destinationCidrBlock"],
    "aws:ec2/vpcEndpoint:VpcEndpoint": ["serviceName", "vpcEndpointType", "privateDnsEnabled"],
    "aws:ec2/flowLog:FlowLog": ["trafficType", "logDestinationType"],
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ["ingress", "egress"],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": [
        "ipProtocol", "fromPort", "toPort", "cidrIpv4", "cidrIpv6", "description"],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": [
        "ipProtocol", "fromPort", "toPort", "cidrIpv4", "cidrIpv6", "description"],
    "aws:cloudwatch/logGroup:LogGroup": ["retentionInDays"],
    "aws:lb/loadBalancer:LoadBalancer": [
        "internal", "loadBalancerType", "dropInvalidHeaderFields", "enableDeletionProtection", "accessLogs.enabled"],
    "aws:lb/listener:Listener": ["port", "protocol", "sslPolicy", "defaultActions.0.type"],
    "aws:lb/listenerRule:ListenerRule": ["priority", "conditions"],
    "aws:lb/targetGroup:TargetGroup": ["port", "protocol", "targetType", "healthCheck.path"],
    "aws:acm/certificate:Certificate": ["domainName", "validationMethod"],
    "aws:wafv2/webAcl:WebAcl": ["scope", "defaultAction"],
    "aws:ecr/repository:Repository": ["imageTagMutability", "imageScanningConfiguration.scanOnPush"],
    "aws:ecs/cluster:Cluster": ["settings"],
    "aws:ecs/taskDefinition:TaskDefinition": ["family", "cpu", "memory", "runtimePlatform.cpuArchitecture"],
    "aws:ecs/service:Service": [
        "desiredCount", "launchType", "networkConfiguration.assignPublicIp", "deploymentCircuitBreaker"],
    "aws:appautoscaling/target:Target": ["minCapacity", "maxCapacity"],
    "aws:appautoscaling/policy:Policy": [
        "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType",
        "targetTrackingScalingPolicyConfiguration.targetValue"],
    "aws:rds/instance:Instance": [
        "engine", "engineVersion", "instanceClass", "multiAz", "allocatedStorage", "maxAllocatedStorage",
        "backupRetentionPeriod", "deletionProtection", "storageEncrypted", "publiclyAccessible",
        "performanceInsightsEnabled", "iamDatabaseAuthenticationEnabled", "skipFinalSnapshot"],
    "aws:rds/cluster:Cluster": [
        "engine", "engineVersion", "backupRetentionPeriod", "deletionProtection", "storageEncrypted"],
    "aws:elasticache/serverlessCache:ServerlessCache": [
        "engine", "majorEngineVersion", "cacheUsageLimits", "snapshotRetentionLimit"],
    "aws:elasticache/replicationGroup:ReplicationGroup": [
        "engine", "engineVersion", "nodeType", "numCacheClusters", "automaticFailoverEnabled", "multiAzEnabled",
        "atRestEncryptionEnabled", "transitEncryptionEnabled", "snapshotRetentionLimit"],
    "aws:kms/key:Key": ["enableKeyRotation", "deletionWindowInDays"],
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": [
        "blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"],
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ["rule.objectOwnership"],
    "aws:s3/bucketVersioning:BucketVersioning": ["versioningConfiguration.status"],
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": [
        "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "rules.0.bucketKeyEnabled"],
    "aws:cloudwatch/metricAlarm:MetricAlarm": ["threshold", "comparisonOperator"],
    "aws:budgets/budget:Budget": ["limitAmount", "timeUnit"],
}
"""Per type, the inputs recorded in ``values`` (dotted paths; list items by index)."""

MUST_NOT_EXIST = [
    "aws:ec2/instance:Instance",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:iam/accessKey:AccessKey",
    "aws:iam/user:User",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:s3/bucketAcl:BucketAcl",
]
"""Types no stack may contain (``counts`` records them as 0)."""


def _plain(value: Any) -> Any:
    value = display_value(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value




def inventory(g: Graph, zero_types: set[str]) -> dict[str, Any]:
    """The inventory of one captured stack."""
    values: dict[str, dict[str, Any]] = {}
    for r in g:
        entry = {}
        for path in VALUE_KEYS.get(r.type, []):
            v = dig(r.inputs, path)
            if v is not MISSING:
                entry[path] = _plain(v)
        for opt in ("protect", "retainOnDelete"):
            if r.options.get(opt):
                entry[f"options.{opt}"] = True
        if r.options.get("ignoreChanges"):
            entry["options.ignoreChanges"] = sorted(r.options["ignoreChanges"])
        if entry:
            values[f"{r.type} {r.name}"] = entry
    counts = {t: 0 for t in zero_types | set(MUST_NOT_EXIST)}
    counts.update(g.counts())
    return {
        "values": dict(sorted(values.items())),
        "counts": dict(sorted(counts.items())),
        "outputs": _plain(dict(sorted(g.outputs.items()))),
    }


def compare(stack: str, expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Key-by-key differences, one readable line each."""
    out: list[str] = []
    for section in ("values", "counts", "outputs"):
        exp, act = expected.get(section) or {}, actual.get(section) or {}
        for key in sorted(set(exp) | set(act)):
            where = f"{stack}: {section}[{key!r}]"
            if key not in act:
                out.append(f"{where}: in the inventory, missing from the stack")
            elif key not in exp:
                out.append(f"{where}: new in the stack ({act[key]!r}), not in the inventory")
            elif section == "values":
                for field in sorted(set(exp[key]) | set(act[key])):
                    e, a = exp[key].get(field, "(absent)"), act[key].get(field, "(absent)")
                    if e != a:
                        out.append(f"{where}.{field}: inventory {e!r}, stack {a!r}")
            elif exp[key] != act[key]:
                out.append(f"{where}: inventory {exp[key]!r}, stack {act[key]!r}")
    return out


_TYPES: dict[str, set[str]] = {}


@pytest.mark.parametrize("stack", STACKS)
def test_stack_matches_its_inventory(run_stack, request, stack):
    graph = run_stack(stack)
    for other in STACKS:
        if other not in _TYPES:
            _TYPES[other] = graph.types() if other == stack else run_stack(other).types()
    actual = inventory(graph, set().union(*_TYPES.values()))
    path = INVENTORIES / f"{stack}.yaml"
    if request.config.getoption("--update-inventories", default=False):
        INVENTORIES.mkdir(exist_ok=True)
        header = (f"# Golden inventory of the {stack} stack (tests/test_inventories.py). Do not edit by hand:\n"
                  "# python -m pytest tests/test_inventories.py --update-inventories, then review the diff.\n")
        path.write_text(header + yaml.safe_dump(actual, sort_keys=False, width=120, allow_unicode=True))
    assert path.exists(), f"{path} is missing: run python -m pytest tests/test_inventories.py --update-inventories"
    expected = yaml.safe_load(path.read_text())
    diffs = compare(stack, expected, actual)
    assert not diffs, (f"{len(diffs)} differences from tests/inventories/{stack}.yaml (if intended, regenerate with "
                       "`python -m pytest tests/test_inventories.py --update-inventories` and commit the diff):\n"
                       + "\n".join(diffs))


def test_inventories_say_what_must_not_exist():
    dev = yaml.safe_load((INVENTORIES / "dev.yaml").read_text())["counts"]
    prod = yaml.safe_load((INVENTORIES / "prod.yaml").read_text())["counts"]
    assert dev["aws:ec2/natGateway:NatGateway"] == 0 and prod["aws:ec2/natGateway:NatGateway"] == 3
    assert dev["aws:wafv2/webAcl:WebAcl"] == 0 and prod["aws:wafv2/webAcl:WebAcl"] == 1
    assert all(dev[t] == 0 and prod[t] == 0 for t in MUST_NOT_EXIST)


def test_the_comparison_names_each_difference():
    expected = {"values": {"aws:ec2/vpc:Vpc net": {"cidrBlock": "10.0.0.0/16"}},
                "counts": {"aws:ec2/natGateway:NatGateway": 0}, "outputs": {"url": "https://a"}}
    actual = {"values": {"aws:ec2/vpc:Vpc net": {"cidrBlock": "10.1.0.0/16"}},
              "counts": {"aws:ec2/natGateway:NatGateway": 1}, "outputs": {}}
    assert compare("dev", expected, actual) == [
        "dev: values['aws:ec2/vpc:Vpc net'].cidrBlock: inventory '10.0.0.0/16', stack '10.1.0.0/16'",
        "dev: counts['aws:ec2/natGateway:NatGateway']: inventory 0, stack 1",
        "dev: outputs['url']: in the inventory, missing from the stack",
    ]
