"""The validated settings of one stack: a model per cloud, sharing the sections whose meaning is shared.

A stack's settings are its environment profile (dev, staging, prod: :data:`PROFILES` for what both clouds share,
:data:`CLOUD_PROFILES` for each cloud's sizes) deep-merged with what its ``Pulumi.<stack>.yaml`` says in the
``backend-hosting`` namespace. ``cloud`` selects the model: :class:`AwsSettings` or :class:`GcpSettings`. A key
that exists only on the other cloud, or that does not apply to the shape chosen (a node type for a serverless
cache, a NAT address count without static NAT), is refused with one line, never ignored. Invalid input raises
:class:`SettingsError` with one line naming the key, the value and what is allowed. Design: ADR 5.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import re
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pulumi.errors import RunError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components.base import SECRET_LIKE_NAME

NAMESPACE = "backend-hosting"
"""The Pulumi config namespace (the project name) that holds our settings."""

CLOUDS = ("aws", "gcp")
ENVIRONMENTS = ("dev", "staging", "prod")


class SettingsError(RunError, ValueError):
    """A stack's settings are invalid; the message is one line meant for a person.

    A ``pulumi.RunError``, so ``pulumi up`` reports the line without a Python traceback.
    """


class _Model(BaseModel):
    """Base: camelCase keys in YAML, snake_case in Python, unknown keys rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, validate_default=True
    )


# -- regions ------------------------------------------------------------------------------------------------------
GCP_REGIONS: tuple[str, ...] = tuple(sorted((
    "africa-south1", "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
    "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2", "asia-southeast3", "australia-southeast1",
    "australia-southeast2", "europe-central2", "europe-north1", "europe-north2", "europe-southwest1", "europe-west1",
    "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8", "europe-west9", "europe-west10",
    "europe-west12", "me-central1", "me-central2", "me-west1", "northamerica-northeast1", "northamerica-northeast2",
    "northamerica-south1", "southamerica-east1", "southamerica-west1", "us-central1", "us-east1", "us-east4",
    "us-east5", "us-south1", "us-west1", "us-west2", "us-west3", "us-west4",
)))
"""Google Cloud regions (https://cloud.google.com/about/locations, checked 2026-12-03). Add a region here when
Google opens it; a test keeps it free of zones and duplicates."""


@functools.cache
def aws_regions() -> frozenset[str]:
    """Every AWS region of every partition, from botocore's partition data (updated with each botocore release)."""
    import botocore

    data = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text(encoding="utf-8"))
    return frozenset(r for p in data["partitions"] for r in p.get("regions", {}) if not r.endswith("-global"))


def regions(cloud: str) -> frozenset[str]:
    """The regions ``cloud`` offers."""
    return aws_regions() if cloud == "aws" else frozenset(GCP_REGIONS)


def _check_region(value: str, cloud: str) -> str:
    known = regions(cloud)
    if value in known:
        return value
    close = sorted((d, r) for r in known if (d := _edit_distance(value, r, limit=2)) <= 2)
    if close:
        best = [r for d, r in close if d == close[0][0]][:3]
        hint = "did you mean " + " or ".join(repr(r) for r in best) + "?"
    else:
        hint = f"one of {', '.join(sorted(known)[:4])}, ... ({len(known)} regions)"
    raise ValueError(f"not {'an AWS' if cloud == 'aws' else 'a GCP'} region: {hint}")


# -- network ------------------------------------------------------------------------------------------------------
class NetworkSettings(_Model):
    """The private network and its subnets."""

    cidr: str = Field("10.0.0.0/16", description="Address plan: a /16 to /20 IPv4 block.")

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, v: str) -> str:
        m = re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})", v)
        if not m or any(int(x) > 255 for x in m.groups()[:4]) or not 16 <= int(m.group(5)) <= 20:
            raise ValueError("must be an IPv4 CIDR block from /16 to /20, e.g. 10.0.0.0/16")
        return v


class AwsNetworkSettings(NetworkSettings):
    """The VPC and its subnet tiers (public, private, isolated) over availability zones."""

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


class GcpNetworkSettings(NetworkSettings):
    """The VPC, its regional subnet, private services access and Cloud NAT."""

    nat_strategy: Literal["none", "auto", "static"] = Field(
        "none",
        description="Egress to the internet from the VPC: none (Cloud Run sends only private ranges into the VPC), "
        "auto (one regional Cloud NAT with automatic IPs) or static (Cloud NAT with natAddresses reserved IPs: "
        "stable, allow-listable egress). Cloud NAT is regional and highly available: there is no per-zone NAT.",
    )
    nat_addresses: int | None = Field(
        None, ge=1, le=16, description="Reserved egress IPs of a static NAT (natStrategy static only); default 2."
    )

    @property
    def static_addresses(self) -> int:
        """Reserved NAT addresses when ``natStrategy`` is static."""
        return self.nat_addresses or 2


# -- service ------------------------------------------------------------------------------------------------------
_VALID_FARGATE = {
    256: [512, 1024, 2048],
    512: [1024, 2048, 3072, 4096],
    1024: list(range(2048, 8193, 1024)),
    2048: list(range(4096, 16385, 1024)),
    4096: list(range(8192, 30721, 1024)),
    8192: list(range(16384, 61441, 4096)),
    16384: list(range(32768, 122881, 8192)),
}
_CLOUD_RUN_MEMORY = {1024: (512, 4096), 2048: (512, 8192), 4096: (2048, 16384), 6144: (4096, 24576),
                     8192: (4096, 32768)}
"""Cloud Run: vCPU (in 1/1024 units) -> (min, max) memory MiB (https://cloud.google.com/run/docs/configuring/
services/memory-limits and .../cpu)."""


def fargate_cpu(v: int) -> int:
    """A Fargate task CPU size, or ValueError."""
    if v not in _VALID_FARGATE:
        raise ValueError(f"not a Fargate CPU size: use one of {sorted(_VALID_FARGATE)}")
    return v


def fargate_memory(v: int, cpu: int | None) -> int:
    """Task memory that fits the Fargate CPU size, or ValueError."""
    allowed = _VALID_FARGATE.get(cpu, []) if cpu is not None else []
    if allowed and v not in allowed:
        raise ValueError(f"does not fit cpu {cpu}: allowed {allowed[0]}..{allowed[-1]} MiB in valid steps")
    return v


def cloud_run_cpu(v: int) -> int:
    """A Cloud Run CPU size in 1/1024 vCPU units, or ValueError."""
    if v not in _CLOUD_RUN_MEMORY:
        raise ValueError(f"not a Cloud Run CPU size: use one of {sorted(_CLOUD_RUN_MEMORY)} (1024 = 1 vCPU)")
    return v


def cloud_run_memory(v: int, cpu: int | None) -> int:
    """Memory that fits the Cloud Run CPU size, or ValueError."""
    bounds = _CLOUD_RUN_MEMORY.get(cpu) if cpu is not None else None
    if bounds and not bounds[0] <= v <= bounds[1]:
        raise ValueError(f"does not fit cpu {cpu} on Cloud Run: allowed {bounds[0]}..{bounds[1]} MiB")
    return v


_APP_SECRET_REF = re.compile(r"secret:([a-z][a-z0-9-]{0,39})")


def app_secret_ref(value: str) -> str | None:
    """The name of an application secret a service references as ``secret:NAME`` (None for an ARN or path)."""
    m = _APP_SECRET_REF.fullmatch(value)
    return m.group(1) if m else None


def aws_secret_refs(v: dict[str, str]) -> dict[str, str]:
    """Secrets Manager / SSM parameter ARNs or ``secret:NAME`` (an application secret), or ValueError."""
    for key, arn in v.items():
        if not re.match(r"^arn:aws[\w-]*:(secretsmanager|ssm):", arn) and app_secret_ref(arn) is None:
            raise ValueError(f"{key} must be a Secrets Manager or SSM parameter ARN or secret:NAME (a secret of "
                             f"secrets), got {arn!r}")
    return v


def gcp_secret_refs(v: dict[str, str]) -> dict[str, str]:
    """Secret Manager paths or ``secret:NAME`` (an application secret), or ValueError."""
    for key, path in v.items():
        if not re.fullmatch(r"projects/[^/]+/secrets/[^/]+(/versions/(\d+|latest))?", path) and \
                app_secret_ref(path) is None:
            raise ValueError(f"{key} must be a Secret Manager path projects/P/secrets/S[/versions/V] or secret:NAME "
                             f"(a secret of secrets), got {path!r}")
    return v


