"""GCP pricing rules (pulumi-gcp 10 input names): Cloud Run, Cloud SQL, Memorystore, load balancing, Cloud NAT,
Cloud Storage, Cloud Logging, Secret Manager, Compute Engine, Cloud KMS, Artifact Registry, Cloud Armor, static
external addresses, Cloud Monitoring alerting, Pub/Sub, Cloud Scheduler, Cloud Run jobs.

Free tiers (Cloud Run's first 2M requests, Logging's first 50 GiB, Artifact Registry's first 0.5 GB...) are not
subtracted: estimates are an upper bound for small projects. The rules and their sources are in docs/cost.md (GCP).
"""

from __future__ import annotations

import re
from typing import Any

from .estimator import CostResource, Free, Pricing, free, num, pricer, truthy
from .report import CostComponent

SECONDS_PER_MONTH = 730 * 3600
ALERT_SERIES_PER_CONDITION = 730 * 120
"""Default time series an alerting condition returns per month: one series, evaluated every 30 seconds."""

free("networking constructs without an hourly or data charge of their own",
     "gcp:compute/network:Network", "gcp:compute/subnetwork:Subnetwork", "gcp:compute/firewall:Firewall",
     "gcp:compute/router:Router", "gcp:compute/route:Route",
     "gcp:compute/backendService:BackendService", "gcp:compute/regionBackendService:RegionBackendService",
     "gcp:compute/uRLMap:URLMap", "gcp:compute/regionUrlMap:RegionUrlMap",
     "gcp:compute/targetHttpsProxy:TargetHttpsProxy", "gcp:compute/targetHttpProxy:TargetHttpProxy",
     "gcp:compute/regionTargetHttpsProxy:RegionTargetHttpsProxy",
     "gcp:compute/managedSslCertificate:ManagedSslCertificate", "gcp:compute/sSLPolicy:SSLPolicy",
     "gcp:compute/regionNetworkEndpointGroup:RegionNetworkEndpointGroup",
     "gcp:servicenetworking/connection:Connection", "gcp:compute/healthCheck:HealthCheck")
free("IAM, service accounts and enabled APIs are free",
     "gcp:serviceaccount/account:Account", "gcp:serviceaccount/iAMMember:IAMMember",
     "gcp:serviceaccount/iAMBinding:IAMBinding", "gcp:projects/iAMMember:IAMMember",
     "gcp:projects/iAMBinding:IAMBinding", "gcp:projects/service:Service",
     "gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding",
     "gcp:cloudrun/iamMember:IamMember", "gcp:secretmanager/secretIamMember:SecretIamMember",
     "gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding",
     "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "gcp:kms/keyRing:KeyRing",
     "gcp:pubsub/topicIAMMember:TopicIAMMember", "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
     "gcp:cloudrunv2/jobIamMember:JobIamMember")
free("IAP access bindings and generated values cost nothing (a secret's rotation topic is priced as a Pub/Sub topic: "
     "a few notifications a year)",
     "gcp:iap/webBackendServiceIamMember:WebBackendServiceIamMember")
free("databases and users inside a Cloud SQL instance are free; the instance is priced",
     "gcp:sql/database:Database", "gcp:sql/user:User")
free("notification channels, dashboards, budgets and service identities are free",
     "gcp:monitoring/notificationChannel:NotificationChannel", "gcp:monitoring/dashboard:Dashboard",
     "gcp:billing/budget:Budget", "gcp:projects/serviceIdentity:ServiceIdentity")


