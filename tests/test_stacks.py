"""The dev, staging and prod stacks: what a cautious AWS reviewer checks, per stack and per profile.

Also keeps ``docs/settings.md`` in sync with the settings model (``pytest --update-inventories`` rewrites it).
"""

from __future__ import annotations

import fnmatch
import inspect
import json
from pathlib import Path
from typing import Any

import pulumi_aws
import pytest
from helpers import AWS_STACKS

from review.mocks import managed_prefix_list_id
from review.model import Graph, Resource
from stacks.settings import Settings, from_stack_file

REPO = Path(__file__).resolve().parent.parent
STACKS = AWS_STACKS
SETTINGS_DOC = REPO / "docs" / "settings.md"
STANDARD_TAGS = ("environment", "owner", "cost-center", "managed-by")

RESOURCE_STAR_ALLOWED = {"ecr:GetAuthorizationToken", "secretsmanager:GetRandomPassword", "xray:PutTraceSegments",
                         "xray:PutTelemetryRecords"}
"""Actions AWS offers no resource-level permission for: ``"*"`` is their only valid resource."""

IDENTITY_POLICY_TYPES = {"aws:iam/rolePolicy:RolePolicy": "policy", "aws:iam/policy:Policy": "policy",
                         "aws:iam/userPolicy:UserPolicy": "policy", "aws:iam/groupPolicy:GroupPolicy": "policy"}


def stack_settings(stack: str) -> Settings:
    """A stack's validated settings, read from its stack file like the program does."""
    return from_stack_file(REPO / f"Pulumi.{stack}.yaml")


def custom(g: Graph) -> list[Resource]:
    return [r for r in g if r.custom and not r.type.startswith("pulumi:providers:")]


# -- every stack ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_uses_the_explicit_provider(run_stack, stack):
    g = run_stack(stack)
    settings = stack_settings(stack)
    providers = {r.name: r for r in g.by_type("pulumi:providers:aws")}
    # the stack's provider, and (issue 14) the DR region's when dr.crossRegion; the us-east-1 provider CloudFront's
    # web ACL needs exists only for stacks outside us-east-1
    expected = {"aws": settings.region}
    if settings.dr_region:
        expected["aws-dr"] = settings.dr_region
    assert {k: p.inputs["region"] for k, p in providers.items()} == expected
    assert not any("defaultTags" in p.inputs for p in providers.values()), "tags are passed explicitly"
    wrong = [f"{r.type} {r.name}: {r.provider_urn}" for r in custom(g)
             if r.type.startswith("aws:") and r.provider_urn not in {p.urn for p in providers.values()}]
    assert not wrong, "resources on a default provider:\n" + "\n".join(wrong)
    orphans = [r.name for r in custom(g) if r.parent is None]
    assert not orphans, f"custom resources outside any component: {orphans}"


@pytest.mark.parametrize("stack", STACKS)
def test_internet_ingress_only_to_the_load_balancer_on_80_and_443(run_stack, stack):
    g = run_stack(stack)
    alb_sg = g.by_name(f"app-{stack}-alb", "aws:ec2/securityGroup:SecurityGroup").id
    open_rules = []
    for r in g.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        if r.inputs.get("cidrIpv4") == "0.0.0.0/0" or r.inputs.get("cidrIpv6") == "::/0":
            open_rules.append((r.inputs["securityGroupId"] == alb_sg, r.inputs["fromPort"], r.inputs["toPort"]))
    if stack_settings(stack).cdn.enabled:  # issue 14: only CloudFront reaches the load balancer
        assert open_rules == []
        cdn = [r for r in g.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if r.inputs.get("securityGroupId") == alb_sg]
        cloudfront = managed_prefix_list_id("com.amazonaws.global.cloudfront.origin-facing")
        assert [(r.inputs["fromPort"], r.inputs.get("prefixListId")) for r in cdn] == [(443, cloudfront)]
    else:
        assert sorted(open_rules) == [(True, 80, 80), (True, 80, 80), (True, 443, 443), (True, 443, 443)]
    for sg in g.by_type("aws:ec2/securityGroup:SecurityGroup"):
        assert not sg.inputs.get("ingress") and not sg.inputs.get("egress"), f"{sg.name}: inline rules"
    assert not g.by_type("aws:ec2/securityGroupRule:SecurityGroupRule"), "use the aws.vpc rule resources"


