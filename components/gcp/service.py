"""Service: a Cloud Run (v2) service reachable only through the load balancer (a public web service) or only
from inside the project by IAM-authenticated callers (an internal web service, a Pub/Sub-fed worker), with its
own service account, Direct VPC egress, probes, secrets by reference, and an Artifact Registry repository."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

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
    label_value,
    member_of,
    remember_deps,
)
from components.gcp.network import Network

DEFAULT_IMAGE = "us-docker.pkg.dev/cloudrun/container/hello"
"""Google's public sample image (Cloud Run cannot pull from ECR Public, the settings' AWS default)."""
CONTAINER_NAME = "app"
SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"
INVOKER = "roles/run.invoker"
"""The role a caller needs on an internal service (``run.routes.invoke``) or a job (``run.jobs.run``)."""
INGRESS = {"load-balancer": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER", "internal": "INGRESS_TRAFFIC_INTERNAL_ONLY"}
"""``ServiceArgs.ingress`` -> Cloud Run ingress."""

SecretRef = str | gcp.secretmanager.Secret
"""A Secret Manager secret: ``projects/P/secrets/S`` (latest version), ``projects/P/secrets/S/versions/V``, or
a ``gcp.secretmanager.Secret`` created by this program (latest version)."""

_SECRET_PATH = re.compile(r"^projects/[^/]+/secrets/[^/]+(/versions/[^/]+)?$")
_CLOUD_RUN_CPUS = (1, 2, 4, 6, 8)
_MAX_MEMORY_MIB = {1: 4096, 2: 8192, 4: 16384, 6: 24576, 8: 32768}
_MIN_MEMORY_MIB = {4: 2048, 6: 4096, 8: 4096}


def cloud_run_cpu(cpu_units: int) -> int:
    """Whole vCPUs for Cloud Run from task CPU units (1024 = 1 vCPU), rounded up to a Cloud Run size.

    Below 1 vCPU Cloud Run requires concurrency 1 and the first-generation environment, so 256 and 512 units
    map to 1 vCPU (with request-based billing an idle instance costs nothing).
    """
    want = max(1, math.ceil(cpu_units / 1024))
    for size in _CLOUD_RUN_CPUS:
        if size >= want:
            return size
    raise ValueError(f"cpu {cpu_units} units ({want} vCPU) exceeds Cloud Run's maximum of 8 vCPU")


def split_secret(path: str) -> tuple[str, str]:
    """``projects/P/secrets/S[/versions/V]`` -> (``projects/P/secrets/S``, ``V`` or ``latest``)."""
    if not _SECRET_PATH.match(path):
        raise ValueError(f"{path!r} is not a Secret Manager path projects/P/secrets/S[/versions/V]")
    secret, _, version = path.partition("/versions/")
    return secret, version or "latest"


@dataclass
class ServiceArgs:
    """Arguments of :class:`Service`. Defaults: 1 vCPU / 512 MiB, scale 0-2, request-based billing."""

    network: Network
    """The network: instances join its subnet (Direct VPC egress) with its ``service_tag``."""
    region: str
    """Cloud Run and Artifact Registry location."""
    image: str = DEFAULT_IMAGE
    """Container image (the ``service.image`` setting; CI sets the immutable tag it pushed)."""
    image_managed_externally: bool = False
    """An external deployer rolls out images: Pulumi ignores ``template.containers[0].image`` (and the
    ``client`` fields gcloud sets) so it does not roll a newer image back."""
    cpu: int = 1024
    """CPU in units of 1/1024 vCPU (the settings' unit); rounded up to a Cloud Run size (1, 2, 4, 6, 8)."""
    memory: int = 512
    """Memory limit, MiB (512 to the Cloud Run maximum for the CPU)."""
    command: Sequence[str] | None = None
    """Command and arguments overriding the image's entrypoint; None: the image's."""
    ingress: Literal["load-balancer", "internal"] = "load-balancer"
    """Who reaches the service. ``load-balancer``: only the external load balancer (a public web service; the
    invoker check is off, since requests through it carry no Google identity). ``internal``: only requests from
    inside the project (VPC, Pub/Sub push, Cloud Scheduler) that carry an ID token of a principal granted
    ``roles/run.invoker`` with :meth:`Service.grant_invoke` (an internal web service, a queue worker)."""
    network_tag: str | None = None
    """The service's own network tag, added to the network's ``service_tag`` on its VPC interfaces: the
    firewall rules that ``allow_from`` writes target it, so each service gets only its own paths. None: the
    shared ``service_tag`` only (every service on the network then shares its paths)."""
    port: int = 8080
    """Port the container listens on (Cloud Run sets ``$PORT``)."""
    health_check_path: str | None = "/healthz"
    """HTTP path of the startup and liveness probes; None: a TCP startup probe on ``port`` and no liveness probe
    (a worker, which answers only the pushes it gets)."""
    min_instances: int = 0
    """Minimum instances (0 scales to zero)."""
    max_instances: int = 2
    """Maximum instances (also bounds the subnet addresses Direct VPC egress uses)."""
    concurrency: int = 80
    """Maximum concurrent requests per instance."""
    request_timeout_seconds: int = 60
    """Request timeout."""
    cpu_always_allocated: bool = False
    """Instance-based billing (CPU outside requests, for background work and warm minimum instances); False is
    request-based billing (``cpu_idle``), the cheap default."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain environment variables (no secrets: see ``secrets``)."""
    secrets: Mapping[str, SecretRef] = field(default_factory=dict)
    """Environment variables from Secret Manager, by reference: NAME -> secret. The service account gets
    ``roles/secretmanager.secretAccessor`` on each referenced secret (that secret only) before the service."""
    vpc_egress: Literal["PRIVATE_RANGES_ONLY", "ALL_TRAFFIC"] = "PRIVATE_RANGES_ONLY"
    """Which egress enters the VPC: private ranges only (public traffic leaves directly), or everything (through
    Cloud NAT: needs the network's NAT)."""
    kms_key: Cmek | pulumi.Input[str] | None = None
    """Customer-managed key of the Artifact Registry repository (the ``artifacts`` key)."""
    revision_kms_key: Cmek | pulumi.Input[str] | None = None
    """Customer-managed key for the Cloud Run revisions (the ``run`` key); the image must then be in an
    Artifact Registry repository the Cloud Run agent can read with that key. None: Google-managed."""
    image_retention_count: int = 20
    """Cleanup keeps the N most recent versions of each image; older ones are deleted after 30 days."""
    untagged_retention_days: int = 7
    """Untagged images are deleted after N days."""
    deletion_protection: bool = False
    """Cloud Run deletion protection (the provider's default is on; dev turns it off to destroy cleanly)."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on the service, its revisions and the repository (the standard set)."""

    def __post_init__(self) -> None:
        vcpu = cloud_run_cpu(self.cpu)
        if not 512 <= self.memory <= _MAX_MEMORY_MIB[vcpu]:
            raise ValueError(f"ServiceArgs.memory {self.memory} MiB: {vcpu} vCPU on Cloud Run allows 512.."
                             f"{_MAX_MEMORY_MIB[vcpu]} MiB")
        if self.memory < _MIN_MEMORY_MIB.get(vcpu, 0):
            raise ValueError(f"ServiceArgs.memory {self.memory} MiB: {vcpu} vCPU needs at least "
                             f"{_MIN_MEMORY_MIB[vcpu]} MiB")
        if not 0 <= self.min_instances <= self.max_instances:
            raise ValueError(f"ServiceArgs: need 0 <= min_instances ({self.min_instances}) <= max_instances "
                             f"({self.max_instances})")
        if self.network_tag is not None and not re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", self.network_tag):
            raise ValueError(f"ServiceArgs.network_tag {self.network_tag!r}: lowercase letters, digits and -, "
                             "at most 63, starting with a letter")
        for key in self.environment:
            if SECRET_LIKE_NAME.search(key):
                raise ValueError(f"ServiceArgs.environment[{key!r}] looks like a secret: reference it in secrets")
        for key, ref in self.secrets.items():
            if isinstance(ref, str):
                split_secret(ref)
            elif not isinstance(ref, gcp.secretmanager.Secret):
                raise ValueError(f"ServiceArgs.secrets[{key!r}]: a secret path or gcp.secretmanager.Secret")


class Service(pulumi.ComponentResource):
    """A Cloud Run service that only the load balancer reaches (``INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER``), or
    with ``ingress="internal"`` only in-project callers it granted ``roles/run.invoker`` (``grant_invoke``),
    running as its own service account (never the default compute account), with Direct VPC egress, startup
    and liveness probes, secrets by reference, and an immutable-tag Artifact Registry repository."""

    repository: gcp.artifactregistry.Repository
    service_account: gcp.serviceaccount.Account
    service: gcp.cloudrunv2.Service
    secret_grants: dict[str, gcp.secretmanager.SecretIamMember]
    member: pulumi.Output[str]
    email: pulumi.Output[str]
    network_tag: str
    network_id: pulumi.Output[str]
    name: pulumi.Output[str]
    uri: pulumi.Output[str]
    repository_url: pulumi.Output[str]
    region: str

    def __init__(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:gcp:Service", name, None, opts)
        remember_deps(self, opts)
        self.args = args
        self.region = args.region
        labels = gcp_labels(args.labels)
        net = args.network
        self.network_tag = args.network_tag or net.service_tag
        self.network_id = net.network_id
        self.invokers: dict[str, gcp.cloudrunv2.ServiceIamMember] = {}
        project = gcp.organizations.get_project_output(opts=invoke_opts(self))

        # -- image repository ---------------------------------------------------------------------------------
        repo_id = re.sub(r"[^a-z0-9-]", "-", name.lower())[:63]
        self.repository = gcp.artifactregistry.Repository(
            f"{name}-images", repository_id=repo_id, location=args.region, format="DOCKER",
            description=f"Images of {name}", docker_config={"immutable_tags": True},
            kms_key_name=cmek_id(args.kms_key), cleanup_policy_dry_run=False,
            cleanup_policies=[
                {"id": "keep-recent", "action": "KEEP",
                 "most_recent_versions": {"keep_count": args.image_retention_count}},
                {"id": "delete-untagged", "action": "DELETE",
                 "condition": {"tag_state": "UNTAGGED", "older_than": f"{args.untagged_retention_days * 86400}s"}},
                {"id": "delete-old", "action": "DELETE",
                 "condition": {"tag_state": "ANY", "older_than": f"{30 * 86400}s"}},
            ],
            labels=labels, opts=child_opts(self, depends_on=cmek_deps(args.kms_key)))
        self.repository_url = pulumi.Output.concat(
            args.region, "-docker.pkg.dev/", project.project_id, "/", self.repository.repository_id)

        # -- identity: a dedicated account with no roles but the grants wired to it ----------------------------
        self.service_account = runtime_account(self, name, "run", f"{name} (Cloud Run)")
        self.email = self.service_account.email
        self.member = self.service_account.member

        # -- secrets by reference: accessor on each referenced secret, before the service ------------------------
        envs, self.secret_grants = container_envs(self, name, self.member, self.service_account.email,
                                                  args.environment, args.secrets)

        # -- the service ----------------------------------------------------------------------------------------
        vcpu = cloud_run_cpu(args.cpu)
        probe_http = {"path": args.health_check_path, "port": args.port}
        probes: dict[str, Any] = {
            "startup_probe": {"http_get": probe_http, "initial_delay_seconds": 0, "period_seconds": 5,
                              "timeout_seconds": 3, "failure_threshold": 24},
            "liveness_probe": {"http_get": probe_http, "period_seconds": 30, "timeout_seconds": 5,
                               "failure_threshold": 3},
        } if args.health_check_path else {
            "startup_probe": {"tcp_socket": {"port": args.port}, "initial_delay_seconds": 0, "period_seconds": 5,
                              "timeout_seconds": 3, "failure_threshold": 24}}
        container: dict[str, Any] = {
            "name": CONTAINER_NAME,
            "image": args.image,
            "ports": {"name": "http1", "container_port": args.port},
            "resources": {"limits": {"cpu": str(vcpu), "memory": f"{args.memory}Mi"},
                          "cpu_idle": not args.cpu_always_allocated, "startup_cpu_boost": True},
            "envs": envs,
            **({"commands": list(args.command[:1]), "args": list(args.command[1:])} if args.command else {}),
            **probes,
        }
        ignore = ["template.containers[0].image", "client", "clientVersion"] if args.image_managed_externally \
            else []
        self.service = gcp.cloudrunv2.Service(
            f"{name}-run", location=args.region, ingress=INGRESS[args.ingress],
            # Public: only the load balancer can reach the service (ingress); requests through it carry no Google
            # identity, so the invoker check is off instead of granting run.invoker to allUsers. Internal: the
            # invoker check stays on and only grant_invoke's principals pass it.
            invoker_iam_disabled=args.ingress == "load-balancer", default_uri_disabled=False, launch_stage="GA",
            deletion_protection=args.deletion_protection, description=f"{name} (backend-hosting)",
            labels=labels,
            template={
                "service_account": self.service_account.email,
                "execution_environment": "EXECUTION_ENVIRONMENT_GEN2",
                "max_instance_request_concurrency": args.concurrency,
                "timeout": f"{args.request_timeout_seconds}s",
                "scaling": {"min_instance_count": args.min_instances, "max_instance_count": args.max_instances},
                "vpc_access": vpc_access(net, args.vpc_egress, self.network_tag),
                "encryption_key": cmek_id(args.revision_kms_key),
                "labels": labels,
                "containers": [container],
            },
            traffics=[{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}],
            opts=child_opts(self, ignore_changes=ignore or None,
                            depends_on=[*self.secret_grants.values(), *cmek_deps(args.revision_kms_key)]))
        self.name = self.service.name
        self.uri = self.service.uri

        self.register_outputs({
            "service_name": self.name,
            "uri": self.uri,
            "service_account_email": self.email,
            "repository_url": self.repository_url,
            "network_tag": self.network_tag,
            "ingress": INGRESS[args.ingress],
        })

    # -- wiring --------------------------------------------------------------------------------------------------
    def grant_invoke(self, caller: Workload | gcp.serviceaccount.Account | str) -> gcp.cloudrunv2.ServiceIamMember:
        """Let ``caller`` call this internal service: ``roles/run.invoker`` on this service only. The caller sends
        an ID token whose audience is the service URL (from the metadata server:
        ``/computeMetadata/v1/instance/service-accounts/default/identity?audience=<url>``). A caller that is a
        Cloud Run workload must send the request through the VPC (``vpc_egress="ALL_TRAFFIC"``) to count as
        internal. Refused for a load-balancer service, whose invoker check is off."""
        if self.args.ingress != "internal":
            raise ValueError(f"Service {self.pulumi_resource_name}: grant_invoke needs ingress='internal' (a "
                             "load-balancer service does not check invokers)")
        who = grantee_name(caller)
        if who not in self.invokers:
            self.invokers[who] = gcp.cloudrunv2.ServiceIamMember(
                f"{self.pulumi_resource_name}-invoker-{who}", name=self.service.name, location=self.region,
                role=INVOKER, member=member_of(caller), opts=child_opts(self))
        return self.invokers[who]


# -- what a Cloud Run service and a Cloud Run job share --------------------------------------------------------------
def runtime_account(parent: pulumi.Resource, name: str, suffix: str, display: str) -> gcp.serviceaccount.Account:
    """A dedicated service account with no roles (only the grants wired to it): ``<name>-<suffix>``, cut to
    the 6-30 characters an account id allows."""
    return gcp.serviceaccount.Account(
        f"{name}-sa", account_id=account_id(f"{name}-{suffix}"), display_name=display[:100],
        description=f"Runtime identity of {name}; permissions come from resource-level grants only",
        opts=child_opts(parent))


def account_id(wanted: str) -> str:
    """A valid, stable service account id (6-30 characters) for ``wanted``: as is when it fits, else cut with a
    short hash of the full name, so two long names never collide."""
    clean = re.sub(r"[^a-z0-9-]", "-", wanted.lower()).strip("-")
    if not clean or not clean[0].isalpha():
        clean = f"sa-{clean}"
    if len(clean) > 30:
        digest = hashlib.sha256(clean.encode()).hexdigest()[:6]
        clean = f"{clean[:23].rstrip('-')}-{digest}"
    return clean if len(clean) >= 6 else f"{clean}-{'x' * (5 - len(clean))}"


def secret_ref(ref: SecretRef) -> tuple[pulumi.Input[str], str, str]:
    """(secret id for IAM and the env reference, version, a short key for resource names)."""
    if isinstance(ref, gcp.secretmanager.Secret):
        return ref.id, "latest", ref.pulumi_resource_name
    secret, version = split_secret(ref)
    return secret, version, re.sub(r"[^a-z0-9-]", "-", secret.rsplit("/", 1)[-1].lower())


def container_envs(parent: pulumi.Resource, name: str, member: pulumi.Input[str], email: pulumi.Input[str],
                   environment: Mapping[str, pulumi.Input[str]], secrets: Mapping[str, SecretRef],
                   ) -> tuple[list[dict[str, Any]], dict[str, gcp.secretmanager.SecretIamMember]]:
    """The container's environment (``SERVICE_ACCOUNT``, the plain variables, then the secrets by reference)
    and one ``secretAccessor`` grant per referenced secret (that secret only)."""
    grants: dict[str, gcp.secretmanager.SecretIamMember] = {}
    plain = {"SERVICE_ACCOUNT": email, **environment}
    envs: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(plain.items())]
    for env_name, ref in sorted(secrets.items()):
        secret, version, key = secret_ref(ref)
        if key not in grants:
            grants[key] = gcp.secretmanager.SecretIamMember(
                f"{name}-reads-{key}", secret_id=secret, role=SECRET_ACCESSOR, member=member,
                opts=child_opts(parent))
        envs.append({"name": env_name, "value_source": {"secret_key_ref": {"secret": secret, "version": version}}})
    return envs, grants


def vpc_access(net: Network, egress: str, tag: str) -> dict[str, Any]:
    """Direct VPC egress into the network's subnet with the network's service tag and the workload's own tag."""
    tags = [net.service_tag] if tag == net.service_tag else [net.service_tag, tag]
    return {"egress": egress, "network_interfaces": [{
        "network": net.network_id, "subnetwork": net.subnet_id, "tags": tags}]}


def network_tag_for(net: Network, workload: str) -> str:
    """A workload's own network tag: ``<service_tag>-<workload>``, a valid tag of at most 63 characters."""
    return label_value(f"{net.service_tag}-{workload}").replace("_", "-")[:63].rstrip("-")