@pricer("gcp:cloudrunv2/service:Service", "gcp:cloudrun/service:Service")
def cloud_run(p: Pricing) -> None:
    """Requests, and vCPU/GiB-seconds of instance time (request-based billing) or of every instance-second.

    Request-based billing: requests, CPU and memory while requests are processed (usage), and the minimum
    instances for the rest of the month at the idle rate: min instances x month - busy instance-seconds, never
    below zero (the busy time is assumed to be served by the warm minimum instances first). Instance-based
    billing (``cpuIdle: false``, "CPU always allocated"): CPU and memory of max(min instances, 1) instances for
    the whole month and no request fee.
    """
    r = p.res
    v2 = r.type.startswith("gcp:cloudrunv2")
    if v2:
        container = (r.get("template.containers") or [{}])[0] or {}
        resources = container.get("resources") or {}
        limits = resources.get("limits") or {}
        cpu_idle = resources.get("cpuIdle")
        request_based = cpu_idle is None or truthy(cpu_idle)
        min_instances = num(r.get("template.scaling.minInstanceCount"), 0.0) or num(r.get("scaling.minInstanceCount"),
                                                                                   0.0) or 0.0
    else:
        container = (r.get("template.spec.containers") or [{}])[0] or {}
        limits = (container.get("resources") or {}).get("limits") or {}
        annotations = r.get("template.metadata.annotations") or {}
        request_based = str(annotations.get("run.googleapis.com/cpu-throttling", "true")).lower() != "false"
        min_instances = num(annotations.get("autoscaling.knative.dev/minScale"), 0.0) or 0.0
    vcpu = _cpu(limits.get("cpu", "1"))
    gib = _memory_gib(limits.get("memory", "512Mi"))
    if request_based:
        requests, _ = p.usage("monthly_requests")
        duration_ms, _ = p.usage("average_request_duration_ms")
        concurrency, _ = p.usage("average_concurrency")
        p.charge("requests", requests / 1_000_000, "1M requests", "cloudrun", "requests", usage_based=True)
        busy = requests * duration_ms / 1000 / concurrency
        p.charge(f"CPU during requests ({vcpu:g} vCPU)", vcpu * busy, "vCPU-seconds", "cloudrun",
                 "cpu-second:request-based", usage_based=True)
        p.charge(f"memory during requests ({gib:g} GiB)", gib * busy, "GiB-seconds", "cloudrun",
                 "memory-second:request-based", usage_based=True)
        if min_instances:
            idle = max(min_instances * SECONDS_PER_MONTH - busy, 0.0)
            p.charge(f"idle minimum instances ({min_instances:g}) CPU", vcpu * idle, "vCPU-seconds", "cloudrun",
                     "cpu-second:idle-min-instance", usage_based=True)
            p.charge(f"idle minimum instances ({min_instances:g}) memory", gib * idle, "GiB-seconds", "cloudrun",
                     "memory-second:idle-min-instance", usage_based=True)
    else:
        instances = max(min_instances, 1.0)
        seconds = instances * SECONDS_PER_MONTH
        p.charge(f"CPU always allocated ({vcpu:g} vCPU x {instances:g} instances)", vcpu * seconds, "vCPU-seconds",
                 "cloudrun", "cpu-second:instance-based")
        p.charge(f"memory always allocated ({gib:g} GiB x {instances:g} instances)", gib * seconds, "GiB-seconds",
                 "cloudrun", "memory-second:instance-based")


def _cpu(value: Any) -> float:
    s = str(value)
    if s.endswith("m"):
        return (num(s[:-1], 1000.0) or 1000.0) / 1000
    return num(s, 1.0) or 1.0


def _memory_gib(value: Any) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T)?", str(value).strip())
    if not m:
        return 0.5
    n = float(m.group(1))
    unit = m.group(2) or ""
    scale = {"Ki": 1 / 1024**2, "Mi": 1 / 1024, "Gi": 1.0, "Ti": 1024.0, "K": 1e3 / 1024**3, "M": 1e6 / 1024**3,
             "G": 1e9 / 1024**3, "T": 1e12 / 1024**3, "": 1 / 1024**3}[unit]
    return round(n * scale, 6)


@pricer("gcp:sql/databaseInstance:DatabaseInstance")
def cloud_sql(p: Pricing) -> None:
    """Shared-core or custom tier hours (x2 REGIONAL), SSD storage (x2 REGIONAL), backups (usage)."""
    r = p.res
    tier = r.get("settings.tier")
    regional = str(r.get("settings.availabilityType") or "ZONAL").upper() == "REGIONAL"
    mult = (p.factor("cloudsql", "ha-multiplier", "REGIONAL (HA) multiplier") or 2.0) if regional else 1.0
    label = "REGIONAL (HA)" if regional else "ZONAL"
    edition = str(r.get("settings.edition") or "ENTERPRISE").upper()
    custom = re.fullmatch(r"db-custom-(\d+)-(\d+)", str(tier))
    if edition != "ENTERPRISE":
        p.charge(f"instance ({tier}, {edition})", p.hours() * mult, "hours", "cloudsql",
                 f"instance:{edition.lower()}:{tier}")
    elif custom:
        vcpus, mem_gb = int(custom.group(1)), int(custom.group(2)) / 1024
        p.charge(f"vCPUs ({vcpus}, {label})", vcpus * p.hours() * mult, "vCPU-hours", "cloudsql", "custom:vcpu-hour")
        p.charge(f"memory ({mem_gb:g} GB, {label})", mem_gb * p.hours() * mult, "GB-hours", "cloudsql",
                 "custom:memory-gb-hour")
    elif isinstance(tier, str):
        p.charge(f"instance ({tier}, {label})", p.hours() * mult, "hours", "cloudsql", f"instance:{tier}")
    else:
        p.not_found.append("instance hours [tier unknown]")
    disk_type = str(r.get("settings.diskType") or "PD_SSD").upper()
    disk = num(r.get("settings.diskSize"), 10.0) or 10.0
    p.charge(f"storage ({disk_type}, {disk:g} GB, {label})", disk * mult, "GB-months", "cloudsql",
             "storage:ssd" if disk_type == "PD_SSD" else f"storage:{disk_type.lower()}")
    backups, _ = p.usage("backup_storage_gb")
    if backups:
        p.charge("backups", backups, "GB-months", "cloudsql", "backups", usage_based=True)


