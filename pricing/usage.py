"""Usage files: what a stack's configuration cannot tell (GB of logs, LCUs, GB through NAT, requests...).

``usage.<stack>.yaml`` at the project root (or ``python -m review --usage FILE``), Infracost-style::

    version: 1
    resource_type_default_usage:          # per resource type (Pulumi type token)
      aws:cloudwatch/logGroup:LogGroup:
        monthly_ingested_gb: 2
    resource_usage:                        # per resource, by logical name (fnmatch patterns allowed)
      app-service-logs:
        monthly_ingested_gb: 20
      "aws:kms/key:Key::app-*":            # <type>::<name> when names are shared across types
        monthly_requests: 50000

Precedence for a resource: its ``resource_usage`` entry (an exact name beats a pattern, a typed key beats an
untyped one), then its type's
``resource_type_default_usage``, then the built-in defaults documented on the models below (the docs table in
docs/cost.md is generated from them). A component whose quantity comes from here is marked ``usage_based``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class UsageError(ValueError):
    """A usage file is invalid: one line naming the file, the key and what is allowed (the review exits 2)."""


class _Usage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogGroupUsage(_Usage):
    """CloudWatch log group."""

    monthly_ingested_gb: float = Field(1.0, ge=0, description="GB of log events ingested per month.")
    stored_gb: float | None = Field(
        None, ge=0, description="GB stored (billed monthly); default: monthly_ingested_gb x retention in months "
        "(30-day months, at most 12; never-expire counts as 12).")


class LoadBalancerUsage(_Usage):
    """Application load balancer."""

    average_lcus: float = Field(1.0, ge=0, description="Average load balancer capacity units over the month.")


class NatGatewayUsage(_Usage):
    """NAT gateway."""

    monthly_data_processed_gb: float = Field(10.0, ge=0, description="GB processed (both directions) per month.")


class VpcEndpointUsage(_Usage):
    """Interface VPC endpoint."""

    monthly_data_processed_gb: float = Field(1.0, ge=0, description="GB processed per month.")


class S3BucketUsage(_Usage):
    """S3 bucket (Standard class)."""

    storage_gb: float = Field(1.0, ge=0, description="Average GB stored.")
    monthly_put_requests: float = Field(10_000, ge=0, description="PUT, COPY, POST and LIST requests per month.")
    monthly_get_requests: float = Field(100_000, ge=0, description="GET, SELECT and other requests per month.")


class KmsKeyUsage(_Usage):
    """KMS key."""

    monthly_requests: float = Field(10_000, ge=0, description="Cryptographic requests per month.")


class SecretUsage(_Usage):
    """Secrets Manager secret."""

    monthly_api_requests: float = Field(10_000, ge=0, description="API requests (GetSecretValue...) per month.")


class CognitoUserPoolUsage(_Usage):
    """Cognito user pool."""

    monthly_active_users: float = Field(
        1_000, ge=0, description="Users with an identity operation (sign-up, sign-in, token refresh...) in a month.")


class LatticeServiceUsage(_Usage):
    """VPC Lattice service (HTTP/HTTPS listeners)."""

    monthly_data_processed_gb: float = Field(1.0, ge=0, description="GB of requests and responses through the "
                                             "service per month.")
    monthly_requests_millions: float = Field(
        0.1, ge=0, description="Million requests a month (the first 300,000 an hour are free; spread evenly over "
        "the month's hours).")


class WebAclUsage(_Usage):
    """WAF v2 web ACL."""

    monthly_requests: float = Field(1_000_000, ge=0, description="Web requests inspected per month.")


class EcrRepositoryUsage(_Usage):
    """ECR repository."""

    storage_gb: float = Field(1.0, ge=0, description="GB of images stored.")


class EcsServiceUsage(_Usage):
    """ECS service on Fargate."""

    average_task_count: float | None = Field(
        None, ge=0, description="Average running tasks; default: the larger of desiredCount and the autoscaling "
        "target's minCapacity.")
    extra_task_hours: float = Field(
        0.0, ge=0, description="Task-hours a month above that floor (a worker scaled to zero: the hours it runs).")


class EcsTaskDefinitionUsage(_Usage):
    """ECS task definition run as a job (not by a service)."""

    monthly_runs: float = Field(0.0, ge=0, description="On-demand runs a month (e.g. migrations per deploy), on "
                                "top of the runs its schedules imply.")
    average_run_minutes: float = Field(10.0, ge=0, description="Minutes a run takes (billed per second, 1 min "
                                       "minimum).")


class SqsQueueUsage(_Usage):
    """SQS queue."""

    monthly_requests_millions: float = Field(
        1.0, ge=0, description="Million requests a month (send, receive incl. empty long polls, delete, change "
        "visibility; per 64 KB chunk).")


class LambdaFunctionUsage(_Usage):
    """Lambda function (on-demand invocations)."""

    monthly_requests: float | None = Field(
        None, ge=0, description="Invocations per month; default: 4 per rotation of each Secrets Manager secret the "
        "function rotates (one per rotation step, from the schedules' automatically_after_days), else 0.")
    average_duration_ms: float = Field(1000.0, ge=0, description="Average billed duration of one invocation, ms.")


class RdsInstanceUsage(_Usage):
    """RDS DB instance."""

    storage_gb: float | None = Field(None, ge=0, description="GB provisioned; default: allocatedStorage.")
    additional_backup_storage_gb: float = Field(
        0.0, ge=0, description="Backup storage beyond 100% of the provisioned storage (which is free).")


class AuroraClusterUsage(_Usage):
    """Aurora cluster (storage and I/O are usage-based)."""

    storage_gb: float = Field(10.0, ge=0, description="GB stored in the cluster volume.")
    monthly_io_requests_millions: float = Field(10.0, ge=0, description="Millions of I/O requests per month "
                                                "(Aurora Standard only).")
    backup_storage_gb: float = Field(0.0, ge=0, description="Backup storage beyond the free allotment.")


class AuroraInstanceUsage(_Usage):
    """Aurora cluster instance (Serverless v2)."""

    average_acu: float | None = Field(
        None, ge=0, description="Average ACUs of a db.serverless instance; default: the cluster's minCapacity "
        "(0.5 if not set).")


class ReplicationGroupUsage(_Usage):
    """ElastiCache replication group or cluster."""

    snapshot_storage_gb: float = Field(0.0, ge=0, description="GB of snapshots beyond the free allotment.")


class ServerlessCacheUsage(_Usage):
    """ElastiCache Serverless cache."""

    average_data_gb: float = Field(1.0, ge=0, description="Average GB stored (Valkey minimum 0.1, Redis 1).")
    monthly_ecpu_millions: float = Field(10.0, ge=0, description="Millions of ECPUs per month.")


class Route53RecordUsage(_Usage):
    """Route 53 record (alias records to AWS resources are free)."""

    monthly_queries_millions: float = Field(0.0, ge=0, description="Millions of standard queries per month.")


class CloudRunUsage(_Usage):
    """Cloud Run service."""

    monthly_requests: float = Field(1_000_000, ge=0, description="Requests per month.")
    average_request_duration_ms: float = Field(250.0, ge=0, description="Average request duration, ms.")
    average_concurrency: float = Field(1.0, gt=0, description="Average concurrent requests per instance.")


class CloudSqlUsage(_Usage):
    """Cloud SQL instance."""

    backup_storage_gb: float = Field(0.0, ge=0, description="GB of backups.")


class ForwardingRuleUsage(_Usage):
    """GCP load balancer forwarding rule."""

    monthly_data_processed_gb: float = Field(10.0, ge=0, description="GB processed by the load balancer.")


class RouterNatUsage(_Usage):
    """Cloud NAT."""

    assigned_vms: float = Field(2.0, ge=0, description="VMs (or serverless egress instances) using the gateway.")
    monthly_data_processed_gb: float = Field(10.0, ge=0, description="GB processed per month.")


class GcsBucketUsage(_Usage):
    """Cloud Storage bucket."""

    storage_gb: float = Field(1.0, ge=0, description="Average GB stored.")


class CloudFrontUsage(_Usage):
    """CloudFront distribution (issue 14)."""

    monthly_requests: float = Field(1_000_000, ge=0, description="HTTPS requests per month.")
    monthly_data_out_gb: float = Field(10.0, ge=0, description="GB served to viewers per month.")


class LogDeliveryUsage(_Usage):
    """CloudWatch vended-log delivery (e.g. CloudFront v2 access logs)."""

    monthly_delivered_gb: float = Field(1.0, ge=0, description="GB of logs delivered per month.")


class BackupVaultUsage(_Usage):
    """AWS Backup vault: the recovery points it holds."""

    rds_snapshot_gb: float = Field(100.0, ge=0, description="GB of database snapshots held (warm storage).")
    s3_backup_gb: float = Field(1.0, ge=0, description="GB of S3 backups held.")


class BackupPlanUsage(_Usage):
    """AWS Backup plan: cross-region copies."""

    monthly_copied_gb: float = Field(30.0, ge=0, description="GB copied to the DR region per month (incremental "
                                     "recovery points, about 1 GB a day).")


class RdsBackupReplicationUsage(_Usage):
    """RDS automated-backup replication to another region."""

    backup_storage_gb: float = Field(100.0, ge=0, description="GB of replicated snapshots and logs held there.")
    monthly_transferred_gb: float = Field(30.0, ge=0, description="GB of snapshots and transaction logs copied "
                                          "across regions per month.")


class S3ReplicationUsage(_Usage):
    """S3 replication configuration (cross-region, Replication Time Control)."""

    monthly_replicated_gb: float = Field(1.0, ge=0, description="GB of new objects replicated per month.")


class CloudCdnUsage(_Usage):
    """Cloud CDN on a backend bucket (issue 14)."""

    monthly_cache_egress_gb: float = Field(10.0, ge=0, description="GB served from the cache per month.")
    monthly_lookups: float = Field(1_000_000, ge=0, description="Cache lookups (requests) per month.")


class ArtifactRegistryUsage(_Usage):
    """Artifact Registry repository."""

    storage_gb: float = Field(1.0, ge=0, description="GB of images stored.")


class LoggingBucketUsage(_Usage):
    """Cloud Logging bucket."""

    monthly_ingested_gb: float = Field(1.0, ge=0, description="GiB ingested beyond the free allotment.")


class GcpSecretUsage(_Usage):
    """Secret Manager secret."""

    monthly_access_operations: float = Field(10_000, ge=0, description="Access operations per month.")


class IdentityPlatformUsage(_Usage):
    """Identity Platform (the project's configuration)."""

    monthly_active_users: float = Field(
        1_000, ge=0, description="Users signing in with email or a social provider (Tier 1) in a month.")


class GcpKmsKeyUsage(_Usage):
    """Cloud KMS crypto key."""

    key_versions: float | None = Field(
        None, ge=0, description="Active (billable) key versions; default 1, a new key: each rotation adds one that "
        "stays billable until destroyed (a 90-day rotation gives 5 after a year).")
    monthly_key_operations: float = Field(10_000, ge=0, description="Cryptographic operations per month.")


class CloudArmorUsage(_Usage):
    """Cloud Armor security policy."""

    monthly_requests: float = Field(1_000_000, ge=0, description="Requests evaluated by the policy per month.")


class AlertPolicyUsage(_Usage):
    """Cloud Monitoring alerting policy."""

    monthly_time_series_returned: float | None = Field(
        None, ge=0, description="Time series returned by the conditions' queries per month; default: one series per "
        "condition, evaluated every 30 seconds (87,600 per condition).")


class PubSubTopicUsage(_Usage):
    """Pub/Sub topic (publish throughput)."""

    monthly_published_gib: float = Field(0.1, ge=0, description="GiB published per month (messages are billed at "
                                         "1 KB at least).")


class PubSubSubscriptionUsage(_Usage):
    """Pub/Sub subscription (delivery throughput)."""

    monthly_delivered_gib: float = Field(0.1, ge=0, description="GiB delivered per month (redeliveries count).")


class CloudRunJobUsage(_Usage):
    """Cloud Run job."""

    monthly_executions: float | None = Field(
        None, ge=0, description="Executions per month; default: from its Cloud Scheduler job's cron (e.g. 30.4 for "
        "daily), else 30 (an on-demand job, e.g. a migration per deploy).")
    average_task_seconds: float = Field(300.0, ge=0, description="Average run time of one task, seconds.")


USAGE_MODELS: dict[str, type[_Usage]] = {
    "aws:cloudwatch/logGroup:LogGroup": LogGroupUsage,
    "aws:lb/loadBalancer:LoadBalancer": LoadBalancerUsage,
    "aws:alb/loadBalancer:LoadBalancer": LoadBalancerUsage,
    "aws:ec2/natGateway:NatGateway": NatGatewayUsage,
    "aws:ec2/vpcEndpoint:VpcEndpoint": VpcEndpointUsage,
    "aws:s3/bucket:Bucket": S3BucketUsage,
    "aws:s3/bucketV2:BucketV2": S3BucketUsage,
    "aws:kms/key:Key": KmsKeyUsage,
    "aws:secretsmanager/secret:Secret": SecretUsage,
    "aws:wafv2/webAcl:WebAcl": WebAclUsage,
    "aws:vpclattice/service:Service": LatticeServiceUsage,
    "aws:cognito/userPool:UserPool": CognitoUserPoolUsage,
    "aws:ecr/repository:Repository": EcrRepositoryUsage,
    "aws:ecs/service:Service": EcsServiceUsage,
    "aws:rds/instance:Instance": RdsInstanceUsage,
    "aws:rds/cluster:Cluster": AuroraClusterUsage,
    "aws:rds/clusterInstance:ClusterInstance": AuroraInstanceUsage,
    "aws:elasticache/replicationGroup:ReplicationGroup": ReplicationGroupUsage,
    "aws:elasticache/cluster:Cluster": ReplicationGroupUsage,
    "aws:elasticache/serverlessCache:ServerlessCache": ServerlessCacheUsage,
    "aws:ecs/taskDefinition:TaskDefinition": EcsTaskDefinitionUsage,
    "aws:sqs/queue:Queue": SqsQueueUsage,
    "aws:lambda/function:Function": LambdaFunctionUsage,
    "aws:route53/record:Record": Route53RecordUsage,
    "gcp:cloudrunv2/service:Service": CloudRunUsage,
    "gcp:cloudrun/service:Service": CloudRunUsage,
    "gcp:sql/databaseInstance:DatabaseInstance": CloudSqlUsage,
    "gcp:compute/forwardingRule:ForwardingRule": ForwardingRuleUsage,
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": ForwardingRuleUsage,
    "gcp:compute/routerNat:RouterNat": RouterNatUsage,
    "gcp:storage/bucket:Bucket": GcsBucketUsage,
    "gcp:logging/projectBucketConfig:ProjectBucketConfig": LoggingBucketUsage,
    "gcp:artifactregistry/repository:Repository": ArtifactRegistryUsage,
    "gcp:secretmanager/secret:Secret": GcpSecretUsage,
    "gcp:kms/cryptoKey:CryptoKey": GcpKmsKeyUsage,
    "gcp:identityplatform/config:Config": IdentityPlatformUsage,
    "gcp:compute/securityPolicy:SecurityPolicy": CloudArmorUsage,
    "gcp:monitoring/alertPolicy:AlertPolicy": AlertPolicyUsage,
    "gcp:pubsub/topic:Topic": PubSubTopicUsage,
    "gcp:pubsub/subscription:Subscription": PubSubSubscriptionUsage,
    "gcp:cloudrunv2/job:Job": CloudRunJobUsage,
    # issue 14: edge and disaster recovery
    "aws:cloudfront/distribution:Distribution": CloudFrontUsage,
    "aws:cloudwatch/logDelivery:LogDelivery": LogDeliveryUsage,
    "aws:backup/vault:Vault": BackupVaultUsage,
    "aws:backup/plan:Plan": BackupPlanUsage,
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": RdsBackupReplicationUsage,
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": S3ReplicationUsage,
    "gcp:compute/backendBucket:BackendBucket": CloudCdnUsage,
}
"""Resource types with usage-based components, and their usage keys (with the built-in defaults)."""

ALL_KEYS = sorted({k for m in USAGE_MODELS.values() for k in m.model_fields})


@dataclass
class Usage:
    """A loaded, validated usage file (or the built-in defaults when there is none)."""

    path: Path | None = None
    type_defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def for_resource(self, type_: str, name: str) -> tuple[_Usage | None, set[str]]:
        """The usage model for one resource and the keys that came from the file (not built-in defaults).

        A per-resource entry is matched by name (or ``<type>::<name>``); only the keys its type has apply (a
        logical name may be shared by resources of different types). :meth:`check` reports keys that apply to
        none of the resources an entry matches.
        """
        model = USAGE_MODELS.get(type_)
        if model is None:
            return None, set()
        values: dict[str, Any] = dict(self.type_defaults.get(type_, {}))
        entry = self._entry(type_, name)
        if entry is not None:
            values.update({k: v for k, v in entry[1].items() if k in model.model_fields})
        return model.model_validate(values), set(values)

    def check(self, resources: list[tuple[str, str]]) -> list[str]:
        """Validate ``resource_usage`` against the (type, name) of the resources priced.

        Raises :class:`UsageError` when an entry sets a key that none of the resources it matches has; returns
        notes for entries that match no resource at all.
        """
        notes = []
        for key, data in self.resources.items():
            matched = [t for t, n in resources if self._matches(key, t, n)]
            if not matched:
                notes.append(f"{self._where()}: resource_usage.{key} matches no resource of the stack")
                continue
            allowed = {k for t in matched for k in (USAGE_MODELS[t].model_fields if t in USAGE_MODELS else {})}
            for k in data:
                if k not in allowed:
                    types = ", ".join(sorted(set(matched)))
                    keys = ", ".join(sorted(allowed)) or "none: no usage-based costs"
                    raise UsageError(f"{self._where()}: resource_usage.{key}.{k}: not a usage key of {types} "
                                     f"(allowed: {keys})")
        return notes

    @staticmethod
    def _matches(key: str, type_: str, name: str) -> bool:
        if "::" in key:
            ktype, _, pattern = key.rpartition("::")
            if ktype != type_:
                return False
        else:
            pattern = key
        if any(c in pattern for c in "*?["):
            return fnmatch.fnmatchcase(name, pattern)
        return name == pattern

    def _entry(self, type_: str, name: str) -> tuple[str, dict[str, Any]] | None:
        exact = [(k, d) for k, d in self.resources.items() if not any(c in k.rpartition("::")[2] for c in "*?[")
                 and self._matches(k, type_, name)]
        if exact:
            return sorted(exact, key=lambda kv: "::" not in kv[0])[0]
        for key, data in self.resources.items():
            if self._matches(key, type_, name):
                return key, data
        return None

    def _where(self) -> str:
        return str(self.path) if self.path else "usage"


def _fail(where: str, message: str) -> UsageError:
    return UsageError(f"{where}: {message}")


def _check_values(where: str, key_path: str, model: type[_Usage] | None, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(where, f"{key_path}: expected a mapping of usage keys to numbers")
    allowed = list(model.model_fields) if model else ALL_KEYS
    for key, value in data.items():
        if key not in allowed:
            raise _fail(where, f"{key_path}.{key}: unknown usage key (allowed: {', '.join(allowed)})")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise _fail(where, f"{key_path}.{key} = {value!r}: must be a number")
    if model is not None:
        try:
            model.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise _fail(where, f"{key_path}.{loc} = {err.get('input')!r}: {err['msg']}") from None
    else:
        for key, value in data.items():
            if isinstance(value, (int, float)) and value < 0:
                raise _fail(where, f"{key_path}.{key} = {value!r}: must be >= 0")
    return dict(data)


def parse_usage(doc: Any, where: str = "usage") -> Usage:
    """Validate a decoded usage document."""
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise _fail(where, "expected a mapping with resource_type_default_usage and/or resource_usage")
    unknown = sorted(set(doc) - {"version", "resource_type_default_usage", "resource_usage"})
    if unknown:
        raise _fail(where, f"unknown top-level key {unknown[0]!r} (allowed: version, resource_type_default_usage, "
                           f"resource_usage)")
    version = doc.get("version", 1)
    if version not in (1, 0.1, "1", "0.1"):
        raise _fail(where, f"version {version!r} is not supported (use 1)")
    defaults = doc.get("resource_type_default_usage") or {}
    per_resource = doc.get("resource_usage") or {}
    if not isinstance(defaults, dict):
        raise _fail(where, "resource_type_default_usage: expected a mapping of resource types")
    if not isinstance(per_resource, dict):
        raise _fail(where, "resource_usage: expected a mapping of resource names")
    usage = Usage()
    for type_, data in defaults.items():
        model = USAGE_MODELS.get(str(type_))
        if model is None:
            raise _fail(where, f"resource_type_default_usage.{type_}: not a resource type with usage-based costs "
                               f"(known: {', '.join(sorted(USAGE_MODELS))})")
        usage.type_defaults[str(type_)] = _check_values(where, f"resource_type_default_usage.{type_}", model, data)
    for name, data in per_resource.items():
        usage.resources[str(name)] = _check_values(where, f"resource_usage.{name}", None, data)
    return usage


def load_usage(path: str | Path | None) -> Usage:
    """Read a usage file; ``None`` gives the built-in defaults."""
    if path is None:
        return Usage()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{p}: cannot read usage file: {exc.strerror}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{p}{line}: invalid YAML: {getattr(exc, 'problem', None) or 'parse error'}") from None
    usage = parse_usage(doc, str(p))
    usage.path = p
    return usage


def defaults_markdown() -> str:
    """The built-in usage defaults as a markdown table (docs/cost.md embeds it; a test keeps it in sync)."""
    lines = ["| Resource type | Usage key | Default | Meaning |", "|---|---|---|---|"]
    seen: set[type[_Usage]] = set()
    for model in USAGE_MODELS.values():
        types = [t for t, m in USAGE_MODELS.items() if m is model]
        if model in seen:
            continue
        seen.add(model)
        label = "<br>".join(f"`{t}`" for t in types)
        for key, info in model.model_fields.items():
            default = "derived" if info.default is None else f"{info.default:g}"
            lines.append(f"| {label} | `{key}` | {default} | {info.description} |")
            label = ""
    return "\n".join(lines)
