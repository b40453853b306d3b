"""``python -m ops bootstrap``: the state bucket, the GitHub OIDC provider and one deploy role per stack.

Everything is idempotent: each step reads what exists and creates or updates it to the desired settings, so the
command is safe to re-run (after adding a stack, or after the stack starts managing a new service).

The deploy role's permissions are derived from what the stack declares (captured offline with the review engine):
the AWS service behind each declared resource type gets service-level actions, conditioned on the stack's region
for regional services; S3 only on the stack's own buckets (``<name>-<env>-*``) and on its own state objects; IAM only
on roles and policies named ``<name>-<env>-*``, and only on roles that carry the stack's permissions boundary
(``backend-hosting-boundary-<stack>``, a managed policy bootstrap writes: the most any role of the stack may ever
do); ``iam:PassRole`` only to the services those roles trust; use of the stack's secrets-provider KMS key
(``alias/backend-hosting-secrets-<stack>``) and no other; and an explicit deny on anything tagged for another
environment. See docs/ops.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks.naming import PROJECT, boundary_policy_name

from .prices import OpsError

"""The Pulumi project name: state objects live under ``.pulumi/stacks/<project>/``."""

OIDC_HOST = "token.actions.githubusercontent.com"
OIDC_URL = f"https://{OIDC_HOST}"
OIDC_AUDIENCE = "sts.amazonaws.com"
OIDC_THUMBPRINTS = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
"""GitHub's published intermediate thumbprints. IAM no longer checks them for this host (it trusts the CA), but
older API versions require a value."""

MAX_SESSION_SECONDS = 3600
DEFAULT_NONCURRENT_DAYS = 90
ROLE_POLICY_NAME = "pulumi-deploy"
PULUMI_META = ".pulumi/meta.yaml"
PULUMI_META_BODY = b"version: 1\n"
"""The DIY backend's layout marker (project-scoped stacks). Written once by bootstrap so deploy roles need no
write access outside their own stack's objects."""

# Pulumi type module (``aws:<module>/...``) -> IAM service prefix. A module not listed here stops the bootstrap
# (fail closed: add the mapping, review the permission, re-run).
MODULE_SERVICE: dict[str, str] = {
    "acm": "acm", "alb": "elasticloadbalancing", "appautoscaling": "application-autoscaling",
    "budgets": "budgets", "cloudwatch": "cloudwatch", "ec2": "ec2", "ecr": "ecr", "ecs": "ecs",
    "elasticache": "elasticache", "iam": "iam", "kms": "kms", "lb": "elasticloadbalancing", "rds": "rds",
    "route53": "route53", "s3": "s3", "secretsmanager": "secretsmanager", "sns": "sns", "vpc": "ec2",
    "wafv2": "wafv2", "sqs": "sqs", "ssm": "ssm", "events": "events", "scheduler": "scheduler",
    "servicediscovery": "servicediscovery", "cognito": "cognito-idp", "lambda": "lambda",
    "vpclattice": "vpc-lattice",
    "cloudfront": "cloudfront", "backup": "backup",  # issue 14: the CDN and AWS Backup
}
GLOBAL_SERVICES = frozenset({"route53", "budgets"})
"""Services whose API is global (called in us-east-1 whatever the stack's region): no region condition."""

SERVICE_LINKED: dict[str, str] = {
    "ecs": "ecs.amazonaws.com",
    "elasticloadbalancing": "elasticloadbalancing.amazonaws.com",
    "rds": "rds.amazonaws.com",
    "elasticache": "elasticache.amazonaws.com",
    "application-autoscaling": "ecs.application-autoscaling.amazonaws.com",
}
"""Services that create a service-linked role on first use in an account."""

AWS_MANAGED_POLICIES = frozenset({"AmazonECSInfrastructureRolePolicyForVpcLattice"})
"""AWS managed policies a stack may attach (each reviewed here); the ECS infrastructure role of VPC Lattice needs
this one (it registers tasks in the stack's Lattice target groups)."""

IAM_ROLE_ACTIONS = sorted([
    "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
    "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags",
    "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies",
    "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
])
IAM_POLICY_ACTIONS = sorted([
    "iam:CreatePolicy", "iam:DeletePolicy", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions",
    "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:TagPolicy", "iam:UntagPolicy",
    "iam:ListPolicyTags",
])
STATE_OBJECT_ACTIONS = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]

ROLE_GRANT_ACTIONS = ["iam:CreateRole", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary",
                      "iam:PutRolePolicy"]
"""Role actions that can change what a role may do: allowed only when the role carries the stack's boundary."""
WIDENING_ROLE_ACTIONS = ["iam:AttachRolePolicy", "iam:CreateRole", "iam:PutRolePermissionsBoundary",
                         "iam:PutRolePolicy"]
"""Denied outright (any role) unless the boundary is the stack's: no role without it, no other boundary."""
BOUNDARY_POLICY_ACTIONS = ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                           "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:UntagPolicy"]
SECRETS_KEY_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
"""What the deploy role (Pulumi's ``awskms://`` secrets provider) may do with its stack's secrets key."""
KEY_ROTATION_DAYS = 365
KEY_POLICY_RETRIES = 6
"""A role created moments ago may not yet be accepted as a key-policy principal (IAM propagation): retry."""


@dataclass(frozen=True)
class StackFacts:
    """What the deploy role of one stack must be able to manage, as declared by the stack."""

    stack: str
    environment: str
    name: str
    region: str
    services: tuple[str, ...]
    """IAM service prefixes of the declared resources (``iam`` included when the stack declares IAM)."""
    pass_to: tuple[str, ...] = ()
    """Service principals the stack's roles trust (what ``iam:PassRole`` may pass them to)."""
    attaches_managed_policies: bool = False
    aws_managed_policies: tuple[str, ...] = ()
    """AWS managed policies (names) the stack attaches; only those in :data:`AWS_MANAGED_POLICIES` are accepted."""
    record_names: tuple[str, ...] = ()
    """Names of the DNS records the stack declares (their hosted zones are resolved at bootstrap)."""
    extra_regions: tuple[str, ...] = ()
    """Regions of the stack's other providers (issue 14: the DR region, us-east-1 for CloudFront's web ACL)."""
    unbounded_roles: tuple[str, ...] = ()
    """Declared roles without the stack's permissions boundary (bootstrap refuses the stack: its deploy role
    could not create them)."""

    @property
    def prefix(self) -> str:
        """The physical-name prefix of the stack's resources, e.g. ``app-prod``."""
        return f"{self.name}-{self.environment}"


def _principals(doc: Any) -> list[str]:
    """Service principals allowed by an assume-role policy (a JSON string or a dict)."""
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError:
            return []
    out: list[str] = []
    for st in (doc or {}).get("Statement", []) if isinstance(doc, dict) else []:
        svc = (st.get("Principal") or {}).get("Service") if isinstance(st.get("Principal"), dict) else None
        out.extend([svc] if isinstance(svc, str) else list(svc or []))
    return out


