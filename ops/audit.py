"""``python -m ops audit STACK``: the security pack's rules over what the account holds now.

The stack's live resources are found the way ``ops drift`` finds them (the Resource Groups Tagging API, filtered on
the stack's ``environment`` and ``managed-by=pulumi`` tags); each one is described with the service's own read
calls and mapped onto the Pulumi type token and camelCase input properties the security pack reads (an S3 bucket
becomes an ``aws:s3/bucket:Bucket`` plus the ``BucketPublicAccessBlock``, ``BucketServerSideEncryptionConfiguration``,
``BucketVersioning``, ``BucketPolicy``, ``BucketOwnershipControls`` and ``BucketAcl`` its settings amount to; an RDS
instance an ``aws:rds/instance:Instance`` with ``publiclyAccessible``, ``storageEncrypted``...). The resulting
resources are judged in-process by the pack's own rules (``review.policy_runner.run_pack``: resource rules per
resource, stack rules over the index), with the stack's environment and waivers: no rule is written twice.

Rules about what only Pulumi knows (the ``protect`` option, the stack file's waivers) are not run live; see
:data:`NOT_LIVE_RULES`. Kinds of resources without a mapping are listed as not judged.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policies.common import SECRET_MARKER, Pack, Res, StackInfo

from .drift import NAME_TAG, TYPE_KIND, arn_kind, arn_physical_name, live_resources

NOT_LIVE_RULES: dict[str, str] = {
    "prod-stateful-protected": "protect is a Pulumi resource option, kept in the state, not in the account",
    "waiver-valid": "waivers are stack-file content, judged by python -m review",
    "waiver-audit": "unused waivers are judged by python -m review over the whole declared stack",
}
"""Security rules the audit does not run, and why."""

MAX_ATTEMPTS = 8
"""Attempts per AWS call, the first included (botocore's adaptive retry mode: exponential backoff with jitter and
client-side rate limiting once the service throttles)."""

THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException",
})
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
                          "AuthorizationErrorException", "UnrecognizedClientException", "InvalidClientTokenId",
                          "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch"})

BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ACCOUNT_PAB = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_PG = "aws:rds/parameterGroup:ParameterGroup"
RDS_CPG = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
KMS_KEY = "aws:kms/key:Key"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
SERVERLESS_CACHE = "aws:elasticache/serverlessCache:ServerlessCache"
CACHE_USER = "aws:elasticache/user:User"
ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TOPIC = "aws:sns/topic:Topic"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
ECR_REPOSITORY = "aws:ecr/repository:Repository"

DESCRIBED_WITH: dict[str, str] = {
    "ec2:vpc-flow-log": "its VPC",
    "ec2:security-group-rule": "its security group",
    "rds:pg": "the database that uses it",
    "rds:cluster-pg": "the cluster that uses it",
    "elasticloadbalancing:listener": "its load balancer",
    "ecs:task-definition": "the service that runs it (other revisions are not running)",
}
"""Kinds judged through the resource they belong to, not on their own."""


class AuditError(Exception):
    """The audit could not run: no credentials, access denied, throttled, or an AWS error (one line, exit 2)."""


def client_config(max_attempts: int | None = None) -> Any:
    """The botocore config of every client: adaptive retries (backoff and client-side rate limiting)."""
    from botocore.config import Config

    return Config(retries={"mode": "adaptive", "total_max_attempts": max_attempts or MAX_ATTEMPTS})


def one_line_error(exc: BaseException, max_attempts: int | None = None) -> str:
    """What an AWS failure means, on one line, for the user (credentials, permissions, throttling, other)."""
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return ("no AWS credentials: set AWS_PROFILE (or --profile), or run where a role provides them (the audit "
                "needs read-only access, e.g. the SecurityAudit managed policy)")
    if isinstance(exc, NoRegionError):
        return "no AWS region: pass --region"
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = " ".join(str(err.get("Message", "")).split())
        op = exc.operation_name
        if code in THROTTLING_CODES:
            return (f"AWS throttled {op} ({code}) through {max_attempts or MAX_ATTEMPTS} attempts with backoff: "
                    "try again later, or lower the account's other API traffic")
        if code in DENIED_CODES or code.startswith("AccessDenied"):
            return (f"access denied to {op} ({code}): the audit needs read-only access to every audited service "
                    f"(e.g. the SecurityAudit managed policy plus tag:GetResources){': ' + message if message else ''}")
        return f"{op} failed: {code}: {message}"
    return " ".join(str(exc).split()) or type(exc).__name__


# -------------------------------------------------------------------------------------------------------------
# Live resources -> policy views
# -------------------------------------------------------------------------------------------------------------

@dataclass
class LiveItem:
    """One resource the tagging API returned."""

    arn: str
    kind: str
    tags: dict[str, str]

    @property
    def name_tag(self) -> str:
        """The ``Name`` tag ('' when absent)."""
        return self.tags.get(NAME_TAG, "")


def _bool(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "enabled", "yes")


def _account(arn: str) -> str:
    """The account ID field of an ARN."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _drop_none(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if v is not None}


