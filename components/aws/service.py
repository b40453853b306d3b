"""The container service: ECR repository, ECS cluster, Fargate task definition, roles, logs and autoscaling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.aws.cluster import image_repository
from components.aws.common import child_opts, tag_set
from components.aws.load_balancer import LoadBalancer
from components.aws.network import Network
from components.aws.task import (
    CONTAINER_NAME,
    TaskComponent,
    TaskSpec,
    check_container_inputs,
    fargate_service,
    scaling_target,
    secret_resource_arn,
    utilisation_policies,
)

__all__ = ["Service", "ServiceArgs", "secret_resource_arn"]

DEFAULT_IMAGE = "public.ecr.aws/nginx/nginx:stable-alpine"


@dataclass
class ServiceArgs:
    """Arguments of :class:`Service`. Defaults: one small ARM task, scale 1-2, no secrets, 7-day logs."""

    network: Network
    """The network: tasks run in its private subnets, or in its public subnets with a public IP when it has
    no NAT (``network.app_subnets_public``)."""
    image: str = DEFAULT_IMAGE
    """Container image (the ``service.image`` setting; CI sets it to the immutable tag it pushed)."""
    image_managed_externally: bool = False
    """An external deployer registers task-definition revisions and updates the service; Pulumi then ignores
    the service's ``taskDefinition`` so it does not roll the deployer's revision back."""
    family: str | None = None
    """Task-definition family; None: the component's name. Stacks sharing an account need distinct families."""
    cpu: int = 256
    """Task CPU units (a Fargate size: 256, 512, 1024, ...)."""
    memory: int = 512
    """Task memory, MiB (must fit ``cpu`` on Fargate)."""
    architecture: Literal["arm64", "x86_64"] = "arm64"
    """CPU architecture of the task (Graviton is ~20% cheaper)."""
    port: int = 8080
    """Port the container listens on (and the target groups forward to)."""
    health_check_path: str = "/healthz"
    """Path of the container health check (the ALB target groups probe it too)."""
    command: Sequence[str] | None = None
    """Command overriding the image's (None: the image's own)."""
    health_check_command: Sequence[str] | None = None
    """Container health-check command; None: ``wget`` the health path on localhost (busybox/alpine images)."""
    user: str = "1000:1000"
    """User (uid:gid) the container runs as: never root."""
    writable_paths: Sequence[str] = ("/tmp",)
    """Task-local scratch volumes mounted read-write; the root filesystem itself is read-only."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain environment variables, values may be Outputs such as a database host (no secrets: see ``secrets``)."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment variables injected by ECS from Secrets Manager / SSM: NAME -> ARN (a Secrets Manager ARN may
    carry a JSON key: ``<secret-arn>:password::``). Only the execution role can read them."""
    secrets_kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed KMS key of those secrets; the execution role may decrypt with it via Secrets Manager/SSM."""
    kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed KMS key encrypting the log group and the ECR repository; None: AWS-managed keys."""
    log_retention_days: int = 7
    """Retention of the container log group, days."""
    image_retention_count: int = 20
    """Images the ECR lifecycle policy keeps (the most recent N); older ones expire."""
    desired_count: int = 1
    """Tasks at creation (autoscaling owns the count afterwards)."""
    min_count: int = 1
    """Autoscaling minimum tasks."""
    max_count: int = 2
    """Autoscaling maximum tasks."""
    cpu_target: float = 60.0
    """Target average CPU utilisation, percent."""
    memory_target: float = 75.0
    """Target average memory utilisation, percent."""
    requests_per_target: int | None = 1000
    """Target ALB requests per task per minute (needs a load balancer); None: no request-count policy."""
    load_balancer: LoadBalancer | None = None
    """The load balancer whose target groups the service registers in (see ``target_groups``)."""
    target_groups: Sequence[str] | None = None
    """Keys of ``load_balancer.target_groups`` to register in; None: every primary (non-canary) group. A canary
    group is served by a second Service registered in ``["v1-canary"]``. At most 5 (an ECS limit)."""
    egress_vpc_ports: Sequence[int] = ()
    """Extra TCP ports the tasks may reach anywhere in the VPC CIDR. Usually empty: ``Database.allow_from`` and
    ``Cache.allow_from`` add the exact egress rule to their own security group. 443 anywhere is always open."""
    health_check_grace_seconds: int = 60
    """Seconds the service ignores failing load-balancer health checks after a task starts."""
    permissions_boundary: pulumi.Input[str] | None = None
    """ARN of a managed policy set as the permissions boundary of the execution and task roles (the most either
    may ever be granted, whatever inline policies say); None: no boundary. The stacks pass
    ``arn:<partition>:iam::<account>:policy/backend-hosting-boundary-<stack>`` (created by ``ops bootstrap``)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource that takes them (ECS propagates the service's tags to tasks)."""

    def __post_init__(self) -> None:
        if not 0 <= self.min_count <= self.max_count:
            raise ValueError(f"ServiceArgs: need 0 <= min_count ({self.min_count}) <= max_count ({self.max_count})")
        check_container_inputs("ServiceArgs", self.environment, self.secrets)


