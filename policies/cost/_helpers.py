"""Helpers of the cost rules: per-environment config values, instance family and size parsing, type tokens."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from policies.common import Context, Res, is_unknown

# -- type tokens -----------------------------------------------------------------------------------------------
EC2_INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
SCALING_TARGET = "aws:appautoscaling/target:Target"
ASG = "aws:autoscaling/group:Group"
EBS_VOLUME = "aws:ebs/volume:Volume"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
SUBNET = "aws:ec2/subnet:Subnet"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_LIFECYCLE = ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
GCE_INSTANCE = "gcp:compute/instance:Instance"
GCE_TEMPLATE = "gcp:compute/instanceTemplate:InstanceTemplate"
CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
CLOUD_RUN = ("gcp:cloudrunv2/service:Service", "gcp:cloudrunv2/job:Job")
GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCP_LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"

SIZED_TYPES = (EC2_INSTANCE, LAUNCH_TEMPLATE, RDS_INSTANCE, RDS_CLUSTER_INSTANCE, REPLICATION_GROUP, CACHE_CLUSTER,
               GCE_INSTANCE, GCE_TEMPLATE, CLOUD_SQL)
"""Types whose instance class, node type, machine type or tier the family and size rules judge."""

ENV_KEYS = ("dev", "staging", "prod", "default")


def env_schema(kind: str, description: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """A config property that maps an environment (dev, staging, prod, default) to a value."""
    return {"type": "object", "description": description + " Keys: an environment name (dev, staging, prod...) "
            "or `default` (environment unknown or not listed).",
            "additionalProperties": {"type": kind} if kind != "any" else True, "default": dict(defaults)}


def for_env(ctx: Context, key: str, res: Res | None = None) -> Any:
    """The per-environment config value for the resource's environment, else ``default``."""
    table = ctx.config.get(key) or {}
    env = ctx.environment(res)
    if env is not None and env in table:
        return table[env]
    return table.get("default")


def env_label(ctx: Context, res: Res | None = None) -> str:
    """The environment for messages."""
    return ctx.environment(res) or "unknown environment"


def outside_prod(ctx: Context, res: Res | None = None) -> bool:
    """The environment is known and is not production (an unknown environment is not judged)."""
    env = ctx.environment(res)
    return env is not None and not ctx.is_prod(res)


def known_number(value: Any) -> float | None:
    """A number, or None when absent, unknown or not numeric."""
    if value is None or isinstance(value, bool) or is_unknown(value):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


# -- instance sizes ----------------------------------------------------------------------------------------------
_NAMED = {"nano": 0.125, "micro": 0.25, "small": 0.5, "medium": 1.0, "large": 2.0, "xlarge": 4.0, "metal": 10_000.0}
GPU_FAMILY = re.compile(r"^(p\d[a-z]*|g\d[a-z]*|gr\d|inf\d|trn\d[a-z]*|dl\d[a-z]*|vt\d|f\d|a2|a3|a4|g2)$")


def size_units(label: str) -> float | None:
    """A size label in vCPU-like units: micro 0.25, medium 1, large 2, xlarge 4, 8xlarge 32, metal 10000."""
    label = label.lower()
    if label in _NAMED:
        return _NAMED[label]
    m = re.fullmatch(r"(\d+)xlarge", label)
    if m:
        return 4.0 * int(m.group(1))
    m = re.fullmatch(r"metal(-\d+xl)?", label)
    return 10_000.0 if m else None


def label_of(units: float) -> str:
    """The size label for a number of units (the inverse of :func:`size_units`, for messages)."""
    for name, u in _NAMED.items():
        if u == units:
            return name
    n = units / 4
    return f"{n:g}xlarge" if n == math.floor(n) else f"{units:g} vCPU"


def instance_size(res: Res) -> tuple[str, str | None, float | None] | None:
    """``(type string, family, size units)`` of a sized resource; None when not set or unknown."""
    t = res.type
    if t in (EC2_INSTANCE, LAUNCH_TEMPLATE):
        value = res.get("instanceType")
    elif t in (RDS_INSTANCE, RDS_CLUSTER_INSTANCE):
        value = res.get("instanceClass")
    elif t in (REPLICATION_GROUP, CACHE_CLUSTER):
        value = res.get("nodeType")
    elif t in (GCE_INSTANCE, GCE_TEMPLATE):
        value = res.get("machineType")
    elif t == CLOUD_SQL:
        value = res.get("settings.tier")
    else:
        return None
    if not isinstance(value, str) or not value or is_unknown(value):
        return None
    family, units = parse_size(value)
    return value, family, units


def parse_size(value: str) -> tuple[str | None, float | None]:
    """Family and size units of an AWS class (``db.m7g.large``, ``cache.t4g.micro``, ``t4g.small``), a GCE machine
    type (``e2-micro``, ``n2-standard-4``, ``zones/.../machineTypes/a2-highgpu-1g``) or a Cloud SQL tier."""
    v = value.rsplit("/", 1)[-1].lower()
    if v == "db.serverless":
        return "serverless", None
    parts = v.split(".")
    if parts[0] in ("db", "cache") and len(parts) == 3:
        parts = parts[1:]
    if len(parts) == 2:  # AWS: family.size
        return parts[0], size_units(parts[1])
    m = re.fullmatch(r"db-custom-(\d+)-(\d+)", v)
    if m:
        return "db-custom", float(m.group(1))
    m = re.fullmatch(r"db-(f1|g1)-(micro|small)", v)
    if m:
        return f"db-{m.group(1)}", _NAMED[m.group(2)]
    m = re.fullmatch(r"db-perf-optimized-n-(\d+)", v)
    if m:
        return "db-perf-optimized", float(m.group(1))
    m = re.fullmatch(r"([a-z]\d[a-z]?)-(micro|small|medium)", v)
    if m:  # e2-micro
        return m.group(1), _NAMED[m.group(2)]
    m = re.fullmatch(r"([a-z]\d[a-z]?)-[a-z]+(?:-(\d+))?(?:-\d+g)?", v)
    if m:  # n2-standard-4, a2-highgpu-1g, e2-custom-...
        return m.group(1), float(m.group(2)) if m.group(2) else None
    m = re.fullmatch(r"([a-z]\d[a-z]?)-[a-z]+-(\d+)g", v)
    if m:
        return m.group(1), None
    return None, None
