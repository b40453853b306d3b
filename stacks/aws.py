"""The AWS stack: one explicit provider (region from settings), then the components, wired together.

Order: KMS key for logs -> network -> load balancer -> database, cache, buckets -> service (wired to all of them)
-> monitoring. Every name is prefixed ``<name>-<environment>`` so several stacks can share an account; every
component gets the standard tags explicitly (no provider ``default_tags``, so policy packs see them in inputs)
and, in prod, ``protect`` on everything stateful.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.bucket import Bucket, BucketArgs
from components.aws.cache import Cache, CacheArgs, CacheBase, ServerlessCache, ServerlessCacheArgs
from components.aws.common import aws_context
from components.aws.database import AuroraDatabase, AuroraDatabaseArgs, Database, DatabaseArgs, DatabaseBase
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from components.aws.load_balancer import ApiRoute, LoadBalancer, LoadBalancerArgs
from components.aws.monitoring import (
    CacheWatch,
    DatabaseWatch,
    LoadBalancerWatch,
    Monitoring,
    MonitoringArgs,
    ServerlessCacheWatch,
    ServiceWatch,
    Watch,
)
from components.aws.network import Network, NetworkArgs
from components.aws.service import Service, ServiceArgs

from .composition import StackComponents
from .identity import build_identity_aws, wire_identity_aws
from .settings import AwsSettings

PLACEHOLDER_DOMAIN = "example.com"
"""Without ``dns`` settings the certificate is requested for ``<name>.<environment>.example.com`` (see
docs/components/load_balancer.md: set ``dns.zoneName``/``dns.domainName`` or ``dns.certificateArn``)."""


def boundary_policy_name(project: str, stack: str) -> str:
    """The permissions-boundary policy of a stack's roles, created by ``python -m ops bootstrap``."""
    return f"{project}-boundary-{stack}"


