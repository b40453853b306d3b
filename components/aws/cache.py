"""Cache: Valkey (or Redis OSS) in the isolated subnets, reachable from nobody by default, in one of two shapes.

:class:`Cache` is an ElastiCache replication group of fixed nodes; :class:`ServerlessCache` is ElastiCache
Serverless, capped in data and processing units. Both share :class:`CacheBase`: encrypted at rest (a
customer-managed KMS key) and in transit (TLS required), a security group with no rule until
:meth:`CacheBase.allow_from` opens exactly one path, and RBAC with an IAM-authenticated user: clients sign a
short-lived token with their task role (``elasticache:Connect``, :meth:`CacheBase.grant_connect`), so no password
or AUTH token exists anywhere. A replication group may instead use ``auth="token"``, an AUTH token read from an
existing Secrets Manager secret at deploy time (it then lives, encrypted, in the Pulumi state).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import pulumi
import pulumi_aws as aws

from components.base import with_aliases

from .common import (
    Connectable,
    Grantable,
    Grants,
    KeyLike,
    ServicePrincipal,
    allow_ingress,
    child_opts,
    data_key,
    key_arn,
    tag_set,
)

CACHE_PORT = 6379


@dataclass
class CacheBaseArgs:
    """Arguments both shapes take (see :class:`CacheArgs` and :class:`ServerlessCacheArgs`)."""

    vpc_id: pulumi.Input[str]
    """VPC of the cache's security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Isolated (data-tier) subnets."""
    engine: Literal["valkey", "redis"] = "valkey"
    """``valkey`` (7.2+) or ``redis`` (Redis OSS 7.x)."""
    engine_version: str = "8.0"
    """Engine version (Valkey 7.2/8.0, Redis OSS 7.0/7.1); its major version selects a parameter-group family."""
    snapshot_retention_days: int = 0
    """Daily snapshots kept; 0 = none. When > 0 a replication group also takes a final snapshot on delete."""
    snapshot_window: str = "03:00-04:00"
    """Daily snapshot window, UTC (a serverless cache starts its snapshot at the window's start)."""
    app_user: str = "app"
    """IAM authentication: suffix of the application user; its id and name are ``<identifier>-<app_user>``."""
    access_string: str = "on ~* +@all"
    """IAM authentication: ACL of the application user (tighten it, e.g. ``on ~app:* +@all -@dangerous``)."""
    identifier: str | None = None
    """Replication group id / serverless cache name (1-40 lowercase letters, digits, hyphens); defaults to the
    component name."""
    kms_key: KeyLike | None = None
    """Key for data at rest (and a replication group's slow-log group): an ``EncryptionKey`` or an ARN; ``None``
    creates one for this cache. A replication group's key must allow ``logs`` (its slow log is encrypted with
    it); a serverless cache has no slow log."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""
    protect: bool = False
    """Pulumi ``protect`` on the cache and the key it creates (prod)."""


@dataclass
class CacheArgs(CacheBaseArgs):
    """Arguments of :class:`Cache` (a replication group). Defaults are one small node; prod adds replicas and
    failover."""

    node_type: str = "cache.t4g.micro"
    """Node type."""
    num_nodes: int = 1
    """Nodes in the replication group: one primary plus replicas (1-6)."""
    automatic_failover: bool = False
    """Promote a replica when the primary fails (needs ``num_nodes`` >= 2)."""
    multi_az: bool = False
    """Spread nodes over AZs and fail over across them (needs ``automatic_failover``)."""
    maintenance_window: str = "sun:05:00-sun:06:00"
    """Weekly maintenance window, UTC (must not overlap the snapshot window)."""
    auth: Literal["iam", "token"] = "iam"
    """``iam``: an RBAC user group whose application user authenticates with IAM (no secret anywhere), plus
    a disabled ``default`` user. ``token``: an AUTH token read from ``auth_token_secret_arn``."""
    auth_token_secret_arn: pulumi.Input[str] | None = None
    """``auth="token"``: the Secrets Manager secret (plain string, 16-128 printable characters) holding the token."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """Engine parameters; when given, a parameter group of the engine's family is created."""
    log_retention_days: int = 7
    """Retention of the slow-log log group, days."""
    apply_immediately: bool = False
    """Apply modifications now instead of in the next maintenance window."""


