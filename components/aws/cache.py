"""Cache: an ElastiCache replication group (Valkey by default, Redis OSS as an option) in the isolated subnets.

Encrypted at rest (customer-managed KMS key) and in transit (TLS required). Authentication defaults to RBAC
with an IAM-authenticated user: clients sign a short-lived token with their task role (``elasticache:Connect``),
so no password or AUTH token exists anywhere, in code, config or state. The alternative, ``auth="token"``,
reads an AUTH token from an existing Secrets Manager secret at deploy time (it then lives, encrypted, in the
Pulumi state). The security group has no rule until :meth:`Cache.allow_from` opens exactly one path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.base import Connectable, Grantable, child_opts, tag_set

from .kms import Grants, KeyLike, data_key, key_arn

CACHE_PORT = 6379


CacheMode = Literal["node", "serverless"]


@dataclass
class CacheArgs:
    """Arguments of :class:`Cache`. Defaults are one small node (dev); prod adds replicas and failover."""

    vpc_id: pulumi.Input[str]
    """VPC of the cache's security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Isolated (data-tier) subnets."""
    mode: CacheMode = "node"
    """``node``: a replication group of fixed nodes. ``serverless``: ElastiCache Serverless, billed for data
    stored (100 MB minimum on Valkey) and processing units, multi-AZ by design, capped by ``max_data_storage_gb``
    and ``max_ecpu_per_second`` (the cheapest cache for a small or spiky load; IAM auth only, no slow log)."""
    max_data_storage_gb: int = 1
    """``serverless``: ceiling on data stored, GB (bounds the bill; writes fail beyond it)."""
    max_ecpu_per_second: int = 5000
    """``serverless``: ceiling on ElastiCache Processing Units per second (bounds the bill; requests throttle)."""
    engine: Literal["valkey", "redis"] = "valkey"
    """``valkey`` (7.2+) or ``redis`` (Redis OSS 7.x)."""
    engine_version: str = "8.0"
    """Engine version (Valkey 7.2/8.0, Redis OSS 7.0/7.1); its major version selects a parameter-group family."""
    node_type: str = "cache.t4g.micro"
    """Node type."""
    num_nodes: int = 1
    """Nodes in the replication group: one primary plus replicas (1-6)."""
    automatic_failover: bool = False
    """Promote a replica when the primary fails (needs ``num_nodes`` >= 2)."""
    multi_az: bool = False
    """Spread nodes over AZs and fail over across them (needs ``automatic_failover``)."""
    snapshot_retention_days: int = 0
    """Daily snapshots kept; 0 = none. When > 0 a final snapshot is also taken on delete."""
    snapshot_window: str = "03:00-04:00"
    """Daily snapshot window, UTC."""
    maintenance_window: str = "sun:05:00-sun:06:00"
    """Weekly maintenance window, UTC (must not overlap the snapshot window)."""
    auth: Literal["iam", "token"] = "iam"
    """``iam``: an RBAC user group whose application user authenticates with IAM (no secret anywhere), plus
    a disabled ``default`` user. ``token``: an AUTH token read from ``auth_token_secret_arn``."""
    app_user: str = "app"
    """``auth="iam"``: suffix of the application user; its id and name are ``<identifier>-<app_user>``."""
    access_string: str = "on ~* +@all"
    """``auth="iam"``: ACL of the application user (tighten it, e.g. ``on ~app:* +@all -@dangerous``)."""
    auth_token_secret_arn: pulumi.Input[str] | None = None
    """``auth="token"``: the Secrets Manager secret (plain string, 16-128 printable characters) holding the token."""
    parameters: Mapping[str, str] = field(default_factory=dict)
    """Engine parameters; when given, a parameter group of the engine's family is created."""
    log_retention_days: int = 7
    """Retention of the slow-log log group, days."""
    identifier: str | None = None
    """Replication group id (1-40 lowercase letters, digits, hyphens); defaults to the component name."""
    kms_key: KeyLike | None = None
    """Key for data at rest and the slow-log group: an ``EncryptionKey`` (which must allow ``logs``) or an ARN;
    ``None`` creates one for this cache."""
    apply_immediately: bool = False
    """Apply modifications now instead of in the next maintenance window."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""
    protect: bool = False
    """Pulumi ``protect`` on the replication group and the key it creates (prod)."""


class Cache(pulumi.ComponentResource):
    """A Valkey/Redis OSS replication group with subnet group, security group, key, users and slow log.

    Wiring: :meth:`allow_from` (6379 from a peer's security group), :meth:`grant_connect` (``elasticache:Connect``
    as the application user, or reading the AUTH-token secret in token mode).
    """

    security_group: aws.ec2.SecurityGroup
    replication_group: aws.elasticache.ReplicationGroup
    endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    replication_group_id: pulumi.Output[str]
    user_name: str | None
    app_user: aws.elasticache.User | None
    user_group: aws.elasticache.UserGroup | None
    log_group: aws.cloudwatch.LogGroup | None
    kms_key_arn: pulumi.Output[str]
    num_nodes: int
    serverless_cache: aws.elasticache.ServerlessCache | None

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:Cache", name, None, opts)
        self.args = args
        self._cname = name
        ident = args.identifier or name
        self._validate(name, ident, args)
        self.identifier = ident
        self.auth = args.auth
        self.mode = args.mode
        self.num_nodes = args.num_nodes if args.mode == "node" else 0
        self.replication_group = None  # type: ignore[assignment]
        self.serverless_cache = None
        self.subnet_group = None
        self.log_group = None
        self._grants = Grants(self, name)
        tags = args.tags

        key = data_key(self, name, args.kms_key, description=f"{name}: cache data and slow log",
                       via_services=("elasticache",), needs=("logs",), tags=tags, protect=args.protect)
        self.kms_key = key
        self.kms_key_arn = key_arn(key)

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.vpc_id, description=f"{name}: {args.engine}; no ingress until allow_from",
            revoke_rules_on_delete=True, tags=tag_set(tags, f"{name}-cache"), opts=child_opts(self))
        if args.mode == "node":
            self.subnet_group = aws.elasticache.SubnetGroup(
                name, name=ident, description=f"{name}: isolated subnets", subnet_ids=args.subnet_ids,
                tags=tag_set(tags, name), opts=child_opts(self))
            self.log_group = aws.cloudwatch.LogGroup(
                f"{name}-slow-log", name=f"/aws/elasticache/{ident}/slow-log",
                retention_in_days=args.log_retention_days, kms_key_id=self.kms_key_arn,
                tags=tag_set(tags, f"{name}-slow-log"), opts=child_opts(self))

        self.parameter_group = None
        if args.parameters and args.mode == "node":
            major = args.engine_version.split(".")[0]
            self.parameter_group = aws.elasticache.ParameterGroup(
                name, family=f"{args.engine}{major}", description=f"{name}: engine parameters",
                parameters=[aws.elasticache.ParameterGroupParameterArgs(name=k, value=v)
                            for k, v in sorted(args.parameters.items())],
                tags=tag_set(tags, name), opts=child_opts(self))

        self.user_name = None
        self.app_user = None
        self.user_group = None
        self._token_secret_arn: pulumi.Input[str] | None = None
        auth_kwargs: dict[str, object] = {}
        if args.auth == "iam":
            # A user group must hold a user named "default": this one is disabled ("off") and can do nothing.
            # Users and group use engine "redis", which Valkey and Redis OSS replication groups both accept.
            default_user = aws.elasticache.User(
                f"{name}-default-user", user_id=f"{ident}-default", user_name="default", engine="redis",
                access_string="off -@all", authentication_mode={"type": "no-password-required"},
                tags=tag_set(tags, f"{name}-default-user"), opts=child_opts(self))
            self.user_name = f"{ident}-{args.app_user}"
            self.app_user = aws.elasticache.User(
                f"{name}-{args.app_user}-user", user_id=self.user_name, user_name=self.user_name, engine="redis",
                access_string=args.access_string, authentication_mode={"type": "iam"},
                tags=tag_set(tags, f"{name}-{args.app_user}-user"), opts=child_opts(self))
            self.user_group = aws.elasticache.UserGroup(
                f"{name}-users", user_group_id=f"{ident}-users", engine="redis",
                user_ids=[default_user.user_id, self.app_user.user_id],
                tags=tag_set(tags, f"{name}-users"), opts=child_opts(self))
            auth_kwargs["user_group_ids"] = [self.user_group.user_group_id]
        else:
            self._token_secret_arn = args.auth_token_secret_arn
            version = aws.secretsmanager.get_secret_version_output(
                secret_id=args.auth_token_secret_arn, opts=pulumi.InvokeOutputOptions(parent=self))
            auth_kwargs["auth_token"] = pulumi.Output.secret(version.secret_string)
            auth_kwargs["auth_token_update_strategy"] = "ROTATE"

        keep = args.snapshot_retention_days
        if args.mode == "serverless":
            assert self.user_group is not None  # serverless takes RBAC (IAM) auth only: see _validate
            self.serverless_cache = aws.elasticache.ServerlessCache(
                name,
                name=ident,
                description=f"{name}: {args.engine} {args.engine_version} serverless",
                engine=args.engine,
                major_engine_version=args.engine_version.split(".")[0],
                subnet_ids=args.subnet_ids,
                security_group_ids=[self.security_group.id],
                kms_key_id=self.kms_key_arn,
                user_group_id=self.user_group.user_group_id,
                snapshot_retention_limit=keep,
                daily_snapshot_time=args.snapshot_window.split("-")[0] if keep else None,
                cache_usage_limits={
                    "data_storage": {"maximum": args.max_data_storage_gb, "unit": "GB"},
                    "ecpu_per_seconds": [{"maximum": args.max_ecpu_per_second}],
                },
                tags=tag_set(tags, name),
                opts=child_opts(self, protect=args.protect),
            )
            endpoint = self.serverless_cache.endpoints.apply(lambda e: e[0] if e else None)
            reader = self.serverless_cache.reader_endpoints.apply(lambda e: e[0] if e else None)
            self.endpoint = endpoint.apply(lambda e: e.address if e else None)  # type: ignore[assignment]
            self.reader_endpoint = reader.apply(lambda e: e.address if e else None)  # type: ignore[assignment]
            self.port = endpoint.apply(lambda e: (e.port if e else None) or CACHE_PORT)
            self.replication_group_id = self.serverless_cache.name
            self._resource_arn = self.serverless_cache.arn
            self.register_outputs({
                "endpoint": self.endpoint, "reader_endpoint": self.reader_endpoint, "port": self.port,
                "cache_name": self.serverless_cache.name, "security_group_id": self.security_group.id,
                "user_name": self.user_name, "kms_key_arn": self.kms_key_arn,
            })
            return

        assert self.subnet_group is not None and self.log_group is not None
        failover = args.automatic_failover
        self.replication_group = aws.elasticache.ReplicationGroup(
            name,
            replication_group_id=ident,
            description=f"{name}: {args.engine} {args.engine_version}",
            engine=args.engine,
            engine_version=args.engine_version,
            node_type=args.node_type,
            num_cache_clusters=args.num_nodes,
            automatic_failover_enabled=failover,
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

    @staticmethod
    def _validate(name: str, ident: str, args: CacheArgs) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,39}", ident) or ident.endswith("-") or "--" in ident:
            raise ValueError(f"{name}: identifier {ident!r} must be 1-40 lowercase letters, digits and single "
                             "hyphens, starting with a letter")
        if args.mode not in ("node", "serverless"):
            raise ValueError(f"{name}: mode must be 'node' or 'serverless', got {args.mode!r}")
        if args.mode == "serverless":
            if args.auth != "iam":
                raise ValueError(f"{name}: a serverless cache authenticates with IAM users only (auth='iam')")
            if not 1 <= args.max_data_storage_gb <= 5000:
                raise ValueError(f"{name}: max_data_storage_gb must be 1-5000")
            if not 1000 <= args.max_ecpu_per_second <= 15_000_000:
                raise ValueError(f"{name}: max_ecpu_per_second must be 1000-15000000")
        if not 1 <= args.num_nodes <= 6:
            raise ValueError(f"{name}: num_nodes must be 1-6")
        if args.automatic_failover and args.num_nodes < 2:
            raise ValueError(f"{name}: automatic_failover needs num_nodes >= 2")
        if args.multi_az and not args.automatic_failover:
            raise ValueError(f"{name}: multi_az needs automatic_failover")
        m = re.fullmatch(r"(\d+)\.(\d+)(\.\d+)?", args.engine_version)
        if not m:
            raise ValueError(f"{name}: engine_version {args.engine_version!r} is not a version like 8.0")
        version = (int(m.group(1)), int(m.group(2)))
        if args.engine == "valkey" and version < (7, 2):
            raise ValueError(f"{name}: Valkey starts at 7.2, got {args.engine_version}")
        if args.engine == "redis" and not (7, 0) <= version < (8, 0):
            raise ValueError(f"{name}: use Redis OSS 7.0 or 7.1 (IAM authentication needs 7.0+), "
                             f"got {args.engine_version}")
        if args.auth == "token" and args.auth_token_secret_arn is None:
            raise ValueError(f"{name}: auth='token' needs auth_token_secret_arn")
        if args.auth == "iam" and args.auth_token_secret_arn is not None:
            raise ValueError(f"{name}: auth_token_secret_arn is only used with auth='token'")
        if args.auth == "iam" and not re.fullmatch(r"[a-z][a-z0-9-]*", f"{ident}-{args.app_user}"):
            raise ValueError(f"{name}: app_user {args.app_user!r} must be lowercase letters, digits and hyphens")
        if not 0 <= args.snapshot_retention_days <= 35:
            raise ValueError(f"{name}: snapshot_retention_days must be 0-35")

    def node_ids(self) -> list[pulumi.Output[str]]:
        """Member cache-cluster ids (``<group>-001``...), the ``CacheClusterId`` of per-node metrics (none when
        serverless)."""
        return [self.replication_group_id.apply(lambda g, i=i: f"{g}-{i:03d}") for i in range(1, self.num_nodes + 1)]

    @property
    def _last_port(self) -> int:
        return CACHE_PORT + 1 if self.mode == "serverless" else CACHE_PORT

    # -- wiring -----------------------------------------------------------------------------------------
    def allow_from(self, peer: Connectable, *, description: str | None = None) -> aws.vpc.SecurityGroupIngressRule:
        """Open the cache port from ``peer``'s security group: one ingress rule here, the matching egress rule there.

        6379/tcp; a serverless cache also serves reads on 6380, so it opens 6379-6380.
        """
        sg = getattr(peer, "security_group", None)
        if not isinstance(sg, aws.ec2.SecurityGroup):
            raise TypeError(f"{self._cname}: allow_from needs something with a security_group, got {peer!r}")
        peer_name = peer.pulumi_resource_name if isinstance(peer, pulumi.Resource) else sg.pulumi_resource_name
        rule = aws.vpc.SecurityGroupIngressRule(
            f"{self._cname}-from-{peer_name}", security_group_id=self.security_group.id,
            referenced_security_group_id=sg.id, ip_protocol="tcp", from_port=CACHE_PORT, to_port=self._last_port,
            description=description or f"{self.args.engine} from {peer_name}",
            tags=tag_set(self.args.tags, f"{self._cname}-from-{peer_name}"), opts=child_opts(self))
        aws.vpc.SecurityGroupEgressRule(
            f"{peer_name}-to-{self._cname}", security_group_id=sg.id,
            referenced_security_group_id=self.security_group.id, ip_protocol="tcp", from_port=CACHE_PORT,
            to_port=self._last_port, description=f"{self.args.engine} to {self._cname}",
            tags=tag_set(self.args.tags, f"{peer_name}-to-{self._cname}"), opts=child_opts(self))
        return rule

    def grant_connect(self, grantee: Grantable | aws.iam.Role) -> aws.iam.RolePolicy:
        """Let the grantee's role connect.

        ``auth="iam"``: ``elasticache:Connect`` on this cache (replication group or serverless cache) and the
        application user only.
        ``auth="token"``: ``secretsmanager:GetSecretValue`` on the AUTH-token secret (same as
        :meth:`grant_auth_read`).
        """
        if self.auth == "token":
            return self.grant_auth_read(grantee)
        assert self.app_user is not None
        return self._grants.add("connect", grantee, [{
            "Sid": "ConnectAsAppUser", "Effect": "Allow", "Action": "elasticache:Connect",
            "Resource": [self._resource_arn, self.app_user.arn],
        }])

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
