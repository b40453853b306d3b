"""Job: a Cloud Run job (a container that runs to completion) with its own service account, run on a schedule by
Cloud Scheduler or on demand (``gcloud run jobs execute``, e.g. a migration before a release).

A scheduled job gets a Cloud Scheduler job that POSTs the Cloud Run Admin API's ``jobs/<name>:run`` with an OAuth
token of a dedicated scheduler account, which holds ``roles/run.invoker`` (``run.jobs.run``) on that job only.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_gcp as gcp

from components.base import SECRET_LIKE_NAME
from components.gcp.common import (
    Cmek,
    Workload,
    child_opts,
    cmek_deps,
    cmek_id,
    gcp_labels,
    grantee_name,
    invoke_opts,
    member_of,
    remember_deps,
)
from components.gcp.network import Network
from components.gcp.service import (
    _MAX_MEMORY_MIB,
    _MIN_MEMORY_MIB,
    CONTAINER_NAME,
    DEFAULT_IMAGE,
    INVOKER,
    SecretRef,
    account_id,
    cloud_run_cpu,
    container_envs,
    runtime_account,
    split_secret,
    vpc_access,
)

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


@dataclass
class JobArgs:
    """Arguments of :class:`Job`. Defaults: 1 vCPU / 512 MiB, one task, 1 hour, 1 retry, on demand."""

    network: Network
    """The network: the job's task joins its subnet (Direct VPC egress) with its network tag."""
    region: str
    """Cloud Run and Cloud Scheduler location."""
    image: str = DEFAULT_IMAGE
    """Container image (often the web service's, with another ``command``)."""
    image_managed_externally: bool = False
    """An external deployer rolls out images: Pulumi ignores the job's image (and gcloud's ``client`` fields)."""
    command: Sequence[str] | None = None
    """Command and arguments overriding the image's entrypoint; None: the image's."""
    cpu: int = 1024
    """CPU in units of 1/1024 vCPU; rounded up to a Cloud Run size (1, 2, 4, 6, 8)."""
    memory: int = 512
    """Memory limit, MiB (512 to the Cloud Run maximum for the CPU)."""
    timeout_seconds: int = 3600
    """A task is stopped after this long (60 to 86400 s)."""
    max_retries: int = 1
    """Retries of a failed task before the execution fails (0-10)."""
    schedule: str | None = None
    """Unix-cron expression Cloud Scheduler runs the job on (``Schedule.gcp_expression()``); None: on demand."""
    time_zone: str = "UTC"
    """IANA time zone of ``schedule``."""
    paused: bool = False
    """Create the scheduler paused (the job still runs on demand). Refused without ``schedule``."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain environment variables (no secrets: see ``secrets``)."""
    secrets: Mapping[str, SecretRef] = field(default_factory=dict)
    """Environment variables from Secret Manager, by reference (accessor on each secret only, before the job)."""
    vpc_egress: Literal["PRIVATE_RANGES_ONLY", "ALL_TRAFFIC"] = "PRIVATE_RANGES_ONLY"
    """Which egress enters the VPC (``ALL_TRAFFIC`` to call internal Cloud Run services)."""
    network_tag: str | None = None
    """The job's own network tag (next to the network's ``service_tag``), which ``allow_from`` rules target."""
    revision_kms_key: Cmek | pulumi.Input[str] | None = None
    """Customer-managed key of the job's executions (the ``run`` key); None: Google-managed."""
    deletion_protection: bool = False
    """Cloud Run deletion protection of the job."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on the job and its executions (the standard set)."""

    def __post_init__(self) -> None:
        vcpu = cloud_run_cpu(self.cpu)
        if not max(512, _MIN_MEMORY_MIB.get(vcpu, 0)) <= self.memory <= _MAX_MEMORY_MIB[vcpu]:
            raise ValueError(f"JobArgs.memory {self.memory} MiB does not fit {vcpu} vCPU on Cloud Run")
        if not 60 <= self.timeout_seconds <= 86_400:
            raise ValueError(f"JobArgs.timeout_seconds {self.timeout_seconds}: use 60 to 86400")
        if not 0 <= self.max_retries <= 10:
            raise ValueError(f"JobArgs.max_retries {self.max_retries}: use 0 to 10")
        if self.schedule is None and self.paused:
            raise ValueError("JobArgs.paused does not apply without a schedule")
        if self.schedule is not None and len(self.schedule.split()) != 5:
            raise ValueError(f"JobArgs.schedule {self.schedule!r}: a five-field unix-cron expression")
        if self.time_zone != "UTC" and self.time_zone not in zoneinfo.available_timezones():
            raise ValueError(f"JobArgs.time_zone {self.time_zone!r}: not an IANA time zone")
        for key in self.environment:
            if SECRET_LIKE_NAME.search(key):
                raise ValueError(f"JobArgs.environment[{key!r}] looks like a secret: reference it in secrets")
        for ref in self.secrets.values():
            if isinstance(ref, str):
                split_secret(ref)


