"""``python -m ops audit`` against moto (in-process ``mock_aws``): a compliant prod account built the way our
components configure it yields no finding; each kind of drift made in the console (one test each) is reported by
the security pack's own rule; credentials, permissions and throttling end in one line and exit 2.

moto gaps, stubbed call by call and only there:

- moto's Resource Groups Tagging API does not list ECR repositories or WAFv2 web ACLs (moto 5.2 wires neither
  backend into it): the account fixture appends those two ARNs, with their tags, to the ``GetResources`` answer;
  their own describe calls are moto's;
- ElastiCache Serverless: moto implements neither ``CreateServerlessCache`` nor ``DescribeServerlessCaches``, so the
  serverless test adds its ARN to the ``GetResources`` answer and answers ``DescribeServerlessCaches`` itself;
- CloudWatch Logs ``DisassociateKmsKey`` is not in moto: that drift is a second log group made without a key.

Aurora clusters and ElastiCache RBAC users are answered by botocore's Stubber (call by call, in order) to keep the
moto accounts, which cost seconds to build, small. Building an account is the expensive part, so the compliant and
the drifted accounts are built once per module, side by side in one moto backend (tagged environment=prod and
environment=production, which the pack also reads as prod); each drift of ``DRIFT`` has its own test over the drifted
account's audit, and one test checks that nothing else was reported.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from helpers import moto_session

import ops.audit
from ops.__main__ import main
from review.model import Graph, Resource

REGION = "us-east-1"
TAGS = {"environment": "prod", "owner": "platform", "cost-center": "engineering", "managed-by": "pulumi"}
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def tag_list(name: str, env: str = "prod") -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tag_map(name, env).items()]


def tag_map(name: str, env: str = "prod") -> dict[str, str]:
    return {**TAGS, "environment": env, "Name": name}


def declared(env: str = "prod", config: dict[str, Any] | None = None) -> Graph:
    """The declared side: the stack's config (environment, waivers) and region; a declared name or two."""
    def res(type_: str, name: str, **inputs: Any) -> Resource:
        return Resource(urn=f"urn:pulumi:prod::backend-hosting::{type_}::{name}", type=type_, name=name, parent=None,
                        custom=True, provider=None, inputs=inputs, options={})

    p = PREFIX[env]
    return Graph(project="backend-hosting", stack="prod", outputs={},
                 config={"backend-hosting:environment": env, **(config or {})},
                 resources=[res("pulumi:providers:aws", "aws", region=REGION),
                            res("aws:rds/instance:Instance", f"{p}-database", tags=tag_map(f"{p}-db", env))])


PREFIX = {"prod": "app-prod", "production": "app-prd", "staging": "app-staging"}
"""Two accounts share one moto backend: the compliant one tagged environment=prod, the drifted one tagged
environment=production (which the pack also reads as prod), each with its own names."""


CLIENTS: dict[tuple[int, str], Any] = {}
"""Clients of the module's moto session, made once (creating a botocore client costs tens of milliseconds)."""


def cached_client(session: boto3.Session, service: str, **kwargs: Any) -> Any:
    key = (id(session), service)
    if key not in CLIENTS:
        CLIENTS[key] = session.client(service, **kwargs)
    return CLIENTS[key]


class Patched:
    """A boto3 session whose clients answer some calls themselves (``(service, operation) -> function``)."""

    def __init__(self, session: Any, answers: dict[tuple[str, str], Callable[..., Any]]) -> None:
        self.session = session
        self.answers = answers

    def client(self, service: str, **kwargs: Any) -> Any:
        real = cached_client(self.session, service, **kwargs)
        answers = {op: fn for (svc, op), fn in self.answers.items() if svc == service}

        class Client:
            meta = real.meta

            def __getattr__(self, name: str) -> Any:
                if name in answers:
                    return lambda **kw: answers[name](real, **kw)
                return getattr(real, name)

        return Client()


def listed_too(arns: dict[str, list[dict[str, str]]]) -> dict[tuple[str, str], Callable[..., Any]]:
    """``GetResources`` (first page) also lists these ARNs (ARN -> tags) when their environment is asked for."""
    def get_resources(real: Any, **kw: Any) -> dict[str, Any]:
        page = real.get_resources(**kw)
        env = next(f["Values"] for f in kw["TagFilters"] if f["Key"] == "environment")
        if "PaginationToken" not in kw:
            page["ResourceTagMappingList"] += [{"ResourceARN": a, "Tags": t} for a, t in arns.items()
                                               if {"Key": "environment", "Value": env[0]} in t]
        return page

    return {("resourcegroupstaggingapi", "get_resources"): get_resources}


# -------------------------------------------------------------------------------------------------------------
# An account configured the way components/aws configures prod
# -------------------------------------------------------------------------------------------------------------

def tls_only_policy(bucket: str) -> str:
    arn = f"arn:aws:s3:::{bucket}"
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def container(**extra: Any) -> dict[str, Any]:
    """The service component's container definition (non-root user, read-only root, secrets by reference)."""
    c = {"name": "app", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "a" * 64,
         "memory": 1024, "user": "10001", "readonlyRootFilesystem": True, "essential": True,
         "portMappings": [{"containerPort": 8080}],
         "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:db"}], **extra}
    return {k: v for k, v in c.items() if v is not None}


