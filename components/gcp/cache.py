"""Cache: Memorystore for Redis on private services access, TLS and AUTH, CMEK, RDB snapshots in prod."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_gcp as gcp

from components.gcp.common import (
    Cmek,
    Workload,
    allow_egress,
    child_opts,
    cmek_deps,
    cmek_id,
    gcp_labels,
    grantee_name,
    member_of,
    remember_deps,
)
from components.gcp.network import Network

READ_REPLICA_MIN_GB = 5
"""Memorystore read replicas need an instance of at least 5 GB."""
TLS_PORT = "6378"
"""Port of a Memorystore instance with in-transit encryption."""
SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"


def redis_version(engine_version: str) -> str:
    """``7.2`` -> ``REDIS_7_2``; Memorystore for Redis runs Redis OSS (a Valkey version maps to Redis 7.2)."""
    major, _, minor = engine_version.partition(".")
    if not major.isdigit():
        raise ValueError(f"engine_version {engine_version!r}: expected e.g. 7.2")
    if int(major) >= 8:  # Valkey 8 (the settings' default engine) is not a Memorystore for Redis version
        return "REDIS_7_2"
    return f"REDIS_{major}_{minor or '0'}"


@dataclass
class CacheArgs:
    """Arguments of :class:`Cache`. Defaults: one 1 GB BASIC node, TLS, AUTH, no persistence."""

    network: Network
    """The network: the instance takes an address from its private services access range."""
    region: str
    """Instance region."""
    memory_size_gb: int = 1
    """Capacity, GiB (``cache.memorySizeGb``)."""
    num_nodes: int = 1
    """Nodes (``cache.numNodes``): 1 is ``BASIC`` (no replica); 2-6 is ``STANDARD_HA`` with ``num_nodes - 1``
    replicas in other zones and automatic failover; replicas serve reads when the instance has 5 GB or more."""
    engine_version: str = "7.2"
    """Redis version (Valkey 8 maps to Redis 7.2, the newest Memorystore for Redis version)."""
    persistence: bool = False
    """RDB snapshots (prod)."""
    snapshot_period: Literal["ONE_HOUR", "SIX_HOURS", "TWELVE_HOURS", "TWENTY_FOUR_HOURS"] = "TWELVE_HOURS"
    """RDB snapshot period when ``persistence`` is on."""
    maintenance_day: str = "SUNDAY"
    """Weekly maintenance window day."""
    maintenance_hour: int = 5
    """Weekly maintenance window start hour, UTC (one-hour window)."""
    maxmemory_policy: str = "allkeys-lru"
    """``maxmemory-policy`` when memory is full."""
    deletion_protection: bool = False
    """The provider's deletion protection (its default is on; dev turns it off to destroy cleanly)."""
    kms_key: Cmek | pulumi.Input[str] | None = None
    """Customer-managed key (the ``redis`` key). None: Google-managed."""
    secrets_kms_key: Cmek | pulumi.Input[str] | None = None
    """Customer-managed key of the AUTH-string secret (the ``secrets`` key). None: Google-managed."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on the instance and the secret (the standard set)."""
    protect: bool = False
    """Pulumi ``protect`` on the instance (prod, where it holds snapshots)."""

    def __post_init__(self) -> None:
        redis_version(self.engine_version)
        if not 1 <= self.num_nodes <= 6:
            raise ValueError(f"CacheArgs.num_nodes {self.num_nodes}: use 1 to 6")
        if not 1 <= self.memory_size_gb <= 300:
            raise ValueError(f"CacheArgs.memory_size_gb {self.memory_size_gb}: use 1 to 300")


