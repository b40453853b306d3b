"""``python -m ops bootstrap`` against moto (in-process ``mock_aws``): bucket, OIDC provider, deploy roles.

The stacks' facts come from a small synthetic graph (the real stacks take seconds to capture); the derivation
itself is tested on that graph.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from helpers import moto_session

from ops.__main__ import main
from ops.bootstrap import (
    OIDC_HOST,
    PULUMI_META,
    SECRETS_KEY_ACTIONS,
    WIDENING_ROLE_ACTIONS,
    StackFacts,
    boundary_policy,
    deploy_policy,
    facts_from_graph,
    read_policy,
    split_policy,
    write_api_calls,
)
from ops.iam_eval import Request, decide
from ops.prices import OpsError
from review.model import Graph, Resource

ACCOUNT = "123456789012"
REPO = "acme/backend-hosting"
BUCKET = "acme-pulumi-state"
ECS_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
FLOW_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def boundary_arn(stack: str) -> str:
    """The boundary ``stacks/aws.py`` sets on every role (account from the provider)."""
    return f"arn:aws:iam::{ACCOUNT}:policy/backend-hosting-boundary-{stack}"


def res(type_: str, name: str, **inputs: Any) -> Resource:
    """A captured custom resource."""
    return Resource(urn=f"urn:pulumi:prod::backend-hosting::{type_}::{name}", type=type_, name=name, parent=None,
                    custom=True, provider=None, inputs=inputs, options={})


def graph(stack: str = "prod", region: str = "us-east-1", extra: list[Resource] | None = None) -> Graph:
    """A small stack: network, service roles, database, load balancer, DNS, buckets, logs, budget."""
    resources = [
        res("pulumi:providers:aws", "aws", region=region),
        res("aws:ec2/vpc:Vpc", f"app-{stack}-vpc"),
        res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "in"),
        res("aws:ecs/service:Service", "svc"),
        res("aws:iam/role:Role", "task", assumeRolePolicy=ECS_TRUST, permissionsBoundary=boundary_arn(stack)),
        res("aws:iam/role:Role", "flow", assumeRolePolicy=FLOW_TRUST, permissionsBoundary=boundary_arn(stack)),
        res("aws:iam/rolePolicy:RolePolicy", "task-policy"),
        res("aws:rds/instance:Instance", "db", manageMasterUserPassword=True),
        res("aws:lb/loadBalancer:LoadBalancer", "alb"),
        res("aws:route53/record:Record", "api"),
        res("aws:s3/bucket:Bucket", "assets"),
        res("aws:cloudwatch/logGroup:LogGroup", "logs"),
        res("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm"),
        res("aws:budgets/budget:Budget", "budget"),
        res("aws:appautoscaling/target:Target", "scaling"),
        *(extra or []),
    ]
    resources.append(Resource(urn="urn:comp", type="backend:aws:Network", name="net", parent=None, custom=False,
                              provider=None, inputs={}, options={}))
    return Graph(project="backend-hosting", stack=stack, resources=resources, outputs={},
                 config={"backend-hosting:environment": stack})


def facts_for(stack: str) -> StackFacts:
    """What bootstrap would capture for ``stack``."""
    return facts_from_graph(graph(stack), stack)


@pytest.fixture
def session() -> Iterator[boto3.Session]:
    """A fresh, empty moto account (for the tests that change it)."""
    with moto_session() as s:
        yield s


def bootstrap(session: boto3.Session, *extra: str, stacks: str = "dev,prod") -> int:
    return main(["bootstrap", "--repo", REPO, "--stacks", stacks, "--region", "us-east-1", "--bucket", BUCKET,
                 *extra], session=session, facts_for=facts_for)


# --- derivation from the graph --------------------------------------------------------------------------------

def test_facts_follow_what_the_stack_declares() -> None:
    f = facts_for("prod")
    assert f.services == ("application-autoscaling", "budgets", "cloudwatch", "ec2", "ecs", "elasticloadbalancing",
                          "iam", "logs", "rds", "route53", "s3", "secretsmanager")
    assert f.pass_to == ("ecs-tasks.amazonaws.com", "vpc-flow-logs.amazonaws.com")
    assert (f.prefix, f.region) == ("app-prod", "us-east-1")
    lean = facts_from_graph(Graph("backend-hosting", "dev", [res("pulumi:providers:aws", "aws", region="eu-west-1"),
                                                              res("aws:ec2/vpc:Vpc", "v")], {}), "dev")
    assert lean.services == ("ec2",) and lean.region == "eu-west-1"
    policy = deploy_policy(lean, ACCOUNT, BUCKET)
    assert [s["Sid"] for s in policy["Statement"] if s["Effect"] == "Allow"] == [
        "ReadConfiguration", "CreateTaggedForStack", "ManageTaggedForStack", "AdoptDefaultSecurityGroup",
        "StateObjects", "StateBackendRead", "StateBucketList"]
    assert f.unbounded_roles == ()


def test_an_unmapped_type_stops_the_bootstrap() -> None:
    with pytest.raises(OpsError, match="aws:sagemaker/domain:Domain"):
        facts_from_graph(graph(extra=[res("aws:sagemaker/domain:Domain", "d")]), "prod")


# --- the account --------------------------------------------------------------------------------------------------

Bootstrapped = tuple[boto3.Session, str]


class TestTheAccountAfterOneBootstrap:
    """What one bootstrap of dev and prod (``--noncurrent-days 30``) leaves in the account, read by each test; the
    tests that change the account (reruns, tampering, refusals) each start from an empty one (``session``)."""

    @pytest.fixture(scope="class")
    def bootstrapped(self) -> Iterator[Bootstrapped]:
        """The account after one bootstrap, and what the bootstrap printed."""
        with moto_session() as session:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                assert bootstrap(session, "--noncurrent-days", "30") == 0
            yield session, printed.getvalue()

    def test_state_bucket_settings(self, bootstrapped: Bootstrapped) -> None:
        session, out = bootstrapped
        assert f"pulumi login 's3://{BUCKET}?region=us-east-1'" in out
        s3 = session.client("s3")
        assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
        [rule] = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
        kms = session.client("kms")
        key = kms.describe_key(KeyId="alias/backend-hosting-state")["KeyMetadata"]
        assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}
        assert rule["BucketKeyEnabled"] is True
        assert key["KeyManager"] == "CUSTOMER" and kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]
        key_policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
        admin, use = key_policy["Statement"]
        assert not any(a.startswith(("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:*"))
                       for a in admin["Action"])  # administrators cannot read state with the key directly
        assert use["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com",
                                                    "kms:CallerAccount": ACCOUNT,
                                                    "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{BUCKET}"}
        block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
        assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                         "RestrictPublicBuckets": True}
        [own] = s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]["Rules"]
        assert own["ObjectOwnership"] == "BucketOwnerEnforced"
        policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
        tls = [s for s in policy["Statement"] if s["Condition"].get("Bool") == {"aws:SecureTransport": "false"}]
        assert tls and all(s["Effect"] == "Deny" and s["Principal"] == "*" and s["Action"] == "s3:*" for s in tls)
        assert sorted(tls[0]["Resource"]) == [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]
        [life] = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
        assert life["Status"] == "Enabled" and life["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
        assert keys == [PULUMI_META]

    def test_oidc_provider_and_exact_trust_policy(self, bootstrapped: Bootstrapped) -> None:
        session, out = bootstrapped
        iam = session.client("iam")
        arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC_HOST}"
        [provider] = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
        assert provider["Arn"] == arn
        assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ClientIDList"] == ["sts.amazonaws.com"]
        for stack in ("dev", "prod"):
            role = iam.get_role(RoleName=f"backend-hosting-deploy-{stack}")["Role"]
            assert role["MaxSessionDuration"] == 3600
            assert f"GitHub environment {stack}: DEPLOY_ROLE_ARN = {role['Arn']}" in out
            assert (f'Stack {stack} (secrets encrypted with its KMS key): pulumi stack init {stack} --secrets-provider '
                    f'"awskms://alias/backend-hosting-secrets-{stack}?region=us-east-1"') in out
            trust = role["AssumeRolePolicyDocument"]
            trust = json.loads(trust) if isinstance(trust, str) else trust
            assert trust == {"Version": "2012-10-17", "Statement": [{
                "Sid": "GitHubActionsEnvironment", "Effect": "Allow", "Principal": {"Federated": arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": f"repo:{REPO}:environment:{stack}"}}}]}

    def test_permissions_are_scoped(self, bootstrapped: Bootstrapped) -> None:
        session, _ = bootstrapped
        policy = _role_policy(session, "prod")
        allows, denies = split_policy(policy)
        assert len(json.dumps(allows, separators=(",", ":"))) < 10240  # inline role policy quota
        assert len(json.dumps(denies, separators=(",", ":"))) < 6144  # managed policy quota
        for st in allows["Statement"]:
            actions, resources = _listed(st["Action"]), _listed(st["Resource"])
            assert "*" not in actions and "*:*" not in actions
            assert not (("iam:*" in actions or "s3:*" in actions) and "*" in resources)
            if any(a.startswith("iam:") for a in actions):
                assert "*" not in resources, st
                allowed = (f"arn:aws:iam::{ACCOUNT}:role/app-prod-", f"arn:aws:iam::{ACCOUNT}:policy/app-prod-",
                           f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/")
                assert all(r.startswith(allowed) for r in resources), st
        by_sid = {s["Sid"]: s for s in policy["Statement"]}
        assert by_sid["StackBuckets"]["Resource"] == ["arn:aws:s3:::app-prod-*", "arn:aws:s3:::app-prod-*/*"]
        assert by_sid["PassStackRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": [
            "ecs-tasks.amazonaws.com", "vpc-flow-logs.amazonaws.com"]}}
        assert by_sid["ServiceLinkedRoles"]["Condition"]["StringEquals"]["iam:AWSServiceName"] == [
            "ecs.amazonaws.com", "ecs.application-autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com",
            "rds.amazonaws.com"]
        assert all(r.startswith(f"arn:aws:s3:::{BUCKET}/.pulumi/") and "/prod" in r
                   for r in by_sid["StateObjects"]["Resource"])
        # dev's role cannot touch prod's state, buckets or roles
        dev = json.dumps(_role_policy(session, "dev"))
        assert "app-prod" not in dev and "/prod" not in dev

    def test_the_boundary_is_the_most_the_stacks_roles_need(self, bootstrapped: Bootstrapped) -> None:
        session, _ = bootstrapped
        doc = _boundary_document(session, "prod")
        assert doc == boundary_policy(facts_for("prod"), ACCOUNT)
        assert len(json.dumps(doc, separators=(",", ":"))) < 6144  # managed policy quota
        allows = [s for s in doc["Statement"] if s["Effect"] == "Allow"]
        actions = [a for s in allows for a in _listed(s["Action"])]
        assert not [a for a in actions if a.startswith(("iam:", "sts:", "organizations:")) or a.endswith(":*")]
        assert sorted({a.split(":")[0] for a in actions}) == [
            "kms", "logs", "rds-db", "s3", "secretsmanager", "ssm"]  # the synthetic stack declares no ECR, no cache
        for st in allows:
            for r in _listed(st["Resource"]):
                if r == "*":
                    assert st["Action"] == "ecr:GetAuthorizationToken", st  # no resource-level permission exists
                elif not r.startswith("arn:aws:s3:::"):
                    assert r.startswith(f"arn:aws:{r.split(':')[2]}:us-east-1:{ACCOUNT}:"), r  # region and account
                if r.startswith(("arn:aws:s3:::", "arn:aws:ecr:", "arn:aws:logs:", "arn:aws:ssm:")):
                    assert "app-prod-" in r or "app-prod/" in r, r
        by_sid = {s["Sid"]: s for s in doc["Statement"]}
        assert by_sid["KeysThroughServices"]["Condition"] == {"StringEquals": {"kms:ViaService": [
            "secretsmanager.us-east-1.amazonaws.com", "ssm.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com"]}}
        assert by_sid["DenyOtherEnvironments"]["Effect"] == "Deny"
        dev = json.dumps(_boundary_document(session, "dev"))
        assert "app-prod" not in dev and "app-dev-" in dev

    def test_the_deploy_role_manages_roles_only_within_the_boundary(self, bootstrapped: Bootstrapped) -> None:
        session, _ = bootstrapped
        policy = _role_policy(session, "prod")
        boundary = {"StringEquals": {"iam:PermissionsBoundary": boundary_arn("prod")}}
        by_sid = {s["Sid"]: s for s in policy["Statement"]}
        within = by_sid["StackRolesWithinBoundary"]
        assert within["Condition"] == boundary and within["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/app-prod-*"
        assert {"iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"} <= set(within["Action"])
        # No other allow grants a widening action (or the boundary's removal) without that condition.
        for st in policy["Statement"]:
            if st["Effect"] == "Allow" and st["Sid"] != "StackRolesWithinBoundary":
                widening = {*WIDENING_ROLE_ACTIONS, "iam:DeleteRolePermissionsBoundary"}
                assert not set(_listed(st["Action"])) & widening, st
        deny = by_sid["DenyRolesWithoutBoundary"]
        assert deny["Effect"] == "Deny" and deny["Resource"] == "*"
        assert set(deny["Action"]) == set(WIDENING_ROLE_ACTIONS)
        assert deny["Condition"] == {"StringNotEquals": {"iam:PermissionsBoundary": boundary_arn("prod")}}
        assert by_sid["DenyBoundaryRemoval"] == {"Sid": "DenyBoundaryRemoval", "Effect": "Deny",
                                                 "Action": "iam:DeleteRolePermissionsBoundary", "Resource": "*"}
        edit = by_sid["DenyBoundaryPolicyChanges"]
        assert edit["Effect"] == "Deny" and {"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
                                             "iam:DeletePolicy"} <= set(edit["Action"])
        assert edit["Resource"] == f"arn:aws:iam::{ACCOUNT}:policy/backend-hosting-*"  # boundaries and guardrails
        # The boundary policy is not among the stack's own policies (app-prod-*) either.
        assert not by_sid["StackPolicies"]["Resource"].endswith("backend-hosting-boundary-*")

    def test_secrets_key_per_stack(self, bootstrapped: Bootstrapped) -> None:
        session, out = bootstrapped
        kms = session.client("kms")
        for stack in ("dev", "prod"):
            key = _secrets_key(session, stack)
            assert key["KeyState"] == "Enabled" and key["KeySpec"] == "SYMMETRIC_DEFAULT"
            assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
            key_policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
            role = f"arn:aws:iam::{ACCOUNT}:role/backend-hosting-deploy-{stack}"
            assert [(s["Principal"]["AWS"], s["Action"]) for s in key_policy["Statement"]] == [
                (f"arn:aws:iam::{ACCOUNT}:root", "kms:*"), (role, SECRETS_KEY_ACTIONS)]
            assert (f'pulumi stack init {stack} --secrets-provider '
                    f'"awskms://alias/backend-hosting-secrets-{stack}?region=us-east-1"') in out
            by_sid = {s["Sid"]: s for s in _role_policy(session, stack)["Statement"]}
            assert by_sid["SecretsProviderKey"] == {"Sid": "SecretsProviderKey", "Effect": "Allow",
                                                    "Action": SECRETS_KEY_ACTIONS, "Resource": key["Arn"]}
            # kms:* in the region (the stack's own keys) does not reach the secrets keys: only use of its own.
            assert by_sid["DenySecretsKeyAdministration"] == {
                "Sid": "DenySecretsKeyAdministration", "Effect": "Deny", "NotAction": SECRETS_KEY_ACTIONS,
                "Resource": key["Arn"]}
            other = by_sid["DenyOtherSecretsKeys"]
            assert other["NotResource"] == key["Arn"] and other["Action"] == "kms:*"
            assert other["Condition"] == {"ForAnyValue:StringLike": {
                "kms:ResourceAliases": "alias/backend-hosting-secrets-*"}}
            assert by_sid["DenySecretsAliasChanges"]["Resource"] == \
                f"arn:aws:kms:*:{ACCOUNT}:alias/backend-hosting-secrets-*"
        assert _secrets_key(session, "dev")["Arn"] != _secrets_key(session, "prod")["Arn"]


def _role_policy(session: boto3.Session, stack: str) -> dict[str, Any]:
    iam = session.client("iam")
    name = f"backend-hosting-deploy-{stack}"
    guard = f"arn:aws:iam::{ACCOUNT}:policy/backend-hosting-deploy-guardrails-{stack}"
    reads = f"arn:aws:iam::{ACCOUNT}:policy/backend-hosting-deploy-reads-{stack}"
    assert sorted(p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]) == \
        sorted([guard, reads])
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["pulumi-deploy"]
    doc = iam.get_role_policy(RoleName=name, PolicyName="pulumi-deploy")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    version = iam.get_policy(PolicyArn=guard)["Policy"]["DefaultVersionId"]
    denies = iam.get_policy_version(PolicyArn=guard, VersionId=version)["PolicyVersion"]["Document"]
    denies = json.loads(denies) if isinstance(denies, str) else denies
    assert all(s["Effect"] == "Allow" for s in doc["Statement"])
    assert all(s["Effect"] == "Deny" for s in denies["Statement"])
    rv = iam.get_policy(PolicyArn=reads)["Policy"]["DefaultVersionId"]
    read_doc = iam.get_policy_version(PolicyArn=reads, VersionId=rv)["PolicyVersion"]["Document"]
    read_doc = json.loads(read_doc) if isinstance(read_doc, str) else read_doc
    # the reads policy: the one read-only allow (Describe*/Get*/List* on *), apart for IAM's size quotas
    assert [s["Sid"] for s in read_doc["Statement"]] == ["ReadConfiguration"]
    return {"Version": "2012-10-17", "Statement": doc["Statement"] + read_doc["Statement"] + denies["Statement"]}


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


# --- statement by statement: nothing outside the stack ---------------------------------------------------------

READ_VERBS = ("Describe", "Get", "List")
PROD_ZONE = "Z0PRODZONE"
R, A = "us-east-1", ACCOUNT


def _prod_policy() -> dict[str, Any]:
    """prod with every service the real prod stack declares (tests/inventories/prod.yaml)."""
    services = ("acm", "application-autoscaling", "budgets", "cloudwatch", "ec2", "ecr", "ecs", "elasticache",
                "elasticloadbalancing", "iam", "kms", "logs", "rds", "route53", "s3", "secretsmanager", "sns", "wafv2")
    facts = dataclasses.replace(facts_for("prod"), services=services)
    return deploy_policy(facts, ACCOUNT, BUCKET, secrets_key_arn=f"arn:aws:kms:{R}:{A}:key/secrets-prod",
                         state_key_arn=f"arn:aws:kms:{R}:{A}:key/state", hosted_zone_ids=[PROD_ZONE])


def test_every_mutating_allow_is_scoped_to_the_stack() -> None:
    """Each Allow that can change something names the stack's resources (its prefix, zone, state, keys) or
    requires the stack's environment tag on the request or the resource; reads stay read-only on "*"."""
    star_only = {"ecs:DeregisterTaskDefinition"}  # AWS authorises it on "*" only (no resource, no tag key)
    for st in _prod_policy()["Statement"]:
        if st["Effect"] != "Allow":
            continue
        actions = _listed(st["Action"])
        if all(a.split(":")[1].startswith(READ_VERBS) for a in actions):
            continue  # configuration reads
        cond = st.get("Condition", {})
        tags = {k: v for block in cond.values() for k, v in block.items()
                if k in ("aws:RequestTag/environment", "aws:ResourceTag/environment")}
        resources = _listed(st["Resource"])
        if tags:
            assert tags in ({"aws:RequestTag/environment": "prod"}, {"aws:ResourceTag/environment": "prod"}), st
            continue
        scoped = all("app-prod" in r or r.endswith(f"hostedzone/{PROD_ZONE}") or f":::{BUCKET}" in r
                     or r.startswith(f"arn:aws:kms:{R}:{A}:key/") or r.endswith(("og:default:*", "pg:default.*",
                                                                                  "parametergroup:default.*",
                                                                                  "managedruleset/*/*"))
                     or (r.endswith("secret:rds!*") and "aws:CalledVia" in json.dumps(cond))
                     or r.endswith(":role/aws-service-role/*")
                     # issue 14: resources AWS names by generated id only (docs/ops.md "Edge and DR"): AWS
                     # Backup plans and selections, log deliveries, CloudFront's policies and distributions
                     or r.endswith((":backup-plan:*", ":backup-selection:*", ":delivery*"))
                     or r == f"arn:aws:cloudfront::{A}:*"
                     for r in resources if r != "*")
        if "*" in resources:
            assert set(actions) <= star_only, st
        else:
            assert scoped, st
        if any(r.startswith(("arn:aws:ec2", "arn:aws:rds", "arn:aws:ecs")) or r == "*" for r in resources):
            assert cond.get("StringEquals", {}).get("aws:RequestedRegion") == [R], st


