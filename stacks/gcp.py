"""The GCP stack: one explicit provider (project and region from settings), the APIs it needs, then the
components, wired together. Labels are passed explicitly to every resource (no provider ``default_labels``), so
policy packs see them in each resource's inputs."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.gcp.bucket import Bucket, BucketArgs
from components.gcp.cache import Cache, CacheArgs
from components.gcp.database import Database, DatabaseArgs, iam_user_name
from components.gcp.job import Job, JobArgs
from components.gcp.kms import DEFAULT_PURPOSES, EncryptionKey, EncryptionKeyArgs
from components.gcp.load_balancer import LoadBalancer, LoadBalancerArgs, ServiceRoute
from components.gcp.monitoring import (
    CacheWatch,
    DatabaseWatch,
    JobWatch,
    LoadBalancerWatch,
    Monitoring,
    MonitoringArgs,
    QueueWatch,
    ServiceWatch,
    Watch,
)
from components.gcp.network import Network, NetworkArgs
from components.gcp.queue import Queue, QueueArgs
from components.gcp.service import SecretRef, Service, ServiceArgs, network_tag_for

from .composition import StackComponents
from .edge import build_dr_gcp, build_edge_gcp, prepare_dr_gcp, static_bucket_gcp
from .identity import build_identity_gcp, wire_identity_gcp
from .settings import GcpServiceSpec, GcpSettings, Route, SettingsError

APIS: tuple[str, ...] = (
    "compute.googleapis.com", "run.googleapis.com", "sqladmin.googleapis.com", "redis.googleapis.com",
    "servicenetworking.googleapis.com", "artifactregistry.googleapis.com", "secretmanager.googleapis.com",
    "cloudkms.googleapis.com", "monitoring.googleapis.com", "logging.googleapis.com", "iam.googleapis.com",
)
"""APIs every GCP stack uses (``billingbudgets.googleapis.com`` too when a billing account is set,
``pubsub.googleapis.com`` with queues, ``cloudscheduler.googleapis.com`` with scheduled jobs)."""

NAT_STRATEGIES = {"none": "none", "auto": "single", "static": "per_az"}
"""``network.natStrategy`` -> the Network component's strategy (``per_az`` there is Cloud NAT with reserved IPs)."""


