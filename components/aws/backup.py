"""Disaster recovery on AWS: an AWS Backup vault pair with vault locks, a plan copying every recovery point to
the DR region, RDS automated-backup replication and S3 replication to the DR region.

:class:`BackupPlan` backs up resources by ARN (the database, the buckets) once a day into a KMS-encrypted vault
and copies each recovery point to a vault in the DR region; both vaults are locked (minimum and maximum
retention) so nobody, the deploy role included, deletes a recovery point early. :func:`replicate_database`
replicates an RDS instance's automated backups (snapshots and transaction logs: point-in-time restore in the
DR region). :class:`BucketReplica` replicates a bucket to a versioned, KMS-encrypted bucket in the DR region
with S3 Replication Time Control (15-minute objective). Every DR-region resource takes the DR provider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from .bucket import Bucket, BucketArgs
from .common import aws_context, child_opts, policy_json, service_principal_policy, tag_set
from .kms import EncryptionKey, EncryptionKeyArgs

RDS_BACKUP_ACTIONS = ["rds:CreateDBSnapshot", "rds:CreateDBClusterSnapshot", "rds:CopyDBSnapshot",
                      "rds:CopyDBClusterSnapshot", "rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots",
                      "rds:DeleteDBSnapshot", "rds:DeleteDBClusterSnapshot", "rds:AddTagsToResource",
                      "rds:ListTagsForResource", "rds:DescribeDBInstances", "rds:DescribeDBClusters",
                      "rds:ModifyDBSnapshotAttribute", "rds:ModifyDBClusterSnapshotAttribute"]
"""What AWS Backup does to back up and copy RDS/Aurora (from AWSBackupServiceRolePolicyForBackup, resource-scoped)."""
S3_BACKUP_BUCKET_ACTIONS = ["s3:GetBucketTagging", "s3:GetInventoryConfiguration", "s3:PutInventoryConfiguration",
                            "s3:ListBucketVersions", "s3:ListBucket", "s3:GetBucketVersioning", "s3:GetBucketLocation",
                            "s3:GetBucketAcl", "s3:GetBucketNotification", "s3:PutBucketNotification"]
S3_BACKUP_OBJECT_ACTIONS = ["s3:GetObject", "s3:GetObjectAcl", "s3:GetObjectTagging", "s3:GetObjectVersion",
                            "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"]
"""What AWS Backup reads to back up S3 (from AWSBackupServiceRolePolicyForS3Backup, resource-scoped). Restores run
as the operator (docs/runbook.md), so this role has no restore permissions."""
COMPLIANCE_COOL_OFF_DAYS = 3
"""A compliance-mode lock becomes immutable after this many days (the minimum AWS allows)."""


def _dr_opts(parent: pulumi.Resource, provider: aws.Provider, **kwargs: object) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(child_opts(parent, **kwargs), pulumi.ResourceOptions(provider=provider))


@dataclass
class BackupPlanArgs:
    """Arguments of :class:`BackupPlan`."""

    resources: Sequence[pulumi.Input[str]]
    """ARNs of what to back up (the RDS instance or Aurora cluster, the S3 buckets)."""
    dr_provider: aws.Provider
    """Provider of the DR region (the copies' vault)."""
    bucket_arns: Sequence[pulumi.Input[str]] = ()
    """Which of ``resources`` are S3 buckets (the role may read them and their objects)."""
    schedule: str = "cron(0 5 * * ? *)"
    """When the daily backup starts (UTC), after the database's own backup window."""
    retention_days: int = 35
    """How long each recovery point (and its copy) is kept."""
    vault_lock: Literal["governance", "compliance"] = "governance"
    """Lock mode of both vaults; see docs/decisions (DR) for the choice."""
    permissions_boundary: pulumi.Input[str] | None = None
    """Permissions boundary of the AWS Backup role."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""
    protect: bool = False
    """Pulumi ``protect`` on the vaults and keys (prod)."""

    def __post_init__(self) -> None:
        if not self.resources:
            raise ValueError("BackupPlanArgs.resources: nothing to back up")
        if not 7 <= self.retention_days <= 3650:
            raise ValueError(f"BackupPlanArgs.retention_days {self.retention_days}: use 7 to 3650")
        if self.vault_lock not in ("governance", "compliance"):
            raise ValueError(f"BackupPlanArgs.vault_lock {self.vault_lock!r}: governance or compliance")


class BackupPlan(pulumi.ComponentResource):
    """Two locked, KMS-encrypted vaults (primary and DR region) and a daily plan with a copy to the DR vault."""

    vault: aws.backup.Vault
    dr_vault: aws.backup.Vault
    plan: aws.backup.Plan

    @staticmethod
    def _role_policy(ctx: object, args: BackupPlanArgs, vault_keys: list[pulumi.Output[str]],
                     dr_region: pulumi.Output[str]) -> pulumi.Output[str]:
        return _scoped_policy(ctx, args, vault_keys, dr_region)

    def __init__(self, name: str, args: BackupPlanArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:BackupPlan", name, None, opts)
        tags = args.tags
        ctx = aws_context(self)
        key = EncryptionKey(f"{name}-vault", EncryptionKeyArgs(
            description=f"{name}: backup vault", via_services=("backup",), tags=tags, protect=args.protect),
            opts=child_opts(self))
        dr_key = EncryptionKey(f"{name}-dr-vault", EncryptionKeyArgs(
            description=f"{name}: backup vault in the DR region", via_services=("backup",), tags=tags,
            protect=args.protect), opts=_dr_opts(self, args.dr_provider))
        self.vault = aws.backup.Vault(f"{name}-vault", name=f"{name}-vault", kms_key_arn=key.arn,
                                      tags=tag_set(tags, f"{name}-vault"),
                                      opts=child_opts(self, protect=args.protect))
        self.dr_vault = aws.backup.Vault(f"{name}-dr-vault", name=f"{name}-dr-vault", kms_key_arn=dr_key.arn,
                                         tags=tag_set(tags, f"{name}-dr-vault"),
                                         opts=_dr_opts(self, args.dr_provider, protect=args.protect))
        cool_off = COMPLIANCE_COOL_OFF_DAYS if args.vault_lock == "compliance" else None
        for vault, popts in ((self.vault, child_opts(self)), (self.dr_vault, _dr_opts(self, args.dr_provider))):
            aws.backup.VaultLockConfiguration(
                f"{vault._name}-lock", backup_vault_name=vault.name, min_retention_days=7,
                max_retention_days=max(args.retention_days, 7), changeable_for_days=cool_off, opts=popts)
        self.plan = aws.backup.Plan(f"{name}-plan", name=f"{name}-plan", rules=[{
            "rule_name": "daily-with-dr-copy", "target_vault_name": self.vault.name, "schedule": args.schedule,
            "start_window": 60, "completion_window": 480, "lifecycle": {"delete_after": args.retention_days},
            "copy_actions": [{"destination_vault_arn": self.dr_vault.arn,
                              "lifecycle": {"delete_after": args.retention_days}}],
            "recovery_point_tags": {"backup-plan": f"{name}-plan"},
        }], tags=tag_set(tags, f"{name}-plan"), opts=child_opts(self))
        role = aws.iam.Role(
            f"{name}-backup", description=f"AWS Backup of {name}: back up, copy and restore",
            assume_role_policy=service_principal_policy("backup.amazonaws.com", source_account=ctx.account_id),
            permissions_boundary=args.permissions_boundary, tags=tag_set(tags, f"{name}-backup"),
            opts=child_opts(self))
        aws.iam.RolePolicy(f"{name}-backup", role=role.id, policy=self._role_policy(
            ctx, args, [key.arn, dr_key.arn], aws_context(dr_key).region),
                           opts=child_opts(self))
        aws.backup.Selection(f"{name}-selection", name=f"{name}-selection", plan_id=self.plan.id,
                             iam_role_arn=role.arn, resources=list(args.resources), opts=child_opts(self))
        self.register_outputs({"vault": self.vault.name, "dr_vault_arn": self.dr_vault.arn,
                               "plan_id": self.plan.id})


def _scoped_policy(ctx: object, args: BackupPlanArgs, vault_keys: list[pulumi.Output[str]],
                   dr_region: pulumi.Output[str]) -> pulumi.Output[str]:
    """The backup role's inline policy: RDS snapshots of this account, the selected buckets and their objects,
    AWS Backup's own event rules, the vault keys and the data keys through their services."""
    c = ctx  # AwsContext
    acct = c.account_id  # type: ignore[attr-defined]
    part = c.partition  # type: ignore[attr-defined]
    region = c.region  # type: ignore[attr-defined]
    regions = [region, dr_region]
    rds = [pulumi.Output.concat("arn:", part, ":rds:", region, ":", acct, ":", kind, ":*")
           for kind in ("db", "cluster")]
    snapshots = [pulumi.Output.concat("arn:", part, ":rds:*:", acct, ":", kind, ":awsbackup:*")
                 for kind in ("snapshot", "cluster-snapshot")]
    buckets = list(args.bucket_arns)
    statements: list[dict[str, object]] = [
        {"Sid": "RdsSnapshots", "Effect": "Allow", "Action": RDS_BACKUP_ACTIONS, "Resource": [*rds, *snapshots]},
    ]
    if buckets:
        statements += [
            {"Sid": "S3Buckets", "Effect": "Allow", "Action": S3_BACKUP_BUCKET_ACTIONS, "Resource": buckets},
            {"Sid": "S3Objects", "Effect": "Allow", "Action": S3_BACKUP_OBJECT_ACTIONS,
             "Resource": [pulumi.Output.concat(b, "/*") for b in buckets]}]
    statements += [
        {"Sid": "BackupEventRules", "Effect": "Allow",
         "Action": ["events:PutRule", "events:DeleteRule", "events:DescribeRule", "events:PutTargets",
                    "events:RemoveTargets", "events:ListTargetsByRule", "events:EnableRule", "events:DisableRule"],
         "Resource": pulumi.Output.concat("arn:", part, ":events:", region, ":", acct, ":rule/AwsBackupManagedRule*")},
        {"Sid": "KeysThroughServices", "Effect": "Allow",
         "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:CreateGrant",
                    "kms:ReEncryptFrom", "kms:ReEncryptTo"],
         "Resource": [pulumi.Output.concat("arn:", part, ":kms:", r, ":", acct, ":key/*") for r in regions],
         "Condition": {"StringEquals": {"kms:ViaService": [
             pulumi.Output.concat(svc, ".", r, ".amazonaws.com")
             for r in regions for svc in ("s3", "rds", "backup")]}}},
    ]
    return policy_json(statements)


