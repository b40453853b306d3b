"""AppSecret: one application secret in Secret Manager, replicated in the stack's region and encrypted with
the stack's ``secrets`` key (CMEK), its value generated (``pulumi_random.RandomPassword``, kept encrypted in the
Pulumi state) or taken from the stack's secret config, read by services only by reference.

Rotation on GCP is a schedule of notifications: Secret Manager publishes ``SECRET_ROTATE`` on a Pub/Sub topic
every ``rotation_days``; a subscriber (e.g. a Cloud Run job) adds the new version (docs/identity.md).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from components.gcp.common import (
    Cmek,
    Workload,
    child_opts,
    cmek_deps,
    cmek_id,
    gcp_labels,
    grantee_name,
    invoke_opts,
    member_of,
    remember_deps,
)

SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"


@dataclass
class AppSecretArgs:
    """Arguments of :class:`AppSecret`. Default: a generated 40-character value, no rotation."""

    region: str
    """Where the secret's one replica lives (the region of its CMEK key)."""
    value: pulumi.Input[str] | None = None
    """The value, e.g. ``pulumi.Config().require_secret("...")``; None: generate one (``length`` characters)."""
    length: int = 40
    """Length of a generated value (16-4096)."""
    rotation_days: int | None = None
    """Publish a rotation notification every N days (1-1000) on a Pub/Sub topic; None: no rotation."""
    kms_key: Cmek | pulumi.Input[str] | None = None
    """Customer-managed key of the replica (the stack key's ``secrets`` purpose); None: Google-managed."""
    topic_kms_key: Cmek | pulumi.Input[str] | None = None
    """Customer-managed key of the rotation topic (the ``pubsub`` key, granted to the Pub/Sub agent). None:
    Google-managed."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on the secret and the rotation topic."""
    protect: bool = False
    """Pulumi ``protect`` on the secret (prod)."""

    def __post_init__(self) -> None:
        if not 16 <= self.length <= 4096:
            raise ValueError(f"AppSecretArgs.length {self.length}: 16 to 4096")
        if self.rotation_days is not None and not 1 <= self.rotation_days <= 1000:
            raise ValueError(f"AppSecretArgs.rotation_days {self.rotation_days}: 1 to 1000")


class AppSecret(pulumi.ComponentResource):
    """A Secret Manager secret with one version and, with ``rotation_days``, a rotation schedule and its topic.
    Wiring: :meth:`grant_read` (``roles/secretmanager.secretAccessor`` on this secret only)."""

    secret: gcp.secretmanager.Secret
    version: gcp.secretmanager.SecretVersion
    password: random.RandomPassword | None
    topic: gcp.pubsub.Topic | None
    secret_id: pulumi.Output[str]

    def __init__(self, name: str, args: AppSecretArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:gcp:AppSecret", name, None, opts)
        remember_deps(self, opts)
        self.args = args
        labels = gcp_labels(args.labels)
        replica: dict[str, object] = {"location": args.region}
        key = cmek_id(args.kms_key)
        if key is not None:
            replica["customer_managed_encryption"] = {"kms_key_name": key}

        self.topic = None
        rotation: dict[str, str] | None = None
        topics: list[dict[str, pulumi.Input[str]]] | None = None
        ready: list[pulumi.Resource] = list(cmek_deps(args.kms_key))
        if args.rotation_days is not None:
            self.topic = gcp.pubsub.Topic(f"{name}-rotation", labels=labels, message_retention_duration="604800s",
                                          kms_key_name=cmek_id(args.topic_kms_key) if args.topic_kms_key else None,
                                          opts=child_opts(self, depends_on=list(cmek_deps(args.topic_kms_key))))
            number = gcp.organizations.get_project_output(opts=invoke_opts(self)).number
            ready.append(gcp.pubsub.TopicIAMMember(
                f"{name}-rotation-publisher", topic=self.topic.name, role="roles/pubsub.publisher",
                member=pulumi.Output.concat("serviceAccount:service-", number,
                                            "@gcp-sa-secretmanager.iam.gserviceaccount.com"),
                opts=child_opts(self)))
            topics = [{"name": self.topic.id}]
            first = datetime.datetime.now(datetime.UTC).replace(hour=0, minute=0, second=0, microsecond=0) + \
                datetime.timedelta(days=args.rotation_days)
            rotation = {"next_rotation_time": first.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "rotation_period": f"{args.rotation_days * 86400}s"}

        self.secret = gcp.secretmanager.Secret(
            f"{name}-secret", secret_id=name, labels=labels, replication={"user_managed": {"replicas": [replica]}},
            topics=topics, rotation=rotation,
            # The first rotation time is set once; later runs must not move it.
            opts=child_opts(self, protect=args.protect, depends_on=ready,
                            ignore_changes=["rotation.nextRotationTime"] if rotation else None))
        self.secret_id = self.secret.id
        self.password = None
        value = args.value
        if value is None:
            self.password = random.RandomPassword(
                f"{name}-value", length=args.length, special=True, override_special="!#%&*()-_=+[]{}<>:?",
                min_lower=1, min_upper=1, min_numeric=1, opts=child_opts(self))
            value = self.password.result
        self.version = gcp.secretmanager.SecretVersion(
            f"{name}-value", secret=self.secret.id, secret_data=pulumi.Output.secret(value),
            opts=child_opts(self, ignore_changes=["secretData"] if rotation else None))
        self.register_outputs({"secret_id": self.secret_id})

    def grant_read(self, grantee: Workload | gcp.serviceaccount.Account | str) -> gcp.secretmanager.SecretIamMember:
        """``roles/secretmanager.secretAccessor`` on this secret only (a Cloud Run ``Service`` given the secret in
        its ``secrets`` grants itself the same binding)."""
        who = grantee_name(grantee)
        return gcp.secretmanager.SecretIamMember(
            f"{self.pulumi_resource_name}-read-{who}", secret_id=self.secret.id, role=SECRET_ACCESSOR,
            member=member_of(grantee), opts=child_opts(self))
