"""EncryptionKey: one key ring with a customer-managed key per data service, rotated, each usable only by its agent.

The GCP peer of ``components/aws/kms.py`` (same concern, same name and grant methods). On AWS one key serves
several services through ``kms:ViaService``; on GCP each service agent must be granted its own key, so the
component holds a key per purpose and :meth:`EncryptionKey.cmek` hands one to a component's ``kms_key``.
Its type token was ``backend:gcp:Kms``; an alias keeps a deployed key ring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.base import with_aliases
from components.gcp.common import (
    Cmek,
    Workload,
    child_opts,
    gcp_labels,
    grantee_name,
    invoke_opts,
    member_of,
    remember_deps,
)

ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
DECRYPTER = "roles/cloudkms.cryptoKeyDecrypter"

SERVICE_AGENTS: dict[str, str] = {
    "sql": "gcp-sa-cloud-sql.iam.gserviceaccount.com",
    "storage": "gs-project-accounts.iam.gserviceaccount.com",
    "redis": "cloud-redis.iam.gserviceaccount.com",
    "artifacts": "gcp-sa-artifactregistry.iam.gserviceaccount.com",
    "run": "serverless-robot-prod.iam.gserviceaccount.com",
    "secrets": "gcp-sa-secretmanager.iam.gserviceaccount.com",
    "pubsub": "gcp-sa-pubsub.iam.gserviceaccount.com",
}
"""Key purpose -> domain of the Google service agent ``service-<project number>@<domain>`` that uses the key
(Cloud SQL, Cloud Storage, Memorystore for Redis, Artifact Registry, Cloud Run, Secret Manager, Pub/Sub)."""

DEFAULT_PURPOSES: tuple[str, ...] = ("sql", "storage", "redis", "artifacts", "run", "secrets")
"""The keys an :class:`EncryptionKeyArgs` creates by default (``pubsub`` only when asked: a stack with queues)."""

SERVICE_IDENTITY_APIS: dict[str, str] = {
    "sql": "sqladmin.googleapis.com",
    "artifacts": "artifactregistry.googleapis.com",
    "secrets": "secretmanager.googleapis.com",
    "pubsub": "pubsub.googleapis.com",
}
"""Purposes whose agent is created lazily by Google; ``ensure_service_agents`` creates it up front."""


def service_agent(purpose: str, project_number: pulumi.Input[str]) -> pulumi.Output[str]:
    """``serviceAccount:service-<number>@<agent domain>`` of a key purpose."""
    if purpose not in SERVICE_AGENTS:
        raise ValueError(f"unknown key purpose {purpose!r}: use one of {sorted(SERVICE_AGENTS)}")
    return pulumi.Output.concat("serviceAccount:service-", project_number, "@", SERVICE_AGENTS[purpose])


@dataclass
class EncryptionKeyArgs:
    """Arguments of :class:`EncryptionKey`. Defaults: a key for every data service, 90-day rotation, not protected."""

    location: str
    """Key-ring location: the region of the resources the keys protect (a CMEK must share their location)."""
    purposes: Sequence[str] = DEFAULT_PURPOSES
    """Which keys to create; each is granted to its service agent only (see ``SERVICE_AGENTS``; ``pubsub`` is
    not in the default ``DEFAULT_PURPOSES``: add it for Pub/Sub topics)."""
    rotation_days: int = 90
    """Automatic rotation period of every key, days (1 to 36500)."""
    destroy_scheduled_days: int = 30
    """Days a destroyed key version stays recoverable (1 to 120)."""
    protection_level: str = "SOFTWARE"
    """``SOFTWARE`` or ``HSM`` (HSM costs more per key version and operation)."""
    ensure_service_agents: bool = True
    """Create the service agents Google only creates on first use (Cloud SQL, Artifact Registry, Secret
    Manager: ``gcp.projects.ServiceIdentity``), so the key grants never name an account that does not exist."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on every key (the standard set)."""
    protect: bool = False
    """Pulumi ``protect`` on the key ring and keys (prod): destroying a key destroys the data it encrypts."""

    def __post_init__(self) -> None:
        unknown = [p for p in self.purposes if p not in SERVICE_AGENTS]
        if unknown:
            raise ValueError(f"EncryptionKeyArgs.purposes: unknown {unknown}; use some of {sorted(SERVICE_AGENTS)}")
        if not 1 <= self.rotation_days <= 36500:
            raise ValueError(f"EncryptionKeyArgs.rotation_days {self.rotation_days}: use 1 to 36500")
        if self.protection_level not in ("SOFTWARE", "HSM"):
            raise ValueError(f"EncryptionKeyArgs.protection_level {self.protection_level!r}: use SOFTWARE or HSM")


