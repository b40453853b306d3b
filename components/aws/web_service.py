"""WebService: an HTTP service of the shared cluster, public on the shared load balancer (its own target groups
and listener rules, with priorities derived from its routes) or internal (ECS Service Connect, reachable only
from the services wired with :meth:`WebService.allow_from`; with a VPC Lattice service also by IAM, admitting only
the task roles wired with :meth:`WebService.grant_invoke`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from .common import Connectable, Grantable, allow_ingress, child_opts, tag_set
from .lattice import LatticeService
from .load_balancer import LoadBalancer, rule_priorities
from .task import CONTAINER_NAME, TaskArgs, TaskComponent, fargate_service, scaling_target, utilisation_policies


@dataclass(frozen=True)
class WebRoute:
    """One route on the shared load balancer: a path prefix and/or a host name."""

    path: str | None = None
    """Path prefix: ``/v1`` matches ``/v1`` and ``/v1/*``; None (or ``/``): every path (of ``host``)."""
    host: str | None = None
    """Host header to match, e.g. ``api.example.com`` or ``*.example.com``; None: any host."""
    weight: int = 100
    """Weight of the service's primary target group (0-999)."""
    canary_weight: int = 0
    """Weight of its ``-canary`` target group; > 0 makes the rule a weighted forward to both."""
    priority: int | None = None
    """Listener-rule priority; None: derived from (host, path) alone (the stack derives all of a listener's
    priorities together with ``rule_priorities``, which also resolves the rare hash collision)."""

    @property
    def key(self) -> tuple[str, str]:
        """What the listener matches on: (host or ``*``, path or ``/``)."""
        return (self.host or "*", self.path or "/")

    def conditions(self) -> list[dict[str, Any]]:
        """The listener-rule conditions: a host-header and/or a path-pattern condition."""
        out: list[dict[str, Any]] = []
        if self.host:
            out.append({"host_header": {"values": [self.host]}})
        if self.path and self.path != "/":
            prefix = self.path.rstrip("/")
            out.append({"path_pattern": {"values": [prefix, f"{prefix}/*"]}})
        elif not self.host:
            out.append({"path_pattern": {"values": ["/*"]}})
        return out


@dataclass
class WebServiceArgs(TaskArgs):
    """Arguments of :class:`WebService` (plus every :class:`~components.aws.task.TaskArgs` field). Defaults:
    internal until given routes and a load balancer, scale 1-2 on CPU, memory and requests."""

    port: int = 8080
    """Port the container listens on (target groups and Service Connect use it)."""
    health_check_path: str = "/healthz"
    """Path of the container health check and the target groups' probe."""
    health_check_command: Sequence[str] | None = None
    """Container health-check command; None: ``wget`` the health path on localhost (busybox/alpine images)."""
    load_balancer: LoadBalancer | None = None
    """The shared load balancer its routes are added to; None with ``internal``."""
    routes: Sequence[WebRoute] = ()
    """Its routes on the load balancer (one listener rule each); empty for an internal service."""
    internal: bool = False
    """Not on the load balancer. With ``lattice``: reachable only through its VPC Lattice service (the tasks admit
    Lattice's prefix list and nothing else; callers by :meth:`WebService.grant_invoke`). Without: through ECS
    Service Connect as ``http://<discovery_name>:<port>`` from services wired with :meth:`WebService.allow_from`
    (needs the cluster's ``service_connect_namespace``)."""
    discovery_name: str | None = None
    """Service Connect name of an internal service; None: the component's name."""
    uses_service_connect: bool = False
    """Join the cluster's Service Connect namespace as a client (set when it calls an internal service)."""
    lattice: LatticeService | None = None
    """An internal service's VPC Lattice service (:meth:`ServiceNetwork.add_service
    <components.aws.lattice.ServiceNetwork.add_service>`): ECS registers the tasks in its target group, the
    tasks admit Lattice on ``port`` and no one else (no Service Connect name, :meth:`WebService.allow_from`
    refused), and :meth:`WebService.grant_invoke` admits callers by IAM. None: network only (security groups and
    Service Connect)."""
    image_managed_externally: bool = False
    """An external deployer registers task-definition revisions; Pulumi ignores the service's ``taskDefinition``."""
    desired_count: int | None = None
    """Tasks at creation (autoscaling owns the count afterwards); None: ``min_count``."""
    min_count: int = 1
    """Autoscaling minimum tasks."""
    max_count: int = 2
    """Autoscaling maximum tasks."""
    cpu_target: float = 60.0
    """Target average CPU utilisation, percent."""
    memory_target: float = 75.0
    """Target average memory utilisation, percent."""
    requests_per_target: int | None = 1000
    """Target ALB requests per task per minute (public services); None: no request-count policy."""
    health_check_grace_seconds: int = 60
    """Seconds the service ignores failing load-balancer health checks after a task starts."""

    def __post_init__(self) -> None:
        self._check("WebServiceArgs")
        if not 0 <= self.min_count <= self.max_count:
            raise ValueError(f"WebServiceArgs: need 0 <= min_count ({self.min_count}) <= max_count ({self.max_count})")
        if self.lattice is not None and not self.internal:
            raise ValueError("WebServiceArgs: lattice is for an internal service (a public one is behind the load "
                             "balancer)")
        if self.lattice is not None and self.lattice.args.port != self.port:
            raise ValueError(f"WebServiceArgs: the lattice target group's port ({self.lattice.args.port}) is not "
                             f"the service's ({self.port})")
        if self.internal and (self.routes or self.load_balancer is not None):
            raise ValueError("WebServiceArgs: an internal service has no load balancer or routes")
        if not self.internal and (not self.routes or self.load_balancer is None):
            raise ValueError("WebServiceArgs: a public service needs a load_balancer and routes (or internal=True)")
        keys = [r.key for r in self.routes]
        if len(set(keys)) != len(keys):
            raise ValueError(f"WebServiceArgs.routes: two routes match the same (host, path): {keys}")
        if len(self.routes) > 40:
            raise ValueError("WebServiceArgs.routes: at most 40 routes per service")


class WebService(TaskComponent):
    """A Fargate service behind the shared load balancer (or internal), with its own roles, logs, security
    group closed until wired, circuit-breaker deployments and target-tracking autoscaling."""

    service: aws.ecs.Service
    target_groups: dict[str, aws.lb.TargetGroup]
    listener_rules: dict[tuple[str, str], aws.lb.ListenerRule]
    scaling_target: aws.appautoscaling.Target
    scaling_policies: dict[str, aws.appautoscaling.Policy]
    url: pulumi.Output[str] | None
    route_urls: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: WebServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:WebService", name, None, opts)
        self.args = args
        tags = args.tags
        health = list(args.health_check_command or [
            "CMD-SHELL", f"wget -q -O /dev/null http://127.0.0.1:{args.port}{args.health_check_path} || exit 1"])
        self._task(name, args, port=args.port, health_check=health)

        # -- target groups and listener rules on the shared load balancer --------------------------------------
        lb = args.load_balancer
        self.target_groups = {}
        self.listener_rules = {}
        depends: list[pulumi.Resource] = []
        if lb is not None:
            self.target_groups["primary"] = self._target_group(name, name, args)
            if any(r.canary_weight > 0 for r in args.routes):
                self.target_groups["canary"] = self._target_group(f"{name}-canary", f"{name}-canary", args)
            derived = rule_priorities(r.key for r in args.routes)
            for route in args.routes:
                self.listener_rules[route.key] = self._rule(name, route, route.priority or derived[route.key], lb)
            depends = [lb.https_listener, *self.listener_rules.values()]

        # -- VPC Lattice: its requests to the tasks come from the region's Lattice prefix list ------------------
        self.lattice_ingress = None
        if args.lattice is not None:
            self.lattice_ingress = aws.vpc.SecurityGroupIngressRule(
                f"{name}-from-lattice", security_group_id=self.security_group.id,
                prefix_list_id=args.lattice.network.prefix_list_id, ip_protocol="tcp", from_port=args.port,
                to_port=args.port, description="From VPC Lattice (requests its auth policy admitted)",
                tags=tag_set(tags, f"{name}-from-lattice"), opts=child_opts(self))
            depends.append(args.lattice.network.infrastructure_policy)

        # -- the ECS service and its autoscaling ----------------------------------------------------------------
        self.service = fargate_service(
            self, name, cluster_arn=args.cluster.arn, task_definition_arn=self.task_definition.arn,
            desired_count=args.desired_count if args.desired_count is not None else args.min_count,
            network_configuration=self._network_configuration(args), tags=tags,
            image_managed_externally=args.image_managed_externally, depends_on=depends,
            load_balancers=[{"target_group_arn": self.target_groups["primary"].arn, "container_name": CONTAINER_NAME,
                             "container_port": args.port}] if lb is not None else None,
            health_check_grace_period_seconds=args.health_check_grace_seconds if lb is not None else None,
            service_connect_configuration=self._service_connect(name, args),
            vpc_lattice_configurations=[{
                "role_arn": args.lattice.network.infrastructure_role.arn, "port_name": "http",
                "target_group_arn": args.lattice.target_group.arn}] if args.lattice is not None else None)
        self.scaling_target = scaling_target(self, name, cluster_name=args.cluster.name, service=self.service,
                                             min_count=args.min_count, max_count=args.max_count, tags=tags)
        requests = None
        if args.requests_per_target is not None and lb is not None:
            requests = (float(args.requests_per_target),
                        pulumi.Output.concat(lb.arn_suffix, "/", self.target_groups["primary"].arn_suffix))
        self.scaling_policies = utilisation_policies(self, name, self.scaling_target, cpu_target=args.cpu_target,
                                                     memory_target=args.memory_target, requests=requests)

        # -- URLs -----------------------------------------------------------------------------------------------
        self.route_urls = {}
        self.url = None
        if args.internal:
            self.url = args.lattice.url if args.lattice is not None else pulumi.Output.from_input(
                f"http://{args.discovery_name or name}:{args.port}")
        elif lb is not None:
            for route in args.routes:
                base = pulumi.Output.concat("https://", route.host) if route.host else lb.url
                self.route_urls[route.path or "/"] = pulumi.Output.concat(base, (route.path or "").rstrip("/"), "/")
            self.url = next(iter(self.route_urls.values()))

        self.register_outputs({
            "service_name": self.service.name, "url": self.url, "route_urls": self.route_urls,
            "security_group_id": self.security_group.id, "task_role_arn": self.task_role.arn,
            "execution_role_arn": self.execution_role.arn, "log_group_name": self.log_group.name,
            "task_definition_arn": self.task_definition.arn,
            "target_group_arns": {k: tg.arn for k, tg in self.target_groups.items()},
        })

    # ---------------------------------------------------------------------------------------------------------
    def _target_group(self, resource: str, tag: str, args: WebServiceArgs) -> aws.lb.TargetGroup:
        return aws.lb.TargetGroup(
            resource, vpc_id=args.network.vpc_id, target_type="ip", port=args.port, protocol="HTTP",
            protocol_version="HTTP1", deregistration_delay=30,
            health_check={"enabled": True, "path": args.health_check_path, "protocol": "HTTP", "port": "traffic-port",
                          "matcher": "200-399", "interval": 15, "timeout": 5, "healthy_threshold": 2,
                          "unhealthy_threshold": 3},
            tags=tag_set(args.tags, tag), opts=child_opts(self))

    def _rule(self, name: str, route: WebRoute, priority: int, lb: LoadBalancer) -> aws.lb.ListenerRule:
        primary = self.target_groups["primary"]
        if route.canary_weight > 0:
            action: dict[str, Any] = {"type": "forward", "forward": {"target_groups": [
                {"arn": primary.arn, "weight": route.weight},
                {"arn": self.target_groups["canary"].arn, "weight": route.canary_weight}]}}
        else:
            action = {"type": "forward", "target_group_arn": primary.arn}
        host, path = route.key
        slug = re.sub(r"[^a-z0-9]+", "-", f"{'' if host == '*' else host} {path}".lower()).strip("-") or "root"
        rule_name = f"{name}-{slug}"
        return aws.lb.ListenerRule(
            rule_name, listener_arn=lb.https_listener.arn, priority=priority,
            conditions=[*route.conditions(), *lb.origin_conditions()],  # issue 14: only through the CDN
            actions=[action], tags=tag_set(self.args.tags, rule_name), opts=child_opts(self))

    def _service_connect(self, name: str, args: WebServiceArgs) -> dict[str, Any] | None:
        namespace = args.cluster.namespace
        served = args.internal and args.lattice is None  # behind Lattice, no name that bypasses its auth policy
        if not served and not args.uses_service_connect:
            return None
        if namespace is None:
            raise ValueError(f"WebService {name}: Service Connect needs the cluster's service_connect_namespace")
        config: dict[str, Any] = {"enabled": True, "namespace": namespace.arn}
        if served:
            discovery = args.discovery_name or name
            config["services"] = [{"port_name": "http", "discovery_name": discovery,
                                   "client_alias": [{"port": args.port, "dns_name": discovery}]}]
        return config

    # -- wiring ----------------------------------------------------------------------------------------------
    def grant_invoke(self, caller: Grantable) -> aws.iam.RolePolicy:
        """Let ``caller`` invoke this internal service through VPC Lattice: one statement on its task role and its
        role in the Lattice auth policy (:meth:`LatticeService.grant_invoke
        <components.aws.lattice.LatticeService.grant_invoke>`). Needs ``lattice``."""
        if self.args.lattice is None:
            raise ValueError(f"WebService {self.pulumi_resource_name}: grant_invoke needs a lattice service "
                             "(WebServiceArgs.lattice)")
        return self.args.lattice.grant_invoke(caller)

    def allow_from(self, peer: LoadBalancer | Connectable) -> aws.vpc.SecurityGroupIngressRule:
        """Open the container port to ``peer``: the load balancer (public services) or a calling service (internal
        ones); one ingress rule here and the matching egress rule on the peer's security group."""
        name = self.pulumi_resource_name
        if isinstance(peer, LoadBalancer):
            lb_name = peer.pulumi_resource_name
            rule = aws.vpc.SecurityGroupIngressRule(
                f"{name}-from-{lb_name}", security_group_id=self.security_group.id, ip_protocol="tcp",
                from_port=self.args.port, to_port=self.args.port, referenced_security_group_id=peer.security_group.id,
                description=f"From load balancer {lb_name}", tags=tag_set(self.args.tags, f"{name}-from-{lb_name}"),
                opts=child_opts(self))
            peer.allow_to(self.security_group, self.args.port, name)
            return rule
        if self.args.lattice is not None:
            raise ValueError(f"WebService {name}: behind VPC Lattice the tasks admit Lattice only; admit a caller with "
                             "grant_invoke and the service network's allow_from")
        return allow_ingress(self, self.security_group, peer, from_port=self.args.port, to_port=self.args.port,
                             what="HTTP", tags=self.args.tags)
