"""Amazon VPC Lattice for internal services: the identity layer of service-to-service calls on AWS.

:class:`ServiceNetwork` is the stack's one service network, associated with the VPC behind a security group that
admits only the callers wired with :meth:`ServiceNetwork.allow_from`, plus the ECS infrastructure role that
registers tasks in Lattice target groups. :class:`LatticeService` is one internal web service's Lattice service
(``AWS_IAM`` auth), its IP target group and HTTPS listener; :meth:`LatticeService.grant_invoke` gives one caller's
task role one statement allowing ``vpc-lattice-svcs:Invoke`` on it, and :meth:`LatticeService.write_auth_policy`
writes the auth policy admitting exactly those task roles. Callers sign their requests with SigV4 (service
``vpc-lattice-svcs``): ``docs/identity.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from .common import (
    Connectable,
    Grantable,
    Grants,
    allow_ingress,
    aws_context,
    child_opts,
    policy_json,
    role_of,
    service_principal_policy,
    tag_set,
)

if TYPE_CHECKING:
    from .network import Network

INVOKE = "vpc-lattice-svcs:Invoke"
"""The one action a caller needs on a Lattice service (its auth policy and the caller's identity policy)."""
LISTENER_PORT = 443
"""Callers reach a Lattice service over HTTPS on 443 (the Lattice-managed certificate of its generated name)."""
INFRASTRUCTURE_POLICY = "AmazonECSInfrastructureRolePolicyForVpcLattice"
"""The AWS managed policy ECS needs on the infrastructure role it registers tasks in Lattice target groups with."""


def lattice_name(name: str) -> str:
    """A valid Lattice name (3-40 of a-z, 0-9 and single inner hyphens) for a component name; names too long
    keep their start and end in a short hash, so two services never share one."""
    clean = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", name.lower())).strip("-")
    if len(clean) > 40:
        digest = hashlib.sha256(clean.encode()).hexdigest()[:8]
        clean = f"{clean[:31].rstrip('-')}-{digest}"
    return clean.ljust(3, "0")


@dataclass
class ServiceNetworkArgs:
    """Arguments of :class:`ServiceNetwork`. Defaults: IAM auth on the network too (principals of this account
    only), no caller admitted until wired."""

    network: Network
    """The VPC associated with the service network (its tasks are the callers)."""
    permissions_boundary: pulumi.Input[str] | None = None
    """Managed policy ARN set as the permissions boundary of the ECS infrastructure role; None: no boundary."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource that takes them."""


class ServiceNetwork(pulumi.ComponentResource):
    """The stack's VPC Lattice service network: ``AWS_IAM`` auth with a network auth policy admitting only this
    account's principals, a VPC association whose security group admits only wired callers on 443, and the ECS
    infrastructure role (AWS managed ``AmazonECSInfrastructureRolePolicyForVpcLattice``)."""

    service_network: aws.vpclattice.ServiceNetwork
    security_group: aws.ec2.SecurityGroup
    association: aws.vpclattice.ServiceNetworkVpcAssociation
    auth_policy: aws.vpclattice.AuthPolicy
    infrastructure_role: aws.iam.Role
    infrastructure_policy: aws.iam.RolePolicyAttachment
    prefix_list_id: pulumi.Output[str]
    """The Lattice managed prefix list of the region: where Lattice's requests to the targets come from."""

    def __init__(self, name: str, args: ServiceNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:ServiceNetwork", name, None, opts)
        self.args = args
        tags = args.tags
        ctx = aws_context(self)
        self.service_network = aws.vpclattice.ServiceNetwork(
            f"{name}-network", name=lattice_name(name), auth_type="AWS_IAM", tags=tag_set(tags, name),
            opts=child_opts(self))
        # Every Lattice service also checks its own policy (the declared callers); this one keeps other accounts out.
        self.auth_policy = aws.vpclattice.AuthPolicy(
            f"{name}-network", resource_identifier=self.service_network.arn,
            policy=policy_json([{
                "Sid": "ThisAccountOnly", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": INVOKE,
                "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalAccount": ctx.account_id}}}]),
            opts=child_opts(self))
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-association", vpc_id=args.network.vpc_id,
            description=f"VPC association of {name}: HTTPS only from wired callers",
            tags=tag_set(tags, f"{name}-association"), opts=child_opts(self))
        self.association = aws.vpclattice.ServiceNetworkVpcAssociation(
            f"{name}-vpc", service_network_identifier=self.service_network.id, vpc_identifier=args.network.vpc_id,
            security_group_ids=[self.security_group.id], tags=tag_set(tags, f"{name}-vpc"), opts=child_opts(self))
        trust = service_principal_policy(
            "ecs.amazonaws.com", source_account=ctx.account_id,
            source_arn=pulumi.Output.concat("arn:", ctx.partition, ":ecs:", ctx.region, ":", ctx.account_id, ":*"))
        self.infrastructure_role = aws.iam.Role(
            f"{name}-ecs-infrastructure", description=f"ECS registers the tasks of {name}'s services in Lattice",
            assume_role_policy=trust, permissions_boundary=args.permissions_boundary,
            tags=tag_set(tags, f"{name}-ecs-infrastructure"), opts=child_opts(self))
        self.infrastructure_policy = aws.iam.RolePolicyAttachment(
            f"{name}-ecs-infrastructure", role=self.infrastructure_role.name,
            policy_arn=pulumi.Output.concat("arn:", ctx.partition, ":iam::aws:policy/", INFRASTRUCTURE_POLICY),
            opts=child_opts(self))
        self.prefix_list_id = aws.ec2.get_managed_prefix_list_output(
            name=pulumi.Output.concat("com.amazonaws.", ctx.region, ".vpc-lattice"),
            opts=pulumi.InvokeOutputOptions(parent=self)).id
        self._paths: dict[str, aws.vpc.SecurityGroupIngressRule] = {}
        self.register_outputs({"service_network_arn": self.service_network.arn,
                               "security_group_id": self.security_group.id})

    def allow_from(self, peer: Connectable) -> aws.vpc.SecurityGroupIngressRule:
        """Admit ``peer`` (a calling service) into the service network: HTTPS into the association's security
        group from the peer's, and the matching egress rule (one path per peer, however many services it calls)."""
        sg = peer.security_group
        key = peer.pulumi_resource_name if isinstance(peer, pulumi.Resource) else sg.pulumi_resource_name
        if key not in self._paths:
            self._paths[key] = allow_ingress(self, self.security_group, peer, from_port=LISTENER_PORT,
                                             to_port=LISTENER_PORT, what="HTTPS (VPC Lattice)", tags=self.args.tags)
        return self._paths[key]

    def add_service(self, name: str, args: LatticeServiceArgs) -> LatticeService:
        """A Lattice service in this network (see :class:`LatticeService`), a child of this component."""
        return LatticeService(name, self, args, child_opts(self))