def _statements(doc: str) -> list[dict[str, Any]]:
    statements = json.loads(doc)["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("stack", STACKS)
def test_no_wildcard_iam_actions_or_resources(run_stack, stack):
    g = run_stack(stack)
    problems = []
    docs = [(r, r.inputs[key]) for t, key in IDENTITY_POLICY_TYPES.items() for r in g.by_type(t)]
    docs += [(r, p["policy"]) for r in g.by_type("aws:iam/role:Role") for p in r.inputs.get("inlinePolicies", [])]
    assert docs, "the stack has identity policies"
    for res, doc in docs:
        for st in _statements(doc):
            if st.get("Effect") != "Allow":
                continue
            actions = _as_list(st.get("Action", []))
            if "NotAction" in st or "NotResource" in st:
                problems.append(f"{res.name}: NotAction/NotResource")
            problems += [f"{res.name}: wildcard action {a}" for a in actions if a == "*" or a.endswith(":*")]
            if "*" in _as_list(st.get("Resource", [])) and not set(actions) <= RESOURCE_STAR_ALLOWED:
                problems.append(f"{res.name}: Resource '*' for {actions}")
    for role in g.by_type("aws:iam/role:Role"):
        for st in _statements(role.inputs["assumeRolePolicy"]):
            principal = st.get("Principal")
            if principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS", []))):
                problems.append(f"{role.name}: trust policy with a wildcard principal")
        assert not role.inputs.get("managedPolicyArns"), f"{role.name}: managed policies"
    assert not g.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("stack", STACKS)
def test_every_log_group_has_retention_and_a_kms_key(run_stack, stack):
    g = run_stack(stack)
    expected = stack_settings(stack).monitoring.log_retention_days
    groups = g.by_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) >= 3
    for lg in groups:
        assert lg.inputs.get("retentionInDays") == expected, f"{lg.name}: retention {lg.inputs.get('retentionInDays')}"
        assert lg.inputs.get("kmsKeyId"), f"{lg.name}: not encrypted with a customer-managed key"


def _takes_tags(type_: str) -> bool:
    module, cls = type_.split(":")[1].split("/")[0], type_.rsplit(":", 1)[1]
    klass = getattr(getattr(pulumi_aws, module, None), cls, None)
    if klass is None:
        return False
    return "tags" in inspect.signature(klass._internal_init).parameters


@pytest.mark.parametrize("stack", STACKS)
def test_every_taggable_resource_carries_the_standard_tags(run_stack, stack):
    g = run_stack(stack)
    want = stack_settings(stack).standard_tags
    missing = []
    for r in custom(g):
        if not _takes_tags(r.type):
            continue
        tags = r.inputs.get("tags") or {}
        bad = [k for k in STANDARD_TAGS if tags.get(k) != want[k]]
        if bad:
            missing.append(f"{r.type} {r.name}: {bad}")
    assert not missing, "resources without the standard tags:\n" + "\n".join(missing)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs(run_stack, stack):
    g = run_stack(stack)
    s = stack_settings(stack)
    out = g.outputs
    host = s.dns.domain_name or f"{s.name}.{s.environment}.example.com"
    assert out["url"] == f"https://{host}"
    assert out["route_urls"] == {"api /v1": f"https://{host}/v1/", "api /v2": f"https://{host}/v2/"}
    assert out["service_urls"] == {"api": f"https://{host}/v1/"}
    assert set(out["queue_urls"]) == set(out["dead_letter_queue_urls"]) == {"jobs"}
    assert set(out["job_task_definitions"]) == {"nightly", "migrate"}
    assert set(out["task_security_groups"]) == {"api", "worker", "nightly", "migrate"}
    assert out["database_endpoint"].endswith(":5432")
    assert out["database_secret_arn"].startswith("arn:aws:secretsmanager:")
    assert out["cache_endpoint"]
    assert set(out["bucket_names"]) == {b.name for b in s.storage.buckets}
    if s.monitoring.dashboard:
        assert out["dashboard_url"].startswith("https://") and "#dashboards/dashboard/" in out["dashboard_url"]
    else:  # dev saves the dashboard's 3 USD/month: no dashboard, and the output says so
        assert out.get("dashboard_url") is None
        assert not g.by_type("aws:cloudwatch/dashboard:Dashboard")