@dataclass
class ServerlessCacheArgs(CacheBaseArgs):
    """Arguments of :class:`ServerlessCache`: the caps that bound its bill."""

    max_data_storage_gb: int = 1
    """Ceiling on data stored, GB (bounds the bill; writes fail beyond it)."""
    max_ecpu_per_second: int = 5000
    """Ceiling on ElastiCache Processing Units per second (bounds the bill; requests throttle)."""


class CacheBase(pulumi.ComponentResource):
    """What both shapes share: the key, the security group, the RBAC users and the wiring methods.

    Wiring: :meth:`allow_from` (the cache port from a peer's security group), :meth:`grant_connect`
    (``elasticache:Connect`` as the application user).
    """

    last_port: ClassVar[int] = CACHE_PORT
    """Highest port ``allow_from`` opens (a serverless cache also serves reads on 6380)."""
    _key_use: ClassVar[str] = "cache data and slow log"
    _key_needs: ClassVar[tuple[ServicePrincipal, ...]] = ("logs",)

    security_group: aws.ec2.SecurityGroup
    endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    user_name: str | None
    app_user: aws.elasticache.User | None
    user_group: aws.elasticache.UserGroup | None
    kms_key_arn: pulumi.Output[str]

    def __init__(self, type_token: str, name: str, args: CacheBaseArgs,
                 opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(type_token, name, None, opts)
        self.args = args
        self._cname = name
        self.identifier = args.identifier or name
        self._grants = Grants(self, name)
        self._resource_arn: pulumi.Output[str] | None = None
        self.user_name = None
        self.app_user = None
        self.user_group = None

        key = data_key(self, name, args.kms_key, description=f"{name}: {self._key_use}",
                       via_services=("elasticache",), needs=self._key_needs, tags=args.tags, protect=args.protect)
        self.kms_key = key
        self.kms_key_arn = key_arn(key)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description=f"{name}: {args.engine}; no ingress until allow_from",
            revoke_rules_on_delete=True, tags=tag_set(args.tags, f"{name}-cache"), opts=child_opts(self))

    def _iam_users(self) -> aws.elasticache.UserGroup:
        """The RBAC user group: a disabled ``default`` user (every group must hold one) and the IAM app user."""
        name, ident, args = self._cname, self.identifier, self.args
        # Users and group use engine "redis", which Valkey and Redis OSS caches both accept.
        default_user = aws.elasticache.User(
            f"{name}-default-user", user_id=f"{ident}-default", user_name="default", engine="redis",
            access_string="off -@all", authentication_mode={"type": "no-password-required"},
            tags=tag_set(args.tags, f"{name}-default-user"), opts=child_opts(self))
        self.user_name = f"{ident}-{args.app_user}"
        self.app_user = aws.elasticache.User(
            f"{name}-{args.app_user}-user", user_id=self.user_name, user_name=self.user_name, engine="redis",
            access_string=args.access_string, authentication_mode={"type": "iam"},
            tags=tag_set(args.tags, f"{name}-{args.app_user}-user"), opts=child_opts(self))
        self.user_group = aws.elasticache.UserGroup(
            f"{name}-users", user_group_id=f"{ident}-users", engine="redis",
            user_ids=[default_user.user_id, self.app_user.user_id],
            tags=tag_set(args.tags, f"{name}-users"), opts=child_opts(self))
        return self.user_group

    @staticmethod
    def _validate_common(name: str, ident: str, args: CacheBaseArgs, *, iam: bool) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,39}", ident) or ident.endswith("-") or "--" in ident:
            raise ValueError(f"{name}: identifier {ident!r} must be 1-40 lowercase letters, digits and single "
                             "hyphens, starting with a letter")
        m = re.fullmatch(r"(\d+)\.(\d+)(\.\d+)?", args.engine_version)
        if not m:
            raise ValueError(f"{name}: engine_version {args.engine_version!r} is not a version like 8.0")
        version = (int(m.group(1)), int(m.group(2)))
        if args.engine == "valkey" and version < (7, 2):
            raise ValueError(f"{name}: Valkey starts at 7.2, got {args.engine_version}")
        if args.engine == "redis" and not (7, 0) <= version < (8, 0):
            raise ValueError(f"{name}: use Redis OSS 7.0 or 7.1 (IAM authentication needs 7.0+), "
                             f"got {args.engine_version}")
        if iam and not re.fullmatch(r"[a-z][a-z0-9-]*", f"{ident}-{args.app_user}"):
            raise ValueError(f"{name}: app_user {args.app_user!r} must be lowercase letters, digits and hyphens")
        if not 0 <= args.snapshot_retention_days <= 35:
            raise ValueError(f"{name}: snapshot_retention_days must be 0-35")

    # -- wiring -----------------------------------------------------------------------------------------
    def allow_from(self, peer: Connectable, *, description: str | None = None) -> aws.vpc.SecurityGroupIngressRule:
        """Open the cache port(s) from ``peer``'s security group: one ingress rule here, the matching egress rule
        there (6379/tcp; a serverless cache 6379-6380)."""
        return allow_ingress(self, self.security_group, peer, from_port=CACHE_PORT, to_port=self.last_port,
                             what=self.args.engine, tags=self.args.tags, description=description)

    def grant_connect(self, grantee: Grantable | aws.iam.Role) -> aws.iam.RolePolicy:
        """Let the grantee's role connect as the application user: ``elasticache:Connect`` on this cache and
        that user only."""
        assert self.app_user is not None and self._resource_arn is not None
        return self._grants.add("connect", grantee, [{
            "Sid": "ConnectAsAppUser", "Effect": "Allow", "Action": "elasticache:Connect",
            "Resource": [self._resource_arn, self.app_user.arn],
        }])


