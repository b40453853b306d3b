"""Network: subnet tiers, NAT strategies, endpoints, flow logs, the stripped default security group."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest
from helpers import doc_example, documents_every_argument

from components.aws.network import INTERFACE_ENDPOINT_SERVICES, Network, NetworkArgs, carve_subnets

DOC = Path(__file__).resolve().parent.parent / "docs" / "components" / "network.md"

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
RT = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def net(run_program, **kw):
    holder = {}

    def prog():
        holder["net"] = Network("net", NetworkArgs(**kw))

    return run_program(prog), holder["net"]


def test_defaults_are_the_cheap_dev_layout(run_program):
    g, n = net(run_program)
    comp = g.by_name("net", "backend:aws:Network")
    assert all(r.parent == comp.urn for r in g if r is not comp), "every child is parented to the component"
    assert g.inputs("net-vpc")["cidrBlock"] == "10.0.0.0/16"
    assert g.inputs("net-vpc")["enableDnsHostnames"] is True
    subnets = g.by_type(SUBNET)
    assert len(subnets) == 6
    assert sorted(s.inputs["tags"]["tier"] for s in subnets) == ["isolated"] * 2 + ["private"] * 2 + ["public"] * 2
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)
    assert len(g.by_type(NAT)) == 0 and len(g.by_type(EIP)) == 0
    assert n.app_subnets_public is True
    assert [e.inputs["vpcEndpointType"] for e in g.by_type(ENDPOINT)] == ["Gateway"]
    assert g.by_type(INGRESS) == [] and g.by_type(EGRESS) == []
    assert g.by_type("aws:ec2/securityGroup:SecurityGroup") == []


def test_subnets_spread_over_distinct_azs(run_program):
    g, _ = net(run_program, az_count=3)
    for tier in ("public", "private", "isolated"):
        azs = [g.inputs(f"net-{tier}-{i}", SUBNET)["availabilityZone"] for i in range(3)]
        assert azs == ["us-east-1a", "us-east-1b", "us-east-1c"]


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.16.0.0/18", "10.1.16.0/20"])
@pytest.mark.parametrize("azs", [1, 3, 6])
def test_carved_subnets_fit_the_vpc_and_never_overlap(cidr, azs):
    plan = carve_subnets(cidr, azs)
    vpc = ipaddress.ip_network(cidr)
    blocks = [ipaddress.ip_network(b) for tier in plan.values() for b in tier]
    assert len(blocks) == 3 * azs
    assert all(b.subnet_of(vpc) for b in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1:])
    assert ipaddress.ip_network(plan["private"][0]).num_addresses == 2 * ipaddress.ip_network(
        plan["public"][0]).num_addresses


@pytest.mark.parametrize(("strategy", "azs", "nats", "private_tables"), [
    ("none", 2, 0, 1), ("single", 2, 1, 1), ("single", 3, 1, 1), ("per_az", 3, 3, 3),
])
def test_nat_strategy_shapes_egress(run_program, strategy, azs, nats, private_tables):
    g, n = net(run_program, nat_strategy=strategy, az_count=azs)
    assert len(g.by_type(NAT)) == nats and len(g.by_type(EIP)) == nats
    private_rts = [r for r in g.by_type(RT) if r.name.startswith("net-private-rt-")]
    assert len(private_rts) == private_tables
    nat_routes = [r for r in g.by_type(ROUTE) if "natGatewayId" in r.inputs]
    assert len(nat_routes) == nats
    assert all(r.inputs["destinationCidrBlock"] == "0.0.0.0/0" for r in nat_routes)
    nat_ids = {r.id for r in g.by_type(NAT)}
    assert {r.inputs["natGatewayId"] for r in nat_routes} == nat_ids
    # NAT gateways sit in public subnets, one per AZ for per_az.
    public_ids = {s.id for s in g.by_type(SUBNET) if s.inputs["tags"]["tier"] == "public"}
    assert all(r.inputs["subnetId"] in public_ids for r in g.by_type(NAT))
    assert n.app_subnets_public is (strategy == "none")
    # Each private subnet is associated with a private table; per_az pairs subnet i with table i (and NAT i).
    assoc = {r.inputs["subnetId"]: r.inputs["routeTableId"]
             for r in g.by_type("aws:ec2/routeTableAssociation:RouteTableAssociation")}
    private_subnets = [g.by_name(f"net-private-{i}", SUBNET) for i in range(azs)]
    assert len({assoc[s.id] for s in private_subnets}) == private_tables


def test_isolated_tier_has_no_route_out(run_program):
    g, _ = net(run_program, nat_strategy="per_az", az_count=3)
    isolated_rt = g.by_name("net-isolated-rt", RT).id
    assert not [r for r in g.by_type(ROUTE) if r.inputs["routeTableId"] == isolated_rt]


def test_s3_gateway_endpoint_on_private_and_isolated_tables(run_program):
    g, _ = net(run_program, nat_strategy="per_az", az_count=3)
    s3 = g.by_name("net-s3", ENDPOINT).inputs
    assert s3["serviceName"] == "com.amazonaws.us-east-1.s3" and s3["vpcEndpointType"] == "Gateway"
    expected = {r.id for r in g.by_type(RT) if not r.name.startswith("net-public")}
    assert set(s3["routeTableIds"]) == expected and len(expected) == 4


def test_interface_endpoints_admit_https_from_the_vpc_only(run_program):
    g, n = net(run_program, interface_endpoints=True, cidr="10.42.0.0/16")
    interface = [e for e in g.by_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"]
    assert sorted(e.inputs["serviceName"] for e in interface) == sorted(
        f"com.amazonaws.us-east-1.{s}" for s in INTERFACE_ENDPOINT_SERVICES)
    sg = g.by_name("net-endpoints", "aws:ec2/securityGroup:SecurityGroup")
    private = {s.id for s in g.by_type(SUBNET) if s.inputs["tags"]["tier"] == "private"}
    for e in interface:
        assert e.inputs["securityGroupIds"] == [sg.id]
        assert set(e.inputs["subnetIds"]) == private and e.inputs["privateDnsEnabled"] is True
    rules = g.by_type(INGRESS)
    assert [r.inputs for r in rules] == [{
        "securityGroupId": sg.id, "ipProtocol": "tcp", "fromPort": 443.0, "toPort": 443.0,
        "cidrIpv4": "10.42.0.0/16", "description": "HTTPS from the VPC", "tags": {"Name": "net-endpoints-https"}}]
    assert g.by_type(EGRESS) == []
    assert n.endpoint_security_group is not None


def test_flow_logs_to_an_encrypted_log_group_with_a_least_privilege_role(run_program):
    key = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    g, _ = net(run_program, kms_key_arn=key, flow_log_retention_days=30)
    group = g.by_name("net-flow-logs", "aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 30 and group.inputs["kmsKeyId"] == key
    flow = g.by_name("net-flow-log").inputs
    assert flow["logDestination"] == group.outputs["arn"] and flow["trafficType"] == "ALL"
    assert flow["logDestinationType"] == "cloud-watch-logs"
    role = g.by_name("net-flow-logs", "aws:iam/role:Role")
    assert flow["iamRoleArn"] == role.outputs["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"] == [{
        "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"},
                      "ArnLike": {"aws:SourceArn": "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/*"}}}]
    policy = json.loads(g.inputs("net-flow-logs", "aws:iam/rolePolicy:RolePolicy")["policy"])
    arn = group.outputs["arn"]
    assert policy["Statement"] == [{
        "Sid": "WriteFlowLogs", "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        "Resource": [arn, f"{arn}:*"]}]


def test_default_security_group_is_adopted_without_rules(run_program):
    g, _ = net(run_program)
    default = g.by_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert len(default) == 1
    assert "ingress" not in default[0].inputs or default[0].inputs["ingress"] == []
    assert "egress" not in default[0].inputs or default[0].inputs["egress"] == []


@pytest.mark.parametrize(("kw", "message"), [
    ({"cidr": "10.0.0.0/24"}, "/16 to /20"),
    ({"az_count": 0}, "1 to 6"),
    ({"nat_strategy": "two"}, "none, single or per_az"),
])
def test_bad_arguments_fail_early(kw, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        NetworkArgs(**kw)


def test_doc_example_runs_and_documents_every_argument(run_program):
    g = run_program(doc_example(DOC))
    assert len(g.by_type(NAT)) == 3 and g.outputs["vpc_id"]
    assert not documents_every_argument(DOC, NetworkArgs)


def test_the_flow_log_role_carries_the_permissions_boundary_when_given(run_program):
    boundary = "arn:aws:iam::123456789012:policy/backend-hosting-boundary-dev"
    g, _ = net(run_program, permissions_boundary=boundary)
    assert g.by_name("net-flow-logs", "aws:iam/role:Role").inputs["permissionsBoundary"] == boundary
    g, _ = net(run_program)
    assert "permissionsBoundary" not in g.by_name("net-flow-logs", "aws:iam/role:Role").inputs