def check_app_secrets(settings: Any, values: Mapping[str, Any]) -> str | None:
    """Rules across ``secrets``, ``identity`` and the services, as ``key: problem``: every ``secret:NAME`` a
    service references exists, rotation settings fit the cloud, and what Identity Platform cannot set is refused
    on gcp."""
    known = getattr(settings, "secrets", None) or {}
    refs: list[tuple[str, dict[str, str]]] = []
    for name, spec in (getattr(settings, "services", None) or {}).items():
        refs.append((f"services.{name}.secrets", spec.secrets))
    for where, secrets in refs:
        for env_name, ref in secrets.items():
            target = app_secret_ref(ref)
            if target is not None and target not in known:
                have = ", ".join(sorted(known)) or "none"
                return f"{where}.{env_name}: {ref} names no secret of secrets ({have})"
    given = values.get("secrets") if isinstance(values.get("secrets"), Mapping) else {}
    for name, secret in known.items():
        raw = given.get(name) if isinstance(given.get(name), Mapping) else {}
        if settings.cloud == "gcp" and "rotationFunctionArn" in raw:
            return f"secrets.{name}.rotationFunctionArn does not apply to cloud gcp (it is an aws setting)"
        if secret.rotation_function_arn is not None and secret.rotation_days is None:
            return f"secrets.{name}.rotationFunctionArn needs rotationDays (how often Secrets Manager calls it)"
        if not secret.generate and secret.rotation_days is not None and secret.rotation_function_arn is None:
            own = " or name your own rotation function (rotationFunctionArn)" if settings.cloud == "aws" else ""
            return (f"secrets.{name}.rotationDays does not apply: generate is false, and a value set with pulumi "
                    f"config set --secret cannot be rotated by the cloud; rotate it outside the stack{own} and "
                    "waive the rotation rule (docs/identity.md#secret-rotation)")
        if not secret.generate and "length" in raw:
            return f"secrets.{name}.length does not apply: generate is false (the value comes from secretValues)"
    ident = values.get("identity") if isinstance(values.get("identity"), Mapping) else {}
    if settings.cloud == "gcp":
        if ident.get("serviceAuth") == "network":
            return ("identity.serviceAuth: network does not apply to cloud gcp: Cloud Run checks every internal "
                    "request's invoker (invoker bindings and ID tokens); use iam")
        if "passwordMinLength" in ident:
            return ("identity.passwordMinLength does not apply to cloud gcp: pulumi-gcp does not expose Identity "
                    "Platform's password policy (docs/identity.md)")
        for cname, client in (ident.get("clients") or {}).items():
            for k in ("accessTokenMinutes", "refreshTokenDays"):
                if isinstance(client, Mapping) and k in client:
                    return (f"identity.clients.{cname}.{k} does not apply to cloud gcp: Identity Platform ID tokens "
                            "live one hour and refresh tokens until revoked")
    return None


# -- services and queues (a stack is any number of them) ----------------------------------------------------------
ServiceKind = Literal["web", "worker", "job"]
_NAME = r"^[a-z][a-z0-9-]{0,19}$"
_QUEUE_NAME = r"^[a-z][a-z0-9-]{0,39}$"
_USE = re.compile(r"^(database|cache|buckets\.([a-z0-9][a-z0-9-]{1,40}):(read|read-write)|"
                  r"queues\.([a-z][a-z0-9-]{0,39}):(send|consume)|services\.([a-z][a-z0-9-]{0,19}))$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")


class Route(_Model):
    """One route of a public web service on the shared load balancer: a path prefix and/or a host name."""

    path: str | None = Field(None, pattern=r"^/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$|^/$",
                             description="Path prefix, e.g. /v1 (matches /v1 and /v1/*); null: every path of the host.")
    host: str | None = Field(None, pattern=r"^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
                             description="Host name, e.g. api.example.com; null: any host.")
    weight: int = Field(100, ge=0, le=999, description="Weight of the primary target (canary split).")
    canary_weight: int = Field(0, ge=0, le=999, description="Weight of the canary target; 0 = no canary.")

    @model_validator(mode="after")
    def _some(self) -> Route:
        if self.path is None and self.host is None:
            raise ValueError("a route needs a path, a host or both")
        if self.weight == 0 and self.canary_weight == 0:
            raise ValueError("a route needs a non-zero weight or canaryWeight")
        return self

    @property
    def key(self) -> tuple[str, str]:
        """What the load balancer matches on: (host or '*', path or '/')."""
        return (self.host or "*", self.path or "/")


class Schedule(_Model):
    """When a job runs."""

    expression: str = Field(description="Five-field cron (minute hour day-of-month month day-of-week, e.g. "
                            "'0 3 * * *') or rate(N minutes|hours|days).")
    timezone: str = Field("UTC", description="IANA time zone the cron expression is read in, e.g. Europe/Berlin.")

    @field_validator("expression")
    @classmethod
    def _expression(cls, v: str) -> str:
        v = " ".join(v.split())
        if v.startswith("rate("):
            m = _RATE.fullmatch(v)
            if not m or int(m.group(1)) < 1:
                raise ValueError("a rate is rate(N minutes|hours|days) with N >= 1, e.g. rate(15 minutes)")
            if (m.group(1) == "1" and m.group(2).endswith("s")) or (m.group(1) != "1" and not m.group(2).endswith("s")):
                raise ValueError(f"write rate(1 {m.group(2).rstrip('s')}) or rate(N {m.group(2).rstrip('s')}s)")
            return v
        from croniter import croniter

        fields = v.split(" ")
        if len(fields) != 5 or not croniter.is_valid(v):
            raise ValueError("not a five-field cron expression (minute hour day-of-month month day-of-week)")
        if fields[2] not in ("*", "?") and fields[4] not in ("*", "?"):
            raise ValueError("set day-of-month or day-of-week, not both (EventBridge Scheduler refuses both)")
        if any(x in v for x in ("L", "W", "#")):
            raise ValueError("L, W and # are not portable between EventBridge Scheduler and Cloud Scheduler")
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        import zoneinfo

        if v != "UTC" and v not in zoneinfo.available_timezones():
            raise ValueError("not an IANA time zone, e.g. UTC or Europe/Berlin")
        return v

    def aws_expression(self) -> str:
        """The EventBridge Scheduler form: ``rate(...)`` or six-field ``cron(...)`` (``?`` for the unused day field,
        day-of-week 1-7 from Sunday)."""
        if self.expression.startswith("rate("):
            return self.expression
        minute, hour, dom, month, dow = self.expression.split(" ")
        step = lambda f, first: f.replace("*/", f"{first}/")  # noqa: E731
        dow = re.sub(r"\d", lambda d: str(int(d.group()) % 7 + 1), dow) if dow not in ("*", "?") else "?"
        dom = "?" if dow != "?" else ("*" if dom == "?" else dom)
        return f"cron({step(minute, 0)} {step(hour, 0)} {step(dom, 1)} {step(month, 1)} {dow} *)"

    def gcp_expression(self) -> str:
        """The Cloud Scheduler (unix-cron) form; a rate becomes the cron it equals, or raises when none does."""
        m = _RATE.fullmatch(self.expression)
        if not m:
            return self.expression.replace("?", "*")
        n, unit = int(m.group(1)), m.group(2).rstrip("s")
        if unit == "minute" and 60 % n == 0:
            return "* * * * *" if n == 1 else f"*/{n} * * * *"
        if unit == "hour" and 24 % n == 0:
            return "0 * * * *" if n == 1 else f"0 */{n} * * *"
        if unit == "day" and n == 1:
            return "0 0 * * *"
        raise ValueError(f"{self.expression} has no exact unix-cron equivalent for Cloud Scheduler: use a cron "
                         "expression")


class ServiceScaling(_Model):
    """How many copies of a web service or worker run."""

    min: int = Field(1, ge=0, le=100, description="Minimum running tasks / instances (0: scale to zero).")
    max: int = Field(2, ge=1, le=200, description="Maximum running tasks / instances.")
    messages_per_task: int = Field(
        100, ge=1, le=100_000, description="Worker: target backlog (visible messages) per running task.")

    @field_validator("max")
    @classmethod
    def _order(cls, v: int, info: ValidationInfo) -> int:
        low = info.data.get("min")
        if low is not None and low > v:
            raise ValueError(f"must be at least scaling.min ({low})")
        return v


class AwsServiceScaling(ServiceScaling):
    """Target tracking of an ECS service (web: CPU, memory and requests; worker: backlog per task)."""

    cpu_target: float = Field(60.0, gt=0, le=100, description="Web: target average CPU utilisation, percent.")
    memory_target: float = Field(75.0, gt=0, le=100, description="Web: target average memory utilisation, percent.")
    requests_per_target: int | None = Field(
        1000, ge=1, description="Web: target ALB requests per task per minute; null disables this policy.")


