"""Logging and retention (access logs, flow logs, log retention, CloudTrail) and backups and data loss (backup
retention, deletion protection and ``protect`` in prod, versioning, point-in-time recovery)."""

from __future__ import annotations

from collections.abc import Iterator

from policies.common import Context, Res, ResourceIndex, is_false, is_true, is_unknown, resource_rule, stack_rule

from ._helpers import (
    CLOUD_SQL,
    GCS_BUCKET,
    LOAD_BALANCERS,
    MEMORYSTORE,
    RDS_CLUSTER,
    RDS_INSTANCE,
    REPLICATION_GROUP,
    S3_BUCKETS,
    SERVERLESS_CACHE,
)

LOGGING = "logging"
BACKUP = "backup-and-data-loss"


def _is_alb(r: Res) -> bool:
    t = r.get("loadBalancerType")
    return t in (None, "application")


# -- logging -----------------------------------------------------------------------------------------------------
@resource_rule(
    "lb-access-logs", category=LOGGING, severity="medium", types=LOAD_BALANCERS,
    description="Application load balancers write access logs to S3.",
    remediation="Set access_logs={bucket: <log bucket>, enabled: True}; the bucket needs a policy admitting the "
                "region's ELB log-delivery principal and SSE-S3 encryption.",
)
def lb_access_logs(r: Res, ctx: Context) -> Iterator[str]:
    if not _is_alb(r):
        return
    enabled = r.get("accessLogs.enabled")
    if is_unknown(enabled):
        return
    if not r.has("accessLogs.bucket") or not is_true(enabled):
        yield "access logs are not enabled"