def _tagged(env: str | None) -> dict[str, str]:
    return {} if env is None else {"aws:ResourceTag/environment": env}


@pytest.mark.parametrize(("action", "resource", "context", "expected"), [
    # EC2 ids: only what carries environment=prod
    ("ec2:DeleteSubnet", f"arn:aws:ec2:{R}:{A}:subnet/subnet-1", _tagged("prod"), "allow"),
    ("ec2:DeleteSubnet", f"arn:aws:ec2:{R}:{A}:subnet/subnet-1", _tagged("dev"), "deny"),
    ("ec2:DeleteSubnet", f"arn:aws:ec2:{R}:{A}:subnet/subnet-1", _tagged(None), "implicit-deny"),
    ("ec2:TerminateInstances", f"arn:aws:ec2:{R}:{A}:instance/i-1", _tagged(None), "implicit-deny"),
    ("ec2:AuthorizeSecurityGroupIngress", f"arn:aws:ec2:{R}:{A}:security-group/sg-1", _tagged(None),
     "implicit-deny"),
    ("ec2:CreateVpc", f"arn:aws:ec2:{R}:{A}:vpc/*", {"aws:RequestTag/environment": "prod"}, "allow"),
    ("ec2:CreateVpc", f"arn:aws:ec2:{R}:{A}:vpc/*", {"aws:RequestTag/environment": "dev"}, "implicit-deny"),
    ("ec2:CreateTags", f"arn:aws:ec2:{R}:{A}:vpc/*",
     {"aws:RequestTag/environment": "dev", "ec2:CreateAction": "CreateVpc"}, "deny"),
    ("ec2:CreateVpc", f"arn:aws:ec2:{R}:{A}:vpc/*", {}, "implicit-deny"),
    ("ec2:CreateVpc", f"arn:aws:ec2:eu-west-1:{A}:vpc/*",
     {"aws:RequestTag/environment": "prod", "aws:RequestedRegion": "eu-west-1"}, "implicit-deny"),
    # adopting someone else's untagged resource by tagging it is refused (outside a create)
    ("ec2:CreateTags", f"arn:aws:ec2:{R}:{A}:subnet/subnet-9", {"aws:RequestTag/environment": "prod"}, "deny"),
    ("ec2:CreateTags", f"arn:aws:ec2:{R}:{A}:subnet/subnet-9",
     {"aws:RequestTag/environment": "prod", "ec2:CreateAction": "CreateSubnet"}, "allow"),
    ("ec2:DeleteTags", f"arn:aws:ec2:{R}:{A}:subnet/subnet-1",
     {**_tagged("prod"), "aws:TagKeys": ["environment"]}, "deny"),
    ("ec2:GetPasswordData", f"arn:aws:ec2:{R}:{A}:instance/i-1", _tagged("prod"), "deny"),
    ("ec2:DescribeInstances", "*", {}, "allow"),
    # names: the stack's prefix only
    ("rds:DeleteDBInstance", f"arn:aws:rds:{R}:{A}:db:app-prod", {}, "allow"),
    ("rds:DeleteDBInstance", f"arn:aws:rds:{R}:{A}:db:app-dev", {}, "implicit-deny"),
    ("rds:DeleteDBInstance", f"arn:aws:rds:{R}:{A}:db:payments", {}, "implicit-deny"),
    ("rds:ModifyDBInstance", f"arn:aws:rds:{R}:{A}:db:app-prod", _tagged("dev"), "deny"),
    ("elasticloadbalancing:DeleteLoadBalancer", f"arn:aws:elasticloadbalancing:{R}:{A}:loadbalancer/app/app-dev-alb/1",
     {}, "implicit-deny"),
    ("elasticloadbalancing:DeleteLoadBalancer",
     f"arn:aws:elasticloadbalancing:{R}:{A}:loadbalancer/app/app-prod-alb/1", {}, "allow"),
    ("logs:DeleteLogGroup", f"arn:aws:logs:{R}:{A}:log-group:app-dev-logs", {}, "implicit-deny"),
    ("logs:DeleteLogGroup", f"arn:aws:logs:{R}:{A}:log-group:audit", {}, "implicit-deny"),
    ("logs:GetLogEvents", f"arn:aws:logs:{R}:{A}:log-group:app-prod-logs", {}, "deny"),
    ("ecs:UpdateService", f"arn:aws:ecs:{R}:{A}:service/app-dev-cluster/app-dev-service", {}, "implicit-deny"),
    ("ecs:UpdateService", f"arn:aws:ecs:{R}:{A}:service/app-prod-cluster-1/app-prod-service", {}, "allow"),
    ("secretsmanager:DeleteSecret", f"arn:aws:secretsmanager:{R}:{A}:secret:app-dev-db-AbC", {}, "implicit-deny"),
    ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{R}:{A}:secret:payments-AbC", {}, "deny"),
    ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{R}:{A}:secret:rds!db-1", {}, "deny"),
    ("secretsmanager:CreateSecret", f"arn:aws:secretsmanager:{R}:{A}:secret:rds!db-1",
     {"aws:CalledVia": ["rds.amazonaws.com"]}, "allow"),
    ("secretsmanager:CreateSecret", f"arn:aws:secretsmanager:{R}:{A}:secret:rds!db-1", {}, "implicit-deny"),
    ("sns:DeleteTopic", f"arn:aws:sns:{R}:{A}:app-dev-alerts", {}, "implicit-deny"),
    # keys: deletion only of the stack's tagged keys; never the secrets or state keys
    ("kms:ScheduleKeyDeletion", f"arn:aws:kms:{R}:{A}:key/k1", _tagged(None), "deny"),
    ("kms:ScheduleKeyDeletion", f"arn:aws:kms:{R}:{A}:key/k1", _tagged("dev"), "deny"),
    ("kms:ScheduleKeyDeletion", f"arn:aws:kms:{R}:{A}:key/k1", _tagged("prod"), "allow"),
    ("kms:ScheduleKeyDeletion", f"arn:aws:kms:{R}:{A}:key/secrets-prod", _tagged("prod"), "deny"),
    ("kms:Decrypt", f"arn:aws:kms:{R}:{A}:key/secrets-prod", {}, "allow"),
    ("kms:Decrypt", f"arn:aws:kms:{R}:{A}:key/secrets-dev", {"kms:ResourceAliases": [
        "alias/backend-hosting-secrets-dev"]}, "deny"),
    ("kms:Decrypt", f"arn:aws:kms:{R}:{A}:key/state", {"kms:ViaService": "s3.us-east-1.amazonaws.com"}, "allow"),
    ("kms:Decrypt", f"arn:aws:kms:{R}:{A}:key/state", {}, "implicit-deny"),
    ("kms:PutKeyPolicy", f"arn:aws:kms:{R}:{A}:key/state", {}, "deny"),
    # DNS: the stack's zone only; budgets: its own
    ("route53:ChangeResourceRecordSets", f"arn:aws:route53:::hostedzone/{PROD_ZONE}", {}, "allow"),
    ("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/ZOTHER", {}, "implicit-deny"),
    ("route53:DeleteHostedZone", f"arn:aws:route53:::hostedzone/{PROD_ZONE}", {}, "implicit-deny"),
    ("budgets:ModifyBudget", f"arn:aws:budgets::{A}:budget/app-prod-monthly", {}, "allow"),
    ("budgets:ModifyBudget", f"arn:aws:budgets::{A}:budget/app-dev-monthly", {}, "implicit-deny"),
    ("budgets:ModifyBudget", f"arn:aws:budgets::{A}:budget/company-total", {}, "implicit-deny"),
    # buckets and state
    ("s3:DeleteBucket", "arn:aws:s3:::app-dev-assets-1", {}, "implicit-deny"),
    ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/.pulumi/stacks/backend-hosting/dev.json", {}, "implicit-deny"),
    ("s3:PutObject", f"arn:aws:s3:::{BUCKET}/.pulumi/stacks/backend-hosting/prod.json", {}, "allow"),
    ("s3:PutBucketPolicy", f"arn:aws:s3:::{BUCKET}", {}, "deny"),
    # what a deploy never does
    ("iam:CreateUser", f"arn:aws:iam::{A}:user/app-prod-x", {}, "deny"),
    ("iam:CreateAccessKey", f"arn:aws:iam::{A}:user/admin", {}, "deny"),
    ("organizations:LeaveOrganization", "*", {}, "deny"),
    ("cloudtrail:StopLogging", f"arn:aws:cloudtrail:{R}:{A}:trail/org", {}, "deny"),
    ("iam:CreateRole", f"arn:aws:iam::{A}:role/app-prod-x", {}, "deny"),  # no boundary
    ("iam:CreateRole", f"arn:aws:iam::{A}:role/app-prod-x", {"iam:PermissionsBoundary": boundary_arn("prod")},
     "allow"),
    ("iam:PutRolePolicy", f"arn:aws:iam::{A}:role/backend-hosting-deploy-prod",
     {"iam:PermissionsBoundary": boundary_arn("prod")}, "implicit-deny"),
])
def test_concrete_requests(action: str, resource: str, context: dict[str, Any], expected: str) -> None:
    ctx = {"aws:RequestedRegion": R, **context}
    assert decide([_prod_policy()], Request(action, resource, ctx)) == expected