class Cache(CacheBase):
    """A Valkey/Redis OSS replication group with subnet group, security group, key, users and slow log.

    Wiring: :meth:`allow_from` (6379), :meth:`grant_connect` (``elasticache:Connect`` as the application user,
    or reading the AUTH-token secret with ``auth="token"``), :meth:`grant_auth_read` (``auth="token"``).
    """

    replication_group: aws.elasticache.ReplicationGroup
    replication_group_id: pulumi.Output[str]
    subnet_group: aws.elasticache.SubnetGroup
    log_group: aws.cloudwatch.LogGroup
    parameter_group: aws.elasticache.ParameterGroup | None
    num_nodes: int

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        ident = args.identifier or name
        self._validate(name, ident, args)
        super().__init__("backend:aws:Cache", name, args, opts)
        self.auth = args.auth
        self.num_nodes = args.num_nodes
        tags = args.tags

        self.subnet_group = aws.elasticache.SubnetGroup(
            name, name=ident, description=f"{name}: isolated subnets", subnet_ids=args.subnet_ids,
            tags=tag_set(tags, name), opts=child_opts(self))
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-slow-log", name=f"/aws/elasticache/{ident}/slow-log",
            retention_in_days=args.log_retention_days, kms_key_id=self.kms_key_arn,
            tags=tag_set(tags, f"{name}-slow-log"), opts=child_opts(self))
        self.parameter_group = None
        if args.parameters:
            major = args.engine_version.split(".")[0]
            self.parameter_group = aws.elasticache.ParameterGroup(
                name, family=f"{args.engine}{major}", description=f"{name}: engine parameters",
                parameters=[aws.elasticache.ParameterGroupParameterArgs(name=k, value=v)
                            for k, v in sorted(args.parameters.items())],
                tags=tag_set(tags, name), opts=child_opts(self))

        self._token_secret_arn: pulumi.Input[str] | None = None
        auth_kwargs: dict[str, object] = {}
        if args.auth == "iam":
            auth_kwargs["user_group_ids"] = [self._iam_users().user_group_id]
        else:
            self._token_secret_arn = args.auth_token_secret_arn
            version = aws.secretsmanager.get_secret_version_output(
                secret_id=args.auth_token_secret_arn, opts=pulumi.InvokeOutputOptions(parent=self))
            auth_kwargs["auth_token"] = pulumi.Output.secret(version.secret_string)
            auth_kwargs["auth_token_update_strategy"] = "ROTATE"

        keep = args.snapshot_retention_days
        self.replication_group = aws.elasticache.ReplicationGroup(
            name,
            replication_group_id=ident,
            description=f"{name}: {args.engine} {args.engine_version}",
            engine=args.engine,
            engine_version=args.engine_version,
            node_type=args.node_type,
            num_cache_clusters=args.num_nodes,
            automatic_failover_enabled=args.automatic_failover,
            multi_az_enabled=args.multi_az,
            port=CACHE_PORT,
            subnet_group_name=self.subnet_group.name,
            security_group_ids=[self.security_group.id],
            parameter_group_name=self.parameter_group.name if self.parameter_group else None,
            at_rest_encryption_enabled=True,
            kms_key_id=self.kms_key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            snapshot_retention_limit=keep,
            snapshot_window=args.snapshot_window if keep else None,
            final_snapshot_identifier=f"{ident}-final" if keep else None,
            maintenance_window=args.maintenance_window,
            auto_minor_version_upgrade=True,
            apply_immediately=args.apply_immediately,
            log_delivery_configurations=[aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                destination=self.log_group.name, destination_type="cloudwatch-logs", log_format="json",
                log_type="slow-log")],
            tags=tag_set(tags, name),
            opts=child_opts(self, protect=args.protect),
            **auth_kwargs,  # type: ignore[arg-type]
        )
        self.endpoint = self.replication_group.primary_endpoint_address
        self.reader_endpoint = self.replication_group.reader_endpoint_address
        self.port = self.replication_group.port.apply(lambda p: p or CACHE_PORT)
        self.replication_group_id = self.replication_group.replication_group_id
        self._resource_arn = self.replication_group.arn
        self.register_outputs({
            "endpoint": self.endpoint, "reader_endpoint": self.reader_endpoint, "port": self.port,
            "replication_group_id": self.replication_group_id, "security_group_id": self.security_group.id,
            "user_name": self.user_name, "kms_key_arn": self.kms_key_arn,
        })

    @classmethod
    def _validate(cls, name: str, ident: str, args: CacheArgs) -> None:
        cls._validate_common(name, ident, args, iam=args.auth == "iam")
        if not 1 <= args.num_nodes <= 6:
            raise ValueError(f"{name}: num_nodes must be 1-6")
        if args.automatic_failover and args.num_nodes < 2:
            raise ValueError(f"{name}: automatic_failover needs num_nodes >= 2")
        if args.multi_az and not args.automatic_failover:
            raise ValueError(f"{name}: multi_az needs automatic_failover")
        if args.auth == "token" and args.auth_token_secret_arn is None:
            raise ValueError(f"{name}: auth='token' needs auth_token_secret_arn")
        if args.auth == "iam" and args.auth_token_secret_arn is not None:
            raise ValueError(f"{name}: auth_token_secret_arn is only used with auth='token'")

    def node_ids(self) -> list[pulumi.Output[str]]:
        """Member cache-cluster ids (``<group>-001``...), the ``CacheClusterId`` of per-node metrics."""
        return [self.replication_group_id.apply(lambda g, i=i: f"{g}-{i:03d}") for i in range(1, self.num_nodes + 1)]

    # -- wiring -----------------------------------------------------------------------------------------
    def grant_connect(self, grantee: Grantable | aws.iam.Role) -> aws.iam.RolePolicy:
        """Let the grantee's role connect.

        ``auth="iam"``: ``elasticache:Connect`` on this replication group and the application user only.
        ``auth="token"``: ``secretsmanager:GetSecretValue`` on the AUTH-token secret (same as
        :meth:`grant_auth_read`).
        """
        if self.auth == "token":
            return self.grant_auth_read(grantee)
        return super().grant_connect(grantee)

    def grant_auth_read(self, grantee: Grantable | aws.iam.Role) -> aws.iam.RolePolicy:
        """``auth="token"``: let the grantee read the AUTH-token secret (``GetSecretValue`` on it only).

        If that secret is encrypted with a customer-managed key, grant ``kms:Decrypt`` on it as well.
        """
        if self.auth != "token":
            raise ValueError(f"{self._cname}: grant_auth_read is for auth='token'; use grant_connect")
        return self._grants.add("auth-read", grantee, [{
            "Sid": "ReadAuthToken", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
            "Resource": self._token_secret_arn,
        }])