def facts_from_graph(graph: Any, stack: str, *, name: str | None = None) -> StackFacts:
    """Derive :class:`StackFacts` from a captured ``review.model.Graph``; raises OpsError on an unmapped type."""
    services: set[str] = set()
    pass_to: set[str] = set()
    region = "us-east-1"
    regions: dict[str, str] = {}
    attaches = False
    aws_managed: set[str] = set()
    unbounded: list[str] = []
    records: set[str] = set()
    for res in graph:
        if res.type == "pulumi:providers:aws":
            if isinstance(res.inputs.get("region"), str):
                regions[res.name] = res.inputs["region"]
            continue
        if not res.custom or not res.type.startswith("aws:"):
            continue
        module = res.type.split(":")[1].split("/")[0]
        if module == "cloudwatch":
            kind = res.type.split("/")[1].split(":")[0]
            services.add("logs" if kind.startswith("log") else "events" if kind.startswith("event") else "cloudwatch")
            continue
        if module not in MODULE_SERVICE:
            raise OpsError(f"{stack}: no IAM service known for resource type {res.type} "
                           f"(add it to ops.bootstrap.MODULE_SERVICE)")
        services.add(MODULE_SERVICE[module])
        if res.type == "aws:iam/role:Role":
            pass_to.update(_principals(res.inputs.get("assumeRolePolicy")))
            if not str(res.inputs.get("permissionsBoundary") or "").endswith(f":policy/{boundary_name(stack)}"):
                unbounded.append(res.name)
        if res.type == "aws:route53/record:Record" and isinstance(res.inputs.get("name"), str):
            records.add(res.inputs["name"])
        if res.type in ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                        "aws:iam/policyAttachment:PolicyAttachment"):
            attaches = True
            policy = str(res.inputs.get("policyArn") or "")
            if ":iam::aws:policy/" in policy:
                managed = policy.rsplit("/", 1)[-1]
                if managed not in AWS_MANAGED_POLICIES:
                    raise OpsError(f"{stack}: {res.name} attaches the AWS managed policy {managed}, which the "
                                   "bootstrap has not reviewed (add it to ops.bootstrap.AWS_MANAGED_POLICIES)")
                aws_managed.add(managed)
        if res.type == "aws:rds/instance:Instance" and res.inputs.get("manageMasterUserPassword"):
            services.add("secretsmanager")  # RDS creates the master-password secret as the caller
    environment = graph.config_value("environment", stack)
    # the stack's provider is the one named "aws" (stacks/aws.py); the others add regions (DR, us-east-1)
    region = regions.get("aws") or next(iter(regions.values()), region)
    extra = tuple(sorted({r for r in regions.values() if r != region}))
    return StackFacts(stack=stack, environment=str(environment), extra_regions=extra,
                      name=name or str(graph.config_value("name", "app")), region=str(region),
                      services=tuple(sorted(services)), pass_to=tuple(sorted(pass_to)),
                      attaches_managed_policies=attaches, aws_managed_policies=tuple(sorted(aws_managed)),
                      unbounded_roles=tuple(sorted(unbounded)),
                      record_names=tuple(sorted(records)))


def capture_facts(repo_dir: Path, stack: str, *, name: str | None = None) -> StackFacts:
    """Run the stack's program offline (review engine) and derive its facts."""
    from review.engine import InputError, capture_program

    graph = capture_program(repo_dir, stack)
    if not any(r.type == "pulumi:providers:aws" for r in graph):
        raise InputError(f"stack {stack!r} is not an AWS stack (GCP stacks: python -m ops bootstrap-gcp)")
    return facts_from_graph(graph, stack, name=name)


def boundary_name(stack: str) -> str:
    """The permissions-boundary policy of a stack's roles (the program sets it on every role: one name, one place)."""
    return boundary_policy_name(stack)


def secrets_alias(stack: str) -> str:
    """The alias of a stack's secrets-provider KMS key."""
    return f"alias/{PROJECT}-secrets-{stack}"


def secrets_provider(stack: str, region: str) -> str:
    """The ``--secrets-provider`` URL of a stack (Pulumi's AWS KMS provider, through the alias)."""
    return f"awskms://{secrets_alias(stack)}?region={region}"


def default_bucket(account: str, region: str) -> str:
    """The state bucket's default name: globally unique per account and region."""
    return f"{PROJECT}-state-{account}-{region}"


def state_prefixes(stack: str) -> list[str]:
    """Object key patterns of one stack in the DIY backend's project-scoped layout (meta.yaml ``version: 1``).

    The checkpoint (``.json``, ``.json.gz``/``.zst``, ``.json.bak``), its history, backups and update journal, and
    its lock files, which are keyed by the fully qualified name ``organization/<project>/<stack>``.
    """
    return [f".pulumi/stacks/{PROJECT}/{stack}.json*", f".pulumi/history/{PROJECT}/{stack}/*",
            f".pulumi/backups/{PROJECT}/{stack}/*", f".pulumi/journal/{PROJECT}/{stack}/*",
            f".pulumi/locks/organization/{PROJECT}/{stack}/*"]


def trust_policy(account: str, repo: str, stack: str, partition: str = "aws") -> dict[str, Any]:
    """Only GitHub Actions jobs of ``repo`` running in the GitHub environment named ``stack`` may assume the role."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "GitHubActionsEnvironment",
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:{partition}:iam::{account}:oidc-provider/{OIDC_HOST}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{OIDC_HOST}:aud": OIDC_AUDIENCE,
                                       f"{OIDC_HOST}:sub": f"repo:{repo}:environment:{stack}"}},
    }]}


NAME_SCOPED: dict[str, tuple[str, ...]] = {
    "ecs": ("cluster/{p}", "cluster/{p}-*", "service/{p}-*/*", "task-definition/{p}:*", "task-definition/{p}-*:*",
            "task/{p}-*/*"),
    "elasticloadbalancing": ("loadbalancer/app/{p}-*/*", "loadbalancer/net/{p}-*/*", "targetgroup/{p}-*/*",
                             "listener/app/{p}-*/*/*", "listener/net/{p}-*/*/*", "listener-rule/app/{p}-*/*/*/*"),
    "rds": ("db:{p}", "db:{p}-*", "subgrp:{p}", "subgrp:{p}-*", "pg:{p}-*", "og:{p}-*", "snapshot:{p}-*"),
    "elasticache": ("replicationgroup:{p}", "replicationgroup:{p}-*", "cluster:{p}-*", "serverlesscache:{p}",
                    "serverlesscache:{p}-*", "subnetgroup:{p}", "subnetgroup:{p}-*", "parametergroup:{p}-*",
                    "user:{p}-*", "usergroup:{p}-*", "snapshot:{p}-*"),
    "logs": ("log-group:{p}-*", "log-group:/aws/rds/instance/{p}/*", "log-group:/aws/rds/instance/{p}-*",
             "log-group:aws-waf-logs-{p}-*", "delivery*"),
    "sns": ("{p}-*",),
    "sqs": ("{p}-*",),
    "ecr": ("repository/{p}-*",),
    "secretsmanager": ("secret:{p}-*", "secret:{p}/*"),
    "ssm": ("parameter/{p}-*", "parameter/{p}/*"),
    "events": ("rule/{p}-*",),
    "wafv2": ("regional/webacl/{p}-*/*", "global/webacl/{p}-*/*"),
    "backup": ("backup-vault:{p}-*", "backup-plan:*", "backup-selection:*"),
    "cloudwatch": ("alarm:{p}-*",),
    "scheduler": ("schedule/*/{p}-*", "schedule-group/{p}-*"),
    "lambda": ("function:{p}-*",),  # the secret rotation function (its name, its invoke permissions)
}
"""Services whose resource ARNs carry the names the stack gives them: resource-name prefix ``{p}`` =
``<name>-<env>`` (regional ARNs ``arn:<partition>:<service>:<region>:<account>:<suffix>``)."""
TAG_SCOPED = frozenset({"acm", "application-autoscaling", "ec2", "kms", "servicediscovery", "cognito-idp",
                        "vpc-lattice"})
"""Services whose ARNs carry generated ids: creates need ``aws:RequestTag/environment``, everything else
``aws:ResourceTag/environment`` = the stack's environment (untagged resources are out)."""
SENSITIVE_READS = sorted([
    "ec2:GetConsoleOutput", "ec2:GetConsoleScreenshot", "ec2:GetPasswordData", "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer", "kms:GetParametersForImport", "logs:FilterLogEvents", "logs:GetLogEvents",
    "logs:GetLogRecord", "logs:GetQueryResults", "logs:StartQuery", "rds:DownloadCompleteDBLogFile",
    "rds:DownloadDBLogFilePortion",
])
"""Reads that return data rather than configuration: never needed by a deploy (denied everywhere)."""
NEVER_NEEDED = sorted([
    "account:*", "organizations:*", "cloudtrail:DeleteTrail", "cloudtrail:PutEventSelectors",
    "cloudtrail:StopLogging", "cloudtrail:UpdateTrail", "config:DeleteConfigurationRecorder",
    "config:StopConfigurationRecorder", "guardduty:DeleteDetector", "guardduty:UpdateDetector",
    "iam:AddUserToGroup", "iam:AttachGroupPolicy", "iam:AttachUserPolicy", "iam:CreateAccessKey",
    "iam:CreateGroup", "iam:CreateLoginProfile", "iam:CreateOpenIDConnectProvider", "iam:CreateSAMLProvider",
    "iam:CreateServiceSpecificCredential", "iam:CreateUser", "iam:DeleteAccountPasswordPolicy",
    "iam:DeleteOpenIDConnectProvider", "iam:PutGroupPolicy", "iam:PutUserPolicy",
    "iam:UpdateAccessKey", "iam:UpdateAccountPasswordPolicy", "iam:UpdateLoginProfile",
    "iam:UpdateOpenIDConnectProviderThumbprint", "sts:AssumeRole",
])
"""What a deploy never does, denied whatever else allows it (users, keys, the organisation, audit trails)."""
TAG_ACTIONS = sorted(["acm:AddTagsToCertificate", "application-autoscaling:TagResource", "budgets:TagResource",
                      "cloudwatch:TagResource", "ec2:CreateTags", "ecr:TagResource", "ecs:TagResource",
                      "elasticache:AddTagsToResource", "elasticloadbalancing:AddTags", "events:TagResource",
                      "kms:TagResource", "logs:TagLogGroup", "logs:TagResource", "rds:AddTagsToResource",
                      "secretsmanager:TagResource", "sns:TagResource", "sqs:TagQueue", "ssm:AddTagsToResource",
                      "vpc-lattice:TagResource", "wafv2:TagResource"])