def test_rerun_is_idempotent_and_removes_extra_grants(session: boto3.Session,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert bootstrap(session) == 0
    first = _role_policy(session, "prod")
    iam = session.client("iam")
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    extra = iam.create_policy(PolicyName="too-much", PolicyDocument=json.dumps(admin))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="backend-hosting-deploy-prod", PolicyArn=extra)
    iam.update_role(RoleName="backend-hosting-deploy-prod", MaxSessionDuration=43200)
    capsys.readouterr()
    assert bootstrap(session) == 0
    out = capsys.readouterr().out
    assert "update state bucket" in out and "keep OIDC provider" in out
    assert "update role backend-hosting-deploy-prod" in out
    assert _role_policy(session, "prod") == first
    assert iam.get_role(RoleName="backend-hosting-deploy-prod")["Role"]["MaxSessionDuration"] == 3600
    assert len(iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]) == 1
    assert len([r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("backend-hosting-deploy-")]) == 2
    # The secrets keys: the same keys, their rotation brought back.
    kms = session.client("kms")
    prod = _secrets_key(session, "prod")
    kms.disable_key_rotation(KeyId=prod["KeyId"])
    assert bootstrap(session) == 0
    assert _secrets_key(session, "prod")["Arn"] == prod["Arn"]
    assert len(kms.list_keys()["Keys"]) == 3  # two secrets keys and the state key
    assert kms.get_key_rotation_status(KeyId=prod["KeyId"])["KeyRotationEnabled"] is True


