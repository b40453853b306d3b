"""Cache (replication group) and ServerlessCache: shape, encryption, IAM-authenticated RBAC, wiring, IAM statements."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
from helpers import FakeService, doc_example, documents_every_argument

from components.aws.cache import Cache, CacheArgs, ServerlessCache, ServerlessCacheArgs
from review.engine import run_callable
from review.model import SECRET

DOC = Path(__file__).resolve().parent.parent / "docs" / "components" / "cache.md"
SERVERLESS_DOC = DOC.with_name("serverless_cache.md")
RG = "aws:elasticache/replicationGroup:ReplicationGroup"
USER = "aws:elasticache/user:User"
GROUP = "aws:elasticache/userGroup:UserGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KEY = "aws:kms/key:Key"
PARAMS = "aws:elasticache/parameterGroup:ParameterGroup"
SUBNETS = ["subnet-0iso1", "subnet-0iso2"]
TOKEN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cache-token-AbCdEf"

PROD = dict(node_type="cache.m7g.large", num_nodes=3, automatic_failover=True, multi_az=True,
            snapshot_retention_days=7, log_retention_days=365, protect=True)


def build(wire: bool = False, **kw):
    def prog():
        cache = Cache("cache", CacheArgs(vpc_id="vpc-0123", subnet_ids=SUBNETS, **kw))
        if wire:
            app = FakeService("app")
            cache.allow_from(app)
            cache.grant_connect(app)
        pulumi.export("endpoint", cache.endpoint)
        pulumi.export("nodes", cache.node_ids())
    return prog


@pytest.fixture(scope="module")
def dev():
    return run_callable(build())


@pytest.fixture(scope="module")
def prod():
    return run_callable(build(wire=True, **PROD))


def test_defaults_one_small_encrypted_node_with_iam_auth(dev):
    rg = dev.by_name("cache", RG)
    key_arn = dev.by_name("cache-key", KEY).outputs["arn"]
    expected = {
        "replicationGroupId": "cache", "engine": "valkey", "engineVersion": "8.0", "nodeType": "cache.t4g.micro",
        "numCacheClusters": 1, "automaticFailoverEnabled": False, "multiAzEnabled": False, "port": 6379,
        "atRestEncryptionEnabled": True, "kmsKeyId": key_arn, "transitEncryptionEnabled": True,
        "transitEncryptionMode": "required", "snapshotRetentionLimit": 0, "autoMinorVersionUpgrade": True,
        "maintenanceWindow": "sun:05:00-sun:06:00", "applyImmediately": False,
    }
    assert {k: rg.inputs.get(k) for k in expected} == expected
    assert "authToken" not in rg.inputs and "finalSnapshotIdentifier" not in rg.inputs
    assert "parameterGroupName" not in rg.inputs and dev.by_type(PARAMS) == []
    assert rg.inputs["securityGroupIds"] == [dev.by_name("cache-sg", SG).id]
    assert rg.inputs["subnetGroupName"] == dev.inputs("cache", "aws:elasticache/subnetGroup:SubnetGroup")["name"]
    assert dev.inputs("cache", "aws:elasticache/subnetGroup:SubnetGroup")["subnetIds"] == SUBNETS
    assert rg.inputs["logDeliveryConfigurations"] == [{
        "destination": "/aws/elasticache/cache/slow-log", "destinationType": "cloudwatch-logs",
        "logFormat": "json", "logType": "slow-log"}]
    log = dev.by_name("cache-slow-log", LOG_GROUP).inputs
    assert log["retentionInDays"] == 7 and log["kmsKeyId"] == key_arn
    assert all(not r.options["protect"] for r in dev.resources)
    assert dev.outputs["nodes"] == ["cache-001"]


def test_rbac_user_group_has_a_disabled_default_user_and_an_iam_app_user(dev):
    users = {u.name: u.inputs for u in dev.by_type(USER)}
    assert users["cache-default-user"] == {
        "userId": "cache-default", "userName": "default", "engine": "redis", "accessString": "off -@all",
        "authenticationMode": {"type": "no-password-required"}, "tags": {"Name": "cache-default-user"}}
    app = users["cache-app-user"]
    assert app["userId"] == app["userName"] == "cache-app"
    assert app["authenticationMode"] == {"type": "iam"} and app["accessString"] == "on ~* +@all"
    assert "passwords" not in app
    [group] = dev.by_type(GROUP)
    assert group.inputs["engine"] == "redis" and group.inputs["userGroupId"] == "cache-users"
    assert sorted(group.inputs["userIds"]) == ["cache-app", "cache-default"]
    assert dev.by_name("cache", RG).inputs["userGroupIds"] == ["cache-users"]


def test_security_group_has_no_rule_until_wired(dev):
    sg = dev.by_name("cache-sg", SG).inputs
    assert "ingress" not in sg and "egress" not in sg
    assert dev.by_type(INGRESS) == [] and dev.by_type(EGRESS) == []


def test_prod_shape_and_protect(prod):
    rg = prod.by_name("cache", RG)
    expected = {"nodeType": "cache.m7g.large", "numCacheClusters": 3, "automaticFailoverEnabled": True,
                "multiAzEnabled": True, "snapshotRetentionLimit": 7, "snapshotWindow": "03:00-04:00",
                "finalSnapshotIdentifier": "cache-final"}
    assert {k: rg.inputs.get(k) for k in expected} == expected
    assert rg.options["protect"] is True and prod.by_name("cache-key", KEY).options["protect"] is True
    assert prod.by_name("cache-slow-log", LOG_GROUP).inputs["retentionInDays"] == 365
    assert prod.outputs["nodes"] == ["cache-001", "cache-002", "cache-003"]


def test_allow_from_opens_exactly_6379_from_the_peer(prod):
    cache_sg = prod.by_name("cache-sg", SG).id
    app_sg = prod.by_name("app-sg", SG).id
    [ingress] = prod.by_type(INGRESS)
    [egress] = prod.by_type(EGRESS)
    keys = ("securityGroupId", "referencedSecurityGroupId", "ipProtocol", "fromPort", "toPort", "cidrIpv4")
    assert {k: ingress.inputs.get(k) for k in keys} == {
        "securityGroupId": cache_sg, "referencedSecurityGroupId": app_sg, "ipProtocol": "tcp",
        "fromPort": 6379, "toPort": 6379, "cidrIpv4": None}
    assert {k: egress.inputs.get(k) for k in keys} == {
        "securityGroupId": app_sg, "referencedSecurityGroupId": cache_sg, "ipProtocol": "tcp",
        "fromPort": 6379, "toPort": 6379, "cidrIpv4": None}


def test_grant_connect_is_elasticache_connect_on_the_group_and_the_user(prod):
    pol = prod.by_name("cache-connect-app-task", ROLE_POLICY)
    assert pol.inputs["role"] == prod.by_name("app-task", "aws:iam/role:Role").id
    assert json.loads(pol.inputs["policy"])["Statement"] == [{
        "Sid": "ConnectAsAppUser", "Effect": "Allow", "Action": "elasticache:Connect",
        "Resource": [prod.by_name("cache", RG).outputs["arn"], prod.by_name("cache-app-user", USER).outputs["arn"]],
    }]


def test_token_mode_reads_the_token_from_secrets_manager(run_program):
    g = run_program(build(wire=True, auth="token", auth_token_secret_arn=TOKEN))
    rg = g.by_name("cache", RG).inputs
    assert rg["authToken"] == SECRET and rg["authTokenUpdateStrategy"] == "ROTATE"
    assert "userGroupIds" not in rg and g.by_type(USER) == [] and g.by_type(GROUP) == []
    pol = json.loads(g.by_name("cache-auth-read-app-task", ROLE_POLICY).inputs["policy"])
    assert pol["Statement"] == [{"Sid": "ReadAuthToken", "Effect": "Allow",
                                 "Action": "secretsmanager:GetSecretValue", "Resource": TOKEN}]


def test_grant_auth_read_is_for_token_mode_only(run_program):
    def prog():
        Cache("cache", CacheArgs(vpc_id="vpc-0123", subnet_ids=SUBNETS)).grant_auth_read(FakeService("app"))
    with pytest.raises(Exception, match="auth='token'"):
        run_program(prog)


def test_redis_engine_parameters_and_identifier(run_program):
    g = run_program(build(engine="redis", engine_version="7.1", identifier="app-dev-cache", app_user="web",
                          access_string="on ~app:* +@all -@dangerous", parameters={"maxmemory-policy": "allkeys-lru"}))
    rg = g.by_name("cache", RG).inputs
    assert rg["engine"] == "redis" and rg["engineVersion"] == "7.1" and rg["replicationGroupId"] == "app-dev-cache"
    pg = g.by_name("cache", PARAMS).inputs
    assert pg["family"] == "redis7" and rg["parameterGroupName"] == g.by_name("cache", PARAMS).outputs["name"]
    assert pg["parameters"] == [{"name": "maxmemory-policy", "value": "allkeys-lru"}]
    app = g.by_name("cache-web-user", USER).inputs
    assert app["userId"] == "app-dev-cache-web" and app["accessString"] == "on ~app:* +@all -@dangerous"
    assert g.by_name("cache-slow-log", LOG_GROUP).inputs["name"] == "/aws/elasticache/app-dev-cache/slow-log"


@pytest.mark.parametrize("kw", [
    {"automatic_failover": True}, {"num_nodes": 2, "multi_az": True}, {"num_nodes": 7},
    {"engine": "redis", "engine_version": "8.0"}, {"engine": "redis", "engine_version": "6.2"},
    {"engine_version": "7.0"}, {"auth": "token"}, {"auth_token_secret_arn": TOKEN},
    {"identifier": "x" * 41}, {"snapshot_retention_days": 36}, {"app_user": "App_User"},
])
def test_invalid_arguments(run_program, kw):
    with pytest.raises(Exception, match="cache:"):
        run_program(build(**kw))


def test_doc_example_runs_and_documents_every_argument(run_program):
    g = run_program(doc_example(DOC))
    assert g.by_type(RG) and g.by_type(INGRESS) and g.outputs["cache_endpoint"]
    assert not documents_every_argument(DOC, CacheArgs)


SERVERLESS = "aws:elasticache/serverlessCache:ServerlessCache"


def serverless(wire: bool = False, **kw):
    def prog():
        cache = ServerlessCache("cache", ServerlessCacheArgs(vpc_id="vpc-0123", subnet_ids=SUBNETS, **kw))
        if wire:
            app = FakeService("app")
            cache.allow_from(app)
            cache.grant_connect(app)
        pulumi.export("endpoint", cache.endpoint)
        pulumi.export("cache_name", cache.cache_name)
    return prog


def test_serverless_cache_is_capped_encrypted_and_iam_authenticated(run_program):
    g = run_program(serverless(wire=True, max_data_storage_gb=2, max_ecpu_per_second=3000,
                               snapshot_retention_days=1))
    assert not g.by_type(RG) and not g.by_type(LOG_GROUP) and not g.by_type(PARAMS)
    assert not g.by_type("aws:elasticache/subnetGroup:SubnetGroup")
    (sc,) = g.by_type(SERVERLESS)
    group = g.by_type(GROUP)[0]
    key = g.by_type(KEY)[0]
    sg = g.by_name("cache-sg", SG)
    assert sc.inputs["name"] == "cache" and g.outputs["cache_name"] == "cache"
    assert sc.inputs["engine"] == "valkey" and sc.inputs["majorEngineVersion"] == "8"
    assert sc.inputs["subnetIds"] == SUBNETS and sc.inputs["securityGroupIds"] == [sg.id]
    assert sc.inputs["kmsKeyId"] == key.outputs["arn"]
    assert sc.inputs["userGroupId"] == group.inputs["userGroupId"]
    assert sc.inputs["cacheUsageLimits"] == {"dataStorage": {"maximum": 2, "unit": "GB"},
                                             "ecpuPerSeconds": [{"maximum": 3000}]}
    assert (sc.inputs["snapshotRetentionLimit"], sc.inputs["dailySnapshotTime"]) == (1, "03:00")
    # Reads are served on 6380: the one path opened covers 6379-6380, from the service's group only.
    (rule,) = g.by_type(INGRESS)
    assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (6379, 6380)
    assert rule.inputs["referencedSecurityGroupId"] == g.by_name("app-sg", SG).id
    (egress,) = g.by_type(EGRESS)
    assert (egress.inputs["fromPort"], egress.inputs["toPort"]) == (6379, 6380)
    (grant,) = g.by_type(ROLE_POLICY)
    stmt = json.loads(grant.inputs["policy"])["Statement"]
    assert stmt == [{"Sid": "ConnectAsAppUser", "Effect": "Allow", "Action": "elasticache:Connect",
                     "Resource": [sc.outputs["arn"], g.by_name("cache-app-user", USER).outputs["arn"]]}]


def test_the_shapes_are_two_classes_with_honest_outputs(run_program):
    """A serverless cache has a name, not a replication group id, and no token mode, nodes or slow log."""
    assert "cache_name" in ServerlessCache.__annotations__ and not hasattr(ServerlessCache, "node_ids")
    assert "replication_group_id" in Cache.__annotations__ and not hasattr(ServerlessCache, "grant_auth_read")
    assert not {"auth", "auth_token_secret_arn", "num_nodes", "node_type", "mode", "parameters"} & set(
        ServerlessCacheArgs.__dataclass_fields__)
    assert not {"mode", "max_data_storage_gb", "max_ecpu_per_second"} & set(CacheArgs.__dataclass_fields__)
    g = run_program(serverless())
    [comp] = g.by_type("backend:aws:ServerlessCache")
    assert not g.by_type("backend:aws:Cache")
    # The key it creates is for the cache's data only: CloudWatch Logs has nothing to encrypt with it.
    sids = {st["Sid"] for st in json.loads(g.by_name("cache-key", KEY).inputs["policy"])["Statement"]}
    assert "CloudWatchLogsInThisAccountAndRegion" not in sids and "AccountPrincipalsThroughServices" in sids
    # A cache deployed as backend:aws:Cache with mode="serverless" (before the split) keeps its URN.
    assert [a["spec"]["type"] for a in comp.options["aliases"]] == ["backend:aws:Cache"]


@pytest.mark.parametrize("kw", [{"max_data_storage_gb": 0}, {"max_ecpu_per_second": 999},
                                {"engine_version": "7.0"}, {"identifier": "x" * 41}])
def test_serverless_invalid_arguments(run_program, kw):
    with pytest.raises(Exception, match="cache:"):
        run_program(serverless(**kw))


def test_serverless_doc_example_runs_and_documents_every_argument(run_program):
    g = run_program(doc_example(SERVERLESS_DOC))
    assert g.by_type(SERVERLESS) and g.by_type(INGRESS) and g.outputs["cache_endpoint"]
    assert not documents_every_argument(SERVERLESS_DOC, ServerlessCacheArgs)
