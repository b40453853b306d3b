"""Sizing guardrails: instance families and sizes per environment, no GPUs, ceilings on tasks, scaling, storage
and provisioned IOPS."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from policies.common import Context, Res, as_list, is_unknown, resource_rule

from ._helpers import (
    ASG,
    CLOUD_RUN,
    CLOUD_SQL,
    EBS_VOLUME,
    EC2_INSTANCE,
    ECS_SERVICE,
    GCE_INSTANCE,
    GCE_TEMPLATE,
    GPU_FAMILY,
    LAUNCH_TEMPLATE,
    RDS_INSTANCE,
    SCALING_TARGET,
    SIZED_TYPES,
    TASK_DEFINITION,
    env_label,
    env_schema,
    for_env,
    instance_size,
    known_number,
    label_of,
    size_units,
)

CATEGORY = "cost-sizing"

DEFAULT_FAMILIES = {
    "dev": ["t*", "e2", "db-f1", "db-g1", "db-custom", "serverless"],
    "staging": ["t*", "m*", "c*", "r*", "e2", "n2", "n2d", "t2d", "db-*", "serverless"],
    "prod": ["*"],
    "default": ["*"],
}
DEFAULT_MAX_SIZE = {"dev": "large", "staging": "2xlarge", "prod": "16xlarge", "default": "16xlarge"}


@resource_rule(
    "instance-family-allowed", types=SIZED_TYPES, severity="medium", category=CATEGORY,
    description="EC2 instance types, RDS/Aurora instance classes, ElastiCache node types, GCE machine types and "
                "Cloud SQL tiers belong to a family allowed in the stack's environment (dev: burstable only).",
    remediation="Pick a family allowed for the environment (e.g. t4g / db.t4g / cache.t4g / e2 in dev), or "
                "widen allowedFamilies for the environment in the policy config.",
    config={"allowedFamilies": env_schema(
        "array", "fnmatch patterns of allowed families (t4g, m7g, e2, db-custom, serverless...).",
        DEFAULT_FAMILIES)})
def instance_family_allowed(r: Res, ctx: Context) -> Iterator[str]:
    parsed = instance_size(r)
    if parsed is None:
        return
    value, family, _ = parsed
    allowed = for_env(ctx, "allowedFamilies", r)
    if family is None or allowed is None:
        return
    if not any(fnmatch.fnmatchcase(family, str(p)) for p in as_list(allowed)):
        yield (f"{value} (family {family}) is not allowed in {env_label(ctx, r)}; allowed families: "
               f"{', '.join(map(str, as_list(allowed)))}")


@resource_rule(
    "instance-size-ceiling", types=SIZED_TYPES, severity="high", category=CATEGORY,
    description="Instance, node and machine sizes stay at or below the environment's ceiling (very large types "
                "such as 24xlarge or metal need an explicit allowance).",
    remediation="Use a smaller size, or raise maxSize for the environment in the policy config after review.",
    config={"maxSize": env_schema("string", "Largest size allowed (nano, micro, small, medium, large, xlarge, "
                                  "2xlarge ... 48xlarge, metal); GCP sizes compare by vCPUs (large = 2).",
                                  DEFAULT_MAX_SIZE)})
def instance_size_ceiling(r: Res, ctx: Context) -> Iterator[str]:
    parsed = instance_size(r)
    if parsed is None:
        return
    value, _, units = parsed
    ceiling_label = for_env(ctx, "maxSize", r)
    ceiling = size_units(str(ceiling_label)) if ceiling_label else None
    if units is None or ceiling is None:
        return
    if units > ceiling:
        yield f"{value} ({label_of(units)}) is larger than the {env_label(ctx, r)} ceiling {ceiling_label}"


@resource_rule(
    "no-gpu-instances", types=(*SIZED_TYPES, *CLOUD_RUN), severity="high", category=CATEGORY,
    description="No GPU or accelerator instances (EC2 p/g/inf/trn families, GCE a2/a3/g2 or guest accelerators, "
                "Cloud Run GPUs) unless the environment allows them.",
    remediation="Use a CPU instance type, or add the environment to allowGpuEnvironments in the policy config.",
    config={"allowGpuEnvironments": {"type": "array", "items": {"type": "string"}, "default": [],
                                     "description": "Environments where GPU instances are allowed."}})
def no_gpu_instances(r: Res, ctx: Context) -> Iterator[str]:
    env = ctx.environment(r)
    if env is not None and env in (ctx.config.get("allowGpuEnvironments") or []):
        return
    parsed = instance_size(r)
    if parsed is not None and parsed[1] and GPU_FAMILY.match(parsed[1]):
        yield f"{parsed[0]} is a GPU/accelerator type ({env_label(ctx, r)} does not allow GPUs)"
    if r.type in (GCE_INSTANCE, GCE_TEMPLATE) and [a for a in as_list(r.get("guestAccelerators")) if a]:
        yield "guestAccelerators attaches GPUs"
    if r.type in CLOUD_RUN and (r.get("template.nodeSelector.accelerator") or r.get(
            "template.template.nodeSelector.accelerator")):
        yield "the Cloud Run template requests a GPU (nodeSelector.accelerator)"


DEFAULT_TASK_CPU = {"dev": 1024, "staging": 2048, "prod": 8192, "default": 16384}
DEFAULT_TASK_MEMORY = {"dev": 2048, "staging": 8192, "prod": 32768, "default": 122880}


@resource_rule(
    "task-size-ceiling", types=(TASK_DEFINITION, *CLOUD_RUN), severity="medium", category=CATEGORY,
    description="Fargate task CPU/memory and Cloud Run container limits stay within the environment's ceilings.",
    remediation="Lower the task or container CPU and memory, or raise the ceilings for the environment in the "
                "policy config.",
    config={"maxTaskCpu": env_schema("number", "Task CPU units (1024 = 1 vCPU).", DEFAULT_TASK_CPU),
            "maxTaskMemoryMiB": env_schema("number", "Task memory, MiB.", DEFAULT_TASK_MEMORY)})
def task_size_ceiling(r: Res, ctx: Context) -> Iterator[str]:
    max_cpu, max_mem = for_env(ctx, "maxTaskCpu", r), for_env(ctx, "maxTaskMemoryMiB", r)
    if r.type == TASK_DEFINITION:
        cpu, mem = known_number(r.get("cpu")), known_number(r.get("memory"))
    else:
        containers = r.get("template.containers") or r.get("template.template.containers") or []
        cpu = mem = None
        for c in as_list(containers):
            limits = (c or {}).get("resources", {}).get("limits", {}) if isinstance(c, dict) else {}
            c_cpu, c_mem = _cpu_units(limits.get("cpu")), _memory_mib(limits.get("memory"))
            cpu = (cpu or 0) + c_cpu if c_cpu is not None else cpu
            mem = (mem or 0) + c_mem if c_mem is not None else mem
    env = env_label(ctx, r)
    if cpu is not None and max_cpu is not None and cpu > float(max_cpu):
        yield f"CPU {cpu:g} units ({cpu / 1024:g} vCPU) exceeds the {env} ceiling of {float(max_cpu):g}"
    if mem is not None and max_mem is not None and mem > float(max_mem):
        yield f"memory {mem:g} MiB exceeds the {env} ceiling of {float(max_mem):g} MiB"


def _cpu_units(value: object) -> float | None:
    if not isinstance(value, str) or is_unknown(value):
        return known_number(value) * 1024 if known_number(value) is not None else None
    v = value.strip()
    if v.endswith("m"):
        n = known_number(v[:-1])
        return n / 1000 * 1024 if n is not None else None
    n = known_number(v)
    return n * 1024 if n is not None else None


def _memory_mib(value: object) -> float | None:
    if not isinstance(value, str) or is_unknown(value):
        return None
    v = value.strip()
    for suffix, scale in (("Gi", 1024.0), ("Mi", 1.0), ("G", 1e9 / 2**20), ("M", 1e6 / 2**20), ("Ki", 1 / 1024)):
        if v.endswith(suffix):
            n = known_number(v[: -len(suffix)])
            return n * scale if n is not None else None
    n = known_number(v)
    return n / 2**20 if n is not None else None


DEFAULT_MAX_CAPACITY = {"dev": 4, "staging": 10, "prod": 100, "default": 100}
"""Prod allows Cloud Run's own default maximum (100); our own prod stacks keep 50 (config/backend-hosting.json)."""