UNTAG_ACTIONS = sorted(["acm:RemoveTagsFromCertificate", "application-autoscaling:UntagResource",
                        "budgets:UntagResource", "cloudwatch:UntagResource", "ec2:DeleteTags", "ecr:UntagResource",
                        "ecs:UntagResource", "elasticache:RemoveTagsFromResource", "elasticloadbalancing:RemoveTags",
                        "events:UntagResource", "kms:UntagResource", "logs:UntagLogGroup", "logs:UntagResource",
                        "rds:RemoveTagsFromResource", "secretsmanager:UntagResource", "sns:UntagResource",
                        "sqs:UntagQueue", "ssm:RemoveTagsFromResource", "vpc-lattice:UntagResource",
                        "wafv2:UntagResource"])
KEY_DESTRUCTION = sorted(["kms:DeleteImportedKeyMaterial", "kms:DisableKey", "kms:DisableKeyRotation",
                          "kms:PutKeyPolicy", "kms:ReplicateKey", "kms:ScheduleKeyDeletion",
                          "kms:UpdatePrimaryRegion"])
STATE_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]
"""What S3 does with the state bucket's key for the deploy role (SSE-KMS with a bucket key)."""


def _arns(partition: str, service: str, region: str, account: str, suffixes: Iterable[str], prefix: str) -> list[str]:
    return [f"arn:{partition}:{service}:{region}:{account}:{s.format(p=prefix)}" for s in suffixes]


