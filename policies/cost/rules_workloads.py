"""AWS workloads of a multi-service stack: queue workers that cannot scale to zero where the environment should,
and jobs sized above the environment's allowance."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from policies.common import Context, Res, ResourceIndex, as_list, stack_rule

from ._helpers import ECS_SERVICE, SCALING_TARGET, TASK_DEFINITION, env_label, env_schema, for_env, known_number

CATEGORY = "cost-workloads"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"

DEFAULT_WORKER_MIN = {"dev": 0, "default": 1000}
DEFAULT_JOB_CPU = {"dev": 1024, "staging": 2048, "prod": 4096, "default": 16384}
DEFAULT_JOB_MEMORY = {"dev": 2048, "staging": 8192, "prod": 16384, "default": 122880}


def _sqs_metric(metric: object) -> bool:
    return isinstance(metric, Mapping) and metric.get("namespace") == "AWS/SQS"


def _scales_on_queue(policy: Res) -> bool:
    """A scaling policy driven by an SQS metric (target tracking on a customised metric or metric math)."""
    spec = policy.get("targetTrackingScalingPolicyConfiguration.customizedMetricSpecification") or {}
    if not isinstance(spec, Mapping):
        return False
    if spec.get("namespace") == "AWS/SQS":
        return True
    return any(_sqs_metric((m.get("metricStat") or {}).get("metric")) for m in as_list(spec.get("metrics"))
               if isinstance(m, Mapping))


def _workers(index: ResourceIndex) -> Iterator[tuple[Res, Res]]:
    """(ECS service, its scaling target) of every queue worker: a service whose scaling policy tracks SQS."""
    for policy in index.of_type(SCALING_POLICY):
        if not _scales_on_queue(policy):
            continue
        for target in index.referenced(policy, "resourceId", (SCALING_TARGET,), ("resourceId",)):
            services = index.referenced(target, "resourceId", (ECS_SERVICE,))
            yield (services[0] if services else target), target


@stack_rule(
    "dev-worker-scales-to-zero", category=CATEGORY, severity="medium",
    description="A queue worker (an ECS service scaling on an SQS metric) may run no task while its queues are empty "
                "where the environment allows it (dev: autoscaling minCapacity 0).",
    remediation="Set the worker's scaling.min to 0 (the dev profile's default) and wake it from zero with a "
                "step-scaling policy on visible messages (components.aws.worker.Worker does both).",
    config={"maxWorkerMinTasks": env_schema("number", "Highest autoscaling minimum a queue worker may have.",
                                            DEFAULT_WORKER_MIN)})
def dev_worker_scales_to_zero(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    seen: set[str] = set()
    for service, target in _workers(index):
        if target.urn in seen:
            continue
        seen.add(target.urn)
        limit, low = for_env(ctx, "maxWorkerMinTasks", target), known_number(target.get("minCapacity"))
        if limit is None or low is None or low <= float(limit):
            continue
        yield service, (f"the worker keeps {low:g} task(s) running with an empty queue; {env_label(ctx, target)} "
                        f"allows {float(limit):g}")


@stack_rule(
    "job-size-allowance", category=CATEGORY, severity="medium",
    description="Jobs (task definitions no ECS service runs: scheduled or on-demand tasks) stay within the "
                "environment's CPU and memory allowance for one run.",
    remediation="Lower the job's cpu/memory (a job that needs more in dev usually processes a production-sized "
                "batch), or raise maxJobCpu/maxJobMemoryMiB for the environment in the policy config.",
    config={"maxJobCpu": env_schema("number", "Job task CPU units (1024 = 1 vCPU).", DEFAULT_JOB_CPU),
            "maxJobMemoryMiB": env_schema("number", "Job task memory, MiB.", DEFAULT_JOB_MEMORY)})
def job_size_allowance(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    run_by_service = {td.urn for svc in index.of_type(ECS_SERVICE)
                      for td in index.referenced(svc, "taskDefinition", (TASK_DEFINITION,), ("arn", "family"))}
    for td in index.of_type(TASK_DEFINITION):
        if td.urn in run_by_service:
            continue
        max_cpu, max_mem = for_env(ctx, "maxJobCpu", td), for_env(ctx, "maxJobMemoryMiB", td)
        cpu, mem = known_number(td.get("cpu")), known_number(td.get("memory"))
        env = env_label(ctx, td)
        if cpu is not None and max_cpu is not None and cpu > float(max_cpu):
            yield td, f"job CPU {cpu:g} units exceeds the {env} allowance of {float(max_cpu):g}"
        if mem is not None and max_mem is not None and mem > float(max_mem):
            yield td, f"job memory {mem:g} MiB exceeds the {env} allowance of {float(max_mem):g} MiB"


RULES = [dev_worker_scales_to_zero, job_size_allowance]
