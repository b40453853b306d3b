"""Programs the real engine runs run under review too: remote components, data sources, json_dumps, odd values.

Each program under ``tests/fixtures/engine`` failed (or hung, or printed noise) before the engine fixes it
exercises; the expected values come from what awsx, the providers and the engine do, not from the mocks.
"""

from __future__ import annotations

import asyncio
import decimal
import enum
import gc
import importlib
import inspect
import ipaddress
import json
from pathlib import Path

import pulumi
import pytest
from google.protobuf import struct_pb2

from review import cli, wire
from review.engine import ProgramError, capture_program
from review.model import SECRET
from review.synth import Context, function_fields, synthesize, synthesize_outputs

ENGINE = Path(__file__).resolve().parent / "fixtures" / "engine"


@pytest.fixture(scope="module")
def vpc_graph():
    return capture_program(ENGINE / "awsx_vpc", "dev")


@pytest.fixture(scope="module")
def fargate_graph():
    return capture_program(ENGINE / "awsx_fargate", "dev")


def _children(graph, component_name, typ):
    comp = next(r for r in graph if r.name == component_name and r.type.startswith("awsx:"))
    return [r for r in graph.children(comp) if r.type == typ]


# -- awsx VPC --------------------------------------------------------------------------------------------

def test_awsx_vpc_has_the_subnets_awsx_creates_per_az_and_spec(vpc_graph):
    g = vpc_graph
    main = _children(g, "main", "aws:ec2/subnet:Subnet")
    # awsx defaults: three availability zones, a public and a private subnet in each.
    assert len(main) == 6
    assert sorted({s.inputs["availabilityZone"] for s in main}) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    vpc_cidr = ipaddress.ip_network("10.0.0.0/16")
    nets = [ipaddress.ip_network(s.inputs["cidrBlock"]) for s in main]
    assert all(n.subnet_of(vpc_cidr) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    public = [s for s in main if s.inputs["mapPublicIpOnLaunch"]]
    assert len(public) == 3
    # One NAT gateway (with its EIP) per AZ, in that AZ's public subnet; one internet gateway.
    nats = _children(g, "main", "aws:ec2/natGateway:NatGateway")
    assert len(nats) == 3 and len(_children(g, "main", "aws:ec2/eip:Eip")) == 3
    assert {n.inputs["subnetId"] for n in nats} == {s.id for s in public}
    assert len(_children(g, "main", "aws:ec2/internetGateway:InternetGateway")) == 1
    vpc = _children(g, "main", "aws:ec2/vpc:Vpc")[0]
    assert vpc.inputs["enableDnsHostnames"] is True and vpc.inputs["tags"]["team"] == "web"


def test_awsx_vpc_outputs_are_shaped_as_the_component_returns_them(vpc_graph):
    g = vpc_graph
    vpc = _children(g, "main", "aws:ec2/vpc:Vpc")[0]
    assert g.outputs["vpcId"] == vpc.id
    assert g.by_name("web", "aws:ec2/securityGroup:SecurityGroup").inputs["vpcId"] == vpc.id
    private = [s for s in _children(g, "main", "aws:ec2/subnet:Subnet") if not s.inputs["mapPublicIpOnLaunch"]]
    assert g.outputs["privateSubnetIds"] == [s.id for s in private]
    # public_subnet_ids[2] is the public subnet of the third AZ.
    third = next(s for s in _children(g, "main", "aws:ec2/subnet:Subnet")
                 if s.inputs["mapPublicIpOnLaunch"] and s.inputs["availabilityZone"] == "us-east-1c")
    assert g.by_name("web", "aws:ec2/instance:Instance").inputs["subnetId"] == third.id
    # Resource outputs are the child resources themselves (their outputs readable).
    assert ipaddress.ip_network(g.outputs["firstSubnetCidr"]).subnet_of(ipaddress.ip_network("10.0.0.0/16"))


def test_awsx_vpc_honours_subnet_specs_and_the_nat_strategy(vpc_graph):
    g = vpc_graph
    subnets = _children(g, "lean", "aws:ec2/subnet:Subnet")
    assert len(subnets) == 6  # two AZs x (public, private, isolated "db")
    masks = sorted(ipaddress.ip_network(s.inputs["cidrBlock"]).prefixlen for s in subnets)
    assert masks == [23, 23, 24, 24, 24, 24]
    assert g.outputs["natCount"] == 1  # strategy Single
    isolated = [s for s in subnets if s.name.startswith("lean-db-")]
    assert sorted(g.by_name("db", "aws:rds/subnetGroup:SubnetGroup").inputs["subnetIds"]) == \
        sorted(s.id for s in isolated)
    # Isolated subnets have no route to the internet.
    routes = _children(g, "lean", "aws:ec2/route:Route")
    assert not any(r.name.startswith("lean-db-") for r in routes)


# -- awsx load balancer and Fargate ----------------------------------------------------------------------

def test_awsx_alb_and_fargate_service_are_built_from_their_inputs(fargate_graph):
    g = fargate_graph
    lb = _children(g, "lb", "aws:lb/loadBalancer:LoadBalancer")[0]
    assert lb.inputs["loadBalancerType"] == "application"
    sg = _children(g, "lb", "aws:ec2/securityGroup:SecurityGroup")[0]
    assert sg.inputs["ingress"] == [{"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrBlocks": ["0.0.0.0/0"]}]
    assert lb.inputs["securityGroups"] == [sg.id]
    tg = _children(g, "lb", "aws:lb/targetGroup:TargetGroup")[0]
    listener = _children(g, "lb", "aws:lb/listener:Listener")[0]
    assert listener.inputs["defaultActions"] == [{"type": "forward", "targetGroupArn": tg.id}]
    assert g.outputs["targetGroup"] == tg.id
    assert g.outputs["url"].startswith("http://") and g.outputs["url"].endswith(".eu-west-1.elb.amazonaws.com")

    service = _children(g, "service", "aws:ecs/service:Service")[0]
    assert service.inputs["launchType"] == "FARGATE" and service.inputs["desiredCount"] == 2
    assert service.inputs["loadBalancers"] == [{"targetGroupArn": tg.id, "containerName": "web",
                                                "containerPort": 80}]
    assert service.inputs["networkConfiguration"]["assignPublicIp"] is True
    td = _children(g, "service", "aws:ecs/taskDefinition:TaskDefinition")[0]
    assert service.inputs["taskDefinition"] == td.outputs["arn"]
    containers = json.loads(td.inputs["containerDefinitions"])
    assert containers[0]["image"] == "nginx:latest"
    assert containers[0]["portMappings"] == [{"containerPort": 80}]
    assert containers[0]["logConfiguration"]["logDriver"] == "awslogs"
    assert td.inputs["requiresCompatibilities"] == ["FARGATE"]
    roles = {r.name for r in _children(g, "service", "aws:iam/role:Role")}
    assert roles == {"service-execution", "service-task"}
    assert g.outputs["serviceName"] == service.outputs["name"]
    assert len(_children(g, "repo", "aws:ecr/lifecyclePolicy:LifecyclePolicy")) == 1
    assert g.outputs["repoUrl"].startswith("123456789012.dkr.ecr.eu-west-1.amazonaws.com/")


def test_other_remote_components_echo_their_inputs_and_create_nothing(run_program):
    class Widget(pulumi.ComponentResource):
        size: pulumi.Output[float]

        def __init__(self, name: str) -> None:
            super().__init__("acme:index:Widget", name, {"size": 3, "endpoint": None}, None, remote=True)

    def program():
        w = Widget("w")
        pulumi.export("size", w.size)

    g = run_program(program)
    widget = g.by_name("w")
    assert widget.custom is False and widget.inputs == {"size": 3}
    assert g.children(widget) == []
    assert g.outputs["size"] == 3


def test_component_outputs_come_from_the_sdk_class():
    ctx = Context("awsx:ec2:Vpc", {}, region="us-east-1", account="123456789012", gcp_project="p",
                  gcp_region="us-central1")
    plain, resources = synthesize_outputs(ctx)
    assert plain["vpcId"].startswith("vpc-") and isinstance(plain["publicSubnetIds"], list)
    assert "subnets" in resources and "vpc" in resources  # resource outputs are left to the caller


# -- data sources ----------------------------------------------------------------------------------------

def test_gcp_data_sources_answer_every_field_with_plausible_values():
    g = capture_program(ENGINE / "gcp_data", "dev")
    link = "https://www.googleapis.com/compute/v1/projects/acme-prod/global/networks/shared-vpc"
    assert g.outputs["network"] == link
    assert g.by_name("apps").inputs["network"] == link
    assert g.outputs["email"] == "runner@acme-prod.iam.gserviceaccount.com"
    vm = g.by_name("vm")
    assert vm.inputs["serviceAccount"]["email"] == "runner@acme-prod.iam.gserviceaccount.com"
    assert vm.inputs["bootDisk"]["initializeParams"]["image"].startswith(
        "https://www.googleapis.com/compute/v1/projects/debian-cloud/")


def test_every_result_field_of_a_function_is_answered():
    mod = importlib.import_module("pulumi_gcp.compute.get_network")
    ctx = Context("gcp:compute/getNetwork:getNetwork", {"name": "default"}, region="us-east-1",
                  account="123456789012", gcp_project="demo", gcp_region="us-central1")
    answer = synthesize(ctx)
    params = set(inspect.signature(mod.GetNetworkResult.__init__).parameters) - {"__self__"}
    assert len(answer) == len(params)  # one camelCase key per field of the SDK's result type
    assert answer["selfLink"] == "https://www.googleapis.com/compute/v1/projects/demo/global/networks/default"
    assert answer["subnetworksSelfLinks"] and isinstance(answer["networkId"], int)
    arn = synthesize(Context("aws:lambda/getFunction:getFunction", {"functionName": "api"}, region="eu-west-1",
                             account="123456789012", gcp_project="p", gcp_region="r"))["arn"]
    assert arn.startswith("arn:aws:lambda:eu-west-1:123456789012:") and arn.endswith("api")
    assert function_fields("aws:nosuch/getThing:getThing") == ()


def test_hand_written_answers_win_where_realism_matters(run_program):
    import pulumi_aws as aws

    def program():
        ident = aws.get_caller_identity()
        azs = aws.get_availability_zones()
        sg = aws.ec2.get_security_group(name="default")
        pulumi.export("account", ident.account_id)
        pulumi.export("azs", azs.names)
        pulumi.export("sg", sg.id)

    g = run_program(program, region="eu-west-1")
    assert g.outputs["account"] == "123456789012"
    assert g.outputs["azs"][:3] == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert g.outputs["sg"].startswith("sg-0")


# -- runtime failures ------------------------------------------------------------------------------------

def test_json_dumps_and_resources_passed_by_reference(capfd):
    g = capture_program(ENGINE / "json_refs", "dev")
    gc.collect()
    assert "Task was destroyed" not in capfd.readouterr().err
    bucket = g.by_name("site", "aws:s3/bucketV2:BucketV2")
    policy = json.loads(g.by_name("site", "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    assert policy["Statement"][0]["Resource"] == f"arn:aws:s3:::{bucket.id}/*"
    attachment = g.by_type("aws:lb/targetGroupAttachment:TargetGroupAttachment")[0]
    web = g.by_name("web", "aws:ec2/instance:Instance")
    assert attachment.inputs == {"targetGroupArn": g.by_name("tg").id, "targetId": web.id}
    role = g.by_name("app", "aws:iam/role:Role")
    assert g.by_name("app-read").inputs["role"] == role.id  # a reference arrives as the resource's id
    assert json.loads(g.outputs["roleDoc"]) == {"role": role.outputs["arn"]}
    media = g.by_name("media", "aws:s3/bucketV2:BucketV2")
    tls = g.by_name("media-tls")
    assert tls.inputs["bucket"] == media.id and tls.parent == g.by_name("media", "acme:web:Site").urn
    assert json.loads(tls.inputs["policy"])["Statement"][0]["Resource"] == f"arn:aws:s3:::{media.id}"


def test_values_a_struct_cannot_hold_are_reduced_not_fatal():
    g = capture_program(ENGINE / "odd_values", "dev")
    assert g.by_name("token").inputs["name"] == SECRET
    assert g.outputs["ports"] == [80, 443]

    class Tier(enum.Enum):
        GOLD = "gold"

    value = {1: {"a", "b"}, "d": decimal.Decimal("1.5"), "b": b"raw", "e": Tier.GOLD, "t": (1, 2)}
    assert wire.plain(value) == {"1": ["a", "b"], "d": 1.5, "b": "raw", "e": "gold", "t": [1, 2]}
    assert isinstance(wire.encode(value), struct_pb2.Struct)


@pytest.mark.usefixtures("trusted_in_process")
def test_two_resources_with_one_urn_are_refused(capsys):
    with pytest.raises(ProgramError, match=r"two resources named 'assets-dev' of type aws:s3/bucketV2:BucketV2"):
        capture_program(ENGINE / "duplicate", "dev")
    code = cli.main(["dev", "--program", str(ENGINE / "duplicate"), "--no-cost", "--no-policies"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "same URN" in err


@pytest.mark.usefixtures("trusted_in_process")
def test_a_stack_without_a_stack_file_runs_with_one_note(capsys):
    code = cli.main(["prod", "--program", str(ENGINE / "gcp_data"), "--no-cost", "--no-policies",
                     "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("note: stack 'prod' has no Pulumi.prod.yaml") and "(stack files: dev)" in \
        captured.err
    assert json.loads(captured.out)["stack"] == "prod"


def test_leftover_asyncio_work_and_prints_stay_off_stderr(capfd):
    g = capture_program(ENGINE / "noisy", "dev")
    gc.collect()
    out, err = capfd.readouterr()
    assert all(line.startswith("note: ") for line in err.splitlines())
    assert "declared events" not in out
    assert "output: declared events" in g.logs
    assert any("fetch_setting" in line and "never awaited" in line for line in g.logs)
    loop = asyncio.get_event_loop()
    assert not [t for t in asyncio.all_tasks(loop) if not t.done()]
