"""``python -m ops drift`` against moto (in-process ``mock_aws``): clean account, an orphan, a missing tag.

The declared side is a small synthetic graph (what ``capture_program`` returns for a stack); the live side is
created in moto with the tags our components set, and read back through the Resource Groups Tagging API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from helpers import moto_session

from ops.__main__ import main
from ops.drift import arn_kind, compare
from review.model import Graph, Resource

TAGS = {"environment": "prod", "owner": "platform", "cost-center": "engineering", "managed-by": "pulumi"}


def res(type_: str, name: str, *, tagged: bool = True, **inputs: Any) -> Resource:
    """A captured custom resource carrying the standard tags and a Name tag."""
    if tagged:
        inputs["tags"] = {**TAGS, "Name": name}
    return Resource(urn=f"urn:pulumi:prod::backend-hosting::{type_}::{name}", type=type_, name=name, parent=None,
                    custom=True, provider=None, inputs=inputs, options={})


def declared() -> Graph:
    """The stack: a topic, a bucket, a log group (audited), a role (not listed by the tagging API), a route."""
    return Graph(project="backend-hosting", stack="prod", outputs={},
                 config={"backend-hosting:environment": "prod"},
                 resources=[res("pulumi:providers:aws", "aws", tagged=False, region="us-east-1"),
                            res("aws:sns/topic:Topic", "app-prod-alarms"),
                            res("aws:s3/bucket:Bucket", "app-prod-assets"),
                            res("aws:cloudwatch/logGroup:LogGroup", "app-prod-service"),
                            res("aws:iam/role:Role", "app-prod-task"),
                            res("aws:ec2/route:Route", "app-prod-public", tagged=False)])


def tag_list(name: str, **override: str | None) -> list[dict[str, str]]:
    tags = {**TAGS, "Name": name, **override}
    return [{"Key": k, "Value": v} for k, v in tags.items() if v is not None]


@pytest.fixture
def session() -> Iterator[boto3.Session]:
    with moto_session() as s:
        s.client("sns").create_topic(Name="app-prod-alarms", Tags=tag_list("app-prod-alarms"))
        s.client("s3").create_bucket(Bucket="app-prod-assets-1a2b3c")
        s.client("s3").put_bucket_tagging(Bucket="app-prod-assets-1a2b3c",
                                          Tagging={"TagSet": tag_list("app-prod-assets")})
        s.client("logs").create_log_group(logGroupName="/aws/ecs/app-prod",
                                          tags={t["Key"]: t["Value"] for t in tag_list("app-prod-service")})
        # another environment's resource: never part of this audit
        s.client("sns").create_topic(Name="app-dev-alarms", Tags=tag_list("app-dev-alarms", environment="dev"))
        yield s


def drift(session: boto3.Session, *extra: str) -> int:
    return main(["drift", "prod", *extra], session=session, graph_loader=lambda _dir, _stack: declared())


def test_clean_account(session: boto3.Session, capsys: pytest.CaptureFixture[str]) -> None:
    assert drift(session) == 0
    out = capsys.readouterr().out
    assert out.startswith("drift prod (environment=prod, us-east-1): 3 declared and 3 live") and "clean" in out
    assert "not audited (the tagging API does not list them): aws:iam/role:Role (1)" in out


def test_orphan_is_drift(session: boto3.Session, capsys: pytest.CaptureFixture[str]) -> None:
    key = session.client("kms").create_key(Description="by hand", Tags=[
        {"TagKey": t["Key"], "TagValue": t["Value"]} for t in tag_list("app-prod-debug")])["KeyMetadata"]
    session.client("s3").create_bucket(Bucket="app-prod-old-export")
    session.client("s3").put_bucket_tagging(Bucket="app-prod-old-export",
                                            Tagging={"TagSet": tag_list("app-prod-old-export")})
    assert drift(session, "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["clean"] is False and report["not_live"] == [] and report["missing_tags"] == []
    assert {(o["kind"], o["name"]) for o in report["orphans"]} == {
        ("kms:key", "app-prod-debug"), ("s3:bucket", "app-prod-old-export")}
    assert any(o["arn"] == key["Arn"] for o in report["orphans"])


def test_missing_tag_and_not_live(session: boto3.Session, capsys: pytest.CaptureFixture[str]) -> None:
    s3 = session.client("s3")
    s3.put_bucket_tagging(Bucket="app-prod-assets-1a2b3c", Tagging={"TagSet": tag_list("app-prod-assets", owner=None)})
    session.client("logs").delete_log_group(logGroupName="/aws/ecs/app-prod")
    assert drift(session) == 1
    out = capsys.readouterr().out
    assert "2 findings" in out
    assert "\nmissing tags (every declared resource carries Name, cost-center, environment, managed-by, owner):\n" \
           "  s3:bucket                        app-prod-assets  arn:aws:s3:::app-prod-assets-1a2b3c  missing: owner\n" \
           in out
    assert "\n  logs:log-group                   app-prod-service  (aws:cloudwatch/logGroup:LogGroup)\n" in out


def test_pages_are_followed() -> None:
    class Pages:
        def __init__(self) -> None:
            self.tokens: list[str | None] = []

        def get_resources(self, **kw: Any) -> dict[str, Any]:
            self.tokens.append(kw.get("PaginationToken"))
            arn = "arn:aws:sns:us-east-1:1:app-prod-alarms" if "PaginationToken" not in kw else "arn:aws:s3:::b"
            tags = tag_list("app-prod-alarms" if "PaginationToken" not in kw else "app-prod-assets")
            return {"ResourceTagMappingList": [{"ResourceARN": arn, "Tags": tags}],
                    **({} if "PaginationToken" in kw else {"PaginationToken": "next"})}

    from ops.drift import live_resources

    pages = Pages()
    live = live_resources(pages, "prod")
    assert pages.tokens == [None, "next"] and len(live) == 2
    report = compare("prod", "prod", "us-east-1", declared(), live)
    assert report.orphans == [] and [d["kind"] for d in report.not_live] == ["logs:log-group"]


def test_arn_kinds() -> None:
    assert arn_kind("arn:aws:ec2:us-east-1:1:security-group/sg-1") == "ec2:security-group"
    assert arn_kind("arn:aws:logs:us-east-1:1:log-group:/aws/ecs/app") == "logs:log-group"
    assert arn_kind("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1") == (
        "elasticloadbalancing:loadbalancer")
    assert arn_kind("arn:aws:wafv2:us-east-1:1:regional/webacl/app/1") == "wafv2:webacl"
    assert arn_kind("arn:aws:sns:us-east-1:1:alarms") == "sns:topic"
    assert arn_kind("arn:aws:rds:us-east-1:1:db:app-prod") == "rds:db"


@pytest.mark.parametrize("argv", [
    ["drift"],
    ["drift", "prod", "--format", "yaml"],
    ["drift", "prod", "--region", "nowhere"],
    ["drift", "nosuchstack"],
    ["drift", "prod", "--program", "/nonexistent"],
    ["drift", "prod", "--bogus"],
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("ops: ") and err.count("\n") == 1 and "Traceback" not in err


def test_a_non_aws_stack_is_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    gcp = Graph(project="backend-hosting", stack="gcp-dev", resources=[], outputs={})
    assert main(["drift", "gcp-dev"], graph_loader=lambda _d, _s: gcp) == 2
    assert "not an AWS stack" in capsys.readouterr().err


def with_vpc() -> Graph:
    """The stack of :func:`declared` plus its VPC."""
    graph = declared()
    graph.resources.append(res("aws:ec2/vpc:Vpc", "app-prod-vpc", cidrBlock="10.0.0.0/16"))
    return graph


def test_a_second_vpc_copying_tags_and_name_is_an_orphan(session: boto3.Session,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    ec2 = session.client("ec2")
    spec = [{"ResourceType": "vpc", "Tags": tag_list("app-prod-vpc")}]
    ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=spec)
    assert main(["drift", "prod"], session=session, graph_loader=lambda _d, _s: with_vpc()) == 0
    capsys.readouterr()
    copy = ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=spec)["Vpc"]["VpcId"]
    assert main(["drift", "prod", "--format", "json"], session=session, graph_loader=lambda _d, _s: with_vpc()) == 1
    report = json.loads(capsys.readouterr().out)
    assert len(report["orphans"]) == 1 and report["orphans"][0]["kind"] == "ec2:vpc"
    assert report["orphans"][0]["name"] == "app-prod-vpc" and report["not_live"] == []
    assert report["counts"]["ec2:vpc"] == {"declared": 1, "live": 2}
    # which of the two is the copy cannot be told from tags: either ARN is listed, and it is one of the two
    arns = {f"arn:aws:ec2:us-east-1:123456789012:vpc/{v['VpcId']}" for v in ec2.describe_vpcs()["Vpcs"]
            if any(t["Key"] == "environment" for t in v.get("Tags", []))}
    assert report["orphans"][0]["arn"] in arns and any(copy in a for a in arns)
    assert main(["drift", "prod"], session=session, graph_loader=lambda _d, _s: with_vpc()) == 1
    assert "counts that differ: ec2:vpc 1 declared / 2 live" in capsys.readouterr().out


def test_a_topic_without_name_is_an_orphan_not_only_a_missing_tag(session: boto3.Session,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    arn = session.client("sns").create_topic(Name="debug-topic", Tags=tag_list("x", Name=None))["TopicArn"]
    assert drift(session, "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["orphans"] == [{"arn": arn, "kind": "sns:topic", "name": ""}]
    assert report["missing_tags"] == [{"arn": arn, "kind": "sns:topic", "name": "", "missing": ["Name"]}]
    assert report["not_live"] == [] and report["counts"]["sns:topic"] == {"declared": 1, "live": 2}


def test_a_lost_name_tag_is_a_missing_tag_not_an_orphan(session: boto3.Session,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    sns = session.client("sns")
    arn = sns.list_topics()["Topics"]
    prod = next(t["TopicArn"] for t in arn if t["TopicArn"].endswith(":app-prod-alarms"))
    sns.untag_resource(ResourceArn=prod, TagKeys=["Name"])
    assert drift(session, "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["orphans"] == [] and report["not_live"] == []
    assert [m["arn"] for m in report["missing_tags"]] == [prod]


def test_physical_names_match_before_name_tags() -> None:
    graph = declared()
    topic = next(r for r in graph.resources if r.type == "aws:sns/topic:Topic")
    topic.inputs["name"] = "app-prod-alarms-topic"
    live = [{"ResourceARN": "arn:aws:sns:us-east-1:1:app-prod-alarms-topic", "Tags": tag_list("renamed")},
            {"ResourceARN": "arn:aws:sns:us-east-1:1:impostor", "Tags": tag_list("app-prod-alarms")},
            {"ResourceARN": "arn:aws:s3:::app-prod-assets-1", "Tags": tag_list("app-prod-assets")},
            {"ResourceARN": "arn:aws:logs:us-east-1:1:log-group:/aws/ecs/app-prod",
             "Tags": tag_list("app-prod-service")}]
    report = compare("prod", "prod", "us-east-1", graph, live)
    assert report.orphans == [{"arn": "arn:aws:sns:us-east-1:1:impostor", "kind": "sns:topic",
                               "name": "app-prod-alarms"}]
    assert report.not_live == []


def test_arn_physical_names() -> None:
    from ops.drift import arn_physical_name

    assert arn_physical_name("arn:aws:s3:::app-prod-assets") == "app-prod-assets"
    assert arn_physical_name("arn:aws:logs:us-east-1:1:log-group:/aws/ecs/app:*") == "/aws/ecs/app"
    assert arn_physical_name("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/app-prod/50dc") == "app-prod"
    assert arn_physical_name("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/app-prod-v1/73e2") == "app-prod-v1"
    assert arn_physical_name("arn:aws:secretsmanager:us-east-1:1:secret:app-prod-db-AbC123") == "app-prod-db"
    assert arn_physical_name("arn:aws:ecs:us-east-1:1:task-definition/app-prod:7") == "app-prod"
    assert arn_physical_name("arn:aws:rds:us-east-1:1:db:app-prod") == "app-prod"
    assert arn_physical_name("arn:aws:ecs:us-east-1:1:service/app-prod/app-prod-service") == "app-prod-service"


def test_task_definition_revisions_are_one_resource() -> None:
    graph = declared()
    graph.resources.append(res("aws:ecs/taskDefinition:TaskDefinition", "app-prod-task", family="app-prod"))
    base = [{"ResourceARN": "arn:aws:sns:us-east-1:1:app-prod-alarms", "Tags": tag_list("app-prod-alarms")},
            {"ResourceARN": "arn:aws:s3:::app-prod-assets-1", "Tags": tag_list("app-prod-assets")},
            {"ResourceARN": "arn:aws:logs:us-east-1:1:log-group:/aws/ecs/app-prod",
             "Tags": tag_list("app-prod-service")}]
    revisions = [{"ResourceARN": f"arn:aws:ecs:us-east-1:1:task-definition/app-prod:{n}",
                  "Tags": tag_list("app-prod-task")} for n in (9, 10, 11)]
    report = compare("prod", "prod", "us-east-1", graph, base + revisions)
    assert report.clean and report.counts["ecs:task-definition"] == {"declared": 1, "live": 1}  # one family
    other = {"ResourceARN": "arn:aws:ecs:us-east-1:1:task-definition/debug:1", "Tags": tag_list("app-prod-task")}
    report = compare("prod", "prod", "us-east-1", graph, [*base, *revisions, other])
    assert report.orphans == [{"arn": other["ResourceARN"], "kind": "ecs:task-definition", "name": "app-prod-task"}]
