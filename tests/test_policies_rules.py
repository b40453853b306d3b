"""Every security policy: at least one violating and one compliant case, asserting the exact policy and resource.

Each case builds the resources a policy sees (camelCase inputs, options, property dependencies) and evaluates the
one rule through :meth:`policies.common.Rule.evaluate`, the function both the CLI and the review call.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

import policies.common as common
from policies.common import Context, Res, ResourceIndex, StackInfo
from policies.security import PACK

SECRET = common.SECRET_MARKER
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def R(type_: str, rname: str = "r", /, *, opts: dict[str, Any] | None = None, deps: dict[str, list[Res]] | None = None,
      provider: dict[str, Any] | None = None, **props: Any) -> Res:
    """A resource as a policy sees it; ``deps`` maps an input to the resources it was computed from."""
    return Res(type_, rname, f"urn:pulumi:test::proj::{type_}::{rname}", props, opts=opts or {},
               prop_deps={k: [d.urn for d in v] for k, v in (deps or {}).items()}, provider_props=provider)


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def containers(*defs: dict[str, Any]) -> str:
    return json.dumps([{"name": "app", "image": "x", "user": "1000", "readonlyRootFilesystem": True, **d}
                       for d in defs])


@dataclass
class Case:
    policy: str
    resources: list[Res]
    expect: list[str]
    """Names of the resources reported (``<stack>`` for a stack-level finding); [] = compliant."""
    env: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    stack_config: dict[str, Any] = field(default_factory=dict)
    id: str = ""


def judge(case: Case) -> list[str]:
    rule = PACK.rule(case.policy)
    cfg = dict(case.stack_config)
    if case.env:
        cfg["proj:environment"] = case.env
    stack = StackInfo(project="proj", stack="test", config=cfg, offline=True)
    index = ResourceIndex(case.resources)
    ctx = Context(rule, rule.effective_config(case.config), stack, index)
    found: list[str] = []
    if rule.kind == "stack":
        findings = rule.evaluate(index, ctx)
    else:
        findings = [f for r in case.resources if rule.applies_to(r.type) for f in rule.evaluate(r, ctx)]
    for f in findings:
        assert f.message
        found.append(f.res.name if f.res is not None else "<stack>")
    return sorted(found)


# --- resources used by several cases ------------------------------------------------------------------------
BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
LB = "aws:lb/loadBalancer:LoadBalancer"
SG = "aws:ec2/securityGroup:SecurityGroup"
SGI = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LISTENER = "aws:lb/listener:Listener"
RDS = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
PG = "aws:rds/parameterGroup:ParameterGroup"
RG = "aws:elasticache/replicationGroup:ReplicationGroup"
SC = "aws:elasticache/serverlessCache:ServerlessCache"
TD = "aws:ecs/taskDefinition:TaskDefinition"
EC2 = "aws:ec2/instance:Instance"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
GCE = "gcp:compute/instance:Instance"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
RUN = "gcp:cloudrunv2/service:Service"
REDIS = "gcp:redis/instance:Instance"
GCS = "gcp:storage/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
SSM = "aws:ssm/parameter:Parameter"
POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
IDP = "gcp:identityplatform/config:Config"
LATTICE_SVC = "aws:vpclattice/service:Service"
LATTICE_NET = "aws:vpclattice/serviceNetwork:ServiceNetwork"
LATTICE_POLICY = "aws:vpclattice/authPolicy:AuthPolicy"
LRULE = "aws:lb/listenerRule:ListenerRule"
SMS = "aws:secretsmanager/secret:Secret"
SMROT = "aws:secretsmanager/secretRotation:SecretRotation"

bucket = R(BUCKET, "b", bucket="my-bucket")
pab_ok = R(PAB, "b-pab", deps={"bucket": [bucket]}, blockPublicAcls=True, blockPublicPolicy=True,
           ignorePublicAcls=True, restrictPublicBuckets=True)
pab_partial = R(PAB, "b-pab", deps={"bucket": [bucket]}, blockPublicAcls=True, blockPublicPolicy=False,
                ignorePublicAcls=True, restrictPublicBuckets=True)
pab_by_name = R(PAB, "b-pab", bucket="my-bucket", blockPublicAcls=True, blockPublicPolicy=True,
                ignorePublicAcls=True, restrictPublicBuckets=True)

lb_sg = R(SG, "alb-sg")
app_sg = R(SG, "app-sg")
alb = R(LB, "alb", deps={"securityGroups": [lb_sg]}, loadBalancerType="application", internal=False)
public_stmt = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
TOPIC = "gcp:pubsub/topic:Topic"
SUB = "gcp:pubsub/subscription:Subscription"
SCHED = "gcp:cloudscheduler/job:Job"
main_topic = R(TOPIC, "jobs", name="jobs")
dlq_topic = R(TOPIC, "jobs-dl", name="jobs-dl")
https_redirect = [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]


# --- AWS workloads ----------------------------------------------------------------------------------------------
SQS_QUEUE = "aws:sqs/queue:Queue"
SCHEDULE = "aws:scheduler/schedule:Schedule"
DLQ = R(SQS_QUEUE, "jobs-dlq", sqsManagedSseEnabled=True)
SCHED_DLQ = R(SQS_QUEUE, "sched-dlq", sqsManagedSseEnabled=True, arn="arn:aws:sqs:us-east-1:1:sched-dlq")


def _scheduler(*stmts: dict[str, Any]) -> list[Res]:
    role = R("aws:iam/role:Role", "sched-role", arn="arn:aws:iam::1:role/sched")
    policy = R("aws:iam/rolePolicy:RolePolicy", "sched-policy", role="sched", policy=doc(*stmts),
               deps={"role": [role]})
    schedule = R(SCHEDULE, "nightly", target={"arn": "arn:aws:ecs:::cluster/c", "roleArn": "arn:aws:iam::1:role/sched",
                                               "ecsParameters": {"taskDefinitionArn": "arn:td"}},
                 deps={"target": [role]})
    return [role, policy, schedule]


def _internal_behind(*, internal_lb: bool, internal_svc: bool = True) -> list[Res]:
    lb = R(LB, "alb", internal=internal_lb)
    listener = R(LISTENER, "https", loadBalancerArn="arn:lb", deps={"loadBalancerArn": [lb]})
    tg = R("aws:lb/targetGroup:TargetGroup", "tg", arn="arn:tg")
    rule = R("aws:lb/listenerRule:ListenerRule", "route", listenerArn="arn:l",
             actions=[{"type": "forward", "targetGroupArn": "arn:tg"}], deps={"listenerArn": [listener],
                                                                             "actions": [tg]})
    connect = {"enabled": True, "namespace": "arn:ns",
               "services": [{"portName": "http", "discoveryName": "svc"}] if internal_svc else []}
    svc = R("aws:ecs/service:Service", "internal-svc", serviceConnectConfiguration=connect,
            loadBalancers=[{"targetGroupArn": "arn:tg", "containerName": "app", "containerPort": 8080}],
            deps={"loadBalancers": [tg]})
    return [lb, listener, tg, rule, svc]


CASES: list[Case] = [
    # ---- public exposure -------------------------------------------------------------------------------------
    Case("s3-bucket-public-access-block", [bucket], ["b"], id="no-block"),
    Case("s3-bucket-public-access-block", [bucket, pab_partial], ["b"], id="partial-block"),
    Case("s3-bucket-public-access-block", [bucket, pab_ok], [], id="block-by-dependency"),
    Case("s3-bucket-public-access-block", [bucket, pab_by_name], [], id="block-by-name"),
    Case("s3-bucket-public-access-block", [bucket, R("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
                                                     "acct", blockPublicAcls=True, blockPublicPolicy=True,
                                                     ignorePublicAcls=True, restrictPublicBuckets=True)], [],
         id="account-block"),
    Case("s3-bucket-no-public-acl", [R("aws:s3/bucketAcl:BucketAcl", "acl", acl="public-read")], ["acl"]),
    Case("s3-bucket-no-public-acl", [R("aws:s3/bucketAcl:BucketAcl", "acl", accessControlPolicy={"grants": [
        {"grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"},
         "permission": "READ"}]})], ["acl"], id="grant"),
    Case("s3-bucket-no-public-acl", [R("aws:s3/bucketAcl:BucketAcl", "acl", acl="private")], []),
    Case("s3-bucket-policy-not-public", [R("aws:s3/bucketPolicy:BucketPolicy", "pol", policy=doc(public_stmt))],
         ["pol"]),
    Case("s3-bucket-policy-not-public", [R("aws:s3/bucketPolicy:BucketPolicy", "pol", policy=doc(
        {**public_stmt, "Principal": {"Service": "cloudfront.amazonaws.com"},
         "Condition": {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::1:distribution/X"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))], [], id="scoped-and-tls-deny"),
    Case("s3-bucket-policy-not-public", [R("aws:s3/bucketPolicy:BucketPolicy", "pol", policy=doc(
        {**public_stmt, "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}))], [], id="vpce-condition"),
    Case("gcs-bucket-no-public-access", [R("gcp:storage/bucketIAMMember:BucketIAMMember", "m",
                                           role="roles/storage.objectViewer", member="allUsers")], ["m"]),
    Case("gcs-bucket-no-public-access", [R("gcp:storage/bucketAccessControl:BucketAccessControl", "acl",
                                           entity="allAuthenticatedUsers", role="READER")], ["acl"], id="acl"),
    Case("gcs-bucket-no-public-access", [R("gcp:storage/bucketIAMMember:BucketIAMMember", "m",
                                           role="roles/storage.objectViewer",
                                           member="serviceAccount:app@p.iam.gserviceaccount.com")], []),
    Case("gcs-bucket-public-access-prevention", [R(GCS, "g")], ["g"]),
    Case("gcs-bucket-public-access-prevention", [R(GCS, "g", publicAccessPrevention="enforced")], []),
    Case("rds-not-public", [R(RDS, "db", publiclyAccessible=True)], ["db"]),
    Case("rds-not-public", [R("aws:rds/clusterInstance:ClusterInstance", "ci", publiclyAccessible=True)], ["ci"]),
    Case("rds-not-public", [R(RDS, "db", publiclyAccessible=False)], []),
    Case("cloudsql-no-public-ip", [R(SQL, "sql", settings={"tier": "db-f1-micro"})], ["sql"], id="default-ipv4"),
    Case("cloudsql-no-public-ip", [R(SQL, "sql", settings={"ipConfiguration": {
        "ipv4Enabled": True, "authorizedNetworks": [{"name": "all", "value": "0.0.0.0/0"}]}})], ["sql", "sql"],
         id="world-authorized"),
    Case("cloudsql-no-public-ip", [R(SQL, "sql", settings={"ipConfiguration": {
        "ipv4Enabled": False, "privateNetwork": "projects/p/global/networks/vpc"}})], []),
    Case("ecs-service-no-public-ip", [R("aws:ecs/service:Service", "svc",
                                        networkConfiguration={"assignPublicIp": True, "subnets": ["s"]})], ["svc"]),
    Case("ecs-service-no-public-ip", [R("aws:ecs/service:Service", "svc",
                                        networkConfiguration={"assignPublicIp": False, "subnets": ["s"]})], []),
    Case("ec2-instance-no-public-ip", [R(EC2, "vm", associatePublicIpAddress=True)], ["vm"]),
    Case("ec2-instance-no-public-ip", [R(LT, "lt", networkInterfaces=[{"associatePublicIpAddress": "true"}])],
         ["lt"], id="launch-template"),
    Case("ec2-instance-no-public-ip", [R(EC2, "vm", associatePublicIpAddress=False),
                                       R(LT, "lt", networkInterfaces=[{"associatePublicIpAddress": "false"}])], []),
    Case("gce-instance-no-public-ip", [R(GCE, "vm", networkInterfaces=[{"network": "n", "accessConfigs": [{}]}])],
         ["vm"]),
    Case("gce-instance-no-public-ip", [R(GCE, "vm", networkInterfaces=[{"network": "n"}])], []),
    Case("cloudrun-ingress-restricted", [R(RUN, "run", template={})], ["run"]),
    Case("cloudrun-ingress-restricted", [R(RUN, "run", ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER")], []),
    Case("elasticache-auth-enabled", [R(RG, "cache", engine="valkey")], ["cache"]),
    Case("elasticache-auth-enabled", [R(SC, "open", engine="valkey"), R(SC, "rbac", engine="valkey",
                                                                        userGroupId="app-users")], ["open"]),
    Case("elasticache-auth-enabled", [R(RG, "cache", engine="valkey", authToken=SECRET),
                                      R(RG, "cache2", engine="redis", userGroupIds=["ug"])], []),
    Case("elasticache-user-requires-auth", [R("aws:elasticache/user:User", "open", userName="default",
                                              authenticationMode={"type": "no-password-required"},
                                              accessString="on ~* +@all")], ["open"]),
    Case("elasticache-user-requires-auth", [R("aws:elasticache/user:User", "off", userName="default",
                                              authenticationMode={"type": "no-password-required"},
                                              accessString="off -@all"),
                                            R("aws:elasticache/user:User", "app", authenticationMode={"type": "iam"},
                                              accessString="on ~* +@all")], []),
    Case("memorystore-auth-enabled", [R(REDIS, "redis", authEnabled=False)], ["redis"]),
    Case("memorystore-auth-enabled", [R(REDIS, "redis", authEnabled=True)], []),
    Case("lb-waf-in-prod", [alb], ["alb"], env="prod"),
    Case("lb-waf-in-prod", [alb, R("aws:wafv2/webAclAssociation:WebAclAssociation", "waf",
                                   deps={"resourceArn": [alb]})], [], env="prod", id="associated"),
    Case("lb-waf-in-prod", [alb], [], env="dev", id="dev"),
    # ---- network exposure ------------------------------------------------------------------------------------
    Case("sg-no-world-ingress", [R(SG, "ssh", ingress=[{"protocol": "tcp", "fromPort": 22, "toPort": 22,
                                                        "cidrBlocks": ["0.0.0.0/0"]}])], ["ssh"], id="inline-ssh"),
    Case("sg-no-world-ingress", [app_sg, R(SGI, "app-443", deps={"securityGroupId": [app_sg]}, ipProtocol="tcp",
                                           fromPort=443, toPort=443, cidrIpv4="0.0.0.0/0")], ["app-443"],
         id="443-not-on-lb"),
    Case("sg-no-world-ingress", [R("aws:ec2/securityGroupRule:SecurityGroupRule", "all6", type="ingress",
                                   protocol="-1", fromPort=0, toPort=0, ipv6CidrBlocks=["::/0"])], ["all6"],
         id="ipv6-all"),
    Case("sg-no-world-ingress", [alb, lb_sg, R(SGI, "alb-443", deps={"securityGroupId": [lb_sg]}, ipProtocol="tcp",
                                               fromPort=443, toPort=443, cidrIpv4="0.0.0.0/0"),
                                 R(SGI, "alb-80-v6", deps={"securityGroupId": [lb_sg]}, ipProtocol="tcp",
                                   fromPort=80, toPort=80, cidrIpv6="::/0"),
                                 R(SGI, "app-from-alb", deps={"securityGroupId": [app_sg]}, ipProtocol="tcp",
                                   fromPort=8080, toPort=8080, referencedSecurityGroupId="sg-alb")], [],
         id="lb-80-443"),
    Case("gcp-firewall-no-world-ingress", [R("gcp:compute/firewall:Firewall", "fw", network="n",
                                             allows=[{"protocol": "tcp", "ports": ["22"]}],
                                             sourceRanges=["0.0.0.0/0"])], ["fw"]),
    Case("gcp-firewall-no-world-ingress", [R("gcp:compute/firewall:Firewall", "fw", network="n",
                                             allows=[{"protocol": "tcp", "ports": ["8080"]}])], ["fw"],
         id="no-source"),
    Case("gcp-firewall-no-world-ingress", [R("gcp:compute/firewall:Firewall", "fw", network="n",
                                             allows=[{"protocol": "tcp", "ports": ["8080"]}],
                                             sourceRanges=["35.191.0.0/16", "130.211.0.0/22"]),
                                           R("gcp:compute/firewall:Firewall", "egress", network="n",
                                             direction="EGRESS", allows=[{"protocol": "all"}],
                                             destinationRanges=["0.0.0.0/0"])], []),
    Case("vpc-default-security-group-closed", [R("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default",
                                                 ingress=[{"protocol": "-1", "self": True, "fromPort": 0,
                                                           "toPort": 0}])], ["default"]),
    Case("vpc-default-security-group-closed", [R("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default",
                                                 vpcId="vpc-1")], []),
    # ---- encryption at rest ------------------------------------------------------------------------------------
    Case("s3-bucket-encryption", [bucket], ["b"]),
    Case("s3-bucket-encryption", [bucket, R(SSE, "sse", deps={"bucket": [bucket]},
                                            rules=[{"applyServerSideEncryptionByDefault": {
                                                "sseAlgorithm": "AES256"}}])],
         ["b"], config={"requireKms": True}, id="kms-required"),
    Case("s3-bucket-encryption", [bucket, R(SSE, "sse", deps={"bucket": [bucket]},
                                            rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"},
                                                    "bucketKeyEnabled": True}])], [], config={"requireKms": True}),
    Case("rds-storage-encrypted", [R(RDS, "db", engine="postgres"), R(CLUSTER, "aurora", engine="aurora-postgresql",
                                                                      storageEncrypted=False)], ["aurora", "db"]),
    Case("rds-storage-encrypted", [R(RDS, "db", storageEncrypted=True),
                                   R(RDS, "replica", replicateSourceDb="db-1")], []),
    Case("elasticache-encryption-at-rest", [R(RG, "cache")], ["cache"]),
    Case("elasticache-encryption-at-rest", [R(RG, "cache", atRestEncryptionEnabled=True)], []),
    Case("log-group-encrypted", [R("aws:cloudwatch/logGroup:LogGroup", "lg", retentionInDays=7)], ["lg"]),
    Case("log-group-encrypted", [R("aws:cloudwatch/logGroup:LogGroup", "lg", kmsKeyId=UNKNOWN)], []),
    Case("sns-topic-encrypted", [R("aws:sns/topic:Topic", "t")], ["t"]),
    Case("sns-topic-encrypted", [R("aws:sns/topic:Topic", "t", kmsMasterKeyId="alias/aws/sns")], []),
    Case("ebs-volume-encrypted", [R("aws:ebs/volume:Volume", "vol", size=10)], ["vol"]),
    Case("ebs-volume-encrypted", [R("aws:ebs/volume:Volume", "vol", size=10, encrypted=True)], []),
    Case("kms-key-rotation-enabled", [R("aws:kms/key:Key", "key")], ["key"]),
    Case("kms-key-rotation-enabled", [R("aws:kms/key:Key", "key", enableKeyRotation=True),
                                      R("aws:kms/key:Key", "sign", customerMasterKeySpec="RSA_2048",
                                        keyUsage="SIGN_VERIFY")], []),
    Case("gcp-kms-key-rotation", [R("gcp:kms/cryptoKey:CryptoKey", "k1"),
                                  R("gcp:kms/cryptoKey:CryptoKey", "k2", rotationPeriod="31536000s")], ["k1", "k2"]),
    Case("gcp-kms-key-rotation", [R("gcp:kms/cryptoKey:CryptoKey", "k", rotationPeriod="7776000s")], []),
    Case("cloudtrail-encrypted", [R("aws:cloudtrail/trail:Trail", "trail", s3BucketName="b")], ["trail"]),
    Case("cloudtrail-encrypted", [R("aws:cloudtrail/trail:Trail", "trail", kmsKeyId="arn:aws:kms:k")], []),
    Case("secretsmanager-secret-cmk", [R("aws:secretsmanager/secret:Secret", "sec")], ["sec"]),
    Case("secretsmanager-secret-cmk", [R("aws:secretsmanager/secret:Secret", "sec", kmsKeyId="arn:aws:kms:k")], []),
    # ---- encryption in transit -----------------------------------------------------------------------------------
    Case("lb-listener-https-only", [R(LISTENER, "http", port=80, protocol="HTTP",
                                      defaultActions=[{"type": "forward", "targetGroupArn": "tg"}])], ["http"]),
    Case("lb-listener-https-only", [R(LISTENER, "http", port=80, protocol="HTTP", defaultActions=https_redirect),
                                    R(LISTENER, "https", port=443, protocol="HTTPS",
                                      sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                                      defaultActions=[{"type": "forward"}])], []),
    Case("lb-listener-tls-policy", [R(LISTENER, "a", protocol="HTTPS"),
                                    R(LISTENER, "b", protocol="HTTPS", sslPolicy="ELBSecurityPolicy-2016-08")],
         ["a", "b"]),
    Case("lb-listener-tls-policy", [R(LISTENER, "a", protocol="HTTPS", sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06"),
                                    R(LISTENER, "http", protocol="HTTP", defaultActions=https_redirect)], []),
    Case("acm-certificate-strong-key", [R("aws:acm/certificate:Certificate", "cert", keyAlgorithm="RSA_1024",
                                          options={"certificateTransparencyLoggingPreference": "DISABLED"})],
         ["cert", "cert"]),
    Case("acm-certificate-strong-key", [R("aws:acm/certificate:Certificate", "cert", keyAlgorithm="EC_prime256v1",
                                          domainName="api.example.com")], []),
    Case("elasticache-transit-encryption", [R(RG, "cache"), R(RG, "pref", transitEncryptionEnabled=True,
                                                             transitEncryptionMode="preferred")], ["cache", "pref"]),
    Case("elasticache-transit-encryption", [R(RG, "cache", transitEncryptionEnabled=True)], []),
    Case("rds-ssl-enforced", [R(RDS, "pg14", engine="postgres", engineVersion="14.10")], ["pg14"], id="default-pg"),
    Case("rds-ssl-enforced", [R(PG, "pg", family="postgres16", parameters=[{"name": "rds.force_ssl", "value": "0"}]),
                              R(RDS, "db", deps={"parameterGroupName": []}, engine="postgres", engineVersion="16.4",
                                parameterGroupName="pg-name")], [], id="external-group-not-judged"),
    Case("rds-ssl-enforced", [pg_off := R(PG, "pg", family="postgres16",
                                          parameters=[{"name": "rds.force_ssl", "value": "0"}]),
                              R(RDS, "db", deps={"parameterGroupName": [pg_off]}, engine="postgres",
                                engineVersion="16.4")], ["db"], id="force-ssl-off"),
    Case("rds-ssl-enforced", [R(CLUSTER, "aurora", engine="aurora-mysql")], ["aurora"], id="aurora-default"),
    Case("rds-ssl-enforced", [pg_on := R(PG, "pg", family="postgres16", name="app-pg",
                                         parameters=[{"name": "rds.force_ssl", "value": "1"}]),
                              R(RDS, "db", deps={"parameterGroupName": [pg_on]}, engine="postgres"),
                              R(RDS, "pg16", engine="postgres", engineVersion="16.4"),
                              R(RDS, "byname", engine="postgres", engineVersion="13",
                                parameterGroupName="app-pg")], []),
    Case("cloudsql-ssl-required", [R(SQL, "sql", settings={"ipConfiguration": {"ipv4Enabled": False}})], ["sql"]),
    Case("cloudsql-ssl-required", [R(SQL, "sql", settings={"ipConfiguration": {"sslMode": "ENCRYPTED_ONLY"}})], []),
    Case("gcp-ssl-policy-tls12", [R("gcp:compute/sSLPolicy:SSLPolicy", "ssl", profile="MODERN")], ["ssl"]),
    Case("gcp-ssl-policy-tls12", [R("gcp:compute/sSLPolicy:SSLPolicy", "ssl", minTlsVersion="TLS_1_2")], []),
    Case("gcp-https-proxy-ssl-policy", [R("gcp:compute/targetHttpsProxy:TargetHttpsProxy", "px", urlMap="m")],
         ["px"]),
    Case("gcp-https-proxy-ssl-policy", [R("gcp:compute/targetHttpsProxy:TargetHttpsProxy", "px", urlMap="m",
                                          sslPolicy="projects/p/global/sslPolicies/tls12")], []),
    Case("gcp-http-redirects-to-https", [um := R("gcp:compute/uRLMap:URLMap", "serve", defaultService="bs"),
                                         R("gcp:compute/targetHttpProxy:TargetHttpProxy", "http",
                                           deps={"urlMap": [um]})], ["http"]),
    Case("gcp-http-redirects-to-https", [um2 := R("gcp:compute/uRLMap:URLMap", "redirect",
                                                  defaultUrlRedirect={"httpsRedirect": True, "stripQuery": False}),
                                         R("gcp:compute/targetHttpProxy:TargetHttpProxy", "http",
                                           deps={"urlMap": [um2]})], []),
    Case("memorystore-transit-encryption", [R(REDIS, "redis")], ["redis"]),
    Case("memorystore-transit-encryption", [R(REDIS, "redis", transitEncryptionMode="SERVER_AUTHENTICATION")], []),
    # ---- logging -------------------------------------------------------------------------------------------------
    Case("lb-access-logs", [R(LB, "alb")], ["alb"]),
    Case("lb-access-logs", [R(LB, "alb", accessLogs={"bucket": "logs", "enabled": True}),
                            R(LB, "nlb", loadBalancerType="network")], []),
    Case("vpc-flow-logs-enabled", [R("aws:ec2/vpc:Vpc", "vpc", cidrBlock="10.0.0.0/16")], ["vpc"]),
    Case("vpc-flow-logs-enabled", [vpc := R("aws:ec2/vpc:Vpc", "vpc", cidrBlock="10.0.0.0/16"),
                                   R("aws:ec2/flowLog:FlowLog", "fl", deps={"vpcId": [vpc]}, trafficType="ALL")], []),
    Case("gcp-subnet-flow-logs", [R("gcp:compute/subnetwork:Subnetwork", "sub", ipCidrRange="10.0.0.0/24")], ["sub"]),
    Case("gcp-subnet-flow-logs", [R("gcp:compute/subnetwork:Subnetwork", "sub", logConfig={"flowSampling": 0.5}),
                                  R("gcp:compute/subnetwork:Subnetwork", "proxy", purpose="REGIONAL_MANAGED_PROXY")],
         []),
    Case("log-group-retention", [R("aws:cloudwatch/logGroup:LogGroup", "lg")], ["lg"]),
    Case("log-group-retention", [R("aws:cloudwatch/logGroup:LogGroup", "lg", retentionInDays=30)], ["lg"],
         env="prod", id="prod-short"),
    Case("log-group-retention", [R("aws:cloudwatch/logGroup:LogGroup", "lg", retentionInDays=7)], [], env="dev"),
    Case("log-group-retention", [R("aws:cloudwatch/logGroup:LogGroup", "lg", retentionInDays=365)], [], env="prod"),
    Case("cloudtrail-log-validation", [R("aws:cloudtrail/trail:Trail", "trail")], ["trail"]),
    Case("cloudtrail-log-validation", [R("aws:cloudtrail/trail:Trail", "trail", enableLogFileValidation=True)], []),
    # ---- backups and data loss -----------------------------------------------------------------------------------
    Case("rds-backup-retention", [R(RDS, "db", backupRetentionPeriod=0)], ["db"], env="dev"),
    Case("rds-backup-retention", [R(CLUSTER, "aurora", backupRetentionPeriod=1)], ["aurora"], env="prod"),
    Case("rds-backup-retention", [R(RDS, "db", backupRetentionPeriod=1)], [], env="dev"),
    Case("rds-backup-retention", [R(RDS, "db", backupRetentionPeriod=30)], [], env="prod"),
    Case("rds-deletion-protection", [R(RDS, "db"), R(CLUSTER, "c", deletionProtection=False)], ["c", "db"],
         env="prod"),
    Case("rds-deletion-protection", [R(RDS, "db")], [], env="dev"),
    Case("rds-deletion-protection", [R(RDS, "db", deletionProtection=True)], [], env="prod"),
    Case("rds-final-snapshot", [R(RDS, "db", skipFinalSnapshot=True)], ["db"], env="prod"),
    Case("rds-final-snapshot", [R(RDS, "db", skipFinalSnapshot=True)], [], env="staging"),
    Case("rds-final-snapshot", [R(RDS, "db", finalSnapshotIdentifier="db-final")], [], env="prod"),
    Case("elasticache-snapshot-retention", [R(RG, "cache", snapshotRetentionLimit=0)], ["cache"], env="prod"),
    Case("elasticache-snapshot-retention", [R(RG, "cache", snapshotRetentionLimit=7)], [], env="prod"),
    Case("elasticache-snapshot-retention", [R(RG, "cache")], [], env="dev"),
    Case("elasticache-snapshot-retention", [R(SC, "sl", snapshotRetentionLimit=0),
                                            R(SC, "kept", snapshotRetentionLimit=1)], ["sl"], env="prod"),
    Case("lb-deletion-protection", [R(LB, "alb")], ["alb"], env="prod"),
    Case("lb-deletion-protection", [R(LB, "alb", enableDeletionProtection=True)], [], env="prod"),
    Case("prod-stateful-protected", [R(BUCKET, "b", forceDestroy=True),
                                     R(SQL, "sql", deletionProtection=False, opts={"retainOnDelete": True}),
                                     R(RDS, "db", skipFinalSnapshot=True), R("aws:ebs/volume:Volume", "vol"),
                                     R("aws:dynamodb/table:Table", "tbl")],
         ["b", "db", "sql", "tbl", "vol"], env="prod"),
    Case("prod-stateful-protected", [R(BUCKET, "b", forceDestroy=True, tags={"environment": "production"})], ["b"],
         id="environment-from-tag"),
    Case("prod-stateful-protected", [R(BUCKET, "b", forceDestroy=True, opts={"protect": True})], [], env="prod"),
    Case("prod-stateful-protected", [R(BUCKET, "b"), R(SQL, "sql"), R(RDS, "db", deletionProtection=True,
                                                                       skipFinalSnapshot=True),
                                     R(RDS, "db2"), R("aws:kms/key:Key", "key"),
                                     R("aws:ebs/volume:Volume", "vol", finalSnapshot=True),
                                     R("aws:dynamodb/table:Table", "tbl", deletionProtectionEnabled=True)], [],
         env="prod", id="cloud-native-protection"),
    Case("prod-stateful-protected", [R(BUCKET, "b"), R(RDS, "db", deletionProtection=True)], ["b", "db"],
         env="prod", config={"requireProtect": True}, id="require-protect"),
    Case("prod-stateful-protected", [R(BUCKET, "b", forceDestroy=True)], [], env="dev"),
    Case("prod-stateful-protected", [R(BUCKET, "b", forceDestroy=True, tags={"environment": "prod"})], [], env="dev",
         id="stack-config-wins-over-tag"),
    Case("s3-bucket-versioning", [bucket], ["b"]),
    Case("s3-bucket-versioning", [bucket, R("aws:s3/bucketVersioning:BucketVersioning", "v", deps={"bucket": [bucket]},
                                            versioningConfiguration={"status": "Suspended"})], ["b"], id="suspended"),
    Case("s3-bucket-versioning", [bucket, R("aws:s3/bucketVersioning:BucketVersioning", "v", deps={"bucket": [bucket]},
                                            versioningConfiguration={"status": "Enabled"})], []),
    Case("s3-bucket-tls-only", [bucket], ["b"], id="no-policy"),
    Case("s3-bucket-tls-only", [bucket, R("aws:s3/bucketPolicy:BucketPolicy", "p", deps={"bucket": [bucket]},
                                          policy=doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
                                                      "Action": "s3:GetObject", "Resource": "*"}))], ["b"],
         id="policy-without-tls-deny"),
    Case("s3-bucket-tls-only", [bucket, R("aws:s3/bucketPolicy:BucketPolicy", "p", deps={"bucket": [bucket]},
                                          policy=doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                                      "Resource": "*",
                                                      "Condition": {"Bool": {"aws:SecureTransport": "true"}}}))],
         ["b"], id="deny-on-the-wrong-value"),
    Case("s3-bucket-tls-only", [bucket, R("aws:s3/bucketPolicy:BucketPolicy", "p", deps={"bucket": [bucket]},
                                          policy=doc({"Sid": "DenyInsecureTransport", "Effect": "Deny",
                                                      "Principal": "*", "Action": "s3:*", "Resource": "*",
                                                      "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))],
         []),
    Case("s3-bucket-tls-only", [bucket, R("aws:s3/bucketPolicy:BucketPolicy", "p", deps={"bucket": [bucket]},
                                          policy=UNKNOWN)], [], id="unknown-policy"),
    Case("gcs-bucket-versioning", [R(GCS, "g")], ["g"]),
    Case("gcs-bucket-versioning", [R(GCS, "g", versioning={"enabled": True})], []),
    Case("cloudsql-backups", [R(SQL, "sql", settings={"backupConfiguration": {"enabled": False}})], ["sql"]),
    Case("cloudsql-backups", [R(SQL, "sql", settings={"backupConfiguration": {"enabled": True}})], ["sql"],
         env="prod", id="prod-no-pitr"),
    Case("cloudsql-backups", [R(SQL, "sql", settings={"backupConfiguration": {
        "enabled": True, "pointInTimeRecoveryEnabled": True}})], [], env="prod"),
    Case("cloudsql-deletion-protection", [R(SQL, "sql", deletionProtection=False, settings={})], ["sql"],
         env="prod"),
    Case("cloudsql-deletion-protection", [R(SQL, "sql", deletionProtection=False, settings={})], ["sql", "sql"],
         env="prod", config={"requireApiProtection": True}, id="require-api-protection"),
    Case("cloudsql-deletion-protection", [R(SQL, "sql", settings={})], ["sql"], env="prod",
         config={"requireApiProtection": True}, id="pulumi-only-with-require-api"),
    Case("cloudsql-deletion-protection", [R(SQL, "sql", settings={"deletionProtectionEnabled": True}),
                                          R(SQL, "sql2", settings={})], [], env="prod"),
    Case("dynamodb-pitr-enabled", [R("aws:dynamodb/table:Table", "tbl", hashKey="id")], ["tbl"]),
    Case("dynamodb-pitr-enabled", [R("aws:dynamodb/table:Table", "tbl", pointInTimeRecovery={"enabled": True})], []),
    # ---- IAM -------------------------------------------------------------------------------------------------------
    Case("iam-no-star-action-star-resource", [
        R("aws:iam/policy:Policy", "admin", policy=doc({"Effect": "Allow", "Action": "*", "Resource": "*"})),
        R("aws:iam/role:Role", "role", inlinePolicies=[{"name": "all", "policy": doc(
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": ["*"]})}])], ["admin", "role"]),
    Case("iam-no-star-action-star-resource", [
        R("aws:iam/rolePolicy:RolePolicy", "rp", policy=doc(
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Deny", "Action": "*", "Resource": "*"}))], []),
    Case("iam-no-service-wildcard-actions", [R("aws:iam/rolePolicy:RolePolicy", "rp", policy=doc(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}))], ["rp"]),
    Case("iam-no-service-wildcard-actions", [R("aws:iam/rolePolicy:RolePolicy", "rp", policy=doc(
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/*"}))], []),
    Case("iam-no-wildcard-principal", [
        R("aws:iam/role:Role", "role", assumeRolePolicy=doc(
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})),
        R("aws:lambda/permission:Permission", "perm", action="lambda:InvokeFunction", function="f", principal="*")],
         ["perm", "role"]),
    Case("iam-no-wildcard-principal", [
        R("aws:iam/role:Role", "role", assumeRolePolicy=doc(
            {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"})),
        R("aws:sns/topicPolicy:TopicPolicy", "tp", arn="t", policy=doc(
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Publish", "Resource": "t",
             "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}))], []),
    Case("iam-no-admin-policy-on-workloads", [
        R("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "att", role="r",
          policyArn="arn:aws:iam::aws:policy/AdministratorAccess"),
        R("aws:iam/role:Role", "role", managedPolicyArns=["arn:aws:iam::aws:policy/PowerUserAccess"])],
         ["att", "role"]),
    Case("iam-no-admin-policy-on-workloads", [
        R("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "att", role="r",
          policyArn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"),
        R("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "own", role="r",
          policyArn="arn:aws:iam::123456789012:policy/AdministratorAccess")], []),
    Case("gcp-no-primitive-roles", [R("gcp:projects/iAMMember:IAMMember", "m", project="p", role="roles/editor",
                                      member="serviceAccount:app@p.iam.gserviceaccount.com")], ["m"]),
    Case("gcp-no-primitive-roles", [R("gcp:projects/iAMPolicy:IAMPolicy", "pol", project="p", policyData=json.dumps(
        {"bindings": [{"role": "roles/owner", "members": ["user:a@example.com"]}]}))], ["pol"], id="policy-data"),
    Case("gcp-no-primitive-roles", [R("gcp:projects/iAMMember:IAMMember", "m", project="p",
                                      role="roles/cloudsql.client", member="serviceAccount:a@p.iam")], []),
    Case("gcp-iam-no-public-members", [R("gcp:projects/iAMMember:IAMMember", "m", project="p", role="roles/viewer",
                                         member="allAuthenticatedUsers"),
                                       R("gcp:secretmanager/secretIamMember:SecretIamMember", "s", secretId="x",
                                         role="roles/secretmanager.secretAccessor", member="allUsers")], ["m", "s"]),
    Case("gcp-iam-no-public-members", [R("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "inv", name="svc",
                                         role="roles/run.invoker", member="allUsers")], []),
    Case("gcp-no-service-account-keys", [R("gcp:serviceaccount/key:Key", "key", serviceAccountId="sa")], ["key"]),
    Case("gcp-no-service-account-keys", [R("gcp:serviceaccount/key:Key", "key", serviceAccountId="sa",
                                           publicKeyData="LS0t")], []),
    # ---- plaintext secrets -------------------------------------------------------------------------------------------
    Case("ecs-task-no-plaintext-secrets", [R(TD, "td", containerDefinitions=containers(
        {"environment": [{"name": "DB_PASSWORD", "value": "hunter2hunter2"}]}))], ["td"]),
    Case("ecs-task-no-plaintext-secrets", [R(TD, "td", containerDefinitions=containers(
        {"environment": [{"name": "DATABASE_URL", "value": "postgres://app:s3cret@db:5432/app"}]}))], ["td"],
         id="url-with-password"),
    Case("ecs-task-no-plaintext-secrets", [R(TD, "td", containerDefinitions=containers(
        {"environment": [{"name": "DB_PASSWORD_SECRET_ARN", "value": "arn:aws:secretsmanager:us-east-1:1:secret:x"},
                         {"name": "CACHE_TLS", "value": "true"}, {"name": "TOKEN_TTL", "value": "3600"}],
         "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:x"}]}))], []),
    Case("lambda-no-plaintext-secrets", [R("aws:lambda/function:Function", "fn", environment={
        "variables": {"STRIPE_API_KEY": "sk_live_123456"}})], ["fn"]),
    Case("lambda-no-plaintext-secrets", [R("aws:lambda/function:Function", "fn", environment={
        "variables": {"STRIPE_API_KEY_ARN": "arn:aws:secretsmanager:x", "LOG_LEVEL": "info"}})], []),
    Case("cloudrun-no-plaintext-secrets", [R(RUN, "run", template={"containers": [
        {"image": "x", "envs": [{"name": "DB_PASSWORD", "value": "pw-literal"}]}]})], ["run"]),
    Case("cloudrun-no-plaintext-secrets", [R(RUN, "run", template={"containers": [
        {"image": "x", "envs": [{"name": "DB_PASSWORD", "valueSource": {"secretKeyRef": {"secret": "db"}}}]}]})], []),
    Case("gce-metadata-no-plaintext-secrets", [R(GCE, "vm", metadata={"db-password": "hunter22"}),
                                               R(GCE, "vm2", metadataStartupScript="export API_TOKEN=abcd1234\n")],
         ["vm", "vm2"]),
    Case("gce-metadata-no-plaintext-secrets", [R(GCE, "vm", metadata={"enable-oslogin": "TRUE"},
                                                 metadataStartupScript="API_TOKEN=$(gcloud secrets versions access "
                                                                       "latest --secret=api)\n")], []),
    Case("ec2-user-data-no-secrets", [R(EC2, "vm", userData="#!/bin/sh\nexport DB_PASSWORD=hunter22\n"),
                                      R(LT, "lt", userData=base64.b64encode(b"MYSQL_PASSWORD='abc12345'").decode())],
         ["lt", "vm"]),
    Case("ec2-user-data-no-secrets", [R(EC2, "vm", userData="#!/bin/sh\nDB_PASSWORD=$(aws secretsmanager "
                                                            "get-secret-value --secret-id db)\n")], []),
    Case("ssm-parameter-secure-string", [R("aws:ssm/parameter:Parameter", "p", name="/app/db/password",
                                           type="String", value="x")], ["p"]),
    Case("ssm-parameter-secure-string", [R("aws:ssm/parameter:Parameter", "p", name="/app/db/password",
                                           type="SecureString", value=SECRET),
                                         R(SSM, "q", name="/app/db/host", type="String")], []),
    # ---- hardening -------------------------------------------------------------------------------------------------
    Case("ecs-task-no-privileged", [R(TD, "td", containerDefinitions=containers({"privileged": True}))], ["td"]),
    Case("ecs-task-no-privileged", [R(TD, "td", containerDefinitions=containers({"privileged": False}))], []),
    Case("ecs-task-readonly-root", [R(TD, "td", containerDefinitions=containers({"readonlyRootFilesystem": False}))],
         ["td"]),
    Case("ecs-task-readonly-root", [R(TD, "td", containerDefinitions=containers({}))], []),
    Case("ecs-task-non-root-user", [R(TD, "td", containerDefinitions=containers({"user": "0:0"})),
                                    R(TD, "td2", containerDefinitions=json.dumps([{"name": "a", "image": "x"}]))],
         ["td"]),
    Case("ecs-task-non-root-user", [R(TD, "td", containerDefinitions=containers({"user": "0:0"})),
                                    R(TD, "td2", containerDefinitions=json.dumps([{"name": "a", "image": "x"}]))],
         ["td", "td2"], config={"requireExplicitUser": True}, id="require-explicit-user"),
    Case("ecs-task-non-root-user", [R(TD, "td", containerDefinitions=containers({"user": "1000:1000"})),
                                    R(TD, "unknown", containerDefinitions=UNKNOWN)], []),
    Case("ec2-imdsv2-required", [R(EC2, "vm"), R(LT, "lt", metadataOptions={"httpTokens": "optional"})],
         ["lt", "vm"]),
    Case("ec2-imdsv2-required", [R(EC2, "vm", metadataOptions={"httpTokens": "required"}),
                                 R(LT, "lt", metadataOptions={"httpEndpoint": "disabled"})], []),
    Case("ec2-root-volume-encrypted", [R(EC2, "vm"), R(LT, "lt", blockDeviceMappings=[
        {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 20}}])], ["lt", "vm"]),
    Case("ec2-root-volume-encrypted", [R(EC2, "vm", rootBlockDevice={"encrypted": True}),
                                       R(LT, "lt", blockDeviceMappings=[
                                           {"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}])], []),
    Case("gce-shielded-vm", [R(GCE, "vm")], ["vm"]),
    Case("gce-shielded-vm", [R(GCE, "vm", shieldedInstanceConfig={"enableSecureBoot": True})], []),
    Case("gce-no-default-sa-full-scope", [R(GCE, "vm", serviceAccount={
        "email": "123-compute@developer.gserviceaccount.com", "scopes": ["cloud-platform"]})], ["vm"]),
    Case("gce-no-default-sa-full-scope", [R(GCE, "vm", serviceAccount={
        "email": "vm@p.iam.gserviceaccount.com", "scopes": ["cloud-platform"]})], []),
    Case("cloudrun-dedicated-service-account", [R(RUN, "run", template={"containers": []})], ["run"]),
    Case("cloudrun-dedicated-service-account", [R(RUN, "run", template={
        "serviceAccount": "run@p.iam.gserviceaccount.com"})], []),
    Case("lb-drop-invalid-headers", [R(LB, "alb")], ["alb"]),
    Case("lb-drop-invalid-headers", [R(LB, "alb", dropInvalidHeaderFields=True),
                                     R(LB, "nlb", loadBalancerType="network")], []),
    Case("wafv2-web-acl-has-rules", [R("aws:wafv2/webAcl:WebAcl", "waf", scope="REGIONAL",
                                       defaultAction={"allow": {}})], ["waf"]),
    Case("wafv2-web-acl-has-rules", [R("aws:wafv2/webAcl:WebAcl", "waf", scope="REGIONAL", defaultAction={"allow": {}},
                                       rules=[{"name": "common", "priority": 1}])], []),
    Case("ecr-scan-on-push", [R("aws:ecr/repository:Repository", "repo")], ["repo"]),
    Case("ecr-scan-on-push", [R("aws:ecr/repository:Repository", "repo",
                                imageScanningConfiguration={"scanOnPush": True})], []),
    Case("ecr-immutable-tags", [R("aws:ecr/repository:Repository", "repo", imageTagMutability="MUTABLE")], ["repo"]),
    Case("ecr-immutable-tags", [R("aws:ecr/repository:Repository", "repo", imageTagMutability="IMMUTABLE")], []),
    Case("gcs-bucket-uniform-access", [R(GCS, "g", uniformBucketLevelAccess=False)], ["g"]),
    Case("gcs-bucket-uniform-access", [R(GCS, "g", uniformBucketLevelAccess=True)], []),
    Case("s3-bucket-acls-disabled", [R("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "own",
                                       rule={"objectOwnership": "ObjectWriter"})], ["own"]),
    Case("s3-bucket-acls-disabled", [R("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "own",
                                       rule={"objectOwnership": "BucketOwnerEnforced"})], []),
    # ---- tags ----------------------------------------------------------------------------------------------------
    Case("required-tags", [R(BUCKET, "b", tags={"environment": "dev"}), R(GCS, "g", labels={"owner": "x"})],
         ["b", "g"]),
    Case("required-tags", [
        R(BUCKET, "b", tags={"environment": "dev", "owner": "p", "cost-center": "e", "managed-by": "pulumi"}),
        R(BUCKET, "viaprovider", tags={"owner": "p"}, provider={"defaultTags": json.dumps(
            {"tags": {"environment": "dev", "cost-center": "e", "managed-by": "pulumi"}})}),
        R(SQL, "sql", settings={"userLabels": {"environment": "dev", "owner": "p", "cost-center": "e",
                                               "managed-by": "pulumi"}}),
        R("aws:s3/bucketPolicy:BucketPolicy", "not-taggable", policy="{}"),
        R(BUCKET, "computed", tags=UNKNOWN)], []),
    # ---- GCP workloads: Pub/Sub, Cloud Scheduler, internal Cloud Run --------------------------------------------
    Case("pubsub-topic-cmek", [R(TOPIC, "t")], ["t"]),
    Case("pubsub-topic-cmek", [R(TOPIC, "t", kmsKeyName="projects/p/locations/l/keyRings/r/cryptoKeys/k")], []),
    Case("pubsub-no-public-access", [R("gcp:pubsub/topicIAMMember:TopicIAMMember", "pub", topic="t",
                                       role="roles/pubsub.publisher", member="allUsers"),
                                     R("gcp:pubsub/subscriptionIAMBinding:SubscriptionIAMBinding", "sub",
                                       subscription="s", role="roles/pubsub.subscriber",
                                       members=["serviceAccount:w@p.iam", "allAuthenticatedUsers"])], ["pub", "sub"]),
    Case("pubsub-no-public-access", [R("gcp:pubsub/topicIAMMember:TopicIAMMember", "pub", topic="t",
                                       role="roles/pubsub.publisher", member="serviceAccount:api@p.iam")], []),
    Case("pubsub-subscription-dead-letter", [main_topic, R(SUB, "sub", deps={"topic": [main_topic]}, topic="x")],
         ["sub"]),
    Case("pubsub-subscription-dead-letter", [
        main_topic, dlq_topic,
        R(SUB, "sub", deps={"topic": [main_topic], "deadLetterPolicy": [dlq_topic]}, topic="x",
          deadLetterPolicy={"deadLetterTopic": "projects/p/topics/jobs-dl", "maxDeliveryAttempts": 5}),
        # the inspection subscription on the dead-letter topic needs none
        R(SUB, "dl-sub", deps={"topic": [dlq_topic]}, topic="projects/p/topics/jobs-dl")], []),
    Case("pubsub-push-authenticated", [R(SUB, "sub", pushConfig={"pushEndpoint": "https://w.run.app"}),
                                       R(SUB, "plain", pushConfig={"pushEndpoint": "http://w.example.com",
                                         "oidcToken": {"serviceAccountEmail": "push@p.iam"}})], ["plain", "sub"]),
    Case("pubsub-push-authenticated", [R(SUB, "sub", pushConfig={"pushEndpoint": "https://w.run.app", "oidcToken": {
        "serviceAccountEmail": "push@p.iam", "audience": "https://w.run.app"}}), R(SUB, "pull")], []),
    Case("scheduler-job-authenticated", [R(SCHED, "cron", httpTarget={"uri": "https://run.googleapis.com/x:run"})],
         ["cron"]),
    Case("scheduler-job-authenticated", [R(SCHED, "cron", httpTarget={
        "uri": "https://run.googleapis.com/x:run", "oauthToken": {"serviceAccountEmail": "sched@p.iam"}}),
        R(SCHED, "pubsub", pubsubTarget={"topicName": "t"})], []),
    Case("cloudrun-not-publicly-invokable", [R("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "inv", name="s",
                                               role="roles/run.invoker", member="allUsers")], ["inv"]),
    Case("cloudrun-not-publicly-invokable", [R("gcp:cloudrunv2/jobIamMember:JobIamMember", "inv", name="j",
                                               role="roles/run.invoker", member="serviceAccount:s@p.iam")], []),
    # Cloud Run jobs run as their own account too (the rule covers services and jobs)
    Case("cloudrun-dedicated-service-account", [R("gcp:cloudrunv2/job:Job", "job", template={"template": {
        "serviceAccount": "123456789012-compute@developer.gserviceaccount.com"}})], ["job"], id="job"),
    Case("cloudrun-dedicated-service-account", [R("gcp:cloudrunv2/job:Job", "job", template={"template": {
        "serviceAccount": "app-dev-migrate-job@p.iam.gserviceaccount.com"}})], [], id="job"),
    Case("cloudrun-internal-requires-iam", [R(RUN, "int", ingress="INGRESS_TRAFFIC_INTERNAL_ONLY",
                                              invokerIamDisabled=True)], ["int"]),
    Case("cloudrun-internal-requires-iam", [R(RUN, "int", ingress="INGRESS_TRAFFIC_INTERNAL_ONLY"),
                                            R(RUN, "lb", ingress="INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
                                              invokerIamDisabled=True)], []),
    # ---- AWS workloads (issue 9: queues, schedules, internal services) ------------------------------------------
    Case("sqs-queue-encrypted", [R(SQS_QUEUE, "plain"), R(SQS_QUEUE, "off", sqsManagedSseEnabled=False)],
         ["off", "plain"]),
    Case("sqs-queue-encrypted", [R(SQS_QUEUE, "kms", kmsMasterKeyId="arn:aws:kms:us-east-1:1:key/k"),
                                 R(SQS_QUEUE, "sse", sqsManagedSseEnabled=True)], []),
    Case("sqs-queue-policy-not-public", [
        R("aws:sqs/queuePolicy:QueuePolicy", "open", queueUrl="u", policy=doc(
            {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:::q"}))],
         ["open"]),
    Case("sqs-queue-policy-not-public", [
        R("aws:sqs/queuePolicy:QueuePolicy", "pinned", queueUrl="u", policy=doc(
            {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
             "Resource": "arn:aws:sqs:::q", "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:::t"}}},
            {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "arn:aws:sqs:::q",
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))], []),
    Case("sqs-queue-has-dead-letter-queue", [R(SQS_QUEUE, "jobs", sqsManagedSseEnabled=True)], ["jobs"]),
    Case("sqs-queue-has-dead-letter-queue", [
        DLQ, R(SQS_QUEUE, "jobs", redrivePolicy='{"deadLetterTargetArn": "x", "maxReceiveCount": 5}',
               deps={"redrivePolicy": [DLQ]}),
        SCHED_DLQ, R(SCHEDULE, "nightly", target={"arn": "arn:aws:ecs:::cluster/c", "deadLetterConfig": {
            "arn": "arn:aws:sqs:us-east-1:1:sched-dlq"}}, deps={"target": [SCHED_DLQ]})], []),
    Case("scheduler-role-scoped-to-task", _scheduler(
        {"Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}), ["sched-role", "sched-role"]),
    Case("scheduler-role-scoped-to-task", _scheduler(
        {"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:ecs:us-east-1:1:task-definition/*"}),
         ["sched-role"], id="every-family"),
    Case("scheduler-role-scoped-to-task", _scheduler(
        {"Effect": "Allow", "Action": "ecs:RunTask",
         "Resource": "arn:aws:ecs:us-east-1:1:task-definition/app-nightly:*",
         "Condition": {"ArnEquals": {"ecs:cluster": "arn:aws:ecs:us-east-1:1:cluster/c"}}},
        {"Effect": "Allow", "Action": "iam:PassRole",
         "Resource": ["arn:aws:iam::1:role/exec", "arn:aws:iam::1:role/task"],
         "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}), []),
    Case("internal-service-not-public", _internal_behind(internal_lb=False), ["internal-svc"]),
    Case("internal-service-not-public", _internal_behind(internal_lb=True), []),
    Case("internal-service-not-public", _internal_behind(internal_lb=False, internal_svc=False), [],
         id="public-service"),
    # ---- waivers -----------------------------------------------------------------------------------------------
    Case("waiver-valid", [], ["<stack>", "<stack>"], stack_config={"proj:waivers": [
        {"policy": "no-such-policy", "resource": "x", "reason": "one two three four five six seven eight nine ten"},
        {"policy": "rds-not-public", "resource": "db", "reason": "too short"}]}),
    Case("waiver-valid", [], [], stack_config={"proj:waivers": [
        {"policy": "rds-not-public", "resource": "db-*",
         "reason": "the reporting replica is reachable from the office VPN only, reviewed by security"}]}),
    # --- identity (rules_identity.py) ---
    Case("cognito-mfa-in-prod", [R(POOL, "pool", mfaConfiguration="OFF")], ["pool"], env="prod"),
    Case("cognito-mfa-in-prod", [R(POOL, "pool", mfaConfiguration="ON")], [], env="prod"),
    Case("cognito-mfa-in-prod", [R(POOL, "pool", mfaConfiguration="OFF")], [], env="dev", id="dev-may-turn-mfa-off"),
    Case("cognito-mfa-in-prod", [R(IDP, "idp", mfa={"state": "DISABLED"})], ["idp"], env="prod"),
    Case("cognito-mfa-in-prod", [R(IDP, "idp", mfa={"state": "MANDATORY"})], [], env="prod"),
    Case("internal-service-iam-auth", [R(LATTICE_SVC, "svc", authType="NONE"), R(LATTICE_SVC, "default"),
                                       R(LATTICE_NET, "net", authType="NONE")], ["svc", "default", "net"]),
    Case("internal-service-iam-auth", [R(LATTICE_SVC, "svc", authType="AWS_IAM"),
                                       R(LATTICE_NET, "net", authType="AWS_IAM")], []),
    Case("internal-service-iam-auth", [R(LATTICE_POLICY, "open", policy=doc(
        {"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "vpc-lattice-svcs:Invoke", "Resource": "*"}))],
        ["open"], id="auth-policy-star-principal"),
    Case("internal-service-iam-auth", [R(LATTICE_POLICY, "callers", policy=doc(
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::123456789012:role/app-prod-api-task"]},
         "Action": "vpc-lattice-svcs:Invoke", "Resource": "arn:aws:vpc-lattice:us-east-1:123456789012:service/svc-1/*",
         "Condition": {"ArnEquals": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/app-prod-api-task"]}}})),
        R(LATTICE_POLICY, "account", policy=doc(
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "vpc-lattice-svcs:Invoke", "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}}))], [],
        id="auth-policy-named-callers-or-pinned-star"),
    Case("cognito-deletion-protection", [R(POOL, "pool", deletionProtection="INACTIVE")], ["pool"], env="prod"),
    Case("cognito-deletion-protection", [R(POOL, "pool", deletionProtection="ACTIVE")], [], env="prod"),
    Case("cognito-token-lifetime", [R(CLIENT, "c", accessTokenValidity=2, idTokenValidity=1,
                                      tokenValidityUnits={"accessToken": "hours", "idToken": "hours"})], ["c"]),
    Case("cognito-token-lifetime", [R(CLIENT, "c")], ["c"], config={"maxMinutes": 30},
         id="cognito-default-one-hour-over-a-30-minute-limit"),
    Case("cognito-token-lifetime", [R(CLIENT, "c", accessTokenValidity=60, idTokenValidity=15,
                                      tokenValidityUnits={"accessToken": "minutes", "idToken": "minutes"})], []),
    Case("cognito-refresh-token-lifetime", [R(CLIENT, "c", refreshTokenValidity=365)], ["c"]),
    Case("cognito-refresh-token-lifetime", [R(CLIENT, "c", refreshTokenValidity=12,
                                              tokenValidityUnits={"refreshToken": "hours"})], []),
    Case("cognito-public-client-secret", [R(CLIENT, "spa", generateSecret=True, allowedOauthFlows=["code"],
                                            callbackUrls=["http://localhost:3000/cb", "myapp://callback"])],
         ["spa"]),
    Case("cognito-public-client-secret", [R(CLIENT, "spa", generateSecret=True, allowedOauthFlows=["implicit"])],
         ["spa"], id="implicit-client-with-secret"),
    Case("cognito-public-client-secret", [R(CLIENT, "server", generateSecret=True, allowedOauthFlows=["code"],
                                            callbackUrls=["https://app.example.com/cb"])], []),
    Case("cognito-public-client-secret", [R(CLIENT, "spa", generateSecret=False, allowedOauthFlows=["code"],
                                            callbackUrls=["http://localhost:3000/cb"])], [], id="public-no-secret"),
    Case("cognito-no-implicit-flow", [R(CLIENT, "c", allowedOauthFlows=["code", "implicit"])], ["c"]),
    Case("cognito-no-implicit-flow", [R(CLIENT, "c", allowedOauthFlows=["code"])], []),
    Case("lb-admin-routes-authenticated", [R(LRULE, "admin", priority=5,
         conditions=[{"pathPattern": {"values": ["/admin/*"]}}],
         actions=[{"type": "forward", "targetGroupArn": "arn:aws:elasticloadbalancing:tg"}])], ["admin"]),
    Case("lb-admin-routes-authenticated", [R(LRULE, "admin", priority=5,
         conditions=[{"pathPattern": {"values": ["/v1/admin*"]}}],
         actions=[{"type": "forward", "forward": {"targetGroups": [{"arn": "tg"}]}}])], ["admin"],
         id="nested-admin-path-weighted-forward"),
    Case("lb-admin-routes-authenticated", [R(LRULE, "admin", priority=1,
         conditions=[{"pathPattern": {"values": ["/admin/*"]}}],
         actions=[{"type": "authenticate-cognito", "order": 1, "authenticateCognito": {"userPoolArn": "arn"}},
                  {"type": "forward", "order": 2, "targetGroupArn": "tg"}]),
         R(LRULE, "v1", priority=10, conditions=[{"pathPattern": {"values": ["/v1/*"]}}],
           actions=[{"type": "forward", "targetGroupArn": "tg"}])], []),
]


def _case_id(c: Case) -> str:
    return f"{c.policy}-{'violates' if c.expect else 'complies'}{'-' + c.id if c.id else ''}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_policy_case(case: Case) -> None:
    assert judge(case) == sorted(case.expect)


def test_waiver_audit_lists_what_the_cli_wrapper_suppressed() -> None:
    """waiver-audit (CLI path): reports the findings the validate wrappers did not report because of a waiver."""
    rule = PACK.rule("waiver-audit")
    db = R(RDS, "db", publiclyAccessible=True)
    stack = StackInfo(project="proj", stack="test", config={"proj:waivers": [
        {"policy": "rds-not-public", "resource": "db", "reason": "a temporary migration host reaches it over the "
                                                                  "internet until Friday, approved by security"}]})
    ctx = Context(rule, {}, stack, ResourceIndex([db]))
    assert rule.evaluate(ResourceIndex([db]), ctx) == []  # nothing waived yet: compliant
    reported: list[str] = []
    target = PACK.rule("rds-not-public")
    finding = target.evaluate(db, Context(target, {}, stack))[0]
    assert finding.waiver is not None
    common._report_cli(target, finding, lambda msg, urn=None: reported.append(msg), urn=None)
    assert reported == []  # the waived finding is not reported to the CLI
    try:
        out = rule.evaluate(ResourceIndex([db]), ctx)
        assert [(f.res.name, "waived rds-not-public" in f.message) for f in out] == [("db", True)]
    finally:
        common._WAIVED_UNDER_CLI.clear()


def test_every_policy_has_a_violating_and_a_compliant_case() -> None:
    from test_policies_rules_extra import EXTRA_CASES

    names = {r.name for r in PACK.rules}
    cases = CASES + EXTRA_CASES
    violating = {c.policy for c in cases if c.expect} | {"waiver-audit"}
    compliant = {c.policy for c in cases if not c.expect} | {"waiver-audit"}
    assert names - violating == set(), "policies without a violating case"
    assert names - compliant == set(), "policies without a compliant case"


def test_metadata_is_complete() -> None:
    for r in PACK.rules:
        assert r.name == r.name.lower() and " " not in r.name and "_" not in r.name, r.name
        assert r.severity in common.SEVERITIES and r.enforcement in common.ENFORCEMENTS
        assert r.description.strip() and r.remediation.strip() and r.category
        for key, schema in r.config_schema.items():
            assert "default" in schema and "type" in schema, (r.name, key)
    tag_rule = PACK.rule("required-tags")
    assert tag_rule.enforcement == "advisory"