class ServerlessCache(CacheBase):
    """ElastiCache Serverless (Valkey/Redis OSS): no nodes to size, multi-AZ by design, billed for data stored
    and processing units and capped in both; IAM-authenticated RBAC users only, reads on 6380, no slow log.

    Its type token was ``backend:aws:Cache`` (``mode="serverless"``) before the shapes were split; an alias keeps a
    deployed cache. Wiring: :meth:`allow_from` (6379-6380), :meth:`grant_connect`.
    """

    last_port: ClassVar[int] = CACHE_PORT + 1
    _key_use: ClassVar[str] = "cache data"
    _key_needs: ClassVar[tuple[ServicePrincipal, ...]] = ()  # no slow log: CloudWatch Logs never uses the key

    serverless_cache: aws.elasticache.ServerlessCache
    cache_name: pulumi.Output[str]
    """The serverless cache's name, the ``clusterId`` dimension of its metrics."""

    def __init__(self, name: str, args: ServerlessCacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        ident = args.identifier or name
        self._validate_common(name, ident, args, iam=True)
        if not 1 <= args.max_data_storage_gb <= 5000:
            raise ValueError(f"{name}: max_data_storage_gb must be 1-5000")
        if not 1000 <= args.max_ecpu_per_second <= 15_000_000:
            raise ValueError(f"{name}: max_ecpu_per_second must be 1000-15000000")
        super().__init__("backend:aws:ServerlessCache", name, args, with_aliases(opts, "backend:aws:Cache"))
        user_group = self._iam_users()
        keep = args.snapshot_retention_days
        self.serverless_cache = aws.elasticache.ServerlessCache(
            name,
            name=ident,
            description=f"{name}: {args.engine} {args.engine_version} serverless",
            engine=args.engine,
            major_engine_version=args.engine_version.split(".")[0],
            subnet_ids=args.subnet_ids,
            security_group_ids=[self.security_group.id],
            kms_key_id=self.kms_key_arn,
            user_group_id=user_group.user_group_id,
            snapshot_retention_limit=keep,
            daily_snapshot_time=args.snapshot_window.split("-")[0] if keep else None,
            cache_usage_limits={
                "data_storage": {"maximum": args.max_data_storage_gb, "unit": "GB"},
                "ecpu_per_seconds": [{"maximum": args.max_ecpu_per_second}],
            },
            tags=tag_set(args.tags, name),
            opts=child_opts(self, protect=args.protect),
        )
        endpoint = self.serverless_cache.endpoints.apply(lambda e: e[0] if e else None)
        reader = self.serverless_cache.reader_endpoints.apply(lambda e: e[0] if e else None)
        self.endpoint = endpoint.apply(lambda e: e.address if e else None)  # type: ignore[assignment]
        self.reader_endpoint = reader.apply(lambda e: e.address if e else None)  # type: ignore[assignment]
        self.port = endpoint.apply(lambda e: (e.port if e else None) or CACHE_PORT)
        self.cache_name = self.serverless_cache.name
        self._resource_arn = self.serverless_cache.arn
        self.register_outputs({
            "endpoint": self.endpoint, "reader_endpoint": self.reader_endpoint, "port": self.port,
            "cache_name": self.cache_name, "security_group_id": self.security_group.id,
            "user_name": self.user_name, "kms_key_arn": self.kms_key_arn,
        })