class ServiceSpec(_Model):
    """One service of the stack: a web service, a queue worker or a job."""

    kind: ServiceKind = Field(description="web (behind the load balancer, or internal), worker (consumes queues) or "
                              "job (runs a command on a schedule or on demand).")
    image_managed_externally: bool = Field(False, description="An external deployer owns image roll-outs.")
    command: list[str] | None = Field(None, description="Command (and arguments) overriding the image's; a job's "
                                      "default is the image's.")
    port: int = Field(8080, ge=1, le=65535, description="Web: port the container listens on.")
    health_check_path: str = Field("/", pattern=r"^/", description="Web: HTTP path the health checks probe.")
    routes: list[Route] = Field(default_factory=list, description="Web, public: routes on the load balancer.")
    internal: bool = Field(False, description="Web: reachable only from the services that list it in uses.")
    environment: dict[str, str] = Field(default_factory=dict, description="Plain environment variables.")
    uses: list[str] = Field(
        default_factory=list,
        description="What the service may reach, one wiring each: database, cache, buckets.NAME:read|read-write, "
        "queues.NAME:send|consume, services.NAME (an internal web service).")
    schedule: Schedule | None = Field(None, description="Job: when it runs; absent: on demand (e.g. migrations).")
    timeout_seconds: int = Field(3600, ge=60, le=86_400, description="Job: a run is stopped after this long.")

    @field_validator("environment")
    @classmethod
    def _no_secret_literals(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if SECRET_LIKE_NAME.search(key):
                raise ValueError(f"{key} looks like a secret: put its reference under secrets, not a literal")
        return v

    @field_validator("uses")
    @classmethod
    def _uses(cls, v: list[str]) -> list[str]:
        for entry in v:
            if not _USE.fullmatch(entry):
                raise ValueError(f"{entry!r} is not database, cache, buckets.NAME:read|read-write, "
                                 "queues.NAME:send|consume or services.NAME")
        dupes = sorted({e.split(":")[0] for e in v if [x.split(":")[0] for x in v].count(e.split(":")[0]) > 1})
        if dupes:
            raise ValueError(f"{dupes[0]} is listed twice")
        return v

    def used(self, kind: str) -> dict[str, str]:
        """``uses`` entries of one kind (``buckets``, ``queues``, ``services``): name -> access."""
        out = {}
        for entry in self.uses:
            head, _, access = entry.partition(":")
            if head.startswith(kind + "."):
                out[head.split(".", 1)[1]] = access
        return out

    @model_validator(mode="after")
    def _kind(self) -> ServiceSpec:
        k = self.kind
        if k == "web" and not self.internal and not self.routes:
            raise ValueError("a public web service needs routes (or internal: true)")
        if k == "web" and self.internal and self.routes:
            raise ValueError("an internal web service has no routes on the load balancer")
        if k == "worker" and "consume" not in self.used("queues").values():
            raise ValueError("a worker needs a queue to consume (uses: queues.NAME:consume)")
        if k != "worker" and "consume" in self.used("queues").values():
            raise ValueError("only a worker consumes a queue")
        keys = [r.key for r in self.routes]
        if len(set(keys)) != len(keys):
            raise ValueError("two routes match the same host and path")
        return self


_KIND_ONLY = {"web": ("port", "healthCheckPath", "routes", "internal"), "job": ("schedule", "timeoutSeconds")}


class AwsServiceSpec(ServiceSpec):
    """One ECS Fargate service or task."""

    image: str = Field("nginxinc/nginx-unprivileged:1.27-alpine", min_length=1, description="Container image.")
    cpu: int = Field(256, description="Task CPU units (256 = 0.25 vCPU); a Fargate size.")
    memory: int = Field(512, description="Task memory in MiB; must fit the CPU size on Fargate.")
    architecture: Literal["arm64", "x86_64"] = Field("arm64", description="CPU architecture of the task.")
    desired_count: int | None = Field(None, ge=0, le=200, description="Web and worker: tasks at deploy time; "
                                      "default scaling.min.")
    scaling: AwsServiceScaling = Field(default_factory=AwsServiceScaling, description="Web and worker: scaling.")
    secrets: dict[str, str] = Field(default_factory=dict, description="Environment variables from Secrets Manager "
                                    "or SSM Parameter Store: NAME -> ARN.")

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, v: int) -> int:
        return fargate_cpu(v)

    @field_validator("memory")
    @classmethod
    def _memory(cls, v: int, info: ValidationInfo) -> int:
        return fargate_memory(v, info.data.get("cpu"))

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, v: dict[str, str]) -> dict[str, str]:
        return aws_secret_refs(v)


class GcpServiceSpec(ServiceSpec):
    """One Cloud Run service or job."""

    image: str = Field("us-docker.pkg.dev/cloudrun/container/hello", min_length=1, description="Container image.")
    cpu: int = Field(1024, description="CPU in 1/1024 vCPU units: a Cloud Run size, 1, 2, 4, 6 or 8 vCPU.")
    memory: int = Field(512, description="Memory limit in MiB; must fit the CPU size on Cloud Run.")
    scaling: ServiceScaling = Field(default_factory=ServiceScaling, description="Web and worker: instance bounds.")
    secrets: dict[str, str] = Field(default_factory=dict, description="Environment variables from Secret Manager: "
                                    "NAME -> projects/P/secrets/S[/versions/V].")

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, v: int) -> int:
        return cloud_run_cpu(v)

    @field_validator("memory")
    @classmethod
    def _memory(cls, v: int, info: ValidationInfo) -> int:
        return cloud_run_memory(v, info.data.get("cpu"))

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, v: dict[str, str]) -> dict[str, str]:
        return gcp_secret_refs(v)

    @model_validator(mode="after")
    def _schedule(self) -> GcpServiceSpec:
        if self.schedule is not None:
            self.schedule.gcp_expression()  # raises for a rate Cloud Scheduler cannot express
        return self


class QueueSettings(_Model):
    """One queue (SQS queue / Pub/Sub topic and subscription) with its dead-letter queue."""

    fifo: bool = Field(False, description="Ordered delivery (SQS FIFO / Pub/Sub message ordering).")
    visibility_timeout_seconds: int = Field(
        60, description="How long a received message stays hidden before redelivery (Pub/Sub ack deadline); set "
        "it above the worker's processing time.")
    retention_days: int = Field(4, ge=1, le=14, description="How long an unconsumed message is kept.")
    max_receives: int = Field(5, ge=1, le=1000, description="Deliveries before a message goes to the dead-letter "
                              "queue.")


class AwsQueueSettings(QueueSettings):
    """An SQS queue with a dead-letter queue, encrypted with the stack's key."""

    @field_validator("visibility_timeout_seconds")
    @classmethod
    def _visibility(cls, v: int) -> int:
        if not 0 <= v <= 43_200:
            raise ValueError("SQS visibility timeout is 0 to 43200 seconds")
        return v


class GcpQueueSettings(QueueSettings):
    """A Pub/Sub topic and push subscription with a dead-letter topic, encrypted with the stack's key."""

    @field_validator("visibility_timeout_seconds")
    @classmethod
    def _visibility(cls, v: int) -> int:
        if not 10 <= v <= 600:
            raise ValueError("the Pub/Sub ack deadline is 10 to 600 seconds")
        return v

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, v: int) -> int:
        if v > 7:
            raise ValueError("a Pub/Sub subscription keeps messages at most 7 days")
        return v

    @field_validator("max_receives")
    @classmethod
    def _receives(cls, v: int) -> int:
        if not 5 <= v <= 100:
            raise ValueError("Pub/Sub dead lettering takes 5 to 100 delivery attempts")
        return v


def check_services(settings: Any, values: Mapping[str, Any]) -> str | None:
    """Cross-service rules, as ``key: problem``: every ``uses`` names something that exists, each queue has one
    consumer, no two public routes overlap, internal services are only reached by those that use them, and keys
    of another kind are not set."""
    services = getattr(settings, "services", None) or {}
    queues = getattr(settings, "queues", None) or {}
    buckets = {b.name for b in settings.storage.buckets}
    consumers: dict[str, str] = {}
    routes: dict[tuple[str, str], str] = {}
    given = values.get("services") or {}
    for name, svc in services.items():
        key = f"services.{name}"
        raw = given.get(name) or {}
        for kind, keys in _KIND_ONLY.items():
            for k in keys:
                if svc.kind != kind and k in raw:
                    return f"{key}.{k} does not apply: kind is {svc.kind} ({k} is for kind {kind})"
        for k in ("scaling", "desiredCount"):
            if svc.kind == "job" and k in raw:
                return f"{key}.{k} does not apply: a job runs once per trigger"
        if svc.kind == "web" and "messagesPerTask" in (raw.get("scaling") or {}):
            return f"{key}.scaling.messagesPerTask does not apply: kind is web (it scales a worker on its backlog)"
        if svc.kind == "worker":
            scaling = raw.get("scaling") or {}
            web_only = [k for k in ("cpuTarget", "memoryTarget", "requestsPerTarget") if k in scaling]
            if web_only:
                return f"{key}.scaling.{web_only[0]} does not apply: a worker scales on its backlog (messagesPerTask)"
        for entry in svc.uses:
            head, _, access = entry.partition(":")
            if head == "database" and not settings.database.enabled:
                return f"{key}.uses: {entry} but database.enabled is false"
            if head == "cache" and not settings.cache.enabled:
                return f"{key}.uses: {entry} but cache.enabled is false"
            kind, _, target = head.partition(".")
            if kind == "buckets" and target not in buckets:
                known = ", ".join(sorted(buckets)) or "none"
                return f"{key}.uses: {entry} names no bucket of storage.buckets ({known})"
            if kind == "queues":
                if target not in queues:
                    return f"{key}.uses: {entry} names no queue of queues ({', '.join(sorted(queues)) or 'none'})"
                if access == "consume":
                    if target in consumers:
                        return (f"{key}.uses: queues.{target} is already consumed by services.{consumers[target]} "
                                "(one consumer per queue)")
                    consumers[target] = name
            if kind == "services":
                other = services.get(target)
                if other is None:
                    return f"{key}.uses: {entry} names no service of services ({', '.join(sorted(services))})"
                if target == name:
                    return f"{key}.uses: a service does not list itself"
                if other.kind != "web" or not other.internal:
                    return f"{key}.uses: {entry} is not an internal web service (public ones are reached through " \
                           "the load balancer)"
        if svc.kind == "web":
            for route in svc.routes:
                if route.key in routes:
                    host, path = route.key
                    return (f"{key}.routes: {path} on host {host} is already routed to services.{routes[route.key]}")
                routes[route.key] = name
    for q in queues:
        if q not in consumers:
            return f"queues.{q} has no consumer (a worker with uses: queues.{q}:consume)"
    return None


# -- load balancer ------------------------------------------------------------------------------------------------
class LoadBalancerSettings(_Model):
    """The public load balancer and its web application firewall."""

    waf: bool = Field(False, description="Attach a web application firewall (AWS WAF web ACL / Cloud Armor policy) "
                      "with managed rules and a per-client rate limit.")
    rate_limit_per_5min: int = Field(
        2000, ge=100, le=2_000_000_000,
        description="Requests per client IP per 5 minutes before the firewall blocks it (Cloud Armor enforces it "
        "as a fifth of it per minute).",
    )