def build_gcp(settings: GcpSettings) -> StackComponents:
    """Compose the GCP components for one environment and export the stack outputs; returns the components."""
    project = settings.gcp_project
    region = settings.region
    prefix = f"{settings.name}-{settings.environment}"
    prod = settings.is_prod
    labels = settings.standard_tags
    provider = gcp.Provider("gcp", project=project, region=region)
    popts = pulumi.ResourceOptions(provider=provider)

    scheduled = any(s.kind == "job" and s.schedule is not None for s in settings.services.values())
    # Pub/Sub carries the queues and the app secrets' rotation notifications (both on the `pubsub` key).
    pubsub = bool(settings.queues) or any(s.rotation_days for s in settings.secrets.values())
    apis = [*APIS, *(["billingbudgets.googleapis.com"] if settings.gcp_billing_account else []),
            *(["pubsub.googleapis.com"] if pubsub else []),
            *(["cloudscheduler.googleapis.com"] if scheduled else [])]
    if not settings.cache.enabled:
        apis.remove("redis.googleapis.com")  # no Memorystore (e.g. the dev profile): nothing to enable it for
    enabled = [gcp.projects.Service(f"api-{api.split('.')[0]}", service=api, disable_on_destroy=False, opts=popts)
               for api in apis]
    opts = pulumi.ResourceOptions(provider=provider, depends_on=enabled)

    purposes = [*DEFAULT_PURPOSES, *(["pubsub"] if pubsub else [])]
    kms = EncryptionKey(f"{prefix}-kms", EncryptionKeyArgs(location=region, purposes=purposes, labels=labels,
                                                           protect=prod), opts)

    n = settings.network
    net = Network(f"{prefix}-net", NetworkArgs(
        region=region, cidr=n.cidr, nat_strategy=NAT_STRATEGIES[n.nat_strategy], nat_addresses=n.static_addresses,
        flow_log_sampling=1.0 if prod else 0.5, flow_log_interval="INTERVAL_5_SEC" if prod else "INTERVAL_10_MIN",
        service_port=min((s.port for s in settings.services.values() if s.kind == "web"), default=8080),
        labels=labels), opts)

    # -- data tier (before the services, which reference its secrets) ------------------------------------------
    d = settings.database
    db = Database(f"{prefix}-db", DatabaseArgs(
        network=net, region=region, tier=d.instance_class, engine_version=d.engine_version,
        disk_size_gb=d.allocated_storage_gb, disk_autoresize_limit_gb=d.max_allocated_storage_gb,
        high_availability=d.multi_az, backup_retention_days=d.backup_retention_days,
        point_in_time_recovery=d.backup_retention_days >= 7, deletion_protection=d.deletion_protection,
        backup_location=settings.dr_region,  # issue 14: backups kept in the DR region
        iam_authentication=d.iam_authentication, password_secret=d.password_secret,
        database_name=d.database_name, kms_key=kms.cmek("sql"), labels=labels, protect=prod), opts) \
        if d.enabled else None

    c = settings.cache
    cache = Cache(f"{prefix}-cache", CacheArgs(
        network=net, region=region, memory_size_gb=c.memory_size_gb, num_nodes=c.num_nodes,
        engine_version=c.engine_version, persistence=c.persistence, deletion_protection=prod,
        kms_key=kms.cmek("redis"), secrets_kms_key=kms.cmek("secrets"), labels=labels, protect=prod and c.persistence),
        opts) if c.enabled else None

    dr = prepare_dr_gcp(settings, opts)  # issue 14: DR region and the dual-region buckets' key (None without DR)
    log_bucket = None
    if any(b.access_logging for b in settings.storage.buckets):
        log_bucket = Bucket(f"{prefix}-access-logs", BucketArgs(
            location=region, noncurrent_version_days=7, kms_key=kms.cmek("storage"), labels=labels, protect=prod),
            opts)
        log_bucket.allow_usage_log_delivery()
    buckets = {
        b.name: Bucket(f"{prefix}-{b.name}", BucketArgs(
            location=region, noncurrent_version_days=b.noncurrent_version_days,
            nearline_after_days=b.transition_to_ia_days,
            access_log_bucket=log_bucket.name if b.access_logging and log_bucket else None,
            dual_region_with=dr.region if dr else None,  # issue 14
            kms_key=dr.storage_key if dr and dr.storage_key else kms.cmek("storage"), labels=labels,
            protect=prod), opts)
        for b in settings.storage.buckets
    }

    # -- queues' topic ids are fixed names, so publishers' environments do not wait for the topics -------------
    queue_topics = {q: f"{prefix}-{q}" for q in settings.queues}
    # Identity and application secrets (stacks/identity.py): before the services, which get AUTH_* and secret:NAME.
    ident = build_identity_gcp(settings, opts=opts, kms=kms, labels=labels, prod=prod)

    # -- services: internal ones first (their callers get their URLs), in dependency order -----------------------
    own_registry = f"{region}-docker.pkg.dev/{project}/"
    components: dict[str, Service | Job] = {}
    for svc_name in service_order(settings):
        spec = settings.services[svc_name]
        components[svc_name] = _service(
            settings, svc_name, spec, net=net, kms=kms, db=db, cache=cache, buckets=buckets,
            queue_topics=queue_topics, built=components, own_registry=own_registry, opts=opts, ident=ident)

    # -- queues: topic, push subscription to the consumer, dead-letter topic ------------------------------------
    queues: dict[str, Queue] = {}
    consumer_of = {q: n for n, spec in settings.services.items() for q, a in spec.used("queues").items()
                   if a == "consume"}
    for q_name, q in settings.queues.items():
        worker = components[consumer_of[q_name]]
        queues[q_name] = Queue(f"{prefix}-{q_name}", QueueArgs(
            topic_name=queue_topics[q_name], kms_key=kms.cmek("pubsub"), storage_regions=[region], delivery="push",
            push_endpoint=worker.uri if isinstance(worker, Service) else None, fifo=q.fifo,
            ack_deadline_seconds=q.visibility_timeout_seconds, retention_days=q.retention_days,
            max_delivery_attempts=q.max_receives, labels=labels), opts)

    # -- load balancer: every public web service's routes ---------------------------------------------------------
    routes = [ServiceRoute(components[n], name, path=r.path, host=r.host, weight=r.weight,
                           canary_weight=r.canary_weight)  # type: ignore[arg-type]
              for n, spec in settings.services.items() if spec.kind == "web" and not spec.internal
              for name, r in route_names(n, spec.routes).items()]
    lb = LoadBalancer(f"{prefix}-lb", LoadBalancerArgs(
        routes=routes, domain_name=settings.dns.domain_name, log_sample_rate=1.0 if prod else 0.5,
        security_policy=settings.load_balancer.waf,
        rate_limit_per_minute=math.ceil(settings.load_balancer.rate_limit_per_5min / 5), labels=labels,
        cdn=settings.cdn.enabled, static_bucket=static_bucket_gcp(settings, buckets),  # issue 14
        static_ttl_seconds=settings.cdn.static_ttl_seconds,
        iap_paths=settings.identity.protected_paths if settings.identity.enabled else ()), opts) \
        if routes else None
    if lb is not None:
        wire_identity_gcp(ident, settings, opts=opts, load_balancer=lb)

    # -- wiring: every uses entry is exactly one wiring call ------------------------------------------------------
    for svc_name, spec in settings.services.items():
        wire(components[svc_name], spec.uses, db=db, iam_db=d.iam_authentication, cache=cache, buckets=buckets,
             queues=queues, services=components)

    # -- monitoring ----------------------------------------------------------------------------------------------
    m = settings.monitoring
    watch: list[Watch] = [LoadBalancerWatch(lb.url_map.name)] if lb is not None else []
    for svc_name, comp in components.items():
        if isinstance(comp, Job):
            watch.append(JobWatch(comp.name, label=f"job-{svc_name}"))
        else:
            watch.append(ServiceWatch(comp.name, label=f"run-{svc_name}",
                                      requests=settings.services[svc_name].kind == "web"))
    for q_name, queue in queues.items():
        watch.append(QueueWatch(queue.subscription.name, label=f"queue-{q_name}"))
    if db is not None:
        watch.append(DatabaseWatch(db.database_id))
    if cache is not None:
        watch.append(CacheWatch(cache.instance_id))
    mon = Monitoring(f"{prefix}-mon", MonitoringArgs(
        alert_emails=m.alert_emails, pager_emails=m.pager_emails, alarms_to_pager=m.alarms_to_pager,
        log_retention_days=m.log_retention_days, budget_monthly_usd=settings.budget.monthly_usd,
        budget_warn_fraction=settings.budget.warn_fraction, billing_account=settings.gcp_billing_account,
        watch=watch, dashboard=m.dashboard, labels=labels), opts)

    # -- issue 14: Cloud CDN's bucket read and the cross-region replica (stacks/edge.py) ------------------------------
    build_edge_gcp(settings, load_balancer=lb, buckets=buckets, project_number=kms.project_number, opts=opts)
    build_dr_gcp(settings, dr, database=db, opts=opts)
    # -- end issue 14 ------------------------------------------------------------------------------------------------

    # -- outputs -------------------------------------------------------------------------------------------------
    pulumi.export("environment", settings.environment)
    pulumi.export("region", region)
    pulumi.export("project", project)
    if lb is not None:
        pulumi.export("url", lb.url)
        pulumi.export("api_urls", lb.version_urls)
        pulumi.export("ip_address", lb.ip_address)
    pulumi.export("services", {
        n: {"kind": settings.services[n].kind, "name": c.name, "service_account": c.email,
            **({"url": c.uri, "repository_url": c.repository_url} if isinstance(c, Service) else {})}
        for n, c in components.items()})
    pulumi.export("queues", {n: {"topic": q.topic.id, "subscription": q.subscription.id,
                                 "dead_letter_subscription": q.dead_letter_subscription.id}
                             for n, q in queues.items()})
    if db is not None:
        pulumi.export("database_connection_name", db.connection_name)
        pulumi.export("database_private_ip", db.private_ip)
        pulumi.export("database_endpoint", pulumi.Output.concat(db.private_ip, ":5432"))
        pulumi.export("database_users", {
            n: c.email.apply(iam_user_name) if d.iam_authentication else "app"
            for n, c in components.items() if "database" in settings.services[n].uses})
    if cache is not None:
        pulumi.export("cache_host", cache.host)
        pulumi.export("cache_port", cache.port)
        pulumi.export("cache_endpoint", pulumi.Output.concat(cache.host, ":", cache.port.apply(str)))
        pulumi.export("cache_auth_secret", cache.auth_secret.id)
    pulumi.export("bucket_names", {k: b.name for k, b in buckets.items()})
    pulumi.export("dashboard_url", mon.dashboard_url)

    first = next((c for n, c in components.items() if settings.services[n].kind == "web"), None) or \
        next(iter(components.values()), None)
    return StackComponents(
        provider=provider, encryption_key=kms, network=net, load_balancer=lb, service=first,  # type: ignore[arg-type]
        database=db, cache=cache, buckets=buckets, access_logs=log_bucket, monitoring=mon,
        extra={**{f"api-{api.split('.')[0]}": svc_api for api, svc_api in zip(apis, enabled, strict=True)},
               **ident.extra},
        services=dict(components), queues=dict(queues), identity=ident.identity, secrets=ident.secrets)