def build_aws(settings: AwsSettings) -> StackComponents:
    """Compose the AWS components for one environment and export the stack outputs; returns the components."""
    provider = aws.Provider("aws", region=settings.region)
    opts = pulumi.ResourceOptions(providers=[provider])
    env = settings.environment
    base = f"{settings.name}-{env}"
    tags = settings.standard_tags
    prod = settings.is_prod
    retention = settings.monitoring.log_retention_days
    svc = settings.service

    if settings.encryption.key_per_component:
        # One key for every log group and the image repository (CloudWatch Logs and ECR use it as themselves);
        # the database, cache, each bucket and the alarm topics each create their own key.
        logs_key = EncryptionKey(f"{base}-logs", EncryptionKeyArgs(
            description=f"{base}: log groups and container images", service_principals=["logs"],
            via_services=["ecr"], tags=tags, protect=prod), opts=opts)
        data_key: EncryptionKey | None = None
    else:
        # One key for the whole stack (dev): 1 USD/month instead of 5, one key policy naming every user.
        logs_key = EncryptionKey(f"{base}-key", EncryptionKeyArgs(
            description=f"{base}: logs, images, database, cache, objects and alarm topics",
            service_principals=["logs", "cloudwatch", "budgets"],
            via_services=["ecr", "rds", "secretsmanager", "elasticache", "s3", "sns"], tags=tags, protect=prod),
            opts=opts)
        data_key = logs_key

    # Every role the stack creates carries the bootstrap's boundary policy (docs/ops.md): the deploy role may only
    # create or change roles that carry it, so no grant, however written, exceeds it.
    boundary: pulumi.Output[str] | None = None
    if settings.iam.permissions_boundary:
        ctx = aws_context(logs_key)  # the stack provider's account and partition
        boundary = pulumi.Output.concat("arn:", ctx.partition, ":iam::", ctx.account_id, ":policy/",
                                        boundary_policy_name(pulumi.get_project(), pulumi.get_stack()))

    network = Network(base, NetworkArgs(
        cidr=settings.network.cidr, az_count=settings.network.az_count, nat_strategy=settings.network.nat_strategy,
        interface_endpoints=settings.network.interface_endpoints,
        flow_log_retention_days=settings.network.flow_log_retention_days or retention, kms_key_arn=logs_key.arn,
        permissions_boundary=boundary, tags=tags), opts=opts)

    dns = settings.dns
    lb = LoadBalancer(base, LoadBalancerArgs(
        network=network, target_port=svc.port, health_check_path=svc.health_check_path,
        api_routes=[ApiRoute(v.name, weight=v.weight, canary_weight=v.canary_weight) for v in svc.api_versions],
        domain_name=dns.domain_name or (None if dns.certificate_arn else f"{settings.name}.{env}.{PLACEHOLDER_DOMAIN}"),
        zone_name=dns.zone_name, certificate_arn=dns.certificate_arn, deletion_protection=prod, protect=prod,
        access_log_retention_days=max(retention, 30), waf=settings.load_balancer.waf,
        waf_rate_limit=settings.load_balancer.rate_limit_per_5min, tags=tags), opts=opts)

    database: DatabaseBase | None = None
    if settings.database.enabled:
        d = settings.database
        shared = dict(
            vpc_id=network.vpc_id, subnet_ids=network.isolated_subnet_ids, engine_version=d.engine_version,
            instance_class=d.instance_class, multi_az=d.multi_az, backup_retention_days=d.backup_retention_days,
            deletion_protection=d.deletion_protection, performance_insights=d.performance_insights,
            iam_authentication=d.iam_authentication, log_retention_days=retention, database_name=d.database_name,
            identifier=base, kms_key=data_key, tags=tags, protect=prod)
        if d.engine == "aurora-postgresql":
            database = AuroraDatabase(f"{base}-db", AuroraDatabaseArgs(**shared), opts=opts)
        else:
            database = Database(f"{base}-db", DatabaseArgs(
                allocated_storage_gb=d.allocated_storage_gb, max_allocated_storage_gb=d.max_allocated_storage_gb,
                **shared), opts=opts)

    cache: CacheBase | None = None
    if settings.cache.enabled:
        c = settings.cache
        common = dict(
            vpc_id=network.vpc_id, subnet_ids=network.isolated_subnet_ids, engine=c.engine,
            engine_version=c.engine_version, snapshot_retention_days=c.snapshot_retention_days, identifier=base,
            kms_key=data_key, tags=tags, protect=prod)
        if c.mode == "serverless":
            cache = ServerlessCache(f"{base}-cache", ServerlessCacheArgs(
                max_data_storage_gb=c.max_data_storage_gb, max_ecpu_per_second=c.max_ecpu_per_second, **common),
                opts=opts)
        else:
            cache = Cache(f"{base}-cache", CacheArgs(
                node_type=c.node_type, num_nodes=c.num_nodes, automatic_failover=c.automatic_failover,
                multi_az=c.multi_az, log_retention_days=retention, **common), opts=opts)

    access_logs = None
    if any(b.access_logging for b in settings.storage.buckets):
        access_logs = Bucket(f"{base}-s3-access-logs", BucketArgs(
            encryption="s3", log_delivery=["s3"], expire_days=max(retention, 30), tags=tags, protect=prod), opts=opts)
    buckets = {
        b.name: Bucket(f"{base}-{b.name}", BucketArgs(
            noncurrent_version_days=b.noncurrent_version_days, transition_to_ia_days=b.transition_to_ia_days,
            access_log_bucket=access_logs if b.access_logging else None, kms_key=data_key, tags=tags,
            protect=prod), opts=opts)
        for b in settings.storage.buckets
    }

    # Identity and application secrets (stacks/identity.py): before the services, which get AUTH_* and secret:NAME.
    ident = build_identity_aws(settings, opts=opts, key=data_key, tags=tags, prod=prod)

    environment: dict[str, pulumi.Input[str]] = {"APP_ENVIRONMENT": env, **ident.environment}
    secrets: dict[str, pulumi.Input[str]] = ident.resolve_secrets(svc.secrets)
    if database is not None:
        environment.update(DB_HOST=database.address, DB_PORT=database.port.apply(str),
                           DB_NAME=settings.database.database_name)
        secrets.update(DB_USERNAME=pulumi.Output.concat(database.secret_arn, ":username::"),
                       DB_PASSWORD=pulumi.Output.concat(database.secret_arn, ":password::"))
    if cache is not None:
        environment.update(CACHE_HOST=cache.endpoint, CACHE_PORT=cache.port.apply(str), CACHE_TLS="true")
        if cache.user_name:
            environment["CACHE_USER"] = cache.user_name
    for key, bucket in buckets.items():
        environment[f"BUCKET_{key.upper().replace('-', '_')}"] = bucket.name
    environment.update(svc.environment)

    service = Service(base, ServiceArgs(
        network=network, image=svc.image, image_managed_externally=svc.image_managed_externally, family=base,
        cpu=svc.cpu, memory=svc.memory, architecture=svc.architecture, port=svc.port,
        health_check_path=svc.health_check_path, environment=environment, secrets=secrets,
        secrets_kms_key_arn=database.kms_key_arn if database is not None else None, kms_key_arn=logs_key.arn,
        log_retention_days=retention, desired_count=svc.desired_count, min_count=svc.scaling.min,
        max_count=svc.scaling.max, cpu_target=svc.scaling.cpu_target, memory_target=svc.scaling.memory_target,
        requests_per_target=svc.scaling.requests_per_target, load_balancer=lb, permissions_boundary=boundary,
        tags=tags), opts=opts)

    # Wiring: each call opens one network path or writes one least-privilege statement.
    service.allow_from(lb)
    if database is not None:
        database.allow_from(service)
        if settings.database.iam_authentication:
            database.grant_connect(service)
    if cache is not None:
        cache.allow_from(service)
        cache.grant_connect(service)
    for bucket in buckets.values():
        bucket.grant_read_write(service)
    wire_identity_aws(ident, settings, load_balancer=lb,
                      protected_target_group_arn=lb.target_groups[svc.api_versions[0].name].arn,
                      services={base: (service, svc.secrets)})

    m = settings.monitoring
    watch: list[Watch] = [
        LoadBalancerWatch(lb.arn_suffix, {k: tg.arn_suffix for k, tg in lb.target_groups.items()}),
        ServiceWatch(service.cluster.name, service.service.name),
    ]
    if database is not None:
        watch.append(DatabaseWatch(database.identifier, aurora=database.aurora))
    if isinstance(cache, ServerlessCache):
        watch.append(ServerlessCacheWatch(cache.cache_name, settings.cache.max_data_storage_gb))
    elif isinstance(cache, Cache):
        watch.append(CacheWatch(cache.replication_group_id, node_count=cache.num_nodes))
    monitoring = Monitoring(f"{base}-monitoring", MonitoringArgs(
        alert_emails=m.alert_emails, pager_emails=m.pager_emails, alarms_to_pager=m.alarms_to_pager,
        budget_monthly_usd=settings.budget.monthly_usd, budget_warn_fraction=settings.budget.warn_fraction,
        watch=watch, dashboard=m.dashboard, name_prefix=base, kms_key=data_key, tags=tags, protect=prod),
        opts=opts)

    pulumi.export("environment", env)
    pulumi.export("region", settings.region)
    pulumi.export("url", lb.url)
    pulumi.export("api_urls", lb.version_urls)
    pulumi.export("load_balancer_dns_name", lb.dns_name)
    pulumi.export("repository_url", service.repository.repository_url)
    pulumi.export("database_endpoint", database.endpoint if database is not None else None)
    pulumi.export("database_secret_arn", database.secret_arn if database is not None else None)
    pulumi.export("cache_endpoint", cache.endpoint if cache is not None else None)
    pulumi.export("bucket_names", {k: b.name for k, b in buckets.items()})
    pulumi.export("dashboard_url", monitoring.dashboard_url)
    if lb.certificate_validation_records is not None and not dns.zone_name:
        pulumi.export("certificate_validation_records", lb.certificate_validation_records)

    return StackComponents(
        provider=provider, encryption_key=logs_key, network=network, load_balancer=lb, service=service,
        database=database, cache=cache, buckets=buckets, access_logs=access_logs, monitoring=monitoring,
        identity=ident.identity, secrets=ident.secrets)