# -- database -----------------------------------------------------------------------------------------------------
class DatabaseSettings(_Model):
    """The PostgreSQL tier."""

    enabled: bool = Field(True, description="Create the database.")
    engine_version: str = Field("16.4", pattern=r"^\d+(\.\d+)?$", description="PostgreSQL engine version.")
    allocated_storage_gb: int = Field(20, ge=10, le=65536, description="Initial storage, GiB.")
    max_allocated_storage_gb: int = Field(
        0, ge=0, le=65536, description="Storage autoscaling ceiling, GiB; 0 disables autoscaling."
    )
    multi_az: bool = Field(False, description="A standby in another zone with automatic failover (RDS Multi-AZ, "
                           "Aurora reader, Cloud SQL REGIONAL).")
    backup_retention_days: int = Field(1, ge=1, le=35, description="Automated backup retention (PITR window).")
    deletion_protection: bool = Field(False, description="Refuse deletion through the API.")
    database_name: str = Field("app", pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Initial database name.")

    @model_validator(mode="after")
    def _storage(self) -> DatabaseSettings:
        if self.max_allocated_storage_gb and self.max_allocated_storage_gb < self.allocated_storage_gb:
            raise ValueError(f"database.maxAllocatedStorageGb ({self.max_allocated_storage_gb}) must be 0 or at "
                             f"least database.allocatedStorageGb ({self.allocated_storage_gb})")
        return self


class AwsDatabaseSettings(DatabaseSettings):
    """RDS or Aurora PostgreSQL."""

    engine: Literal["postgres", "aurora-postgresql"] = Field("postgres", description="RDS or Aurora PostgreSQL.")
    instance_class: str = Field("db.t4g.micro", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$",
                                description="Instance class, e.g. db.t4g.micro.")
    performance_insights: bool = Field(False, description="Enable Performance Insights.")
    iam_authentication: bool = Field(False, description="Allow IAM database authentication (the service role "
                                     "gets rds-db:connect).")


class GcpDatabaseSettings(DatabaseSettings):
    """Cloud SQL for PostgreSQL."""

    instance_class: str = Field("db-f1-micro", pattern=r"^db-(f1-micro|g1-small|custom-\d+-\d+|perf-optimized-.+|"
                                r"[a-z0-9]+-(standard|highmem|highcpu)-\d+)$",
                                description="Machine tier, e.g. db-f1-micro, db-g1-small, db-custom-2-7680.")
    iam_authentication: bool = Field(
        True, description="Clients log in as their service account (IAM database users): no password exists. "
        "false needs passwordSecret.")
    password_secret: str | None = Field(
        None, pattern=r"^projects/[^/]+/secrets/[^/]+$",
        description="Without IAM login: the Secret Manager secret (projects/P/secrets/S) holding the app user's "
        "password, filled by an operator; injected by reference.")

    @model_validator(mode="after")
    def _login(self) -> GcpDatabaseSettings:
        if not self.iam_authentication and not self.password_secret:
            raise ValueError("database.passwordSecret is required when database.iamAuthentication is false")
        return self


# -- cache --------------------------------------------------------------------------------------------------------
class CacheSettings(_Model):
    """The Redis-compatible cache tier."""

    enabled: bool = Field(True, description="Create the cache.")
    num_nodes: int = Field(1, ge=1, le=6, description="Nodes: a primary plus replicas in other zones.")


class AwsCacheSettings(CacheSettings):
    """ElastiCache: a replication group of nodes, or ElastiCache Serverless."""

    mode: Literal["node", "serverless"] = Field(
        "node", description="node: a replication group of fixed nodes; serverless: ElastiCache Serverless, "
        "billed for data stored and processing units, capped below."
    )
    max_data_storage_gb: int = Field(1, ge=1, le=5000, description="Serverless: ceiling on data stored, GB.")
    max_ecpu_per_second: int = Field(
        5000, ge=1000, le=15_000_000, description="Serverless: ceiling on processing units per second."
    )
    engine: Literal["valkey", "redis"] = Field("valkey", description="Valkey (default) or Redis OSS.")
    engine_version: str = Field("8.0", pattern=r"^\d+\.\d+$", description="Engine version.")
    node_type: str = Field("cache.t4g.micro", pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$",
                           description="Node type (mode node).")
    automatic_failover: bool = Field(False, description="Promote a replica when the primary fails (mode node).")
    multi_az: bool = Field(False, description="Place replicas in other AZs (mode node).")
    snapshot_retention_days: int = Field(0, ge=0, le=35, description="Daily snapshot retention; 0 = none.")

    @model_validator(mode="after")
    def _failover(self) -> AwsCacheSettings:
        if self.mode == "node" and (self.automatic_failover or self.multi_az) and self.num_nodes < 2:
            raise ValueError("cache.automaticFailover and cache.multiAz need cache.numNodes >= 2")
        return self


class GcpCacheSettings(CacheSettings):
    """Memorystore for Redis: BASIC (one node) or STANDARD_HA (replicas with automatic failover)."""

    engine: Literal["redis"] = Field("redis", description="Memorystore for Redis (the only engine here on gcp).")
    engine_version: Literal["6.x", "7.0", "7.2"] = Field("7.2", description="Redis version.")
    memory_size_gb: int = Field(1, ge=1, le=300, description="Capacity in GiB.")
    persistence: bool = Field(False, description="RDB snapshots every 12 hours (kept by the instance).")


# -- storage, monitoring, keys, IAM, budget, DNS -----------------------------------------------------------------
class BucketSettings(_Model):
    """One object-storage bucket."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$", description="Logical name; the stack prefixes it.")
    noncurrent_version_days: int = Field(30, ge=1, description="Expire noncurrent versions after N days.")
    transition_to_ia_days: int | None = Field(
        None, ge=30, description="Move objects to infrequent access (S3 Standard-IA / Nearline) after N days; "
        "null = never."
    )
    access_logging: bool = Field(False, description="Log requests to the stack's access-log bucket.")


class StorageSettings(_Model):
    """Object storage."""

    buckets: list[BucketSettings] = Field(
        default_factory=lambda: [BucketSettings(name="assets")], description="Buckets to create; names unique."
    )

    @field_validator("buckets")
    @classmethod
    def _unique(cls, v: list[BucketSettings]) -> list[BucketSettings]:
        seen: set[str] = set()
        for b in v:
            if b.name in seen:
                raise ValueError(f"bucket {b.name!r} is listed twice: bucket names must be unique")
            seen.add(b.name)
        return v


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CLOUDWATCH_RETENTION = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                        2922, 3288, 3653)


class MonitoringSettings(_Model):
    """Alarms, dashboards and logs."""

    alert_emails: list[str] = Field(default_factory=list, description="Emails that receive alarms.")
    pager_emails: list[str] = Field(
        default_factory=list, description="Pager integration emails (prod); alarms go there with alarmsToPager."
    )
    log_retention_days: int = Field(7, ge=1, le=3653, description="Retention of every log, days.")
    alarms_to_pager: bool = Field(False, description="Route alarms to the pager instead of email.")
    dashboard: bool = Field(True, description="Create the monitoring dashboard.")

    @field_validator("alert_emails", "pager_emails")
    @classmethod
    def _emails(cls, v: list[str]) -> list[str]:
        for e in v:
            if not _EMAIL.fullmatch(e):
                raise ValueError(f"{e!r} is not an email address")
        return v


class AwsMonitoringSettings(MonitoringSettings):
    """CloudWatch alarms (to SNS topics), a CloudWatch dashboard and log groups."""

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, v: int) -> int:
        if v not in CLOUDWATCH_RETENTION:
            raise ValueError(f"{v} is not a CloudWatch retention: use one of {list(CLOUDWATCH_RETENTION)}")
        return v


class GcpMonitoringSettings(MonitoringSettings):
    """Cloud Monitoring alert policies (to email channels), a dashboard, and the _Default log bucket's retention."""


class EncryptionSettings(_Model):
    """Customer-managed KMS keys."""

    key_per_component: bool = Field(
        True,
        description="A key per concern (logs, database, cache, each bucket, alarm topics) for a small blast radius "
        "and separate key policies; false shares one stack key (1 USD/month instead of 5).",
    )


class IamSettings(_Model):
    """IAM roles the stack creates."""

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


_HOSTNAME = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class DnsSettings(_Model):
    """Domain of the public endpoint."""

    domain_name: str | None = Field(None, pattern=_HOSTNAME, description="Public hostname, e.g. api.example.com.")


class AwsDnsSettings(DnsSettings):
    """Domain and certificate of the public endpoint (Route 53 and ACM)."""

    zone_name: str | None = Field(None, pattern=_HOSTNAME,
                                  description="Route 53 hosted zone to validate certificates and alias in.")
    certificate_arn: str | None = Field(None, pattern=r"^arn:aws[\w-]*:acm:",
                                        description="Existing ACM certificate ARN to use instead.")

    @model_validator(mode="after")
    def _domain(self) -> AwsDnsSettings:
        if self.zone_name and not self.domain_name:
            raise ValueError("dns.domainName is required when dns.zoneName is set")
        if self.zone_name and self.domain_name and not (
                self.domain_name == self.zone_name or self.domain_name.endswith("." + self.zone_name)):
            raise ValueError(f"dns.domainName {self.domain_name!r} is not in dns.zoneName {self.zone_name!r}")
        return self


# -- edge (CDN) and disaster recovery (issue 14) --------------------------------------------------------------------
class CdnSettings(_Model):
    """A content delivery network in front of the load balancer (API) and the assets bucket (static files)."""

    enabled: bool = Field(False, description="Serve through the CDN (CloudFront / Cloud CDN) in front of the "
                          "public load balancer, whatever web services it routes: /static/* from the assets bucket "
                          "cached at the edge (no public route may use /static then), the API passed through "
                          "honouring its Cache-Control. On aws the load balancer then admits only CloudFront, so "
                          "routes use no host other than dns.domainName.")
    static_ttl_seconds: int = Field(86_400, ge=60, le=31_536_000, description="Default time static assets stay "
                                    "cached when the object sets no Cache-Control, seconds (the maximum is a year).")


class AwsCdnSettings(CdnSettings):
    """CloudFront: a distribution with the API and static-asset behaviours and the web ACL at the edge."""

    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = Field(
        "PriceClass_100", description="Edge locations served: 100 (North America, Europe), 200 (plus Asia, Middle "
        "East, Africa), All.")


class GcpCdnSettings(CdnSettings):
    """Cloud CDN on the load balancer's backend bucket (static, CACHE_ALL_STATIC) and backend service (API,
    USE_ORIGIN_HEADERS)."""


DR_REGIONS: dict[str, dict[str, str]] = {
    "aws": {"us-east-1": "us-west-2", "us-east-2": "us-west-2", "us-west-1": "us-east-1", "us-west-2": "us-east-1",
            "ca-central-1": "ca-west-1", "eu-west-1": "eu-central-1", "eu-central-1": "eu-west-1",
            "eu-west-2": "eu-west-1", "eu-west-3": "eu-central-1", "eu-north-1": "eu-central-1",
            "ap-southeast-1": "ap-southeast-2", "ap-southeast-2": "ap-southeast-1", "ap-southeast-3": "ap-southeast-1",
            "ap-northeast-1": "ap-northeast-3", "ap-northeast-2": "ap-northeast-1", "ap-south-1": "ap-south-2",
            "sa-east-1": "us-east-1"},
    "gcp": {"us-central1": "us-east1", "us-east1": "us-central1", "us-east4": "us-central1", "us-west1": "us-west2",
            "us-west2": "us-west1", "europe-west1": "europe-west4", "europe-west4": "europe-west1",
            "europe-west2": "europe-west1", "europe-west3": "europe-west4", "asia-southeast1": "asia-southeast2",
            "asia-southeast2": "asia-southeast1", "asia-northeast1": "asia-northeast2",
            "asia-northeast2": "asia-northeast1"},
}
"""The default disaster-recovery region for a primary region (same jurisdiction, far enough for a regional
disaster); a primary not listed needs ``dr.region`` in the stack file."""


class DrSettings(_Model):
    """Disaster recovery: the stated objectives and where copies live. The review measures the deployed design
    against them (``review/recovery.py``) and the security pack fails prod when it cannot meet them."""

    rpo_minutes: int | None = Field(None, ge=1, le=525_600, description="Recovery point objective: the most "
                                    "recent data a disaster may lose, minutes; null = none stated.")
    rto_minutes: int | None = Field(None, ge=1, le=525_600, description="Recovery time objective: how long a "
                                    "restore may take until the stack serves again, minutes; null = none stated.")
    cross_region: bool = Field(False, description="Keep copies of the database and buckets in the DR region.")
    region: str | None = Field(None, description="DR region (crossRegion): a region of the stack's cloud other "
                               "than its own (on gcp in the same multi-region, US, EU or ASIA: the buckets become "
                               "dual-region); null = the default pair of the stack's region (DR_REGIONS).")


class AwsDrSettings(DrSettings):
    """AWS Backup (vault with a lock, a plan for the database and buckets, copies to the DR region), RDS
    automated-backup replication and S3 replication."""

    backup_retention_days: int = Field(35, ge=7, le=3650, description="crossRegion: how long AWS Backup keeps "
                                       "each recovery point, in both vaults, days.")
    vault_lock: Literal["governance", "compliance"] = Field(
        "governance", description="crossRegion: vault lock mode. governance: nobody deletes recovery points early, "
        "and the lock itself can be removed by the account's root-level admins; compliance: immutable after 3 "
        "days, even for root (choose deliberately: it cannot be undone).")


class GcpDrSettings(DrSettings):
    """Cloud SQL backups in the DR region and a cross-region read replica; buckets replicated by dual-region
    placement."""

    replica: bool = Field(True, description="crossRegion: a Cloud SQL read replica in the DR region (promote it "
                          "to recover within minutes); false: restore from the cross-region backups.")


CDN_STATIC_BUCKET = "assets"
"""The bucket (by settings name) the CDN serves under ``/static/*``, when the stack has it."""
GCP_MULTI_REGIONS: dict[str, str] = {"us": "US", "europe": "EU", "asia": "ASIA"}
"""Region-name prefix -> the Cloud Storage multi-region a configurable dual-region bucket pairs two regions in."""


def gcp_multi_region(region: str) -> str | None:
    """The multi-region containing a GCP region (``us-east1`` -> ``US``), or None."""
    return GCP_MULTI_REGIONS.get(region.lower().split("-")[0])


def _check_cdn(settings: Any) -> str | None:
    """With the CDN on, ``/static/*`` belongs to the assets bucket: no public route may claim it. On AWS the load
    balancer then admits only CloudFront, whose one alias is ``dns.domainName``: a route on another host would be
    unreachable."""
    if not settings.cdn.enabled:
        return None
    static = any(b.name == CDN_STATIC_BUCKET for b in settings.storage.buckets)
    for name, spec in settings.services.items():
        if spec.kind != "web" or spec.internal:
            continue
        for route in spec.routes:
            if settings.cloud == "aws" and route.host and route.host != settings.dns.domain_name:
                return (f"services.{name}.routes: host {route.host} would not reach the load balancer, which admits "
                        "only CloudFront (cdn.enabled), whose one alias is dns.domainName: route by path, or set "
                        "cdn.enabled: false")
            if static and route.path and (route.path.rstrip("/") == "/static" or route.path.startswith("/static/")):
                return (f"services.{name}.routes: path {route.path} is served from the {CDN_STATIC_BUCKET} bucket by "
                        "the CDN (cdn.enabled): choose another path, or set cdn.enabled: false")
    return None


def _check_dr(settings: Any) -> str | None:
    """``dr.region`` is a region of the stack's cloud other than its own; crossRegion has a DR region; on GCP both
    regions lie in one multi-region (the buckets become dual-region)."""
    dr = settings.dr
    home = gcp_multi_region(settings.region) if settings.cloud == "gcp" else None
    if settings.cloud == "gcp" and dr.cross_region and home is None:
        return (f"dr.crossRegion: dual-region buckets need the stack's region in a multi-region (US, EU or ASIA); "
                f"{settings.region} is not: set dr.crossRegion: false")
    if dr.region is not None:
        try:
            _check_region(dr.region, settings.cloud)
        except ValueError as exc:
            return f"dr.region = {dr.region!r} is invalid: {exc}"
        if dr.region == settings.region:
            return f"dr.region = {dr.region!r} is the stack's own region: a regional disaster would take both"
    elif dr.cross_region and settings.region not in DR_REGIONS[settings.cloud]:
        return f"dr.region is required: there is no default DR region for {settings.region}"
    if settings.cloud == "gcp" and dr.cross_region:
        region = dr.region or DR_REGIONS["gcp"][settings.region]
        if gcp_multi_region(region) != home:
            return (f"dr.region = {region!r} is invalid: dual-region buckets pair it with {settings.region} "
                    f"inside one multi-region ({home}): choose a region there")
    return None
# -- end of edge and disaster recovery ------------------------------------------------------------------------------


class Waiver(_Model):
    """A reviewed exception to one policy for one resource (or a name pattern).

    The rules are the policy packs' (``policies.common.parse_waivers``), checked here too so a bad waiver fails
    the stack file, not only the pack."""

    policy: str = Field(min_length=1, description="Policy name, e.g. ecs-service-no-public-ip.")
    resource: str = Field(min_length=1, description="Resource name or fnmatch pattern, e.g. 'app-*'.")
    reason: str = Field(description="Why the exception is acceptable (the packs' minimum number of words).")


# -- identity and application secrets ----------------------------------------------------------------------------
class AppClient(_Model):
    """One application that signs users in."""

    type: Literal["public", "confidential"] = Field(
        description="public: a browser or mobile app (authorization code with PKCE, no client secret); "
        "confidential: a server that keeps a client secret.")
    callback_urls: list[str] = Field(default_factory=list, description="Where the hosted sign-in may redirect "
                                     "after sign-in (https, or http://localhost for development).")
    logout_urls: list[str] = Field(default_factory=list, description="Where sign-out may redirect.")
    access_token_minutes: int = Field(60, ge=5, le=60, description="Access (and ID) token lifetime, minutes; at "
                                      "most an hour.")
    refresh_token_days: int = Field(30, ge=1, le=3650, description="Refresh token lifetime, days.")

    @field_validator("callback_urls", "logout_urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        for url in v:
            if not re.fullmatch(r"https://[^\s/]+(/\S*)?|http://localhost(:\d+)?(/\S*)?", url):
                raise ValueError(f"{url!r} must be an https URL (or http://localhost for development)")
        return v


class IdentitySettings(_Model):
    """End-user sign-in: a user directory, app clients and sign-in required on protected routes."""

    enabled: bool = Field(True, description="Create the user directory (Cognito user pool / Identity Platform).")
    mfa: Literal["off", "optional", "required"] = Field(
        "optional", description="Multi-factor authentication (TOTP apps at least).")
    password_min_length: int = Field(12, ge=12, le=99, description="Minimum password length (12 or more; upper, "
                                     "lower, digit and symbol required).")
    deletion_protection: bool = Field(False, description="Refuse deletion of the user directory through the API.")
    self_sign_up: bool = Field(False, description="Let users sign themselves up; false: only administrators create "
                               "users.")
    clients: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,39}$")], AppClient] = Field(
        default_factory=lambda: {"web": AppClient(type="public", callback_urls=["http://localhost:3000/callback"],
                                                  logout_urls=["http://localhost:3000/"])},
        description="App clients: name -> public or confidential client.")
    protected_paths: list[Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9._~/-]*\*?$")]] = Field(
        default_factory=list, description="Path patterns on the load balancer that require sign-in before any "
        "request reaches a service, e.g. /admin/* (AWS: authenticate-cognito listener rules; GCP: IAP).")
    service_auth: Literal["iam", "network"] = Field(
        "iam", description="How an internal service admits its callers (the services whose uses name it): iam = "
        "security groups plus IAM (AWS: a VPC Lattice service with an auth policy naming the callers' task roles, "
        "requests signed with SigV4; GCP: invoker bindings and ID tokens, the only choice there); network = "
        "security groups only (AWS: ECS Service Connect; not on gcp). Independent of enabled (end-user sign-in).")


