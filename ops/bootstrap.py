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

from .prices import OpsError

PROJECT = "backend-hosting"
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
    "servicediscovery": "servicediscovery",
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
    attaches = False
    unbounded: list[str] = []
    for res in graph:
        if res.type == "pulumi:providers:aws":
            region = res.inputs.get("region") or region
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
        if res.type in ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                        "aws:iam/policyAttachment:PolicyAttachment"):
            attaches = True
        if res.type == "aws:rds/instance:Instance" and res.inputs.get("manageMasterUserPassword"):
            services.add("secretsmanager")  # RDS creates the master-password secret as the caller
    environment = graph.config_value("environment", stack)
    return StackFacts(stack=stack, environment=str(environment),
                      name=name or str(graph.config_value("name", "app")), region=str(region),
                      services=tuple(sorted(services)), pass_to=tuple(sorted(pass_to)),
                      attaches_managed_policies=attaches, unbounded_roles=tuple(sorted(unbounded)))


def capture_facts(repo_dir: Path, stack: str, *, name: str | None = None) -> StackFacts:
    """Run the stack's program offline (review engine) and derive its facts."""
    from review.engine import InputError, capture_program

    graph = capture_program(repo_dir, stack)
    if not any(r.type == "pulumi:providers:aws" for r in graph):
        raise InputError(f"stack {stack!r} is not an AWS stack")
    return facts_from_graph(graph, stack, name=name)


def boundary_name(stack: str) -> str:
    """The permissions-boundary policy of a stack's roles (``stacks/aws.py`` sets it on every role)."""
    return f"{PROJECT}-boundary-{stack}"


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


def deploy_policy(facts: StackFacts, account: str, bucket: str, partition: str = "aws", *,
                  secrets_key_arn: str | None = None) -> dict[str, Any]:
    """The deploy role's permissions for one stack (see the module docstring and docs/ops.md).

    ``secrets_key_arn``: the stack's secrets-provider key (its statements are left out when None).
    """
    iam_arn = f"arn:{partition}:iam::{account}"
    s3_arn = f"arn:{partition}:s3:::"
    roles = f"{iam_arn}:role/{facts.prefix}-*"
    boundary = {"StringEquals": {"iam:PermissionsBoundary": f"{iam_arn}:policy/{boundary_name(facts.stack)}"}}
    regional = sorted(s for s in facts.services if s not in GLOBAL_SERVICES | {"iam", "s3"})
    statements: list[dict[str, Any]] = []
    if regional:
        statements.append({"Sid": "StackServices", "Effect": "Allow", "Action": [f"{s}:*" for s in regional],
                           "Resource": "*",
                           "Condition": {"StringEquals": {"aws:RequestedRegion": [facts.region]}}})
    global_ = sorted(s for s in facts.services if s in GLOBAL_SERVICES)
    if global_:
        statements.append({"Sid": "GlobalServices", "Effect": "Allow", "Action": [f"{s}:*" for s in global_],
                           "Resource": "*"})
    if "s3" in facts.services:
        statements.append({"Sid": "StackBuckets", "Effect": "Allow", "Action": "s3:*",
                           "Resource": [f"{s3_arn}{facts.prefix}-*", f"{s3_arn}{facts.prefix}-*/*"]})
    statements.append({"Sid": "StateObjects", "Effect": "Allow", "Action": STATE_OBJECT_ACTIONS,
                       "Resource": [f"{s3_arn}{bucket}/{p}" for p in state_prefixes(facts.stack)]})
    statements.append({"Sid": "StateBackendRead", "Effect": "Allow", "Action": "s3:GetObject",
                       "Resource": f"{s3_arn}{bucket}/{PULUMI_META}"})
    statements.append({"Sid": "StateBucketList", "Effect": "Allow",
                       "Action": ["s3:GetBucketLocation", "s3:ListBucket"], "Resource": f"{s3_arn}{bucket}"})
    if secrets_key_arn is not None:
        statements.append({"Sid": "SecretsProviderKey", "Effect": "Allow", "Action": SECRETS_KEY_ACTIONS,
                           "Resource": secrets_key_arn})
    if "iam" in facts.services:
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
                               "Condition": {"ArnLike": {"iam:PolicyARN": [f"{iam_arn}:policy/{facts.prefix}-*"]},
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
    tag_scoped = sorted(s for s in facts.services if s not in GLOBAL_SERVICES | {"iam"})
    if tag_scoped:
        statements.append({"Sid": "DenyOtherEnvironments", "Effect": "Deny",
                           "Action": [f"{s}:*" for s in tag_scoped], "Resource": "*",
                           "Condition": {"StringNotEquals": {"aws:ResourceTag/environment": facts.environment},
                                         "Null": {"aws:ResourceTag/environment": "false"}}})
    if "iam" in facts.services:
        # Whatever the allows above say: no role without the stack's boundary, no other boundary, no removal,
        # and no edit of any stack's boundary policy.
        statements.append({"Sid": "DenyRolesWithoutBoundary", "Effect": "Deny", "Action": WIDENING_ROLE_ACTIONS,
                           "Resource": "*", "Condition": {"StringNotEquals": boundary["StringEquals"]}})
        statements.append({"Sid": "DenyBoundaryRemoval", "Effect": "Deny",
                           "Action": "iam:DeleteRolePermissionsBoundary", "Resource": "*"})
        statements.append({"Sid": "DenyBoundaryPolicyChanges", "Effect": "Deny", "Action": BOUNDARY_POLICY_ACTIONS,
                           "Resource": f"{iam_arn}:policy/{PROJECT}-boundary-*"})
    if secrets_key_arn is not None:
        # StackServices grants kms:* in the region (the stack manages its own keys): not on the secrets keys.
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
    if "rds" in services:  # IAM database authentication (the resource id is not known before the stack runs)
        statements.append({"Sid": "ConnectToDatabases", "Effect": "Allow", "Action": "rds-db:connect",
                           "Resource": f"arn:{arn.format(svc='rds-db')}:dbuser:*/*"})
    if "elasticache" in services:
        ec = f"arn:{arn.format(svc='elasticache')}"
        statements.append({"Sid": "ConnectToStackCaches", "Effect": "Allow", "Action": "elasticache:Connect",
                           "Resource": [f"{ec}:replicationgroup:{prefix}*", f"{ec}:serverlesscache:{prefix}*",
                                        f"{ec}:user:{prefix}*"]})
    statements.append({"Sid": "DenyOtherEnvironments", "Effect": "Deny", "Action": "*", "Resource": "*",
                       "Condition": {"StringNotEquals": {"aws:ResourceTag/environment": facts.environment},
                                     "Null": {"aws:ResourceTag/environment": "false"}}})
    return {"Version": "2012-10-17", "Statement": statements}


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


ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                         "BucketKeyEnabled": False}]}
"""SSE-S3: see docs/ops.md "Why SSE-S3 for the state bucket"."""

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
    stack_init: dict[str, str] = field(default_factory=dict)
    """``pulumi stack init`` command of each stack (with its AWS KMS secrets provider)."""


