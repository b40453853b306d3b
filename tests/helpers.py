"""Shared test helpers: our stack names, stand-ins for other components, running a component page's example, and
the golden inventories (tests/inventories/*.yaml) of our stacks."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pytest

from components.aws.common import service_principal_policy
from review.model import MISSING, Graph, dig, display_value

DOCS = Path(__file__).resolve().parent.parent / "docs" / "components"
AWS_STACKS = ("dev", "staging", "prod")
TEST_CATALOG = Path(__file__).resolve().parent / "fixtures" / "catalog"
"""The test price catalog (a frozen subset of pricing/catalog): the default catalog of every in-process estimate
in the tests (conftest.py); pack processes get it as the budget rules' ``catalogDir`` policy config."""
GCP_STACKS = ("gcp-dev", "gcp-prod")


@contextlib.contextmanager
def trusted_in_process() -> Iterator[None]:
    """Within the block, ``review.cli`` runs programs in this process instead of a child process.

    For tests of our own stacks and fixtures (trusted code) that are about reports, flags and verdicts, not
    isolation: it saves a child interpreter (and its import of the provider SDKs) per run. ``python -m review``
    itself always isolates (tests/test_security_boundary.py). The ``trusted_in_process`` fixture (conftest.py)
    wraps a whole test in it; a module-scoped fixture uses it directly.
    """
    from review import cli
    from review.engine import capture_stack
    from review.isolate import ProgramOutput

    def run_here(project: Any, stack: str, config: Any, *, timeout: float) -> tuple[dict[str, Any], ProgramOutput]:
        raw, _ = capture_stack(project, stack, config)
        return raw, ProgramOutput()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "run_isolated", run_here)
        yield


_BOTOCORE_DATA: dict[tuple[Any, ...], Any] = {}
"""botocore's parsed data files (service models, endpoints), shared by every botocore session of this process."""