class AwsIdentitySettings(IdentitySettings):
    """A Cognito user pool, app clients, a hosted domain and authenticate-cognito rules on the load balancer."""

    threat_protection: bool = Field(False, description="Cognito threat protection (advanced security, enforced; "
                                    "Plus feature plan, priced per MAU).")
    domain_prefix: str | None = Field(None, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
                                      description="Hosted sign-in domain prefix; default <name>-<environment>-"
                                      "<account id>.")


class GcpIdentitySettings(IdentitySettings):
    """Identity Platform (email sign-in, MFA, password policy) and IAP on the protected paths' backends."""

    iap_members: list[str] = Field(default_factory=list, description="Who IAP admits on protected paths, e.g. "
                                   "group:admins@example.com.")

    @field_validator("iap_members")
    @classmethod
    def _members(cls, v: list[str]) -> list[str]:
        for m in v:
            if not re.fullmatch(r"(user|group|domain|serviceAccount):\S+", m) or m.endswith(("allUsers",
                                                                                         "allAuthenticatedUsers")):
                raise ValueError(f"{m!r} is not a user:, group:, domain: or serviceAccount: member")
        return v


class AppSecret(_Model):
    """One application secret, created by the stack and injected into services by reference."""

    generate: bool = Field(True, description="Generate a random value (never in code or config); false: the value is "
                           "the stack's secret config backend-hosting:secretValues.<name> "
                           "(`pulumi config set --secret`).")
    length: int = Field(40, ge=16, le=4096, description="Length of a generated value.")
    rotation_days: int | None = Field(None, ge=1, le=1000, description="Rotate a generated value every N days "
                                      "(AWS: the project's rotation Lambda, or rotationFunctionArn; GCP: rotation "
                                      "notifications on a Pub/Sub topic); null: no rotation. Default: 90 in prod for "
                                      "generated secrets (SECRET_PROFILES). Refused on a given value (generate: "
                                      "false) without rotationFunctionArn: the cloud cannot make one up.")
    rotation_function_arn: str | None = Field(None, pattern=r"^arn:aws[\w-]*:lambda:",
                                              description="AWS: your own Lambda that rotates this secret instead of "
                                              "the project's (e.g. a third party's API key); needs rotationDays.")


