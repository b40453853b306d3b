"""What the components of both clouds share, with no cloud SDK: API routes and the kit's vocabulary.

Each cloud has its own kit, ``components/aws`` (helpers in ``components/aws/common.py``) and ``components/gcp``
(helpers in ``components/gcp/common.py``). :data:`KIT` names, per concern, the class on each cloud and the
wiring methods both expose, so a stack reads the same on either cloud (``docs/architecture.md``, "The kit").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

SECRET_LIKE_NAME = re.compile(r"(?i)(password|secret|token|api_?key|private_?key)")
"""An environment variable named like a credential: components refuse it as a plain value (secrets go by
reference)."""


@dataclass(frozen=True)
class ApiRoute:
    """One versioned API on a load balancer: ``/<name>`` and ``/<name>/*`` go to its own backend (AWS: a target
    group; GCP: a backend service), split with a ``<name>-canary`` backend when ``canary_weight`` > 0."""

    name: str
    """Version name and path prefix, e.g. ``v1``."""
    weight: int = 100
    """Weight of the primary backend when a canary is present (AWS 0-999, GCP 0-1000)."""
    canary_weight: int = 0
    """Weight of the ``<name>-canary`` backend (AWS: its target group; GCP: the Cloud Run revision tagged
    ``canary``); 0 creates no canary."""


def with_aliases(opts: pulumi.ResourceOptions | None, *old_types: str) -> pulumi.ResourceOptions:
    """``opts`` plus an alias per former type token of a component (as pulumi-awsx does), so a stack deployed
    under the old token keeps its resources: the engine matches the old URN, and children inherit the alias
    from their parent."""
    return pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=t) for t in old_types]))


@dataclass(frozen=True)
class Concern:
    """One concern of the kit: its classes per cloud (``module:Class``) and the wiring methods they share."""

    name: str
    """The concern, also the field of ``stacks.StackComponents`` that holds it."""
    aws: tuple[str, ...]
    """AWS classes (several when one concern has several shapes, e.g. RDS and Aurora)."""
    gcp: tuple[str, ...]
    """GCP classes."""
    wiring: tuple[str, ...] = ()
    """Wiring methods every class of the concern has, on both clouds, with the same meaning."""
    extras: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Wiring methods only some classes have (``module:Class`` -> names), because only that cloud or shape has
    the thing they wire (e.g. an RDS-managed master secret)."""


KIT: tuple[Concern, ...] = (
    Concern("encryption_key", ("components.aws.kms:EncryptionKey",), ("components.gcp.kms:EncryptionKey",),
            wiring=("grant_encrypt_decrypt", "grant_decrypt"),
            extras={"components.gcp.kms:EncryptionKey": ("cmek",)}),
    Concern("network", ("components.aws.network:Network",), ("components.gcp.network:Network",)),
    Concern("load_balancer", ("components.aws.load_balancer:LoadBalancer",),
            ("components.gcp.load_balancer:LoadBalancer",),
            extras={"components.aws.load_balancer:LoadBalancer": ("allow_to",)}),
    Concern("service", ("components.aws.service:Service",), ("components.gcp.service:Service",),
            extras={"components.aws.service:Service": ("allow_from",),
                    "components.gcp.service:Service": ("grant_invoke",)}),
    Concern("database", ("components.aws.database:Database", "components.aws.database:AuroraDatabase"),
            ("components.gcp.database:Database",), wiring=("allow_from", "grant_connect"),
            extras={"components.aws.database:Database": ("grant_secret_read",),
                    "components.aws.database:AuroraDatabase": ("grant_secret_read",)}),
    Concern("cache", ("components.aws.cache:Cache", "components.aws.cache:ServerlessCache"),
            ("components.gcp.cache:Cache",), wiring=("allow_from", "grant_connect"),
            extras={"components.aws.cache:Cache": ("grant_auth_read",),
                    "components.gcp.cache:Cache": ("grant_auth_read",)}),
    Concern("buckets", ("components.aws.bucket:Bucket",), ("components.gcp.bucket:Bucket",),
            wiring=("grant_read", "grant_read_write"),
            extras={"components.gcp.bucket:Bucket": ("allow_usage_log_delivery",)}),
    Concern("monitoring", ("components.aws.monitoring:Monitoring",), ("components.gcp.monitoring:Monitoring",)),
    # The cluster is AWS's (ECS); Cloud Run needs none, so the concern has no GCP class.
    Concern("cluster", ("components.aws.cluster:Cluster",), ()),
    Concern("services", ("components.aws.web_service:WebService", "components.aws.worker:Worker",
                         "components.aws.job:Job"), ("components.gcp.job:Job",),
            # On GCP a web service and a worker are both a Cloud Run service: the `service` concern's Service.
            extras={"components.aws.web_service:WebService": ("allow_from", "grant_invoke"),
                    "components.gcp.job:Job": ("grant_run",)}),
    # VPC Lattice is AWS's identity layer for internal services; Cloud Run checks invokers itself (no GCP class).
    Concern("service_network", ("components.aws.lattice:ServiceNetwork", "components.aws.lattice:LatticeService"), (),
            extras={"components.aws.lattice:ServiceNetwork": ("allow_from",),
                    "components.aws.lattice:LatticeService": ("grant_invoke",)}),
    Concern("queues", ("components.aws.queue:Queue",), ("components.gcp.queue:Queue",),
            wiring=("grant_send", "grant_consume")),
    Concern("identity", ("components.aws.identity:Identity",), ("components.gcp.identity:Identity",)),
    Concern("secrets", ("components.aws.secrets:AppSecret",), ("components.gcp.secrets:AppSecret",),
            wiring=("grant_read",)),
)
"""The kit: one entry per concern (``docs/architecture.md`` shows it as a table; a test holds the classes to it)."""

WIRING_PREFIXES = ("allow_", "grant_")
"""Public methods with these prefixes are wiring methods and must be listed in :data:`KIT`."""