def test_dry_run_calls_no_write_api(session: boto3.Session, capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[str] = []
    session.events.register("before-call", lambda model, **_: calls.append(model.name))
    assert bootstrap(session, "--dry-run") == 0
    out = capsys.readouterr().out
    assert calls and write_api_calls(calls) == []
    assert "create role backend-hosting-deploy-prod" in out and '"sts:AssumeRoleWithWebIdentity"' in out
    assert "create permissions boundary backend-hosting-boundary-prod" in out
    assert "create secrets key alias/backend-hosting-secrets-prod" in out
    assert session.client("kms").list_keys()["Keys"] == []
    assert "create state key alias/backend-hosting-state" in out
    assert '"Sid": "StackNamedResources"' in out and '"aws:SecureTransport": "false"' in out
    assert session.client("s3").list_buckets()["Buckets"] == []
    assert session.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"] == []


# --- permissions boundary -----------------------------------------------------------------------------------------

def _boundary_document(session: boto3.Session, stack: str) -> dict[str, Any]:
    iam = session.client("iam")
    arn = boundary_arn(stack)
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["IsDefaultVersion"] for v in versions] == [True], "only the default version exists"
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=versions[0]["VersionId"])["PolicyVersion"]["Document"]
    return json.loads(doc) if isinstance(doc, str) else doc