# -- the stack ----------------------------------------------------------------------------------------------------
class StackSettings(_Model):
    """Everything one stack needs: cloud, region, environment profile and a section per concern."""

    region: str = Field(description="Cloud region, e.g. us-east-1 or us-central1; checked against the cloud's list.")
    environment: Literal["dev", "staging", "prod"] = Field(description="Profile supplying the defaults.")
    name: str = Field(
        "app", pattern=r"^[a-z][a-z0-9-]{1,20}$", description="Short name prefixed to physical resource names."
    )
    load_balancer: LoadBalancerSettings = Field(default_factory=LoadBalancerSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    budget: BudgetSettings
    tags: dict[str, str] = Field(default_factory=dict, description="Extra tags/labels on every resource.")
    waivers: list[Waiver] = Field(default_factory=list, description="Reviewed policy exceptions.")
    secrets: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,39}$")], AppSecret] = Field(
        default_factory=dict, description="Application secrets the stack creates (Secrets Manager / Secret Manager, "
        "encrypted with the stack's keys); services reference them as secret:NAME.")

    @field_validator("waivers")
    @classmethod
    def _waivers(cls, v: list[Waiver]) -> list[Waiver]:
        from policies.common import parse_waivers  # the packs own the waiver contract

        _, problems = parse_waivers([w.model_dump() for w in v])
        if problems:
            raise ValueError(f"waivers: {problems[0]}")
        return v

    @property
    def is_prod(self) -> bool:
        """True for the production profile."""
        return self.environment == "prod"

    @property
    def dr_region(self) -> str | None:
        """The region holding disaster-recovery copies (``dr.crossRegion``), or None."""
        dr = self.dr  # type: ignore[attr-defined]
        if not dr.cross_region:
            return None
        return dr.region or DR_REGIONS[self.cloud].get(self.region)  # type: ignore[attr-defined]

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


class AwsSettings(StackSettings):
    """An AWS stack."""

    cloud: Literal["aws"] = Field("aws", description="Target cloud.")
    network: AwsNetworkSettings = Field(default_factory=AwsNetworkSettings)
    database: AwsDatabaseSettings = Field(default_factory=AwsDatabaseSettings)
    cache: AwsCacheSettings = Field(default_factory=AwsCacheSettings)
    monitoring: AwsMonitoringSettings = Field(default_factory=AwsMonitoringSettings)
    encryption: EncryptionSettings = Field(default_factory=EncryptionSettings)
    iam: IamSettings = Field(default_factory=IamSettings)
    dns: AwsDnsSettings = Field(default_factory=AwsDnsSettings)
    services: dict[Annotated[str, StringConstraints(pattern=_NAME)], AwsServiceSpec] = Field(
        default_factory=dict, description="The services: name -> web service, worker or job (ECS on Fargate).")
    queues: dict[Annotated[str, StringConstraints(pattern=_QUEUE_NAME)], AwsQueueSettings] = Field(
        default_factory=dict, description="The queues: name -> SQS queue with a dead-letter queue.")
    identity: AwsIdentitySettings = Field(default_factory=AwsIdentitySettings)
    cdn: AwsCdnSettings = Field(default_factory=AwsCdnSettings)
    dr: AwsDrSettings = Field(default_factory=AwsDrSettings)

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        return _check_region(v, "aws")

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not 1 <= len(key) <= 128 or len(value) > 256 or key.lower().startswith("aws:"):
                raise ValueError(f"tag {key!r}: keys are 1-128 characters without the aws: prefix, values at most 256")
        return v


class GcpSettings(StackSettings):
    """A GCP stack."""

    cloud: Literal["gcp"] = Field("gcp", description="Target cloud.")
    gcp_project: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$", description="GCP project id.")
    gcp_billing_account: str | None = Field(
        None, pattern=r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$",
        description="Billing account id for the budget; no budget resource when unset.")
    network: GcpNetworkSettings = Field(default_factory=GcpNetworkSettings)
    database: GcpDatabaseSettings = Field(default_factory=GcpDatabaseSettings)
    cache: GcpCacheSettings = Field(default_factory=GcpCacheSettings)
    monitoring: GcpMonitoringSettings = Field(default_factory=GcpMonitoringSettings)
    dns: DnsSettings = Field(default_factory=DnsSettings)
    services: dict[Annotated[str, StringConstraints(pattern=_NAME)], GcpServiceSpec] = Field(
        default_factory=dict, description="The services: name -> web service, worker or job (Cloud Run).")
    queues: dict[Annotated[str, StringConstraints(pattern=_QUEUE_NAME)], GcpQueueSettings] = Field(
        default_factory=dict, description="The queues: name -> Pub/Sub topic and subscription with a dead-letter "
        "topic.")
    identity: GcpIdentitySettings = Field(default_factory=GcpIdentitySettings)
    cdn: GcpCdnSettings = Field(default_factory=GcpCdnSettings)
    dr: GcpDrSettings = Field(default_factory=GcpDrSettings)

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        return _check_region(v, "gcp")

    @field_validator("tags")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", key) or not re.fullmatch(r"[a-z0-9_-]{0,63}", value):
                raise ValueError(f"label {key}={value!r}: GCP labels are lowercase letters, digits, - and _ "
                                 "(63 at most, keys start with a letter)")
        return v


Settings = Union[AwsSettings, GcpSettings]  # noqa: UP007  (a runtime alias used in annotations and isinstance)
"""One stack's settings: the model of its cloud."""

MODELS: dict[str, type[StackSettings]] = {"aws": AwsSettings, "gcp": GcpSettings}


