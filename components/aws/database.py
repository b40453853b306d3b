"""Database: PostgreSQL in the isolated subnets, reachable from nobody by default, in one of two shapes.

:class:`Database` is one RDS for PostgreSQL instance (optionally Multi-AZ); :class:`AuroraDatabase` is an Aurora
PostgreSQL cluster and its instances. Both share :class:`DatabaseBase`: storage, Performance Insights, the
RDS-managed master secret and the exported logs are encrypted with one customer-managed KMS key; SSL is forced
by the parameter group; the security group has no rule until :meth:`DatabaseBase.allow_from` opens exactly one
path; :meth:`DatabaseBase.grant_connect` and :meth:`DatabaseBase.grant_secret_read` write one grant each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pulumi
import pulumi_aws as aws

from components.base import with_aliases

from .common import (
    AwsContext,
    Connectable,
    Grantable,
    Grants,
    KeyLike,
    allow_ingress,
    aws_context,
    child_opts,
    data_key,
    key_arn,
    policy_json,
    service_principal_policy,
    tag_set,
)

POSTGRES_PORT = 5432


@dataclass
class DatabaseBaseArgs:
    """Arguments both shapes take (see :class:`DatabaseArgs` and :class:`AuroraDatabaseArgs`)."""

    vpc_id: pulumi.Input[str]
    """VPC of the database's security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Isolated (data-tier) subnets, at least two AZs (an RDS subnet-group requirement)."""
    engine_version: str = "16.4"
    """PostgreSQL version; the major version selects the parameter-group family."""
    instance_class: str = "db.t4g.micro"
    """Instance class."""
    backup_retention_days: int = 1
    """Automated backups kept (the point-in-time-recovery window), 1-35 days."""
    backup_window: str = "03:00-04:00"
    """Daily backup window, UTC (must not overlap the maintenance window)."""
    maintenance_window: str = "sun:04:30-sun:05:30"
    """Weekly maintenance window, UTC."""
    deletion_protection: bool = False
    """RDS deletion protection (refuses deletion through any API until turned off)."""
    final_snapshot: bool = True
    """Take a final snapshot ``<identifier>-final`` on delete. Dev may turn it off to destroy cleanly."""
    performance_insights: bool = False
    """Performance Insights, encrypted with the KMS key (7 days retention, the free tier)."""
    iam_authentication: bool = False
    """IAM database authentication; required for :meth:`DatabaseBase.grant_connect`."""
    log_exports: Sequence[str] | None = None
    """Logs exported to CloudWatch (``None`` = the shape's default); their log groups are created here first,
    with retention and KMS, so RDS does not create them unmanaged."""
    log_retention_days: int = 7
    """Retention of the exported-log groups, days."""
    slow_statement_ms: int = 500
    """``log_min_duration_statement``: statements slower than this are logged; -1 disables."""
    database_name: str = "app"
    """Initial database."""
    master_username: str = "dbadmin"
    """Master user; its password is generated and rotated by RDS in Secrets Manager, never seen here."""
    identifier: str | None = None
    """Physical DB identifier (instance or cluster); defaults to the component name."""
    kms_key: KeyLike | None = None
    """Key for storage, Performance Insights, the master secret and log groups: an ``EncryptionKey`` (which
    must allow ``logs``) or an ARN; ``None`` creates one for this database."""
    apply_immediately: bool = False
    """Apply modifications now instead of in the next maintenance window."""
    allow_major_version_upgrade: bool = False
    """Allow a change of ``engine_version`` to a new major version (the parameter group is replaced with it:
    it is auto-named, so the new one is created before the old one is deleted)."""
    ca_cert_identifier: str = "rds-ca-rsa2048-g1"
    """Server certificate authority clients verify against."""
    monitoring_interval: int = 0
    """Enhanced Monitoring (OS metrics), seconds between samples: 0 (off), 1, 5, 10, 15, 30 or 60. A role for
    the RDS monitoring service is created with it (prod: 60)."""
    permissions_boundary: pulumi.Input[str] | None = None
    """Permissions boundary of the Enhanced Monitoring role."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""
    protect: bool = False
    """Pulumi ``protect`` on the instance/cluster, its instances and the key it creates (prod)."""


@dataclass
class DatabaseArgs(DatabaseBaseArgs):
    """Arguments of :class:`Database` (RDS). Defaults are the cheap, safe dev shape; prod turns on the rest."""

    allocated_storage_gb: int = 20
    """Initial gp3 storage, GiB."""
    max_allocated_storage_gb: int = 0
    """Storage autoscaling ceiling, GiB; 0 disables autoscaling."""
    multi_az: bool = False
    """A synchronous standby in another AZ."""


@dataclass
class AuroraDatabaseArgs(DatabaseBaseArgs):
    """Arguments of :class:`AuroraDatabase`. Aurora storage grows by itself (no storage arguments)."""

    instance_class: str = "db.t4g.medium"
    """Instance class of every cluster instance; Aurora needs ``db.t4g.medium`` or larger."""
    multi_az: bool = False
    """One instance per AZ (see ``availability_zones``) instead of one writer."""
    availability_zones: Sequence[str] = ()
    """With ``multi_az``: one instance pinned to each of these AZs; empty = two instances, AWS-placed."""


class DatabaseBase(pulumi.ComponentResource):
    """What both shapes share: the key, subnet group, security group, log groups and the wiring methods.

    Wiring: :meth:`allow_from` (5432 from a peer's security group), :meth:`grant_connect` (``rds-db:connect``
    as one database user, IAM authentication), :meth:`grant_secret_read` (the RDS-managed master secret).
    """

    aurora: ClassVar[bool] = False
    """Whether the shape is Aurora (``Monitoring``'s database watch needs it: cluster vs instance metrics)."""
    _log_kind: ClassVar[str] = "instance"
    _default_logs: ClassVar[tuple[str, ...]] = ("postgresql", "upgrade")

    security_group: aws.ec2.SecurityGroup
    endpoint: pulumi.Output[str]
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    secret_arn: pulumi.Output[str]
    identifier: str
    kms_key_arn: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    log_groups: dict[str, aws.cloudwatch.LogGroup]

    def __init__(self, type_token: str, name: str, args: DatabaseBaseArgs,
                 opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(type_token, name, None, opts)
        self.args = args
        self.identifier = args.identifier or name
        self._validate(name, args)
        self._cname = name
        self._grants = Grants(self, name)
        self._ctx: AwsContext = aws_context(self)
        self.iam_authentication = args.iam_authentication
        tags = args.tags

        key = data_key(self, name, args.kms_key, description=f"{name}: database storage, secret and logs",
                       via_services=("rds", "secretsmanager"), needs=("logs",), tags=tags, protect=args.protect)
        self.kms_key = key
        self.kms_key_arn = key_arn(key)

        self.subnet_group = aws.rds.SubnetGroup(
            name, name=self.identifier, description=f"{name}: isolated subnets", subnet_ids=args.subnet_ids,
            tags=tag_set(tags, name), opts=child_opts(self))
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description=f"{name}: PostgreSQL; no ingress until allow_from",
            revoke_rules_on_delete=True, tags=tag_set(tags, f"{name}-db"), opts=child_opts(self))
        self.monitoring_role: aws.iam.Role | None = None
        if args.monitoring_interval:
            self.monitoring_role = aws.iam.Role(
                f"{name}-monitoring", description=f"RDS Enhanced Monitoring of {name} publishes OS metrics",
                assume_role_policy=service_principal_policy("monitoring.rds.amazonaws.com",
                                                            source_account=self._ctx.account_id),
                permissions_boundary=args.permissions_boundary,
                tags=tag_set(tags, f"{name}-monitoring"), opts=child_opts(self))
            # What AmazonRDSEnhancedMonitoringRole grants, scoped to this account and region (no managed policy).
            ctx = self._ctx
            group = pulumi.Output.concat("arn:", ctx.partition, ":logs:", ctx.region, ":", ctx.account_id,
                                         ":log-group:RDSOSMetrics")
            aws.iam.RolePolicy(f"{name}-monitoring", role=self.monitoring_role.id, policy=policy_json([
                {"Sid": "MetricsLogGroup", "Effect": "Allow",
                 "Action": ["logs:CreateLogGroup", "logs:PutRetentionPolicy"], "Resource": group},
                {"Sid": "MetricsLogStreams", "Effect": "Allow",
                 "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
                            "logs:GetLogEvents"],
                 "Resource": pulumi.Output.concat(group, ":log-stream:*")},
            ]), opts=child_opts(self))
        self.log_exports = list(args.log_exports if args.log_exports is not None else self._default_logs)
        self.log_groups = {
            log: aws.cloudwatch.LogGroup(
                f"{name}-{log}", name=f"/aws/rds/{self._log_kind}/{self.identifier}/{log}",
                retention_in_days=args.log_retention_days, kms_key_id=self.kms_key_arn,
                tags=tag_set(tags, f"{name}-{log}"), opts=child_opts(self))
            for log in self.log_exports
        }

    # -- shared by the shapes -----------------------------------------------------------------------------
    def _parameters(self) -> list[tuple[str, str]]:
        return [("rds.force_ssl", "1"), ("log_min_duration_statement", str(self.args.slow_statement_ms))]

    def _common_inputs(self) -> dict[str, Any]:
        """Inputs the RDS instance and the Aurora cluster take under the same names."""
        a = self.args
        return dict(
            engine_version=a.engine_version, manage_master_user_password=True,
            master_user_secret_kms_key_id=self.kms_key_arn, iam_database_authentication_enabled=a.iam_authentication,
            port=POSTGRES_PORT, db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[self.security_group.id], storage_encrypted=True, kms_key_id=self.kms_key_arn,
            backup_retention_period=a.backup_retention_days, copy_tags_to_snapshot=True,
            allow_major_version_upgrade=a.allow_major_version_upgrade, apply_immediately=a.apply_immediately,
            deletion_protection=a.deletion_protection, enabled_cloudwatch_logs_exports=self.log_exports,
            skip_final_snapshot=not a.final_snapshot,
            final_snapshot_identifier=f"{self.identifier}-final" if a.final_snapshot else None,
            tags=tag_set(a.tags, self._cname),
            opts=child_opts(self, protect=a.protect, depends_on=list(self.log_groups.values())))

    def _enhanced_monitoring(self) -> dict[str, Any]:
        if self.monitoring_role is None:
            return {}
        return dict(monitoring_interval=self.args.monitoring_interval, monitoring_role_arn=self.monitoring_role.arn)

    def _performance_insights(self) -> dict[str, Any]:
        on = self.args.performance_insights
        return dict(performance_insights_enabled=on, performance_insights_kms_key_id=self.kms_key_arn if on else None,
                    performance_insights_retention_period=7 if on else None)

    def _register(self, secrets: pulumi.Output[Any]) -> None:
        self.endpoint = pulumi.Output.concat(self.address, ":", self.port.apply(str))
        self.secret_arn = secrets.apply(lambda s: s[0].secret_arn if s else None)  # type: ignore[assignment]
        self.register_outputs({
            "endpoint": self.endpoint, "address": self.address, "port": self.port, "secret_arn": self.secret_arn,
            "security_group_id": self.security_group.id, "identifier": self.identifier,
            "kms_key_arn": self.kms_key_arn,
        })

    @staticmethod
    def _validate(name: str, args: DatabaseBaseArgs) -> None:
        if args.monitoring_interval not in (0, 1, 5, 10, 15, 30, 60):
            raise ValueError(f"{name}: monitoring_interval must be 0, 1, 5, 10, 15, 30 or 60 seconds, got "
                             f"{args.monitoring_interval}")
        ident = args.identifier or name
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,62}", ident) or ident.endswith("-") or "--" in ident:
            raise ValueError(f"{name}: identifier {ident!r} must be 1-63 lowercase letters, digits and single "
                             "hyphens, starting with a letter")
        if not re.fullmatch(r"\d+(\.\d+)*", args.engine_version):
            raise ValueError(f"{name}: engine_version {args.engine_version!r} is not a version like 16.4")
        if not 1 <= args.backup_retention_days <= 35:
            raise ValueError(f"{name}: backup_retention_days must be 1-35")
        if args.master_username in ("postgres", "rdsadmin", "admin"):
            raise ValueError(f"{name}: master_username {args.master_username!r} is reserved")

    # -- wiring -----------------------------------------------------------------------------------------
    def allow_from(self, peer: Connectable, *, description: str | None = None) -> aws.vpc.SecurityGroupIngressRule:
        """Open 5432/tcp from ``peer``'s security group: one ingress rule here, the matching egress rule there."""
        return allow_ingress(self, self.security_group, peer, from_port=POSTGRES_PORT, to_port=POSTGRES_PORT,
                             what="PostgreSQL", tags=self.args.tags, description=description)

    def grant_connect(self, grantee: Grantable | aws.iam.Role, db_user: str = "app") -> aws.iam.RolePolicy:
        """Allow ``rds-db:connect`` as ``db_user`` (IAM authentication) on this database only.

        The user must exist in PostgreSQL with the ``rds_iam`` role.
        """
        if not self.iam_authentication:
            raise ValueError(f"{self._cname}: grant_connect needs iam_authentication=True")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", db_user):
            raise ValueError(f"{self._cname}: {db_user!r} is not a PostgreSQL user name")
        ctx = self._ctx
        resource = pulumi.Output.concat("arn:", ctx.partition, ":rds-db:", ctx.region, ":", ctx.account_id,
                                        ":dbuser:", self.resource_id, "/", db_user)
        return self._grants.add(f"connect-{db_user.replace('_', '-')}", grantee, [{
            "Sid": "ConnectAsDbUser", "Effect": "Allow", "Action": "rds-db:connect", "Resource": resource,
        }])

    def grant_secret_read(self, grantee: Grantable | aws.iam.Role) -> aws.iam.RolePolicy:
        """Allow reading the RDS-managed master secret: ``GetSecretValue`` on it and ``kms:Decrypt`` on its key
        through Secrets Manager only. Pass the ECS execution role to inject it as a container secret."""
        ctx = self._ctx
        return self._grants.add("secret-read", grantee, [
            {"Sid": "ReadMasterSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": self.secret_arn},
            {"Sid": "DecryptMasterSecret", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": self.kms_key_arn,
             "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                 "secretsmanager.", ctx.region, ".", ctx.dns_suffix)}}},
        ])


class Database(DatabaseBase):
    """PostgreSQL on one RDS instance (optionally Multi-AZ) with its subnet group, parameter group, security
    group and key. Wiring: see :class:`DatabaseBase`."""

    instance: aws.rds.Instance
    parameter_group: aws.rds.ParameterGroup

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.max_allocated_storage_gb and args.max_allocated_storage_gb < args.allocated_storage_gb:
            raise ValueError(f"{name}: max_allocated_storage_gb must be 0 or at least allocated_storage_gb")
        super().__init__("backend:aws:Database", name, args, opts)
        major = args.engine_version.split(".")[0]
        self.parameter_group = aws.rds.ParameterGroup(
            name, family=f"postgres{major}", description=f"{name}: force SSL, log slow statements",
            parameters=[aws.rds.ParameterGroupParameterArgs(name=k, value=v) for k, v in self._parameters()],
            tags=tag_set(args.tags, name), opts=child_opts(self))
        self.instance = aws.rds.Instance(
            name,
            identifier=self.identifier,
            engine="postgres",
            instance_class=args.instance_class,
            db_name=args.database_name,
            username=args.master_username,
            publicly_accessible=False,
            parameter_group_name=self.parameter_group.name,
            storage_type="gp3",
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb or None,
            multi_az=args.multi_az,
            backup_window=args.backup_window,
            maintenance_window=args.maintenance_window,
            auto_minor_version_upgrade=True,
            ca_cert_identifier=args.ca_cert_identifier,
            **self._enhanced_monitoring(),
            **self._performance_insights(),
            **self._common_inputs(),
        )
        self.address = self.instance.address
        self.port = self.instance.port
        self.resource_id = self.instance.resource_id
        self._register(self.instance.master_user_secrets)


class AuroraDatabase(DatabaseBase):
    """Aurora PostgreSQL: a cluster and its instances (one, or one per AZ with ``multi_az``), with subnet group,
    cluster parameter group, security group and key. Wiring: see :class:`DatabaseBase`.

    Its type token was ``backend:aws:Database`` before the shapes were split; an alias keeps a deployed cluster.
    """

    aurora: ClassVar[bool] = True
    _log_kind: ClassVar[str] = "cluster"
    _default_logs: ClassVar[tuple[str, ...]] = ("postgresql",)

    cluster: aws.rds.Cluster
    cluster_instances: list[aws.rds.ClusterInstance]
    parameter_group: aws.rds.ClusterParameterGroup

    def __init__(self, name: str, args: AuroraDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if re.search(r"\.(micro|small)$", args.instance_class):
            raise ValueError(f"{name}: Aurora PostgreSQL needs db.t4g.medium or larger, got {args.instance_class}")
        super().__init__("backend:aws:AuroraDatabase", name, args, with_aliases(opts, "backend:aws:Database"))
        major = args.engine_version.split(".")[0]
        self.parameter_group = aws.rds.ClusterParameterGroup(
            name, family=f"aurora-postgresql{major}", description=f"{name}: force SSL, log slow statements",
            parameters=[aws.rds.ClusterParameterGroupParameterArgs(name=k, value=v) for k, v in self._parameters()],
            tags=tag_set(args.tags, name), opts=child_opts(self))
        self.cluster = aws.rds.Cluster(
            name,
            cluster_identifier=self.identifier,
            engine="aurora-postgresql",
            database_name=args.database_name,
            master_username=args.master_username,
            db_cluster_parameter_group_name=self.parameter_group.name,
            preferred_backup_window=args.backup_window,
            preferred_maintenance_window=args.maintenance_window,
            **self._common_inputs(),
        )
        azs: list[str | None] = list(args.availability_zones) if args.multi_az else []
        if not azs:
            azs = [None, None] if args.multi_az else [None]
        self.cluster_instances = [aws.rds.ClusterInstance(
            f"{name}-{i}",
            identifier=f"{self.identifier}-{i}",
            cluster_identifier=self.cluster.id,
            engine="aurora-postgresql",
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            availability_zone=az,
            db_subnet_group_name=self.subnet_group.name,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            apply_immediately=args.apply_immediately,
            ca_cert_identifier=args.ca_cert_identifier,
            promotion_tier=i - 1,
            copy_tags_to_snapshot=True,
            tags=tag_set(args.tags, f"{name}-{i}"),
            opts=child_opts(self, protect=args.protect),
            **self._enhanced_monitoring(),
            **self._performance_insights(),
        ) for i, az in enumerate(azs, start=1)]
        self.address = self.cluster.endpoint
        self.port = self.cluster.port
        self.resource_id = self.cluster.cluster_resource_id
        self._register(self.cluster.master_user_secrets)
