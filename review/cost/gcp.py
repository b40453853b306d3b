"""GCP pricing rules (pulumi-gcp 10 input names): Cloud Run, Cloud SQL, Memorystore, load balancing, Cloud NAT,
Cloud Storage, Cloud Logging, Secret Manager, Compute Engine.

Free tiers (Cloud Run's first 2M requests, Logging's first 50 GiB...) are not subtracted: estimates are an upper
bound for small projects.
"""

from __future__ import annotations

import re
from typing import Any

from .estimator import Free, Pricing, free, num, pricer, truthy

SECONDS_PER_MONTH = 730 * 3600

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
     "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "gcp:kms/keyRing:KeyRing")
free("databases and users inside a Cloud SQL instance are free; the instance is priced",
     "gcp:sql/database:Database", "gcp:sql/user:User")
free("notification channels, dashboards, budgets and service identities are free",
     "gcp:monitoring/notificationChannel:NotificationChannel", "gcp:monitoring/dashboard:Dashboard",
     "gcp:billing/budget:Budget", "gcp:projects/serviceIdentity:ServiceIdentity")


@pricer("gcp:cloudrunv2/service:Service", "gcp:cloudrun/service:Service")
def cloud_run(p: Pricing) -> None:
    """Requests, and vCPU/GiB-seconds of instance time (request-based billing) or of every instance-second."""
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
    requests, _ = p.usage("monthly_requests")
    duration_ms, _ = p.usage("average_request_duration_ms")
    concurrency, _ = p.usage("average_concurrency")
    p.charge("requests", requests / 1_000_000, "1M requests", "cloudrun", "requests", usage_based=True)
    if request_based:
        busy = requests * duration_ms / 1000 / concurrency
        p.charge(f"CPU during requests ({vcpu:g} vCPU)", vcpu * busy, "vCPU-seconds", "cloudrun",
                 "cpu-second:request-based", usage_based=True)
        p.charge(f"memory during requests ({gib:g} GiB)", gib * busy, "GiB-seconds", "cloudrun",
                 "memory-second:request-based", usage_based=True)
        if min_instances:
            seconds = min_instances * SECONDS_PER_MONTH
            p.charge(f"idle minimum instances ({min_instances:g}) CPU", vcpu * seconds, "vCPU-seconds", "cloudrun",
                     "cpu-second:idle-min-instance")
            p.charge(f"idle minimum instances ({min_instances:g}) memory", gib * seconds, "GiB-seconds", "cloudrun",
                     "memory-second:idle-min-instance")
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
    """GB-hours of provisioned capacity by tier and capacity band (M1 1-4 GB, M2 5-10, M3 11-35, M4 36-100, M5)."""
    r = p.res
    tier = "standard" if str(r.get("tier") or "BASIC").upper() == "STANDARD_HA" else "basic"
    gb = num(r.get("memorySizeGb"), 1.0) or 1.0
    band = "m1" if gb <= 4 else "m2" if gb <= 10 else "m3" if gb <= 35 else "m4" if gb <= 100 else "m5"
    p.charge(f"capacity ({gb:g} GB, {tier} tier, {band.upper()})", gb * p.hours(), "GB-hours", "memorystore",
             f"redis:{tier}:{band}")


@pricer("gcp:compute/globalForwardingRule:GlobalForwardingRule", "gcp:compute/forwardingRule:ForwardingRule")
def forwarding_rule(p: Pricing) -> None:
    """Forwarding-rule hours and data processed (usage)."""
    is_global = p.res.type.endswith("GlobalForwardingRule")
    p.charge("forwarding rule hours", p.hours(), "hours", "loadbalancing",
             "global-forwarding-rule" if is_global else "forwarding-rule")
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
    """Storage by class (usage); the bucket's location is its region."""
    klass = str(p.res.get("storageClass") or "STANDARD").lower()
    gb, _ = p.usage("storage_gb")
    p.charge(f"{klass} storage", gb, "GB-months", "gcs", f"storage:{klass}", usage_based=True)


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
    """An active key version per month (software protection level unless stated)."""
    level = str(p.res.get("versionTemplate.protectionLevel") or "SOFTWARE").lower()
    p.charge(f"active key version ({level})", 1, "key versions", "kms", f"key-version:{level}")


@pricer("gcp:artifactregistry/repository:Repository")
def artifact_registry(p: Pricing) -> None:
    """Image storage (usage)."""
    gb, _ = p.usage("storage_gb")
    p.charge("storage", gb, "GB-months", "artifactregistry", "storage", usage_based=True)


@pricer("gcp:compute/securityPolicy:SecurityPolicy")
def cloud_armor(p: Pricing) -> None:
    """A Cloud Armor policy and its rules per month."""
    rules = p.res.inputs.get("rules")
    n = len(rules) if isinstance(rules, list) else 1
    p.charge("security policy", 1, "policies", "cloudarmor", "policy")
    p.charge(f"rules ({n})", n, "rules", "cloudarmor", "rule")


@pricer("gcp:compute/address:Address", "gcp:compute/globalAddress:GlobalAddress")
def static_address(p: Pricing) -> None:
    """External static IPv4 addresses are charged per hour; internal ones and global LB addresses are not."""
    if str(p.res.get("addressType") or "EXTERNAL").upper() == "INTERNAL" or p.res.type.endswith("GlobalAddress"):
        raise Free("internal addresses and global load-balancer addresses in use are not charged")
    p.charge("static external IPv4 address", p.hours(), "hours", "compute", "external-ipv4-hour")


@pricer("gcp:monitoring/alertPolicy:AlertPolicy")
def alert_policy(p: Pricing) -> None:
    """Alerting conditions (per condition per month)."""
    conditions = p.res.inputs.get("conditions")
    n = len(conditions) if isinstance(conditions, list) else 1
    p.charge(f"alerting conditions ({n})", n, "conditions", "monitoring", "alert-condition")
