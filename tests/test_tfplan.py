"""``--format tfplan``: the graph as Terraform plan JSON, so Terraform tools (Checkov, Trivy, OPA) read it.

Expected names are the Terraform registry's (hashicorp/aws, hashicorp/google), not the exporter's tables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pytest

from review import cli
from review.tfplan import terraform_type, to_tfplan

THIRD = str(Path(__file__).resolve().parent / "fixtures" / "thirdparty")


@pytest.mark.parametrize(("pulumi_type", "tf_type"), [
    ("aws:s3/bucketV2:BucketV2", "aws_s3_bucket"),
    ("aws:s3/bucket:Bucket", "aws_s3_bucket"),
    ("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
     "aws_s3_bucket_server_side_encryption_configuration"),
    ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws_s3_bucket_public_access_block"),
    ("aws:rds/instance:Instance", "aws_db_instance"),
    ("aws:rds/subnetGroup:SubnetGroup", "aws_db_subnet_group"),
    ("aws:rds/cluster:Cluster", "aws_rds_cluster"),
    ("aws:ec2/instance:Instance", "aws_instance"),
    ("aws:ec2/securityGroup:SecurityGroup", "aws_security_group"),
    ("aws:ec2/vpc:Vpc", "aws_vpc"),
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws_vpc_security_group_ingress_rule"),
    ("aws:lb/loadBalancer:LoadBalancer", "aws_lb"),
    ("aws:lb/listener:Listener", "aws_lb_listener"),
    ("aws:iam/role:Role", "aws_iam_role"),
    ("aws:lambda/function:Function", "aws_lambda_function"),
    ("aws:apigateway/restApi:RestApi", "aws_api_gateway_rest_api"),
    ("aws:apigatewayv2/api:Api", "aws_apigatewayv2_api"),
    ("aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
    ("aws:cloudtrail/trail:Trail", "aws_cloudtrail"),
    ("aws:kms/key:Key", "aws_kms_key"),
    ("aws:sqs/queue:Queue", "aws_sqs_queue"),
    ("aws:dynamodb/table:Table", "aws_dynamodb_table"),
    ("gcp:storage/bucket:Bucket", "google_storage_bucket"),
    ("gcp:compute/firewall:Firewall", "google_compute_firewall"),
    ("gcp:sql/databaseInstance:DatabaseInstance", "google_sql_database_instance"),
    ("gcp:container/cluster:Cluster", "google_container_cluster"),
    ("gcp:cloudrunv2/service:Service", "google_cloud_run_v2_service"),
    ("gcp:cloudfunctionsv2/function:Function", "google_cloudfunctions2_function"),
    ("gcp:projects/iAMMember:IAMMember", "google_project_iam_member"),
    ("gcp:serviceaccount/account:Account", "google_service_account"),
    ("gcp:secretmanager/secret:Secret", "google_secret_manager_secret"),
    ("gcp:bigquery/table:Table", "google_bigquery_table"),
    ("awsx:ec2:Vpc", None),
    ("kubernetes:apps/v1:Deployment", None),
])
def test_pulumi_types_map_to_terraform_types(pulumi_type, tf_type):
    assert terraform_type(pulumi_type) == tf_type


@pytest.fixture(scope="module")
def plan():
    from review.engine import run_callable

    def program():
        logs = aws.s3.BucketV2("logs", tags={"cost-center": "web", "Name": "logs"})
        aws.s3.BucketServerSideEncryptionConfigurationV2(
            "logs", bucket=logs.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}}])
        sg = aws.ec2.SecurityGroup("web", ingress=[{"protocol": "tcp", "from_port": 443, "to_port": 443,
                                                    "cidr_blocks": ["0.0.0.0/0"]}])
        edge = aws.ec2.SecurityGroup("edge")
        aws.lb.LoadBalancer("alb", security_groups=[sg.id, edge.id], subnets=["subnet-1", "subnet-2"])
        aws.ec2.Instance("web", ami="ami-0abcdef1234567890", instance_type="t3.micro",
                         vpc_security_group_ids=[sg.id], metadata_options={"http_tokens": "required"})
        aws.rds.Instance("db", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                         username="app", password=pulumi.Output.secret("hunter2-not-exported"),
                         storage_encrypted=True)
        aws.rds.Instance("plain", engine="postgres", instance_class="db.t4g.micro", allocated_storage=20,
                         username="app", password="typed-in-plain-text")
        obj = aws.s3.BucketObjectv2("o", bucket=logs.id, content="x")
        aws.sns.Topic("alerts", display_name=obj.version_id)  # computed at deploy time: unknown
        gcp.storage.Bucket("assets", location="EU", uniform_bucket_level_access=True,
                           versioning={"enabled": True}, labels={"team": "web"})

        class Box(pulumi.ComponentResource):
            def __init__(self) -> None:
                super().__init__("acme:index:Box", "box")
                aws.sqs.Queue("inside", opts=pulumi.ResourceOptions(parent=self))

        Box()

    graph = run_callable(program, config={"aws:region": "eu-west-1"})
    return to_tfplan(graph)


def _resource(plan, address):
    return next(r for r in plan["planned_values"]["root_module"]["resources"] if r["address"] == address)


def test_plan_has_the_terraform_structure(plan):
    assert plan["format_version"].startswith("1.")
    assert plan["terraform_version"]
    resources = plan["planned_values"]["root_module"]["resources"]
    for r in resources:
        assert r["address"] == f"{r['type']}.{r['name']}"
        assert r["mode"] == "managed"
    # Components are not Terraform resources; their custom children are.
    assert not any(r["name"] == "box" for r in resources)
    assert _resource(plan, "aws_sqs_queue.inside")["provider_name"] == "registry.terraform.io/hashicorp/aws"
    assert _resource(plan, "google_storage_bucket.assets")["provider_name"] == \
        "registry.terraform.io/hashicorp/google"
    changes = {c["address"]: c for c in plan["resource_changes"]}
    assert set(changes) == {r["address"] for r in resources}
    for r in resources:
        change = changes[r["address"]]["change"]
        assert change["actions"] == ["create"] and change["before"] is None
        assert change["after"] == r["values"]


def test_values_use_terraform_names_and_block_shapes(plan):
    sg = _resource(plan, "aws_security_group.web")["values"]
    assert sg["ingress"] == [{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]}]
    web = _resource(plan, "aws_instance.web")["values"]
    assert web["instance_type"] == "t3.micro"
    assert web["metadata_options"] == [{"http_tokens": "required"}]  # a nested block is a one-element list
    sse = _resource(plan, "aws_s3_bucket_server_side_encryption_configuration.logs")["values"]
    assert sse["rule"] == [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms"}]}]
    bucket = _resource(plan, "aws_s3_bucket.logs")["values"]
    assert bucket["tags"] == {"cost-center": "web", "Name": "logs"}  # map keys are data, not names
    db = _resource(plan, "aws_db_instance.db")["values"]
    assert db["storage_encrypted"] is True and db["allocated_storage"] == 20
    gcs = _resource(plan, "google_storage_bucket.assets")["values"]
    assert gcs["uniform_bucket_level_access"] is True
    assert gcs["versioning"] == [{"enabled": True}] and gcs["labels"] == {"team": "web"}


def test_secrets_are_redacted_and_unknowns_marked(plan):
    db = _resource(plan, "aws_db_instance.db")
    assert db["values"]["password"] is None
    assert db["sensitive_values"] == {"password": True}
    change = next(c for c in plan["resource_changes"] if c["address"] == "aws_db_instance.db")["change"]
    assert change["after_sensitive"] == {"password": True}
    assert "hunter2-not-exported" not in json.dumps(plan)
    # A property the provider marks sensitive is redacted even when the program passed it in plain text.
    assert _resource(plan, "aws_db_instance.plain")["values"]["password"] is None
    assert "typed-in-plain-text" not in json.dumps(plan)
    topic = next(c for c in plan["resource_changes"] if c["address"] == "aws_sns_topic.alerts")["change"]
    assert topic["after"]["display_name"] is None and topic["after_unknown"]["display_name"] is True


def test_configuration_references_connect_resources(plan):
    config = {r["address"]: r for r in plan["configuration"]["root_module"]["resources"]}
    sse = config["aws_s3_bucket_server_side_encryption_configuration.logs"]["expressions"]
    assert sse["bucket"] == {"references": ["aws_s3_bucket.logs.id", "aws_s3_bucket.logs"]}
    assert config["aws_instance.web"]["expressions"]["instance_type"] == {"constant_value": "t3.micro"}
    # A value built from several resources references each of them.
    assert config["aws_lb.alb"]["expressions"]["security_groups"] == {"references": [  # sorted by address
        "aws_security_group.edge.id", "aws_security_group.edge", "aws_security_group.web.id",
        "aws_security_group.web"]}
    assert "password" not in config["aws_db_instance.db"]["expressions"]
    assert plan["configuration"]["provider_config"]["aws"]["expressions"]["region"] == {"constant_value": "eu-west-1"}


@pytest.mark.usefixtures("trusted_in_process")
def test_cli_writes_the_plan(capsys):
    code = cli.main(["dev", "--program", THIRD, "--format", "tfplan", "--no-policies", "--no-cost"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    types = {r["type"] for r in doc["planned_values"]["root_module"]["resources"]}
    assert {"aws_instance", "aws_db_instance", "aws_security_group", "aws_iam_role"} <= types