# -- helpers ---------------------------------------------------------------------------------------------------------
def env_name(name: str) -> str:
    """A settings name as an environment-variable fragment: ``assets-eu`` -> ``ASSETS_EU``."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def service_order(settings: GcpSettings) -> list[str]:
    """Services in creation order: a service after the internal services it uses (its environment holds their
    URLs); otherwise the settings' order. A cycle of ``services.*`` uses is refused."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(n: str, path: tuple[str, ...]) -> None:
        if state.get(n) == "done":
            return
        if state.get(n) == "visiting":
            cycle = " -> ".join((*path[path.index(n):], n))
            raise SettingsError(f"services: {cycle} use each other in a cycle (an internal service's URL must "
                                "exist before its callers)")
        state[n] = "visiting"
        for target in settings.services[n].used("services"):
            visit(target, (*path, n))
        state[n] = "done"
        order.append(n)

    for n in settings.services:
        visit(n, ())
    return order


def route_names(service: str, routes: list[Route]) -> dict[str, Route]:
    """A unique load-balancer backend key per route: ``<service>-<host>-<path>`` (``/v1`` -> ``v1``), cut to 42
    characters with a short hash when long."""
    out: dict[str, Route] = {}
    for r in routes:
        parts = [service, *([r.host.replace("*.", "wild-")] if r.host else []),
                 (r.path or "/").strip("/") or ("root" if not r.host else "")]
        raw = re.sub(r"[^a-z0-9]+", "-", "-".join(p for p in parts if p).lower()).strip("-")
        if len(raw) > 42 or raw in out:
            raw = f"{raw[:35].rstrip('-')}-{hashlib.sha256(repr(r.key).encode()).hexdigest()[:6]}"
        out[raw] = r
    return out


