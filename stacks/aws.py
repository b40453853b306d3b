"""The AWS stack: one explicit provider (region from settings), then the components, wired together.

Order: KMS key for logs -> network -> load balancer -> database, cache, buckets -> the ECS cluster -> queues ->
the services (web services, workers, jobs, in settings order)
-> one wiring call per ``uses`` entry -> monitoring (a watch entry per service).

Every name is prefixed ``<name>-<environment>`` so several stacks can share an account; every
component gets the standard tags explicitly (no provider ``default_tags``, so policy packs see them in inputs)
and, in prod, ``protect`` on everything stateful.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.bucket import Bucket, BucketArgs
from components.aws.cache import Cache, CacheArgs, CacheBase, ServerlessCache, ServerlessCacheArgs
from components.aws.cluster import Cluster, ClusterArgs
from components.aws.common import aws_context
from components.aws.database import AuroraDatabase, AuroraDatabaseArgs, Database, DatabaseArgs, DatabaseBase
from components.aws.job import Job, JobArgs
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from components.aws.lattice import LatticeService, LatticeServiceArgs, ServiceNetwork, ServiceNetworkArgs
from components.aws.load_balancer import LoadBalancer, LoadBalancerArgs, rule_priorities
from components.aws.monitoring import (
    CacheWatch,
    DatabaseWatch,
    JobWatch,
    Monitoring,
    MonitoringArgs,
    ServerlessCacheWatch,
    Watch,
    WebServiceWatch,
    WorkerWatch,
)
from components.aws.network import Network, NetworkArgs
from components.aws.queue import Queue, QueueArgs
from components.aws.web_service import WebRoute, WebService, WebServiceArgs
from components.aws.worker import Worker, WorkerArgs

from .composition import StackComponents
from .edge import build_dr_aws, build_edge_aws, cdn_arn_for, edge_scope, prepare_edge_aws
from .identity import build_identity_aws, wire_identity_aws
from .naming import boundary_policy_name
from .settings import AwsServiceSpec, AwsSettings, SettingsError

PLACEHOLDER_DOMAIN = "example.com"
"""Without ``dns`` settings the certificate is requested for ``<name>.<environment>.example.com`` (see
docs/components/load_balancer.md: set ``dns.zoneName``/``dns.domainName`` or ``dns.certificateArn``)."""


@edge_scope
def build_aws(settings: AwsSettings) -> StackComponents:
    """Compose the AWS components for one environment and export the stack outputs; returns the components."""
    for sname, spec in settings.services.items():
        if spec.kind == "job" and spec.used("services"):
            target = next(iter(spec.used("services")))
            raise SettingsError(f"services.{sname}.uses: services.{target} cannot be reached from a job on AWS (ECS "
                                "Service Connect serves ECS services only): call it through a worker or a queue")
    provider = aws.Provider("aws", region=settings.region)
    opts = pulumi.ResourceOptions(providers=[provider])
    # issue 14: the CDN origin's admission and the distribution ARN the assets bucket admits, which only exists
    # once the distribution does (None without cdn.enabled); edge_scope settles it on every path out.
    edge = prepare_edge_aws(settings, provider, opts)
    env = settings.environment
    base = f"{settings.name}-{env}"
    tags = settings.standard_tags
    prod = settings.is_prod
    retention = settings.monitoring.log_retention_days

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
            description=f"{base}: logs, images, database, cache, objects, queues and alarm topics",
            service_principals=["logs", "cloudwatch", "budgets"],
            via_services=["ecr", "rds", "secretsmanager", "elasticache", "s3", "sns", "sqs"], tags=tags, protect=prod),
            opts=opts)
        data_key = logs_key

    # Every role the stack creates carries the bootstrap's boundary policy (docs/ops.md): the deploy role may only
    # create or change roles that carry it, so no grant, however written, exceeds it.
    boundary: pulumi.Output[str] | None = None
    if settings.iam.permissions_boundary:
        ctx = aws_context(logs_key)  # the stack provider's account and partition
        boundary = pulumi.Output.concat("arn:", ctx.partition, ":iam::", ctx.account_id, ":policy/",
                                        boundary_policy_name(pulumi.get_stack(), pulumi.get_project()))

    network = Network(base, NetworkArgs(
        cidr=settings.network.cidr, az_count=settings.network.az_count, nat_strategy=settings.network.nat_strategy,
        interface_endpoints=settings.network.interface_endpoints,
        flow_log_retention_days=settings.network.flow_log_retention_days or retention, kms_key_arn=logs_key.arn,
        permissions_boundary=boundary, tags=tags), opts=opts)

    dns = settings.dns
    lb = LoadBalancer(base, LoadBalancerArgs(
        cdn_origin=edge.origin if edge is not None else None,  # issue 14
        network=network, api_routes=(),  # each web service adds its own target groups and listener rules
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
            identifier=base, kms_key=data_key, tags=tags, protect=prod,
            monitoring_interval=60 if prod else 0, permissions_boundary=boundary)  # issue 14: enhanced monitoring
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
            access_log_bucket=access_logs if b.access_logging else None, tags=tags,
            # issue 14: the bucket the CDN serves has a key of its own, whose policy admits only the distribution
            kms_key=None if cdn_arn_for(edge, b.name) is not None else data_key,
            cloudfront_distribution_arn=cdn_arn_for(edge, b.name),
            protect=prod), opts=opts)
        for b in settings.storage.buckets
    }

    # Identity and application secrets (stacks/identity.py): before the services, which get AUTH_* and secret:NAME.
    ident = build_identity_aws(settings, opts=opts, key=data_key, tags=tags, prod=prod, logs_key_arn=logs_key.arn,
                               log_retention_days=retention, permissions_boundary=boundary)

    # -- services and queues --------------------------------------------------------------------------------
    services_cfg = settings.services
    internal_names = sorted(n for n, s in services_cfg.items() if s.kind == "web" and s.internal)
    # identity.serviceAuth iam: internal services are reached through VPC Lattice only (no Service Connect name
    # that would bypass its auth policy); network: Service Connect and security groups.
    via_lattice = bool(internal_names) and settings.identity.service_auth == "iam"
    cluster = Cluster(base, ClusterArgs(
        kms_key_arn=logs_key.arn,
        service_connect_namespace=f"{base}.internal" if internal_names and not via_lattice else None,
        tags=tags), opts=opts)
    queues = {
        qname: Queue(f"{base}-{qname}", QueueArgs(
            queue_name=f"{base}-{qname}", fifo=q.fifo, visibility_timeout_seconds=q.visibility_timeout_seconds,
            retention_days=q.retention_days, max_receives=q.max_receives, kms_key=data_key, tags=tags, protect=prod),
            opts=opts)
        for qname, q in settings.queues.items()
    }
    # Service-to-service IAM (identity.serviceAuth: iam): one VPC Lattice service network for the stack and, before
    # any service exists, a Lattice service per internal web service, so every caller gets its URL whatever the order.
    service_network: ServiceNetwork | None = None
    lattice: dict[str, LatticeService] = {}
    if via_lattice:
        service_network = ServiceNetwork(f"{base}-lattice", ServiceNetworkArgs(
            network=network, permissions_boundary=boundary, tags=tags), opts=opts)
        lattice = {n: service_network.add_service(f"{base}-{n}", LatticeServiceArgs(
            port=services_cfg[n].port, health_check_path=services_cfg[n].health_check_path, tags=tags))
            for n in internal_names}
    # Listener-rule priorities of every public route, derived together from the settings (rule_priorities).
    priorities = rule_priorities(r.key for s in services_cfg.values() if s.kind == "web" for r in s.routes)

    services: dict[str, WebService | Worker | Job] = {}
    for sname, spec in services_cfg.items():
        environment, secrets = _service_environment(settings, spec, database, cache, buckets, queues, ident, lattice)
        task = dict(
            cluster=cluster, network=network, image=spec.image, command=spec.command, family=f"{base}-{sname}",
            cpu=spec.cpu, memory=spec.memory, architecture=spec.architecture, environment=environment,
            secrets=secrets,
            secrets_kms_key_arn=database.kms_key_arn if database is not None and "database" in spec.uses else None,
            kms_key_arn=logs_key.arn, log_retention_days=retention, permissions_boundary=boundary, tags=tags)
        calls_internal = bool(spec.used("services")) and not via_lattice  # a Service Connect client
        name = f"{base}-{sname}"
        if spec.kind == "web":
            routes = [WebRoute(path=r.path, host=r.host, weight=r.weight, canary_weight=r.canary_weight,
                               priority=priorities[r.key]) for r in spec.routes]
            services[sname] = WebService(name, WebServiceArgs(
                port=spec.port, health_check_path=spec.health_check_path, load_balancer=None if spec.internal else lb,
                routes=routes, internal=spec.internal, discovery_name=sname,
                uses_service_connect=calls_internal, lattice=lattice.get(sname),
                image_managed_externally=spec.image_managed_externally, desired_count=spec.desired_count,
                min_count=spec.scaling.min, max_count=spec.scaling.max,
                cpu_target=spec.scaling.cpu_target, memory_target=spec.scaling.memory_target,
                requests_per_target=spec.scaling.requests_per_target, **task), opts=opts)
        elif spec.kind == "worker":
            consumed = [queues[q] for q, access in spec.used("queues").items() if access == "consume"]
            services[sname] = Worker(name, WorkerArgs(
                queue_names=[q.name for q in consumed], min_count=spec.scaling.min, max_count=spec.scaling.max,
                messages_per_task=spec.scaling.messages_per_task, desired_count=spec.desired_count,
                image_managed_externally=spec.image_managed_externally, uses_service_connect=calls_internal,
                **task), opts=opts)
        else:
            services[sname] = Job(name, JobArgs(
                schedule_expression=spec.schedule.aws_expression() if spec.schedule else None,
                schedule_timezone=spec.schedule.timezone if spec.schedule else "UTC",
                timeout_seconds=spec.timeout_seconds, **task), opts=opts)

    # Wiring: each uses entry is one call, opening one network path or writing one least-privilege grant.
    for sname, svc in services.items():
        spec = services_cfg[sname]
        if isinstance(svc, WebService) and not spec.internal:
            svc.allow_from(lb)
        for entry in spec.uses:
            head, _, access = entry.partition(":")
            kind, _, target = head.partition(".")
            if head == "database" and database is not None:
                database.allow_from(svc)
                if settings.database.iam_authentication:
                    database.grant_connect(svc)
            elif head == "cache" and cache is not None:
                cache.allow_from(svc)
                cache.grant_connect(svc)
            elif kind == "buckets":
                (buckets[target].grant_read if access == "read" else buckets[target].grant_read_write)(svc)
            elif kind == "queues":
                (queues[target].grant_send if access == "send" else queues[target].grant_consume)(svc)
            elif kind == "services":
                target_svc = services[target]
                assert isinstance(target_svc, WebService)  # check_services: an internal web service
                if service_network is not None:  # into the service network (its security group), plus IAM
                    service_network.allow_from(svc)
                    target_svc.grant_invoke(svc)
                else:
                    target_svc.allow_from(svc)
    for lattice_service in lattice.values():  # each admits exactly the task roles granted above
        lattice_service.write_auth_policy()
    # Sign-in on the protected paths forwards to the first public web service's primary target group (the routes
    # keep priorities >= 10; sign-in rules take 1-9), and each service may read the app secrets it references.
    protected = next((s.target_groups["primary"].arn for s in services.values()
                      if isinstance(s, WebService) and not s.args.internal), None)
    wire_identity_aws(ident, settings, load_balancer=lb, protected_target_group_arn=protected,
                      services={n: (s, services_cfg[n].secrets) for n, s in services.items()})

    m = settings.monitoring
    watch: list[Watch] = []
    for sname, svc in services.items():
        if isinstance(svc, WebService):
            primary = svc.target_groups.get("primary")
            watch.append(WebServiceWatch(
                sname, cluster.name, svc.service.name, load_balancer_arn_suffix=lb.arn_suffix if primary else None,
                target_group_arn_suffix=primary.arn_suffix if primary else None))
        elif isinstance(svc, Worker):
            consumed = [q for q, access in services_cfg[sname].used("queues").items() if access == "consume"]
            watch.append(WorkerWatch(sname, cluster.name, svc.service.name,
                                     {q: (queues[q].name, queues[q].dead_letter_name) for q in consumed},
                                     utilization=services_cfg[sname].scaling.min > 0))
        else:
            scheduled = svc.scheduler_dlq is not None
            watch.append(JobWatch(sname, svc.failed_rule.name, svc.scheduler_dlq.name if scheduled else None,
                                  alarm=scheduled))
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

    # -- issue 14: CDN, web ACL logging and disaster recovery (stacks/edge.py) --------------------------------------
    build_edge_aws(settings, edge, provider=provider, lb=lb, buckets=buckets, logs_key_arn=logs_key.arn, opts=opts)
    build_dr_aws(settings, database=database, buckets=buckets, boundary=boundary, opts=opts)
    # -- end issue 14 ------------------------------------------------------------------------------------------------

    pulumi.export("environment", env)
    pulumi.export("region", settings.region)
    pulumi.export("url", lb.url)
    pulumi.export("service_urls", {n: s.url for n, s in services.items() if isinstance(s, WebService)})
    pulumi.export("route_urls", {f"{n} {path}": u for n, s in services.items() if isinstance(s, WebService)
                                 for path, u in s.route_urls.items()})
    pulumi.export("queue_urls", {n: q.url for n, q in queues.items()})
    pulumi.export("dead_letter_queue_urls", {n: q.dead_letter_queue.url for n, q in queues.items()})
    pulumi.export("job_task_definitions", {n: s.task_definition.arn for n, s in services.items()
                                           if isinstance(s, Job)})
    pulumi.export("cluster_name", cluster.name)
    pulumi.export("task_subnet_ids", network.app_subnet_ids)
    pulumi.export("task_public_ip", network.app_subnets_public)
    pulumi.export("task_security_groups", {n: s.security_group.id for n, s in services.items()})
    pulumi.export("load_balancer_dns_name", lb.dns_name)
    pulumi.export("repository_url", cluster.repository.repository_url)
    pulumi.export("database_endpoint", database.endpoint if database is not None else None)
    pulumi.export("database_secret_arn", database.secret_arn if database is not None else None)
    pulumi.export("cache_endpoint", cache.endpoint if cache is not None else None)
    pulumi.export("bucket_names", {k: b.name for k, b in buckets.items()})
    pulumi.export("dashboard_url", monitoring.dashboard_url)
    if lb.certificate_validation_records is not None and not dns.zone_name:
        pulumi.export("certificate_validation_records", lb.certificate_validation_records)

    first_public = next((s for s in services.values() if isinstance(s, WebService) and not s.args.internal), None)
    return StackComponents(
        provider=provider, encryption_key=logs_key, network=network, load_balancer=lb, service=first_public,
        database=database, cache=cache, buckets=buckets, access_logs=access_logs, monitoring=monitoring,
        cluster=cluster, services=services, queues=queues, identity=ident.identity, secrets=ident.secrets,
        service_network=service_network)


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def _service_environment(settings: AwsSettings, spec: AwsServiceSpec, database: DatabaseBase | None,
                         cache: CacheBase | None, buckets: Mapping[str, Bucket], queues: Mapping[str, Queue],
                         ident: Any, lattice: Mapping[str, LatticeService]
                         ) -> tuple[dict[str, pulumi.Input[str]], dict[str, pulumi.Input[str]]]:
    """Environment variables and secrets of one service: only what its ``uses`` names (DB_*, CACHE_*,
    BUCKET_<NAME>, QUEUE_<NAME>_URL, SERVICE_<NAME>_URL: the internal service's VPC Lattice URL, to be called
    with SigV4-signed requests, or its Service Connect URL with ``identity.serviceAuth: network``), then its own
    ``environment`` and ``secrets``."""
    environment: dict[str, pulumi.Input[str]] = {"APP_ENVIRONMENT": settings.environment, **ident.environment}
    secrets: dict[str, pulumi.Input[str]] = {}
    if "database" in spec.uses and database is not None:
        environment.update(DB_HOST=database.address, DB_PORT=database.port.apply(str),
                           DB_NAME=settings.database.database_name)
        secrets.update(DB_USERNAME=pulumi.Output.concat(database.secret_arn, ":username::"),
                       DB_PASSWORD=pulumi.Output.concat(database.secret_arn, ":password::"))
    if "cache" in spec.uses and cache is not None:
        environment.update(CACHE_HOST=cache.endpoint, CACHE_PORT=cache.port.apply(str), CACHE_TLS="true")
        if cache.user_name:
            environment["CACHE_USER"] = cache.user_name
    for name in spec.used("buckets"):
        environment[f"BUCKET_{_env_name(name)}"] = buckets[name].name
    for name in spec.used("queues"):
        environment[f"QUEUE_{_env_name(name)}_URL"] = queues[name].url
    for name in spec.used("services"):
        if name in lattice:  # requests go through Lattice, which checks the caller's signature against its policy
            environment[f"SERVICE_{_env_name(name)}_URL"] = lattice[name].url
        else:  # Service Connect: the internal web service's settings name (WebService.url says the same)
            environment[f"SERVICE_{_env_name(name)}_URL"] = f"http://{name}:{settings.services[name].port}"
    environment.update(spec.environment)
    secrets.update(ident.resolve_secrets(spec.secrets))  # secret:NAME -> the app secret's ARN
    return environment, secrets