@pricer("gcp:redis/instance:Instance")
def memorystore_redis(p: Pricing) -> None:
    """GB-hours of provisioned capacity by tier and capacity band (M1 1-4 GB, M2 5-10, M3 11-35, M4 36-100, M5).

    A Standard tier instance includes one replica. With read replicas enabled, the replicas beyond the first are
    a component of their own, "price not found" until the catalog has the read-replica rate.
    """
    r = p.res
    tier = "standard" if str(r.get("tier") or "BASIC").upper() == "STANDARD_HA" else "basic"
    gb = num(r.get("memorySizeGb"), 1.0) or 1.0
    band = "m1" if gb <= 4 else "m2" if gb <= 10 else "m3" if gb <= 35 else "m4" if gb <= 100 else "m5"
    p.charge(f"capacity ({gb:g} GB, {tier} tier, {band.upper()})", gb * p.hours(), "GB-hours", "memorystore",
             f"redis:{tier}:{band}")
    replicas = num(r.get("replicaCount"), 1.0) or 1.0
    if tier == "standard" and str(r.get("readReplicasMode") or "").upper() == "READ_REPLICAS_ENABLED" and replicas > 1:
        extra = replicas - 1
        p.charge(f"read replicas beyond the first ({extra:g} x {gb:g} GB)", extra * gb * p.hours(), "GB-hours",
                 "memorystore", f"redis:read-replica:{band}")


def _project(r: CostResource) -> str:
    """The project a resource is billed to (its own ``project``, else its provider's); "" when not stated."""
    project = r.inputs.get("project") or (r.provider_inputs or {}).get("project") or ""
    return str(project)


@pricer("gcp:compute/globalForwardingRule:GlobalForwardingRule", "gcp:compute/forwardingRule:ForwardingRule")
def forwarding_rule(p: Pricing) -> None:
    """Forwarding-rule hours and data processed (usage).

    Global forwarding rules: GCP charges the first 5 rules of a project together at one flat hourly rate and each
    further rule at the "additional" rate. The stack's global rules of a project are ordered by URN: the first
    carries the flat charge for rules 1-5, rules 2-5 are listed at 0 (covered by it), rules 6 and later pay the
    additional rate. Rules created outside the stack are not visible: a project shared by several stacks is
    over-estimated by up to one flat charge per stack. Regional rules keep the catalog's per-rule rate.
    """
    if p.res.type.endswith("GlobalForwardingRule"):
        project = _project(p.res)
        rules = sorted((r for r in p.est.by_type.get(p.res.type, []) if _project(r) == project), key=lambda r: r.urn)
        index = next((i for i, r in enumerate(rules) if r.urn == p.res.urn), 0)
        if index == 0:
            p.charge(f"forwarding rules 1-5, flat ({min(len(rules), 5)} in this stack)", p.hours(), "hours",
                     "loadbalancing", "global-forwarding-rule")
        elif index < 5:
            base = p.price("loadbalancing", "global-forwarding-rule")
            if base is None:
                p.not_found.append(f"forwarding rule hours [gcp/{p.region or 'unknown region'}/loadbalancing/"
                                   "global-forwarding-rule]")
            else:
                p.components.append(CostComponent(
                    name=f"forwarding rule {index + 1} of the first 5 (in the flat charge on {rules[0].name})",
                    quantity=float(p.hours()), unit="hours", unit_price=0.0, monthly=0.0, sku=base.ref,
                    basis=base.basis))
        else:
            p.charge(f"forwarding rule {index + 1} (beyond the first 5)", p.hours(), "hours", "loadbalancing",
                     "global-forwarding-rule:additional")
    else:
        p.charge("forwarding rule hours", p.hours(), "hours", "loadbalancing", "forwarding-rule")
    gb, _ = p.usage("monthly_data_processed_gb")
    p.charge("data processed", gb, "GB", "loadbalancing", "ingress-gb", usage_based=True)