@stack_rule(
    "vpc-flow-logs-enabled", category=LOGGING, severity="medium",
    description="Every VPC has a flow log.",
    remediation="Add aws.ec2.FlowLog(vpc_id=vpc.id, traffic_type=\"ALL\", log_destination_type="
                "\"cloud-watch-logs\") to an encrypted log group with retention.",
)
def vpc_flow_logs(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    flow_logs = index.of_type("aws:ec2/flowLog:FlowLog")
    for vpc in index.of_type("aws:ec2/vpc:Vpc"):
        if not any(vpc in index.referenced(f, "vpcId", ("aws:ec2/vpc:Vpc",)) for f in flow_logs):
            yield vpc, "the VPC has no flow log"


@resource_rule(
    "gcp-subnet-flow-logs", category=LOGGING, severity="low", types=("gcp:compute/subnetwork:Subnetwork",),
    description="GCP subnetworks have VPC flow logs (log_config).",
    remediation="Set log_config={aggregation_interval: \"INTERVAL_5_SEC\", flow_sampling: 0.5, metadata: "
                "\"INCLUDE_ALL_METADATA\"}.",
)
def gcp_subnet_flow_logs(r: Res, ctx: Context) -> Iterator[str]:
    purpose = r.get("purpose") or "PRIVATE"
    if purpose not in ("PRIVATE", "PRIVATE_RFC_1918"):
        return  # proxy-only and PSC subnets do not support flow logs
    if is_unknown(r.get("logConfig")):
        return
    if not r.has("logConfig"):
        yield "logConfig is not set: no VPC flow logs"


@resource_rule(
    "log-group-retention", category=LOGGING, severity="medium", types=("aws:cloudwatch/logGroup:LogGroup",),
    description="CloudWatch log groups have a retention period (at least prodMinimumDays in prod).",
    remediation="Set retention_in_days (the stack's monitoring.logRetentionDays): e.g. 7 in dev, 365 in prod.",
    config={"prodMinimumDays": {"type": "integer", "default": 90, "minimum": 1,
                                "description": "Minimum retention in prod, in days."}},
)
def log_retention(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("retentionInDays")
    if is_unknown(v):
        return
    if not v:
        yield "retentionInDays is not set: logs are kept forever"
        return
    minimum = int(ctx.config.get("prodMinimumDays") or 0)
    if ctx.is_prod(r) and float(v) < minimum:
        yield f"retentionInDays is {int(float(v))}, below the prod minimum of {minimum}"


@resource_rule(
    "cloudtrail-log-validation", category=LOGGING, severity="medium", types=("aws:cloudtrail/trail:Trail",),
    description="CloudTrail trails validate their log files (digest files) and are logging.",
    remediation="Set enable_log_file_validation=True (and keep enable_logging=True).",
)
def cloudtrail_validation(r: Res, ctx: Context) -> Iterator[str]:
    if r.known("enableLogFileValidation") and not is_true(r.get("enableLogFileValidation")):
        yield "enableLogFileValidation is not true"
    if is_false(r.get("enableLogging")):
        yield "enableLogging is false"


# -- backups and data loss -----------------------------------------------------------------------------------
@resource_rule(
    "rds-backup-retention", category=BACKUP, severity="high", types=(RDS_INSTANCE, RDS_CLUSTER),
    description="RDS/Aurora automated backups are kept at least minimumDays (prodMinimumDays in prod); backups also "
                "give point-in-time recovery.",
    remediation="Set backup_retention_period (the stack's database.backupRetentionDays): 1+ days, 7+ in prod.",
    config={"minimumDays": {"type": "integer", "default": 1, "minimum": 0},
            "prodMinimumDays": {"type": "integer", "default": 7, "minimum": 0}},
)
def rds_backups(r: Res, ctx: Context) -> Iterator[str]:
    if r.has("replicateSourceDb"):
        return
    v = r.get("backupRetentionPeriod")
    if is_unknown(v):
        return
    days = int(float(v)) if v is not None else 1  # the AWS default when unset
    minimum = int(ctx.config.get("prodMinimumDays" if ctx.is_prod(r) else "minimumDays") or 0)
    if days < minimum:
        where = " in prod" if ctx.is_prod(r) else ""
        yield f"backupRetentionPeriod is {days} day(s), below the minimum of {minimum}{where}"


@resource_rule(
    "rds-deletion-protection", category=BACKUP, severity="high", types=(RDS_INSTANCE, RDS_CLUSTER),
    description="In prod, RDS instances and clusters have deletion protection (prod).",
    remediation="Set deletion_protection=True (the prod profile's database.deletionProtection).",
)
def rds_deletion_protection(r: Res, ctx: Context) -> Iterator[str]:
    if not ctx.is_prod(r) or r.has("replicateSourceDb"):
        return
    if r.known("deletionProtection") and not is_true(r.get("deletionProtection")):
        yield "deletionProtection is not true in prod"


@resource_rule(
    "rds-final-snapshot", category=BACKUP, severity="high", types=(RDS_INSTANCE, RDS_CLUSTER),
    description="In prod, deleting a database takes a final snapshot (prod).",
    remediation="Set skip_final_snapshot=False and a final_snapshot_identifier.",
)
def rds_final_snapshot(r: Res, ctx: Context) -> Iterator[str]:
    if not ctx.is_prod(r) or r.has("replicateSourceDb"):
        return
    if is_true(r.get("skipFinalSnapshot")):
        yield "skipFinalSnapshot is true in prod"


@resource_rule(
    "elasticache-snapshot-retention", category=BACKUP, severity="medium",
    types=(REPLICATION_GROUP, SERVERLESS_CACHE),
    description="In prod, Redis/Valkey replication groups and serverless caches keep automatic snapshots (prod).",
    remediation="Set snapshot_retention_limit to 1 or more (the prod profile's cache.snapshotRetentionDays).",
)
def elasticache_snapshots(r: Res, ctx: Context) -> Iterator[str]:
    if not ctx.is_prod(r) or str(r.get("engine") or "redis").lower() == "memcached":
        return
    v = r.get("snapshotRetentionLimit")
    if is_unknown(v):
        return
    if not v or float(v) < 1:
        yield "snapshotRetentionLimit is 0 in prod: no automatic backups"


@resource_rule(
    "lb-deletion-protection", category=BACKUP, severity="medium", types=LOAD_BALANCERS,
    description="In prod, load balancers have deletion protection (prod).",
    remediation="Set enable_deletion_protection=True.",
)
def lb_deletion_protection(r: Res, ctx: Context) -> Iterator[str]:
    if ctx.is_prod(r) and r.known("enableDeletionProtection") and not is_true(r.get("enableDeletionProtection")):
        yield "enableDeletionProtection is not true in prod"


STATEFUL = (RDS_INSTANCE, RDS_CLUSTER, REPLICATION_GROUP, SERVERLESS_CACHE, *S3_BUCKETS, "aws:kms/key:Key",
            "aws:dynamodb/table:Table", "aws:ebs/volume:Volume", "aws:efs/fileSystem:FileSystem", GCS_BUCKET,
            CLOUD_SQL, MEMORYSTORE, "gcp:kms/keyRing:KeyRing", "gcp:kms/cryptoKey:CryptoKey",
            "aws:docdb/cluster:Cluster")


def native_protection(r: Res) -> str | None:
    """The cloud's own guard against deleting the resource's data by accident, if it has one, else None.

    Deletion protection, a final snapshot taken on delete, a key deletion window, or a bucket that the cloud refuses
    to delete while it holds objects (no force_destroy).
    """
    t = r.type
    if t in (RDS_INSTANCE, RDS_CLUSTER, "aws:docdb/cluster:Cluster"):
        if is_true(r.get("deletionProtection")) or is_unknown(r.get("deletionProtection")):
            return "deletionProtection"
        if r.has("replicateSourceDb"):
            return "a read replica (its data lives in the source)"
        return None if is_true(r.get("skipFinalSnapshot")) else "a final snapshot on delete"
    if t == REPLICATION_GROUP:
        return "a final snapshot on delete" if r.has("finalSnapshotIdentifier") else None
    if t in S3_BUCKETS or t == GCS_BUCKET:
        return None if is_true(r.get("forceDestroy")) else "no force_destroy (a bucket with objects is not deleted)"
    if t == "aws:kms/key:Key":
        return "the key deletion window (7-30 days, cancellable)"
    if t in ("gcp:kms/keyRing:KeyRing", "gcp:kms/cryptoKey:CryptoKey"):
        return "Cloud KMS never deletes key rings and schedules key version destruction"
    if t == "aws:dynamodb/table:Table":
        return "deletionProtectionEnabled" if is_true(r.get("deletionProtectionEnabled")) else None
    if t == "aws:ebs/volume:Volume":
        return "a final snapshot on delete" if is_true(r.get("finalSnapshot")) else None
    if t == CLOUD_SQL:
        if is_true(r.get("settings.deletionProtectionEnabled")) or not is_false(r.get("deletionProtection")):
            return "deletion protection"
        return None
    return None


@resource_rule(
    "prod-stateful-protected", category=BACKUP, severity="high", types=STATEFUL, enforcement="advisory",
    description="In prod, stateful resources (databases, caches, buckets, keys, tables, volumes, file systems) are "
                "guarded against accidental deletion: the protect resource option, or the cloud's own deletion "
                "protection, final snapshot, key deletion window or non-force-destroy bucket (prod).",
    remediation="Pass opts=pulumi.ResourceOptions(protect=True), or enable the service's own guard "
                "(deletion_protection=True, a final snapshot, final_snapshot=True on EBS, no force_destroy on "
                "buckets). retain_on_delete is not visible to policy packs and does not count.",
    rationale="Advisory: Pulumi's protect option is a Pulumi practice, not a control of Checkov, FSBP or CIS, and "
              "the cloud's own guards count; mandatory for backend-hosting (config/backend-hosting.json), whose "
              "prod stacks protect every stateful resource.",
    config={"requireProtect": {"type": "boolean", "default": False,
                               "description": "Require the protect option even where the cloud's own guard is "
                                              "on."}},
)
def stateful_protected(r: Res, ctx: Context) -> Iterator[str]:
    if not ctx.is_prod(r) or r.protect:
        return
    if ctx.config.get("requireProtect"):
        yield "the resource is not protected (protect=True) in prod"
        return
    if native_protection(r) is None:
        yield "nothing guards the resource against deletion in prod (no protect option, no deletion protection)"


VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")


@stack_rule(
    "s3-bucket-versioning", category=BACKUP, severity="medium",
    description="Every S3 bucket has versioning enabled (a BucketVersioning with status Enabled).",
    remediation="Add aws.s3.BucketVersioning(bucket=bucket.id, versioning_configuration={\"status\": \"Enabled\"}) "
                "and a lifecycle rule expiring noncurrent versions.",
)
def s3_versioning(index: ResourceIndex, ctx: Context) -> Iterator[tuple[Res | None, str]]:
    vers = index.of_type(*VERSIONING)
    for bucket in index.of_type(*S3_BUCKETS):
        inline = bucket.get("versioning.enabled")
        if is_true(inline):
            continue
        mine = [v for v in vers if bucket in index.referenced(v, "bucket", S3_BUCKETS, ("bucket",))]
        if not mine:
            yield bucket, "the bucket has no BucketVersioning"
            continue
        for v in mine:
            status = v.get("versioningConfiguration.status")
            if not is_unknown(status) and status != "Enabled":
                yield bucket, f"its BucketVersioning {v.name!r} has status {status}"


@resource_rule(
    "gcs-bucket-versioning", category=BACKUP, severity="medium", types=(GCS_BUCKET,),
    description="Cloud Storage buckets keep object versions.",
    remediation="Set versioning={enabled: True} and a lifecycle rule deleting old noncurrent versions.",
)
def gcs_versioning(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("versioning.enabled")
    if is_unknown(v):
        return
    if not is_true(v):
        yield "versioning is not enabled"


@resource_rule(
    "cloudsql-backups", category=BACKUP, severity="high", types=(CLOUD_SQL,),
    description="Cloud SQL instances take automated backups; in prod with point-in-time recovery.",
    remediation="Set settings.backup_configuration={enabled: True, point_in_time_recovery_enabled: True} (binary "
                "logging for MySQL).",
)
def cloudsql_backups(r: Res, ctx: Context) -> Iterator[str]:
    if r.has("masterInstanceName"):
        return  # read replicas have no backups of their own
    enabled = r.get("settings.backupConfiguration.enabled")
    if is_unknown(enabled):
        return
    if not is_true(enabled):
        yield "settings.backupConfiguration.enabled is not true"
        return
    pitr = r.get("settings.backupConfiguration.pointInTimeRecoveryEnabled")
    binlog = r.get("settings.backupConfiguration.binaryLogEnabled")
    if ctx.is_prod(r) and not is_unknown(pitr) and not (is_true(pitr) or is_true(binlog)):
        yield "point-in-time recovery is not enabled in prod"


@resource_rule(
    "cloudsql-deletion-protection", category=BACKUP, severity="high", types=(CLOUD_SQL,),
    description="In prod, Cloud SQL instances have deletion protection: in Pulumi (deletion_protection, on by "
                "default) or in the API (settings.deletion_protection_enabled); both with requireApiProtection "
                "(prod).",
    remediation="Keep deletion_protection=True (Pulumi) and set settings.deletion_protection_enabled=True (API).",
    config={"requireApiProtection": {"type": "boolean", "default": False,
                                     "description": "Also require the API-level deletion protection."}},
    rationale="Mandatory when both guards are off (the instance can be deleted by one command); the API-level flag "
              "alone is required only by our own project's config.",
)
def cloudsql_deletion_protection(r: Res, ctx: Context) -> Iterator[str]:
    if not ctx.is_prod(r):
        return
    api = r.get("settings.deletionProtectionEnabled")
    pulumi_off = is_false(r.get("deletionProtection"))
    if ctx.config.get("requireApiProtection"):
        if pulumi_off:
            yield "deletionProtection is false in prod"
        if not is_unknown(api) and not is_true(api):
            yield "settings.deletionProtectionEnabled is not true in prod"
    elif pulumi_off and not is_unknown(api) and not is_true(api):
        yield "neither deletionProtection nor settings.deletionProtectionEnabled is on in prod"


@resource_rule(
    "dynamodb-pitr-enabled", category=BACKUP, severity="medium", types=("aws:dynamodb/table:Table",),
    description="DynamoDB tables have point-in-time recovery.",
    remediation="Set point_in_time_recovery={enabled: True}.",
)
def dynamodb_pitr(r: Res, ctx: Context) -> Iterator[str]:
    v = r.get("pointInTimeRecovery.enabled")
    if is_unknown(v):
        return
    if not is_true(v):
        yield "pointInTimeRecovery is not enabled"


RULES = [
    lb_access_logs, vpc_flow_logs, gcp_subnet_flow_logs, log_retention, cloudtrail_validation,
    rds_backups, rds_deletion_protection, rds_final_snapshot, elasticache_snapshots, lb_deletion_protection,
    stateful_protected, s3_versioning, gcs_versioning, cloudsql_backups, cloudsql_deletion_protection, dynamodb_pitr,
]