class Cache(pulumi.ComponentResource):
    """A Memorystore for Redis instance reachable only through private services access, with TLS
    (``SERVER_AUTHENTICATION``), AUTH (the string kept in Secret Manager), CMEK, a maintenance window and, when
    asked, replicas with automatic failover and RDB persistence."""

    instance: gcp.redis.Instance
    auth_secret: gcp.secretmanager.Secret
    auth_secret_version: gcp.secretmanager.SecretVersion
    host: pulumi.Output[str]
    port: pulumi.Output[int]
    read_endpoint: pulumi.Output[str] | None
    instance_id: pulumi.Output[str]
    tier: str

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:gcp:Cache", name, None, opts)
        remember_deps(self, opts)
        self.args = args
        labels = gcp_labels(args.labels)
        ha = args.num_nodes > 1
        read_replicas = ha and args.memory_size_gb >= READ_REPLICA_MIN_GB
        self.tier = "STANDARD_HA" if ha else "BASIC"
        self.instance = gcp.redis.Instance(
            f"{name}-redis", region=args.region, tier=self.tier, memory_size_gb=args.memory_size_gb,
            redis_version=redis_version(args.engine_version), display_name=f"{name} cache",
            authorized_network=args.network.network_id, connect_mode="PRIVATE_SERVICE_ACCESS",
            reserved_ip_range=args.network.services_range.name,
            auth_enabled=True, transit_encryption_mode="SERVER_AUTHENTICATION",
            customer_managed_key=cmek_id(args.kms_key),
            replica_count=(args.num_nodes - 1 if read_replicas else None) if ha else None,
            read_replicas_mode="READ_REPLICAS_ENABLED" if read_replicas else None,
            persistence_config={"persistence_mode": "RDB", "rdb_snapshot_period": args.snapshot_period}
            if args.persistence else {"persistence_mode": "DISABLED"},
            maintenance_policy={"weekly_maintenance_windows": [{
                "day": args.maintenance_day, "start_time": {"hours": args.maintenance_hour, "minutes": 0}}]},
            redis_configs={"maxmemory-policy": args.maxmemory_policy},
            deletion_protection=args.deletion_protection, labels=labels,
            opts=child_opts(self, protect=args.protect,
                            depends_on=[args.network.services_connection, *cmek_deps(args.kms_key)]))
        self.host = self.instance.host
        self.port = self.instance.port
        self.read_endpoint = self.instance.read_endpoint if read_replicas else None
        self.instance_id = self.instance.id

        # The AUTH string lives in Secret Manager only; the service reads it by reference.
        secrets_key = cmek_id(args.secrets_kms_key)
        replica: dict[str, object] = {"location": args.region}
        if secrets_key is not None:
            replica["customer_managed_encryption"] = {"kms_key_name": secrets_key}
        self.auth_secret = gcp.secretmanager.Secret(
            f"{name}-auth", secret_id=f"{name}-redis-auth", labels=labels,
            replication={"user_managed": {"replicas": [replica]}},
            opts=child_opts(self, depends_on=cmek_deps(args.secrets_kms_key)))
        self.auth_secret_version = gcp.secretmanager.SecretVersion(
            f"{name}-auth", secret=self.auth_secret.id, secret_data=self.instance.auth_string,
            opts=child_opts(self))

        self.register_outputs({
            "host": self.host,
            "port": self.port,
            "instance_id": self.instance_id,
            "tier": self.tier,
            "auth_secret_id": self.auth_secret.id,
        })

    # -- wiring --------------------------------------------------------------------------------------------------
    def allow_from(self, workload: Workload) -> gcp.compute.Firewall:
        """Open the one network path: egress from the workload's network tag to the instance (its primary
        endpoint, and the read endpoint when replicas serve reads) on the TLS port 6378."""
        who = grantee_name(workload)
        destinations: list[pulumi.Input[str]] = [pulumi.Output.concat(self.host, "/32")]
        if self.read_endpoint is not None:
            destinations.append(pulumi.Output.concat(self.read_endpoint, "/32"))
        return allow_egress(
            f"{self.pulumi_resource_name}-from-{who}", workload, destinations=destinations, ports=[TLS_PORT],
            description=f"{who} to Memorystore {self.pulumi_resource_name}", parent=self)

    def grant_connect(self, workload: Workload | gcp.serviceaccount.Account) -> gcp.secretmanager.SecretIamMember:
        """What a client needs to connect beyond the network path: reading the AUTH string (as
        :meth:`grant_auth_read`; Memorystore for Redis has no IAM authentication)."""
        return self.grant_auth_read(workload)

    def grant_auth_read(self, workload: Workload | gcp.serviceaccount.Account) -> gcp.secretmanager.SecretIamMember:
        """``roles/secretmanager.secretAccessor`` on the AUTH-string secret only (for a workload that reads it at
        run time; a Cloud Run ``Service`` given the secret in ``secrets`` grants itself)."""
        who = grantee_name(workload)
        return gcp.secretmanager.SecretIamMember(
            f"{self.pulumi_resource_name}-auth-{who}", secret_id=self.auth_secret.id, role=SECRET_ACCESSOR,
            member=member_of(workload), opts=child_opts(self))