def deploy_policy(facts: StackFacts, account: str, bucket: str, partition: str = "aws", *,
                  secrets_key_arn: str | None = None, state_key_arn: str | None = None,
                  hosted_zone_ids: Iterable[str] = (), state_region: str | None = None) -> dict[str, Any]:
    """The deploy role's permissions for one stack (see the module docstring and docs/ops.md).

    Every statement that changes something is scoped to the stack: resource ARNs with the stack's name prefix
    where the service puts names in ARNs, ``aws:RequestTag``/``aws:ResourceTag`` ``environment`` where it puts
    generated ids, the hosted zones its records live in, its own buckets, state objects, roles and budgets.
    Reads of configuration (``Describe*``, ``List*``, ``Get*``, which AWS mostly does not scope) stay on ``*``.
    ``secrets_key_arn``/``state_key_arn``: the stack's secrets-provider key and the state bucket's key (their
    statements are left out when None).
    """
    iam_arn = f"arn:{partition}:iam::{account}"
    s3_arn = f"arn:{partition}:s3:::"
    p, env, region = facts.prefix, facts.environment, facts.region
    roles = f"{iam_arn}:role/{facts.prefix}-*"
    boundary = {"StringEquals": {"iam:PermissionsBoundary": f"{iam_arn}:policy/{boundary_name(facts.stack)}"}}
    in_region = {"aws:RequestedRegion": [region, *facts.extra_regions]}
    services = set(facts.services)
    unscoped = services - set(NAME_SCOPED) - TAG_SCOPED - {"iam", "s3", "route53", "budgets", "cloudfront"}
    if unscoped:
        raise OpsError(f"{facts.stack}: no scoping rule for services {', '.join(sorted(unscoped))} "
                       "(add them to ops.bootstrap.NAME_SCOPED or TAG_SCOPED)")
    statements: list[dict[str, Any]] = []
    readable = sorted(services - {"iam", "s3"})
    if readable:
        statements.append({"Sid": "ReadConfiguration", "Effect": "Allow",
                           # cognito-idp: no List* (ListTagsForResource is on the tagged pool: ManageTaggedForStack)
                           "Action": [f"{s}:{verb}*" for s in readable for verb in ("Describe", "Get", "List")
                                      if not (s == "cognito-idp" and verb == "List")],
                           "Resource": "*"})
    named = sorted(services & set(NAME_SCOPED))
    if named:
        # The region is in the condition (ARNs with "*" keep the policy under IAM's size quota in any region).
        resources = [a for s in named for a in _arns(partition, s, "*", account, NAME_SCOPED[s], p)]
        statements.append({"Sid": "StackNamedResources", "Effect": "Allow", "Action": [f"{s}:*" for s in named],
                           "Resource": resources, "Condition": {"StringEquals": in_region}})
    if "cloudwatch" in services:
        statements.append({"Sid": "StackDashboards", "Effect": "Allow",
                           "Action": ["cloudwatch:DeleteDashboards", "cloudwatch:PutDashboard"],
                           "Resource": [f"arn:{partition}:cloudwatch::{account}:dashboard/{p}",
                                        f"arn:{partition}:cloudwatch::{account}:dashboard/{p}-*"]})
    if "ecs" in services:  # ECS authorises task-definition registration on "*" only; it takes tags on create
        statements.append({"Sid": "StackTaskDefinitions", "Effect": "Allow",
                           "Action": "ecs:RegisterTaskDefinition", "Resource": "*",
                           "Condition": {"StringEquals": {**in_region, "aws:RequestTag/environment": env}}})
        statements.append({"Sid": "DeregisterTaskDefinitions", "Effect": "Allow",
                           "Action": "ecs:DeregisterTaskDefinition", "Resource": "*",
                           "Condition": {"StringEquals": in_region}})
    if "rds" in services:  # an instance references the engine's default option and parameter groups
        statements.append({"Sid": "RdsDefaultGroups", "Effect": "Allow",
                           "Action": ["rds:CreateDBInstance", "rds:ModifyDBInstance"],
                           "Resource": _arns(partition, "rds", region, account, ("og:default:*", "pg:default.*"), p),
                           "Condition": {"StringEquals": in_region}})
        if "secretsmanager" in services:  # the managed master password: RDS creates and rotates it as the caller
            statements.append({"Sid": "RdsManagedSecrets", "Effect": "Allow", "Action": "secretsmanager:*",
                               "Resource": _arns(partition, "secretsmanager", region, account, ("secret:rds!*",), p),
                               "Condition": {"StringEquals": in_region,
                                             "ForAnyValue:StringEquals": {"aws:CalledVia": ["rds.amazonaws.com"]}}})
    if "elasticache" in services:
        statements.append({"Sid": "ElastiCacheDefaults", "Effect": "Allow",
                           "Action": ["elasticache:CreateCacheCluster", "elasticache:CreateReplicationGroup",
                                      "elasticache:ModifyReplicationGroup"],
                           "Resource": _arns(partition, "elasticache", region, account,
                                             ("parametergroup:default.*",), p),
                           "Condition": {"StringEquals": in_region}})
    if "cloudfront" in services:  # global; distributions, cache policies and OACs have generated ids only
        statements.append({"Sid": "AccountCloudFront", "Effect": "Allow", "Action": "cloudfront:*",
                           "Resource": f"arn:{partition}:cloudfront::{account}:*"})
    if "wafv2" in services:
        lbs = _arns(partition, "elasticloadbalancing", region, account, ("loadbalancer/app/{p}-*/*",), p)
        statements.append({"Sid": "WafOnStackLoadBalancers", "Effect": "Allow",
                           "Action": ["elasticloadbalancing:SetWebAcl", "wafv2:AssociateWebACL",
                                      "wafv2:DisassociateWebACL"],
                           "Resource": lbs, "Condition": {"StringEquals": in_region}})
        statements.append({"Sid": "WafManagedRuleGroups", "Effect": "Allow",
                           "Action": ["wafv2:CreateWebACL", "wafv2:UpdateWebACL"],
                           "Resource": _arns(partition, "wafv2", "*", account, ("*/managedruleset/*/*",), p),
                           "Condition": {"StringEquals": in_region}})
    tagged = sorted(services & TAG_SCOPED)
    if tagged:
        statements.append({"Sid": "CreateTaggedForStack", "Effect": "Allow", "Action": [f"{s}:*" for s in tagged],
                           "Resource": "*",
                           "Condition": {"StringEquals": {**in_region, "aws:RequestTag/environment": env}}})
        statements.append({"Sid": "ManageTaggedForStack", "Effect": "Allow", "Action": [f"{s}:*" for s in tagged],
                           "Resource": "*",
                           "Condition": {"StringEquals": {**in_region, "aws:ResourceTag/environment": env}}})
    if "ec2" in services:  # the VPC's default security group is created untagged by EC2; the stack adopts it
        statements.append({"Sid": "AdoptDefaultSecurityGroup", "Effect": "Allow", "Action": "ec2:CreateTags",
                           "Resource": f"arn:{partition}:ec2:{region}:{account}:security-group/*",
                           "Condition": {"StringEquals": {**in_region, "aws:RequestTag/environment": env}}})
    if "route53" in services and hosted_zone_ids:
        statements.append({"Sid": "StackHostedZones", "Effect": "Allow",
                           "Action": ["route53:ChangeResourceRecordSets", "route53:ChangeTagsForResource"],
                           "Resource": [f"arn:{partition}:route53:::hostedzone/{z}" for z in sorted(hosted_zone_ids)]})
    if "budgets" in services:
        statements.append({"Sid": "StackBudgets", "Effect": "Allow", "Action": "budgets:*",
                           "Resource": [f"arn:{partition}:budgets::{account}:budget/{p}",
                                        f"arn:{partition}:budgets::{account}:budget/{p}-*"]})
    if "s3" in services:
        statements.append({"Sid": "StackBuckets", "Effect": "Allow", "Action": "s3:*",
                           "Resource": [f"{s3_arn}{facts.prefix}-*", f"{s3_arn}{facts.prefix}-*/*"]})
    statements.append({"Sid": "StateObjects", "Effect": "Allow", "Action": STATE_OBJECT_ACTIONS,
                       "Resource": [f"{s3_arn}{bucket}/{sp}" for sp in state_prefixes(facts.stack)]})
    statements.append({"Sid": "StateBackendRead", "Effect": "Allow", "Action": "s3:GetObject",
                       "Resource": f"{s3_arn}{bucket}/{PULUMI_META}"})
    statements.append({"Sid": "StateBucketList", "Effect": "Allow",
                       "Action": ["s3:GetBucketLocation", "s3:ListBucket"], "Resource": f"{s3_arn}{bucket}"})
    if state_key_arn is not None:
        statements.append({"Sid": "StateBucketKey", "Effect": "Allow", "Action": STATE_KEY_ACTIONS,
                           "Resource": state_key_arn,
                           "Condition": {"StringEquals": {
                               "kms:ViaService": f"s3.{state_region or region}.amazonaws.com"}}})
    if secrets_key_arn is not None:
        statements.append({"Sid": "SecretsProviderKey", "Effect": "Allow", "Action": SECRETS_KEY_ACTIONS,
                           "Resource": secrets_key_arn})
    if "iam" in services:
        statements.append({"Sid": "StackRoles", "Effect": "Allow",
                           "Action": [a for a in IAM_ROLE_ACTIONS if a not in ROLE_GRANT_ACTIONS],
                           "Resource": roles})
        statements.append({"Sid": "StackRolesWithinBoundary", "Effect": "Allow", "Action": ROLE_GRANT_ACTIONS,
                           "Resource": roles, "Condition": boundary})
        statements.append({"Sid": "StackPolicies", "Effect": "Allow", "Action": IAM_POLICY_ACTIONS,
                           "Resource": f"{iam_arn}:policy/{facts.prefix}-*"})
        if facts.attaches_managed_policies:
            statements.append({"Sid": "AttachStackPolicies", "Effect": "Allow",
                               "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"], "Resource": roles,
                               "Condition": {"ArnLike": {"iam:PolicyARN": [
                                   f"{iam_arn}:policy/{facts.prefix}-*",
                                   *[f"arn:{partition}:iam::aws:policy/{n}" for n in facts.aws_managed_policies]]},
                                             **boundary}})
        if facts.pass_to:
            statements.append({"Sid": "PassStackRoles", "Effect": "Allow", "Action": "iam:PassRole",
                               "Resource": roles,
                               "Condition": {"StringEquals": {"iam:PassedToService": list(facts.pass_to)}}})
    linked = sorted(SERVICE_LINKED[s] for s in facts.services if s in SERVICE_LINKED)
    if linked:
        statements.append({"Sid": "ServiceLinkedRoles", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
                           "Resource": f"{iam_arn}:role/aws-service-role/*",
                           "Condition": {"StringEquals": {"iam:AWSServiceName": linked}}})
    # --- denies: whatever the allows above say -------------------------------------------------------------------
    tag_scoped = sorted(s for s in facts.services if s not in GLOBAL_SERVICES | {"iam"})
    if tag_scoped:
        statements.append({"Sid": "DenyOtherEnvironments", "Effect": "Deny",
                           "Action": [f"{s}:*" for s in tag_scoped], "Resource": "*",
                           "Condition": {"StringNotEquals": {"aws:ResourceTag/environment": facts.environment},
                                         "Null": {"aws:ResourceTag/environment": "false"}}})
    statements.append({"Sid": "DenyTaggingForOtherEnvironments", "Effect": "Deny", "Action": TAG_ACTIONS,
                       "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestTag/environment": env},
                                                      "Null": {"aws:RequestTag/environment": "false"}}})
    statements.append({"Sid": "DenyRemovingTheEnvironmentTag", "Effect": "Deny", "Action": UNTAG_ACTIONS,
                       "Resource": "*",
                       "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment"]}}})
    if "ec2" in services:  # tags only while creating, or on what the stack already owns (no adopting others')
        statements.append({"Sid": "DenyEc2TaggingOutsideCreate", "Effect": "Deny", "Action": "ec2:CreateTags",
                           "NotResource": f"arn:{partition}:ec2:{region}:{account}:security-group/*",
                           "Condition": {"Null": {"ec2:CreateAction": "true"},
                                         "StringNotEquals": {"aws:ResourceTag/environment": env}}})
    statements.append({"Sid": "DenyKeyDestructionOutsideStack", "Effect": "Deny", "Action": KEY_DESTRUCTION,
                       "Resource": "*", "Condition": {"StringNotEquals": {"aws:ResourceTag/environment": env}}})
    secret_arns = _arns(partition, "secretsmanager", region, account, NAME_SCOPED["secretsmanager"], p)
    param_arns = _arns(partition, "ssm", region, account, NAME_SCOPED["ssm"], p)
    statements.append({"Sid": "DenyOtherSecretValues", "Effect": "Deny",
                       "Action": ["secretsmanager:GetSecretValue", "ssm:GetParameter", "ssm:GetParameterHistory",
                                  "ssm:GetParameters", "ssm:GetParametersByPath"],
                       "NotResource": secret_arns + param_arns})
    statements.append({"Sid": "DenySensitiveReads", "Effect": "Deny", "Action": SENSITIVE_READS, "Resource": "*"})
    statements.append({"Sid": "DenyNeverNeeded", "Effect": "Deny", "Action": NEVER_NEEDED, "Resource": "*"})
    statements.append({"Sid": "DenyStateBucketChanges", "Effect": "Deny",
                       "NotAction": [*STATE_OBJECT_ACTIONS, "s3:GetBucketLocation", "s3:ListBucket"],
                       "Resource": [f"{s3_arn}{bucket}", f"{s3_arn}{bucket}/*"]})
    if "iam" in services:
        # No role without the stack's boundary, no other boundary, no removal, no edit of any boundary policy.
        statements.append({"Sid": "DenyRolesWithoutBoundary", "Effect": "Deny", "Action": WIDENING_ROLE_ACTIONS,
                           "Resource": "*", "Condition": {"StringNotEquals": boundary["StringEquals"]}})
        statements.append({"Sid": "DenyBoundaryRemoval", "Effect": "Deny",
                           "Action": "iam:DeleteRolePermissionsBoundary", "Resource": "*"})
        statements.append({"Sid": "DenyBoundaryPolicyChanges", "Effect": "Deny", "Action": BOUNDARY_POLICY_ACTIONS,
                           "Resource": f"{iam_arn}:policy/{PROJECT}-*"})
    if secrets_key_arn is not None:
        # Manage-tagged grants kms:* on the stack's keys: not on the secrets keys.
        statements.append({"Sid": "DenySecretsKeyAdministration", "Effect": "Deny",
                           "NotAction": SECRETS_KEY_ACTIONS, "Resource": secrets_key_arn})
        statements.append({"Sid": "DenyOtherSecretsKeys", "Effect": "Deny", "Action": "kms:*",
                           "NotResource": secrets_key_arn,
                           "Condition": {"ForAnyValue:StringLike": {
                               "kms:ResourceAliases": f"alias/{PROJECT}-secrets-*"}}})
        statements.append({"Sid": "DenySecretsAliasChanges", "Effect": "Deny",
                           "Action": ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
                           "Resource": f"arn:{partition}:kms:*:{account}:alias/{PROJECT}-secrets-*"})
    return {"Version": "2012-10-17", "Statement": statements}


