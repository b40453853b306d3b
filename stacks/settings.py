"""One validated settings model for every stack, on every cloud.

A stack's settings are the environment profile (dev, staging, prod: see ``PROFILES``) deep-merged with what
its ``Pulumi.<stack>.yaml`` says in the ``backend-hosting`` namespace. A stack file only states what differs
from its profile. Invalid input raises :class:`SettingsError` with one line naming the key, the value and what
is allowed.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pulumi.errors import RunError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

NAMESPACE = "backend-hosting"
"""The Pulumi config namespace (the project name) that holds our settings."""


class SettingsError(RunError, ValueError):
    """A stack's settings are invalid; the message is one line meant for a person.

    A ``pulumi.RunError``, so ``pulumi up`` reports the line without a Python traceback.
    """


class _Model(BaseModel):
    """Base: camelCase keys in YAML, snake_case in Python, unknown keys rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, validate_default=True
    )


class NetworkSettings(_Model):
    """The VPC and its subnet tiers."""

    cidr: str = Field("10.0.0.0/16", description="VPC CIDR block; a /16 to /20.")
    az_count: int = Field(2, ge=1, le=6, description="Availability zones to spread subnets over.")
    nat_strategy: Literal["none", "single", "per_az"] = Field(
        "none",
        description="Egress for private subnets: none (tasks in public subnets, dev), one NAT, or one per AZ.",
    )
    interface_endpoints: bool = Field(
        False, description="Create ECR, Logs and Secrets Manager interface endpoints (private tasks without NAT)."
    )
    flow_log_retention_days: int | None = Field(
        None, ge=1, description="Flow-log retention; defaults to monitoring.logRetentionDays."
    )

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, v: str) -> str:
        m = re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})", v)
        if not m or any(int(x) > 255 for x in m.groups()[:4]) or not 16 <= int(m.group(5)) <= 20:
            raise ValueError("must be an IPv4 CIDR block from /16 to /20, e.g. 10.0.0.0/16")
        return v


class ScalingSettings(_Model):
    """Target-tracking autoscaling of the service."""

    min: int = Field(1, ge=0, le=100, description="Minimum running tasks.")
    max: int = Field(2, ge=1, le=200, description="Maximum running tasks.")
    cpu_target: float = Field(60.0, gt=0, le=100, description="Target average CPU utilisation, percent.")
    memory_target: float = Field(75.0, gt=0, le=100, description="Target average memory utilisation, percent.")
    requests_per_target: int | None = Field(
        1000, ge=1, description="Target ALB requests per task per minute; null disables this policy."
    )

    @field_validator("max")
    @classmethod
    def _order(cls, v: int, info: ValidationInfo) -> int:
        low = info.data.get("min")
        if low is not None and low > v:
            raise ValueError(f"must be at least scaling.min ({low})")
        return v


class ApiVersion(_Model):
    """One versioned API route on the load balancer, e.g. /v1/* to its own target group."""

    name: str = Field(pattern=r"^v\d+$", description="Version name, used as the path prefix (/v1/*).")
    weight: int = Field(100, ge=0, le=999, description="Weight of the primary target group (canary split).")
    canary_weight: int = Field(0, ge=0, le=999, description="Weight of the canary target group; 0 = none.")


_VALID_FARGATE = {
    256: [512, 1024, 2048],
    512: [1024, 2048, 3072, 4096],
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}