@pytest.mark.parametrize("stack", STACKS)
def test_the_api_gets_the_environment_and_secrets_of_what_it_uses(run_stack, stack):
    """The exact wiring of every service is in test_aws_services.py; here: what the api's container receives."""
    g = run_stack(stack)
    p = f"app-{stack}"
    task = g.inputs(f"{p}-api-task", "aws:ecs/taskDefinition:TaskDefinition")
    container = json.loads(task["containerDefinitions"])[0]
    app_secret = {"SESSION_SIGNING_KEY"} if stack == "prod" else set()  # secret:session-key, by reference
    assert {s["name"] for s in container["secrets"]} == {"DB_USERNAME", "DB_PASSWORD", *app_secret}
    assert all(s["valueFrom"].startswith("arn:aws:secretsmanager:") for s in container["secrets"])
    env = {e["name"] for e in container["environment"]}
    assert env == {"APP_ENVIRONMENT", "DB_HOST", "DB_PORT", "DB_NAME", "CACHE_HOST", "CACHE_PORT", "CACHE_TLS",
                   "CACHE_USER", "BUCKET_ASSETS", "QUEUE_JOBS_URL", "AUTH_ISSUER", "AUTH_JWKS_URL", "AUTH_CLIENT_IDS"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_role_carries_the_stacks_permissions_boundary(run_stack, stack):
    """The boundary ops bootstrap creates: the deploy role may only create or change roles that carry it."""
    g = run_stack(stack)
    roles = g.by_type("aws:iam/role:Role")
    per_task = {f"app-{stack}-{svc}-{role}" for svc in ("api", "worker", "nightly", "migrate")
                for role in ("task", "execution")}
    expected = per_task | {f"app-{stack}-flow-logs", f"app-{stack}-nightly-scheduler"}
    if stack == "prod":  # issue 12: the secret rotator; issue 14: Enhanced Monitoring, AWS Backup, S3 replication
        expected |= {"app-prod-secret-rotation-role", "app-prod-db-monitoring", "app-prod-backup-backup",
                     "app-prod-assets-replica-replication"}
    assert {r.name for r in roles} == expected
    boundary = f"arn:aws:iam::123456789012:policy/backend-hosting-boundary-{stack}"
    assert {r.name: r.inputs.get("permissionsBoundary") for r in roles} == {r.name: boundary for r in roles}


def test_the_boundary_can_be_switched_off_for_an_unbootstrapped_account(run_stack):
    g = run_stack("dev", extra_config={"backend-hosting:iam": {"permissionsBoundary": False}})
    assert all("permissionsBoundary" not in r.inputs for r in g.by_type("aws:iam/role:Role"))


# -- per profile ----------------------------------------------------------------------------------------------
def test_dev_is_the_cheap_layout_with_public_tasks_admitting_only_the_alb(run_stack):
    g = run_stack("dev")
    assert not g.by_type("aws:ec2/natGateway:NatGateway") and not g.by_type("aws:ec2/eip:Eip")
    assert not g.by_type("aws:wafv2/webAcl:WebAcl")
    assert [e.inputs["vpcEndpointType"] for e in g.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")] == ["Gateway"]
    public = {s.id for s in g.by_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == "public"}
    for svc in ("api", "worker"):
        service = g.by_name(f"app-dev-{svc}-service", "aws:ecs/service:Service").inputs
        assert service["networkConfiguration"]["assignPublicIp"] is True
        assert set(service["networkConfiguration"]["subnets"]) == public
    schedule = g.by_name("app-dev-nightly-schedule", "aws:scheduler/schedule:Schedule").inputs
    assert schedule["target"]["ecsParameters"]["networkConfiguration"]["assignPublicIp"] is True
    assert not [r for r in g if r.options["protect"]], "nothing is protected in dev"
    for svc in ("api", "worker", "nightly", "migrate"):
        td = g.by_name(f"app-dev-{svc}-task", "aws:ecs/taskDefinition:TaskDefinition").inputs
        assert (td["cpu"], td["memory"], td["runtimePlatform"]["cpuArchitecture"]) == ("256", "512", "ARM64")
    db = g.by_name("app-dev-db", "aws:rds/instance:Instance").inputs
    assert (db["instanceClass"], db["multiAz"], db["backupRetentionPeriod"]) == ("db.t4g.micro", False, 1)


def test_dev_public_tasks_are_a_recorded_waiver(run_stack):
    s = stack_settings("dev")
    g = run_stack("dev")
    for service in g.by_type("aws:ecs/service:Service"):
        waivers = [w for w in s.waivers if fnmatch.fnmatchcase(service.name, w.resource)]
        assert [w.policy for w in waivers] == ["ecs-service-no-public-ip"], \
            "Pulumi.dev.yaml must waive the public-IP tasks of the dev services, and only that"
    assert all(len(w.reason.split()) >= 10 for w in s.waivers)
    # The waiver names a policy the security pack really has (a renamed rule would leave it dangling).
    pack = "\n".join(p.read_text() for p in (REPO / "policies" / "security").glob("*.py"))
    for w in s.waivers:
        assert f'"{w.policy}"' in pack, f"waiver for unknown policy {w.policy}"
    # Nothing else is waived: the waiver's pattern matches the ECS services and nothing else.
    for w in s.waivers:
        assert {r.type for r in g if fnmatch.fnmatchcase(r.name, w.resource)} == {"aws:ecs/service:Service"}
    assert not stack_settings("staging").waivers, "staging needs no waiver"
    # prod needs no waiver: its generated session key rotates (the project's rotation function, every 90 days)
    assert not stack_settings("prod").waivers


def test_staging_has_the_prod_shape_at_smaller_sizes(run_stack):
    g = run_stack("staging")
    assert len(g.by_type("aws:ec2/natGateway:NatGateway")) == 1
    for service in g.by_type("aws:ecs/service:Service"):
        assert service.inputs["networkConfiguration"]["assignPublicIp"] is False
    assert sorted(r.inputs["scope"] for r in g.by_type("aws:wafv2/webAcl:WebAcl")) == ["CLOUDFRONT", "REGIONAL"]
    target = g.by_name("app-staging-api-scaling", "aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 4)
    worker = g.by_name("app-staging-worker-scaling", "aws:appautoscaling/target:Target").inputs
    assert (worker["minCapacity"], worker["maxCapacity"]) == (1, 4)


def test_prod_survives_an_az_and_protects_its_data(run_stack):
    g = run_stack("prod")
    assert len(g.by_type("aws:ec2/natGateway:NatGateway")) == 3
    assert len({s.inputs["availabilityZone"] for s in g.by_type("aws:ec2/subnet:Subnet")}) == 3
    assert len([e for e in g.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")
                if e.inputs["vpcEndpointType"] == "Interface"]) == 4
    for service in g.by_type("aws:ecs/service:Service"):
        assert service.inputs["networkConfiguration"]["assignPublicIp"] is False
    alb = g.by_name("app-prod-alb", "aws:lb/loadBalancer:LoadBalancer").inputs
    assert alb["enableDeletionProtection"] is True
    db = g.by_name("app-prod-db", "aws:rds/instance:Instance").inputs
    assert db["multiAz"] is True and db["deletionProtection"] is True and db["backupRetentionPeriod"] == 30
    cache = g.by_name("app-prod-cache", "aws:elasticache/replicationGroup:ReplicationGroup").inputs
    assert cache["automaticFailoverEnabled"] is True and cache["multiAzEnabled"] is True
    stateful = ["aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup",
                "aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:sqs/queue:Queue"]
    unprotected = [f"{t} {r.name}" for t in stateful for r in g.by_type(t) if not r.options["protect"]
                   and r.name != "app-prod-nightly-schedule-dlq"]  # holds only undelivered schedule invocations
    assert not unprotected, f"stateful resources without protect in prod: {unprotected}"
    assert all(g.by_type(t) for t in stateful)
    target = g.by_name("app-prod-api-scaling", "aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (3, 20)
    # A Route 53 zone is configured: the certificate is DNS-validated in it and the domain aliased to the ALB.
    # issue 14: api.example.com aliases the CloudFront distribution (the load balancer is its origin only)
    assert {r.name for r in g.by_type("aws:route53/record:Record")} == {"app-prod-cert-validation",
                                                                       "app-prod-api.example.com"}


# -- docs/settings.md -----------------------------------------------------------------------------------------
def test_settings_doc_is_in_sync(request):
    from stacks.settings_doc import render

    text = render()
    if request.config.getoption("--update-inventories", default=False):
        SETTINGS_DOC.write_text(text)
    current = SETTINGS_DOC.read_text() if SETTINGS_DOC.exists() else ""
    assert current == text, ("docs/settings.md is out of date with stacks/settings.py: run "
                             "`python -m stacks.settings_doc` and commit the result")
