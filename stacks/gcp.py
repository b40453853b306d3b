"""The GCP stack: one explicit provider (project and region from settings), the APIs it needs, then the
components, wired together. Labels are passed explicitly to every resource (no provider ``default_labels``), so
policy packs see them in each resource's inputs."""

from __future__ import annotations

import math

import pulumi
import pulumi_gcp as gcp

from components.gcp.bucket import Bucket, BucketArgs
from components.gcp.cache import Cache, CacheArgs
from components.gcp.database import Database, DatabaseArgs, iam_user_name
from components.gcp.kms import EncryptionKey, EncryptionKeyArgs
from components.gcp.load_balancer import ApiRoute, LoadBalancer, LoadBalancerArgs
from components.gcp.monitoring import (
    CacheWatch,
    DatabaseWatch,
    LoadBalancerWatch,
    Monitoring,
    MonitoringArgs,
    ServiceWatch,
    Watch,
)
from components.gcp.network import Network, NetworkArgs
from components.gcp.service import SecretRef, Service, ServiceArgs

from .composition import StackComponents
from .identity import build_identity_gcp, wire_identity_gcp
from .settings import GcpSettings

APIS: tuple[str, ...] = (
    "compute.googleapis.com", "run.googleapis.com", "sqladmin.googleapis.com", "redis.googleapis.com",
    "servicenetworking.googleapis.com", "artifactregistry.googleapis.com", "secretmanager.googleapis.com",
    "cloudkms.googleapis.com", "monitoring.googleapis.com", "logging.googleapis.com", "iam.googleapis.com",
)
"""APIs every GCP stack uses (``billingbudgets.googleapis.com`` too when a billing account is set)."""

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

    apis = [*APIS, "billingbudgets.googleapis.com"] if settings.gcp_billing_account else list(APIS)
    services = [gcp.projects.Service(f"api-{api.split('.')[0]}", service=api, disable_on_destroy=False, opts=popts)
                for api in apis]
    opts = pulumi.ResourceOptions(provider=provider, depends_on=services)

    kms = EncryptionKey(f"{prefix}-kms", EncryptionKeyArgs(location=region, labels=labels, protect=prod), opts)

    n = settings.network
    net = Network(f"{prefix}-net", NetworkArgs(
        region=region, cidr=n.cidr, nat_strategy=NAT_STRATEGIES[n.nat_strategy], nat_addresses=n.static_addresses,
        flow_log_sampling=1.0 if prod else 0.5, flow_log_interval="INTERVAL_5_SEC" if prod else "INTERVAL_10_MIN",
        service_port=settings.service.port, labels=labels), opts)

    # -- data tier (before the service, which references its secrets) ------------------------------------------
    d = settings.database
    db = Database(f"{prefix}-db", DatabaseArgs(
        network=net, region=region, tier=d.instance_class, engine_version=d.engine_version,
        disk_size_gb=d.allocated_storage_gb, disk_autoresize_limit_gb=d.max_allocated_storage_gb,
        high_availability=d.multi_az, backup_retention_days=d.backup_retention_days,
        point_in_time_recovery=d.backup_retention_days >= 7, deletion_protection=d.deletion_protection,
        iam_authentication=d.iam_authentication, password_secret=d.password_secret,
        database_name=d.database_name, kms_key=kms.cmek("sql"), labels=labels, protect=prod), opts) \
        if d.enabled else None

    c = settings.cache
    cache = Cache(f"{prefix}-cache", CacheArgs(
        network=net, region=region, memory_size_gb=c.memory_size_gb, num_nodes=c.num_nodes,
        engine_version=c.engine_version, persistence=c.persistence, deletion_protection=prod,
        kms_key=kms.cmek("redis"), secrets_kms_key=kms.cmek("secrets"), labels=labels, protect=prod and c.persistence),
        opts) if c.enabled else None

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
            kms_key=kms.cmek("storage"), labels=labels, protect=prod), opts)
        for b in settings.storage.buckets
    }

    # -- service and load balancer -------------------------------------------------------------------------------
    s = settings.service
    image = s.image
    own_registry = f"{region}-docker.pkg.dev/{project}/"
    # Identity and application secrets (stacks/identity.py): before the service, which gets AUTH_* and secret:NAME.
    ident = build_identity_gcp(settings, opts=opts, kms=kms, labels=labels, prod=prod)
    environment: dict[str, pulumi.Input[str]] = {**ident.environment, **s.environment}
    secrets: dict[str, SecretRef] = ident.resolve_secrets(s.secrets)
    if db is not None:
        # With IAM login the app logs in as its service account (DB_USER is SERVICE_ACCOUNT without
        # .gserviceaccount.com); otherwise with the password in passwordSecret, injected by reference.
        environment.update(DB_HOST=db.private_ip, DB_PORT="5432", DB_NAME=d.database_name,
                           DB_IAM_AUTH="true" if d.iam_authentication else "false",
                           DB_CONNECTION_NAME=db.connection_name)
        if d.password_secret:
            secrets["DB_PASSWORD"] = d.password_secret
    if cache is not None:
        environment.update(CACHE_HOST=cache.host, CACHE_PORT=cache.port.apply(str), CACHE_TLS="true")
        secrets["CACHE_AUTH"] = cache.auth_secret
    for key, bucket in buckets.items():
        environment[f"BUCKET_{key.upper().replace('-', '_')}"] = bucket.name
    svc = Service(f"{prefix}-svc", ServiceArgs(
        network=net, region=region, image=image, image_managed_externally=s.image_managed_externally,
        cpu=s.cpu, memory=s.memory, port=s.port, health_check_path=s.health_check_path,
        min_instances=s.scaling.min, max_instances=s.scaling.max, cpu_always_allocated=prod,
        environment=environment, secrets=secrets, kms_key=kms.cmek("artifacts"),
        # CMEK on revisions only when the image is in this project's Artifact Registry (the agent must read it).
        revision_kms_key=kms.cmek("run") if image.startswith(own_registry) else None,
        deletion_protection=prod, labels=labels), opts)
    lb = LoadBalancer(f"{prefix}-lb", LoadBalancerArgs(
        service=svc, api_routes=[ApiRoute(v.name, v.weight, v.canary_weight) for v in s.api_versions],
        domain_name=settings.dns.domain_name, log_sample_rate=1.0 if prod else 0.5,
        security_policy=settings.load_balancer.waf,
        rate_limit_per_minute=math.ceil(settings.load_balancer.rate_limit_per_5min / 5), labels=labels,
        iap_paths=settings.identity.protected_paths if settings.identity.enabled else ()), opts)
    wire_identity_gcp(ident, settings, opts=opts, load_balancer=lb)

    # -- wiring: one network path or one IAM binding each -------------------------------------------------------
    if db is not None:
        db.allow_from(svc)
        if d.iam_authentication:
            db.grant_connect(svc)
    if cache is not None:
        cache.allow_from(svc)
    for bucket in buckets.values():
        bucket.grant_read_write(svc)

    # -- monitoring ----------------------------------------------------------------------------------------------
    m = settings.monitoring
    watch: list[Watch] = [LoadBalancerWatch(lb.url_map.name), ServiceWatch(svc.name)]
    if db is not None:
        watch.append(DatabaseWatch(db.database_id))
    if cache is not None:
        watch.append(CacheWatch(cache.instance_id))
    mon = Monitoring(f"{prefix}-mon", MonitoringArgs(
        alert_emails=m.alert_emails, pager_emails=m.pager_emails, alarms_to_pager=m.alarms_to_pager,
        log_retention_days=m.log_retention_days, budget_monthly_usd=settings.budget.monthly_usd,
        budget_warn_fraction=settings.budget.warn_fraction, billing_account=settings.gcp_billing_account,
        watch=watch, dashboard=m.dashboard, labels=labels), opts)

    # -- outputs -------------------------------------------------------------------------------------------------
    pulumi.export("environment", settings.environment)
    pulumi.export("region", region)
    pulumi.export("project", project)
    pulumi.export("url", lb.url)
    pulumi.export("api_urls", lb.version_urls)
    pulumi.export("ip_address", lb.ip_address)
    pulumi.export("service_name", svc.name)
    pulumi.export("service_account", svc.email)
    pulumi.export("repository_url", svc.repository_url)
    if db is not None:
        pulumi.export("database_connection_name", db.connection_name)
        pulumi.export("database_private_ip", db.private_ip)
        pulumi.export("database_endpoint", pulumi.Output.concat(db.private_ip, ":5432"))
        pulumi.export("database_user", svc.email.apply(iam_user_name) if d.iam_authentication else "app")
    if cache is not None:
        pulumi.export("cache_host", cache.host)
        pulumi.export("cache_port", cache.port)
        pulumi.export("cache_endpoint", pulumi.Output.concat(cache.host, ":", cache.port.apply(str)))
        pulumi.export("cache_auth_secret", cache.auth_secret.id)
    pulumi.export("bucket_names", {k: b.name for k, b in buckets.items()})
    pulumi.export("dashboard_url", mon.dashboard_url)

    return StackComponents(
        provider=provider, encryption_key=kms, network=net, load_balancer=lb, service=svc, database=db,
        cache=cache, buckets=buckets, access_logs=log_bucket, monitoring=mon, identity=ident.identity,
        secrets=ident.secrets,
        extra={**{f"api-{api.split('.')[0]}": svc_api for api, svc_api in zip(apis, services, strict=True)},
               **ident.extra})