def boundary_policy(facts: StackFacts, account: str, partition: str = "aws",
                    dns_suffix: str = "amazonaws.com") -> dict[str, Any]:
    """The permissions boundary of the stack's roles: the union of what the components grant, scoped to the
    stack's names, region and account (docs/ops.md "The permissions boundary")."""
    region, prefix = facts.region, facts.prefix
    arn = f"{partition}:{{svc}}:{region}:{account}"
    services = set(facts.services)
    statements: list[dict[str, Any]] = []
    if "ecr" in services:
        statements.append({"Sid": "EcrAuth", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
                           "Resource": "*"})
        statements.append({"Sid": "PullStackImages", "Effect": "Allow",
                           "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                                      "ecr:GetDownloadUrlForLayer"],
                           "Resource": f"arn:{arn.format(svc='ecr')}:repository/{prefix}-*"})
    if "logs" in services:  # container logs (execution role) and flow-log delivery (flow-log role)
        statements.append({"Sid": "WriteStackLogs", "Effect": "Allow",
                           "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                           "Resource": f"arn:{arn.format(svc='logs')}:log-group:{prefix}-*"})
    statements.append({"Sid": "ReadStackSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                       "Resource": [f"arn:{arn.format(svc='secretsmanager')}:secret:{p}"
                                    for p in ("rds!*", f"{prefix}-*", f"{prefix}/*")]})
    statements.append({"Sid": "ReadStackParameters", "Effect": "Allow", "Action": "ssm:GetParameters",
                       "Resource": [f"arn:{arn.format(svc='ssm')}:parameter/{p}"
                                    for p in (f"{prefix}-*", f"{prefix}/*")]})
    via_services = ["secretsmanager", "ssm", "s3", *(["sqs"] if "sqs" in services else [])]
    via = [f"{svc}.{region}.{dns_suffix}" for svc in via_services]  # the components' grants
    statements.append({"Sid": "KeysThroughServices", "Effect": "Allow",
                       "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                       "Resource": f"arn:{arn.format(svc='kms')}:key/*",
                       "Condition": {"StringEquals": {"kms:ViaService": via}}})
    statements += _dr_boundary(facts, account, partition, dns_suffix)
    if "s3" in services:
        statements.append({"Sid": "StackObjects", "Effect": "Allow",
                           "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                           "Resource": f"arn:{partition}:s3:::{prefix}-*/*"})
        statements.append({"Sid": "ListStackBuckets", "Effect": "Allow", "Action": "s3:ListBucket",
                           "Resource": f"arn:{partition}:s3:::{prefix}-*"})
    if "sqs" in services:  # Queue.grant_send / grant_consume, a job's scheduler dead-letter queue
        statements.append({"Sid": "StackQueues", "Effect": "Allow",
                           "Action": ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                      "sqs:ReceiveMessage", "sqs:SendMessage"],
                           "Resource": f"arn:{arn.format(svc='sqs')}:{prefix}-*"})
    if "scheduler" in services:  # a job's scheduler role: run the stack's task definitions, pass their roles
        statements.append({"Sid": "RunStackTasks", "Effect": "Allow", "Action": "ecs:RunTask",
                           "Resource": f"arn:{arn.format(svc='ecs')}:task-definition/{prefix}-*"})
        statements.append({"Sid": "PassStackTaskRoles", "Effect": "Allow", "Action": "iam:PassRole",
                           "Resource": f"arn:{partition}:iam::{account}:role/{prefix}-*",
                           "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}})
    if "lambda" in services:  # the secret rotation function (components.aws.secrets.SecretRotator)
        statements.append({"Sid": "RotateStackSecrets", "Effect": "Allow",
                           "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                                      "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
                           "Resource": [f"arn:{arn.format(svc='secretsmanager')}:secret:{p}"
                                        for p in (f"{prefix}-*", f"{prefix}/*")]})
        # no resource-level permission exists for these two
        statements.append({"Sid": "GenerateSecretValues", "Effect": "Allow",
                           "Action": "secretsmanager:GetRandomPassword", "Resource": "*"})
        statements.append({"Sid": "TraceFunctions", "Effect": "Allow",
                           "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": "*"})
    if "rds" in services:  # IAM database authentication (the resource id is not known before the stack runs)
        statements.append({"Sid": "ConnectToDatabases", "Effect": "Allow", "Action": "rds-db:connect",
                           "Resource": f"arn:{arn.format(svc='rds-db')}:dbuser:*/*"})
    if "elasticache" in services:
        ec = f"arn:{arn.format(svc='elasticache')}"
        statements.append({"Sid": "ConnectToStackCaches", "Effect": "Allow", "Action": "elasticache:Connect",
                           "Resource": [f"{ec}:replicationgroup:{prefix}*", f"{ec}:serverlesscache:{prefix}*",
                                        f"{ec}:user:{prefix}*"]})
    if "vpc-lattice" in services:
        lattice = f"arn:{arn.format(svc='vpc-lattice')}"
        # LatticeService.grant_invoke (callers' task roles; Lattice ids are generated, the tag deny below scopes them)
        statements.append({"Sid": "InvokeLatticeServices", "Effect": "Allow", "Action": "vpc-lattice-svcs:Invoke",
                           "Resource": f"{lattice}:service/*"})
        # The ECS infrastructure role: what AmazonECSInfrastructureRolePolicyForVpcLattice grants, in this account
        statements.append({"Sid": "RegisterLatticeTargets", "Effect": "Allow",
                           "Action": ["vpc-lattice:DeregisterTargets", "vpc-lattice:GetTargetGroup",
                                      "vpc-lattice:ListTargets", "vpc-lattice:RegisterTargets"],
                           "Resource": f"{lattice}:targetgroup/*"})
        statements.append({"Sid": "DescribeLatticeTargetsNetwork", "Effect": "Allow",
                           "Action": ["ec2:DescribeInstances", "ec2:DescribeSubnets", "ec2:DescribeVpcs"],
                           "Resource": "*"})
    statements.append({"Sid": "DenyOtherEnvironments", "Effect": "Deny", "Action": "*", "Resource": "*",
                       "Condition": {"StringNotEquals": {"aws:ResourceTag/environment": facts.environment},
                                     "Null": {"aws:ResourceTag/environment": "false"}}})
    return {"Version": "2012-10-17", "Statement": statements}


def _dr_boundary(facts: StackFacts, account: str, partition: str, dns_suffix: str) -> list[dict[str, Any]]:
    """Issue 14: what the Enhanced Monitoring, AWS Backup and S3 replication roles are granted (components/aws/
    database.py, backup.py), within the stack's names, account and regions."""
    from components.aws.backup import RDS_BACKUP_ACTIONS, S3_BACKUP_BUCKET_ACTIONS, S3_BACKUP_OBJECT_ACTIONS

    prefix, region = facts.prefix, facts.region
    regions = [region, *facts.extra_regions]
    out: list[dict[str, Any]] = []
    trusted = set(facts.pass_to)
    if "monitoring.rds.amazonaws.com" in trusted:
        out.append({"Sid": "RdsEnhancedMonitoring", "Effect": "Allow",
                    "Action": ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:CreateLogStream",
                               "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:GetLogEvents"],
                    "Resource": [f"arn:{partition}:logs:{region}:{account}:log-group:RDSOSMetrics",
                                 f"arn:{partition}:logs:{region}:{account}:log-group:RDSOSMetrics:log-stream:*"]})
    if "s3.amazonaws.com" in trusted:  # S3 replication to the DR region (its role)
        out.append({"Sid": "ReplicateStackBuckets", "Effect": "Allow",
                    "Action": ["s3:GetReplicationConfiguration", "s3:GetObjectVersionForReplication",
                               "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging", "s3:ReplicateObject",
                               "s3:ReplicateDelete", "s3:ReplicateTags"],
                    "Resource": [f"arn:{partition}:s3:::{prefix}-*", f"arn:{partition}:s3:::{prefix}-*/*"]})
    if "backup.amazonaws.com" in trusted:
        out.append({"Sid": "BackUpStackData", "Effect": "Allow",
                    "Action": [*RDS_BACKUP_ACTIONS, *S3_BACKUP_BUCKET_ACTIONS, *S3_BACKUP_OBJECT_ACTIONS],
                    "Resource": [*(f"arn:{partition}:rds:{r}:{account}:{k}:*" for r in regions
                                   for k in ("db", "cluster")),
                                 f"arn:{partition}:rds:*:{account}:snapshot:awsbackup:*",
                                 f"arn:{partition}:rds:*:{account}:cluster-snapshot:awsbackup:*",
                                 f"arn:{partition}:s3:::{prefix}-*", f"arn:{partition}:s3:::{prefix}-*/*"]})
        out.append({"Sid": "BackupEventRules", "Effect": "Allow",
                    "Action": ["events:PutRule", "events:DeleteRule", "events:DescribeRule", "events:PutTargets",
                               "events:RemoveTargets", "events:ListTargetsByRule", "events:EnableRule",
                               "events:DisableRule"],
                    "Resource": f"arn:{partition}:events:{region}:{account}:rule/AwsBackupManagedRule*"})
    if {"s3.amazonaws.com", "backup.amazonaws.com"} & trusted:
        via = [f"{svc}.{r}.{dns_suffix}" for r in regions for svc in ("s3", "rds", "backup")]
        out.append({"Sid": "DataKeysThroughServicesInStackRegions", "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
                               "kms:CreateGrant", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
                    "Resource": [f"arn:{partition}:kms:{r}:{account}:key/*" for r in regions],
                    "Condition": {"StringEquals": {"kms:ViaService": via}}})
    return out


def secrets_key_policy(account: str, role_arn: str, partition: str = "aws") -> dict[str, Any]:
    """The secrets key's policy: the account administers it (and IAM may delegate), the deploy role uses it."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministersKey", "Effect": "Allow",
         "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "DeployRoleEncryptsStackSecrets", "Effect": "Allow", "Principal": {"AWS": role_arn},
         "Action": SECRETS_KEY_ACTIONS, "Resource": "*"},
    ]}


def bucket_policy(bucket: str, partition: str = "aws") -> dict[str, Any]:
    """TLS only (and TLS 1.2 or later) for every principal."""
    arns = [f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/*"]
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": arns,
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOutdatedTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": arns,
         "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}},
    ]}


def lifecycle(noncurrent_days: int) -> dict[str, Any]:
    """Expire noncurrent state versions after N days; clean up aborted uploads and orphaned delete markers."""
    return {"Rules": [{
        "ID": "state-history", "Status": "Enabled", "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent_days},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        "Expiration": {"ExpiredObjectDeleteMarker": True},
    }]}


def encryption(key_arn: str) -> dict[str, Any]:
    """SSE-KMS with the state key and an S3 bucket key (one KMS call per bucket-key period, not per object)."""
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                       "BucketKeyEnabled": True}]}


STATE_KEY_ALIAS = f"alias/{PROJECT}-state"
STATE_KEY_ADMIN_ACTIONS = sorted([
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListKeyPolicies", "kms:ListResourceTags",
    "kms:PutKeyPolicy", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource",
    "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
])


def state_key_policy(account: str, bucket: str, region: str, partition: str = "aws") -> dict[str, Any]:
    """The state key's policy: the account's administrators manage it but cannot use it directly; principals of
    the account use it only through S3, for this bucket (deploy roles still need it in their own policy)."""
    root = f"arn:{partition}:iam::{account}:root"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministersKey", "Effect": "Allow", "Principal": {"AWS": root},
         "Action": STATE_KEY_ADMIN_ACTIONS, "Resource": "*"},
        {"Sid": "UseThroughS3ForTheStateBucket", "Effect": "Allow", "Principal": {"AWS": root},
         "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncrypt*"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com",
                                        "kms:CallerAccount": account,
                                        "kms:EncryptionContext:aws:s3:arn": f"arn:{partition}:s3:::{bucket}"}}},
    ]}

PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                       "RestrictPublicBuckets": True}


@dataclass
class Options:
    """The bootstrap's inputs."""

    repo: str
    stacks: list[str]
    region: str
    bucket: str | None = None
    name: str | None = None
    noncurrent_days: int = DEFAULT_NONCURRENT_DAYS
    dry_run: bool = False


@dataclass
class Result:
    """What the bootstrap did (or would do, in a dry run)."""

    bucket: str
    login: str
    provider_arn: str
    role_arns: dict[str, str] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    trust: dict[str, dict[str, Any]] = field(default_factory=dict)
    boundaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The permissions-boundary policy document of each stack."""
    secrets_keys: dict[str, str] = field(default_factory=dict)
    """The secrets-provider key ARN of each stack."""
    state_key: str = ""
    """The state bucket's KMS key (SSE-KMS with a bucket key)."""
    stack_init: dict[str, str] = field(default_factory=dict)
    """``pulumi stack init`` command of each stack (with its AWS KMS secrets provider)."""


def _code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


def _tags(mapping: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in mapping.items()]


BOOTSTRAP_TAGS = {"managed-by": "ops-bootstrap", "project": PROJECT}


def _ensure_bucket(s3: Any, bucket: str, region: str, account: str, opts: Options, log: list[str],
                   key_arn: str) -> None:
    from botocore.exceptions import ClientError

    exists = True
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
    except ClientError as exc:
        if _code(exc) in ("404", "NoSuchBucket", "NotFound"):
            exists = False
        elif _code(exc) in ("403", "AccessDenied", "Forbidden"):
            raise OpsError(f"bucket {bucket} exists but is not this account's (choose another with --bucket)") \
                from None
        else:
            raise
    log.append(f"{'update' if exists else 'create'} state bucket s3://{bucket} ({region}): versioning, SSE-KMS "
               f"({STATE_KEY_ALIAS}, bucket key), "
               f"public access blocked, BucketOwnerEnforced, TLS-only policy, noncurrent versions expire after "
               f"{opts.noncurrent_days} days")
    if opts.dry_run:
        return
    if not exists:
        kwargs: dict[str, Any] = {"Bucket": bucket, "ObjectOwnership": "BucketOwnerEnforced"}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK)
    s3.put_bucket_ownership_controls(Bucket=bucket,
                                     OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=encryption(key_arn))
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=lifecycle(opts.noncurrent_days))
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tags(BOOTSTRAP_TAGS)})
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=PULUMI_META, MaxKeys=1).get("Contents", [])
    if not any(o["Key"] == PULUMI_META for o in listed):
        s3.put_object(Bucket=bucket, Key=PULUMI_META, Body=PULUMI_META_BODY)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(bucket_policy(bucket)))