def _code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


def _tags(mapping: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in mapping.items()]


BOOTSTRAP_TAGS = {"managed-by": "ops-bootstrap", "project": PROJECT}


def _ensure_bucket(s3: Any, bucket: str, region: str, account: str, opts: Options, log: list[str]) -> None:
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
    log.append(f"{'update' if exists else 'create'} state bucket s3://{bucket} ({region}): versioning, SSE-S3, "
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
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=ENCRYPTION)
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


def _put_role_policy(iam: Any, stack: str, policy: dict[str, Any]) -> None:
    """The deploy role's only permissions: managed policies and inline policies bootstrap did not write go."""
    name = role_name(stack)
    for attached in iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", []):
        iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
    for inline in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
        if inline != ROLE_POLICY_NAME:
            iam.delete_role_policy(RoleName=name, PolicyName=inline)
    iam.put_role_policy(RoleName=name, PolicyName=ROLE_POLICY_NAME, PolicyDocument=json.dumps(policy))


def _ensure_boundary(iam: Any, stack: str, document: dict[str, Any], account: str, dry_run: bool,
                     log: list[str]) -> str:
    """Create the boundary policy, or make the given document its only (default) version."""
    from botocore.exceptions import ClientError

    name = boundary_name(stack)
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
        log.append(f"create permissions boundary {name}")
        if not dry_run:
            iam.create_policy(PolicyName=name, PolicyDocument=body, Tags=_tags({**BOOTSTRAP_TAGS, "stack": stack}),
                              Description=f"The most any role of stack {stack} may do (ops bootstrap)")
        return arn
    versions = iam.list_policy_versions(PolicyArn=arn).get("Versions", [])
    default = next((v for v in versions if v.get("IsDefaultVersion")), None)
    current = iam.get_policy_version(PolicyArn=arn, VersionId=default["VersionId"])["PolicyVersion"]["Document"] \
        if default else None
    current = json.loads(current) if isinstance(current, str) else current
    if current == json.loads(body):
        log.append(f"keep permissions boundary {name}")
    else:
        log.append(f"update permissions boundary {name} (new default version)")
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
    _ensure_bucket(s3, bucket, opts.region, account, opts, result.actions)
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
        policy = deploy_policy(f, account, bucket, secrets_key_arn=key)
        result.policies[f.stack] = policy
        if not opts.dry_run:
            _put_role_policy(iam, f.stack, policy)
        result.stack_init[f.stack] = (f"pulumi stack init {f.stack} --secrets-provider "
                                      f"\"{secrets_provider(f.stack, opts.region)}\"")
    return result


def write_api_calls(names: Iterable[str]) -> list[str]:
    """The operation names among ``names`` that change something (for dry-run checks)."""
    read = ("Get", "List", "Head", "Describe")
    return [n for n in names if not n.startswith(read)]