@pricer("gcp:compute/routerNat:RouterNat")
def router_nat(p: Pricing) -> None:
    """Gateway uptime per assigned VM (capped at 32 VMs) and data processed, both usage-based."""
    vms, _ = p.usage("assigned_vms")
    if vms >= 32:
        p.charge("gateway uptime (32 or more VMs)", p.hours(), "hours", "nat", "gateway-hour-max", usage_based=True)
    else:
        p.charge(f"gateway uptime ({vms:g} VMs)", vms * p.hours(), "VM-hours", "nat", "vm-hour", usage_based=True)
    gb, _ = p.usage("monthly_data_processed_gb")
    p.charge("data processed", gb, "GB", "nat", "data-gb", usage_based=True)


@pricer("gcp:storage/bucket:Bucket")
def gcs_bucket(p: Pricing) -> None:
    """Storage by class (usage); the bucket's location is its region. A configurable dual-region (issue 14) is
    priced at the dual-region rate of its multi-region, plus turbo replication of what is written."""
    klass = str(p.res.get("storageClass") or "STANDARD").lower()
    gb, _ = p.usage("storage_gb")
    if p.res.get("customPlacementConfig.dataLocations"):
        p.charge(f"{klass} storage (dual-region)", gb, "GB-months", "gcs", f"storage:{klass}:dual-region",
                 usage_based=True)
        if str(p.res.get("rpo") or "").upper() == "ASYNC_TURBO":
            p.charge("turbo replication (GB written)", gb, "GB", "gcs", "replication:turbo", usage_based=True)
        return
    p.charge(f"{klass} storage", gb, "GB-months", "gcs", f"storage:{klass}", usage_based=True)


@pricer("gcp:compute/backendBucket:BackendBucket")
def backend_bucket(p: Pricing) -> None:
    """Cloud CDN on the bucket (issue 14): cache egress and lookups (usage); without CDN, nothing."""
    if not truthy(p.res.get("enableCdn")):
        return
    gb, _ = p.usage("monthly_cache_egress_gb")
    n, _ = p.usage("monthly_lookups")
    p.charge("Cloud CDN cache egress (North America)", gb, "GB", "cdn", "cache-egress:na", usage_based=True)
    p.charge("Cloud CDN cache lookups", n / 10_000, "10k requests", "cdn", "lookups", usage_based=True)


@pricer("gcp:logging/projectBucketConfig:ProjectBucketConfig")
def logging_bucket(p: Pricing) -> None:
    """Log ingestion beyond the free allotment (usage)."""
    gb, _ = p.usage("monthly_ingested_gb")
    p.charge("log ingestion", gb, "GiB", "logging", "ingest", usage_based=True)


@pricer("gcp:secretmanager/secret:Secret")
def gcp_secret(p: Pricing) -> None:
    """Access operations (usage); versions are priced on the secret versions."""
    n, _ = p.usage("monthly_access_operations")
    p.charge("access operations", n / 10_000, "10k operations", "secretmanager", "access", usage_based=True)


IDENTITY_PLATFORM_FREE_MAU = 49_999
"""Tier 1 monthly active users Identity Platform does not charge for."""


@pricer("gcp:identityplatform/config:Config")
def identity_platform(p: Pricing) -> None:
    """Tier 1 monthly active users beyond the free 49,999 (usage), all at the first paid band's price (an
    overestimate above 100,000 MAU, where the price per MAU falls)."""
    mau, _ = p.usage("monthly_active_users")
    p.charge(f"monthly active users, Tier 1 ({mau:,.0f} MAU, beyond 49,999 free)",
             max(0.0, float(mau) - IDENTITY_PLATFORM_FREE_MAU), "MAU", "identityplatform", "mau:tier1",
             usage_based=True)


@pricer("gcp:secretmanager/secretVersion:SecretVersion")
def gcp_secret_version(p: Pricing) -> None:
    """An active secret version per month."""
    if p.res.get("enabled") is False:
        raise Free("disabled versions are not active")
    p.charge("active secret version", 1, "secret versions", "secretmanager", "version")