class _SharedLoaderCache:
    """A botocore ``Loader``'s cache that every loader with the same search paths and extras shares: the files are
    read-only data (a loader already hands one parsed copy to all its clients), and parsing them again for each
    of the dozens of sessions moto and our tools create costs seconds per test module."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def _key(self, key: Any) -> tuple[Any, ...]:
        return (tuple(self._loader.search_paths), tuple(self._loader.extras_types), key)

    def __contains__(self, key: Any) -> bool:
        return self._key(key) in _BOTOCORE_DATA

    def __getitem__(self, key: Any) -> Any:
        return _BOTOCORE_DATA[self._key(key)]

    def __setitem__(self, key: Any, value: Any) -> None:
        _BOTOCORE_DATA[self._key(key)] = value


_SYMMETRIC: dict[str, Any] = {}


@contextlib.contextmanager
def moto_session(region: str = "us-east-1") -> Iterator[Any]:
    """A ``boto3.Session`` on moto's in-process AWS (``mock_aws``), with test credentials only.

    Two costs of the double that no test looks at are removed: botocore data files are parsed once per process
    (:class:`_SharedLoaderCache`), and a symmetric KMS key no longer makes moto generate an RSA-2048 key pair
    for it (moto does, for sign/verify, which only asymmetric keys allow; our tools create symmetric keys only).
    Asymmetric key specs still get their own key pair.
    """
    import boto3
    import botocore.loaders
    import moto.kms.models
    from moto import mock_aws

    real_init = botocore.loaders.Loader.__init__
    real_key = moto.kms.models.generate_private_key

    def shared_init(self: Any, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        self._cache = _SharedLoaderCache(self)

    def private_key(key_spec: str) -> Any:
        if key_spec not in ("SYMMETRIC_DEFAULT", "", None):
            return real_key(key_spec)
        if "key" not in _SYMMETRIC:
            _SYMMETRIC["key"] = real_key(key_spec)
        return _SYMMETRIC["key"]

    with pytest.MonkeyPatch.context() as patch:
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            patch.delenv(key, raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", region)
        patch.setattr(botocore.loaders.Loader, "__init__", shared_init)
        patch.setattr(moto.kms.models, "generate_private_key", private_key)
        with mock_aws():
            yield boto3.Session(region_name=region)


class FakeService(pulumi.ComponentResource):
    """Stands in for the Service: a security group (``Connectable``) and a task role (``Grantable``)."""

    def __init__(self, name: str) -> None:
        super().__init__("test:aws:Service", name)
        self.security_group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id="vpc-0123",
                                                    opts=pulumi.ResourceOptions(parent=self))
        self.task_role = aws.iam.Role(f"{name}-task", assume_role_policy=service_principal_policy(
            "ecs-tasks.amazonaws.com"), opts=pulumi.ResourceOptions(parent=self))


def doc_example(doc: Path) -> Callable[[], None]:
    """The first ```python block of a component page, as a program."""
    code = re.search(r"```python\n(.*?)```", doc.read_text(), re.S)
    assert code, f"{doc} has no python example"
    return lambda: exec(compile(code.group(1), str(doc), "exec"), {"__name__": "__example__"})


def documents_every_argument(doc: Path, *args_classes: type) -> list[str]:
    """Arguments of the dataclasses that the page does not mention as `name` (empty when all are documented)."""
    text = doc.read_text()
    return [f for cls in args_classes for f in cls.__dataclass_fields__ if f"`{f}`" not in text]


def children_after_outputs(run: Callable[[Callable[[], None]], object], program: Callable[[], None]) -> list[str]:
    """Run ``program`` (with ``run``, e.g. the ``run_program`` fixture) and name every resource a component
    created after its ``register_outputs`` (``"<component> -> <child>"``; empty when none did).

    Pulumi finishes a component when its outputs are registered: a child created later is outside what the
    engine and the component's own outputs describe, so every component must register its outputs last."""
    registered: dict[int, tuple[pulumi.Resource, frozenset[pulumi.Resource]]] = {}
    original = pulumi.ComponentResource.register_outputs

    def register(self: pulumi.ComponentResource, outputs: object) -> None:
        registered[id(self)] = (self, frozenset(self._childResources))
        original(self, outputs)  # type: ignore[arg-type]

    pulumi.ComponentResource.register_outputs = register  # type: ignore[method-assign]
    try:
        run(program)
    finally:
        pulumi.ComponentResource.register_outputs = original  # type: ignore[method-assign]
    return sorted(f"{comp.pulumi_resource_name} -> {child.pulumi_resource_name}"
                  for comp, before in registered.values() for child in comp._childResources - before)


class FakeWorkload(pulumi.ComponentResource):
    """Stands in for the Cloud Run Service in component tests: a service account, a network tag, a network."""

    def __init__(self, name: str, network_id: str = "projects/p/global/networks/vpc") -> None:
        super().__init__("test:gcp:Workload", name)
        self.service_account = gcp.serviceaccount.Account(f"{name}-sa", account_id=f"{name}-run",
                                                          opts=pulumi.ResourceOptions(parent=self))
        self.member = self.service_account.member
        self.network_tag = "backend-service"
        self.network_id = network_id


# -- golden inventories -------------------------------------------------------------------------------------------

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
    "aws:lambda/function:Function": ["runtime", "architectures", "handler", "memorySize", "timeout",
                                     "tracingConfig.mode"],
    "aws:lambda/permission:Permission": ["action", "principal", "sourceAccount"],
    "aws:secretsmanager/secretRotation:SecretRotation": ["rotationRules.automaticallyAfterDays"],
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


def inventory(g: Graph, zero_types: set[str], value_keys: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The golden inventory of one captured stack (``value_keys``: per type, the inputs recorded; default
    :data:`VALUE_KEYS`)."""
    value_keys = VALUE_KEYS if value_keys is None else value_keys
    values: dict[str, dict[str, Any]] = {}
    for r in g:
        entry = {}
        for path in value_keys.get(r.type, []):
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
