"""Database (RDS) and AuroraDatabase: shape per profile, no ingress until wired, exact SG rules and IAM statements."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
from helpers import FakeService, doc_example, documents_every_argument

from components.aws.database import AuroraDatabase, AuroraDatabaseArgs, Database, DatabaseArgs
from components.aws.kms import EncryptionKey, EncryptionKeyArgs
from review.engine import run_callable

DOC = Path(__file__).resolve().parent.parent / "docs" / "components" / "database.md"
AURORA_DOC = DOC.with_name("aurora_database.md")
INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
KEY = "aws:kms/key:Key"
SUBNETS = ["subnet-0iso1", "subnet-0iso2"]
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"

PROD = dict(instance_class="db.m7g.large", multi_az=True, backup_retention_days=30, deletion_protection=True,
            performance_insights=True, iam_authentication=True, allocated_storage_gb=100,
            max_allocated_storage_gb=1000, log_retention_days=365, protect=True)


def build(wire: bool = False, aurora: bool = False, **kw):
    def prog():
        cls, args = (AuroraDatabase, AuroraDatabaseArgs) if aurora else (Database, DatabaseArgs)
        db = cls("db", args(vpc_id="vpc-0123", subnet_ids=SUBNETS, **kw))
        if wire:
            app = FakeService("app")
            db.allow_from(app)
            db.grant_secret_read(app)
            if db.iam_authentication:
                db.grant_connect(app, "app_rw")
        pulumi.export("endpoint", db.endpoint)
        pulumi.export("secret_arn", db.secret_arn)
    return prog


@pytest.fixture(scope="module")
def dev():
    return run_callable(build())


@pytest.fixture(scope="module")
def prod():
    return run_callable(build(wire=True, **PROD))


@pytest.fixture(scope="module")
def aurora():
    return run_callable(build(wire=True, aurora=True, instance_class="db.r7g.large", multi_az=True,
                              availability_zones=["us-east-1a", "us-east-1b", "us-east-1c"], iam_authentication=True,
                              protect=True))


def test_defaults_are_the_cheap_safe_dev_shape(dev):
    comp = dev.by_name("db", "backend:aws:Database")
    children = dev.children(comp, recursive=True)
    assert {r.type for r in children} >= {INSTANCE, SG, "aws:rds/subnetGroup:SubnetGroup",
                                          "aws:rds/parameterGroup:ParameterGroup", LOG_GROUP, KEY}
    db = dev.by_name("db", INSTANCE).inputs
    key_arn = dev.by_name("db-key", KEY).outputs["arn"]
    expected = {
        "identifier": "db", "engine": "postgres", "engineVersion": "16.4", "instanceClass": "db.t4g.micro",
        "dbName": "app", "username": "dbadmin", "manageMasterUserPassword": True,
        "masterUserSecretKmsKeyId": key_arn, "port": 5432, "publiclyAccessible": False, "storageType": "gp3",
        "allocatedStorage": 20, "storageEncrypted": True, "kmsKeyId": key_arn, "multiAz": False,
        "backupRetentionPeriod": 1, "backupWindow": "03:00-04:00", "maintenanceWindow": "sun:04:30-sun:05:30",
        "copyTagsToSnapshot": True, "autoMinorVersionUpgrade": True, "allowMajorVersionUpgrade": False,
        "deletionProtection": False, "skipFinalSnapshot": False, "finalSnapshotIdentifier": "db-final",
        "performanceInsightsEnabled": False, "iamDatabaseAuthenticationEnabled": False,
        "enabledCloudwatchLogsExports": ["postgresql", "upgrade"], "caCertIdentifier": "rds-ca-rsa2048-g1",
        "applyImmediately": False,
    }
    assert {k: db.get(k) for k in expected} == expected
    assert "password" not in db and "maxAllocatedStorage" not in db and "performanceInsightsKmsKeyId" not in db
    assert db["vpcSecurityGroupIds"] == [dev.by_name("db-sg", SG).id]
    assert dev.inputs("db", "aws:rds/subnetGroup:SubnetGroup")["subnetIds"] == SUBNETS
    pg = dev.inputs("db", "aws:rds/parameterGroup:ParameterGroup")
    assert pg["family"] == "postgres16" and "name" not in pg  # auto-named: replaced create-before-delete
    assert db["parameterGroupName"] == dev.by_name("db", "aws:rds/parameterGroup:ParameterGroup").outputs["name"]
    assert {p["name"]: p["value"] for p in pg["parameters"]} == {"rds.force_ssl": "1",
                                                                 "log_min_duration_statement": "500"}
    assert all(not r.options["protect"] for r in dev.resources)
    # the dev secret ARN and endpoint come from the instance
    assert dev.outputs["secret_arn"].startswith("arn:aws:secretsmanager:")
    assert dev.outputs["endpoint"].endswith(":5432")


def test_security_group_has_no_rule_until_wired(dev):
    sg = dev.by_name("db-sg", SG).inputs
    assert sg["vpcId"] == "vpc-0123" and "ingress" not in sg and "egress" not in sg
    assert sg["revokeRulesOnDelete"] is True
    assert dev.by_type(INGRESS) == [] and dev.by_type(EGRESS) == []


def test_exported_log_groups_exist_first_with_retention_and_kms(dev):
    key_arn = dev.by_name("db-key", KEY).outputs["arn"]
    groups = {r.inputs["name"]: r for r in dev.by_type(LOG_GROUP)}
    assert set(groups) == {"/aws/rds/instance/db/postgresql", "/aws/rds/instance/db/upgrade"}
    assert all(g.inputs["retentionInDays"] == 7 and g.inputs["kmsKeyId"] == key_arn for g in groups.values())
    assert set(dev.by_name("db", INSTANCE).options["dependsOn"]) == {g.urn for g in groups.values()}
    key_policy = json.loads(dev.by_name("db-key", KEY).inputs["policy"])
    sids = {s["Sid"]: s for s in key_policy["Statement"]}
    assert "CloudWatchLogsInThisAccountAndRegion" in sids
    assert sids["AccountPrincipalsThroughServices"]["Condition"]["StringEquals"]["kms:ViaService"] == [
        "rds.us-east-1.amazonaws.com", "secretsmanager.us-east-1.amazonaws.com"]


def test_prod_shape_and_protect(prod):
    db = prod.by_name("db", INSTANCE)
    key_arn = prod.by_name("db-key", KEY).outputs["arn"]
    expected = {"instanceClass": "db.m7g.large", "multiAz": True, "backupRetentionPeriod": 30,
                "deletionProtection": True, "skipFinalSnapshot": False, "finalSnapshotIdentifier": "db-final",
                "performanceInsightsEnabled": True, "performanceInsightsKmsKeyId": key_arn,
                "performanceInsightsRetentionPeriod": 7, "iamDatabaseAuthenticationEnabled": True,
                "allocatedStorage": 100, "maxAllocatedStorage": 1000, "publiclyAccessible": False}
    assert {k: db.inputs.get(k) for k in expected} == expected
    assert db.options["protect"] is True
    assert prod.by_name("db-key", KEY).options["protect"] is True
    assert all(g.inputs["retentionInDays"] == 365 for g in prod.by_type(LOG_GROUP))


def test_allow_from_opens_exactly_5432_from_the_peer(prod):
    db_sg = prod.by_name("db-sg", SG).id
    app_sg = prod.by_name("app-sg", SG).id
    [ingress] = prod.by_type(INGRESS)
    [egress] = prod.by_type(EGRESS)
    assert ingress.name == "db-from-app" and egress.name == "app-to-db"
    rule = {k: ingress.inputs.get(k) for k in
            ("securityGroupId", "referencedSecurityGroupId", "ipProtocol", "fromPort", "toPort", "cidrIpv4")}
    assert rule == {"securityGroupId": db_sg, "referencedSecurityGroupId": app_sg, "ipProtocol": "tcp",
                    "fromPort": 5432, "toPort": 5432, "cidrIpv4": None}
    rule = {k: egress.inputs.get(k) for k in
            ("securityGroupId", "referencedSecurityGroupId", "ipProtocol", "fromPort", "toPort", "cidrIpv4")}
    assert rule == {"securityGroupId": app_sg, "referencedSecurityGroupId": db_sg, "ipProtocol": "tcp",
                    "fromPort": 5432, "toPort": 5432, "cidrIpv4": None}


def test_grant_connect_is_rds_db_connect_on_one_db_user(prod):
    resource_id = prod.by_name("db", INSTANCE).outputs["resourceId"]
    pol = prod.by_name("db-connect-app-rw-app-task", ROLE_POLICY)
    assert pol.inputs["role"] == prod.by_name("app-task", "aws:iam/role:Role").id
    assert json.loads(pol.inputs["policy"])["Statement"] == [{
        "Sid": "ConnectAsDbUser", "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{resource_id}/app_rw"}]


def test_grant_secret_read_is_the_master_secret_and_its_key_through_secrets_manager(prod):
    secret = prod.by_name("db", INSTANCE).outputs["masterUserSecrets"][0]["secretArn"]
    key_arn = prod.by_name("db-key", KEY).outputs["arn"]
    pol = json.loads(prod.by_name("db-secret-read-app-task", ROLE_POLICY).inputs["policy"])
    assert pol["Statement"] == [
        {"Sid": "ReadMasterSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": secret},
        {"Sid": "DecryptMasterSecret", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn,
         "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}},
    ]
    assert prod.outputs["secret_arn"] == secret


def test_grant_connect_needs_iam_authentication(run_program):
    def prog():
        db = Database("db", DatabaseArgs(vpc_id="vpc-0123", subnet_ids=SUBNETS))
        db.grant_connect(FakeService("app"))
    with pytest.raises(Exception, match="iam_authentication=True"):
        run_program(prog)


def test_aurora_cluster_with_one_instance_per_az(aurora):
    assert aurora.by_type(INSTANCE) == []
    cluster = aurora.by_name("db", CLUSTER)
    key_arn = aurora.by_name("db-key", KEY).outputs["arn"]
    expected = {"clusterIdentifier": "db", "engine": "aurora-postgresql", "engineVersion": "16.4",
                "databaseName": "app", "masterUsername": "dbadmin", "manageMasterUserPassword": True,
                "masterUserSecretKmsKeyId": key_arn, "storageEncrypted": True, "kmsKeyId": key_arn,
                "iamDatabaseAuthenticationEnabled": True, "skipFinalSnapshot": False,
                "finalSnapshotIdentifier": "db-final", "enabledCloudwatchLogsExports": ["postgresql"],
                "copyTagsToSnapshot": True, "port": 5432}
    assert {k: cluster.inputs.get(k) for k in expected} == expected
    assert cluster.options["protect"] is True
    pg = aurora.inputs("db", "aws:rds/clusterParameterGroup:ClusterParameterGroup")
    assert pg["family"] == "aurora-postgresql16"
    assert cluster.inputs["dbClusterParameterGroupName"] == aurora.by_name(
        "db", "aws:rds/clusterParameterGroup:ClusterParameterGroup").outputs["name"]
    assert {p["name"] for p in pg["parameters"]} == {"rds.force_ssl", "log_min_duration_statement"}
    members = sorted(aurora.by_type(CLUSTER_INSTANCE), key=lambda m: m.name)
    assert [m.inputs["availabilityZone"] for m in members] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert all(m.inputs["publiclyAccessible"] is False and m.inputs["instanceClass"] == "db.r7g.large"
               and m.options["protect"] for m in members)
    assert [r.inputs["name"] for r in aurora.by_type(LOG_GROUP)] == ["/aws/rds/cluster/db/postgresql"]
    assert [r.name for r in aurora.by_type(INGRESS)] == ["db-from-app"]


def test_aurora_single_az_has_one_instance(run_program):
    g = run_program(build(aurora=True))  # db.t4g.medium, the smallest Aurora class, by default
    assert len(g.by_type(CLUSTER_INSTANCE)) == 1
    assert g.by_name("db", CLUSTER).inputs["deletionProtection"] is False


def test_options_that_change_the_shape(run_program):
    g = run_program(build(final_snapshot=False, log_exports=[], slow_statement_ms=-1, identifier="app-dev-db",
                          kms_key=KEY_ARN, engine_version="17.2", allow_major_version_upgrade=True))
    db = g.by_name("db", INSTANCE).inputs
    assert db["skipFinalSnapshot"] is True and "finalSnapshotIdentifier" not in db
    assert db["identifier"] == "app-dev-db" and db["kmsKeyId"] == KEY_ARN and db["allowMajorVersionUpgrade"] is True
    assert g.by_type(KEY) == [] and g.by_type(LOG_GROUP) == []
    assert db.get("enabledCloudwatchLogsExports", []) == []
    pg = g.inputs("db", "aws:rds/parameterGroup:ParameterGroup")
    assert pg["family"] == "postgres17"
    assert {p["name"]: p["value"] for p in pg["parameters"]}["log_min_duration_statement"] == "-1"


def test_shared_key_must_allow_logs(run_program):
    def prog():
        key = EncryptionKey("shared", EncryptionKeyArgs())
        Database("db", DatabaseArgs(vpc_id="vpc-0123", subnet_ids=SUBNETS, kms_key=key))
    with pytest.raises(Exception, match="must allow logs"):
        run_program(prog)

    def ok():
        key = EncryptionKey("shared", EncryptionKeyArgs(service_principals=["logs"]))
        Database("db", DatabaseArgs(vpc_id="vpc-0123", subnet_ids=SUBNETS, kms_key=key))
    g = run_program(ok)
    assert g.by_name("db", INSTANCE).inputs["kmsKeyId"] == g.by_name("shared", KEY).outputs["arn"]


@pytest.mark.parametrize("kw", [
    {"aurora": True, "instance_class": "db.t4g.micro"},  # not an Aurora class
    {"identifier": "Bad_Name"}, {"engine_version": "latest"}, {"backup_retention_days": 0},
    {"allocated_storage_gb": 100, "max_allocated_storage_gb": 50}, {"master_username": "rdsadmin"},
])
def test_invalid_arguments(run_program, kw):
    with pytest.raises(Exception, match="db:"):
        run_program(build(**kw))


def test_doc_example_runs_and_documents_every_argument(run_program):
    g = run_program(doc_example(DOC))
    assert g.by_type(INSTANCE) and g.by_type(INGRESS) and g.outputs["db_endpoint"]
    assert not documents_every_argument(DOC, DatabaseArgs)


def test_the_shapes_are_two_classes_with_honest_outputs(dev, aurora):
    """RDS and Aurora are separate components: no ``None`` cluster on an instance or instance on a cluster."""
    assert not hasattr(Database, "cluster") and "instance" in Database.__annotations__
    assert "cluster" in AuroraDatabase.__annotations__ and "instance" not in AuroraDatabase.__annotations__
    assert (Database.aurora, AuroraDatabase.aurora) == (False, True)
    assert not {"engine", "availability_zones"} & set(DatabaseArgs.__dataclass_fields__)
    assert "allocated_storage_gb" not in AuroraDatabaseArgs.__dataclass_fields__
    assert dev.by_type("backend:aws:Database") and not dev.by_type("backend:aws:AuroraDatabase")
    [comp] = aurora.by_type("backend:aws:AuroraDatabase")
    # An Aurora cluster deployed as backend:aws:Database (before the split) keeps its URN through the alias.
    assert [a["spec"]["type"] for a in comp.options["aliases"]] == ["backend:aws:Database"]


def test_aurora_doc_example_runs_and_documents_every_argument(run_program):
    g = run_program(doc_example(AURORA_DOC))
    assert g.by_type(CLUSTER) and g.by_type(INGRESS) and g.outputs["db_endpoint"]
    assert not documents_every_argument(AURORA_DOC, AuroraDatabaseArgs)
