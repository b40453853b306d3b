"""The GCP delivery bootstrap as Pulumi resources: Workload Identity Federation for GitHub, one deploy service
account per stack, the state bucket and the KMS keys. ``build`` is called by ``__main__.py`` (the real
``pulumi up``) and by the tests under the review engine's mocks (docs/decisions: GCP delivery bootstrap)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
PROJECT = "backend-hosting"
"""The application's Pulumi project: its state objects live under ``.pulumi/stacks/<project>/``."""
KEY_ROTATION = "7776000s"
"""90 days."""
NONCURRENT_DAYS = 90
STACK_RE = re.compile(r"^[a-z][a-z0-9-]{1,24}$")
REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass
class StackEntry:
    """One stack deploying into this project."""

    name: str
    prefix: str
    grants: list[dict[str, Any]]
    billing: bool = False


@dataclass
class BootstrapArgs:
    """Inputs of the bootstrap (the bootstrap stack's config)."""

    repo: str
    project: str
    region: str
    stacks: list[StackEntry]
    bucket: str | None = None
    billing_account: str | None = None
    pool_id: str = "github"
    provider_id: str = "github-actions"
    labels: dict[str, str] = field(default_factory=lambda: {"managed-by": "gcp-bootstrap", "project": PROJECT})

    def validate(self) -> None:
        """Raise ValueError on input a real deploy would trip over later."""
        if not REPO_RE.match(self.repo):
            raise ValueError(f"repo {self.repo!r} is not ORG/REPO")
        if not self.stacks:
            raise ValueError("no stacks")
        for s in self.stacks:
            if not STACK_RE.match(s.name):
                raise ValueError(f"stack {s.name!r}: lowercase letters, digits and dashes, 2-25 characters")
            roles = {g["role"] for g in s.grants}
            if roles & {"roles/owner", "roles/editor"}:
                raise ValueError(f"stack {s.name}: a deploy account never gets owner or editor")
            if s.billing and not self.billing_account:
                raise ValueError(f"stack {s.name} declares a budget: set billingAccount")


def subject(repo: str, stack: str) -> str:
    """The OIDC subject of a GitHub Actions job of ``repo`` running in the environment ``stack``."""
    return f"repo:{repo}:environment:{stack}"


def principal_for(project_number: str, pool_id: str, repo: str, stack: str) -> str:
    """The federated principal of that one subject (no other repository, branch or environment)."""
    return (f"principal://iam.googleapis.com/projects/{project_number}/locations/global/workloadIdentityPools/"
            f"{pool_id}/subject/{subject(repo, stack)}")


def attribute_condition(repo: str, stacks: list[str]) -> str:
    """The provider accepts only this repository's jobs running in one of the stacks' environments."""
    envs = ", ".join(f"'{s}'" for s in stacks)
    return f"assertion.repository == '{repo}' && assertion.environment in [{envs}]"


def state_prefixes(stack: str) -> list[str]:
    """Object names of one stack in the DIY backend's project-scoped layout (as ops.bootstrap for S3)."""
    return [f".pulumi/stacks/{PROJECT}/{stack}.json", f".pulumi/history/{PROJECT}/{stack}/",
            f".pulumi/backups/{PROJECT}/{stack}/", f".pulumi/journal/{PROJECT}/{stack}/",
            f".pulumi/locks/organization/{PROJECT}/{stack}/"]


def account_id(stack: str) -> str:
    """The deploy service account id (6-30 characters)."""
    return f"deploy-{stack}"[:30].rstrip("-")


