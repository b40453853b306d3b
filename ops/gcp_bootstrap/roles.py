"""The deploy service account's roles, derived from what a GCP stack declares.

Each declared type maps to the narrowest predefined roles that can create, update and delete it (never
``roles/owner`` or ``roles/editor``). Where IAM Conditions support resource names (Cloud Storage, Cloud KMS,
Secret Manager, Cloud SQL, Artifact Registry, service accounts), the binding is conditioned on the stack's name
prefix; project-level checks (creates and lists are authorised on the project) stay allowed. Project IAM grants
are limited to the roles the stack itself grants (``iam.googleapis.com/modifiedGrantsByRole``).
A type not listed stops the bootstrap (fail closed: add it, review the role, re-run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ops.prices import OpsError

PROJECT_TYPE = "cloudresourcemanager.googleapis.com/Project"

# role -> the resource-name segment its resources are named under (None: the service does not support
# resource-name conditions, the grant is project-wide for that service).
ROLE_SCOPE: dict[str, str | None] = {
    "roles/artifactregistry.admin": "repositories",
    "roles/cloudkms.admin": "keyRings",
    "roles/cloudscheduler.admin": None,
    "roles/cloudsql.admin": "instances",
    "roles/compute.loadBalancerAdmin": None,
    "roles/compute.networkAdmin": None,
    "roles/compute.securityAdmin": None,
    "roles/iam.serviceAccountAdmin": "serviceAccounts",
    "roles/iap.admin": None,
    "roles/identityplatform.admin": None,
    "roles/pubsub.admin": None,
    "roles/iam.serviceAccountUser": "serviceAccounts",
    "roles/logging.configWriter": None,
    "roles/monitoring.alertPolicyEditor": None,
    "roles/monitoring.dashboardEditor": None,
    "roles/monitoring.notificationChannelEditor": None,
    "roles/redis.admin": None,
    "roles/resourcemanager.projectIamAdmin": None,
    "roles/run.admin": None,
    "roles/secretmanager.admin": "secrets",
    "roles/servicenetworking.networksAdmin": None,
    "roles/serviceusage.serviceUsageAdmin": None,
    "roles/storage.admin": "buckets",
}

TYPE_ROLES: dict[str, tuple[str, ...]] = {
    "gcp:artifactregistry/repository:Repository": ("roles/artifactregistry.admin",),
    "gcp:cloudrunv2/service:Service": ("roles/run.admin", "roles/iam.serviceAccountUser"),
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": ("roles/run.admin",),
    "gcp:cloudrunv2/job:Job": ("roles/run.admin", "roles/iam.serviceAccountUser"),
    "gcp:cloudrunv2/jobIamMember:JobIamMember": ("roles/run.admin",),
    # a scheduler job and a push subscription act as their service accounts (actAs on them)
    "gcp:cloudscheduler/job:Job": ("roles/cloudscheduler.admin", "roles/iam.serviceAccountUser"),
    "gcp:pubsub/topic:Topic": ("roles/pubsub.admin",),
    "gcp:pubsub/subscription:Subscription": ("roles/pubsub.admin", "roles/iam.serviceAccountUser"),
    "gcp:pubsub/topicIAMMember:TopicIAMMember": ("roles/pubsub.admin",),
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": ("roles/pubsub.admin",),
    "gcp:serviceaccount/iAMMember:IAMMember": ("roles/iam.serviceAccountAdmin",),
    "gcp:compute/address:Address": ("roles/compute.networkAdmin",),
    "gcp:compute/backendService:BackendService": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/backendBucket:BackendBucket": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/firewall:Firewall": ("roles/compute.securityAdmin",),
    "gcp:compute/globalAddress:GlobalAddress": ("roles/compute.networkAdmin",),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/network:Network": ("roles/compute.networkAdmin",),
    "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/router:Router": ("roles/compute.networkAdmin",),
    "gcp:compute/routerNat:RouterNat": ("roles/compute.networkAdmin",),
    "gcp:compute/sSLPolicy:SSLPolicy": ("roles/compute.securityAdmin",),
    "gcp:compute/securityPolicy:SecurityPolicy": ("roles/compute.securityAdmin",),
    "gcp:compute/subnetwork:Subnetwork": ("roles/compute.networkAdmin",),
    "gcp:compute/targetHttpProxy:TargetHttpProxy": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": ("roles/compute.loadBalancerAdmin",),
    "gcp:compute/uRLMap:URLMap": ("roles/compute.loadBalancerAdmin",),
    "gcp:iap/webBackendServiceIamMember:WebBackendServiceIamMember": ("roles/iap.admin",),
    "gcp:identityplatform/config:Config": ("roles/identityplatform.admin",),
    "gcp:kms/cryptoKey:CryptoKey": ("roles/cloudkms.admin",),
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": ("roles/cloudkms.admin",),
    "gcp:kms/keyRing:KeyRing": ("roles/cloudkms.admin",),
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": ("roles/logging.configWriter",),
    "gcp:monitoring/alertPolicy:AlertPolicy": ("roles/monitoring.alertPolicyEditor",),
    "gcp:monitoring/dashboard:Dashboard": ("roles/monitoring.dashboardEditor",),
    "gcp:monitoring/notificationChannel:NotificationChannel": ("roles/monitoring.notificationChannelEditor",),
    "gcp:projects/iAMMember:IAMMember": ("roles/resourcemanager.projectIamAdmin",),
    "gcp:projects/service:Service": ("roles/serviceusage.serviceUsageAdmin",),
    "gcp:projects/serviceIdentity:ServiceIdentity": ("roles/serviceusage.serviceUsageAdmin",),
    "gcp:redis/instance:Instance": ("roles/redis.admin",),
    "gcp:secretmanager/secret:Secret": ("roles/secretmanager.admin",),
    "gcp:secretmanager/secretIamMember:SecretIamMember": ("roles/secretmanager.admin",),
    "gcp:secretmanager/secretVersion:SecretVersion": ("roles/secretmanager.admin",),
    "gcp:serviceaccount/account:Account": ("roles/iam.serviceAccountAdmin",),
    "gcp:servicenetworking/connection:Connection": ("roles/servicenetworking.networksAdmin",
                                                    "roles/compute.networkAdmin"),
    "gcp:sql/database:Database": ("roles/cloudsql.admin",),
    "gcp:sql/databaseInstance:DatabaseInstance": ("roles/cloudsql.admin",),
    "gcp:sql/user:User": ("roles/cloudsql.admin",),
    "gcp:storage/bucket:Bucket": ("roles/storage.admin",),
    "gcp:storage/bucketIAMMember:BucketIAMMember": ("roles/storage.admin",),
}
BILLING_TYPES = frozenset({"gcp:billing/budget:Budget"})
"""Budgets live on the billing account: ``roles/billing.costsManager`` there (the bootstrap's billingAccount)."""
FORBIDDEN_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer", "roles/iam.securityAdmin",
                             "roles/resourcemanager.organizationAdmin", "roles/iam.serviceAccountTokenCreator",
                             "roles/iam.serviceAccountKeyAdmin", "roles/iam.workloadIdentityPoolAdmin"})
