"""The shared policy framework (policies/common.py) and the offline runner: waivers, environment detection,
policy config and enforcement levels resolved as the CLI does, and the CLI-side validate wrappers."""

from __future__ import annotations

import json

import pytest
from pulumi_policy import ResourceValidationArgs, StackValidationArgs
from pulumi_policy.policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions
from pulumi_policy.proxy import unknown_checking_proxy

from policies.common import (
    Context,
    Res,
    StackInfo,
    Waiver,
    discover_packs,
    parse_waivers,
    resolve_config,
)
from policies.security import PACK
from review.policy_runner import run_pack, run_policies

REASON = "the reporting replica is reachable only from the office VPN and security approved it in review"


def _opts(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


# -- waivers -----------------------------------------------------------------------------------------------------
def test_parse_waivers_keeps_valid_ones_and_explains_the_rest() -> None:
    valid, problems = parse_waivers([
        {"policy": "rds-not-public", "resource": "db-*", "reason": REASON},
        {"policy": "rds-not-public", "resource": "db", "reason": "short"},
        {"policy": "", "resource": "db", "reason": REASON},
        {"resource": "db", "reason": REASON},
        "not a mapping",
    ])
    assert valid == [Waiver("rds-not-public", "db-*", REASON, 0)]
    assert len(problems) == 4
    assert "has 1 words; at least 10" in problems[0]
    assert parse_waivers(json.dumps([{"policy": "p", "resource": "r", "reason": REASON}]))[0][0].policy == "p"
    assert parse_waivers({"policy": "p"})[1] == ["waivers must be a list of {policy, resource, reason}, got dict"]


def test_waiver_matches_names_patterns_and_urns() -> None:
    w = Waiver("rds-not-public", "app-*-db", REASON)
    assert w.matches("rds-not-public", "app-dev-db", None)
    assert not w.matches("rds-not-public", "other", None)
    assert not w.matches("rds-storage-encrypted", "app-dev-db", None)
    assert Waiver("p", "urn:pulumi:s::p::t::x", REASON).matches("p", "x", "urn:pulumi:s::p::t::x")


def test_invalid_and_unused_waivers_are_reported_and_waive_nothing(run_program) -> None:
    import pulumi_aws as aws

    graph = run_program(lambda: aws.rds.Instance("db", engine="postgres", instance_class="db.t4g.micro",
                                                 publicly_accessible=True, storage_encrypted=True),
                        project="proj", stack="test", config={"proj:waivers": [
                            {"policy": "rds-not-public", "resource": "db", "reason": "too short to count"},
                            {"policy": "no-such-policy", "resource": "db", "reason": REASON},
                            {"policy": "ecs-service-no-public-ip", "resource": "svc", "reason": REASON},
                        ]})
    violations, _ = run_policies(graph, packs=[PACK])
    public = [v for v in violations if v.policy == "rds-not-public"]
    assert [(v.resource_name, v.waived, v.blocking) for v in public] == [("db", False, True)]
    invalid = sorted(v.message for v in violations if v.policy == "waiver-valid")
    assert len(invalid) == 2 and all(v.blocking for v in violations if v.policy == "waiver-valid")
    assert any("reason has 4 words" in m for m in invalid) and any("'no-such-policy'" in m for m in invalid)
    unused = [v for v in violations if v.policy == "waiver-audit"]
    assert [(v.enforcement, "ecs-service-no-public-ip" in v.message) for v in unused] == [("advisory", True)]


def test_a_waived_finding_is_reported_as_waived_with_its_reason(run_program) -> None:
    import pulumi_aws as aws

    graph = run_program(lambda: aws.rds.Instance("reporting-db", engine="postgres", instance_class="db.t4g.micro",
                                                 publicly_accessible=True, storage_encrypted=True),
                        project="proj", stack="test", config={"proj:waivers": [
                            {"policy": "rds-not-public", "resource": "reporting-*", "reason": REASON}]})
    violations, _ = run_policies(graph, packs=[PACK])
    v = next(v for v in violations if v.policy == "rds-not-public")
    assert (v.waived, v.waiver_reason, v.blocking, v.enforcement) == (True, REASON, False, "mandatory")
    assert v.to_json()["waived"] is True
    assert not [v for v in violations if v.policy in ("waiver-valid", "waiver-audit")]


# -- environment -----------------------------------------------------------------------------------------------
def test_environment_from_stack_config_then_tags_then_provider_default_tags() -> None:
    rule = PACK.rule("prod-stateful-protected")
    bucket = "aws:s3/bucket:Bucket"

    def env(config: dict, res: Res) -> str | None:
        return Context(rule, {}, StackInfo(project="proj", stack="prod", config=config)).environment(res)

    tagged = Res(bucket, "b", "u", {"tags": {"Environment": "Production"}})
    assert env({"proj:environment": "dev"}, tagged) == "dev"
    assert env({}, tagged) == "prod"
    assert env({"backend-hosting:environment": "staging"}, tagged) == "staging"
    via_provider = Res(bucket, "b", "u", {}, provider_props={"defaultTags": json.dumps({"tags": {"env": "prd"}})})
    assert env({}, via_provider) == "prod"
    gcp = Res("gcp:storage/bucket:Bucket", "g", "u", {"labels": {"environment": "prod"}})
    assert env({}, gcp) == "prod"
    # The stack's name is never used: a stack called "prod" with no environment anywhere is not prod.
    assert env({}, Res(bucket, "b", "u", {})) is None
    assert rule.evaluate(Res(bucket, "b", "u", {}), Context(rule, {}, StackInfo(project="proj", stack="prod"))) == []


# -- policy config and enforcement ---------------------------------------------------------------------------
def test_resolve_config_like_the_cli() -> None:
    resolved = resolve_config(PACK, {
        "all": "advisory",
        "rds-not-public": {"enforcementLevel": "mandatory"},
        "required-tags": "disabled",
        "sg-no-world-ingress": {"allowedPublicPorts": [443]},
    })
    assert resolved["rds-not-public"] == ("mandatory", {})
    assert resolved["required-tags"][0] == "disabled"
    assert resolved["sg-no-world-ingress"] == ("advisory", {"allowedPublicPorts": [443]})
    assert resolved["lb-listener-tls-policy"][1]["allowedPolicies"][0] == "ELBSecurityPolicy-TLS13-1-2-*"
    assert resolve_config(PACK)["required-tags"][0] == "advisory"
    with pytest.raises(ValueError, match="enforcement level 'block'"):
        resolve_config(PACK, {"rds-not-public": "block"})


def test_runner_honours_enforcement_levels_and_policy_config(tmp_path) -> None:
    lb_sg = Res("aws:ec2/securityGroup:SecurityGroup", "alb-sg", "urn:sg")
    lb = Res("aws:lb/loadBalancer:LoadBalancer", "alb", "urn:lb", {"accessLogs": {"bucket": "b", "enabled": True},
                                                                   "dropInvalidHeaderFields": True},
             prop_deps={"securityGroups": ["urn:sg"]})
    rule = Res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "alb-8443", "urn:rule",
               {"ipProtocol": "tcp", "fromPort": 8443, "toPort": 8443, "cidrIpv4": "0.0.0.0/0"},
               prop_deps={"securityGroupId": ["urn:sg"]})
    db = Res("aws:rds/instance:Instance", "db", "urn:db", {"publiclyAccessible": True, "storageEncrypted": True})
    resources = [lb_sg, lb, rule, db]
    stack = StackInfo(project="proj", stack="test", offline=True)

    def found(config: dict | None) -> set[tuple[str, str, str]]:
        return {(v.policy, v.resource_name, v.enforcement) for v in run_pack(PACK, resources, stack, config)
                if v.policy in ("sg-no-world-ingress", "rds-not-public")}

    assert found(None) == {("sg-no-world-ingress", "alb-8443", "mandatory"), ("rds-not-public", "db", "mandatory")}
    assert found({"sg-no-world-ingress": {"allowedPublicPorts": [443, 8443]},
                  "rds-not-public": "advisory"}) == {("rds-not-public", "db", "advisory")}
    assert found({"all": "disabled"}) == set()
    assert found({"rds-not-public": "remediate"}) >= {("rds-not-public", "db", "mandatory")}
    path = tmp_path / "policy-config.json"
    path.write_text(json.dumps({"security": {"rds-not-public": "disabled"}}))
    from review.model import Graph, Resource

    graph = Graph(project="proj", stack="test", outputs={}, resources=[
        Resource(urn=r.urn, type=r.type, name=r.name, parent=None, custom=True, provider=None, inputs=dict(r.props),
                 options={}, property_dependencies=dict(r.prop_deps)) for r in resources])
    violations, _ = run_policies(graph, packs=[PACK], policy_config=path)
    assert "rds-not-public" not in {v.policy for v in violations}


