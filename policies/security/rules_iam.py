"""IAM least privilege: no ``*`` on ``*``, no wildcard principals in trust or resource policies, no admin
policies on workloads, no primitive roles or public members on GCP."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from policies.common import Context, Res, as_list, parse_json, resource_rule

from ._helpers import allows, public_principal_statements, statements, stmt_label

IAM = "iam-least-privilege"

POLICY_DOCS = ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy",
               "aws:iam/groupPolicy:GroupPolicy", "aws:iam/role:Role")


def _identity_documents(r: Res) -> list[tuple[str, object]]:
    """(label, document) of the identity policies a resource defines."""
    if r.type == "aws:iam/role:Role":
        return [(f"inline policy {p.get('name') or i!r}", p.get("policy"))
                for i, p in enumerate(as_list(r.get("inlinePolicies"))) if isinstance(p, Mapping)]
    return [("the policy", r.get("policy"))]


def _is_star(value: object) -> bool:
    return isinstance(value, str) and value.strip() in ("*", "*:*")


@resource_rule(
    "iam-no-star-action-star-resource", category=IAM, severity="critical", types=POLICY_DOCS,
    description="No IAM policy allows every action (\"*\", or NotAction) on every resource (\"*\").",
    remediation="List the actions the workload needs on the ARNs it uses (components' grant_* methods write these "
                "statements); use AWS managed job-function policies for people.",
)
def star_star(r: Res, ctx: Context) -> Iterator[str]:
    for label, doc in _identity_documents(r):
        for s in statements(doc):
            if not allows(s):
                continue
            resources = as_list(s.get("Resource"))
            if not any(_is_star(x) for x in resources):
                continue
            if any(_is_star(a) for a in as_list(s.get("Action"))):
                yield f"{label}: {stmt_label(s)} allows \"*\" on \"*\""
            elif s.get("NotAction") is not None:
                yield f"{label}: {stmt_label(s)} allows NotAction {as_list(s.get('NotAction'))[:3]} on \"*\""


@resource_rule(
    "iam-no-service-wildcard-actions", category=IAM, severity="medium", enforcement="advisory", types=POLICY_DOCS,
    description="IAM policies name actions rather than granting whole services (\"s3:*\") or \"*\" on specific "
                "resources.",
    remediation="Replace \"service:*\" with the specific actions (e.g. s3:GetObject, s3:PutObject).",
)
def service_wildcards(r: Res, ctx: Context) -> Iterator[str]:
    for label, doc in _identity_documents(r):
        for s in statements(doc):
            if not allows(s):
                continue
            resources = as_list(s.get("Resource"))
            wild = [a for a in as_list(s.get("Action")) if isinstance(a, str) and (a.endswith(":*") or a == "*")]
            if any(_is_star(a) for a in wild) and any(_is_star(x) for x in resources):
                continue  # iam-no-star-action-star-resource reports it
            if wild:
                yield f"{label}: {stmt_label(s)} grants {', '.join(sorted(set(wild)))}"


RESOURCE_POLICIES = {
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sns/topic:Topic": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sqs/queue:Queue": "policy",
    "aws:kms/key:Key": "policy",
    "aws:kms/keyPolicy:KeyPolicy": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:secretsmanager/secret:Secret": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:lambda/permission:Permission": "",
}


@resource_rule(
    "iam-no-wildcard-principal", category=IAM, severity="critical", types=tuple(RESOURCE_POLICIES),
    description="Trust policies and resource policies (SNS, SQS, KMS, Secrets Manager, ECR, Lambda) do not allow "
                "Principal \"*\" without a condition restricting the caller.",
    remediation="Name the principals (an account, a role ARN, a service such as ecs-tasks.amazonaws.com) or add "
                "aws:SourceArn / aws:SourceAccount / aws:PrincipalOrgID conditions.",
)
def wildcard_principal(r: Res, ctx: Context) -> Iterator[str]:
    if r.type == "aws:lambda/permission:Permission":
        principal = r.get("principal")
        if principal == "*" and not any(r.has(k) for k in ("sourceArn", "sourceAccount", "principalOrgId")):
            yield "the permission lets any principal invoke the function"
        return
    prop = RESOURCE_POLICIES[r.type]
    for s in public_principal_statements(r.get(prop)):
        what = "trust policy" if prop == "assumeRolePolicy" else "resource policy"
        yield f"the {what}'s {stmt_label(s)} allows Principal \"*\" with no restricting condition"


ADMIN_POLICIES = ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"]
ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment",
               "aws:iam/userPolicyAttachment:UserPolicyAttachment",
               "aws:iam/groupPolicyAttachment:GroupPolicyAttachment", "aws:iam/role:Role")


@resource_rule(
    "iam-no-admin-policy-on-workloads", category=IAM, severity="critical", types=ATTACHMENTS,
    description="No role, user or group gets an administrator-level AWS managed policy (AdministratorAccess, "
                "PowerUserAccess, IAMFullAccess).",
    remediation="Attach a least-privilege policy written for the workload instead (components' grant_* methods).",
    config={"forbiddenPolicies": {"type": "array", "items": {"type": "string"}, "default": ADMIN_POLICIES,
                                  "description": "AWS managed policy names that must not be attached."}},
)
def admin_policies(r: Res, ctx: Context) -> Iterator[str]:
    forbidden = set(ctx.config.get("forbiddenPolicies") or ADMIN_POLICIES)
    arns = as_list(r.get("managedPolicyArns")) if r.type == "aws:iam/role:Role" else [r.get("policyArn")]
    for arn in arns:
        if not isinstance(arn, str):
            continue
        account, _, name = arn.partition(":iam::")[2].partition(":policy/")
        if account == "aws" and name.rsplit("/", 1)[-1] in forbidden:
            yield f"attaches the AWS managed policy {name.rsplit('/', 1)[-1]}"


GCP_IAM_GRANTS = ("gcp:projects/iAMMember:IAMMember", "gcp:projects/iAMBinding:IAMBinding",
                  "gcp:projects/iAMPolicy:IAMPolicy", "gcp:folder/iAMMember:IAMMember",
                  "gcp:folder/iAMBinding:IAMBinding", "gcp:folder/iAMPolicy:IAMPolicy",
                  "gcp:organizations/iAMMember:IAMMember", "gcp:organizations/iAMBinding:IAMBinding",
                  "gcp:organizations/iAMPolicy:IAMPolicy", "gcp:serviceaccount/iAMMember:IAMMember",
                  "gcp:serviceaccount/iAMBinding:IAMBinding")
PRIMITIVE_ROLES = ["roles/owner", "roles/editor"]


def _gcp_grants(r: Res) -> list[tuple[str, list[str]]]:
    """(role, members) pairs of a GCP IAM member, binding or policy resource."""
    out: list[tuple[str, list[str]]] = []
    role = r.get("role")
    if isinstance(role, str):
        members = [m for m in as_list(r.get("member")) + as_list(r.get("members")) if isinstance(m, str)]
        out.append((role, members))
    doc = parse_json(r.get("policyData"))
    if isinstance(doc, Mapping):
        for b in as_list(doc.get("bindings")):
            if isinstance(b, Mapping) and isinstance(b.get("role"), str):
                out.append((b["role"], [m for m in as_list(b.get("members")) if isinstance(m, str)]))
    return out


@resource_rule(
    "gcp-no-primitive-roles", category=IAM, severity="high", types=GCP_IAM_GRANTS,
    description="No project, folder or organization grant uses the primitive roles/owner or roles/editor.",
    remediation="Grant predefined roles scoped to the need (roles/cloudsql.client, roles/storage.objectViewer...) "
                "to dedicated service accounts.",
    config={"forbiddenRoles": {"type": "array", "items": {"type": "string"}, "default": PRIMITIVE_ROLES}},
)
def gcp_primitive_roles(r: Res, ctx: Context) -> Iterator[str]:
    forbidden = set(ctx.config.get("forbiddenRoles") or PRIMITIVE_ROLES)
    for role, members in _gcp_grants(r):
        if role in forbidden:
            who = ", ".join(members[:3]) if members else "members"
            yield f"grants {role} to {who}"


PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
INVOKER_ROLES = frozenset({"roles/run.invoker", "roles/cloudfunctions.invoker"})
GCP_IAM_PATTERNS = ("gcp:*:*IAMMember", "gcp:*:*IamMember", "gcp:*:*IAMBinding", "gcp:*:*IamBinding",
                    "gcp:*:*IAMPolicy", "gcp:*:*IamPolicy")


@resource_rule(
    "gcp-iam-no-public-members", category=IAM, severity="critical", types=GCP_IAM_PATTERNS,
    description="No GCP IAM grant (other than Cloud Run/Functions invoker and Cloud Storage, which have their own "
                "rules) is given to allUsers or allAuthenticatedUsers.",
    remediation="Grant the role to specific service accounts, groups or users.",
)
def gcp_public_members(r: Res, ctx: Context) -> Iterator[str]:
    if r.type.startswith("gcp:storage/"):
        return  # gcs-bucket-no-public-access
    for role, members in _gcp_grants(r):
        if role in INVOKER_ROLES:
            continue
        for m in members:
            if m in PUBLIC_MEMBERS:
                yield f"grants {role} to {m}"


@resource_rule(
    "gcp-no-service-account-keys", category=IAM, severity="medium", enforcement="advisory",
    types=("gcp:serviceaccount/key:Key",),
    description="No user-managed service account keys (long-lived credentials that leak).",
    remediation="Use workload identity (attached service accounts, Workload Identity Federation for CI) instead of "
                "exported keys.",
)
def gcp_sa_keys(r: Res, ctx: Context) -> Iterator[str]:
    if not r.has("publicKeyData"):  # uploading a public key keeps the private key off Google and Pulumi state
        yield "creates a user-managed service account key (its private key lands in the Pulumi state)"


RULES = [star_star, service_wildcards, wildcard_principal, admin_policies, gcp_primitive_roles, gcp_public_members,
         gcp_sa_keys]
