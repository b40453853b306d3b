"""Database: Cloud SQL for PostgreSQL on a private IP only, CMEK-encrypted, with IAM database login."""

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
    invoke_opts,
    member_of,
    remember_deps,
)
from components.gcp.network import Network

CLIENT_ROLES = ("roles/cloudsql.client", "roles/cloudsql.instanceUser")
"""Connect to the instance (Cloud SQL connectors) and log in with IAM: the predefined roles a client needs."""
PORTS = ("5432", "3307")
"""PostgreSQL, and the Cloud SQL connectors' server-side proxy port."""

CIS_FLAGS: tuple[tuple[str, str], ...] = (
    ("log_checkpoints", "on"), ("log_connections", "on"), ("log_disconnections", "on"), ("log_hostname", "on"),
    ("log_min_error_statement", "error"), ("log_min_messages", "warning"), ("log_statement", "ddl"),
    ("cloudsql.enable_pgaudit", "on"), ("pgaudit.log", "ddl,role"),
)
"""CIS Google Cloud PostgreSQL logging flags (section 6.2) and pgAudit (DDL and role changes, not every read)."""


def database_version(engine_version: str) -> str:
    """``16.4`` -> ``POSTGRES_16`` (Cloud SQL pins the major version; minor versions are managed)."""
    major = engine_version.split(".")[0]
    if not major.isdigit():
        raise ValueError(f"engine_version {engine_version!r}: expected e.g. 16 or 16.4")
    return f"POSTGRES_{major}"


def iam_user_name(email: str) -> str:
    """Cloud SQL's PostgreSQL user for a service account: the email without ``.gserviceaccount.com``."""
    return email.removesuffix(".gserviceaccount.com")