# -- the CLI-side validate wrappers (pulumi_policy's own argument objects and proxies) -------------------------
def test_cli_wrappers_read_pulumi_config_and_suppress_waived_findings(monkeypatch) -> None:
    import policies.common as common

    monkeypatch.setenv("PULUMI_PROJECT", "proj")
    monkeypatch.setenv("PULUMI_STACK", "test")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({
        "proj:environment": "prod",
        "proj:waivers": json.dumps([{"policy": "rds-not-public", "resource": "db", "reason": REASON}]),
    }))
    policies = {p.name: p for p in PACK.policies()}
    reported: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append((message, urn))

    props = unknown_checking_proxy({"publiclyAccessible": True, "storageEncrypted": True,
                                    "deletionProtection": "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
                                    "skipFinalSnapshot": True, "tags": {"owner": "x"}})
    args = ResourceValidationArgs("aws:rds/instance:Instance", props, "urn:db", "db", _opts(), None, None)
    try:
        policies["rds-not-public"].validate(args, report)
        assert reported == []  # waived: not reported to the CLI
        policies["rds-final-snapshot"].validate(args, report)  # environment prod from PULUMI_CONFIG
        assert [m for m, _ in reported] == ["skipFinalSnapshot is true in prod"]
        reported.clear()
        policies["rds-deletion-protection"].validate(args, report)  # unknown in preview: no finding
        assert reported == []
        bucket = PolicyResource("aws:s3/bucket:Bucket", unknown_checking_proxy({"bucket": "b"}), "urn:b", "b",
                                _opts(protect=True), None, None, [], {})
        policies["s3-bucket-versioning"].validate(StackValidationArgs([bucket], {}), report)
        assert reported == [("the bucket has no BucketVersioning", "urn:b")]
        reported.clear()
        policies["waiver-audit"].validate(StackValidationArgs([bucket], {}), report)
        assert len(reported) == 1 and "waived rds-not-public on db" in reported[0][0] and REASON in reported[0][0]
    finally:
        common._WAIVED_UNDER_CLI.clear()


def test_discovery_finds_our_packs() -> None:
    packs = {p.name: p for p in discover_packs()}
    assert "security" in packs
    assert packs["security"].directory is not None and packs["security"].directory.name == "security"