class DatabaseBackupReplica(pulumi.ComponentResource):
    """An RDS instance's automated backups (snapshots and transaction logs) replicated to the DR region and
    encrypted with a key there: point-in-time restore in the DR region."""

    replication: aws.rds.InstanceAutomatedBackupsReplication

    def __init__(self, name: str, *, instance_arn: pulumi.Input[str], retention_days: int, dr_provider: aws.Provider,
                 tags: Mapping[str, str], protect: bool, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:DatabaseBackupReplica", name, None, opts)
        key = EncryptionKey(f"{name}-dr-backups", EncryptionKeyArgs(
            description=f"{name}: replicated automated backups in the DR region", via_services=("rds",), tags=tags,
            protect=protect), opts=_dr_opts(self, dr_provider))
        self.replication = aws.rds.InstanceAutomatedBackupsReplication(
            f"{name}-dr-backups", source_db_instance_arn=instance_arn, kms_key_id=key.arn,
            retention_period=retention_days, opts=_dr_opts(self, dr_provider, protect=protect))
        self.register_outputs({"replication_arn": self.replication.id})


@dataclass
class BucketReplicaArgs:
    """Arguments of :class:`BucketReplica`."""

    source: Bucket
    """The bucket to replicate (versioned, SSE-KMS with its key)."""
    dr_provider: aws.Provider
    """Provider of the DR region."""
    permissions_boundary: pulumi.Input[str] | None = None
    """Permissions boundary of the replication role."""
    noncurrent_version_days: int = 30
    """Lifecycle of the replica's noncurrent versions."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""
    protect: bool = False
    """Pulumi ``protect`` on the replica bucket and its key (prod)."""


class BucketReplica(pulumi.ComponentResource):
    """A versioned, KMS-encrypted replica bucket in the DR region and the replication (RTC, deletes too)."""

    replica: Bucket
    replication: aws.s3.BucketReplicationConfig

    def __init__(self, name: str, args: BucketReplicaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:BucketReplica", name, None, opts)
        src = args.source
        if src.kms_key_arn is None:
            raise ValueError(f"{name}: the source bucket must be SSE-KMS (encryption='kms')")
        ctx = aws_context(self)
        self.replica = Bucket(f"{name}-dr", BucketArgs(
            noncurrent_version_days=args.noncurrent_version_days, tags=args.tags, protect=args.protect),
            opts=_dr_opts(self, args.dr_provider))
        role = aws.iam.Role(
            f"{name}-replication", description=f"S3 replicates {name} to the DR region",
            assume_role_policy=service_principal_policy("s3.amazonaws.com", source_account=ctx.account_id),
            permissions_boundary=args.permissions_boundary, tags=tag_set(args.tags, f"{name}-replication"),
            opts=child_opts(self))
        dst = self.replica
        policy = aws.iam.RolePolicy(f"{name}-replication", role=role.id, policy=policy_json([
            {"Sid": "ReadSource", "Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
             "Resource": src.arn},
            {"Sid": "ReadSourceVersions", "Effect": "Allow",
             "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
             "Resource": pulumi.Output.concat(src.arn, "/*")},
            {"Sid": "WriteReplica", "Effect": "Allow",
             "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
             "Resource": pulumi.Output.concat(dst.arn, "/*")},
            {"Sid": "DecryptSource", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": src.kms_key_arn,
             "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                 "s3.", ctx.region, ".", ctx.dns_suffix)}}},
            {"Sid": "EncryptReplica", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
             "Resource": dst.kms_key_arn, "Condition": {"StringEquals": {"kms:ViaService": pulumi.Output.concat(
                 "s3.", aws_context(dst).region, ".", ctx.dns_suffix)}}},
        ]), opts=child_opts(self))
        self.replication = aws.s3.BucketReplicationConfig(
            f"{name}-replication", bucket=src.bucket.id, role=role.arn, rules=[{
                "id": "to-dr-region", "status": "Enabled", "priority": 1, "filter": {"prefix": ""},
                "delete_marker_replication": {"status": "Enabled"},
                "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                "destination": {
                    "bucket": dst.arn, "storage_class": "STANDARD",
                    "encryption_configuration": {"replica_kms_key_id": dst.kms_key_arn},
                    "replication_time": {"status": "Enabled", "time": {"minutes": 15}},
                    "metrics": {"status": "Enabled", "event_threshold": {"minutes": 15}},
                },
            }], opts=child_opts(self, depends_on=[src.versioning, dst.versioning, policy]))
        self.register_outputs({"replica": dst.name, "replica_arn": dst.arn})