@resource_rule(
    "autoscaling-max-ceiling", types=(SCALING_TARGET, ASG, ECS_SERVICE, *CLOUD_RUN), severity="medium",
    category=CATEGORY,
    description="Autoscaling maximums (Application Auto Scaling targets, Auto Scaling groups, ECS desired counts, "
                "Cloud Run max instances, which default to 100 when unset) stay within the environment's ceiling.",
    remediation="Lower the maximum (maxCapacity, maxSize, desiredCount, scaling.maxInstanceCount) or raise "
                "maxCapacity for the environment in the policy config.",
    config={"maxCapacity": env_schema("number", "Largest autoscaling maximum (tasks, instances).",
                                      DEFAULT_MAX_CAPACITY)},
    rationale="Prod's default ceiling is 100, Cloud Run's own maximum, so an unset maximum is not a finding; our "
              "own prod stacks keep 50 (config/backend-hosting.json).")
def autoscaling_max_ceiling(r: Res, ctx: Context) -> Iterator[str]:
    ceiling = for_env(ctx, "maxCapacity", r)
    if ceiling is None:
        return
    if r.type == SCALING_TARGET:
        value, what = known_number(r.get("maxCapacity")), "maxCapacity"
    elif r.type == ASG:
        value, what = known_number(r.get("maxSize")), "maxSize"
    elif r.type == ECS_SERVICE:
        value, what = known_number(r.get("desiredCount")), "desiredCount"
    else:
        raw = r.get("template.scaling.maxInstanceCount") or r.get("scaling.maxInstanceCount")
        value, what = (known_number(raw), "maxInstanceCount") if raw is not None else (100.0, "maxInstanceCount "
                                                                                        "(unset: Cloud Run's 100)")
        if r.type.endswith("job:Job"):
            return
    if value is not None and value > float(ceiling):
        yield f"{what} {value:g} exceeds the {env_label(ctx, r)} ceiling of {float(ceiling):g}"