# -- profiles -----------------------------------------------------------------------------------------------------
# Environment profiles: the defaults a stack file overrides. Keys are the YAML (camelCase) names. PROFILES holds what
# means the same on both clouds; CLOUD_PROFILES each cloud's own sizes and shapes. Every key must exist in the
# cloud's model (a test checks it), so a profile never sets what a cloud does not have.
PROFILES: dict[str, dict[str, Any]] = {
    "dev": {
        "database": {"multiAz": False, "backupRetentionDays": 1, "deletionProtection": False,
                     "allocatedStorageGb": 20, "maxAllocatedStorageGb": 0},
        "cache": {"numNodes": 1},
        "monitoring": {"logRetentionDays": 7, "alarmsToPager": False, "dashboard": False},
        "identity": {"mfa": "optional", "deletionProtection": False},
        "cdn": {"enabled": False},
        "dr": {"rpoMinutes": None, "rtoMinutes": None, "crossRegion": False},
        "budget": {"monthlyUsd": 100},
    },
    "staging": {
        "loadBalancer": {"waf": True},
        "database": {"multiAz": False, "backupRetentionDays": 7, "deletionProtection": False,
                     "allocatedStorageGb": 20, "maxAllocatedStorageGb": 100},
        "cache": {"numNodes": 2},
        "monitoring": {"logRetentionDays": 30, "alarmsToPager": False},
        "identity": {"mfa": "optional", "deletionProtection": False},
        "dr": {"rpoMinutes": 1440, "rtoMinutes": 720, "crossRegion": False},
        "budget": {"monthlyUsd": 500},
    },
    "prod": {
        "loadBalancer": {"waf": True},
        "database": {"multiAz": True, "backupRetentionDays": 30, "deletionProtection": True,
                     "allocatedStorageGb": 100, "maxAllocatedStorageGb": 1000},
        "cache": {"numNodes": 3},
        "monitoring": {"logRetentionDays": 365, "alarmsToPager": True},
        "identity": {"mfa": "required", "deletionProtection": True},
        "storage": {"buckets": [{"name": "assets", "accessLogging": True}]},
        "dr": {"rpoMinutes": 15, "rtoMinutes": 240, "crossRegion": True},
        "budget": {"monthlyUsd": 4000},
    },
}

CLOUD_PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "aws": {
        "dev": {
            "network": {"azCount": 2, "natStrategy": "none", "interfaceEndpoints": False},
            "database": {"instanceClass": "db.t4g.micro"},
            "cache": {"mode": "serverless", "maxDataStorageGb": 1, "maxEcpuPerSecond": 5000},
            "encryption": {"keyPerComponent": False},
            "iam": {"permissionsBoundary": True},
        },
        "staging": {
            "network": {"azCount": 2, "natStrategy": "single", "interfaceEndpoints": False},
            "database": {"instanceClass": "db.t4g.small"},
            "cache": {"nodeType": "cache.t4g.small", "automaticFailover": True, "multiAz": True,
                      "snapshotRetentionDays": 1},
            "cdn": {"enabled": True},
            "iam": {"permissionsBoundary": True},
        },
        "prod": {
            "network": {"azCount": 3, "natStrategy": "per_az", "interfaceEndpoints": True},
            "database": {"instanceClass": "db.m7g.large", "performanceInsights": True, "iamAuthentication": True},
            "cache": {"nodeType": "cache.m7g.large", "automaticFailover": True, "multiAz": True,
                      "snapshotRetentionDays": 7},
            "identity": {"threatProtection": True},
            "cdn": {"enabled": True},
            "iam": {"permissionsBoundary": True},
        },
    },
    "gcp": {
        "dev": {
            # docs/decisions/0012-gcp-dev-cost-levers.md: no idle minimum instance (request-based billing scales to
            # zero, a cold start after idle), no Memorystore unless the stack file asks for it (cache.enabled: true).
            "network": {"natStrategy": "none"},
            "database": {"instanceClass": "db-f1-micro"},
            "cache": {"enabled": False, "memorySizeGb": 1},
        },
        "staging": {
            "network": {"natStrategy": "auto"},
            "database": {"instanceClass": "db-g1-small"},
            "cache": {"memorySizeGb": 1},
            "cdn": {"enabled": True},
        },
        "prod": {
            "network": {"natStrategy": "static", "natAddresses": 3},
            "database": {"instanceClass": "db-custom-2-7680"},
            "cache": {"memorySizeGb": 5, "persistence": True},
            "cdn": {"enabled": True},
        },
    },
}


KIND_PROFILES: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    # cloud -> environment -> service kind -> defaults under each service of that kind (camelCase keys)
    "aws": {
        "dev": {"web": {"cpu": 256, "memory": 512, "scaling": {"min": 1, "max": 2}},
                "worker": {"cpu": 256, "memory": 512, "scaling": {"min": 0, "max": 2}},
                "job": {"cpu": 256, "memory": 512}},
        "staging": {"web": {"cpu": 512, "memory": 1024, "scaling": {"min": 2, "max": 4}},
                    "worker": {"cpu": 256, "memory": 512, "scaling": {"min": 1, "max": 4}},
                    "job": {"cpu": 512, "memory": 1024}},
        "prod": {"web": {"cpu": 1024, "memory": 2048, "scaling": {"min": 3, "max": 20}},
                 "worker": {"cpu": 512, "memory": 1024, "scaling": {"min": 2, "max": 20}},
                 "job": {"cpu": 1024, "memory": 2048}},
    },
    "gcp": {
        "dev": {"web": {"cpu": 1024, "memory": 512, "scaling": {"min": 0, "max": 2}},  # ADR 12: no idle instance
                "worker": {"cpu": 1024, "memory": 512, "scaling": {"min": 0, "max": 2}},
                "job": {"cpu": 1024, "memory": 512}},
        "staging": {"web": {"cpu": 1024, "memory": 1024, "scaling": {"min": 2, "max": 4}},
                    "worker": {"cpu": 1024, "memory": 512, "scaling": {"min": 1, "max": 4}},
                    "job": {"cpu": 1024, "memory": 1024}},
        "prod": {"web": {"cpu": 1024, "memory": 2048, "scaling": {"min": 3, "max": 20}},
                 "worker": {"cpu": 1024, "memory": 1024, "scaling": {"min": 2, "max": 20}},
                 "job": {"cpu": 1024, "memory": 2048}},
    },
}
"""Per-environment sizes of each service kind: a stack file names its services and says only what differs."""


SECRET_PROFILES: dict[str, dict[str, Any]] = {
    "dev": {},
    "staging": {},
    "prod": {"rotationDays": 90},
}
"""Per-environment defaults under each **generated** application secret (``secrets.<name>``, ``generate`` not
false): prod rotates them every 90 days (the security pack's longest allowed interval); ``rotationDays: null`` in the
stack file turns it off (and then needs a waiver in prod). A given value gets no default: it cannot be rotated by the
cloud."""


def with_secret_defaults(values: Mapping[str, Any], environment: str) -> dict[str, Any]:
    """``values`` with :data:`SECRET_PROFILES` merged under each generated secret."""
    out = dict(values)
    secrets = values.get("secrets")
    defaults = SECRET_PROFILES[environment]
    if isinstance(secrets, Mapping) and defaults:
        out["secrets"] = {name: deep_merge(defaults, spec) if isinstance(spec, Mapping) and _generated(spec) else spec
                          for name, spec in secrets.items()}
    return out


def _generated(spec: Mapping[str, Any]) -> bool:
    """Whether a raw ``secrets.<name>`` says its value is generated (what pydantic reads as false is false)."""
    value = spec.get("generate", True)
    return not (value is False or str(value).strip().lower() in ("0", "off", "f", "false", "n", "no"))


def with_kind_defaults(values: Mapping[str, Any], cloud: str, environment: str) -> dict[str, Any]:
    """``values`` with each service's kind defaults (:data:`KIND_PROFILES`) merged under it."""
    out = dict(values)
    services = values.get("services")
    if isinstance(services, Mapping):
        kinds = KIND_PROFILES[cloud][environment]
        out["services"] = {
            name: deep_merge(kinds.get(svc.get("kind"), {}), svc) if isinstance(svc, Mapping) else svc
            for name, svc in services.items()}
    return out


def profile(cloud: str, environment: str) -> dict[str, Any]:
    """The defaults a ``cloud`` stack of ``environment`` starts from (camelCase keys)."""
    return deep_merge(PROFILES[environment], CLOUD_PROFILES[cloud][environment])


def _aliases(model: type[BaseModel]) -> dict[str, str]:
    return {f.alias or n: n for n, f in model.model_fields.items()}


SECTIONS = tuple(dict.fromkeys([*_aliases(AwsSettings), *_aliases(GcpSettings)]))
"""Top-level keys of either cloud, camelCase."""
SECRET_VALUES_KEY = "secretValues"
"""The stack's secret config holding the values of application secrets with ``generate: false``
(``pulumi config set --path --secret 'secretValues.NAME' ...``): read by the stack as a secret, not a setting."""
SCALAR_KEYS = frozenset({"environment", "region", "cloud", "name", "gcpProject", "gcpBillingAccount"})


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``; mappings merge key by key, anything else replaces."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# -- what applies -------------------------------------------------------------------------------------------------
def _model_at(model: type[BaseModel], path: tuple[str, ...]) -> type[BaseModel] | None:
    """The sub-model at a camelCase key path of ``model`` (None when the path does not exist)."""
    cur: type[BaseModel] = model
    keys = iter(path)
    for key in keys:
        name = _aliases(cur).get(re.sub(r"\[\d+\]$", "", key))
        if name is None:
            return None
        ann = cur.model_fields[name].annotation
        if typing.get_origin(ann) is dict:  # a map of name -> model: the next key is the map's key
            ann = typing.get_args(ann)[1]
            if next(keys, None) is None:
                return None
        elif typing.get_origin(ann) is list:
            ann = typing.get_args(ann)[0]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            cur = ann
        else:
            return None
    return cur


def _has_key(model: type[BaseModel], path: tuple[str, ...]) -> bool:
    parent = _model_at(model, path[:-1])
    return parent is not None and path[-1] in _aliases(parent)


def _given(values: Mapping[str, Any], path: str) -> bool:
    cur: Any = values
    for key in path.split("."):
        if not isinstance(cur, Mapping) or key not in cur:
            return False
        cur = cur[key]
    return True


_Rule = tuple[str, Callable[[Any], bool], str]
_NO_INTERNAL = "no service is internal (it says how internal services admit their callers)"


def _has_internal(settings: Any) -> bool:
    return any(s.kind == "web" and s.internal for s in settings.services.values())