@dataclass
class DatabaseArgs:
    """Arguments of :class:`Database`. Defaults: the cheapest private, encrypted, backed-up instance."""

    network: Network
    """The network: the instance gets a private IP from its private services access range (no public IP)."""
    region: str
    """Instance region."""
    tier: str = "db-f1-micro"
    """Machine tier (``database.instanceClass`` on GCP): ``db-f1-micro``, ``db-g1-small``, ``db-custom-C-M``."""
    engine_version: str = "16.4"
    """PostgreSQL version; the major version selects ``POSTGRES_<major>``."""
    disk_size_gb: int = 20
    """Initial SSD size, GiB."""
    disk_autoresize_limit_gb: int = 0
    """Storage autoresize ceiling, GiB; 0 turns autoresize off."""
    high_availability: bool = False
    """``availability_type=REGIONAL`` (a standby in another zone, automatic failover) instead of ``ZONAL``."""
    backup_retention_days: int = 1
    """Daily automated backups retained (count)."""
    point_in_time_recovery: bool = False
    """Keep write-ahead logs for point-in-time recovery (``min(7, backup_retention_days)`` days)."""
    backup_location: str | None = None
    """Region (or multi-region) that stores the automated backups; None: the multi-region nearest the instance.
    Set to the DR region so a regional disaster leaves a backup to restore (issue 14)."""
    backup_start_time: str = "03:00"
    """Start of the daily backup window, UTC (HH:MM)."""
    maintenance_day: int = 7
    """Maintenance window day (1 = Monday ... 7 = Sunday)."""
    maintenance_hour: int = 4
    """Maintenance window hour, UTC."""
    deletion_protection: bool = False
    """Refuse deletion: both the provider's ``deletion_protection`` and the API's
    ``settings.deletion_protection_enabled`` (which also stops console and gcloud deletes)."""
    iam_authentication: bool = True
    """Enable ``cloudsql.iam_authentication``: clients log in as their service account, with no password."""
    password_secret: str | None = None
    """Without IAM login: a Secret Manager secret (``projects/P/secrets/S``) an operator filled with the ``app``
    user's password; the program reads it only to set the user. No password is ever generated or stored here."""
    query_insights: bool = True
    """Query Insights (free): query plans, application tags, no client addresses."""
    slow_statement_ms: int = 1000
    """``log_min_duration_statement``: log statements slower than this, ms (-1 disables)."""
    database_name: str = "app"
    """Database created in the instance."""
    audit_logging: bool = True
    """The CIS PostgreSQL logging flags (checkpoints, connections, disconnections, host names, errors at
    ``error``, messages at ``warning``, DDL statements) and pgAudit for DDL and role changes
    (docs/hardening.md)."""
    edition: Literal["ENTERPRISE", "ENTERPRISE_PLUS"] = "ENTERPRISE"
    """Cloud SQL edition (shared-core and ``db-custom`` tiers are ENTERPRISE)."""
    kms_key: Cmek | pulumi.Input[str] | None = None
    """Customer-managed key (the ``sql`` key) encrypting data, backups and logs. None: Google-managed."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """User labels of the instance (the standard set)."""
    protect: bool = False
    """Pulumi ``protect`` on the instance (prod)."""

    def __post_init__(self) -> None:
        database_version(self.engine_version)
        if not self.tier.startswith("db-"):
            raise ValueError(f"DatabaseArgs.tier {self.tier!r}: a Cloud SQL tier starts with db-")
        if self.high_availability and self.tier in ("db-f1-micro", "db-g1-small"):
            raise ValueError(f"DatabaseArgs: {self.tier} is shared-core; high availability needs db-custom-*")
        if not 1 <= self.backup_retention_days <= 365:
            raise ValueError(f"DatabaseArgs.backup_retention_days {self.backup_retention_days}: use 1 to 365")
        if not self.iam_authentication and self.password_secret is None:
            raise ValueError("DatabaseArgs: without iam_authentication give password_secret (no password is "
                             "generated in code)")


class Database(pulumi.ComponentResource):
    """A Cloud SQL for PostgreSQL instance with only a private IP (``ipv4_enabled=False``, TLS required),
    CMEK, backups (and PITR), optional high availability, deletion protection, Query Insights and slow-statement
    logging; clients connect as IAM service-account users."""

    instance: gcp.sql.DatabaseInstance
    database: gcp.sql.Database
    password_user: gcp.sql.User | None
    users: dict[str, gcp.sql.User]
    connection_name: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    instance_name: pulumi.Output[str]
    project: pulumi.Output[str]
    database_id: pulumi.Output[str]
    """``<project>:<instance>``, the Cloud Monitoring ``database_id`` label."""

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:gcp:Database", name, None, opts)
        remember_deps(self, opts)
        self.args = args
        labels = gcp_labels(args.labels)
        flags = [{"name": "log_min_duration_statement", "value": str(args.slow_statement_ms)},
                 {"name": "log_lock_waits", "value": "on"}]
        if args.audit_logging:
            flags += [{"name": k, "value": v} for k, v in CIS_FLAGS]
        if args.iam_authentication:
            flags.append({"name": "cloudsql.iam_authentication", "value": "on"})
        self.flags = flags
        backup = {
            "enabled": True,
            "start_time": args.backup_start_time,
            "point_in_time_recovery_enabled": args.point_in_time_recovery,
            "backup_retention_settings": {"retained_backups": args.backup_retention_days, "retention_unit": "COUNT"},
        }
        if args.backup_location:
            backup["location"] = args.backup_location
        if args.point_in_time_recovery:
            backup["transaction_log_retention_days"] = min(7, args.backup_retention_days)
        self.instance = gcp.sql.DatabaseInstance(
            f"{name}-pg", region=args.region, database_version=database_version(args.engine_version),
            encryption_key_name=cmek_id(args.kms_key), deletion_protection=args.deletion_protection,
            settings={
                "tier": args.tier,
                "edition": args.edition,
                "availability_type": "REGIONAL" if args.high_availability else "ZONAL",
                "disk_type": "PD_SSD",
                "disk_size": args.disk_size_gb,
                "disk_autoresize": args.disk_autoresize_limit_gb > 0,
                "disk_autoresize_limit": args.disk_autoresize_limit_gb,
                "deletion_protection_enabled": args.deletion_protection,
                "backup_configuration": backup,
                "ip_configuration": {
                    "ipv4_enabled": False,
                    "private_network": args.network.network_id,
                    "allocated_ip_range": args.network.services_range.name,
                    "ssl_mode": "ENCRYPTED_ONLY",
                    "enable_private_path_for_google_cloud_services": False,
                },
                "insights_config": {
                    "query_insights_enabled": args.query_insights, "record_application_tags": args.query_insights,
                    "record_client_address": False, "query_string_length": 1024,
                },
                "database_flags": flags,
                "maintenance_window": {"day": args.maintenance_day, "hour": args.maintenance_hour,
                                       "update_track": "stable"},
                "password_validation_policy": {"enable_password_policy": True, "min_length": 16,
                                               "complexity": "COMPLEXITY_DEFAULT",
                                               "disallow_username_substring": True},
                "user_labels": labels,
            },
            opts=child_opts(self, protect=args.protect,
                            depends_on=[args.network.services_connection, *cmek_deps(args.kms_key)]))
        self.connection_name = self.instance.connection_name
        self.private_ip = self.instance.private_ip_address
        self.instance_name = self.instance.name
        self.project = self.instance.project
        self.database_id = pulumi.Output.concat(self.project, ":", self.instance_name)
        self.database = gcp.sql.Database(f"{name}-db", instance=self.instance.name, name=args.database_name,
                                         opts=child_opts(self))

        self.password_user = None
        if not args.iam_authentication and args.password_secret:
            secret = gcp.secretmanager.get_secret_version_output(secret=args.password_secret,
                                                                 opts=invoke_opts(self))
            self.password_user = gcp.sql.User(
                f"{name}-app", instance=self.instance.name, name="app", type="BUILT_IN",
                password=pulumi.Output.secret(secret.secret_data), opts=child_opts(self))
        self.users = {}

        self.register_outputs({
            "connection_name": self.connection_name,
            "private_ip": self.private_ip,
            "instance_name": self.instance_name,
            "database_name": args.database_name,
        })

    # -- wiring --------------------------------------------------------------------------------------------------
    def allow_from(self, workload: Workload) -> gcp.compute.Firewall:
        """Open the one network path: egress from the workload's network tag to this instance's private IP on
        5432 (and 3307, the Cloud SQL connectors' port), above the network's private-egress baseline."""
        who = grantee_name(workload)
        return allow_egress(
            f"{self.pulumi_resource_name}-from-{who}", workload,
            destinations=[pulumi.Output.concat(self.private_ip, "/32")], ports=list(PORTS),
            description=f"{who} to Cloud SQL {self.pulumi_resource_name}", parent=self)

    def grant_connect(self, workload: Workload | gcp.serviceaccount.Account) -> list[gcp.projects.IAMMember]:
        """Let the workload connect and log in as itself: ``roles/cloudsql.client`` and
        ``roles/cloudsql.instanceUser``, each conditioned on this instance only (Cloud SQL has no instance-level
        IAM policy, so the binding is on the project, narrowed by an IAM condition), and a
        ``CLOUD_IAM_SERVICE_ACCOUNT`` database user. Needs ``iam_authentication``."""
        if not self.args.iam_authentication:
            raise ValueError(f"Database {self.pulumi_resource_name}: grant_connect needs iam_authentication")
        who = grantee_name(workload)
        member = member_of(workload)
        resource = pulumi.Output.concat("projects/", self.project, "/instances/", self.instance_name)
        expression = resource.apply(
            lambda r: f'resource.type == "sqladmin.googleapis.com/Instance" && resource.name == "{r}"')
        bindings = []
        for role in CLIENT_ROLES:
            short = role.rsplit(".", 1)[-1].lower()
            bindings.append(gcp.projects.IAMMember(
                f"{self.pulumi_resource_name}-{short}-{who}", project=self.project, role=role, member=member,
                condition={"title": f"only-{self.pulumi_resource_name}",
                           "description": "This Cloud SQL instance only", "expression": expression},
                opts=child_opts(self)))
        email = pulumi.Output.from_input(member).apply(lambda m: m.split(":", 1)[-1])
        self.users[who] = gcp.sql.User(
            f"{self.pulumi_resource_name}-{who}", instance=self.instance.name, name=email.apply(iam_user_name),
            type="CLOUD_IAM_SERVICE_ACCOUNT", opts=child_opts(self, depends_on=bindings))
        return bindings
