"""GCP workloads: queue workers that cannot scale to zero outside prod, and oversized Cloud Run jobs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from policies.common import Context, Res, ResourceIndex, resource_rule, stack_rule

from ._helpers import env_label, env_schema, for_env, known_number, outside_prod

CATEGORY = "cost-workloads"
RUN_SERVICE = "gcp:cloudrunv2/service:Service"
RUN_JOB = "gcp:cloudrunv2/job:Job"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"

DEFAULT_JOB_TIMEOUT = {"dev": 3600, "staging": 14_400, "prod": 86_400, "default": 86_400}
DEFAULT_JOB_VCPU = {"dev": 2, "staging": 8, "prod": 32, "default": 64}


def _push_targets(index: ResourceIndex) -> list[tuple[Res, Res]]:
    """(subscription, Cloud Run service) for every push subscription whose endpoint comes from a service of the
    stack (the engine records the endpoint's property dependency on the service)."""
    out = []
    services = index.of_type(RUN_SERVICE)
    for sub in index.of_type(SUBSCRIPTION):
        push = sub.get("pushConfig")
        if not isinstance(push, Mapping) or not push.get("pushEndpoint"):
            continue
        deps = set(sub.prop_deps.get("pushConfig", ()))
        out.extend((sub, svc) for svc in services if svc.urn in deps)
    return out


@stack_rule(
    "worker-scales-to-zero-outside-prod", severity="medium", category=CATEGORY,
    description="Outside prod a Cloud Run worker fed by a Pub/Sub push subscription scales to zero (min instances "
                "0): pushes wake it, so a warm instance only bills idle time.",
    remediation="Set scaling.min 0 for workers in dev/staging (the dev profile does); keep warm instances for prod.",
    config={"maxMinInstances": env_schema("number", "Minimum instances allowed on a push-fed worker.",
                                          {"dev": 0, "staging": 1, "prod": 100, "default": 100})},
)
def worker_scales_to_zero(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    seen: set[str] = set()
    for sub, svc in _push_targets(index):
        if svc.urn in seen or not outside_prod(ctx, svc):
            continue
        seen.add(svc.urn)
        low = known_number(svc.get("template.scaling.minInstanceCount"))
        limit = for_env(ctx, "maxMinInstances", svc)
        if low is not None and limit is not None and low > float(limit):
            yield svc, (f"minInstanceCount {low:g} on a worker pushed by {sub.name} in {env_label(ctx, svc)}; at most "
                        f"{float(limit):g} (pushes start instances on demand)")


def _vcpu(value: object) -> float | None:
    if isinstance(value, str) and value.endswith("m"):
        n = known_number(value[:-1])
        return n / 1000 if n is not None else None
    return known_number(value)


@resource_rule(
    "cloudrun-job-bounded", types=(RUN_JOB,), severity="medium", category=CATEGORY,
    description="A Cloud Run job stays within the environment's ceilings: task timeout (a hung task bills until "
                "it) and vCPUs running at once (parallelism x vCPU per task).",
    remediation="Lower timeout / parallelism / CPU of the job, or raise maxJobTimeoutSeconds / maxJobVcpu for the "
                "environment in the policy config.",
    config={"maxJobTimeoutSeconds": env_schema("number", "Task timeout, seconds.", DEFAULT_JOB_TIMEOUT),
            "maxJobVcpu": env_schema("number", "vCPUs of one execution running at once.", DEFAULT_JOB_VCPU)},
)
def cloudrun_job_bounded(r: Res, ctx: Context) -> Iterator[str]:
    env = env_label(ctx, r)
    max_timeout, max_vcpu = for_env(ctx, "maxJobTimeoutSeconds", r), for_env(ctx, "maxJobVcpu", r)
    timeout = r.get("template.template.timeout")
    seconds = known_number(timeout[:-1]) if isinstance(timeout, str) and timeout.endswith("s") else None
    if timeout is None:
        seconds = 600.0  # Cloud Run's default task timeout
    if seconds is not None and max_timeout is not None and seconds > float(max_timeout):
        yield f"task timeout {seconds:g} s exceeds the {env} ceiling of {float(max_timeout):g} s"
    tasks = known_number(r.get("template.taskCount")) or 1.0
    parallel = known_number(r.get("template.parallelism")) or tasks
    per_task = 0.0
    for c in r.get("template.template.containers") or []:
        limits = c.get("resources", {}).get("limits", {}) if isinstance(c, Mapping) else {}
        per_task += _vcpu(limits.get("cpu")) or 1.0
    total = min(parallel, tasks) * (per_task or 1.0)
    if max_vcpu is not None and total > float(max_vcpu):
        yield f"{total:g} vCPUs at once ({min(parallel, tasks):g} tasks x {per_task or 1:g}) exceeds the {env} " \
              f"ceiling of {float(max_vcpu):g}"