class Account:
    """One environment's resources, created in moto as the components create them."""

    def __init__(self, session: boto3.Session, env: str) -> None:
        self.s = session
        self.env = env
        self.p = PREFIX[env]
        self.ids: dict[str, str] = {}
        self.extra_listed: dict[str, list[dict[str, str]]] = {}

    def tags(self, name: str) -> list[dict[str, str]]:
        return tag_list(name, self.env)

    def spec(self, kind: str, name: str) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": self.tags(name)}]

    def c(self, service: str) -> Any:
        return cached_client(self.s, service)

    @property
    def session(self) -> Patched:
        """What the audit receives: moto, with ECR and WAFv2 ARNs added to GetResources (moto does not list them)."""
        return Patched(self.s, listed_too(self.extra_listed))

    def bucket(self, role: str, *, kms: bool) -> str:
        bucket = f"{self.p}-{role}-1a2b3c"
        s3 = self.c("s3")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": self.tags(f"{self.p}-{role}")})
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True})
        default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": self.ids["key"]} if kms else {"SSEAlgorithm": "AES256"}
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": kms}]})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        s3.put_bucket_policy(Bucket=bucket, Policy=tls_only_policy(bucket))
        return bucket

    def replication_group(self, ident: str, *, at_rest: bool = True, transit: bool = True) -> None:
        self.c("elasticache").create_replication_group(
            ReplicationGroupId=ident, ReplicationGroupDescription="sessions", Engine="valkey",
            CacheNodeType="cache.t4g.small", NumCacheClusters=2, AutomaticFailoverEnabled=True, MultiAZEnabled=True,
            AtRestEncryptionEnabled=at_rest, TransitEncryptionEnabled=transit, UserGroupIds=[f"{self.p}-users"],
            SnapshotRetentionLimit=7, Tags=self.tags(ident))

    def rule(self, direction: str, gid: str, name: str | None, port: int, proto: str = "tcp", **source: Any) -> None:
        ec2 = self.c("ec2")
        call = ec2.authorize_security_group_ingress if direction == "in" else ec2.authorize_security_group_egress
        call(GroupId=gid, IpPermissions=[{"IpProtocol": proto, "FromPort": port, "ToPort": port, **source}],
             **({"TagSpecifications": self.spec("security-group-rule", name)} if name else {}))

    def build(self) -> Account:
        p, ids = self.p, self.ids
        kms = self.c("kms")
        key = kms.create_key(Description=f"{p} data", Tags=[
            {"TagKey": t["Key"], "TagValue": t["Value"]} for t in self.tags(f"{p}-key")])["KeyMetadata"]
        kms.enable_key_rotation(KeyId=key["KeyId"])
        ids["key"] = key["Arn"]
        ids["assets"] = self.bucket("assets", kms=True)
        ids["logs"] = self.bucket("access-logs", kms=False)

        ec2 = self.c("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=self.spec("vpc", f"{p}-vpc"))["Vpc"]["VpcId"]
        ec2.create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="ALL", LogDestinationType="s3",
                             LogDestination=f"arn:aws:s3:::{ids['logs']}",
                             TagSpecifications=self.spec("vpc-flow-log", f"{p}-flow-log"))
        default = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                        {"Name": "group-name", "Values": ["default"]}])
        ids["default_sg"] = default["SecurityGroups"][0]["GroupId"]
        ec2.create_tags(Resources=[ids["default_sg"]], Tags=self.tags(f"{p}-default-do-not-use"))
        ec2.revoke_security_group_egress(GroupId=ids["default_sg"],
                                         IpPermissions=default["SecurityGroups"][0]["IpPermissionsEgress"])
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}",
                                     TagSpecifications=self.spec("subnet", f"{p}-{az}"))["Subnet"]["SubnetId"]
                   for i, az in enumerate("ab")]
        ids["subnets"] = ",".join(subnets)
        for role in ("lb", "tasks", "db"):
            gid = ec2.create_security_group(GroupName=f"{p}-{role}", Description=role, VpcId=vpc,
                                            TagSpecifications=self.spec("security-group", f"{p}-{role}"))["GroupId"]
            ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=[
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
            ids[f"{role}_sg"] = gid
        for port in (80, 443):
            self.rule("in", ids["lb_sg"], f"{p}-alb-{port}-v4", port, IpRanges=[{"CidrIp": "0.0.0.0/0"}])
            self.rule("in", ids["lb_sg"], f"{p}-alb-{port}-v6", port, Ipv6Ranges=[{"CidrIpv6": "::/0"}])
        self.rule("out", ids["lb_sg"], f"{p}-alb-to-tasks", 8080, UserIdGroupPairs=[{"GroupId": ids["tasks_sg"]}])
        self.rule("in", ids["tasks_sg"], f"{p}-tasks-from-alb", 8080, UserIdGroupPairs=[{"GroupId": ids["lb_sg"]}])
        self.rule("out", ids["tasks_sg"], f"{p}-tasks-https", 443, IpRanges=[{"CidrIp": "0.0.0.0/0"}])
        self.rule("in", ids["db_sg"], f"{p}-db-from-tasks", 5432, UserIdGroupPairs=[{"GroupId": ids["tasks_sg"]}])

        rds = self.c("rds")
        ids["pg"] = f"{p}-pg16"
        rds.create_db_parameter_group(DBParameterGroupName=ids["pg"], DBParameterGroupFamily="postgres16",
                                      Description="force ssl", Tags=self.tags(ids["pg"]))
        rds.modify_db_parameter_group(DBParameterGroupName=ids["pg"], Parameters=[
            {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "pending-reboot"}])
        rds.create_db_instance(
            DBInstanceIdentifier=f"{p}-db", DBInstanceClass="db.m7g.large", Engine="postgres", EngineVersion="16.4",
            MasterUsername="app", ManageMasterUserPassword=True, AllocatedStorage=50, StorageEncrypted=True,
            KmsKeyId=key["Arn"], DeletionProtection=True, BackupRetentionPeriod=30, MultiAZ=True,
            PubliclyAccessible=False, DBParameterGroupName=ids["pg"], VpcSecurityGroupIds=[ids["db_sg"]],
            Tags=self.tags(f"{p}-db"))
        self.replication_group(f"{p}-cache")

        logs = self.c("logs")
        ids["log_group"] = f"/aws/ecs/{p}"
        logs.create_log_group(logGroupName=ids["log_group"], kmsKeyId=key["Arn"], tags=tag_map(f"{p}-logs", self.env))
        logs.put_retention_policy(logGroupName=ids["log_group"], retentionInDays=365)
        ids["topic"] = self.c("sns").create_topic(Name=f"{p}-alarms", Attributes={"KmsMasterKeyId": key["Arn"]},
                                                  Tags=self.tags(f"{p}-alarms"))["TopicArn"]
        self.c("secretsmanager").create_secret(Name=f"{p}-db-credentials", SecretString="{}", KmsKeyId=key["Arn"],
                                               Tags=self.tags(f"{p}-db-credentials"))
        with contextlib.suppress(ClientError):  # moto records the schedule, then fails to find the function
            self.c("secretsmanager").rotate_secret(
                SecretId=f"{p}-db-credentials", RotateImmediately=False, RotationRules={"AutomaticallyAfterDays": 30},
                RotationLambdaARN=f"arn:aws:lambda:us-east-1:123456789012:function:{p}-rotate")
        repo = self.c("ecr").create_repository(repositoryName=p, imageTagMutability="IMMUTABLE",
                                               imageScanningConfiguration={"scanOnPush": True},
                                               tags=self.tags(p))["repository"]["repositoryArn"]
        self.extra_listed[repo] = self.tags(p)

        ecs = self.c("ecs")
        ecs.create_cluster(clusterName=p, tags=self.ecs_tags(f"{p}-cluster"))
        td = ecs.register_task_definition(
            family=p, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="512", memory="1024",
            containerDefinitions=[container()], tags=self.ecs_tags(f"{p}-task"))["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(cluster=p, serviceName=f"{p}-service", taskDefinition=td, desiredCount=3,
                           launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
                               "subnets": subnets, "securityGroups": [ids["tasks_sg"]], "assignPublicIp": "DISABLED"}},
                           tags=self.ecs_tags(f"{p}-service"))

        elb = self.c("elbv2")
        ids["lb"] = elb.create_load_balancer(Name=p, Subnets=subnets, SecurityGroups=[ids["lb_sg"]],
                                             Scheme="internet-facing", Type="application",
                                             Tags=self.tags(f"{p}-alb"))["LoadBalancers"][0]["LoadBalancerArn"]
        elb.modify_load_balancer_attributes(LoadBalancerArn=ids["lb"], Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"}, {"Key": "access_logs.s3.bucket", "Value": ids["logs"]},
            {"Key": "access_logs.s3.prefix", "Value": "alb"},
            {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
            {"Key": "deletion_protection.enabled", "Value": "true"}])
        ids["tg"] = elb.create_target_group(Name=f"{p}-v1", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip",
                                            Tags=self.tags(f"{p}-v1"))["TargetGroups"][0]["TargetGroupArn"]
        cert = self.c("acm").request_certificate(DomainName=f"{p}.example.com", ValidationMethod="DNS",
                                                 Tags=self.tags(f"{p}-cert"))["CertificateArn"]
        ids["https"] = elb.create_listener(
            LoadBalancerArn=ids["lb"], Protocol="HTTPS", Port=443, SslPolicy=TLS_POLICY,
            Certificates=[{"CertificateArn": cert}], DefaultActions=[{"Type": "forward", "TargetGroupArn": ids["tg"]}],
            Tags=self.tags(f"{p}-https"))["Listeners"][0]["ListenerArn"]
        ids["http"] = elb.create_listener(
            LoadBalancerArn=ids["lb"], Protocol="HTTP", Port=80, DefaultActions=[{
                "Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}],
            Tags=self.tags(f"{p}-http"))["Listeners"][0]["ListenerArn"]
        visibility = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "m"}
        acl = self.c("wafv2").create_web_acl(
            Name=p, Scope="REGIONAL", DefaultAction={"Allow": {}}, Tags=self.tags(f"{p}-waf"),
            VisibilityConfig=visibility, Rules=[{
                "Name": "common", "Priority": 0, "OverrideAction": {"None": {}}, "VisibilityConfig": visibility,
                "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS",
                                                            "Name": "AWSManagedRulesCommonRuleSet"}}}])["Summary"]
        self.c("wafv2").associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=ids["lb"])
        self.extra_listed[acl["ARN"]] = self.tags(f"{p}-waf")
        return self

    def ecs_tags(self, name: str) -> list[dict[str, str]]:
        return [{"key": k, "value": v} for k, v in tag_map(name, self.env).items()]