@dataclass
class LatticeServiceArgs:
    """Arguments of :class:`LatticeService`. Defaults: targets on 8080, health probe ``/healthz``."""

    port: int = 8080
    """Port the tasks listen on (the target group's; callers always use HTTPS on 443)."""
    health_check_path: str = "/healthz"
    """Path Lattice probes on the targets."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource that takes them."""

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"LatticeServiceArgs.port {self.port}: use 1-65535")


class LatticeService(pulumi.ComponentResource):
    """One internal service in VPC Lattice: the service (``AWS_IAM``), its association with the network, an IP
    target group (HTTP on the task port) that ECS registers tasks in, an HTTPS listener forwarding to it, and
    the auth policy admitting exactly the task roles given :meth:`grant_invoke`."""

    service: aws.vpclattice.Service
    target_group: aws.vpclattice.TargetGroup
    listener: aws.vpclattice.Listener
    association: aws.vpclattice.ServiceNetworkServiceAssociation
    auth_policy: aws.vpclattice.AuthPolicy | None
    url: pulumi.Output[str]
    """``https://<the service's generated DNS name>``: what callers send signed requests to."""

    def __init__(self, name: str, network: ServiceNetwork, args: LatticeServiceArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:LatticeService", name, None, opts)
        self.args = args
        self.network = network
        tags = args.tags
        physical = lattice_name(name)
        self.service = aws.vpclattice.Service(
            f"{name}-lattice", name=physical, auth_type="AWS_IAM", tags=tag_set(tags, name), opts=child_opts(self))
        self.association = aws.vpclattice.ServiceNetworkServiceAssociation(
            f"{name}-lattice", service_identifier=self.service.id,
            service_network_identifier=network.service_network.id, tags=tag_set(tags, name), opts=child_opts(self))
        self.target_group = aws.vpclattice.TargetGroup(
            f"{name}-lattice", name=physical, type="IP",
            config={"port": args.port, "protocol": "HTTP", "protocol_version": "HTTP1", "ip_address_type": "IPV4",
                    "vpc_identifier": network.args.network.vpc_id,
                    "health_check": {"enabled": True, "protocol": "HTTP", "port": args.port,
                                     "path": args.health_check_path, "matcher": {"value": "200-399"},
                                     "health_check_interval_seconds": 30, "health_check_timeout_seconds": 5,
                                     "healthy_threshold_count": 2, "unhealthy_threshold_count": 3}},
            tags=tag_set(tags, name), opts=child_opts(self))
        self.listener = aws.vpclattice.Listener(
            f"{name}-lattice", name="https", protocol="HTTPS", port=LISTENER_PORT,
            service_identifier=self.service.id,
            default_action={"forwards": [{"target_groups": [{"target_group_identifier": self.target_group.id,
                                                             "weight": 100}]}]},
            tags=tag_set(tags, name), opts=child_opts(self))
        self.url = self.service.dns_entries.apply(
            lambda entries: f"https://{entries[0].domain_name}" if entries else "")
        self.auth_policy = None
        self._invokers: dict[str, aws.iam.Role] = {}
        self._grants = Grants(self, name)
        self.register_outputs({"service_arn": self.service.arn, "url": self.url,
                               "target_group_arn": self.target_group.arn})

    def grant_invoke(self, caller: Grantable | aws.iam.Role) -> aws.iam.RolePolicy:
        """Let ``caller`` invoke this service: one statement on its task role (``vpc-lattice-svcs:Invoke`` on this
        service's paths) and its role ARN in the auth policy :meth:`write_auth_policy` writes."""
        if self.auth_policy is not None:
            raise ValueError(f"{self.pulumi_resource_name}: grant_invoke after write_auth_policy would not reach "
                             "the auth policy")
        role = role_of(caller)
        self._invokers[role.pulumi_resource_name] = role
        return self._grants.add("invoke", role, [{
            "Sid": "InvokeLatticeService", "Effect": "Allow", "Action": INVOKE,
            "Resource": pulumi.Output.concat(self.service.arn, "/*")}])

    def write_auth_policy(self) -> aws.vpclattice.AuthPolicy | None:
        """The auth policy admitting exactly the task roles granted so far (principal and ``aws:PrincipalArn``
        both pinned to them). Call once, after every :meth:`grant_invoke`; with no grant it writes none (an
        ``AWS_IAM`` service without an auth policy admits nobody)."""
        if self.auth_policy is not None or not self._invokers:
            return self.auth_policy
        arns = [self._invokers[k].arn for k in sorted(self._invokers)]
        self.auth_policy = aws.vpclattice.AuthPolicy(
            f"{self.pulumi_resource_name}-lattice", resource_identifier=self.service.arn,
            policy=pulumi.Output.all(self.service.arn, *arns).apply(lambda v: json.dumps(auth_policy(v[0], v[1:]))),
            opts=child_opts(self))
        return self.auth_policy


def auth_policy(service_arn: str, role_arns: list[str]) -> dict[str, Any]:
    """A Lattice service's auth policy: ``vpc-lattice-svcs:Invoke`` on its paths for exactly ``role_arns``."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "DeclaredCallers", "Effect": "Allow", "Principal": {"AWS": list(role_arns)}, "Action": INVOKE,
        "Resource": f"{service_arn}/*", "Condition": {"ArnEquals": {"aws:PrincipalArn": list(role_arns)}}}]}