def _allowed_by(boundary: dict[str, Any], action: str, resource: str, condition: dict[str, Any] | None) -> bool:
    """Whether an allow statement of the boundary covers (action, resource) of a grant with ``condition``."""
    import fnmatch

    for st in boundary["Statement"]:
        if st["Effect"] != "Allow" or not any(fnmatch.fnmatchcase(action, a) for a in _listed(st["Action"])):
            continue
        if not any(fnmatch.fnmatchcase(resource, r) for r in _listed(st["Resource"])):
            continue
        passed = st.get("Condition", {}).get("StringEquals", {}).get("iam:PassedToService")
        if passed is not None:  # the grant must pass the role to that service only
            granted = ((condition or {}).get("StringEquals") or {}).get("iam:PassedToService")
            if granted is None or not set(_listed(granted)) <= set(_listed(passed)):
                continue
        via = st.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
        if via is not None:  # the grant must be at least as narrow: through those services only
            granted = ((condition or {}).get("StringEquals") or {}).get("kms:ViaService")
            if granted is None or not set(_listed(granted)) <= set(via):
                continue
        return True
    return False


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_boundary_covers_every_grant_the_real_stacks_declare(run_stack: Any, stack: str) -> None:
    """Derived, not guessed: every statement the stack's code writes on its roles fits inside the boundary, so the
    boundary removes nothing the code grants (and everything else)."""
    g = run_stack(stack)
    facts = facts_from_graph(g, stack)
    assert facts.unbounded_roles == ()
    boundary = boundary_policy(facts, ACCOUNT)
    checked = 0
    for doc in (r.inputs["policy"] for r in g.by_type("aws:iam/rolePolicy:RolePolicy")):
        for st in json.loads(doc)["Statement"]:
            for action in _listed(st["Action"]):
                for resource in _listed(st["Resource"]):
                    assert _allowed_by(boundary, action, resource, st.get("Condition")), (action, resource)
                    checked += 1
    assert checked >= 10
    # And it is a boundary: nothing outside the stack's names.
    assert not _allowed_by(boundary, "s3:GetObject", "arn:aws:s3:::app-other-assets/x", None)
    assert not _allowed_by(boundary, "logs:PutLogEvents",
                           f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:app-other-logs", None)
    assert not _allowed_by(boundary, "kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k", None)
    assert not _allowed_by(boundary, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/app-{stack}-task", None)


def test_rerun_restores_a_tampered_boundary(session: boto3.Session, capsys: pytest.CaptureFixture[str]) -> None:
    assert bootstrap(session) == 0
    first = _boundary_document(session, "prod")
    iam = session.client("iam")
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    for _ in range(4):  # IAM's quota: five versions; the rerun must still be able to write its own
        iam.create_policy_version(PolicyArn=boundary_arn("prod"), PolicyDocument=json.dumps(admin), SetAsDefault=True)
    capsys.readouterr()
    assert bootstrap(session) == 0
    out = capsys.readouterr().out
    assert "update permissions boundary backend-hosting-boundary-prod" in out
    assert "keep permissions boundary backend-hosting-boundary-dev" in out
    assert _boundary_document(session, "prod") == first


def test_a_stack_whose_roles_lack_the_boundary_is_refused(session: boto3.Session,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    def unbounded(stack: str) -> StackFacts:
        return facts_from_graph(graph(stack, extra=[res("aws:iam/role:Role", "legacy", assumeRolePolicy=ECS_TRUST)]),
                                stack)

    argv = ["bootstrap", "--repo", REPO, "--stacks", "prod", "--region", "us-east-1", "--bucket", BUCKET]
    assert main(argv, session=session, facts_for=unbounded) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "roles legacy carry no permissions boundary" in err
    assert "permissionsBoundary: true" in err
    assert session.client("s3").list_buckets()["Buckets"] == []


# --- secrets provider key -----------------------------------------------------------------------------------------

def _secrets_key(session: boto3.Session, stack: str) -> dict[str, Any]:
    return session.client("kms").describe_key(KeyId=f"alias/backend-hosting-secrets-{stack}")["KeyMetadata"]


def test_a_secrets_key_pending_deletion_stops_the_bootstrap(session: boto3.Session,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert bootstrap(session, stacks="prod") == 0
    kms = session.client("kms")
    kms.schedule_key_deletion(KeyId=_secrets_key(session, "prod")["KeyId"], PendingWindowInDays=7)
    capsys.readouterr()
    assert bootstrap(session, stacks="prod") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PendingDeletion" in err and "alias/backend-hosting-secrets-prod" in err


@pytest.mark.parametrize("argv", [
    ["bootstrap", "--repo", "not-a-repo", "--stacks", "dev", "--region", "us-east-1"],
    ["bootstrap", "--repo", REPO, "--region", "us-east-1"],
    ["bootstrap", "--repo", REPO, "--stacks", "dev", "--region", "mars-1"],
    ["bootstrap", "--repo", REPO, "--stacks", "dev", "--region", "us-east-1", "--bucket", "Bad_Bucket"],
    ["bootstrap", "--repo", REPO, "--stacks", "nosuchstack", "--region", "us-east-1"],
    ["bootstrap", "--repo", REPO, "--stacks", "dev", "--region", "us-east-1", "--noncurrent-days", "x"],
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("ops: ") and err.count("\n") == 1 and "Traceback" not in err


def test_a_state_bucket_named_like_a_stacks_buckets_is_refused(session: boto3.Session,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bootstrap", "--repo", REPO, "--stacks", "prod", "--region", "us-east-1", "--bucket", "app-prod-state"]
    assert main(argv, session=session, facts_for=facts_for) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "choose another --bucket" in err
    assert session.client("s3").list_buckets()["Buckets"] == []


def test_deploy_workflow_matches_what_bootstrap_creates() -> None:
    import yaml

    from ops.bootstrap import MAX_SESSION_SECONDS

    workflow = yaml.safe_load((Path(__file__).resolve().parents[1] / ".github/workflows/deploy.yml").read_text())
    assert workflow["permissions"]["id-token"] == "write"
    job = workflow["jobs"]["deploy"]
    assert job["environment"] == "${{ matrix.stack }}"  # the token's sub is repo:ORG/REPO:environment:<stack>
    assert job["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"
    [creds] = [s["with"] for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")]
    assert creds["role-to-assume"] == "${{ vars.DEPLOY_ROLE_ARN }}"
    assert creds["role-duration-seconds"] <= MAX_SESSION_SECONDS
    # No long-lived secret: the stacks' secrets provider is their KMS key, used with the role's credentials.
    text = (Path(__file__).resolve().parents[1] / ".github/workflows/deploy.yml").read_text()
    assert "PULUMI_CONFIG_PASSPHRASE" not in text and "secrets." not in text
    steps = [s.get("uses", "") + s.get("run", "") for s in job["steps"]]
    first_aws = next(i for i, s in enumerate(steps) if s.startswith("aws-actions/configure-aws-credentials"))
    assert all(i > first_aws for i, s in enumerate(steps) if "pulumi" in s), "pulumi runs with the role's credentials"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_type_the_stacks_declare_maps_to_a_service(stack: str) -> None:
    """The golden inventories (tests/inventories) list every type each AWS stack declares; none may be unmapped."""
    import yaml

    counts = yaml.safe_load((Path(__file__).resolve().parent / "inventories" / f"{stack}.yaml").read_text())["counts"]
    g = Graph("backend-hosting", stack, [res(t, t) for t in counts if t.startswith(("aws:", "pulumi:"))], {},
              config={"backend-hosting:environment": stack})
    f = facts_from_graph(g, stack)
    brief = {"ec2", "ecs", "ecr", "elasticloadbalancing", "rds", "elasticache", "s3", "kms", "logs", "cloudwatch",
             "sns", "secretsmanager", "wafv2", "acm", "route53", "budgets", "application-autoscaling", "iam",
             "sqs", "scheduler", "events", "servicediscovery",
             "cognito-idp", "lambda",  # issue 9: queues, schedules, failed-run rules; issue 12: user pools, the
             # secret rotation function
             "cloudfront", "backup"}  # issue 14: the CDN (staging, prod) and AWS Backup (prod)
    assert set(f.services) <= brief
    assert {"ec2", "ecs", "ecr", "elasticloadbalancing", "rds", "s3", "kms", "logs", "iam"} <= set(f.services)


def test_the_runbook_initialises_stacks_with_the_key_bootstrap_creates() -> None:
    from ops.bootstrap import secrets_provider

    docs = Path(__file__).resolve().parents[1] / "docs"
    line = f'pulumi stack init <stack> --secrets-provider "{secrets_provider("<stack>", "<region>")}"'
    assert line in (docs / "runbook.md").read_text() and line in (docs / "ops.md").read_text()
    assert "--secrets-provider passphrase" not in (docs / "runbook.md").read_text()


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_real_stacks_policies_fit_iam_quotas(stack: str) -> None:
    """Every type the stack declares (golden inventory), in a long region name: inline <= 10,240, managed <= 6,144."""
    import yaml

    counts = yaml.safe_load((Path(__file__).resolve().parent / "inventories" / f"{stack}.yaml").read_text())["counts"]
    resources = [res(t, t) for t in counts if t.startswith("aws:")]
    resources.append(res("pulumi:providers:aws", "aws", region="ap-southeast-2"))
    f = facts_from_graph(Graph("backend-hosting", stack, resources, {},
                               config={"backend-hosting:environment": stack}), stack)
    key = f"arn:aws:kms:ap-southeast-2:{ACCOUNT}:key/0000aaaa-1111-2222-3333-444455556666"
    allows, denies = split_policy(deploy_policy(f, ACCOUNT, f"backend-hosting-state-{ACCOUNT}-ap-southeast-2",
                                                secrets_key_arn=key, state_key_arn=key,
                                                hosted_zone_ids=["Z0123456789ABCDEFGHIJ"]))
    assert len(json.dumps(allows, separators=(",", ":"))) < 10240
    assert len(json.dumps(denies, separators=(",", ":"))) < 6144
    reads = read_policy(deploy_policy(f, ACCOUNT, f"backend-hosting-state-{ACCOUNT}-ap-southeast-2",
                                      secrets_key_arn=key, state_key_arn=key,
                                      hosted_zone_ids=["Z0123456789ABCDEFGHIJ"]))
    assert reads is not None and len(json.dumps(reads, separators=(",", ":"))) < 6144


def _dns_graph(stack: str) -> Graph:
    g = graph(stack)
    for logical, fqdn in (("api-dns", f"api.{stack}.example.com"), ("cert", f"_x1.api.{stack}.example.com.")):
        r = res("aws:route53/record:Record", logical)
        r.inputs["name"] = fqdn
        g.resources.append(r)
    return g


def test_dns_records_only_in_the_stacks_hosted_zone(session: boto3.Session, capsys: pytest.CaptureFixture[str]) -> None:
    r53 = session.client("route53")
    parent = r53.create_hosted_zone(Name="example.com", CallerReference="1")["HostedZone"]["Id"].split("/")[-1]
    prod = r53.create_hosted_zone(Name="prod.example.com", CallerReference="2")["HostedZone"]["Id"].split("/")[-1]
    argv = ["bootstrap", "--repo", REPO, "--stacks", "prod", "--region", "us-east-1", "--bucket", BUCKET]
    assert main(argv, session=session, facts_for=lambda s: facts_from_graph(_dns_graph(s), s)) == 0
    assert f"prod: DNS records only in hosted zones {prod}" in capsys.readouterr().out
    by_sid = {s["Sid"]: s for s in _role_policy(session, "prod")["Statement"]}
    assert by_sid["StackHostedZones"]["Resource"] == [f"arn:aws:route53:::hostedzone/{prod}"]  # not the parent
    policy = _role_policy(session, "prod")
    change = "route53:ChangeResourceRecordSets"
    assert decide([policy], Request(change, f"arn:aws:route53:::hostedzone/{prod}", {})) == "allow"
    assert decide([policy], Request(change, f"arn:aws:route53:::hostedzone/{parent}", {})) == "implicit-deny"


def test_a_record_without_a_hosted_zone_stops_the_bootstrap(session: boto3.Session,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bootstrap", "--repo", REPO, "--stacks", "prod", "--region", "us-east-1", "--bucket", BUCKET]
    assert main(argv, session=session, facts_for=lambda s: facts_from_graph(_dns_graph(s), s)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no hosted zone in this account holds the record" in err


def test_the_rotation_function_is_deployable_and_bounded(run_stack: Any) -> None:
    """prod's secret rotation function: the deploy role manages Lambda only on the stack's function names and passes
    roles to Lambda; the boundary lets a role rotate only the stack's secrets."""
    facts = facts_from_graph(run_stack("prod"), "prod")
    assert "lambda" in facts.services and "lambda.amazonaws.com" in facts.pass_to
    policy = deploy_policy(facts, ACCOUNT, f"backend-hosting-state-{ACCOUNT}-us-east-1")
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    named = by_sid["StackNamedResources"]
    assert "lambda:*" in named["Action"]
    assert [r for r in named["Resource"] if ":lambda:" in r] == [f"arn:aws:lambda:*:{ACCOUNT}:function:app-prod-*"]
    assert "lambda.amazonaws.com" in by_sid["PassStackRoles"]["Condition"]["StringEquals"]["iam:PassedToService"]
    boundary = boundary_policy(facts, ACCOUNT)
    rotate = next(s for s in boundary["Statement"] if s["Sid"] == "RotateStackSecrets")
    assert rotate["Resource"] == [f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app-prod-*",
                                  f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app-prod/*"]
    assert not _allowed_by(boundary, "secretsmanager:PutSecretValue",
                           f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app-dev-session-key-abc123", None)
    dev = facts_from_graph(run_stack("dev"), "dev")  # no rotated secret in dev: no Lambda permissions at all
    assert "lambda" not in dev.services
    assert "RotateStackSecrets" not in {s["Sid"] for s in boundary_policy(dev, ACCOUNT)["Statement"]}
