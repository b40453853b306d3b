"""The security pack over the real CrossGuard protocol, started as the Pulumi CLI starts a Python pack.

The CLI runs ``python -u -m pulumi.policy <engine> .`` in the pack directory with the stack config in
``PULUMI_CONFIG``; the pack prints its gRPC port and serves ``GetAnalyzerInfo``, ``Configure``, ``Analyze`` and
``AnalyzeStack``. One pack process serves the whole module. A second test starts a small third-party pack the way
``python -m review --policy-pack DIR`` does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from policies.security import PACK
from review.engine import run_callable
from review.policy_runner import (
    PackProcess,
    analyze_requests,
    configure_request,
    graph_resources,
    pack_env,
    run_pack,
    run_pack_protocol,
    run_policies,
    stack_info,
)

REPO = Path(__file__).resolve().parent.parent
PACK_DIR = REPO / "policies" / "security"
WAIVER_REASON = "dev has no NAT gateway so tasks run in public subnets and only the ALB reaches them"
CONFIG = {
    "proj:environment": "prod",
    "proj:waivers": [{"policy": "ecs-service-no-public-ip", "resource": "svc", "reason": WAIVER_REASON}],
    # issue 14: stated objectives the design (no copy outside us-east-1) cannot meet: a stack-level finding
    "proj:region": "us-east-1",
    "proj:dr": {"rpoMinutes": 15, "rtoMinutes": 240, "region": "us-west-2"},
}


def _program() -> None:
    import pulumi_aws as aws

    aws.rds.Instance("db", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                     publicly_accessible=True, storage_encrypted=True, backup_retention_period=7,
                     deletion_protection=True)
    aws.ecs.Service("svc", cluster="c", desired_count=1,
                    network_configuration={"subnets": ["s"], "assign_public_ip": True})
    aws.s3.Bucket("logs")
    aws.iam.Policy("admin", policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    aws.vpclattice.Service("open-svc", name="open-svc", auth_type="NONE")
    aws.vpclattice.Service("iam-svc", name="iam-svc", auth_type="AWS_IAM")


@pytest.fixture(scope="module")
def graph():
    return run_callable(_program, project="proj", stack="test", config=CONFIG)


@pytest.fixture(scope="module")
def pack(graph):
    with PackProcess(PACK_DIR, env=pack_env(graph)) as proc:
        yield proc


@pytest.fixture(scope="module")
def info(pack):
    return pack.stub.GetAnalyzerInfo(empty_pb2.Empty())


def _struct(d: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(d)
    return s


def test_analyzer_info_lists_every_policy_with_metadata(info) -> None:
    assert info.name == "security"
    assert info.supportsConfig
    assert [p.name for p in info.policies] == [r.name for r in PACK.rules if r.name != "waiver-audit"] + [
        "waiver-audit"]
    by_name = {p.name: p for p in info.policies}
    rds = by_name["rds-not-public"]
    assert rds.enforcementLevel == analyzer_pb2.MANDATORY
    assert rds.severity == analyzer_pb2.POLICY_SEVERITY_CRITICAL
    assert rds.remediation_steps.startswith("Set publicly_accessible=False")
    assert rds.policy_type == analyzer_pb2.POLICY_TYPE_RESOURCE
    assert by_name["required-tags"].enforcementLevel == analyzer_pb2.ADVISORY
    assert by_name["sg-no-world-ingress"].policy_type == analyzer_pb2.POLICY_TYPE_STACK
    schema = by_name["lb-listener-tls-policy"].configSchema.properties
    assert "allowedPolicies" in schema


def test_configure_analyze_and_analyze_stack_with_real_payloads(pack, info, graph) -> None:
    pack.stub.Configure(configure_request(info, {"iam-no-star-action-star-resource": "advisory"}))
    requests, stack_request = analyze_requests(graph)
    by_name = {r.name: r for r in requests}

    diags = pack.stub.Analyze(by_name["db"]).diagnostics
    assert {(d.policyName, d.enforcementLevel) for d in diags} == {
        ("rds-not-public", analyzer_pb2.MANDATORY), ("required-tags", analyzer_pb2.ADVISORY)}
    d = next(d for d in diags if d.policyName == "rds-not-public")
    assert d.policyPackName == "security"
    assert "publiclyAccessible is true" in d.message

    # The configured enforcement level reaches the pack (mandatory by default, advisory here).
    diags = pack.stub.Analyze(by_name["admin"]).diagnostics
    assert [(d.policyName, d.enforcementLevel) for d in diags if d.policyName.startswith("iam-")] == [
        ("iam-no-star-action-star-resource", analyzer_pb2.ADVISORY)]

    # Waived under the CLI: not reported, so the preview does not fail ...
    assert [d.policyName for d in pack.stub.Analyze(by_name["svc"]).diagnostics] == ["required-tags"]

    stack_diags = pack.stub.AnalyzeStack(stack_request).diagnostics
    found = {(d.policyName, d.urn.rsplit("::", 1)[-1] if d.urn else "") for d in stack_diags}
    assert ("s3-bucket-public-access-block", "logs") in found
    assert ("vpc-flow-logs-enabled", "") not in found  # no VPC in this program
    # ... and listed by the advisory waiver-audit at the end of the stack analysis.
    audit = [d for d in stack_diags if d.policyName == "waiver-audit"]
    assert audit and all(d.enforcementLevel == analyzer_pb2.ADVISORY for d in audit)
    assert any("ecs-service-no-public-ip" in d.message and WAIVER_REASON in d.message for d in audit)


def test_internal_service_iam_auth_is_served_to_the_cli(pack, info, graph) -> None:
    """The Lattice rule reaches the CLI like the others: a service without IAM auth fails, one with it passes."""
    pack.stub.Configure(configure_request(info, None))
    requests, _ = analyze_requests(graph)
    by_name = {r.name: r for r in requests}
    found = {n: {(d.policyName, d.enforcementLevel) for d in pack.stub.Analyze(by_name[n]).diagnostics}
             for n in ("open-svc", "iam-svc")}
    assert ("internal-service-iam-auth", analyzer_pb2.MANDATORY) in found["open-svc"]
    assert not {p for p, _ in found["iam-svc"]} & {"internal-service-iam-auth"}


def test_unknown_values_and_a_bare_request(pack, info) -> None:
    pack.stub.Configure(configure_request(info, None))
    req = analyzer_pb2.AnalyzeRequest(
        type="aws:rds/instance:Instance", name="u", urn="urn:pulumi:test::proj::aws:rds/instance:Instance::u",
        properties=_struct({"publiclyAccessible": "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
                            "storageEncrypted": "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7"}))
    diags = pack.stub.Analyze(req).diagnostics
    names = {d.policyName for d in diags}
    assert "rds-not-public" not in names and "rds-storage-encrypted" not in names  # unknown: not a finding
    assert {"rds-deletion-protection", "rds-backup-retention"} <= names  # unset in prod: findings


def test_protocol_and_in_process_agree(pack, graph) -> None:
    """The offline runner's in-process path and the pack served to the CLI report the same unwaived findings."""
    stack = stack_info(graph)
    _, over_wire, names = run_pack_protocol(PACK_DIR, graph, stack, process=pack)
    in_process = run_pack(PACK, graph_resources(graph), stack)
    wire = {(v.policy, v.urn, v.enforcement) for v in over_wire if v.policy != "waiver-audit"}
    local = {(v.policy, v.urn, v.enforcement) for v in in_process if not v.waived}
    assert wire == local
    assert "dr-objectives-met" in {p for p, _, _ in wire}  # a stack rule reading <project>:dr, both ways
    assert {v.policy for v in in_process if v.waived} == {"ecs-service-no-public-ip"}
    assert len(names) == len(PACK.rules)