class GcpBootstrap(pulumi.ComponentResource):
    """Everything a gated GitHub deploy of the GCP stacks needs, in one project."""

    def __init__(self, name: str, args: BootstrapArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:ops:GcpBootstrap", name, None, opts)
        args.validate()
        child = pulumi.ResourceOptions(parent=self)
        keep = pulumi.ResourceOptions(parent=self, protect=True)
        self.number = number = gcp.organizations.get_project(project_id=args.project).number
        self.bucket_name = args.bucket or f"{args.project}-pulumi-state"

        # -- KMS: the state bucket's key and one secrets-provider key per stack ---------------------------------
        self.key_ring = gcp.kms.KeyRing(f"{name}-ring", name=f"{PROJECT}-delivery", location=args.region,
                                        project=args.project, opts=keep)
        self.state_key = gcp.kms.CryptoKey(f"{name}-state", name="pulumi-state", key_ring=self.key_ring.id,
                                           purpose="ENCRYPT_DECRYPT", rotation_period=KEY_ROTATION,
                                           labels=args.labels, opts=keep)
        gcs_agent = f"serviceAccount:service-{number}@gs-project-accounts.iam.gserviceaccount.com"
        state_key_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-state-gcs", crypto_key_id=self.state_key.id, role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=gcs_agent, opts=child)

        # -- the state bucket -------------------------------------------------------------------------------------
        self.bucket = gcp.storage.Bucket(
            f"{name}-state", name=self.bucket_name, project=args.project, location=args.region,
            uniform_bucket_level_access=True, public_access_prevention="enforced",
            versioning={"enabled": True}, encryption={"default_kms_key_name": self.state_key.id},
            soft_delete_policy={"retention_duration_seconds": 7 * 24 * 3600},
            lifecycle_rules=[{"action": {"type": "Delete"},
                              "condition": {"days_since_noncurrent_time": NONCURRENT_DAYS, "with_state": "ARCHIVED"}}],
            labels=args.labels, force_destroy=False,
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=[state_key_grant]))

        # -- Workload Identity Federation for GitHub Actions -----------------------------------------------------
        self.pool = gcp.iam.WorkloadIdentityPool(
            f"{name}-pool", workload_identity_pool_id=args.pool_id, project=args.project,
            display_name="GitHub Actions", description=f"Deploys of {args.repo}", opts=child)
        self.provider = gcp.iam.WorkloadIdentityPoolProvider(
            f"{name}-provider", workload_identity_pool_id=self.pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=args.provider_id, project=args.project,
            display_name="GitHub OIDC", oidc={"issuer_uri": GITHUB_ISSUER},
            attribute_mapping={"google.subject": "assertion.sub", "attribute.repository": "assertion.repository",
                               "attribute.environment": "assertion.environment",
                               "attribute.ref": "assertion.ref"},
            attribute_condition=attribute_condition(args.repo, [s.name for s in args.stacks]), opts=child)

        self.accounts: dict[str, gcp.serviceaccount.Account] = {}
        self.secrets_keys: dict[str, gcp.kms.CryptoKey] = {}
        for stack in args.stacks:
            self._stack(name, args, stack, child, keep)

        self.workload_identity_provider = self.provider.name
        self.register_outputs({
            "workload_identity_provider": self.provider.name, "state_bucket": self.bucket.name,
            "deploy_service_accounts": {k: a.email for k, a in self.accounts.items()},
            "secrets_keys": {k: key.id for k, key in self.secrets_keys.items()},
        })

    def _stack(self, name: str, args: BootstrapArgs, stack: StackEntry, child: pulumi.ResourceOptions,
               keep: pulumi.ResourceOptions) -> None:
        s = stack.name
        sa = gcp.serviceaccount.Account(f"{name}-{s}", account_id=account_id(s), project=args.project,
                                        display_name=f"Pulumi deploys of {s} from GitHub {args.repo}", opts=child)
        self.accounts[s] = sa
        member = sa.email.apply(lambda e: f"serviceAccount:{e}")
        # Only a GitHub job of the repository running in the stack's environment may act as the account.
        principal = pulumi.Output.from_input(self.number).apply(
            lambda n, s=s: principal_for(n, args.pool_id, args.repo, s))
        gcp.serviceaccount.IAMMember(f"{name}-{s}-wif", service_account_id=sa.name,
                                     role="roles/iam.workloadIdentityUser", member=principal, opts=child)
        for g in stack.grants:
            short = g["role"].split("/")[-1].replace(".", "-").lower()
            cond = g.get("condition")
            gcp.projects.IAMMember(f"{name}-{s}-{short}", project=args.project, role=g["role"], member=member,
                                   condition=cond and {"title": cond["title"], "expression": cond["expression"],
                                                       "description": f"deploys of {s}"}, opts=child)
        if stack.billing and args.billing_account:
            gcp.billing.AccountIamMember(f"{name}-{s}-budgets", billing_account_id=args.billing_account,
                                         role="roles/billing.costsManager", member=member, opts=child)
        # State: the stack's own objects (read, write, delete), the backend's layout marker (read), listing.
        objects = f"projects/_/buckets/{self.bucket_name}/objects/"
        own = " || ".join(f'resource.name.startsWith("{objects}{p}")' for p in state_prefixes(s))
        gcp.storage.BucketIAMMember(
            f"{name}-{s}-state", bucket=self.bucket.name, role="roles/storage.objectUser", member=member,
            condition={"title": f"{s} state objects only", "description": "listing and the stack's own objects",
                       "expression": f'resource.type == "storage.googleapis.com/Bucket" || {own}'}, opts=child)
        gcp.storage.BucketIAMMember(
            f"{name}-{s}-state-meta", bucket=self.bucket.name, role="roles/storage.objectViewer", member=member,
            condition={"title": "backend layout marker", "description": "read .pulumi/meta.yaml",
                       "expression": f'resource.name == "{objects}.pulumi/meta.yaml"'}, opts=child)
        # Secrets provider: a key per stack that only its deploy account uses.
        key = gcp.kms.CryptoKey(f"{name}-{s}-secrets", name=f"pulumi-secrets-{s}", key_ring=self.key_ring.id,
                                purpose="ENCRYPT_DECRYPT", rotation_period=KEY_ROTATION, labels=args.labels, opts=keep)
        self.secrets_keys[s] = key
        gcp.kms.CryptoKeyIAMMember(f"{name}-{s}-secrets-use", crypto_key_id=key.id,
                                   role="roles/cloudkms.cryptoKeyEncrypterDecrypter", member=member, opts=child)
        # The state key: the deploy account writes and reads state objects (CMEK) through Cloud Storage.
        gcp.kms.CryptoKeyIAMMember(f"{name}-{s}-state-key", crypto_key_id=self.state_key.id,
                                   role="roles/cloudkms.cryptoKeyEncrypterDecrypter", member=member, opts=child)


def secrets_provider(project: str, region: str, stack: str) -> str:
    """The ``--secrets-provider`` URL of a stack's key."""
    return (f"gcpkms://projects/{project}/locations/{region}/keyRings/{PROJECT}-delivery/cryptoKeys/"
            f"pulumi-secrets-{stack}")


def args_from_config(config: pulumi.Config, project: str) -> BootstrapArgs:
    """The bootstrap's inputs from the bootstrap stack's config (written by ``python -m ops bootstrap-gcp``)."""
    stacks = [StackEntry(name=k, prefix=v["prefix"], grants=list(v.get("grants") or []),
                         billing=bool(v.get("billing"))) for k, v in (config.require_object("stacks") or {}).items()]
    return BootstrapArgs(repo=config.require("repo"), project=project, region=config.require("region"),
                         stacks=stacks, bucket=config.get("bucket"), billing_account=config.get("billingAccount"))