@pricer("gcp:compute/instance:Instance")
def gce_instance(p: Pricing) -> None:
    """Machine hours and the boot disk."""
    r = p.res
    machine = r.get("machineType")
    p.charge(f"instance hours ({machine})", p.hours(), "hours", "compute", f"instance:{machine}")
    disk = r.get("bootDisk.initializeParams") or {}
    size = num(disk.get("size"), 10.0) or 10.0
    dtype = str(disk.get("type") or "pd-standard")
    p.charge(f"boot disk ({dtype}, {size:g} GB)", size, "GB-months", "compute", f"disk:{dtype}")
    if any(isinstance(n, dict) and n.get("accessConfigs") for n in (r.get("networkInterfaces") or [])):
        p.charge("external IPv4 address", p.hours(), "hours", "compute", "external-ipv4-hour")


@pricer("gcp:kms/cryptoKey:CryptoKey")
def kms_crypto_key(p: Pricing) -> None:
    """Active key versions per month and cryptographic operations (usage), by protection level (SOFTWARE default).

    A new key has one version; each automatic rotation (``rotationPeriod``) adds one that stays billable until it
    is destroyed, so the default of 1 is the first month: set ``key_versions`` for a key that has rotated.
    """
    level = str(p.res.get("versionTemplate.protectionLevel") or "SOFTWARE").lower()
    versions, from_file = p.usage("key_versions")
    if versions is None:
        versions = 1.0
    p.charge(f"active key versions ({versions:g}, {level})", versions, "key versions", "kms", f"key-version:{level}",
             usage_based=from_file)
    ops, _ = p.usage("monthly_key_operations")
    p.charge(f"cryptographic operations ({level})", ops / 10_000, "10k operations", "kms", f"operations:{level}",
             usage_based=True)


@pricer("gcp:artifactregistry/repository:Repository")
def artifact_registry(p: Pricing) -> None:
    """Image storage (usage); the first 0.5 GB per billing account is free and not subtracted."""
    gb, _ = p.usage("storage_gb")
    p.charge("storage", gb, "GB-months", "artifactregistry", "storage", usage_based=True)


@pricer("gcp:compute/securityPolicy:SecurityPolicy")
def cloud_armor(p: Pricing) -> None:
    """Cloud Armor Standard: the policy and its rules per month, and the requests it evaluates (usage)."""
    rules = p.res.inputs.get("rules")
    n = len(rules) if isinstance(rules, list) else 1
    p.charge("security policy", 1, "policies", "cloudarmor", "policy")
    p.charge(f"rules ({n})", n, "rules", "cloudarmor", "rule")
    requests, _ = p.usage("monthly_requests")
    p.charge("requests evaluated", requests / 1_000_000, "1M requests", "cloudarmor", "requests", usage_based=True)


_ADDRESS_USERS = {
    # type -> (input holding the address, how the address is charged)
    "gcp:compute/routerNat:RouterNat": ("natIps", "nat"),
    "gcp:compute/instance:Instance": ("networkInterfaces", "instance"),
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": ("ipAddress", "forwarding-rule"),
    "gcp:compute/forwardingRule:ForwardingRule": ("ipAddress", "forwarding-rule"),
}


@pricer("gcp:compute/address:Address", "gcp:compute/globalAddress:GlobalAddress")
def static_address(p: Pricing) -> None:
    """A reserved external IPv4 address, by what uses it (the resources whose inputs depend on it).

    - used by a Cloud NAT gateway (``natIps``): the NAT address rate per hour;
    - attached to a forwarding rule (``ipAddress``): no charge of its own (the forwarding rule is priced);
    - used by a VM (``networkInterfaces``): priced on the instance as an in-use address, so not twice;
    - used by nothing in the stack: the reserved-but-unused rate per hour.

    Internal addresses (and ``VPC_PEERING`` ranges for private services access) are free.
    """
    r = p.res
    if str(r.get("addressType") or "EXTERNAL").upper() == "INTERNAL" or r.get("purpose") == "VPC_PEERING":
        raise Free("internal addresses and private-services ranges are not charged")
    uses = {use for t, (prop, use) in _ADDRESS_USERS.items() for _ in p.referencing(t, prop)}
    if "nat" in uses:
        p.charge("static external IPv4 address used by Cloud NAT", p.hours(), "hours", "compute",
                 "external-ipv4-hour:nat")
    elif "forwarding-rule" in uses:
        raise Free("an external address attached to a forwarding rule has no charge of its own")
    elif "instance" in uses:
        raise Free("an address in use on a VM is priced on the instance (external IPv4 address)")
    else:
        p.charge("static external IPv4 address, reserved and unused", p.hours(), "hours", "compute",
                 "external-ipv4-hour:unused")