class Service(TaskComponent):
    """A Fargate service behind the load balancer, with its own image repository, cluster, least-privilege
    roles, encrypted logs, a security group closed until wired, circuit-breaker deployments and autoscaling."""

    repository: aws.ecr.Repository
    cluster: aws.ecs.Cluster
    log_group: aws.cloudwatch.LogGroup
    execution_role: aws.iam.Role
    task_role: aws.iam.Role
    security_group: aws.ec2.SecurityGroup
    task_definition: aws.ecs.TaskDefinition
    service: aws.ecs.Service
    scaling_target: aws.appautoscaling.Target
    scaling_policies: dict[str, aws.appautoscaling.Policy]

    def __init__(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:Service", name, None, opts)
        self.args = args
        tags = args.tags
        net = args.network

        self.repository = image_repository(self, name, kms_key_arn=args.kms_key_arn,
                                           image_retention_count=args.image_retention_count, tags=tags)
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster", settings=[{"name": "containerInsights", "value": "enabled"}],
            tags=tag_set(tags, f"{name}-cluster"), opts=child_opts(self))
        # log group, roles (trusted by ECS tasks of this account only), a security group with 443 out and no
        # ingress until wired, and the task definition: the same as every workload of the shared cluster
        health = args.health_check_command or [
            "CMD-SHELL", f"wget -q -O /dev/null http://127.0.0.1:{args.port}{args.health_check_path} || exit 1"]
        self._task(name, args, port=args.port, health_check=health)
        for port in args.egress_vpc_ports:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-tasks-vpc-{port}", security_group_id=self.security_group.id, ip_protocol="tcp",
                from_port=port, to_port=port, cidr_ipv4=net.cidr, description=f"To data stores in the VPC on {port}",
                tags=tag_set(tags, f"{name}-tasks-vpc-{port}"), opts=child_opts(self))

        # -- service --------------------------------------------------------------------------------------------
        lb = args.load_balancer
        keys = list(args.target_groups) if args.target_groups is not None else (
            [k for k in lb.target_groups if not k.endswith("-canary")] if lb else [])
        if len(keys) > 5:
            raise ValueError(f"Service {name}: ECS registers a service in at most 5 target groups, got {keys}")
        if keys and lb is None:
            raise ValueError(f"Service {name}: target_groups {keys} need a load_balancer")
        self.target_group_keys = keys
        depends: list[pulumi.Resource] = []
        if lb is not None:
            unknown = [k for k in keys if k not in lb.target_groups]
            if unknown:
                raise ValueError(f"Service {name}: no target groups {unknown} on the load balancer")
            depends = [lb.https_listener, *lb.listener_rules.values()]
        self.service = fargate_service(
            self, name, cluster_arn=self.cluster.arn, task_definition_arn=self.task_definition.arn,
            desired_count=args.desired_count, tags=tags, image_managed_externally=args.image_managed_externally,
            network_configuration=self._network_configuration(args), depends_on=depends,
            load_balancers=[{"target_group_arn": lb.target_groups[k].arn, "container_name": CONTAINER_NAME,
                             "container_port": args.port} for k in keys] if lb else None,
            health_check_grace_period_seconds=args.health_check_grace_seconds if keys else None)

        # -- autoscaling ----------------------------------------------------------------------------------------
        self.scaling_target = scaling_target(self, name, cluster_name=self.cluster.name, service=self.service,
                                             min_count=args.min_count, max_count=args.max_count, tags=tags)
        requests = None
        if args.requests_per_target is not None and lb is not None and keys:
            requests = (float(args.requests_per_target),
                        pulumi.Output.concat(lb.arn_suffix, "/", lb.target_groups[keys[0]].arn_suffix))
        self.scaling_policies = utilisation_policies(self, name, self.scaling_target, cpu_target=args.cpu_target,
                                                     memory_target=args.memory_target, requests=requests)

        self.register_outputs({
            "cluster_name": self.cluster.name,
            "service_name": self.service.name,
            "repository_url": self.repository.repository_url,
            "security_group_id": self.security_group.id,
            "task_role_arn": self.task_role.arn,
            "execution_role_arn": self.execution_role.arn,
            "log_group_name": self.log_group.name,
            "task_definition_arn": self.task_definition.arn,
        })

    # ---------------------------------------------------------------------------------------------------------
    _pull_sid = "PullOwnImages"

    def _repository_arn(self, args: TaskSpec) -> pulumi.Input[str]:
        """The service's own repository."""
        return self.repository.arn

    # -- wiring ----------------------------------------------------------------------------------------------
    def allow_from(self, load_balancer: LoadBalancer) -> aws.vpc.SecurityGroupIngressRule:
        """Admit the load balancer to the container port: one ingress rule here (source: the ALB's security
        group) and the matching egress rule on the ALB's security group."""
        name = self.pulumi_resource_name
        lb_name = load_balancer.pulumi_resource_name
        rule = aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-{lb_name}", security_group_id=self.security_group.id, ip_protocol="tcp",
            from_port=self.args.port, to_port=self.args.port,
            referenced_security_group_id=load_balancer.security_group.id,
            description=f"From load balancer {lb_name}", tags=tag_set(self.args.tags, f"{name}-from-{lb_name}"),
            opts=child_opts(self))
        load_balancer.allow_to(self.security_group, self.args.port, name)
        return rule
