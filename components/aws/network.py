"""The VPC: public, private (app) and isolated (data) subnet tiers over N AZs, NAT, endpoints and flow logs."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.aws.common import aws_context, child_opts, policy_json, service_principal_policy, tag_set

NatStrategy = Literal["none", "single", "per_az"]

INTERFACE_ENDPOINT_SERVICES: tuple[str, ...] = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
"""Interface endpoints that let Fargate tasks in private subnets pull images, log and read secrets without NAT."""


@dataclass
class NetworkArgs:
    """Arguments of :class:`Network`. The defaults are the cheap dev layout (2 AZs, no NAT)."""

    cidr: str = "10.0.0.0/16"
    """VPC IPv4 CIDR block, /16 to /20. Carved into tiers: public = 1st quarter, isolated = 2nd quarter,
    private (app) = 2nd half; each tier split into one subnet per AZ (up to 6)."""
    az_count: int = 2
    """Availability zones to spread every tier over (1-6); names come from ``aws.get_availability_zones``."""
    nat_strategy: NatStrategy = "none"
    """Egress for private subnets: ``none`` (no NAT; tasks run in public subnets, see ``app_subnets_public``),
    ``single`` (one NAT gateway, one private route table) or ``per_az`` (a NAT and a route table per AZ)."""
    interface_endpoints: bool = False
    """Create interface endpoints for ECR (api, dkr), CloudWatch Logs and Secrets Manager in the private
    subnets, with their own security group admitting 443 from the VPC CIDR only."""
    flow_log_retention_days: int = 7
    """Retention of the VPC flow-log group, days (a CloudWatch retention value)."""
    kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed KMS key ARN encrypting the flow-log group (its key policy must allow the
    ``logs.<region>.amazonaws.com`` principal); None uses CloudWatch Logs' own encryption."""
    flow_log_traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = "ALL"
    """Which traffic the flow log records."""
    permissions_boundary: pulumi.Input[str] | None = None
    """ARN of a managed policy set as the permissions boundary of the flow-log role (the most it may ever be
    granted); None: no boundary. The stacks pass ``arn:<partition>:iam::<account>:policy/backend-hosting-boundary-
    <stack>`` (created by ``ops bootstrap``)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource that takes them (the standard tag set)."""

    def __post_init__(self) -> None:
        net = ipaddress.ip_network(self.cidr)
        if not 16 <= net.prefixlen <= 20:
            raise ValueError(f"NetworkArgs.cidr {self.cidr!r}: use a /16 to /20 block")
        if not 1 <= self.az_count <= 6:
            raise ValueError(f"NetworkArgs.az_count {self.az_count}: use 1 to 6")
        if self.nat_strategy not in ("none", "single", "per_az"):
            raise ValueError(f"NetworkArgs.nat_strategy {self.nat_strategy!r}: use none, single or per_az")


def carve_subnets(cidr: str, az_count: int) -> dict[str, list[str]]:
    """Subnet CIDRs per tier (``public``, ``private``, ``isolated``), one per AZ.

    Public and isolated subnets are /(prefix+5) blocks in the first and second quarter of the VPC; private (app)
    subnets are /(prefix+4) blocks in the second half, since tasks and interface endpoints consume most addresses.
    For 10.0.0.0/16: public 10.0.0.0/21, 10.0.8.0/21...; isolated 10.0.64.0/21...; private 10.0.128.0/20...
    """
    net = ipaddress.ip_network(cidr)
    quarters = list(net.subnets(prefixlen_diff=2))
    halves = list(net.subnets(prefixlen_diff=1))
    public = list(quarters[0].subnets(prefixlen_diff=3))[:az_count]
    isolated = list(quarters[1].subnets(prefixlen_diff=3))[:az_count]
    private = list(halves[1].subnets(prefixlen_diff=3))[:az_count]
    return {
        "public": [str(s) for s in public],
        "private": [str(s) for s in private],
        "isolated": [str(s) for s in isolated],
    }


