"""Disaster recovery on GCP: a cross-region Cloud SQL read replica, promoted to recover from a regional outage.

The replica copies the primary asynchronously (seconds of lag in normal operation) into the DR region, with
the same tier, flags and private network, encrypted with a key in the DR region (a Cloud SQL CMEK must share
the instance's region). The primary keeps its backups in the DR region (``DatabaseArgs.backup_location``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.gcp.common import Cmek, child_opts, cmek_deps, cmek_id, gcp_labels, remember_deps
from components.gcp.database import Database


@dataclass
class DatabaseReplicaArgs:
    """Arguments of :class:`DatabaseReplica`."""

    primary: Database
    """The instance to replicate."""
    region: str
    """The DR region (not the primary's)."""
    kms_key: Cmek | pulumi.Input[str] | None = None
    """The ``sql`` key of a key ring in ``region``; None: Google-managed."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """User labels (the standard set)."""
    protect: bool = False
    """Pulumi ``protect`` and deletion protection (prod)."""

    def __post_init__(self) -> None:
        if self.region == self.primary.args.region:
            raise ValueError(f"DatabaseReplicaArgs.region {self.region!r}: a cross-region replica needs another region")


class DatabaseReplica(pulumi.ComponentResource):
    """A Cloud SQL read replica of a :class:`Database` in another region (promote it in a regional disaster)."""

    instance: gcp.sql.DatabaseInstance
    connection_name: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseReplicaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:gcp:DatabaseReplica", name, None, opts)
        remember_deps(self, opts)
        p = args.primary
        pa = p.args
        self.instance = gcp.sql.DatabaseInstance(
            f"{name}-pg", region=args.region, master_instance_name=p.instance.name,
            database_version=p.instance.database_version, encryption_key_name=cmek_id(args.kms_key),
            deletion_protection=args.protect, replica_configuration={"failover_target": False},
            settings={
                "tier": pa.tier, "edition": pa.edition, "availability_type": "ZONAL", "disk_type": "PD_SSD",
                "disk_size": pa.disk_size_gb, "disk_autoresize": pa.disk_autoresize_limit_gb > 0,
                "disk_autoresize_limit": pa.disk_autoresize_limit_gb,
                "deletion_protection_enabled": args.protect,
                "ip_configuration": {
                    "ipv4_enabled": False, "private_network": pa.network.network_id,
                    "allocated_ip_range": pa.network.services_range.name, "ssl_mode": "ENCRYPTED_ONLY",
                    "enable_private_path_for_google_cloud_services": False},
                "database_flags": list(p.flags),
                "user_labels": gcp_labels(args.labels),
            },
            opts=child_opts(self, protect=args.protect, depends_on=[p.instance, *cmek_deps(args.kms_key)]))
        self.connection_name = self.instance.connection_name
        self.register_outputs({"connection_name": self.connection_name})