"""Never granted to a deploy account, whatever a stack declares."""


@dataclass(frozen=True)
class Grant:
    """One project role of a deploy account, with its IAM condition (None: unconditioned)."""

    role: str
    title: str | None = None
    expression: str | None = None

    def to_config(self) -> dict[str, Any]:
        """The bootstrap stack's config shape."""
        out: dict[str, Any] = {"role": self.role}
        if self.expression:
            out["condition"] = {"title": self.title, "expression": self.expression}
        return out


@dataclass(frozen=True)
class StackGrants:
    """What one stack's deploy account may do."""

    stack: str
    prefix: str
    project: str
    grants: tuple[Grant, ...]
    billing: bool = False
    """The stack declares a budget (billing account role needed)."""

    def to_config(self) -> dict[str, Any]:
        """The ``stacks.<stack>`` entry of the bootstrap stack's config."""
        return {"prefix": self.prefix, "project": self.project, "billing": self.billing,
                "grants": [g.to_config() for g in self.grants]}


def name_condition(segment: str, prefix: str) -> str:
    """CEL: project-level checks, or resources named ``<prefix>`` / ``<prefix>-*`` under ``segment``."""
    name = f'resource.name.extract("/{segment}/{{name}}")'
    return (f'resource.type == "{PROJECT_TYPE}" || {name} == "{prefix}" || '
            f'{name}.startsWith("{prefix}-")')


def grants_for_graph(graph: Any, stack: str, *, project: str | None = None) -> StackGrants:
    """The deploy account's grants for a captured GCP stack; raises OpsError on an unmapped type."""
    roles: set[str] = set()
    granted: set[str] = set()
    billing = False
    for res in graph:
        if not res.custom or not res.type.startswith("gcp:"):
            continue
        if res.type in BILLING_TYPES:
            billing = True
            continue
        if res.type not in TYPE_ROLES:
            raise OpsError(f"{stack}: no deploy role known for resource type {res.type} "
                           "(add it to ops.gcp_bootstrap.roles.TYPE_ROLES)")
        roles.update(TYPE_ROLES[res.type])
        if res.type == "gcp:projects/iAMMember:IAMMember" and isinstance(res.inputs.get("role"), str):
            granted.add(res.inputs["role"])
    bad = roles & FORBIDDEN_ROLES or granted & FORBIDDEN_ROLES
    if bad:
        raise OpsError(f"{stack}: would need {', '.join(sorted(bad))}, which a deploy account never gets")
    env = str(graph.config_value("environment", stack))
    prefix = f"{graph.config_value('name', 'app')}-{env}"
    grants = []
    for role in sorted(roles):
        segment = ROLE_SCOPE[role]
        if role == "roles/resourcemanager.projectIamAdmin":
            allowed = ", ".join(f'"{r}"' for r in sorted(granted))
            grants.append(Grant(role, f"only the roles {stack} grants",
                                f"api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', [])"
                                f".hasOnly([{allowed}])"))
        elif segment is not None:
            grants.append(Grant(role, f"{prefix} {segment} only", name_condition(segment, prefix)))
        else:
            grants.append(Grant(role))
    proj = project or str(graph.config_value("gcpProject", "") or graph.config_value("gcp:project", ""))
    return StackGrants(stack=stack, prefix=prefix, project=proj, grants=tuple(grants), billing=billing)