class Network(pulumi.ComponentResource):
    """A VPC with three subnet tiers, NAT per strategy, an S3 gateway endpoint, optional interface endpoints,
    flow logs to an encrypted log group, and a default security group with no rules."""

    vpc: aws.ec2.Vpc
    vpc_id: pulumi.Output[str]
    cidr: str
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    isolated_subnet_ids: list[pulumi.Output[str]]
    app_subnets_public: bool
    """True when ``nat_strategy == "none"``: service tasks must run in public subnets with a public IP."""
    nat_gateways: list[aws.ec2.NatGateway]
    endpoint_security_group: aws.ec2.SecurityGroup | None
    flow_log_group: aws.cloudwatch.LogGroup

    def __init__(self, name: str, args: NetworkArgs | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:Network", name, None, opts)
        args = args or NetworkArgs()
        self.args = args
        tags = args.tags
        self.cidr = args.cidr
        self.app_subnets_public = args.nat_strategy == "none"

        azs = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=self))
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        plan = carve_subnets(args.cidr, args.az_count)

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc", cidr_block=args.cidr, enable_dns_support=True, enable_dns_hostnames=True,
            tags=tag_set(tags, f"{name}-vpc"), opts=child_opts(self))
        self.vpc_id = self.vpc.id

        # The default security group, adopted and left with no rules: nothing can use it by accident.
        self.default_security_group = aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=self.vpc.id, tags=tag_set(tags, f"{name}-default-do-not-use"),
            opts=child_opts(self))

        self.internet_gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags=tag_set(tags, f"{name}-igw"), opts=child_opts(self))

        def subnets(tier: str) -> list[aws.ec2.Subnet]:
            return [
                aws.ec2.Subnet(
                    f"{name}-{tier}-{i}", vpc_id=self.vpc.id, cidr_block=block,
                    availability_zone=azs.names[i], map_public_ip_on_launch=False,
                    tags=tag_set({**tags, "tier": tier}, f"{name}-{tier}-{i}"), opts=child_opts(self))
                for i, block in enumerate(plan[tier])
            ]

        self.public_subnets = subnets("public")
        self.private_subnets = subnets("private")
        self.isolated_subnets = subnets("isolated")
        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.isolated_subnet_ids = [s.id for s in self.isolated_subnets]

        # Public tier: one route table with the default route to the internet gateway.
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=self.vpc.id, tags=tag_set(tags, f"{name}-public"), opts=child_opts(self))
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=self.internet_gateway.id, opts=child_opts(self))
        for i, subnet in enumerate(self.public_subnets):
            aws.ec2.RouteTableAssociation(f"{name}-public-rta-{i}", subnet_id=subnet.id, route_table_id=public_rt.id,
                                          opts=child_opts(self))

        # NAT: none, one in the first public subnet, or one per AZ.
        nat_count = {"none": 0, "single": 1, "per_az": args.az_count}[args.nat_strategy]
        self.nat_gateways = []
        for i in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags=tag_set(tags, f"{name}-nat-{i}"),
                              opts=child_opts(self, depends_on=[self.internet_gateway]))
            self.nat_gateways.append(aws.ec2.NatGateway(
                f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=self.public_subnets[i].id,
                connectivity_type="public", tags=tag_set(tags, f"{name}-nat-{i}"),
                opts=child_opts(self, depends_on=[self.internet_gateway])))

        # Private (app) tier: a route table per AZ with per-AZ NAT, otherwise one shared table.
        private_rt_count = args.az_count if args.nat_strategy == "per_az" else 1
        self.private_route_tables = [
            aws.ec2.RouteTable(f"{name}-private-rt-{i}", vpc_id=self.vpc.id,
                               tags=tag_set(tags, f"{name}-private-{i}"), opts=child_opts(self))
            for i in range(private_rt_count)
        ]
        for i, nat in enumerate(self.nat_gateways):
            aws.ec2.Route(f"{name}-private-default-{i}", route_table_id=self.private_route_tables[i].id,
                          destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id, opts=child_opts(self))
        for i, subnet in enumerate(self.private_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-private-rta-{i}", subnet_id=subnet.id,
                route_table_id=self.private_route_tables[i % private_rt_count].id, opts=child_opts(self))

        # Isolated (data) tier: no route out of the VPC at all.
        self.isolated_route_table = aws.ec2.RouteTable(
            f"{name}-isolated-rt", vpc_id=self.vpc.id, tags=tag_set(tags, f"{name}-isolated"),
            opts=child_opts(self))
        for i, subnet in enumerate(self.isolated_subnets):
            aws.ec2.RouteTableAssociation(f"{name}-isolated-rta-{i}", subnet_id=subnet.id,
                                          route_table_id=self.isolated_route_table.id, opts=child_opts(self))

        # S3 gateway endpoint (free): image layers from ECR and bucket traffic stay off the NAT.
        self.s3_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-s3", vpc_id=self.vpc.id, vpc_endpoint_type="Gateway",
            service_name=pulumi.Output.concat("com.amazonaws.", region, ".s3"),
            route_table_ids=[rt.id for rt in [*self.private_route_tables, self.isolated_route_table]],
            tags=tag_set(tags, f"{name}-s3"), opts=child_opts(self))

        self.endpoint_security_group = None
        self.interface_endpoints: dict[str, aws.ec2.VpcEndpoint] = {}
        if args.interface_endpoints:
            sg = aws.ec2.SecurityGroup(
                f"{name}-endpoints", vpc_id=self.vpc.id,
                description="Interface endpoints: HTTPS from inside the VPC only",
                tags=tag_set(tags, f"{name}-endpoints"), opts=child_opts(self))
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-endpoints-https", security_group_id=sg.id, ip_protocol="tcp", from_port=443, to_port=443,
                cidr_ipv4=args.cidr, description="HTTPS from the VPC", tags=tag_set(tags, f"{name}-endpoints-https"),
                opts=child_opts(self))
            self.endpoint_security_group = sg
            for svc in INTERFACE_ENDPOINT_SERVICES:
                key = svc.replace(".", "-")
                self.interface_endpoints[svc] = aws.ec2.VpcEndpoint(
                    f"{name}-{key}", vpc_id=self.vpc.id, vpc_endpoint_type="Interface",
                    service_name=pulumi.Output.concat("com.amazonaws.", region, f".{svc}"),
                    private_dns_enabled=True, subnet_ids=self.private_subnet_ids, security_group_ids=[sg.id],
                    tags=tag_set(tags, f"{name}-{key}"), opts=child_opts(self))

        # Flow logs: every accepted and rejected flow, to an encrypted log group with retention.
        self.flow_log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs", retention_in_days=args.flow_log_retention_days, kms_key_id=args.kms_key_arn,
            tags=tag_set(tags, f"{name}-flow-logs"), opts=child_opts(self))
        ctx = aws_context(self)
        self.flow_log_role = aws.iam.Role(
            f"{name}-flow-logs", description=f"VPC flow logs of {name} write to their log group",
            assume_role_policy=service_principal_policy(
                "vpc-flow-logs.amazonaws.com", source_account=ctx.account_id,
                source_arn=pulumi.Output.concat("arn:", ctx.partition, ":ec2:", ctx.region, ":", ctx.account_id,
                                                ":vpc-flow-log/*")),
            permissions_boundary=args.permissions_boundary,
            tags=tag_set(tags, f"{name}-flow-logs"), opts=child_opts(self))
        aws.iam.RolePolicy(
            f"{name}-flow-logs", role=self.flow_log_role.id,
            policy=policy_json([{
                "Sid": "WriteFlowLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [self.flow_log_group.arn, self.flow_log_group.arn.apply(lambda a: f"{a}:*")],
            }]),
            opts=child_opts(self))
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-flow-log", vpc_id=self.vpc.id, traffic_type=args.flow_log_traffic_type,
            log_destination_type="cloud-watch-logs", log_destination=self.flow_log_group.arn,
            iam_role_arn=self.flow_log_role.arn, max_aggregation_interval=60,
            tags=tag_set(tags, f"{name}-flow-log"), opts=child_opts(self))

        self.register_outputs({
            "vpc_id": self.vpc_id,
            "cidr": self.cidr,
            "public_subnet_ids": self.public_subnet_ids,
            "private_subnet_ids": self.private_subnet_ids,
            "isolated_subnet_ids": self.isolated_subnet_ids,
            "app_subnets_public": self.app_subnets_public,
        })

    @property
    def app_subnet_ids(self) -> list[pulumi.Output[str]]:
        """Where service tasks run: public subnets without NAT (they then need a public IP), else private."""
        return self.public_subnet_ids if self.app_subnets_public else self.private_subnet_ids