@pricer("gcp:monitoring/alertPolicy:AlertPolicy")
def alert_policy(p: Pricing) -> None:
    """Alerting: each condition per month, and the time series its queries return (usage).

    Default time series: one per condition per execution every 30 seconds (Google's pricing example), i.e.
    conditions x 120 x 730 = 87,600 per condition per month.
    """
    conditions = p.res.inputs.get("conditions")
    n = len(conditions) if isinstance(conditions, list) else 1
    p.charge(f"alerting conditions ({n})", n, "conditions", "monitoring", "alert-condition")
    series, _ = p.usage("monthly_time_series_returned")
    if series is None:
        series = n * ALERT_SERIES_PER_CONDITION
    p.charge("time series returned", series / 1_000_000, "1M time series", "monitoring", "alert-time-series",
             usage_based=True)


@pricer("gcp:pubsub/topic:Topic")
def pubsub_topic(p: Pricing) -> None:
    """Publish throughput (usage), per TiB; the first 10 GiB a month per billing account are free, not subtracted."""
    gib, _ = p.usage("monthly_published_gib")
    p.charge("publish throughput", gib / 1024, "TiB", "pubsub", "throughput", usage_based=True)


@pricer("gcp:pubsub/subscription:Subscription")
def pubsub_subscription(p: Pricing) -> None:
    """Delivery throughput (usage), per TiB, push or pull alike."""
    gib, _ = p.usage("monthly_delivered_gib")
    p.charge("delivery throughput", gib / 1024, "TiB", "pubsub", "throughput", usage_based=True)


@pricer("gcp:cloudscheduler/job:Job")
def cloud_scheduler_job(p: Pricing) -> None:
    """One job per month (paused or not); the first 3 per billing account are free, not subtracted."""
    p.charge("scheduler job", 1, "job-months", "cloudscheduler", "job")


@pricer("gcp:cloudrunv2/job:Job")
def cloud_run_job(p: Pricing) -> None:
    """vCPU-seconds and GiB-seconds of its tasks: executions x tasks x task seconds x the task's size.

    Executions come from the usage file, else from the cron of the Cloud Scheduler job that runs it (runs in a
    730-hour month), else 30 (an on-demand job such as a migration run per deploy)."""
    r = p.res
    runs, _ = p.usage("monthly_executions")
    how = "usage file"
    if runs is None:
        schedules = p.referencing("gcp:cloudscheduler/job:Job", "httpTarget")
        counted = [_runs_per_month(s.inputs.get("schedule")) for s in schedules]
        known = [c for c in counted if c is not None]
        runs, how = (sum(known), "schedule") if known else (30.0, "on demand, default")
    seconds, _ = p.usage("average_task_seconds")
    tasks = num(r.get("template.taskCount"), 1.0) or 1.0
    container = (r.get("template.template.containers") or [{}])[0] or {}
    limits = (container.get("resources") or {}).get("limits") or {}
    vcpu, gib = _cpu(limits.get("cpu", "1")), _memory_gib(limits.get("memory", "512Mi"))
    busy = runs * tasks * seconds
    label = f"{runs:g} runs ({how}) x {tasks:g} task x {seconds:g} s"
    p.charge(f"CPU ({vcpu:g} vCPU; {label})", vcpu * busy, "vCPU-seconds", "cloudrun", "cpu-second:job",
             usage_based=True)
    p.charge(f"memory ({gib:g} GiB)", gib * busy, "GiB-seconds", "cloudrun", "memory-second:job", usage_based=True)


def _runs_per_month(schedule: Any) -> float | None:
    """Runs of a unix-cron schedule in a 730-hour month (None when it cannot be read)."""
    if not isinstance(schedule, str):
        return None
    from datetime import datetime, timedelta

    from croniter import croniter

    try:
        start = datetime(2026, 1, 5)
        it = croniter(schedule, start)
        end = start + timedelta(hours=730)
        count = 0
        while it.get_next(datetime) <= end and count < 50_000:
            count += 1
        return float(count)
    except (ValueError, KeyError):
        return None