DEFAULT_MAX_STORAGE = {"dev": 100, "staging": 500, "prod": 4000, "default": 16384}


@resource_rule(
    "storage-ceiling", types=(RDS_INSTANCE, EBS_VOLUME, EC2_INSTANCE, CLOUD_SQL), severity="medium",
    category=CATEGORY,
    description="Provisioned storage (RDS allocated and autoscaling maximum, EBS volumes, Cloud SQL disk and "
                "auto-resize limit) stays within the environment's ceiling.",
    remediation="Provision less storage (or a lower autoscaling maximum), or raise maxStorageGb for the "
                "environment in the policy config.",
    config={"maxStorageGb": env_schema("number", "Largest storage, GB.", DEFAULT_MAX_STORAGE)})
def storage_ceiling(r: Res, ctx: Context) -> Iterator[str]:
    ceiling = for_env(ctx, "maxStorageGb", r)
    if ceiling is None:
        return
    checks: list[tuple[str, object]] = []
    if r.type == RDS_INSTANCE:
        checks = [("allocatedStorage", r.get("allocatedStorage")), ("maxAllocatedStorage",
                                                                    r.get("maxAllocatedStorage"))]
    elif r.type == EBS_VOLUME:
        checks = [("size", r.get("size"))]
    elif r.type == EC2_INSTANCE:
        checks = [("rootBlockDevice.volumeSize", r.get("rootBlockDevice.volumeSize"))]
        checks += [(f"ebsBlockDevices[{i}].volumeSize", (d or {}).get("volumeSize"))
                   for i, d in enumerate(as_list(r.get("ebsBlockDevices"))) if isinstance(d, dict)]
    elif r.type == CLOUD_SQL:
        checks = [("settings.diskSize", r.get("settings.diskSize")),
                  ("settings.diskAutoresizeLimit", r.get("settings.diskAutoresizeLimit"))]
    for what, raw in checks:
        gb = known_number(raw)
        if gb is not None and gb > float(ceiling):
            yield f"{what} {gb:g} GB exceeds the {env_label(ctx, r)} ceiling of {float(ceiling):g} GB"


DEFAULT_MAX_IOPS = {"dev": 3000, "staging": 12000, "prod": 40000, "default": 64000}


@resource_rule(
    "provisioned-iops-ceiling", types=(RDS_INSTANCE, EBS_VOLUME, EC2_INSTANCE, LAUNCH_TEMPLATE), severity="medium",
    category=CATEGORY,
    description="Provisioned IOPS (RDS, EBS gp3/io1/io2) stay within the environment's ceiling (dev: the gp3 "
                "baseline of 3,000, i.e. nothing extra to pay for).",
    remediation="Lower iops, or raise maxProvisionedIops for the environment in the policy config.",
    config={"maxProvisionedIops": env_schema("number", "Largest provisioned IOPS.", DEFAULT_MAX_IOPS)})
def provisioned_iops_ceiling(r: Res, ctx: Context) -> Iterator[str]:
    ceiling = for_env(ctx, "maxProvisionedIops", r)
    if ceiling is None:
        return
    values: list[tuple[str, object]] = [("iops", r.get("iops"))]
    if r.type == EC2_INSTANCE:
        values = [("rootBlockDevice.iops", r.get("rootBlockDevice.iops"))]
        values += [(f"ebsBlockDevices[{i}].iops", (d or {}).get("iops"))
                   for i, d in enumerate(as_list(r.get("ebsBlockDevices"))) if isinstance(d, dict)]
    elif r.type == LAUNCH_TEMPLATE:
        values = [(f"blockDeviceMappings[{i}].ebs.iops", ((d or {}).get("ebs") or {}).get("iops"))
                  for i, d in enumerate(as_list(r.get("blockDeviceMappings"))) if isinstance(d, dict)]
    for what, raw in values:
        iops = known_number(raw)
        if iops is not None and iops > float(ceiling):
            yield f"{what} {iops:g} exceeds the {env_label(ctx, r)} ceiling of {float(ceiling):g}"