_NOT_APPLICABLE: dict[str, list[_Rule]] = {
    # (key the stack file sets, when it does not apply, why)
    "aws": [
        *[(f"cache.{k}", lambda s: s.cache.mode == "serverless", "cache.mode is serverless (no nodes)")
          for k in ("nodeType", "numNodes", "automaticFailover", "multiAz")],
        *[(f"cache.{k}", lambda s: s.cache.mode == "node", "cache.mode is node (serverless caps only)")
          for k in ("maxDataStorageGb", "maxEcpuPerSecond")],
        *[(f"database.{k}", lambda s: s.database.engine == "aurora-postgresql",
           "Aurora storage grows by itself (no allocated storage)")
          for k in ("allocatedStorageGb", "maxAllocatedStorageGb")],
        ("dns.zoneName", lambda s: s.dns.certificate_arn is not None,
         "dns.certificateArn is set (the zone only validates a certificate this stack requests)"),
        ("identity.serviceAuth", lambda s: not _has_internal(s), _NO_INTERNAL),
        *[(f"dr.{k}", lambda s: not s.dr.cross_region, "dr.crossRegion is false (no copies in another region)")
          for k in ("region", "backupRetentionDays", "vaultLock")],
    ],
    "gcp": [
        ("network.natAddresses", lambda s: s.network.nat_strategy != "static",
         "only a static NAT reserves addresses (network.natStrategy: static)"),
        ("database.passwordSecret", lambda s: s.database.iam_authentication,
         "database.iamAuthentication is true (no password exists)"),
        ("identity.iapMembers", lambda s: not s.identity.protected_paths,
         "identity.protectedPaths is empty (IAP guards protected paths only)"),
        ("identity.serviceAuth", lambda s: not _has_internal(s), _NO_INTERNAL),
        *[(f"dr.{k}", lambda s: not s.dr.cross_region, "dr.crossRegion is false (no copies in another region)")
          for k in ("region", "replica")],
    ],
}
_SECTION_SWITCHES = (("database", "enabled"), ("cache", "enabled"), ("identity", "enabled"), ("cdn", "enabled"))
_SWITCH_EXEMPT = {"identity": {"serviceAuth"}}
"""Keys of a switched section that the switch does not turn off (service-to-service auth is not sign-in)."""


def _check_applicable(settings: StackSettings, values: Mapping[str, Any]) -> str | None:
    """The first key the stack file sets that does not apply to this stack's shape, as ``key: why``."""
    for key, inapplicable, why in _NOT_APPLICABLE[settings.cloud]:
        if _given(values, key) and inapplicable(settings):
            return f"{key} does not apply: {why}"
    for section, switch in _SECTION_SWITCHES:
        given = values.get(section)
        if isinstance(given, Mapping) and not getattr(getattr(settings, section), switch):
            others = sorted(k for k in given if k != switch and k not in _SWITCH_EXEMPT.get(section, ()))
            if others:
                return f"{section}.{others[0]} does not apply: {section}.{switch} is false"
    return None


# -- errors -------------------------------------------------------------------------------------------------------
def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts[-1] = f"{parts[-1]}[{p}]" if parts else f"[{p}]"
        elif str(p).startswith(("function-", "literal[")):
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


def _unknown_key_message(cloud: str, key_path: tuple[str, ...]) -> str:
    key = ".".join(key_path)
    other = "gcp" if cloud == "aws" else "aws"
    if _has_key(MODELS[other], key_path):
        return f"{NAMESPACE}:{key} does not apply to cloud {cloud} (it is a {other} setting)"
    parent = _model_at(MODELS[cloud], key_path[:-1])
    known = sorted(_aliases(parent)) if parent is not None else []
    close = difflib.get_close_matches(key_path[-1], known, n=1, cutoff=0.75)
    hint = f" (did you mean {'.'.join([*key_path[:-1], close[0]])}?)" if close else ""
    return f"unknown setting {NAMESPACE}:{key}{hint}"


MIGRATED_SERVICE = (
    f"{NAMESPACE}:service was replaced by services (a map of name -> service): move it to services.api with "
    "kind: web and one route per API version (routes: [{path: /v1}]); docs/settings.md#services")
"""The one line a stack file with the old single ``service`` section gets (ADR 7)."""


def from_values(values: Mapping[str, Any], source: str = "stack config") -> Settings:
    """Validate raw values (camelCase keys, our namespace stripped) over their environment profile.

    Raises :class:`SettingsError` with a single line naming the first offending key.
    """
    env = values.get("environment")
    if env is None:
        raise SettingsError(f"{source}: {NAMESPACE}:environment is required (one of dev, staging, prod)")
    if env not in ENVIRONMENTS:
        raise SettingsError(f"{source}: {NAMESPACE}:environment = {env!r} is not allowed (one of dev, staging, prod)")
    cloud = values.get("cloud", "aws")
    if cloud not in CLOUDS:
        raise SettingsError(f"{source}: {NAMESPACE}:cloud = {cloud!r} is not allowed (one of aws, gcp)")
    if "service" in values:
        raise SettingsError(f"{source}: {MIGRATED_SERVICE}")
    model = MODELS[cloud]
    merged = deep_merge(profile(cloud, env), with_secret_defaults(with_kind_defaults(values, cloud, env), env))
    try:
        settings = model.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "literal["))))
        key = _loc(loc)
        if err["type"] == "extra_forbidden":
            raise SettingsError(f"{source}: {_unknown_key_message(cloud, tuple(key.split('.')))}") from None
        if err["type"] == "missing":
            raise SettingsError(f"{source}: {NAMESPACE}:{key} is required") from None
        msg = err["msg"].removeprefix("Value error, ")
        if not key:  # a cross-field rule: its message starts with the key it is about
            raise SettingsError(f"{source}: {NAMESPACE}:{msg}") from None
        top = key.split("[")[0].split(".")[0]
        if err["type"] == "value_error" and msg.startswith((top + ".", top + ":")):
            raise SettingsError(f"{source}: {NAMESPACE}:{msg}") from None
        value = _dig(merged, loc)
        if isinstance(value, Mapping):  # a section's own rule: the message says what is wrong with it
            raise SettingsError(f"{source}: {NAMESPACE}:{key} is invalid: {msg}") from None
        raise SettingsError(f"{source}: {NAMESPACE}:{key} = {json.dumps(value)} is invalid: {msg}") from None
    problem = _check_applicable(settings, values) or _check_dr(settings) or _check_cdn(settings) or \
        check_services(settings, values) or \
        check_app_secrets(settings, values)
    if problem:
        raise SettingsError(f"{source}: {NAMESPACE}:{problem}")
    return settings  # type: ignore[return-value]


# -- reading stack files and Pulumi config ------------------------------------------------------------------------
def near_namespace(namespace: str, project: str = NAMESPACE) -> bool:
    """True when ``namespace`` is one or two edits from ``project`` (a typo that would silently be ignored)."""
    if namespace == project:
        return False
    return _edit_distance(namespace, project, limit=2) <= 2


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, stopping early above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def check_namespaces(keys: list[str], source: str, project: str = NAMESPACE) -> None:
    """Refuse config keys whose namespace is a near miss of ``project`` (``backend-hostin:service``)."""
    for full in keys:
        ns = full.split(":", 1)[0] if ":" in full else ""
        if ns and near_namespace(ns, project):
            raise SettingsError(f"{source}: config key {full!r}: namespace {ns!r} is not {project!r} "
                                f"(a typo would be silently ignored); write {project}:{full.split(':', 1)[1]}")


def from_stack_file(path: str | Path) -> Settings:
    """Validate the settings of a ``Pulumi.<stack>.yaml`` file directly (tools and tests; no Pulumi runtime)."""
    import yaml

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"{path.name}: cannot read: {' '.join(str(exc).split())}") from None
    raw = (doc.get("config") or {}) if isinstance(doc, dict) else {}
    if not isinstance(raw, dict):
        raise SettingsError(f"{path.name}: config must be a mapping of keys to values")
    check_namespaces([k for k in raw if isinstance(k, str)], path.name)
    prefix = f"{NAMESPACE}:"
    values = {k[len(prefix):]: v for k, v in raw.items() if isinstance(k, str) and k.startswith(prefix)}
    values.pop(SECRET_VALUES_KEY, None)
    unknown = [k for k in values if k not in SECTIONS and k != "service"]
    if unknown:
        raise SettingsError(f"{path.name}: {_unknown_key_message(values.get('cloud', 'aws'), (unknown[0],))}")
    return from_values(values, source=path.name)


def _decode(raw: str) -> Any:
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw


def load() -> Settings:
    """Read and validate the current stack's settings from Pulumi config (our namespace)."""
    import pulumi
    from pulumi.runtime.config import CONFIG, get_config_env

    source = f"Pulumi.{pulumi.get_stack()}.yaml"
    keys = list(CONFIG.get()) + list(get_config_env())
    check_namespaces(keys, source)
    cfg = pulumi.Config(NAMESPACE)
    values: dict[str, Any] = {}
    for key in (*SECTIONS, "service"):
        raw = cfg.get(key)
        if raw is not None:
            values[key] = raw if key in SCALAR_KEYS else _decode(raw)
    # Keys in our namespace that neither model knows are a typo, not something to ignore.
    prefix = f"{NAMESPACE}:"
    for full in keys:
        if full.startswith(prefix) and full[len(prefix):] not in (*SECTIONS, "service", SECRET_VALUES_KEY):
            raise SettingsError(f"{source}: {_unknown_key_message(values.get('cloud', 'aws'), (full[len(prefix):],))}")
    return from_values(values, source=source)