THIRD_PARTY = '''
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy


def no_public_db(args, report_violation):
    if args.resource_type == "aws:rds/instance:Instance" and args.props.get("publiclyAccessible"):
        report_violation("the database is public")


PolicyPack(name="acme", enforcement_level=EnforcementLevel.MANDATORY, policies=[
    ResourceValidationPolicy(name="acme-no-public-db", description="No public databases.", validate=no_public_db),
])
'''


def test_third_party_pack_through_the_review(tmp_path, graph) -> None:
    """``--policy-pack DIR``: a plain pulumi_policy pack runs over the protocol; waivers may name its policies."""
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\ndescription: acme\n")
    (tmp_path / "__main__.py").write_text(THIRD_PARTY)
    graph.config["proj:waivers"] = [*CONFIG["proj:waivers"], {
        "policy": "acme-no-public-db", "resource": "db", "reason": WAIVER_REASON}]
    try:
        violations, packs = run_policies(graph, extra_packs=[tmp_path], packs=[PACK])
    finally:
        graph.config["proj:waivers"] = CONFIG["proj:waivers"]
    assert packs == ["security", "acme"]
    acme = [v for v in violations if v.pack == "acme"]
    assert [(v.policy, v.resource_name, v.enforcement, v.waived, v.message) for v in acme] == [
        ("acme-no-public-db", "db", "mandatory", True, "the database is public")]
    assert not [v for v in violations if v.policy == "waiver-valid"]  # the third-party name is known