def _ensure_oidc(iam: Any, account: str, dry_run: bool, log: list[str]) -> str:
    arn = f"arn:aws:iam::{account}:oidc-provider/{OIDC_HOST}"
    existing = {p["Arn"] for p in iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", [])}
    if arn in existing:
        clients = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn).get("ClientIDList", [])
        if OIDC_AUDIENCE in clients:
            log.append(f"keep OIDC provider {arn}")
        else:
            log.append(f"add client id {OIDC_AUDIENCE} to OIDC provider {arn}")
            if not dry_run:
                iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID=OIDC_AUDIENCE)
        return arn
    log.append(f"create OIDC provider {OIDC_URL} (client id {OIDC_AUDIENCE})")
    if not dry_run:
        arn = iam.create_open_id_connect_provider(Url=OIDC_URL, ClientIDList=[OIDC_AUDIENCE],
                                                  ThumbprintList=OIDC_THUMBPRINTS,
                                                  Tags=_tags(BOOTSTRAP_TAGS))["OpenIDConnectProviderArn"]
    return arn


def role_name(stack: str) -> str:
    """The deploy role of one stack."""
    return f"{PROJECT}-deploy-{stack}"


def _ensure_role(iam: Any, facts: StackFacts, trust: dict[str, Any], account: str, repo: str, dry_run: bool,
                 log: list[str]) -> tuple[str, bool]:
    """Create or update the deploy role (trust, session, tags); returns its ARN and whether it exists now."""
    from botocore.exceptions import ClientError

    name = role_name(facts.stack)
    arn = f"arn:aws:iam::{account}:role/{name}"
    description = f"Pulumi deploys of stack {facts.stack} from GitHub {repo} (environment {facts.stack})"
    try:
        current = iam.get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if _code(exc) != "NoSuchEntity":
            raise
        current = None
    log.append(f"{'update' if current else 'create'} role {name}: trust repo:{repo}:environment:{facts.stack}, "
               f"services {', '.join(facts.services)}")
    if dry_run:
        return arn, current is not None
    tags = _tags({**BOOTSTRAP_TAGS, "stack": facts.stack})
    if current is None:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Description=description,
                              MaxSessionDuration=MAX_SESSION_SECONDS, Tags=tags)["Role"]["Arn"]
    else:
        arn = current["Arn"]
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
        iam.update_role(RoleName=name, Description=description, MaxSessionDuration=MAX_SESSION_SECONDS)
        iam.tag_role(RoleName=name, Tags=tags)
    return arn, True