class Job(pulumi.ComponentResource):
    """A Cloud Run job running as its own service account (never the default compute account), with Direct VPC
    egress, secrets by reference and a timeout; plus, when scheduled, a Cloud Scheduler job whose dedicated
    account may run this job only."""

    service_account: gcp.serviceaccount.Account
    job: gcp.cloudrunv2.Job
    secret_grants: dict[str, gcp.secretmanager.SecretIamMember]
    scheduler_account: gcp.serviceaccount.Account | None
    scheduler: gcp.cloudscheduler.Job | None
    runners: dict[str, gcp.cloudrunv2.JobIamMember]
    member: pulumi.Output[str]
    email: pulumi.Output[str]
    network_tag: str
    network_id: pulumi.Output[str]
    name: pulumi.Output[str]
    region: str

    def __init__(self, name: str, args: JobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:gcp:Job", name, None, opts)
        remember_deps(self, opts)
        self.args = args
        self.region = args.region
        labels = gcp_labels(args.labels)
        net = args.network
        self.network_tag = args.network_tag or net.service_tag
        self.network_id = net.network_id
        self.runners = {}

        self.service_account = runtime_account(self, name, "job", f"{name} (Cloud Run job)")
        self.email = self.service_account.email
        self.member = self.service_account.member
        envs, self.secret_grants = container_envs(self, name, self.member, self.email, args.environment,
                                                  args.secrets)
        vcpu = cloud_run_cpu(args.cpu)
        container = {
            "name": CONTAINER_NAME, "image": args.image, "envs": envs,
            "resources": {"limits": {"cpu": str(vcpu), "memory": f"{args.memory}Mi"}},
            **({"commands": list(args.command[:1]), "args": list(args.command[1:])} if args.command else {}),
        }
        ignore = ["template.template.containers[0].image", "client", "clientVersion"] \
            if args.image_managed_externally else []
        self.job = gcp.cloudrunv2.Job(
            f"{name}-job", location=args.region, launch_stage="GA", deletion_protection=args.deletion_protection,
            labels=labels,
            template={"labels": labels, "task_count": 1, "parallelism": 1, "template": {
                "service_account": self.email,
                "execution_environment": "EXECUTION_ENVIRONMENT_GEN2",
                "timeout": f"{args.timeout_seconds}s",
                "max_retries": args.max_retries,
                "vpc_access": vpc_access(net, args.vpc_egress, self.network_tag),
                "encryption_key": cmek_id(args.revision_kms_key),
                "containers": [container],
            }},
            opts=child_opts(self, ignore_changes=ignore or None,
                            depends_on=[*self.secret_grants.values(), *cmek_deps(args.revision_kms_key)]))
        self.name = self.job.name

        # -- schedule: Cloud Scheduler -> Cloud Run Admin API jobs/<name>:run, as an account that runs this job ---
        self.scheduler_account = None
        self.scheduler = None
        if args.schedule is not None:
            self.scheduler_account = gcp.serviceaccount.Account(
                f"{name}-scheduler-sa", account_id=account_id(f"{name}-sched"),
                display_name=f"{name} (Cloud Scheduler)",
                description=f"Cloud Scheduler's identity for {name}; may run only that job", opts=child_opts(self))
            runner = self.grant_run(self.scheduler_account)
            project = gcp.organizations.get_project_output(opts=invoke_opts(self))
            uri = pulumi.Output.concat("https://run.googleapis.com/v2/projects/", project.project_id, "/locations/",
                                       args.region, "/jobs/", self.job.name, ":run")
            self.scheduler = gcp.cloudscheduler.Job(
                f"{name}-schedule", region=args.region, schedule=args.schedule, time_zone=args.time_zone,
                paused=args.paused, description=f"Runs the Cloud Run job {name}", attempt_deadline="180s",
                retry_config={"retry_count": 1, "min_backoff_duration": "60s", "max_backoff_duration": "300s"},
                http_target={"uri": uri, "http_method": "POST",
                             "oauth_token": {"service_account_email": self.scheduler_account.email,
                                             "scope": CLOUD_PLATFORM_SCOPE}},
                opts=child_opts(self, depends_on=[runner]))

        self.register_outputs({
            "job_name": self.name,
            "service_account_email": self.email,
            "scheduler": self.scheduler.name if self.scheduler else None,
            "network_tag": self.network_tag,
        })

    # -- wiring --------------------------------------------------------------------------------------------------
    def grant_run(self, grantee: Workload | gcp.serviceaccount.Account | str) -> gcp.cloudrunv2.JobIamMember:
        """Let the grantee run this job: ``roles/run.invoker`` (``run.jobs.run``) on this job only."""
        who = grantee_name(grantee)
        if who not in self.runners:
            self.runners[who] = gcp.cloudrunv2.JobIamMember(
                f"{self.pulumi_resource_name}-runs-{who}", name=self.job.name, location=self.region, role=INVOKER,
                member=member_of(grantee), opts=child_opts(self))
        return self.runners[who]