class Describer:
    """Describes live resources with boto3 and builds the :class:`Res` views the security rules read."""

    def __init__(self, session: Any, region: str, names: Mapping[tuple[str, str], str] | None = None, *,
                 max_attempts: int | None = None) -> None:
        self.session = session
        self.region = region
        self.names = dict(names or {})
        self.config = client_config(max_attempts)
        self._clients: dict[str, Any] = {}
        self.resources: list[Res] = []
        self.not_judged: Counter[str] = Counter()
        self.gone: list[str] = []
        self._seen: set[str] = set()

    # -- plumbing ----------------------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A client of the service in the audited region, with the retry config."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region, config=self.config)
        return self._clients[service]

    def call(self, service: str, operation: str, absent: Iterable[str] = (), **kwargs: Any) -> dict[str, Any] | None:
        """``client.operation(**kwargs)``; None when the error code says the thing is absent (``absent``)."""
        from botocore.exceptions import ClientError

        try:
            return getattr(self.client(service), operation)(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in set(absent):
                return None
            raise

    def pages(self, service: str, operation: str, key: str, **kwargs: Any) -> list[Any]:
        """Every item under ``key`` of every page."""
        out: list[Any] = []
        for page in self.client(service).get_paginator(operation).paginate(**kwargs):
            out.extend(page.get(key, []))
        return out

    def label(self, item: LiveItem, fallback: str) -> str:
        """The resource's name for findings and waivers: the declared resource's name when its kind and ``Name`` tag
        match one, else the ``Name`` tag, else ``fallback`` (the physical name)."""
        return self.names.get((item.kind, item.name_tag)) or item.name_tag or fallback

    def add(self, type_: str, name: str, urn: str, props: Mapping[str, Any], *, id: str | None = None) -> Res:
        """Record one resource view (a URN seen twice is kept once)."""
        res = Res(type_, name, urn, _drop_none(props), id=id)
        if urn not in self._seen:
            self._seen.add(urn)
            self.resources.append(res)
        return res

    # -- entry point -------------------------------------------------------------------------------------------
    def describe(self, items: Sequence[LiveItem]) -> None:
        """Describe every live item whose kind has a mapping; count the others as not judged."""
        by_kind: dict[str, list[LiveItem]] = {}
        for it in items:
            by_kind.setdefault(it.kind, []).append(it)
        handlers: dict[str, Callable[[list[LiveItem]], None]] = {
            "s3:bucket": self.s3_buckets, "rds:db": self.rds_instances, "rds:cluster": self.rds_clusters,
            "ec2:security-group": self.security_groups, "ec2:vpc": self.vpcs, "kms:key": self.kms_keys,
            "elasticache:replicationgroup": self.replication_groups,
            "elasticache:serverlesscache": self.serverless_caches, "elasticache:user": self.cache_users,
            "ecs:service": self.ecs_services, "elasticloadbalancing:loadbalancer": self.load_balancers,
            "wafv2:webacl": self.web_acls, "logs:log-group": self.log_groups, "sns:topic": self.topics,
            "secretsmanager:secret": self.secrets, "ecr:repository": self.repositories,
        }
        for kind in sorted(by_kind):
            handler = handlers.get(kind)
            if handler is not None:
                handler(by_kind[kind])
            elif kind not in DESCRIBED_WITH:
                self.not_judged[kind] += len(by_kind[kind])
        if "s3:bucket" in by_kind:
            self.account_public_access_block()

    # -- S3 ----------------------------------------------------------------------------------------------------
    def s3_buckets(self, items: list[LiveItem]) -> None:
        """A bucket and the companion resources its settings amount to (as the Bucket component declares them)."""
        for it in items:
            bucket = arn_physical_name(it.arn)
            name = self.label(it, bucket)
            ref = {"bucket": bucket}
            where = self.call("s3", "get_bucket_location", absent=("NoSuchBucket",), Bucket=bucket)
            if where is None:
                self.gone.append(it.arn)
                continue
            region = where.get("LocationConstraint") or "us-east-1"
            if {"EU": "eu-west-1"}.get(region, region) != self.region:
                self.not_judged[f"s3:bucket in another region ({region})"] += 1
                continue  # its settings are read, and judged, by an audit of that region
            self.add(BUCKET, name, it.arn, {"bucket": bucket, "tags": it.tags}, id=bucket)
            pab = self.call("s3", "get_public_access_block", absent=("NoSuchPublicAccessBlockConfiguration",),
                            Bucket=bucket)
            if pab is not None:
                cfg = pab.get("PublicAccessBlockConfiguration", {})
                self.add(PAB, name, f"{it.arn}#public-access-block", {
                    **ref, "blockPublicAcls": cfg.get("BlockPublicAcls", False),
                    "blockPublicPolicy": cfg.get("BlockPublicPolicy", False),
                    "ignorePublicAcls": cfg.get("IgnorePublicAcls", False),
                    "restrictPublicBuckets": cfg.get("RestrictPublicBuckets", False)})
            enc = self.call("s3", "get_bucket_encryption", absent=("ServerSideEncryptionConfigurationNotFoundError",),
                            Bucket=bucket)
            if enc is not None:
                rules = []
                for rule in enc.get("ServerSideEncryptionConfiguration", {}).get("Rules", []):
                    default = rule.get("ApplyServerSideEncryptionByDefault", {})
                    rules.append(_drop_none({
                        "applyServerSideEncryptionByDefault": _drop_none({
                            "sseAlgorithm": default.get("SSEAlgorithm"),
                            "kmsMasterKeyId": default.get("KMSMasterKeyID")}),
                        "bucketKeyEnabled": rule.get("BucketKeyEnabled")}))
                self.add(SSE, name, f"{it.arn}#encryption", {**ref, "rules": rules})
            ver = self.call("s3", "get_bucket_versioning", Bucket=bucket) or {}
            if ver.get("Status"):
                self.add(VERSIONING, name, f"{it.arn}#versioning",
                         {**ref, "versioningConfiguration": _drop_none({"status": ver["Status"],
                                                                        "mfaDelete": ver.get("MFADelete")})})
            pol = self.call("s3", "get_bucket_policy", absent=("NoSuchBucketPolicy",), Bucket=bucket)
            if pol is not None:
                self.add(BUCKET_POLICY, name, f"{it.arn}#policy", {**ref, "policy": pol.get("Policy", "")})
            own = self.call("s3", "get_bucket_ownership_controls", absent=("OwnershipControlsNotFoundError",),
                            Bucket=bucket)
            if own is not None:
                rules = own.get("OwnershipControls", {}).get("Rules", [])
                if rules:
                    self.add(OWNERSHIP, name, f"{it.arn}#ownership",
                             {**ref, "rule": {"objectOwnership": rules[0].get("ObjectOwnership")}})
            acl = self.call("s3", "get_bucket_acl", Bucket=bucket) or {}
            grants = [{"grantee": _drop_none({"type": g.get("Grantee", {}).get("Type"),
                                              "uri": g.get("Grantee", {}).get("URI"),
                                              "id": g.get("Grantee", {}).get("ID")}),
                       "permission": g.get("Permission")} for g in acl.get("Grants", [])]
            self.add(BUCKET_ACL, name, f"{it.arn}#acl", {**ref, "accessControlPolicy": {"grants": grants}})

    def account_public_access_block(self) -> None:
        """The account-level S3 public access block (which, all four on, covers every bucket)."""
        account = (self.call("sts", "get_caller_identity") or {}).get("Account")
        if not account:
            return
        got = self.call("s3control", "get_public_access_block", absent=("NoSuchPublicAccessBlockConfiguration",),
                        AccountId=account)
        if got is None:
            return
        cfg = got.get("PublicAccessBlockConfiguration", {})
        self.add(ACCOUNT_PAB, f"account-{account}", f"arn:aws:s3:::account/{account}#public-access-block", {
            "blockPublicAcls": cfg.get("BlockPublicAcls", False), "blockPublicPolicy": cfg.get("BlockPublicPolicy",
                                                                                                False),
            "ignorePublicAcls": cfg.get("IgnorePublicAcls", False),
            "restrictPublicBuckets": cfg.get("RestrictPublicBuckets", False)})

    # -- RDS ---------------------------------------------------------------------------------------------------
    def rds_instances(self, items: list[LiveItem]) -> None:
        """DB instances (cluster members as cluster instances) and their non-default parameter groups."""
        for it in items:
            ident = arn_physical_name(it.arn)
            got = self.call("rds", "describe_db_instances", absent=("DBInstanceNotFound", "DBInstanceNotFoundFault"),
                            DBInstanceIdentifier=ident)
            dbs = (got or {}).get("DBInstances", [])
            if not dbs:
                self.gone.append(it.arn)
                continue
            db = dbs[0]
            name = self.label(it, ident)
            groups = [g.get("DBParameterGroupName") for g in db.get("DBParameterGroups", [])]
            group = next((g for g in groups if g and not g.startswith("default.")), None)
            props = {
                "identifier": ident, "engine": db.get("Engine"), "engineVersion": db.get("EngineVersion"),
                "instanceClass": db.get("DBInstanceClass"), "publiclyAccessible": db.get("PubliclyAccessible", False),
                "storageEncrypted": db.get("StorageEncrypted", False), "kmsKeyId": db.get("KmsKeyId"),
                "deletionProtection": db.get("DeletionProtection", False),
                "backupRetentionPeriod": db.get("BackupRetentionPeriod", 0), "multiAz": db.get("MultiAZ", False),
                "replicateSourceDb": db.get("ReadReplicaSourceDBInstanceIdentifier"),
                "iamDatabaseAuthenticationEnabled": db.get("IAMDatabaseAuthenticationEnabled"),
                "performanceInsightsEnabled": db.get("PerformanceInsightsEnabled"),
                "monitoringInterval": db.get("MonitoringInterval"),
                "autoMinorVersionUpgrade": db.get("AutoMinorVersionUpgrade"),
                "copyTagsToSnapshot": db.get("CopyTagsToSnapshot"),
                "enabledCloudwatchLogsExports": db.get("EnabledCloudwatchLogsExports"),
                "parameterGroupName": group, "tags": it.tags,
            }
            if db.get("DBClusterIdentifier"):
                props["clusterIdentifier"] = db["DBClusterIdentifier"]
                self.add(RDS_CLUSTER_INSTANCE, name, it.arn, props, id=ident)
                continue
            self.add(RDS_INSTANCE, name, it.arn, props, id=ident)
            if group:
                self.parameter_group(group, _account(it.arn), cluster=False)

    def rds_clusters(self, items: list[LiveItem]) -> None:
        """Aurora / Multi-AZ DB clusters and their non-default cluster parameter groups."""
        for it in items:
            ident = arn_physical_name(it.arn)
            got = self.call("rds", "describe_db_clusters", absent=("DBClusterNotFoundFault", "DBClusterNotFound"),
                            DBClusterIdentifier=ident)
            clusters = (got or {}).get("DBClusters", [])
            if not clusters:
                self.gone.append(it.arn)
                continue
            c = clusters[0]
            group = c.get("DBClusterParameterGroup")
            group = group if group and not group.startswith("default.") else None
            self.add(RDS_CLUSTER, self.label(it, ident), it.arn, {
                "clusterIdentifier": ident, "engine": c.get("Engine"), "engineVersion": c.get("EngineVersion"),
                "engineMode": c.get("EngineMode"), "storageEncrypted": c.get("StorageEncrypted", False),
                "kmsKeyId": c.get("KmsKeyId"), "deletionProtection": c.get("DeletionProtection", False),
                "backupRetentionPeriod": c.get("BackupRetentionPeriod", 0),
                "replicationSourceIdentifier": c.get("ReplicationSourceIdentifier"),
                "iamDatabaseAuthenticationEnabled": c.get("IAMDatabaseAuthenticationEnabled"),
                "dbClusterParameterGroupName": group, "tags": it.tags}, id=ident)
            if group:
                self.parameter_group(group, _account(it.arn), cluster=True)

    def parameter_group(self, group: str, account: str, *, cluster: bool) -> None:
        """A (cluster) parameter group with the parameters set in it (source ``user``)."""
        type_, urn = (RDS_CPG, f"arn:aws:rds:{self.region}:{account}:cluster-pg:{group}") if cluster else (
            RDS_PG, f"arn:aws:rds:{self.region}:{account}:pg:{group}")
        if urn in self._seen:
            return
        tags = {t.get("Key", ""): t.get("Value", "") for t in (self.call(
            "rds", "list_tags_for_resource", absent=("DBParameterGroupNotFound", "DBParameterGroupNotFoundFault"),
            ResourceName=urn) or {}).get("TagList", [])}
        if cluster:
            params = self.pages("rds", "describe_db_cluster_parameters", "Parameters",
                                DBClusterParameterGroupName=group, Source="user")
        else:
            params = self.pages("rds", "describe_db_parameters", "Parameters", DBParameterGroupName=group,
                                Source="user")
        label = self.names.get(("rds:cluster-pg" if cluster else "rds:pg", tags.get(NAME_TAG, ""))) or group
        self.add(type_, label, urn, {"name": group, "tags": tags, "parameters": [
            _drop_none({"name": p.get("ParameterName"), "value": p.get("ParameterValue"),
                        "applyMethod": p.get("ApplyMethod")}) for p in params if p.get("ParameterName")]}, id=group)

    # -- EC2 ---------------------------------------------------------------------------------------------------
    def security_groups(self, items: list[LiveItem]) -> None:
        """Security groups and one rule resource per ingress/egress rule (the VPC's default group with its rules
        inline, as ``aws.ec2.DefaultSecurityGroup`` declares it)."""
        for it in items:
            group_id = arn_physical_name(it.arn)
            got = self.call("ec2", "describe_security_groups",
                            absent=("InvalidGroup.NotFound", "InvalidGroupId.Malformed"), GroupIds=[group_id])
            groups = (got or {}).get("SecurityGroups", [])
            if not groups:
                self.gone.append(it.arn)
                continue
            sg = groups[0]
            name = self.label(it, sg.get("GroupName", group_id))
            if sg.get("GroupName") == "default":
                self.add(DEFAULT_SG, name, it.arn, {
                    "vpcId": sg.get("VpcId"), "tags": it.tags,
                    "ingress": [_inline_rule(p) for p in sg.get("IpPermissions", [])],
                    "egress": [_inline_rule(p) for p in sg.get("IpPermissionsEgress", [])]}, id=group_id)
                continue
            self.add(SECURITY_GROUP, name, it.arn, {"name": sg.get("GroupName"), "description": sg.get("Description"),
                                                    "vpcId": sg.get("VpcId"), "tags": it.tags}, id=group_id)
            rules = self.pages("ec2", "describe_security_group_rules", "SecurityGroupRules",
                               Filters=[{"Name": "group-id", "Values": [group_id]}])
            for rule in sorted(rules, key=lambda r: r.get("SecurityGroupRuleId", "")):
                rid = rule.get("SecurityGroupRuleId", "")
                ref = rule.get("ReferencedGroupInfo") or {}
                tag = next((t.get("Value", "") for t in rule.get("Tags", []) if t.get("Key") == NAME_TAG), "")
                label = self.names.get(("ec2:security-group-rule", tag)) or tag or f"{name}/{rid}"
                self.add(SG_EGRESS if rule.get("IsEgress") else SG_INGRESS, label,
                         f"arn:aws:ec2:{self.region}:{_account(it.arn)}:security-group-rule/{rid}", {
                             "securityGroupId": group_id, "ipProtocol": rule.get("IpProtocol"),
                             "fromPort": rule.get("FromPort"), "toPort": rule.get("ToPort"),
                             "cidrIpv4": rule.get("CidrIpv4"), "cidrIpv6": rule.get("CidrIpv6"),
                             "prefixListId": rule.get("PrefixListId"),
                             "referencedSecurityGroupId": ref.get("GroupId"),
                             "description": rule.get("Description"),
                             "tags": {t.get("Key", ""): t.get("Value", "") for t in rule.get("Tags", [])}}, id=rid)

    def vpcs(self, items: list[LiveItem]) -> None:
        """VPCs and their flow logs."""
        for it in items:
            vpc_id = arn_physical_name(it.arn)
            got = self.call("ec2", "describe_vpcs", absent=("InvalidVpcID.NotFound",), VpcIds=[vpc_id])
            vpcs = (got or {}).get("Vpcs", [])
            if not vpcs:
                self.gone.append(it.arn)
                continue
            self.add(VPC, self.label(it, vpc_id), it.arn, {"cidrBlock": vpcs[0].get("CidrBlock"), "tags": it.tags},
                     id=vpc_id)
            for fl in self.pages("ec2", "describe_flow_logs", "FlowLogs",
                                 Filters=[{"Name": "resource-id", "Values": [vpc_id]}]):
                fid = fl.get("FlowLogId", "")
                tags = {t.get("Key", ""): t.get("Value", "") for t in fl.get("Tags", [])}
                label = self.names.get(("ec2:vpc-flow-log", tags.get(NAME_TAG, ""))) or tags.get(NAME_TAG) or fid
                arn = f"arn:aws:ec2:{self.region}:{_account(it.arn)}:vpc-flow-log/{fid}"
                self.add(FLOW_LOG, label, arn, {
                    "tags": tags, "vpcId": vpc_id, "trafficType": fl.get("TrafficType"),
                    "logDestinationType": fl.get("LogDestinationType"),
                    "logDestination": fl.get("LogDestination") or fl.get("LogGroupName")}, id=fid)

    # -- KMS ---------------------------------------------------------------------------------------------------
    def kms_keys(self, items: list[LiveItem]) -> None:
        """Customer-managed keys: rotation, state (a key pending deletion shows its deletion window), policy."""
        for it in items:
            got = self.call("kms", "describe_key", absent=("NotFoundException",), KeyId=it.arn)
            meta = (got or {}).get("KeyMetadata")
            if not meta:
                self.gone.append(it.arn)
                continue
            if meta.get("KeyManager") == "AWS":
                continue
            spec = meta.get("KeySpec") or meta.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
            usage = meta.get("KeyUsage") or "ENCRYPT_DECRYPT"
            rotation: dict[str, Any] = {}
            if spec == "SYMMETRIC_DEFAULT" and usage == "ENCRYPT_DECRYPT" and not meta.get("CustomKeyStoreId"):
                rotation = self.call("kms", "get_key_rotation_status",
                                     absent=("UnsupportedOperationException", "KMSInvalidStateException"),
                                     KeyId=it.arn) or {}
            policy = self.call("kms", "get_key_policy", absent=("KMSInvalidStateException",), KeyId=it.arn,
                               PolicyName="default") or {}
            key_id = meta.get("KeyId", arn_physical_name(it.arn))
            self.add(KMS_KEY, self.label(it, key_id), it.arn, {
                "description": meta.get("Description"), "keyUsage": usage, "customerMasterKeySpec": spec,
                "customKeyStoreId": meta.get("CustomKeyStoreId"), "multiRegion": meta.get("MultiRegion"),
                "isEnabled": meta.get("KeyState") == "Enabled",
                "enableKeyRotation": rotation.get("KeyRotationEnabled") if rotation else None,
                "rotationPeriodInDays": rotation.get("RotationPeriodInDays"),
                "deletionWindowInDays": meta.get("PendingDeletionWindowInDays")
                if meta.get("KeyState") == "PendingDeletion" else None,
                "policy": policy.get("Policy"), "tags": it.tags}, id=key_id)

    # -- ElastiCache -------------------------------------------------------------------------------------------
    def replication_groups(self, items: list[LiveItem]) -> None:
        """Redis/Valkey replication groups: encryption at rest and in transit, AUTH, snapshots."""
        for it in items:
            ident = arn_physical_name(it.arn)
            got = self.call("elasticache", "describe_replication_groups", absent=("ReplicationGroupNotFoundFault",),
                            ReplicationGroupId=ident)
            groups = (got or {}).get("ReplicationGroups", [])
            if not groups:
                self.gone.append(it.arn)
                continue
            g = groups[0]
            self.add(REPLICATION_GROUP, self.label(it, ident), it.arn, {
                "replicationGroupId": ident, "description": g.get("Description"), "engine": g.get("Engine"),
                "nodeType": g.get("CacheNodeType"), "atRestEncryptionEnabled": g.get("AtRestEncryptionEnabled", False),
                "transitEncryptionEnabled": g.get("TransitEncryptionEnabled", False),
                "transitEncryptionMode": g.get("TransitEncryptionMode"),
                "authToken": SECRET_MARKER if g.get("AuthTokenEnabled") else None,
                "userGroupIds": g.get("UserGroupIds") or None,
                "snapshotRetentionLimit": g.get("SnapshotRetentionLimit", 0), "kmsKeyId": g.get("KmsKeyId"),
                "automaticFailoverEnabled": g.get("AutomaticFailover") in ("enabled", "enabling"),
                "multiAzEnabled": g.get("MultiAZ") == "enabled", "tags": it.tags}, id=ident)

    def serverless_caches(self, items: list[LiveItem]) -> None:
        """ElastiCache Serverless caches: access control (user group) and snapshots."""
        for it in items:
            ident = arn_physical_name(it.arn)
            got = self.call("elasticache", "describe_serverless_caches", absent=("ServerlessCacheNotFoundFault",),
                            ServerlessCacheName=ident)
            caches = (got or {}).get("ServerlessCaches", [])
            if not caches:
                self.gone.append(it.arn)
                continue
            c = caches[0]
            self.add(SERVERLESS_CACHE, self.label(it, ident), it.arn, {
                "name": ident, "engine": c.get("Engine"), "userGroupId": c.get("UserGroupId"),
                "snapshotRetentionLimit": c.get("SnapshotRetentionLimit", 0), "kmsKeyId": c.get("KmsKeyId"),
                "securityGroupIds": c.get("SecurityGroupIds"), "subnetIds": c.get("SubnetIds"), "tags": it.tags},
                id=ident)

    def cache_users(self, items: list[LiveItem]) -> None:
        """ElastiCache RBAC users: authentication mode and access string."""
        modes = {"no-password": "no-password-required", "password": "password", "iam": "iam"}
        for it in items:
            ident = arn_physical_name(it.arn)
            got = self.call("elasticache", "describe_users", absent=("UserNotFound", "UserNotFoundFault"),
                            UserId=ident)
            users = (got or {}).get("Users", [])
            if not users:
                self.gone.append(it.arn)
                continue
            u = users[0]
            mode = modes.get(str((u.get("Authentication") or {}).get("Type", "")))
            self.add(CACHE_USER, self.label(it, ident), it.arn, {
                "userId": ident, "userName": u.get("UserName"), "engine": u.get("Engine"),
                "accessString": u.get("AccessString"), "authenticationMode": {"type": mode} if mode else None,
                "noPasswordRequired": mode == "no-password-required", "tags": it.tags}, id=ident)

    # -- ECS ---------------------------------------------------------------------------------------------------
    def ecs_services(self, items: list[LiveItem]) -> None:
        """Services (public IP assignment) and the task definition revision each one runs."""
        for it in items:
            parts = it.arn.split(":", 5)[5].split("/")  # service/CLUSTER/NAME (new format)
            cluster = parts[1] if len(parts) == 3 else "default"
            got = self.call("ecs", "describe_services", cluster=cluster, services=[it.arn], include=["TAGS"]) or {}
            services = [s for s in got.get("services", []) if s.get("status") != "INACTIVE"]
            if not services:
                self.gone.append(it.arn)
                continue
            s = services[0]
            net = (s.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
            self.add(ECS_SERVICE, self.label(it, s.get("serviceName", parts[-1])), it.arn, {
                "name": s.get("serviceName"), "cluster": s.get("clusterArn"), "taskDefinition": s.get("taskDefinition"),
                "launchType": s.get("launchType"), "desiredCount": s.get("desiredCount"),
                "networkConfiguration": {"assignPublicIp": net.get("assignPublicIp") == "ENABLED",
                                         "subnets": net.get("subnets", []),
                                         "securityGroups": net.get("securityGroups", [])} if net else None,
                "tags": it.tags}, id=it.arn)
            if s.get("taskDefinition"):
                self.task_definition(s["taskDefinition"])

    def task_definition(self, arn: str) -> None:
        """One task definition revision, its container definitions as the JSON Pulumi declares."""
        if arn in self._seen:
            return
        got = self.call("ecs", "describe_task_definition", absent=("ClientException",), taskDefinition=arn,
                        include=["TAGS"])
        if not got:
            return
        td = got.get("taskDefinition", {})
        tags = {t.get("key", ""): t.get("value", "") for t in got.get("tags", [])}
        family = td.get("family", arn_physical_name(arn))
        self.add(TASK_DEFINITION, self.names.get(("ecs:task-definition", tags.get(NAME_TAG, ""))) or
                 tags.get(NAME_TAG) or family, arn, {
                     "family": family, "containerDefinitions": json.dumps(td.get("containerDefinitions", [])),
                     "cpu": td.get("cpu"), "memory": td.get("memory"), "networkMode": td.get("networkMode"),
                     "requiresCompatibilities": td.get("requiresCompatibilities"),
                     "executionRoleArn": td.get("executionRoleArn"), "taskRoleArn": td.get("taskRoleArn"),
                     "runtimePlatform": _drop_none({
                         "cpuArchitecture": (td.get("runtimePlatform") or {}).get("cpuArchitecture"),
                         "operatingSystemFamily": (td.get("runtimePlatform") or {}).get("operatingSystemFamily")}),
                     "tags": tags}, id=arn)

    # -- load balancers ----------------------------------------------------------------------------------------
    def load_balancers(self, items: list[LiveItem]) -> None:
        """Load balancers (attributes, security groups, WAF association) and their listeners."""
        for it in items:
            got = self.call("elbv2", "describe_load_balancers", absent=("LoadBalancerNotFound",),
                            LoadBalancerArns=[it.arn])
            lbs = (got or {}).get("LoadBalancers", [])
            if not lbs:
                self.gone.append(it.arn)
                continue
            lb = lbs[0]
            attrs = {a["Key"]: a.get("Value", "") for a in (self.call(
                "elbv2", "describe_load_balancer_attributes", LoadBalancerArn=it.arn) or {}).get("Attributes", [])}
            kind = lb.get("Type", "application")
            self.add(LOAD_BALANCER, self.label(it, lb.get("LoadBalancerName", "")), it.arn, {
                "name": lb.get("LoadBalancerName"), "internal": lb.get("Scheme") == "internal",
                "loadBalancerType": kind, "securityGroups": lb.get("SecurityGroups", []),
                "subnets": [z.get("SubnetId") for z in lb.get("AvailabilityZones", []) if z.get("SubnetId")],
                "accessLogs": {"bucket": attrs.get("access_logs.s3.bucket", ""),
                               "prefix": attrs.get("access_logs.s3.prefix", ""),
                               "enabled": _bool(attrs.get("access_logs.s3.enabled", "false"))},
                "dropInvalidHeaderFields": _bool(attrs.get("routing.http.drop_invalid_header_fields.enabled",
                                                           "false")),
                "enableDeletionProtection": _bool(attrs.get("deletion_protection.enabled", "false")),
                "tags": it.tags}, id=it.arn)
            listeners = self.pages("elbv2", "describe_listeners", "Listeners", LoadBalancerArn=it.arn)
            listener_tags: dict[str, dict[str, str]] = {}
            for start in range(0, len(listeners), 20):  # DescribeTags takes 20 ARNs at a time
                arns = [ls["ListenerArn"] for ls in listeners[start:start + 20]]
                for desc in (self.call("elbv2", "describe_tags", ResourceArns=arns) or {}).get("TagDescriptions", []):
                    listener_tags[desc.get("ResourceArn", "")] = {t.get("Key", ""): t.get("Value", "")
                                                                  for t in desc.get("Tags", [])}
            for ls in listeners:
                protocol = ls.get("Protocol")
                tags = listener_tags.get(ls["ListenerArn"], {})
                tag = tags.get(NAME_TAG, "")
                label = (self.names.get(("elasticloadbalancing:listener", tag)) or tag
                         or f"{self.label(it, lb.get('LoadBalancerName', ''))}-{ls.get('Port')}")
                self.add(LISTENER, label, ls["ListenerArn"], {"tags": tags,
                             "loadBalancerArn": it.arn, "port": ls.get("Port"), "protocol": protocol,
                             "sslPolicy": ls.get("SslPolicy") if protocol in ("HTTPS", "TLS") else None,
                             "certificateArn": next((c.get("CertificateArn") for c in ls.get("Certificates", [])),
                                                    None),
                             "defaultActions": [_action(a) for a in ls.get("DefaultActions", [])]},
                         id=ls["ListenerArn"])
            if kind == "application":
                acl = self.call("wafv2", "get_web_acl_for_resource", absent=("WAFNonexistentItemException",),
                                ResourceArn=it.arn) or {}
                if acl.get("WebACL"):
                    self.add(WEB_ACL_ASSOCIATION, f"{self.label(it, '')}-waf", f"{it.arn}#web-acl",
                             {"resourceArn": it.arn, "webAclArn": acl["WebACL"].get("ARN")})

    def web_acls(self, items: list[LiveItem]) -> None:
        """Regional WAFv2 web ACLs: default action and rules."""
        for it in items:
            segments = it.arn.split(":", 5)[5].split("/")  # regional/webacl/NAME/ID
            if len(segments) < 4:
                self.not_judged["wafv2:webacl"] += 1
                continue
            scope = "CLOUDFRONT" if segments[0] == "global" else "REGIONAL"
            got = self.call("wafv2", "get_web_acl", absent=("WAFNonexistentItemException",), Name=segments[2],
                            Scope=scope, Id=segments[3])
            acl = (got or {}).get("WebACL")
            if not acl:
                self.gone.append(it.arn)
                continue
            default = acl.get("DefaultAction") or {}
            self.add(WEB_ACL, self.label(it, segments[2]), it.arn, {
                "name": acl.get("Name"), "scope": scope,
                "defaultAction": {("allow" if "Allow" in default else "block"): {}},
                "rules": [_drop_none({"name": r.get("Name"), "priority": r.get("Priority")})
                          for r in acl.get("Rules", [])], "tags": it.tags}, id=it.arn)

    # -- logs, topics, secrets, repositories -------------------------------------------------------------------
    def log_groups(self, items: list[LiveItem]) -> None:
        """CloudWatch log groups: retention and KMS key."""
        for it in items:
            name = arn_physical_name(it.arn)
            found = [g for g in self.pages("logs", "describe_log_groups", "logGroups", logGroupNamePrefix=name)
                     if g.get("logGroupName") == name]
            if not found:
                self.gone.append(it.arn)
                continue
            g = found[0]
            self.add(LOG_GROUP, self.label(it, name), it.arn, {
                "name": name, "retentionInDays": g.get("retentionInDays"), "kmsKeyId": g.get("kmsKeyId"),
                "logGroupClass": g.get("logGroupClass"), "tags": it.tags}, id=name)

    def topics(self, items: list[LiveItem]) -> None:
        """SNS topics: KMS key and access policy."""
        for it in items:
            got = self.call("sns", "get_topic_attributes", absent=("NotFound", "NotFoundException"), TopicArn=it.arn)
            if got is None:
                self.gone.append(it.arn)
                continue
            attrs = got.get("Attributes", {})
            name = arn_physical_name(it.arn)
            self.add(TOPIC, self.label(it, name), it.arn, {
                "name": name, "kmsMasterKeyId": attrs.get("KmsMasterKeyId") or None, "policy": attrs.get("Policy"),
                "fifoTopic": _bool(attrs.get("FifoTopic", "false")), "tags": it.tags}, id=it.arn)

    def secrets(self, items: list[LiveItem]) -> None:
        """Secrets Manager secrets: KMS key."""
        for it in items:
            got = self.call("secretsmanager", "describe_secret", absent=("ResourceNotFoundException",),
                            SecretId=it.arn)
            if got is None or got.get("DeletedDate"):
                self.gone.append(it.arn)
                continue
            label = self.label(it, got.get("Name", ""))
            self.add(SECRET, label, it.arn, {
                "name": got.get("Name"), "kmsKeyId": got.get("KmsKeyId"), "description": got.get("Description"),
                "tags": it.tags}, id=it.arn)
            if got.get("RotationEnabled") or got.get("OwningService"):
                # Rotation on (a schedule), or a secret its owning service rotates (RDS-managed credentials).
                days = (got.get("RotationRules") or {}).get("AutomaticallyAfterDays")
                self.add(SECRET_ROTATION, f"{label}-rotation", f"{it.arn}/rotation", {
                    "secretId": it.arn, "rotationLambdaArn": got.get("RotationLambdaARN"),
                    "rotationRules": {"automaticallyAfterDays": days} if days else {}}, id=f"{it.arn}/rotation")

    def repositories(self, items: list[LiveItem]) -> None:
        """ECR repositories: scan on push, tag immutability, encryption."""
        for it in items:
            name = it.arn.split(":", 5)[5].split("/", 1)[-1]
            got = self.call("ecr", "describe_repositories", absent=("RepositoryNotFoundException",),
                            repositoryNames=[name])
            repos = (got or {}).get("repositories", [])
            if not repos:
                self.gone.append(it.arn)
                continue
            r = repos[0]
            enc = r.get("encryptionConfiguration") or {}
            self.add(ECR_REPOSITORY, self.label(it, name), it.arn, {
                "name": name, "imageTagMutability": r.get("imageTagMutability"),
                "imageScanningConfiguration": {"scanOnPush": (r.get("imageScanningConfiguration") or {}).get(
                    "scanOnPush", False)},
                "encryptionConfigurations": [_drop_none({"encryptionType": enc.get("encryptionType"),
                                                         "kmsKey": enc.get("kmsKey")})] if enc else None,
                "tags": it.tags}, id=it.arn)


def _inline_rule(perm: Mapping[str, Any]) -> dict[str, Any]:
    """An EC2 ``IpPermission`` as an inline security group rule (``aws.ec2.DefaultSecurityGroup`` shape)."""
    return _drop_none({
        "protocol": perm.get("IpProtocol"), "fromPort": perm.get("FromPort", 0), "toPort": perm.get("ToPort", 0),
        "cidrBlocks": [r.get("CidrIp") for r in perm.get("IpRanges", [])] or None,
        "ipv6CidrBlocks": [r.get("CidrIpv6") for r in perm.get("Ipv6Ranges", [])] or None,
        "securityGroups": [g.get("GroupId") for g in perm.get("UserIdGroupPairs", [])] or None,
        "prefixListIds": [p.get("PrefixListId") for p in perm.get("PrefixListIds", [])] or None})


def _action(action: Mapping[str, Any]) -> dict[str, Any]:
    """An ELBv2 listener action as Pulumi declares it (``type``, ``redirect``, ``targetGroupArn``...)."""
    redirect = action.get("RedirectConfig") or {}
    fixed = action.get("FixedResponseConfig") or {}
    return _drop_none({
        "type": action.get("Type"), "order": action.get("Order"), "targetGroupArn": action.get("TargetGroupArn"),
        "redirect": _drop_none({"protocol": redirect.get("Protocol"), "port": redirect.get("Port"),
                                "host": redirect.get("Host"), "path": redirect.get("Path"),
                                "query": redirect.get("Query"), "statusCode": redirect.get("StatusCode")}) or None,
        "fixedResponse": _drop_none({"contentType": fixed.get("ContentType"), "statusCode": fixed.get("StatusCode"),
                                     "messageBody": fixed.get("MessageBody")}) or None})


# -------------------------------------------------------------------------------------------------------------
# The audit
# -------------------------------------------------------------------------------------------------------------

@dataclass
class AuditReport:
    """What the audit found: the judged resources, the findings, what was not judged."""

    stack: str
    environment: str
    region: str
    live: int
    judged: dict[str, int]
    violations: list[Any]
    not_judged: dict[str, int] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> list[Any]:
        """Mandatory findings no waiver covers."""
        return [v for v in self.violations if v.blocking]

    @property
    def clean(self) -> bool:
        """No mandatory, unwaived finding."""
        return not self.blocking

    def _entry(self, v: Any) -> dict[str, Any]:
        return {"policy": v.policy, "enforcement": v.enforcement, "severity": v.severity,
                "resource": v.resource_name, "type": v.resource_type,
                "arn": v.urn.split("#", 1)[0] if v.urn else None, "message": v.message,
                "remediation": v.remediation, "waived": v.waived, "waiver_reason": v.waiver_reason}

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` object."""
        return {"stack": self.stack, "environment": self.environment, "region": self.region, "clean": self.clean,
                "live": self.live, "judged": self.judged, "findings": [self._entry(v) for v in self.violations],
                "not_judged": self.not_judged, "gone": self.gone,
                "rules_not_run": dict(sorted(NOT_LIVE_RULES.items()))}

    def to_text(self) -> str:
        """Human-readable report: one finding a line, mandatory first."""
        mandatory = [v for v in self.violations if v.enforcement == "mandatory" and not v.waived]
        advisory = [v for v in self.violations if v.enforcement != "mandatory" and not v.waived]
        waived = [v for v in self.violations if v.waived]
        judged = sum(self.judged.values())
        plural = "s" if len(mandatory) != 1 else ""
        verdict = f"{len(mandatory)} mandatory finding{plural}" if mandatory else "clean"
        head = (f"audit {self.stack} (environment={self.environment}, {self.region}): {self.live} live tagged "
                f"resources, {judged} judged resource views; " + verdict
                + (f", {len(advisory)} advisory" if advisory else "") + (f", {len(waived)} waived" if waived else ""))
        lines = [head]

        def row(v: Any) -> str:
            arn = v.urn.split("#", 1)[0] if v.urn else ""
            return f"  {v.policy:<34} {v.resource_name or '(stack)'}  {arn}\n      {v.message}"

        for title, group in (("mandatory", mandatory), ("advisory", advisory)):
            if group:
                lines.append(f"{title}:")
                lines += [row(v) for v in sorted(group, key=lambda v: (v.policy, v.resource_name or ""))]
        if waived:
            lines.append("waived (the stack file's waivers):")
            lines += [row(v) + f"\n      waiver: {v.waiver_reason}" for v in waived]
        if self.live == 0:
            lines.append(f"nothing live is tagged environment={self.environment}, managed-by=pulumi in "
                         f"{self.region}: is the stack deployed in this account and region?")
        if self.gone:
            lines.append("listed by the tagging API but gone when described (deleted moments ago): "
                         + ", ".join(self.gone))
        if self.not_judged:
            lines.append("not judged (no security rule reads them live): "
                         + ", ".join(f"{k} ({c})" for k, c in sorted(self.not_judged.items())))
        return "\n".join(lines)


def declared_names(graph: Iterable[Any]) -> dict[tuple[str, str], str]:
    """(kind, ``Name`` tag) -> the declared resource's name, so findings and waivers use the program's names."""
    out: dict[tuple[str, str], str] = {}
    for res in graph:
        tags = res.inputs.get("tags") if getattr(res, "custom", False) else None
        kind = TYPE_KIND.get(res.type)
        if kind and isinstance(tags, dict) and isinstance(tags.get(NAME_TAG), str):
            out.setdefault((kind, tags[NAME_TAG]), res.name)
    return out


def live_pack() -> Pack:
    """The security pack without the rules that only make sense over the declared stack."""
    from policies.security import PACK

    return Pack(name=PACK.name, description=PACK.description, display_name=PACK.display_name,
                rules=[r for r in PACK.rules if r.name not in NOT_LIVE_RULES], directory=PACK.directory)


def audit(session: Any, stack: str, environment: str, region: str, *, project: str = "backend-hosting",
          config: Mapping[str, Any] | None = None, graph: Iterable[Any] = (),
          policy_config: Mapping[str, Any] | None = None, max_attempts: int | None = None) -> AuditReport:
    """List, describe and judge the stack's live resources. AWS failures propagate (see :func:`one_line_error`)."""
    from review.policy_runner import run_pack

    describer = Describer(session, region, declared_names(graph), max_attempts=max_attempts)
    listed = live_resources(describer.client("resourcegroupstaggingapi"), environment)
    items = [LiveItem(arn=i["ResourceARN"], kind=arn_kind(i["ResourceARN"]),
                      tags={t["Key"]: t.get("Value", "") for t in i.get("Tags", [])}) for i in listed]
    describer.describe(items)
    info = StackInfo(project=project, stack=stack, config=dict(config or {}), offline=True)
    pack = live_pack()
    if policy_config is None:  # as the review resolves it: the pack's config for this project, else the defaults
        from policies.common import POLICIES_DIR, load_pack, project_config

        security = load_pack(POLICIES_DIR / "security")
        policy_config = project_config(security, project) if security is not None else None
    violations = run_pack(pack, describer.resources, info, policy_config)
    judged = Counter(r.type for r in describer.resources)
    return AuditReport(stack=stack, environment=environment, region=region, live=len(items),
                       judged=dict(sorted(judged.items())), violations=violations,
                       not_judged=dict(sorted(describer.not_judged.items())), gone=sorted(describer.gone))