def split_policy(policy: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(allows, denies) of a deploy policy: the scoped allows are the role's inline policy, the denies its attached
    guardrails policy; the read-only ``ReadConfiguration`` allow goes to a managed policy of its own
    (:func:`read_policy`). IAM caps a role's inline policies at 10,240 characters, a managed policy at 6,144."""
    allows = [s for s in policy["Statement"] if s["Effect"] == "Allow" and s.get("Sid") != READ_SID]
    denies = [s for s in policy["Statement"] if s["Effect"] != "Allow"]
    return ({"Version": policy["Version"], "Statement": allows}, {"Version": policy["Version"], "Statement": denies})


READ_SID = "ReadConfiguration"


def read_policy(policy: dict[str, Any]) -> dict[str, Any] | None:
    """The deploy policy's read-only statement (``Describe*``/``Get*``/``List*`` on ``*``) as a managed policy."""
    reads = [s for s in policy["Statement"] if s.get("Sid") == READ_SID]
    return {"Version": policy["Version"], "Statement": reads} if reads else None


def reads_name(stack: str) -> str:
    """The managed policy holding a deploy role's configuration reads."""
    return f"{PROJECT}-deploy-reads-{stack}"


def guardrails_name(stack: str) -> str:
    """The managed policy holding a deploy role's explicit denies."""
    return f"{PROJECT}-deploy-guardrails-{stack}"


def _put_role_policy(iam: Any, stack: str, policy: dict[str, Any], guardrails_arn: str,
                     reads_arn: str | None = None) -> None:
    """The deploy role's only permissions: the inline allows, the guardrails policy and the reads policy; anything
    else goes."""
    name = role_name(stack)
    wanted = [guardrails_arn, *([reads_arn] if reads_arn else [])]
    attached = [a["PolicyArn"] for a in iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", [])]
    for arn in attached:
        if arn not in wanted:
            iam.detach_role_policy(RoleName=name, PolicyArn=arn)
    for arn in wanted:
        if arn not in attached:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    for inline in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
        if inline != ROLE_POLICY_NAME:
            iam.delete_role_policy(RoleName=name, PolicyName=inline)
    iam.put_role_policy(RoleName=name, PolicyName=ROLE_POLICY_NAME, PolicyDocument=json.dumps(policy))


def _ensure_boundary(iam: Any, stack: str, document: dict[str, Any], account: str, dry_run: bool,
                     log: list[str]) -> str:
    """Create the boundary policy, or make the given document its only (default) version."""
    return _ensure_managed_policy(iam, boundary_name(stack), "permissions boundary", stack, document, account,
                                  dry_run, log, f"The most any role of stack {stack} may do (ops bootstrap)")


def _ensure_managed_policy(iam: Any, name: str, what: str, stack: str, document: dict[str, Any], account: str,
                           dry_run: bool, log: list[str], description: str) -> str:
    """Create a customer-managed policy, or make the given document its only (default) version."""
    from botocore.exceptions import ClientError

    arn = f"arn:aws:iam::{account}:policy/{name}"
    body = json.dumps(document, separators=(",", ":"))
    try:
        iam.get_policy(PolicyArn=arn)
        exists = True
    except ClientError as exc:
        if _code(exc) != "NoSuchEntity":
            raise
        exists = False
    if not exists:
        log.append(f"create {what} {name}")
        if not dry_run:
            iam.create_policy(PolicyName=name, PolicyDocument=body, Tags=_tags({**BOOTSTRAP_TAGS, "stack": stack}),
                              Description=description)
        return arn
    versions = iam.list_policy_versions(PolicyArn=arn).get("Versions", [])
    default = next((v for v in versions if v.get("IsDefaultVersion")), None)
    current = iam.get_policy_version(PolicyArn=arn, VersionId=default["VersionId"])["PolicyVersion"]["Document"] \
        if default else None
    current = json.loads(current) if isinstance(current, str) else current
    if current == json.loads(body):
        log.append(f"keep {what} {name}")
    else:
        log.append(f"update {what} {name} (new default version)")
    if dry_run:
        return arn

    def drop_old_versions() -> None:
        # Only the default version may exist: an old version could be made default again by anyone allowed to
        # (and IAM keeps at most five).
        for v in iam.list_policy_versions(PolicyArn=arn).get("Versions", []):
            if not v.get("IsDefaultVersion"):
                iam.delete_policy_version(PolicyArn=arn, VersionId=v["VersionId"])

    drop_old_versions()
    if current != json.loads(body):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=body, SetAsDefault=True)
        drop_old_versions()
    return arn


def _ensure_secrets_key(kms: Any, stack: str, region: str, account: str, role_arn: str, dry_run: bool,
                        log: list[str], sleep: Callable[[float], None] = time.sleep) -> str:
    """The stack's secrets-provider key: created once (alias), rotation on, key policy and tags rewritten."""
    from botocore.exceptions import ClientError

    alias = secrets_alias(stack)
    policy = json.dumps(secrets_key_policy(account, role_arn))
    tags = [{"TagKey": k, "TagValue": v} for k, v in {**BOOTSTRAP_TAGS, "stack": stack}.items()]
    try:
        meta = kms.describe_key(KeyId=alias)["KeyMetadata"]
    except ClientError as exc:
        if _code(exc) != "NotFoundException":
            raise
        meta = None
    if meta is not None and meta.get("KeyState") != "Enabled":
        raise OpsError(f"secrets key {alias} ({meta['KeyId']}) is {meta.get('KeyState')}: enable it (or cancel its "
                       "deletion) first; the stack's secrets cannot be decrypted without it")
    log.append(f"{'update' if meta else 'create'} secrets key {alias} ({region}): rotation on, "
               f"key policy: account administers, {role_name(stack)} encrypts and decrypts")
    if dry_run:
        return meta["Arn"] if meta else f"arn:aws:kms:{region}:{account}:key/<created by bootstrap>"

    def with_retry(call: Callable[[], Any]) -> Any:
        for attempt in range(KEY_POLICY_RETRIES):
            try:
                return call()
            except ClientError as exc:  # the new role is not yet visible to KMS
                if _code(exc) != "MalformedPolicyDocumentException" or attempt == KEY_POLICY_RETRIES - 1:
                    raise
                sleep(5)
        return None

    if meta is None:
        meta = with_retry(lambda: kms.create_key(
            Description=f"Pulumi secrets provider of stack {stack} ({PROJECT})", KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT", Policy=policy, Tags=tags))["KeyMetadata"]
        kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    else:
        with_retry(lambda: kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=policy))
        kms.tag_resource(KeyId=meta["KeyId"], Tags=tags)
    kms.enable_key_rotation(KeyId=meta["KeyId"], RotationPeriodInDays=KEY_ROTATION_DAYS)
    return meta["Arn"]


def _ensure_state_key(kms: Any, bucket: str, region: str, account: str, dry_run: bool, log: list[str]) -> str:
    """The state bucket's customer-managed key: created once (alias), rotation on, policy and tags rewritten."""
    from botocore.exceptions import ClientError

    policy = json.dumps(state_key_policy(account, bucket, region))
    tags = [{"TagKey": k, "TagValue": v} for k, v in BOOTSTRAP_TAGS.items()]
    try:
        meta = kms.describe_key(KeyId=STATE_KEY_ALIAS)["KeyMetadata"]
    except ClientError as exc:
        if _code(exc) != "NotFoundException":
            raise
        meta = None
    if meta is not None and meta.get("KeyState") != "Enabled":
        raise OpsError(f"state key {STATE_KEY_ALIAS} ({meta['KeyId']}) is {meta.get('KeyState')}: enable it (or "
                       "cancel its deletion) first; the state cannot be read without it")
    log.append(f"{'update' if meta else 'create'} state key {STATE_KEY_ALIAS} ({region}): rotation on, usable only "
               f"through S3 for s3://{bucket}")
    if dry_run:
        return meta["Arn"] if meta else f"arn:aws:kms:{region}:{account}:key/<created by bootstrap>"
    if meta is None:
        meta = kms.create_key(Description=f"{PROJECT} Pulumi state bucket {bucket} (SSE-KMS)",
                              KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT", Policy=policy,
                              Tags=tags)["KeyMetadata"]
        kms.create_alias(AliasName=STATE_KEY_ALIAS, TargetKeyId=meta["KeyId"])
    else:
        kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=policy)
        kms.tag_resource(KeyId=meta["KeyId"], Tags=tags)
    kms.enable_key_rotation(KeyId=meta["KeyId"], RotationPeriodInDays=KEY_ROTATION_DAYS)
    return meta["Arn"]


def _hosted_zones(session: Any, facts: list[StackFacts], dry_run: bool, log: list[str]) -> dict[str, list[str]]:
    """The hosted zones each stack's DNS records live in (longest zone name that is a suffix of the record)."""
    wanted = {f.stack: f.record_names for f in facts if f.record_names}
    if not wanted:
        return {}
    route53 = session.client("route53")
    zones: list[tuple[str, str]] = []
    for page in route53.get_paginator("list_hosted_zones").paginate():
        zones.extend((z["Name"].rstrip(".").lower(), z["Id"].rsplit("/", 1)[-1]) for z in page["HostedZones"])
    out: dict[str, list[str]] = {}
    for stack, records in wanted.items():
        ids: set[str] = set()
        for record in records:
            fqdn = record.rstrip(".").lower()
            matches = [(n, i) for n, i in zones if fqdn == n or fqdn.endswith("." + n)]
            if not matches:
                raise OpsError(f"{stack}: no hosted zone in this account holds the record {record}: create the "
                               "zone first (the deploy role may change records only in the stack's zones)")
            longest = max(len(n) for n, _ in matches)
            ids.update(i for n, i in matches if len(n) == longest)
        out[stack] = sorted(ids)
        log.append(f"{stack}: DNS records only in hosted zones {', '.join(out[stack])}")
    return out


def run(opts: Options, session: Any, facts_for: Callable[[str], StackFacts]) -> Result:
    """Plan (and unless ``opts.dry_run``, apply) the bootstrap; ``facts_for(stack)`` says what a stack declares."""
    facts = [facts_for(s) for s in opts.stacks]
    for f in facts:
        if f.unbounded_roles:
            raise OpsError(f"{f.stack}: roles {', '.join(f.unbounded_roles)} carry no permissions boundary "
                           f"{boundary_name(f.stack)}; its deploy role may only create roles that do: set "
                           "backend-hosting:iam: {permissionsBoundary: true} in the stack file")
    sts = session.client("sts", region_name=opts.region)
    account = sts.get_caller_identity()["Account"]
    bucket = opts.bucket or default_bucket(account, opts.region)
    for f in facts:
        if bucket.startswith(f"{f.prefix}-"):
            raise OpsError(f"state bucket {bucket} is named like {f.stack}'s own buckets ({f.prefix}-*): its deploy "
                           "role would control every stack's state; choose another --bucket")
    s3 = session.client("s3", region_name=opts.region)
    iam = session.client("iam", region_name=opts.region)
    kms = session.client("kms", region_name=opts.region)
    result = Result(bucket=bucket, login=f"pulumi login 's3://{bucket}?region={opts.region}'", provider_arn="")
    zones = _hosted_zones(session, facts, opts.dry_run, result.actions)
    result.state_key = _ensure_state_key(kms, bucket, opts.region, account, opts.dry_run, result.actions)
    _ensure_bucket(s3, bucket, opts.region, account, opts, result.actions, result.state_key)
    result.provider_arn = _ensure_oidc(iam, account, opts.dry_run, result.actions)
    for f in facts:
        trust = trust_policy(account, opts.repo, f.stack)
        result.trust[f.stack] = trust
        result.boundaries[f.stack] = boundary_policy(f, account)
        _ensure_boundary(iam, f.stack, result.boundaries[f.stack], account, opts.dry_run, result.actions)
        arn, _ = _ensure_role(iam, f, trust, account, opts.repo, opts.dry_run, result.actions)
        result.role_arns[f.stack] = arn
        key = _ensure_secrets_key(kms, f.stack, opts.region, account, arn, opts.dry_run, result.actions)
        result.secrets_keys[f.stack] = key
        policy = deploy_policy(f, account, bucket, secrets_key_arn=key, state_key_arn=result.state_key,
                               hosted_zone_ids=zones.get(f.stack, ()), state_region=opts.region)
        result.policies[f.stack] = policy
        allows, denies = split_policy(policy)
        guard = _ensure_managed_policy(iam, guardrails_name(f.stack), "deploy guardrails", f.stack, denies, account,
                                       opts.dry_run, result.actions,
                                       f"What the deploy role of stack {f.stack} may never do (ops bootstrap)")
        reads = read_policy(policy)
        reads_arn = _ensure_managed_policy(iam, reads_name(f.stack), "deploy reads", f.stack, reads, account,
                                           opts.dry_run, result.actions,
                                           f"Configuration reads of the deploy role of stack {f.stack} (ops bootstrap)"
                                           ) if reads else None
        if not opts.dry_run:
            _put_role_policy(iam, f.stack, allows, guard, reads_arn)
        result.stack_init[f.stack] = (f"pulumi stack init {f.stack} --secrets-provider "
                                      f"\"{secrets_provider(f.stack, opts.region)}\"")
    return result


def write_api_calls(names: Iterable[str]) -> list[str]:
    """The operation names among ``names`` that change something (for dry-run checks)."""
    read = ("Get", "List", "Head", "Describe")
    return [n for n in names if not n.startswith(read)]