def cli(session: Any, env: str, *argv: str, config: dict[str, Any] | None = None) -> tuple[int, str, str]:
    """``python -m ops audit prod ARGV`` over the stack whose environment is ``env``: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["audit", "prod", *argv], session=session, graph_loader=lambda _d, _s: declared(env, config))
    return code, out.getvalue(), err.getvalue()


def audit_json(session: Any, env: str, config: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    code, out, err = cli(session, env, "--format", "json", config=config)
    assert err == "", err
    return code, json.loads(out)


def found(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["policy"], f["resource"]) for f in report["findings"] if not f["waived"]}


@pytest.fixture(scope="module")
def aws() -> Iterator[boto3.Session]:
    """One moto backend for the module (building an account costs seconds: the accounts are built once)."""
    with moto_session(REGION) as session:
        yield session
    CLIENTS.clear()


@pytest.fixture(scope="module")
def compliant(aws: boto3.Session) -> tuple[Account, int, dict[str, Any]]:
    """The compliant account (environment=prod), and its audit."""
    account = Account(aws, "prod").build()
    code, report = audit_json(account.session, "prod")
    return account, code, report


# -------------------------------------------------------------------------------------------------------------
# Drift made in the console, all planted in the second account; one test per kind
# -------------------------------------------------------------------------------------------------------------

def _public_policy(a: Account) -> None:
    a.c("s3").put_bucket_policy(Bucket=a.ids["assets"], Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Sid": "Public", "Effect": "Allow", "Principal": "*",
                                                "Action": "s3:GetObject",
                                                "Resource": f"arn:aws:s3:::{a.ids['assets']}/*"}]}))


def _rds(a: Account, **change: Any) -> None:
    a.c("rds").modify_db_instance(DBInstanceIdentifier=f"{a.p}-db", ApplyImmediately=True, **change)


def _new_task_definition(a: Account) -> None:
    ecs = a.c("ecs")
    td = ecs.register_task_definition(
        family=a.p, networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="512", memory="1024",
        containerDefinitions=[container(user=None, environment=[{"name": "API_TOKEN",
                                                                 "value": "tok_live_0123456789"}])],
        tags=a.ecs_tags(f"{a.p}-task"))["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=a.p, service=f"{a.p}-service", taskDefinition=td)


DRIFT: dict[str, tuple[Callable[[Account], Any], set[tuple[str, str]]]] = {
    # (plant the drift, the (policy, resource) findings it must produce; {p} is the account's name prefix)
    "s3-public-access-block-off": (
        lambda a: a.c("s3").put_public_access_block(Bucket=a.ids["assets"], PublicAccessBlockConfiguration={
            "BlockPublicAcls": False, "BlockPublicPolicy": False, "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True}),
        {("s3-bucket-public-access-block", "{p}-assets")}),
    "s3-public-access-block-deleted": (
        lambda a: a.c("s3").delete_public_access_block(Bucket=a.ids["logs"]),
        {("s3-bucket-public-access-block", "{p}-access-logs")}),
    "s3-encryption-removed": (
        lambda a: a.c("s3").delete_bucket_encryption(Bucket=a.ids["assets"]),
        {("s3-bucket-encryption", "{p}-assets")}),
    "s3-versioning-suspended": (
        lambda a: a.c("s3").put_bucket_versioning(Bucket=a.ids["logs"],
                                                  VersioningConfiguration={"Status": "Suspended"}),
        {("s3-bucket-versioning", "{p}-access-logs")}),
    "s3-tls-policy-removed": (
        lambda a: a.c("s3").delete_bucket_policy(Bucket=a.ids["logs"]),
        {("s3-bucket-tls-only", "{p}-access-logs")}),
    "s3-policy-made-public": (
        _public_policy,
        {("s3-bucket-policy-not-public", "{p}-assets"), ("s3-bucket-tls-only", "{p}-assets")}),
    "rds-made-public": (
        lambda a: _rds(a, PubliclyAccessible=True), {("rds-not-public", "{p}-database")}),
    "rds-deletion-protection-removed": (
        lambda a: _rds(a, DeletionProtection=False), {("rds-deletion-protection", "{p}-database")}),
    "rds-backups-shortened": (
        lambda a: _rds(a, BackupRetentionPeriod=1), {("rds-backup-retention", "{p}-database")}),
    "rds-unencrypted-restore": (
        lambda a: a.c("rds").create_db_instance(
            DBInstanceIdentifier=f"{a.p}-db-restore", DBInstanceClass="db.m7g.large", Engine="postgres",
            EngineVersion="16.4", MasterUsername="app", MasterUserPassword="x" * 16, AllocatedStorage=50,
            StorageEncrypted=False, DeletionProtection=True, BackupRetentionPeriod=30,
            Tags=a.tags(f"{a.p}-db-restore")),
        {("rds-storage-encrypted", "{p}-db-restore")}),
    "rds-ssl-parameter-off": (
        lambda a: a.c("rds").modify_db_parameter_group(DBParameterGroupName=a.ids["pg"], Parameters=[
            {"ParameterName": "rds.force_ssl", "ParameterValue": "0", "ApplyMethod": "pending-reboot"}]),
        {("rds-ssl-enforced", "{p}-database")}),
    "security-group-opened-to-the-world": (
        lambda a: a.rule("in", a.ids["db_sg"], None, 5432, IpRanges=[{"CidrIp": "0.0.0.0/0"}]),
        {("sg-no-world-ingress", "{p}-db/*"), ("required-tags", "{p}-db/*")}),
    "security-group-opened-to-the-world-ipv6": (
        lambda a: a.rule("in", a.ids["tasks_sg"], None, -1, proto="-1", Ipv6Ranges=[{"CidrIpv6": "::/0"}]),
        {("sg-no-world-ingress", "{p}-tasks/*"), ("required-tags", "{p}-tasks/*")}),
    "default-security-group-reopened": (
        lambda a: a.rule("in", a.ids["default_sg"], None, 22, IpRanges=[{"CidrIp": "10.0.0.0/8"}]),
        {("vpc-default-security-group-closed", "{p}-default-do-not-use")}),
    "flow-log-deleted": (
        lambda a: a.c("ec2").delete_flow_logs(FlowLogIds=[f["FlowLogId"] for f in a.c("ec2").describe_flow_logs(
            Filters=[{"Name": "tag:environment", "Values": [a.env]}])["FlowLogs"]]),
        {("vpc-flow-logs-enabled", "{p}-vpc")}),
    "kms-rotation-disabled": (
        lambda a: a.c("kms").disable_key_rotation(KeyId=a.ids["key"]), {("kms-key-rotation-enabled", "{p}-key")}),
    "elasticache-transit-encryption-off": (
        lambda a: a.replication_group(f"{a.p}-cache-plain", transit=False),
        {("elasticache-transit-encryption", "{p}-cache-plain")}),
    "elasticache-at-rest-encryption-off": (
        lambda a: a.replication_group(f"{a.p}-cache-2", at_rest=False),
        {("elasticache-encryption-at-rest", "{p}-cache-2")}),
    "ecs-public-ip": (
        lambda a: a.c("ecs").update_service(
            cluster=a.p, service=f"{a.p}-service", networkConfiguration={"awsvpcConfiguration": {
                "subnets": a.ids["subnets"].split(","), "securityGroups": [a.ids["tasks_sg"]],
                "assignPublicIp": "ENABLED"}}),
        {("ecs-service-no-public-ip", "{p}-service")}),
    "ecs-task-plaintext-secret-and-root": (
        _new_task_definition,
        {("ecs-task-no-plaintext-secrets", "{p}-task"), ("ecs-task-non-root-user", "{p}-task")}),
    "alb-http-listener-forwards": (
        lambda a: a.c("elbv2").modify_listener(ListenerArn=a.ids["http"], DefaultActions=[
            {"Type": "forward", "TargetGroupArn": a.ids["tg"]}]),
        {("lb-listener-https-only", "{p}-http")}),
    "alb-old-tls-policy": (
        lambda a: a.c("elbv2").modify_listener(ListenerArn=a.ids["https"], SslPolicy="ELBSecurityPolicy-2016-08"),
        {("lb-listener-tls-policy", "{p}-https")}),
    "alb-access-logs-and-protection-off": (
        lambda a: a.c("elbv2").modify_load_balancer_attributes(LoadBalancerArn=a.ids["lb"], Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "false"}, {"Key": "deletion_protection.enabled",
                                                                  "Value": "false"}]),
        {("lb-access-logs", "{p}-alb"), ("lb-deletion-protection", "{p}-alb")}),
    "log-group-retention-removed": (
        lambda a: a.c("logs").delete_retention_policy(logGroupName=a.ids["log_group"]),
        {("log-group-retention", "{p}-logs")}),
    "log-group-without-key": (  # moto has no DisassociateKmsKey: a second group, made without a key
        lambda a: (a.c("logs").create_log_group(logGroupName=f"/debug/{a.p}", tags=tag_map(f"{a.p}-debug", a.env)),
                   a.c("logs").put_retention_policy(logGroupName=f"/debug/{a.p}", retentionInDays=365)),
        {("log-group-encrypted", "{p}-debug")}),
    "sns-encryption-removed": (
        lambda a: a.c("sns").set_topic_attributes(TopicArn=a.ids["topic"], AttributeName="KmsMasterKeyId",
                                                  AttributeValue=""),
        {("sns-topic-encrypted", "{p}-alarms")}),
    "ecr-scan-on-push-off": (
        lambda a: a.c("ecr").put_image_scanning_configuration(repositoryName=a.p, imageScanningConfiguration={
            "scanOnPush": False}),
        {("ecr-scan-on-push", "{p}")}),
    "secret-without-customer-key (advisory)": (
        lambda a: a.c("secretsmanager").create_secret(Name=f"{a.p}-by-hand", SecretString="x",
                                                      Tags=a.tags(f"{a.p}-by-hand")),
        {("secretsmanager-secret-cmk", "{p}-by-hand"), ("secretsmanager-rotation", "{p}-by-hand")}),
}


@pytest.fixture(scope="module")
def drifted(aws: boto3.Session) -> tuple[Account, int, dict[str, Any]]:
    """The second account (environment=production) with every drift of DRIFT planted, and its audit."""
    account = Account(aws, "production").build()
    for plant, _ in DRIFT.values():
        plant(account)
    code, report = audit_json(account.session, "production")
    return account, code, report


def expected(drift: str, prefix: str) -> set[tuple[str, str]]:
    return {(policy, resource.format(p=prefix)) for policy, resource in DRIFT[drift][1]}


def matches(want: tuple[str, str], got: tuple[str, str]) -> bool:
    """``resource`` may end in ``/*``: a security-group rule made in the console has no Name, only its group's."""
    (policy, resource), (p, r) = want, got
    return p == policy and (r == resource or (resource.endswith("/*") and r.startswith(resource[:-1])
                                              and r.count("/") == 1))


# -------------------------------------------------------------------------------------------------------------
# The compliant account
# -------------------------------------------------------------------------------------------------------------

def test_a_compliant_account_yields_no_finding(compliant) -> None:
    _, code, report = compliant
    assert report["findings"] == [] and code == 0 and report["clean"] is True
    judged = report["judged"]
    for type_ in ("aws:s3/bucket:Bucket", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                  "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketPolicy:BucketPolicy",
                  "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:s3/bucketAcl:BucketAcl",
                  "aws:rds/instance:Instance", "aws:rds/parameterGroup:ParameterGroup", "aws:ec2/vpc:Vpc",
                  "aws:ec2/flowLog:FlowLog", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
                  "aws:kms/key:Key",
                  "aws:elasticache/replicationGroup:ReplicationGroup", "aws:ecs/taskDefinition:TaskDefinition",
                  "aws:wafv2/webAclAssociation:WebAclAssociation", "aws:wafv2/webAcl:WebAcl",
                  "aws:cloudwatch/logGroup:LogGroup", "aws:sns/topic:Topic", "aws:secretsmanager/secret:Secret",
                  "aws:ecr/repository:Repository"):
        assert judged.get(type_) == (2 if type_.startswith("aws:s3/") else 1), type_
    # the other account's resources (environment=production) are not part of this stack's audit
    assert judged["aws:ec2/securityGroup:SecurityGroup"] == 3 and judged["aws:lb/listener:Listener"] == 2
    assert judged["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"] == 6
    assert judged["aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"] == 2
    assert judged["aws:lb/loadBalancer:LoadBalancer"] == judged["aws:ecs/service:Service"] == 1
    assert report["not_judged"].get("ec2:subnet") == 2 and report["rules_not_run"].keys() == {
        "prod-stateful-protected", "waiver-valid", "waiver-audit"}


@pytest.mark.parametrize("drift", DRIFT, ids=list(DRIFT))
def test_console_drift_is_reported(drifted, drift: str) -> None:
    account, _, report = drifted
    got = found(report)
    for want in expected(drift, account.p):
        assert any(matches(want, g) for g in got), f"{want} not reported; reported: {sorted(got)}"


def test_nothing_but_the_planted_drift_is_reported(drifted) -> None:
    account, code, report = drifted
    wanted = set().union(*(expected(d, account.p) for d in DRIFT))
    got = found(report)
    unexpected = sorted(g for g in got if not any(matches(w, g) for w in wanted))
    assert not unexpected, unexpected
    assert len(got) == len(wanted) and code == 1 and report["clean"] is False
    advisory = {(f["policy"], f["enforcement"]) for f in report["findings"] if f["enforcement"] != "mandatory"}
    assert advisory == {("secretsmanager-secret-cmk", "advisory"), ("required-tags", "advisory")}


def test_findings_name_the_arn(drifted) -> None:
    account, _, report = drifted
    world = [f for f in report["findings"] if f["policy"] == "sg-no-world-ingress"]
    assert {f["arn"].rsplit("/", 1)[0] for f in world} == {"arn:aws:ec2:us-east-1:123456789012:security-group-rule"}
    assert any("admits 0.0.0.0/0 on port 5432" in f["message"] for f in world)
    db = next(f for f in report["findings"] if f["policy"] == "rds-not-public")
    assert db["arn"] == f"arn:aws:rds:us-east-1:123456789012:db:{account.p}-db" and db["severity"] == "critical"
    bucket = next(f for f in report["findings"] if f["policy"] == "s3-bucket-encryption")
    assert bucket["arn"] == f"arn:aws:s3:::{account.ids['assets']}"


def test_text_report_shows_mandatory_advisory_and_waived(drifted) -> None:
    account, _, report = drifted
    mandatory = sum(1 for f in report["findings"] if f["enforcement"] == "mandatory")
    waiver = {"policy": "ecs-service-no-public-ip", "resource": f"{account.p}-service",
              "reason": "A reviewed exception for this test: tasks need public IPs while the NAT is replaced."}
    code, out, err = cli(account.session, "production", config={"backend-hosting:waivers": [waiver]})
    assert code == 1 and err == ""
    assert f"; {mandatory - 1} mandatory findings, 3 advisory, 1 waived" in out.splitlines()[0]
    assert "\nmandatory:\n  " in out and "\n  ecs-task-no-plaintext-secrets " in out
    assert "\nadvisory:\n  required-tags" in out
    assert "\nwaived (the stack file's waivers):\n  ecs-service-no-public-ip" in out
    assert f"waiver: {waiver['reason']}" in out


def test_waivers_alone_make_it_pass(drifted) -> None:
    account, _, report = drifted
    waivers = [{"policy": f["policy"], "resource": f["resource"], "reason": "a reviewed exception, " * 5}
               for f in report["findings"] if f["enforcement"] == "mandatory"]
    code, out, _ = cli(account.session, "production", config={"backend-hosting:waivers": waivers})
    assert code == 0 and "; clean, 3 advisory, " in out.splitlines()[0]


# -------------------------------------------------------------------------------------------------------------
# Where moto has no API: ElastiCache Serverless (only those two calls are stubbed)
# -------------------------------------------------------------------------------------------------------------

SERVERLESS_ARN = "arn:aws:elasticache:us-east-1:123456789012:serverlesscache:app-prod-cache-sl"


def with_serverless(account: Account, user_group: str | None) -> Patched:
    def describe(_real: Any, **kw: Any) -> dict[str, Any]:
        assert kw == {"ServerlessCacheName": "app-prod-cache-sl"}
        cache = {"ServerlessCacheName": "app-prod-cache-sl", "Engine": "valkey", "Status": "available",
                 "SnapshotRetentionLimit": 7, "ARN": SERVERLESS_ARN}
        if user_group:
            cache["UserGroupId"] = user_group
        return {"ServerlessCaches": [cache]}

    listed = {**account.extra_listed, SERVERLESS_ARN: account.tags("app-prod-cache-sl")}
    return Patched(account.s, {**listed_too(listed), ("elasticache", "describe_serverless_caches"): describe})


def test_serverless_cache_without_access_control_is_reported(compliant) -> None:
    account, _, _ = compliant
    code, report = audit_json(with_serverless(account, "app-prod-users"), "prod")
    assert code == 0 and report["judged"]["aws:elasticache/serverlessCache:ServerlessCache"] == 1
    code, report = audit_json(with_serverless(account, None), "prod")
    assert code == 1 and found(report) == {("elasticache-auth-enabled", "app-prod-cache-sl")}


# -------------------------------------------------------------------------------------------------------------
# Credentials, permissions, throttling, bad input: one line, exit 2
# -------------------------------------------------------------------------------------------------------------

def one_line(code: int, out: str, err: str) -> str:
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err, (code, out, err)
    return err


def test_no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    err = one_line(*cli(boto3.Session(region_name=REGION), "prod"))
    assert err.startswith("ops: audit prod: no AWS credentials")


class Stubbed:
    """A session whose clients are stubbed with botocore's Stubber (no network, no credentials needed)."""

    session: boto3.Session | None = None  # one for every instance: a session loads endpoint data once

    def __init__(self, setup: Callable[[str, Stubber], None]) -> None:
        self.setup = setup
        if Stubbed.session is None:
            Stubbed.session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name=REGION)

    def client(self, service: str, **kwargs: Any) -> Any:
        client = self.session.client(service, **kwargs)
        stubber = Stubber(client)
        self.setup(service, stubber)
        stubber.activate()
        return client


def test_access_denied() -> None:
    def setup(service: str, stub: Stubber) -> None:
        if service == "resourcegroupstaggingapi":
            stub.add_response("get_resources", {"ResourceTagMappingList": [
                {"ResourceARN": "arn:aws:rds:us-east-1:1:db:app-prod-db", "Tags": tag_list("app-prod-db")}]})
        if service == "rds":
            stub.add_client_error("describe_db_instances", service_error_code="AccessDenied",
                                  service_message="User: arn:aws:sts::1:assumed-role/ci is not authorized",
                                  http_status_code=403)

    err = one_line(*cli(Stubbed(setup), "prod"))
    assert err.startswith("ops: audit prod: access denied to DescribeDBInstances (AccessDenied): the audit needs "
                          "read-only access")


def test_other_aws_error_is_one_line() -> None:
    def setup(service: str, stub: Stubber) -> None:
        if service == "resourcegroupstaggingapi":
            stub.add_client_error("get_resources", service_error_code="InternalServiceException",
                                  service_message="try later", http_status_code=500)

    err = one_line(*cli(Stubbed(setup), "prod"))
    assert err == "ops: audit prod: GetResources failed: InternalServiceException: try later\n"


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kw: Any) -> Iterator[bytes]:
        yield self.body

    def read(self, *_a: Any) -> bytes:
        return self.body


class Throttled:
    """The moto session, with the tagging API answering HTTP 400 ThrottlingException ``times`` times."""

    def __init__(self, session: boto3.Session, times: int) -> None:
        self.session = session
        self.times = times
        self.calls = 0
        self.retries: list[dict[str, Any]] = []

    def client(self, service: str, **kwargs: Any) -> Any:
        client = self.session.client(service, **kwargs)
        self.retries.append(dict(client.meta.config.retries))
        if service == "resourcegroupstaggingapi":
            client.meta.events.register_first("before-send.resource-groups-tagging-api.GetResources", self.send)
        return client

    def send(self, request: Any, **_kw: Any) -> AWSResponse | None:
        self.calls += 1
        if self.calls > self.times:
            return None  # moto answers
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        return AWSResponse(request.url, 400, {"x-amzn-requestid": "t", "Content-Type": "application/x-amz-json-1.1"},
                           _Raw(body))


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff delays botocore's retry handler asks for (recorded, not slept)."""
    import botocore.endpoint
    import botocore.retries.bucket

    asked: list[float] = []

    class Clock:
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        @staticmethod
        def sleep(seconds: float) -> None:
            asked.append(seconds)

    monkeypatch.setattr(botocore.endpoint, "time", Clock())
    # the adaptive mode's client-side rate limiter waits for tokens after a throttle (on a condition variable, for
    # up to seconds): not waited either
    monkeypatch.setattr(botocore.retries.bucket.TokenBucket, "_sleep_amount", lambda _self, _amount: 0.0)
    return asked


def test_throttling_is_retried_with_backoff(aws: boto3.Session, sleeps: list[float]) -> None:
    throttled = Throttled(aws, times=1)
    code, out, err = cli(throttled, "staging", "--format", "json")
    assert code == 0 and err == "" and json.loads(out)["live"] == 0 and throttled.calls == 2
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 1
    assert throttled.retries and all(r == {"mode": "adaptive", "total_max_attempts": ops.audit.MAX_ATTEMPTS}
                                     for r in throttled.retries)


def test_throttling_that_persists_is_one_line(aws: boto3.Session, monkeypatch: pytest.MonkeyPatch,
                                              sleeps: list[float]) -> None:
    monkeypatch.setattr(ops.audit, "MAX_ATTEMPTS", 2)
    throttled = Throttled(aws, times=99)
    err = one_line(*cli(throttled, "staging"))
    assert err == ("ops: audit prod: AWS throttled GetResources (ThrottlingException) through 2 attempts with "
                   "backoff: try again later, or lower the account's other API traffic\n")
    assert throttled.calls == 2 and len(sleeps) == 1


@pytest.mark.parametrize("argv", [
    ["audit"],
    ["audit", "prod", "--format", "yaml"],
    ["audit", "prod", "--region", "nowhere"],
    ["audit", "nosuchstack"],
    ["audit", "prod", "--program", "/nonexistent"],
    ["audit", "prod", "--bogus"],
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(argv)
    captured = capsys.readouterr()
    assert one_line(code, captured.out, captured.err).startswith("ops: ")


def test_a_gcp_stack_is_bad_input() -> None:
    gcp = Graph(project="backend-hosting", stack="gcp-prod", resources=[], outputs={})
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["audit", "gcp-prod"], graph_loader=lambda _d, _s: gcp)
    assert "not an AWS stack" in one_line(code, out.getvalue(), err.getvalue())


def test_a_bad_policy_pack_config_is_one_line(tmp_path) -> None:
    bad = tmp_path / "cfg.json"
    bad.write_text("{not json")
    assert "invalid JSON" in one_line(*cli(None, "prod", "--policy-pack-config", str(bad)))
    bad.write_text(json.dumps({"security": {"all": "sometimes"}}))
    empty = Stubbed(lambda service, stub: stub.add_response("get_resources", {"ResourceTagMappingList": []})
                    if service == "resourcegroupstaggingapi" else None)
    assert "enforcement level 'sometimes'" in one_line(*cli(empty, "prod", "--policy-pack-config", str(bad)))


def test_policy_pack_config_changes_enforcement(compliant, tmp_path) -> None:
    account, _, _ = compliant
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"security": {"elasticache-auth-enabled": "advisory"}}))
    code, out, _ = cli(with_serverless(account, None), "prod", "--policy-pack-config", str(cfg))
    assert code == 0 and "; clean, 1 advisory" in out.splitlines()[0]


def test_a_bucket_in_another_region_is_left_to_that_regions_audit(compliant) -> None:
    account, _, _ = compliant
    s3 = account.c("s3")
    s3.create_bucket(Bucket="app-prod-dr-copy-7g8h9i", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_bucket_tagging(Bucket="app-prod-dr-copy-7g8h9i", Tagging={"TagSet": tag_list("app-prod-dr-copy")})
    try:
        code, report = audit_json(account.session, "prod")
        assert code == 0 and report["findings"] == [] and report["judged"]["aws:s3/bucket:Bucket"] == 2
        assert report["not_judged"]["s3:bucket in another region (us-west-2)"] == 1
    finally:
        s3.delete_bucket(Bucket="app-prod-dr-copy-7g8h9i")


# -------------------------------------------------------------------------------------------------------------
# Mappings kept out of the moto accounts to keep them small (Aurora clusters, RBAC users): botocore's Stubber
# -------------------------------------------------------------------------------------------------------------

CLUSTER_ARN = "arn:aws:rds:us-east-1:123456789012:cluster:app-prod-aurora"
MEMBER_ARN = "arn:aws:rds:us-east-1:123456789012:db:app-prod-aurora-1"
USER_ARN = "arn:aws:elasticache:us-east-1:123456789012:user:app-prod-default"


def aurora_and_user(*, deletion_protection: bool, public_member: bool, user_access: str) -> Stubbed:
    def setup(service: str, stub: Stubber) -> None:
        if service == "resourcegroupstaggingapi":
            stub.add_response("get_resources", {"ResourceTagMappingList": [
                {"ResourceARN": arn, "Tags": tag_list(name)} for arn, name in (
                    (CLUSTER_ARN, "app-prod-aurora"), (MEMBER_ARN, "app-prod-aurora-1"),
                    (USER_ARN, "app-prod-default"))]})
        elif service == "elasticache":
            stub.add_response("describe_users", {"Users": [{
                "UserId": "app-prod-default", "UserName": "default", "Engine": "valkey", "AccessString": user_access,
                "Authentication": {"Type": "no-password"}}]}, {"UserId": "app-prod-default"})
        elif service == "rds":
            stub.add_response("describe_db_clusters", {"DBClusters": [{
                "DBClusterIdentifier": "app-prod-aurora", "Engine": "aurora-postgresql", "EngineVersion": "16.4",
                "StorageEncrypted": True, "DeletionProtection": deletion_protection, "BackupRetentionPeriod": 30,
                "DBClusterParameterGroup": "app-prod-aurora-pg"}]},
                {"DBClusterIdentifier": "app-prod-aurora"})
            stub.add_response("list_tags_for_resource", {"TagList": tag_list("app-prod-aurora-pg")}, {
                "ResourceName": "arn:aws:rds:us-east-1:123456789012:cluster-pg:app-prod-aurora-pg"})
            stub.add_response("describe_db_cluster_parameters", {"Parameters": [
                {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "pending-reboot"}]},
                {"DBClusterParameterGroupName": "app-prod-aurora-pg", "Source": "user"})
            stub.add_response("describe_db_instances", {"DBInstances": [{
                "DBInstanceIdentifier": "app-prod-aurora-1", "DBClusterIdentifier": "app-prod-aurora",
                "Engine": "aurora-postgresql", "PubliclyAccessible": public_member, "StorageEncrypted": True}]},
                {"DBInstanceIdentifier": "app-prod-aurora-1"})

    return Stubbed(setup)


def test_aurora_cluster_and_cache_user_drift() -> None:
    code, report = audit_json(aurora_and_user(deletion_protection=True, public_member=False,
                                              user_access="off -@all"), "prod")
    assert code == 0 and report["findings"] == []
    assert report["judged"] == {"aws:rds/cluster:Cluster": 1, "aws:rds/clusterInstance:ClusterInstance": 1,
                                "aws:rds/clusterParameterGroup:ClusterParameterGroup": 1,
                                "aws:elasticache/user:User": 1}
    code, report = audit_json(aurora_and_user(deletion_protection=False, public_member=True,
                                              user_access="on ~* +@all"), "prod")
    assert code == 1 and found(report) == {("rds-deletion-protection", "app-prod-aurora"),
                                           ("rds-not-public", "app-prod-aurora-1"),
                                           ("elasticache-user-requires-auth", "app-prod-default")}
