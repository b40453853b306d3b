"""The cost pack over the CrossGuard protocol, as the Pulumi CLI runs it: ``policies/cost/__main__.py`` started as a
subprocess prints its port; GetAnalyzerInfo, Configure, Analyze and AnalyzeStack over gRPC with real payloads.
The stack config reaches the pack the way the CLI passes it, through ``PULUMI_CONFIG``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from helpers import TEST_CATALOG
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from review.policy_runner import configure_request

REPO = Path(__file__).resolve().parent.parent
PACK_MAIN = REPO / "policies" / "cost" / "__main__.py"
URN = "urn:pulumi:dev::backend-hosting::{type}::{name}"
PROVIDER_URN = URN.format(type="pulumi:providers:aws", name="aws")


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(value)
    return s


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    workdir = tmp_path_factory.mktemp("pack")  # no usage.protocol-test.yaml anywhere: built-in defaults apply
    config = {"backend-hosting:environment": "dev", "aws:region": "us-east-1",
              "backend-hosting:budget": json.dumps({"monthlyUsd": 25})}
    env = dict(os.environ, PULUMI_CONFIG=json.dumps(config), PULUMI_PROJECT="backend-hosting",
               PULUMI_STACK="protocol-test")
    proc = subprocess.Popen([sys.executable, str(PACK_MAIN)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=workdir)
    try:
        line = proc.stdout.readline().decode().strip()
        assert line.isdigit(), f"the pack printed {line!r}; stderr: {proc.stderr.read().decode()[-2000:]}"
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=10)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _provider() -> analyzer_pb2.AnalyzerProviderResource:
    return analyzer_pb2.AnalyzerProviderResource(type="pulumi:providers:aws", name="aws", urn=PROVIDER_URN,
                                                 properties=_struct({"region": "us-east-1"}))


def _resource(type_: str, name: str, props: dict[str, Any], **deps: list[str]) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        type=type_, name=name, urn=URN.format(type=type_, name=name), properties=_struct(props),
        provider=_provider(),
        propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v) for k, v in deps.items()})


def test_get_analyzer_info(stub: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "cost"
    policies = {p.name: p for p in info.policies}
    assert set(policies) >= {"instance-size-ceiling", "no-nat-per-az-outside-prod", "budget-not-exceeded",
                             "budget-warning", "bucket-lifecycle-configured"}
    assert policies["budget-not-exceeded"].enforcementLevel == analyzer_pb2.MANDATORY
    assert policies["budget-warning"].enforcementLevel == analyzer_pb2.ADVISORY
    schema = json_format.MessageToDict(policies["instance-family-allowed"].configSchema)
    assert schema["properties"]["allowedFamilies"]["default"]["dev"][0] == "t*"


def test_configure_then_analyze_a_resource(stub: analyzer_pb2_grpc.AnalyzerStub) -> None:
    stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={
        "instance-size-ceiling": analyzer_pb2.PolicyConfig(
            enforcementLevel=analyzer_pb2.MANDATORY,
            properties=_struct({"maxSize": {"dev": "large", "default": "16xlarge"}}))}))
    resp = stub.Analyze(analyzer_pb2.AnalyzeRequest(
        type="aws:ec2/instance:Instance", name="gpu", urn=URN.format(type="aws:ec2/instance:Instance", name="gpu"),
        properties=_struct({"instanceType": "p4d.24xlarge", "ami": "ami-1"}), provider=_provider()))
    found = {d.policyName: d for d in resp.diagnostics}
    assert set(found) == {"instance-family-allowed", "instance-size-ceiling", "no-gpu-instances"}
    assert found["no-gpu-instances"].enforcementLevel == analyzer_pb2.MANDATORY
    assert found["no-gpu-instances"].policyPackName == "cost"
    assert "p4d.24xlarge is a GPU/accelerator type" in found["no-gpu-instances"].message

    ok = stub.Analyze(analyzer_pb2.AnalyzeRequest(
        type="aws:ec2/instance:Instance", name="vm", urn=URN.format(type="aws:ec2/instance:Instance", name="vm"),
        properties=_struct({"instanceType": "t4g.micro", "ami": "ami-1"}), provider=_provider()))
    assert list(ok.diagnostics) == []


def _configure_test_catalog(stub: analyzer_pb2_grpc.AnalyzerStub) -> None:
    """Configure every policy as the CLI does, the budget rules pricing from the test catalog."""
    budget = {name: {"catalogDir": str(TEST_CATALOG)}
              for name in ("budget-not-exceeded", "budget-warning", "cost-estimate-complete")}
    stub.Configure(configure_request(stub.GetAnalyzerInfo(empty_pb2.Empty()), budget))


def test_analyze_stack_over_budget_is_a_mandatory_violation(stub: analyzer_pb2_grpc.AnalyzerStub) -> None:
    _configure_test_catalog(stub)
    bucket_urn = URN.format(type="aws:s3/bucket:Bucket", name="assets")
    resources = [
        _resource("aws:lb/loadBalancer:LoadBalancer", "alb", {"loadBalancerType": "application",
                                                              "subnets": ["subnet-a", "subnet-b"]}),
        _resource("aws:s3/bucket:Bucket", "assets", {"bucket": "assets-123"}),
        _resource("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "assets",
                  {"bucket": "assets-123", "rules": [{"id": "expire", "status": "Enabled"}]}, bucket=[bucket_urn]),
    ]
    resp = stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    found = [(d.policyName, d.enforcementLevel) for d in resp.diagnostics]
    assert found == [("budget-not-exceeded", analyzer_pb2.MANDATORY)], [d.message for d in resp.diagnostics]
    message = resp.diagnostics[0].message
    assert "estimated 29.68 USD/month exceeds the budget of 25.00 USD" in message
    assert "biggest cost drivers: alb 29.57" in message


def test_analyze_stack_within_budget_and_clean(stub: analyzer_pb2_grpc.AnalyzerStub) -> None:
    _configure_test_catalog(stub)
    resources = [_resource("aws:kms/key:Key", "key", {"enableKeyRotation": True})]
    resp = stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    assert list(resp.diagnostics) == []


def test_analyze_stack_in_a_region_the_catalog_lacks_fails_the_budget_closed(
        stub: analyzer_pb2_grpc.AnalyzerStub) -> None:
    north = analyzer_pb2.AnalyzerProviderResource(
        type="pulumi:providers:aws", name="north", urn=URN.format(type="pulumi:providers:aws", name="north"),
        properties=_struct({"region": "eu-north-1"}))
    key = analyzer_pb2.AnalyzerResource(type="aws:kms/key:Key", name="key", urn=URN.format(type="aws:kms/key:Key",
                                                                                           name="key"),
                                        properties=_struct({"enableKeyRotation": True}), provider=north)
    resp = stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[key]))
    mandatory = [d for d in resp.diagnostics if d.enforcementLevel == analyzer_pb2.MANDATORY]
    assert [d.policyName for d in mandatory] == ["budget-verifiable"], [d.message for d in resp.diagnostics]
    message = mandatory[0].message
    assert "budget of 25.00 USD" in message and "cannot be verified" in message
    # The key itself is priced (KMS publishes one key price for every region: a global row); its requests are not.
    assert "missing for aws eu-north-1 (kms/requests)" in message
    assert message.endswith("python -m ops prices refresh --service kms --region eu-north-1")