class ServiceSettings(_Model):
    """The container service: image, size, health check and scaling."""

    image: str = Field(
        "nginxinc/nginx-unprivileged:1.27-alpine",
        min_length=1,
        description="Container image; CI sets it to the immutable reference it built. The default is a "
        "placeholder that runs as non-root on 8080 with a read-only root filesystem.",
    )
    image_managed_externally: bool = Field(
        False, description="An external deployer owns task-definition revisions; pulumi will not revert them."
    )
    cpu: int = Field(256, description="Task CPU units (256 = 0.25 vCPU); a Fargate size.")
    memory: int = Field(512, description="Task memory in MiB; must fit the CPU size on Fargate.")
    architecture: Literal["arm64", "x86_64"] = Field("arm64", description="CPU architecture of the task.")
    port: int = Field(8080, ge=1, le=65535, description="Port the container listens on.")
    health_check_path: str = Field(
        "/", pattern=r"^/", description="HTTP path the load balancer and the container health check probe."
    )
    desired_count: int = Field(1, ge=0, le=200, description="Tasks at deploy time (autoscaling adjusts).")
    scaling: ScalingSettings = Field(default_factory=ScalingSettings, description="Autoscaling bounds.")
    environment: dict[str, str] = Field(default_factory=dict, description="Plain environment variables.")
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="Environment variables from Secrets Manager or SSM: NAME -> secret or parameter ARN.",
    )
    api_versions: list[ApiVersion] = Field(
        default_factory=lambda: [ApiVersion(name="v1")], description="Versioned API routes."
    )

    @field_validator("environment")
    @classmethod
    def _no_secret_literals(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if re.search(r"(?i)(password|secret|token|api_?key|private_?key)", key):
                raise ValueError(f"{key} looks like a secret: put its ARN under service.secrets, not a literal")
        return v

    @field_validator("secrets")
    @classmethod
    def _secret_arns(cls, v: dict[str, str]) -> dict[str, str]:
        for key, arn in v.items():
            if not re.match(r"^arn:aws[\w-]*:(secretsmanager|ssm):", arn) and not arn.startswith("projects/"):
                raise ValueError(f"{key} must be a Secrets Manager/SSM ARN or a GCP secret path, got {arn!r}")
        return v

    @field_validator("cpu")
    @classmethod
    def _fargate_cpu(cls, v: int) -> int:
        if v not in _VALID_FARGATE:
            raise ValueError(f"not a Fargate CPU size: use one of {sorted(_VALID_FARGATE)}")
        return v

    @field_validator("memory")
    @classmethod
    def _fargate_memory(cls, v: int, info: ValidationInfo) -> int:
        allowed = _VALID_FARGATE.get(info.data.get("cpu"), [])
        if allowed and v not in allowed:
            raise ValueError(
                f"does not fit cpu {info.data['cpu']}: allowed {allowed[0]}..{allowed[-1]} MiB in valid steps"
            )
        return v


class LoadBalancerSettings(_Model):
    """The public load balancer."""

    waf: bool = Field(False, description="Attach a web ACL (AWS WAF / Cloud Armor) with managed rules.")
    rate_limit_per_5min: int = Field(
        2000, ge=100, le=2_000_000_000, description="Requests per client IP per 5 minutes before WAF blocks it."
    )


class DatabaseSettings(_Model):
    """The PostgreSQL tier."""

    enabled: bool = Field(True, description="Create the database.")
    engine: Literal["postgres", "aurora-postgresql"] = Field("postgres", description="RDS or Aurora PostgreSQL.")
    engine_version: str = Field("16.4", description="PostgreSQL engine version.")
    instance_class: str = Field(
        "db.t4g.micro", pattern=r"^db[.-]", description="AWS instance class (db.*) or Cloud SQL tier (db-*)."
    )
    allocated_storage_gb: int = Field(20, ge=20, le=65536, description="Initial gp3 storage, GiB.")
    max_allocated_storage_gb: int = Field(
        0, ge=0, le=65536, description="Storage autoscaling ceiling, GiB; 0 disables autoscaling."
    )
    multi_az: bool = Field(False, description="Standby in a second AZ (Aurora: one reader per extra AZ).")
    backup_retention_days: int = Field(1, ge=1, le=35, description="Automated backup retention (PITR window).")
    deletion_protection: bool = Field(False, description="Refuse deletion through the API.")
    performance_insights: bool = Field(False, description="Enable Performance Insights.")
    iam_authentication: bool = Field(False, description="Allow IAM database authentication.")
    database_name: str = Field("app", pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Initial database name.")


class CacheSettings(_Model):
    """The Redis-compatible cache tier."""

    enabled: bool = Field(True, description="Create the cache.")
    mode: Literal["node", "serverless"] = Field(
        "node", description="node: a replication group of fixed nodes; serverless: ElastiCache Serverless (AWS), "
        "billed for data stored and processing units, capped below."
    )
    max_data_storage_gb: int = Field(1, ge=1, le=5000, description="Serverless: ceiling on data stored, GB.")
    max_ecpu_per_second: int = Field(
        5000, ge=1000, le=15_000_000, description="Serverless: ceiling on processing units per second."
    )
    engine: Literal["valkey", "redis"] = Field("valkey", description="Valkey (default) or Redis OSS.")
    engine_version: str = Field("8.0", description="Engine version.")
    node_type: str = Field("cache.t4g.micro", pattern=r"^cache\.", description="ElastiCache node type (AWS).")
    memory_size_gb: int = Field(1, ge=1, le=300, description="Memorystore capacity in GiB (GCP).")
    num_nodes: int = Field(1, ge=1, le=6, description="Nodes in the replication group (primary + replicas).")
    automatic_failover: bool = Field(False, description="Promote a replica when the primary fails.")
    multi_az: bool = Field(False, description="Place replicas in other AZs.")
    snapshot_retention_days: int = Field(0, ge=0, le=35, description="Daily snapshot retention; 0 = none.")

    @model_validator(mode="after")
    def _failover(self) -> CacheSettings:
        if (self.automatic_failover or self.multi_az) and self.num_nodes < 2:
            raise ValueError("automaticFailover and multiAz need numNodes >= 2")
        return self


class BucketSettings(_Model):
    """One object-storage bucket."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$", description="Logical name; the stack prefixes it.")
    noncurrent_version_days: int = Field(30, ge=1, description="Expire noncurrent versions after N days.")
    transition_to_ia_days: int | None = Field(
        None, ge=30, description="Move objects to infrequent access after N days; null = never."
    )
    access_logging: bool = Field(False, description="Log requests to the stack's log bucket.")


class StorageSettings(_Model):
    """Object storage."""

    buckets: list[BucketSettings] = Field(
        default_factory=lambda: [BucketSettings(name="assets")], description="Buckets to create."
    )


class MonitoringSettings(_Model):
    """Alarms, dashboards and logs."""

    alert_emails: list[str] = Field(default_factory=list, description="Emails subscribed to the alarm topic.")
    pager_emails: list[str] = Field(
        default_factory=list, description="Pager integration emails (prod); subscribed to the pager topic."
    )
    log_retention_days: int = Field(7, description="Retention of every log group, days.")
    alarms_to_pager: bool = Field(False, description="Route alarms to the pager topic instead of email.")
    dashboard: bool = Field(True, description="Create the CloudWatch dashboard (3 USD/month beyond the free tier).")

    @field_validator("alert_emails", "pager_emails")
    @classmethod
    def _emails(cls, v: list[str]) -> list[str]:
        for e in v:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", e):
                raise ValueError(f"{e!r} is not an email address")
        return v

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, v: int) -> int:
        allowed = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                   3288, 3653]
        if v not in allowed:
            raise ValueError(f"{v} is not a CloudWatch retention: use one of {allowed}")
        return v


class EncryptionSettings(_Model):
    """Customer-managed KMS keys."""

    key_per_component: bool = Field(
        True,
        description="A key per concern (logs, database, cache, each bucket, alarm topics) for a small blast radius "
        "and separate key policies; false shares one stack key (1 USD/month instead of 5).",
    )


class IamSettings(_Model):
    """IAM roles the stack creates (AWS; ignored on GCP)."""

    permissions_boundary: bool = Field(
        True,
        description="Set the managed policy `backend-hosting-boundary-<stack>` (created by `python -m ops bootstrap`) "
        "as the permissions boundary of every role the stack creates: no grant can exceed it, and the deploy roles "
        "may only create or change roles that carry it. Free; false only for a stack deployed with other "
        "credentials into an account without that policy (ops bootstrap refuses such a stack).",
    )


class BudgetSettings(_Model):
    """The monthly cost budget; the review fails a stack whose estimate exceeds it."""

    monthly_usd: float = Field(gt=0, description="Monthly budget in USD.")
    warn_fraction: float = Field(0.8, gt=0, le=1, description="Warn when the estimate passes this fraction.")


class DnsSettings(_Model):
    """Domain and certificate of the public endpoint."""

    zone_name: str | None = Field(None, description="Route 53 hosted zone to validate certificates and alias in.")
    domain_name: str | None = Field(None, description="Public hostname, e.g. api.example.com.")
    certificate_arn: str | None = Field(None, description="Existing ACM certificate ARN to use instead.")

    @model_validator(mode="after")
    def _domain(self) -> DnsSettings:
        if self.zone_name and not self.domain_name:
            raise ValueError("domainName is required when zoneName is set")
        return self


class Waiver(_Model):
    """A reviewed exception to one policy for one resource (or a name pattern)."""

    policy: str = Field(min_length=1, description="Policy name, e.g. ecs-service-no-public-ip.")
    resource: str = Field(min_length=1, description="Resource name or fnmatch pattern, e.g. 'app-*'.")
    reason: str = Field(description="Why the exception is acceptable, at least 10 words.")

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str) -> str:
        if len(v.split()) < 10:
            raise ValueError("a waiver reason must have at least 10 words")
        return v


class Settings(_Model):
    """Everything one stack needs: cloud, region, environment profile and a section per concern."""

    cloud: Literal["aws", "gcp"] = Field("aws", description="Target cloud.")
    region: str = Field(pattern=r"^[a-z]{2,}(-[a-z]+)+-?\d+$", description="Cloud region, e.g. us-east-1.")
    environment: Literal["dev", "staging", "prod"] = Field(description="Profile supplying the defaults.")
    name: str = Field(
        "app", pattern=r"^[a-z][a-z0-9-]{1,20}$", description="Short name prefixed to physical resource names."
    )
    gcp_project: str | None = Field(None, description="GCP project id (cloud: gcp).")
    gcp_billing_account: str | None = Field(
        None, description="GCP billing account id for the budget (cloud: gcp); no budget when unset."
    )
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    load_balancer: LoadBalancerSettings = Field(default_factory=LoadBalancerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    encryption: EncryptionSettings = Field(default_factory=EncryptionSettings)
    iam: IamSettings = Field(default_factory=IamSettings)
    budget: BudgetSettings
    dns: DnsSettings = Field(default_factory=DnsSettings)
    tags: dict[str, str] = Field(default_factory=dict, description="Extra tags/labels on every resource.")
    waivers: list[Waiver] = Field(default_factory=list, description="Reviewed policy exceptions.")

    @model_validator(mode="after")
    def _cross(self) -> Settings:
        if self.cloud == "gcp" and not self.gcp_project:
            raise ValueError("gcpProject is required when cloud is gcp")
        prefix = "db." if self.cloud == "aws" else "db-"
        if not self.database.instance_class.startswith(prefix):
            raise ValueError(
                f"database.instanceClass {self.database.instance_class!r} is not a {self.cloud} class "
                f"(expected {prefix}...)"
            )
        if self.service.scaling.max < self.service.desired_count:
            raise ValueError("service.scaling.max must be at least service.desiredCount")
        return self

    @property
    def is_prod(self) -> bool:
        """True for the production profile."""
        return self.environment == "prod"

    @property
    def standard_tags(self) -> dict[str, str]:
        """Tags (AWS) / labels (GCP) for every resource that takes them, from one place."""
        tags = {
            "environment": self.environment,
            "owner": self.tags.get("owner", "platform"),
            "cost-center": self.tags.get("cost-center", "engineering"),
            "managed-by": "pulumi",
        }
        tags.update(self.tags)
        tags["managed-by"] = "pulumi"
        return tags


# Environment profiles: the defaults a stack file overrides. Keys are the YAML (camelCase) names.
PROFILES: dict[str, dict[str, Any]] = {
    "dev": {
        "network": {"azCount": 2, "natStrategy": "none", "interfaceEndpoints": False},
        "service": {"cpu": 256, "memory": 512, "architecture": "arm64", "desiredCount": 1,
                    "scaling": {"min": 1, "max": 2}},
        "database": {"instanceClass": "db.t4g.micro", "multiAz": False, "backupRetentionDays": 1,
                     "deletionProtection": False, "allocatedStorageGb": 20, "maxAllocatedStorageGb": 0},
        "cache": {"mode": "serverless", "nodeType": "cache.t4g.micro", "numNodes": 1, "automaticFailover": False,
                  "multiAz": False, "snapshotRetentionDays": 0, "maxDataStorageGb": 1, "maxEcpuPerSecond": 5000},
        "monitoring": {"logRetentionDays": 7, "alarmsToPager": False, "dashboard": False},
        "encryption": {"keyPerComponent": False},
        "iam": {"permissionsBoundary": True},
        "budget": {"monthlyUsd": 100},
    },
    "staging": {
        "network": {"azCount": 2, "natStrategy": "single", "interfaceEndpoints": False},
        "service": {"cpu": 512, "memory": 1024, "architecture": "arm64", "desiredCount": 2,
                    "scaling": {"min": 2, "max": 4}},
        "loadBalancer": {"waf": True},
        "database": {"instanceClass": "db.t4g.small", "multiAz": False, "backupRetentionDays": 7,
                     "deletionProtection": False, "allocatedStorageGb": 20, "maxAllocatedStorageGb": 100},
        "cache": {"nodeType": "cache.t4g.small", "numNodes": 2, "automaticFailover": True, "multiAz": True,
                  "snapshotRetentionDays": 1},
        "monitoring": {"logRetentionDays": 30, "alarmsToPager": False},
        "iam": {"permissionsBoundary": True},
        "budget": {"monthlyUsd": 500},
    },
    "prod": {
        "network": {"azCount": 3, "natStrategy": "per_az", "interfaceEndpoints": True},
        "service": {"cpu": 1024, "memory": 2048, "architecture": "arm64", "desiredCount": 3,
                    "scaling": {"min": 3, "max": 20}},
        "loadBalancer": {"waf": True},
        "database": {"instanceClass": "db.m7g.large", "multiAz": True, "backupRetentionDays": 30,
                     "deletionProtection": True, "performanceInsights": True, "iamAuthentication": True,
                     "allocatedStorageGb": 100, "maxAllocatedStorageGb": 1000},
        "cache": {"nodeType": "cache.m7g.large", "numNodes": 3, "automaticFailover": True, "multiAz": True,
                  "snapshotRetentionDays": 7},
        "monitoring": {"logRetentionDays": 365, "alarmsToPager": True},
        "iam": {"permissionsBoundary": True},
        "budget": {"monthlyUsd": 4000},
    },
}

# Cloud-specific overlays on the profiles: the same environments expressed in the other cloud's sizes.
CLOUD_PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "aws": {"dev": {}, "staging": {}, "prod": {}},
    "gcp": {
        # Cloud SQL logins are IAM database users (no password anywhere), so IAM authentication is always on.
        "dev": {"database": {"instanceClass": "db-f1-micro", "iamAuthentication": True}, "cache": {"memorySizeGb": 1}},
        "staging": {"database": {"instanceClass": "db-g1-small", "iamAuthentication": True},
                    "cache": {"memorySizeGb": 1}},
        "prod": {"database": {"instanceClass": "db-custom-2-7680", "iamAuthentication": True},
                 "cache": {"memorySizeGb": 5}},
    },
}

SECTIONS = tuple(
    Settings.model_fields[f].alias or f for f in Settings.model_fields
)  # top-level keys, camelCase


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``; mappings merge key by key, anything else replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts[-1] = f"{parts[-1]}[{p}]" if parts else f"[{p}]"
        elif p in ("function-after", "function-before") or str(p).startswith(("function-", "literal[")):
            continue
        else:
            parts.append(to_camel(str(p)) if "_" in str(p) else str(p))
    return ".".join(parts)


def _dig(data: Mapping[str, Any], loc: tuple[Any, ...]) -> Any:
    cur: Any = data
    for p in loc:
        try:
            cur = cur[p]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def from_values(values: Mapping[str, Any], source: str = "stack config") -> Settings:
    """Validate raw values (camelCase keys, our namespace stripped) over their environment profile.

    Raises :class:`SettingsError` with a single line naming the first offending key.
    """
    env = values.get("environment")
    if env is None:
        raise SettingsError(f"{source}: {NAMESPACE}:environment is required (one of dev, staging, prod)")
    if env not in PROFILES:
        raise SettingsError(
            f"{source}: {NAMESPACE}:environment = {env!r} is not allowed (one of dev, staging, prod)"
        )
    cloud = values.get("cloud", "aws")
    if cloud not in CLOUD_PROFILES:
        raise SettingsError(f"{source}: {NAMESPACE}:cloud = {cloud!r} is not allowed (one of aws, gcp)")
    merged = deep_merge(deep_merge(PROFILES[env], CLOUD_PROFILES[cloud][env]), values)
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal["))))
        key = _loc(loc)
        if err["type"] == "extra_forbidden":
            return _raise(f"{source}: unknown setting {NAMESPACE}:{key}")
        if err["type"] == "missing":
            return _raise(f"{source}: {NAMESPACE}:{key} is required")
        msg = err["msg"].removeprefix("Value error, ")
        if not key:  # a cross-field rule: its message starts with the key it is about
            return _raise(f"{source}: {NAMESPACE}:{msg}")
        value = _dig(merged, loc)
        return _raise(f"{source}: {NAMESPACE}:{key} = {json.dumps(value)} is invalid: {msg}")


def from_stack_file(path: str | Path) -> Settings:
    """Validate the settings of a ``Pulumi.<stack>.yaml`` file directly (tools and tests; no Pulumi runtime)."""
    import yaml

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"{path.name}: cannot read: {' '.join(str(exc).split())}") from None
    raw = doc.get("config") or {} if isinstance(doc, dict) else {}
    prefix = f"{NAMESPACE}:"
    values = {k[len(prefix):]: v for k, v in raw.items() if isinstance(k, str) and k.startswith(prefix)}
    return from_values(values, source=path.name)


def _raise(message: str) -> Settings:
    raise SettingsError(message)


def _decode(raw: str) -> Any:
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw


def load() -> Settings:
    """Read and validate the current stack's settings from Pulumi config (our namespace)."""
    import pulumi

    cfg = pulumi.Config(NAMESPACE)
    values: dict[str, Any] = {}
    for key in SECTIONS:
        raw = cfg.get(key)
        if raw is not None:
            scalar = key in ("environment", "region", "cloud", "name", "gcpProject", "gcpBillingAccount")
            values[key] = raw if scalar else _decode(raw)
    # Keys in our namespace that the model does not know are a typo, not something to ignore.
    prefix = f"{NAMESPACE}:"
    from pulumi.runtime.config import CONFIG, get_config_env

    known = set(SECTIONS)
    for full in list(CONFIG.get()) + list(get_config_env()):
        if full.startswith(prefix) and full[len(prefix):] not in known:
            raise SettingsError(f"stack config: unknown setting {full}")
    return from_values(values, source=f"Pulumi.{pulumi.get_stack()}.yaml")
