"""Remote (multi-language) components under the mocks: the children they create and the outputs they return.

The real engine hands a remote component (``RegisterResourceRequest.remote``) to its provider plugin, which
registers the component's children and returns its outputs. There is no plugin here, so the common awsx
components are rebuilt from their inputs as awsx builds them (a VPC with subnets per availability zone and
subnet spec, route tables, internet and NAT gateways; a load balancer with its security group, target group
and listeners; a Fargate service with its task definition, roles and log group; an ECR repository with its
lifecycle policy), and their outputs are shaped as the awsx SDK declares them: resource outputs are references
to the registered children. Any other remote component echoes its inputs and gets a plausible value for each
plain output its SDK class declares (resource outputs stay unknown): it creates nothing the review could judge.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable
from typing import Any

from .synth import Context, synthesize_outputs
from .wire import UNKNOWN, resource_ref

Register = Callable[[str, str, dict[str, Any]], tuple[str, str, dict[str, Any]]]
"""``register(type, name, inputs) -> (urn, id, state)``: registers one child of the component."""

DEFAULT_VPC_ID = "vpc-0default000000001"
DEFAULT_SUBNETS = [f"subnet-0default00000000{i}" for i in range(1, 4)]
ALL_IPV4 = "0.0.0.0/0"


class Builder:
    """Registers a component's children and collects references to them."""

    def __init__(self, name: str, inputs: dict[str, Any], register: Register, region: str,
                 lookup: Callable[[str], dict[str, Any] | None]) -> None:
        self.name = name
        self.inputs = inputs
        self._register = register
        self.region = region
        self.lookup = lookup
        self.tags = inputs.get("tags") if isinstance(inputs.get("tags"), dict) else None

    def child(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """Register a child; returns (reference, id, state)."""
        clean = {k: v for k, v in inputs.items() if v is not None}
        urn, id_, state = self._register(typ, name, clean)
        return resource_ref(urn, id_), id_, state


def _int(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _bool(value: Any, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value != UNKNOWN else None


# -- awsx:ec2:Vpc ----------------------------------------------------------------------------------------

def _subnet_cidrs(cidr: str, n_az: int, specs: list[dict[str, Any]], az_mask: int | None) -> list[list[str]]:
    """CIDR blocks per AZ, per spec: the VPC block split evenly between AZs, each AZ block between specs
    (a spec's ``cidrMask``/``size`` is honoured when it fits)."""
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        net = ipaddress.ip_network("10.0.0.0/16")
    az_prefix = az_mask or min(net.prefixlen + max(1, math.ceil(math.log2(max(n_az, 1)))), 28)
    az_blocks = list(net.subnets(new_prefix=az_prefix))[:n_az] if az_prefix >= net.prefixlen else [net] * n_az
    while len(az_blocks) < n_az:
        az_blocks.append(az_blocks[-1])
    out = []
    for i, block in enumerate(az_blocks):
        even = min(block.prefixlen + max(0, math.ceil(math.log2(max(len(specs), 1)))), 28)
        cursor = int(block.network_address)
        row = []
        for spec in specs:
            given = spec.get("cidrBlocks")
            if isinstance(given, list) and len(given) > i and isinstance(given[i], str):
                row.append(given[i])
                continue
            mask = _int(spec.get("cidrMask"), 0)
            if not mask and _int(spec.get("size"), 0):
                mask = 32 - math.ceil(math.log2(_int(spec.get("size"), 16)))
            mask = mask if block.prefixlen <= mask <= 28 else even
            size = 2 ** (32 - mask)
            cursor = (cursor + size - 1) // size * size
            if cursor + size > int(block.broadcast_address) + 1:
                cursor = int(block.network_address)  # does not fit: reuse the block start (still a valid CIDR)
            row.append(f"{ipaddress.ip_address(cursor)}/{mask}")
            cursor += size
        out.append(row)
    return out


def _vpc(b: Builder) -> dict[str, Any]:
    inp = b.inputs
    azs = [z for z in inp.get("availabilityZoneNames") or [] if isinstance(z, str)]
    if not azs:
        azs = [f"{b.region}{c}" for c in "abcdef"[:_int(inp.get("numberOfAvailabilityZones"), 3)]]
    raw_specs = inp.get("subnetSpecs") or [{"type": "Public"}, {"type": "Private"}]
    specs = [s for s in raw_specs if isinstance(s, dict) and str(s.get("type", "")).lower() != "unused"]
    cidr = _str(inp.get("cidrBlock")) or "10.0.0.0/16"
    cidrs = _subnet_cidrs(cidr, len(azs), specs, _int(inp.get("availabilityZoneCidrMask"), 0) or None)
    tags = b.tags or {}
    vpc_ref, vpc_id, _ = b.child("aws:ec2/vpc:Vpc", b.name, {
        "cidrBlock": cidr, "enableDnsHostnames": _bool(inp.get("enableDnsHostnames"), True),
        "enableDnsSupport": _bool(inp.get("enableDnsSupport"), True), "instanceTenancy": inp.get("instanceTenancy"),
        "assignGeneratedIpv6CidrBlock": inp.get("assignGeneratedIpv6CidrBlock"), "tags": {**tags, "Name": b.name}})
    out: dict[str, Any] = {"vpc": vpc_ref, "vpcId": vpc_id, "subnets": [], "publicSubnets": [], "privateSubnets": [],
                           "isolatedSubnets": [], "publicSubnetIds": [], "privateSubnetIds": [],
                           "isolatedSubnetIds": [], "routeTables": [], "routeTableAssociations": [], "routes": [],
                           "natGateways": [], "eips": [], "vpcEndpoints": []}
    tables: dict[str, list[tuple[str, str, int]]] = {"public": [], "private": [], "isolated": []}
    public_by_az: dict[int, str] = {}
    for i, az in enumerate(azs, start=1):
        for j, spec in enumerate(specs):
            kind = str(spec.get("type", "Private")).lower()
            kind = kind if kind in tables else "private"
            sub_name = f"{b.name}-{spec.get('name') or kind}-{i}"
            ref, sid, _ = b.child("aws:ec2/subnet:Subnet", sub_name, {
                "vpcId": vpc_id, "availabilityZone": az, "cidrBlock": cidrs[i - 1][j],
                "mapPublicIpOnLaunch": kind == "public",
                "tags": {**tags, **(spec.get("tags") or {}), "Name": sub_name, "SubnetType": kind.capitalize()}})
            out["subnets"].append(ref)
            out[f"{kind}Subnets"].append(ref)
            out[f"{kind}SubnetIds"].append(sid)
            rt_ref, rt_id, _ = b.child("aws:ec2/routeTable:RouteTable", sub_name,
                                       {"vpcId": vpc_id, "tags": {**tags, "Name": sub_name}})
            out["routeTables"].append(rt_ref)
            assoc, _, _ = b.child("aws:ec2/routeTableAssociation:RouteTableAssociation", sub_name,
                                  {"routeTableId": rt_id, "subnetId": sid})
            out["routeTableAssociations"].append(assoc)
            tables[kind].append((rt_id, sub_name, i))
            if kind == "public" and i not in public_by_az:
                public_by_az[i] = sid
    if tables["public"]:
        igw_ref, igw_id, _ = b.child("aws:ec2/internetGateway:InternetGateway", b.name,
                                     {"vpcId": vpc_id, "tags": {**tags, "Name": b.name}})
        out["internetGateway"] = igw_ref
        for rt_id, sub_name, _az in tables["public"]:
            route, _, _ = b.child("aws:ec2/route:Route", f"{sub_name}-ig", {
                "routeTableId": rt_id, "destinationCidrBlock": ALL_IPV4, "gatewayId": igw_id})
            out["routes"].append(route)
    nat = inp.get("natGateways") if isinstance(inp.get("natGateways"), dict) else {}
    strategy = str(nat.get("strategy") or "OnePerAz")
    nat_ids: dict[int, str] = {}
    if tables["private"] and public_by_az and strategy.lower() != "none":
        zones = sorted(public_by_az) if strategy == "OnePerAz" else sorted(public_by_az)[:1]
        allocations = [a for a in nat.get("elasticIpAllocationIds") or [] if isinstance(a, str)]
        for n, az in enumerate(zones, start=1):
            if len(allocations) >= n:
                alloc = allocations[n - 1]
            else:
                eip_ref, alloc, _ = b.child("aws:ec2/eip:Eip", f"{b.name}-{n}",
                                            {"domain": "vpc", "tags": {**tags, "Name": f"{b.name}-{n}"}})
                out["eips"].append(eip_ref)
            nat_ref, nat_id, _ = b.child("aws:ec2/natGateway:NatGateway", f"{b.name}-{n}", {
                "subnetId": public_by_az[az], "allocationId": alloc, "tags": {**tags, "Name": f"{b.name}-{n}"}})
            out["natGateways"].append(nat_ref)
            nat_ids[az] = nat_id
        for rt_id, sub_name, az in tables["private"]:
            nid = nat_ids.get(az) or next(iter(nat_ids.values()))
            route, _, _ = b.child("aws:ec2/route:Route", f"{sub_name}-nat", {
                "routeTableId": rt_id, "destinationCidrBlock": ALL_IPV4, "natGatewayId": nid})
            out["routes"].append(route)
    for n, spec in enumerate(inp.get("vpcEndpointSpecs") or [], start=1):
        if isinstance(spec, dict):
            ep, _, _ = b.child("aws:ec2/vpcEndpoint:VpcEndpoint", f"{b.name}-{n}", {**spec, "vpcId": vpc_id})
            out["vpcEndpoints"].append(ep)
    out["subnetLayout"] = [{"type": str(s.get("type", "Private")), "name": s.get("name"),
                            "cidrMask": int(cidrs[0][j].split("/")[1]) if cidrs else None}
                           for j, s in enumerate(specs)]
    return out


def _default_vpc(b: Builder) -> dict[str, Any]:
    return {"vpcId": DEFAULT_VPC_ID, "publicSubnetIds": list(DEFAULT_SUBNETS), "privateSubnetIds": []}


# -- awsx:lb ---------------------------------------------------------------------------------------------

_LB_OWN = {"defaultSecurityGroup", "defaultTargetGroup", "defaultTargetGroupPort", "listener", "listeners",
           "subnetIds", "subnets", "subnetMappings", "securityGroups", "tags", "name", "namePrefix"}


def _lb(b: Builder, kind: str) -> dict[str, Any]:
    inp = b.inputs
    subnets = [s for s in (inp.get("subnetIds") or inp.get("subnets") or []) if isinstance(s, str)]
    if not subnets and not inp.get("subnetMappings"):
        subnets = list(DEFAULT_SUBNETS)
    vpc_id: Any = DEFAULT_VPC_ID
    for sid in subnets:
        state = b.lookup(sid)
        if state and state.get("vpcId"):
            vpc_id = state["vpcId"]
            break
    else:
        if subnets and subnets != DEFAULT_SUBNETS:
            vpc_id = UNKNOWN
    application = kind == "application"
    protocol = "HTTP" if application else "TCP"
    listeners = [x for x in (inp.get("listeners") or ([inp["listener"]] if isinstance(inp.get("listener"), dict)
                                                       else [])) if isinstance(x, dict)]
    if not listeners:
        listeners = [{"port": 80, "protocol": protocol}]
    out: dict[str, Any] = {"vpcId": vpc_id}
    groups = [g for g in inp.get("securityGroups") or [] if isinstance(g, str)]
    dsg = inp.get("defaultSecurityGroup") if isinstance(inp.get("defaultSecurityGroup"), dict) else {}
    if application and dsg.get("securityGroupId"):
        groups.append(dsg["securityGroupId"])
    elif application and not dsg.get("skip"):
        ports = sorted({_int(x.get("port"), 80) for x in listeners})
        sg_args = dsg.get("args") if isinstance(dsg.get("args"), dict) else {}
        sg_ref, sg_id, _ = b.child("aws:ec2/securityGroup:SecurityGroup", b.name, {
            "vpcId": vpc_id,
            "ingress": [{"protocol": "tcp", "fromPort": p, "toPort": p, "cidrBlocks": [ALL_IPV4]} for p in ports],
            "egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": [ALL_IPV4]}],
            "tags": b.tags, **sg_args})
        groups.append(sg_id)
        out["defaultSecurityGroup"] = sg_ref
    lb_inputs = {k: v for k, v in inp.items() if k not in _LB_OWN}
    lb_ref, lb_arn, _ = b.child("aws:lb/loadBalancer:LoadBalancer", b.name, {
        **lb_inputs, "name": inp.get("name"), "namePrefix": inp.get("namePrefix"), "loadBalancerType": kind,
        "subnets": subnets or None, "subnetMappings": inp.get("subnetMappings"),
        "securityGroups": groups or None, "tags": b.tags})
    out["loadBalancer"] = lb_ref
    tg_args = inp.get("defaultTargetGroup") if isinstance(inp.get("defaultTargetGroup"), dict) else {}
    tg_ref, tg_arn, _ = b.child("aws:lb/targetGroup:TargetGroup", b.name, {
        "port": _int(inp.get("defaultTargetGroupPort"), 80), "protocol": protocol, "targetType": "ip",
        "vpcId": vpc_id, "tags": b.tags, **tg_args})
    out["defaultTargetGroup"] = tg_ref
    out["listeners"] = []
    for n, spec in enumerate(listeners):
        ref, _, _ = b.child("aws:lb/listener:Listener", f"{b.name}-{n}", {
            "protocol": protocol, **spec, "loadBalancerArn": lb_arn,
            "defaultActions": spec.get("defaultActions") or [{"type": "forward", "targetGroupArn": tg_arn}]})
        out["listeners"].append(ref)
    return out


# -- awsx:ecs --------------------------------------------------------------------------------------------

_ASSUME_ECS = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
_EXEC_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def _role(b: Builder, spec: Any, name: str, managed: str | None) -> tuple[dict[str, Any] | None, Any]:
    """awsx's DefaultRoleWithPolicy: an existing role ARN, or a role created (with a policy) unless skipped."""
    spec = spec if isinstance(spec, dict) else {}
    if spec.get("roleArn"):
        return None, spec["roleArn"]
    if spec.get("skip"):
        return None, None
    args = spec.get("args") if isinstance(spec.get("args"), dict) else {}
    ref, _, state = b.child("aws:iam/role:Role", name, {"assumeRolePolicy": _ASSUME_ECS, "tags": b.tags, **args})
    for n, arn in enumerate([managed] if managed else spec.get("policyArns") or []):
        b.child("aws:iam/rolePolicyAttachment:RolePolicyAttachment", f"{name}-{n}",
                {"role": state.get("name"), "policyArn": arn})
    return ref, state.get("arn")


def _task_definition(b: Builder, args: dict[str, Any], fargate: bool) -> dict[str, Any]:
    """awsx's FargateTaskDefinition / EC2TaskDefinition: roles, a log group, the task definition."""
    out: dict[str, Any] = {}
    lg_spec = args.get("logGroup") if isinstance(args.get("logGroup"), dict) else {}
    log_group_name: Any = None
    if lg_spec.get("existing"):
        log_group_name = (lg_spec["existing"] or {}).get("name")
    elif not lg_spec.get("skip"):
        lg_args = lg_spec.get("args") if isinstance(lg_spec.get("args"), dict) else {}
        ref, _, state = b.child("aws:cloudwatch/logGroup:LogGroup", b.name, {"tags": b.tags, **lg_args})
        out["logGroup"] = ref
        log_group_name = state.get("name")
    exec_ref, exec_arn = _role(b, args.get("executionRole"), f"{b.name}-execution", _EXEC_POLICY)
    task_ref, task_arn = _role(b, args.get("taskRole"), f"{b.name}-task", None)
    if exec_ref:
        out["executionRole"] = exec_ref
    if task_ref:
        out["taskRole"] = task_ref
    containers = dict(args.get("containers") or {})
    if isinstance(args.get("container"), dict):
        containers = {b.name: args["container"], **containers}
    definitions = []
    balancers = []
    for cname, c in containers.items():
        if not isinstance(c, dict):
            continue
        c = dict(c)
        c.setdefault("name", cname)
        mappings = []
        for pm in c.get("portMappings") or []:
            pm = dict(pm) if isinstance(pm, dict) else {}
            tg = pm.pop("targetGroup", None)
            port = _int(pm.get("containerPort") or pm.get("hostPort"), 80)
            pm.setdefault("containerPort", port)
            if tg:
                balancers.append({"targetGroupArn": tg, "containerName": c["name"], "containerPort": port})
            mappings.append(pm)
        if mappings:
            c["portMappings"] = mappings
        if log_group_name and "logConfiguration" not in c:
            c["logConfiguration"] = {"logDriver": "awslogs", "options": {
                "awslogs-group": log_group_name, "awslogs-region": b.region, "awslogs-stream-prefix": c["name"]}}
        definitions.append(c)
    td_inputs = {k: v for k, v in args.items()
                 if k not in ("container", "containers", "logGroup", "executionRole", "taskRole")}
    ref, _, td_state = b.child("aws:ecs/taskDefinition:TaskDefinition", b.name, {
        "family": b.name, "networkMode": "awsvpc",
        **({"requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512"} if fargate else {}),
        **td_inputs, "executionRoleArn": exec_arn, "taskRoleArn": task_arn,
        "containerDefinitions": json.dumps(definitions), "tags": b.tags})
    out["taskDefinition"] = ref
    out["loadBalancers"] = balancers
    out["_arn"] = td_state.get("arn")
    return out


def _service(b: Builder, fargate: bool) -> dict[str, Any]:
    inp = b.inputs
    out: dict[str, Any] = {}
    td_arn = inp.get("taskDefinition")
    balancers = list(inp.get("loadBalancers") or [])
    if not td_arn and isinstance(inp.get("taskDefinitionArgs"), dict):
        td = _task_definition(b, inp["taskDefinitionArgs"], fargate)
        td_arn = td.pop("_arn")
        out["taskDefinition"] = td["taskDefinition"]
        balancers = balancers or td["loadBalancers"]
    network = inp.get("networkConfiguration") if isinstance(inp.get("networkConfiguration"), dict) else None
    if network is None and fargate:
        network = {"subnets": list(DEFAULT_SUBNETS), "assignPublicIp": _bool(inp.get("assignPublicIp"), False)}
    own = {"taskDefinition", "taskDefinitionArgs", "loadBalancers", "networkConfiguration", "assignPublicIp",
           "continueBeforeSteadyState", "tags"}
    ref, _, _ = b.child("aws:ecs/service:Service", b.name, {
        "desiredCount": 1, **{k: v for k, v in inp.items() if k not in own},
        "launchType": inp.get("launchType") or ("FARGATE" if fargate and not inp.get("capacityProviderStrategies")
                                                 else None),
        "taskDefinition": td_arn, "networkConfiguration": network, "loadBalancers": balancers or None,
        "waitForSteadyState": not _bool(inp.get("continueBeforeSteadyState"), False), "tags": b.tags})
    out["service"] = ref
    return out


def _task_definition_component(b: Builder, fargate: bool) -> dict[str, Any]:
    td = _task_definition(b, b.inputs, fargate)
    td.pop("_arn", None)
    return td


# -- awsx:ecr --------------------------------------------------------------------------------------------

def _repository(b: Builder) -> dict[str, Any]:
    inp = b.inputs
    own = {"lifecyclePolicy", "tags"}
    ref, _, state = b.child("aws:ecr/repository:Repository", b.name.lower(),
                            {**{k: v for k, v in inp.items() if k not in own}, "tags": b.tags})
    out = {"repository": ref, "url": state.get("repositoryUrl", UNKNOWN)}
    policy = inp.get("lifecyclePolicy") if isinstance(inp.get("lifecyclePolicy"), dict) else {}
    if not policy.get("skip"):
        rules = policy.get("rules") or [{"tagStatus": "untagged", "maximumNumberOfImages": 1}]
        doc = {"rules": [{"rulePriority": n, "description": r.get("description") or "awsx default",
                          "selection": {"tagStatus": str(r.get("tagStatus", "any")).lower(),
                                        "countType": "imageCountMoreThan",
                                        "countNumber": _int(r.get("maximumNumberOfImages"), 1)},
                          "action": {"type": "expire"}} for n, r in enumerate(rules, start=1) if isinstance(r, dict)]}
        lp, _, _ = b.child("aws:ecr/lifecyclePolicy:LifecyclePolicy", b.name.lower(),
                           {"repository": state.get("name"), "policy": json.dumps(doc)})
        out["lifecyclePolicy"] = lp
    return out


def _image(b: Builder) -> dict[str, Any]:
    url = _str(b.inputs.get("repositoryUrl"))
    return {"imageUri": f"{url}@sha256:{'0' * 64}" if url else UNKNOWN}


def _attachment(b: Builder) -> dict[str, Any]:
    inp = b.inputs
    target = inp.get("instanceId") or inp.get("instance") or inp.get("lambdaArn") or inp.get("lambda")
    ref, _, _ = b.child("aws:lb/targetGroupAttachment:TargetGroupAttachment", b.name, {
        "targetGroupArn": inp.get("targetGroupArn") or inp.get("targetGroup"), "targetId": target})
    return {"targetGroupAttachment": ref}


BUILDERS: dict[str, Callable[[Builder], dict[str, Any]]] = {
    "awsx:lb:TargetGroupAttachment": _attachment,
    "awsx:ec2:Vpc": _vpc,
    "awsx:ec2:DefaultVpc": _default_vpc,
    "awsx:lb:ApplicationLoadBalancer": lambda b: _lb(b, "application"),
    "awsx:lb:NetworkLoadBalancer": lambda b: _lb(b, "network"),
    "awsx:ecs:FargateService": lambda b: _service(b, True),
    "awsx:ecs:EC2Service": lambda b: _service(b, False),
    "awsx:ecs:FargateTaskDefinition": lambda b: _task_definition_component(b, True),
    "awsx:ecs:EC2TaskDefinition": lambda b: _task_definition_component(b, False),
    "awsx:ecr:Repository": _repository,
    "awsx:ecr:Image": _image,
}


def construct(typ: str, name: str, inputs: dict[str, Any], register: Register, *, region: str, account: str,
              gcp_project: str, gcp_region: str,
              lookup: Callable[[str], dict[str, Any] | None] = lambda _id: None) -> dict[str, Any]:
    """The outputs of remote component ``typ``; its children are registered through ``register``."""
    build = BUILDERS.get(typ)
    if build is not None:
        return build(Builder(name, inputs, register, region, lookup))
    ctx = Context(typ, {"name": name, **inputs}, region=region, account=account, gcp_project=gcp_project,
                  gcp_region=gcp_region)
    plain, _resources = synthesize_outputs(ctx)
    return {**inputs, **plain}