def _service(settings: GcpSettings, svc_name: str, spec: GcpServiceSpec, *, net: Network, kms: EncryptionKey,
             db: Database | None, cache: Cache | None, buckets: dict[str, Bucket], queue_topics: dict[str, str],
             built: dict[str, Service | Job], own_registry: str, opts: pulumi.ResourceOptions,
             ident: Any) -> Service | Job:
    """One service's component with its environment: ``DB_*``, ``CACHE_*``, ``BUCKET_<NAME>``,
    ``QUEUE_<NAME>_TOPIC`` (send) and ``SERVICE_<NAME>_URL`` for what it uses, nothing else."""
    prefix = f"{settings.name}-{settings.environment}"
    d = settings.database
    uses = set(spec.uses)
    environment: dict[str, pulumi.Input[str]] = {**ident.environment, **spec.environment}
    secrets: dict[str, SecretRef] = ident.resolve_secrets(spec.secrets)  # secret:NAME -> the app secret
    if "database" in uses and db is not None:
        # With IAM login the app logs in as its service account (DB_USER is SERVICE_ACCOUNT without
        # .gserviceaccount.com); otherwise with the password in passwordSecret, injected by reference.
        environment.update(DB_HOST=db.private_ip, DB_PORT="5432", DB_NAME=d.database_name,
                           DB_IAM_AUTH="true" if d.iam_authentication else "false",
                           DB_CONNECTION_NAME=db.connection_name)
        if d.password_secret:
            secrets["DB_PASSWORD"] = d.password_secret
    if "cache" in uses and cache is not None:
        environment.update(CACHE_HOST=cache.host, CACHE_PORT=cache.port.apply(str), CACHE_TLS="true")
        secrets["CACHE_AUTH"] = cache.auth_secret
    for b in spec.used("buckets"):
        environment[f"BUCKET_{env_name(b)}"] = buckets[b].name
    for q, access in spec.used("queues").items():
        if access == "send":
            environment[f"QUEUE_{env_name(q)}_TOPIC"] = f"projects/{settings.gcp_project}/topics/{queue_topics[q]}"
    calls = spec.used("services")
    for target in calls:
        environment[f"SERVICE_{env_name(target)}_URL"] = built[target].uri  # type: ignore[union-attr]
    common: dict[str, Any] = dict(
        network=net, region=settings.region, image=spec.image, image_managed_externally=spec.image_managed_externally,
        command=spec.command, cpu=spec.cpu, memory=spec.memory, environment=environment, secrets=secrets,
        # Calls to internal services must enter the VPC to count as internal (needs Cloud NAT for the internet).
        vpc_egress="ALL_TRAFFIC" if calls else "PRIVATE_RANGES_ONLY",
        network_tag=network_tag_for(net, svc_name),
        # CMEK on revisions only when the image is in this project's Artifact Registry (the agent must read it).
        revision_kms_key=kms.cmek("run") if spec.image.startswith(own_registry) else None,
        deletion_protection=settings.is_prod, labels={**settings.standard_tags, "service": svc_name})
    if spec.kind == "job":
        return Job(f"{prefix}-{svc_name}", JobArgs(
            **common, timeout_seconds=spec.timeout_seconds,
            schedule=spec.schedule.gcp_expression() if spec.schedule else None,
            time_zone=spec.schedule.timezone if spec.schedule else "UTC"), opts)
    worker = spec.kind == "worker"
    ack = max((settings.queues[q].visibility_timeout_seconds for q, a in spec.used("queues").items()
               if a == "consume"), default=60)
    return Service(f"{prefix}-{svc_name}", ServiceArgs(
        **common, port=spec.port, kms_key=kms.cmek("artifacts"),
        ingress="internal" if worker or spec.internal else "load-balancer",
        # A worker answers Pub/Sub pushes: no HTTP health path; a push may take up to the ack deadline; each
        # instance takes messagesPerTask pushes at once (Cloud Run scales instances on concurrent requests).
        health_check_path=None if worker else spec.health_check_path,
        request_timeout_seconds=ack if worker else 60,
        concurrency=min(spec.scaling.messages_per_task, 1000) if worker else 80,
        min_instances=spec.scaling.min, max_instances=spec.scaling.max,
        cpu_always_allocated=settings.is_prod and not worker), opts)


def wire(comp: Service | Job, uses: list[str], *, db: Database | None, iam_db: bool, cache: Cache | None,
         buckets: dict[str, Bucket], queues: dict[str, Queue], services: dict[str, Service | Job]) -> None:
    """Exactly one wiring call per ``uses`` entry (the database with IAM login: its network path and its login
    grant): nothing is reachable that the entry does not name."""
    for entry in uses:
        head, _, access = entry.partition(":")
        kind, _, target = head.partition(".")
        if head == "database" and db is not None:
            db.allow_from(comp)
            if iam_db:
                db.grant_connect(comp)
        elif head == "cache" and cache is not None:
            cache.allow_from(comp)  # the AUTH string comes as a secret reference (accessor in the component)
        elif kind == "buckets":
            (buckets[target].grant_read_write if access == "read-write" else buckets[target].grant_read)(comp)
        elif kind == "queues":
            (queues[target].grant_consume if access == "consume" else queues[target].grant_send)(comp)
        elif kind == "services":
            services[target].grant_invoke(comp)  # type: ignore[union-attr]