class EncryptionKey(pulumi.ComponentResource):
    """A key ring and one rotated ``ENCRYPT_DECRYPT`` key per purpose, each usable by exactly one Google
    service agent (``roles/cloudkms.cryptoKeyEncrypterDecrypter`` on that key only)."""

    key_ring: gcp.kms.KeyRing
    keys: dict[str, gcp.kms.CryptoKey]
    grants: dict[str, gcp.kms.CryptoKeyIAMMember]
    project_number: pulumi.Output[str]

    def __init__(self, name: str, args: EncryptionKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        opts = with_aliases(opts, "backend:gcp:Kms")
        super().__init__("backend:gcp:EncryptionKey", name, None, opts)
        remember_deps(self, opts)
        self.args = args
        labels = gcp_labels(args.labels)
        project = gcp.organizations.get_project_output(opts=invoke_opts(self))
        self.project_number = project.number

        self.key_ring = gcp.kms.KeyRing(f"{name}-ring", location=args.location,
                                        opts=child_opts(self, protect=args.protect))
        identities: dict[str, gcp.projects.ServiceIdentity] = {}
        if args.ensure_service_agents:
            for purpose in args.purposes:
                api = SERVICE_IDENTITY_APIS.get(purpose)
                if api:
                    identities[purpose] = gcp.projects.ServiceIdentity(
                        f"{name}-{purpose}-agent", service=api, opts=child_opts(self))
        self.keys = {}
        self.grants = {}
        for purpose in args.purposes:
            key = gcp.kms.CryptoKey(
                f"{name}-{purpose}", key_ring=self.key_ring.id, purpose="ENCRYPT_DECRYPT",
                rotation_period=f"{args.rotation_days * 86400}s",
                destroy_scheduled_duration=f"{args.destroy_scheduled_days * 86400}s",
                version_template={"algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
                                  "protection_level": args.protection_level},
                labels={**labels, "purpose": purpose}, opts=child_opts(self, protect=args.protect))
            self.keys[purpose] = key
            deps = [identities[purpose]] if purpose in identities else []
            self.grants[purpose] = gcp.kms.CryptoKeyIAMMember(
                f"{name}-{purpose}-agent", crypto_key_id=key.id, role=ENCRYPTER_DECRYPTER,
                member=service_agent(purpose, self.project_number), opts=child_opts(self, depends_on=deps))

        self.register_outputs({
            "key_ring_id": self.key_ring.id,
            "key_ids": {p: k.id for p, k in self.keys.items()},
        })

    def cmek(self, purpose: str) -> Cmek:
        """The key of ``purpose`` with its agent grant, to pass to a component's ``kms_key`` argument."""
        if purpose not in self.keys:
            raise KeyError(f"EncryptionKey {self.pulumi_resource_name} has no {purpose!r} key; it has "
                           f"{sorted(self.keys)}")
        return Cmek(key_id=self.keys[purpose].id, ready=(self.grants[purpose],))

    # -- wiring --------------------------------------------------------------------------------------------------
    def _grant(self, what: str, role: str, grantee: Workload | gcp.serviceaccount.Account | str,
               purpose: str) -> gcp.kms.CryptoKeyIAMMember:
        self.cmek(purpose)  # the same error for an unknown purpose
        return gcp.kms.CryptoKeyIAMMember(
            f"{self.pulumi_resource_name}-{purpose}-{what}-{grantee_name(grantee)}",
            crypto_key_id=self.keys[purpose].id, role=role, member=member_of(grantee), opts=child_opts(self))

    def grant_encrypt_decrypt(self, grantee: Workload | gcp.serviceaccount.Account | str,
                              purpose: str) -> gcp.kms.CryptoKeyIAMMember:
        """Let the grantee encrypt and decrypt with the ``purpose`` key (``cryptoKeyEncrypterDecrypter`` on that
        key only), e.g. for an application's envelope encryption."""
        return self._grant("encrypt-decrypt", ENCRYPTER_DECRYPTER, grantee, purpose)

    def grant_decrypt(self, grantee: Workload | gcp.serviceaccount.Account | str,
                      purpose: str) -> gcp.kms.CryptoKeyIAMMember:
        """Let the grantee decrypt with the ``purpose`` key (``cryptoKeyDecrypter`` on that key only)."""
        return self._grant("decrypt", DECRYPTER, grantee, purpose)
