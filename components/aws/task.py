"""What every ECS workload of the shared cluster has: a Fargate task definition, its execution and task roles,
an encrypted log group and a security group closed until wired. :class:`~components.aws.web_service.WebService`,
:class:`~components.aws.worker.Worker` and :class:`~components.aws.job.Job` build on :class:`TaskComponent`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import pulumi
import pulumi_aws as aws

from components.base import SECRET_LIKE_NAME

from .common import aws_context, child_opts, service_principal_policy, tag_set

if TYPE_CHECKING:
    from .cluster import Cluster
    from .network import Network

CONTAINER_NAME = "app"
"""The one container of every task definition (load balancers and Service Connect name it)."""



def check_container_inputs(what: str, environment: Mapping[str, Any], secrets: Mapping[str, Any]) -> None:
    """Refuse a plain environment variable named like a secret, and a secret that is not a Secrets Manager or SSM
    ARN (a literal value would land in the task definition)."""
    for key in environment:
        if SECRET_LIKE_NAME.search(key):
            raise ValueError(f"{what}.environment[{key!r}] looks like a secret: pass its ARN in secrets")
    for key, value in secrets.items():
        if isinstance(value, str) and not re.match(r"^arn:aws[\w-]*:(secretsmanager|ssm):", value):
            raise ValueError(f"{what}.secrets[{key!r}] must be a Secrets Manager or SSM ARN, got {value!r}")


def secret_resource_arn(value_from: str) -> str:
    """The IAM resource of a ``valueFrom`` reference: a Secrets Manager ARN without its JSON key, version stage
    and version id (7 parts); SSM parameter ARNs unchanged."""
    parts = value_from.split(":")
    if len(parts) > 7 and parts[2] == "secretsmanager":
        return ":".join(parts[:7])
    return value_from


def secret_statements(secrets: Mapping[str, pulumi.Input[str]], kms_key_arn: pulumi.Input[str] | None,
                      region: pulumi.Output[str]) -> pulumi.Output[list[Any]]:
    """An execution role's statements for exactly the listed ``valueFrom`` references: ``GetSecretValue`` on the
    Secrets Manager ARNs, ``GetParameters`` on the SSM ARNs, and ``kms:Decrypt`` on their key through those two
    services only."""
    values = list(secrets.values())
    if not values:
        return pulumi.Output.from_input([])
    kms = kms_key_arn

    def read(resolved: list[Any]) -> list[dict[str, Any]]:
        refs = [str(v) for v in resolved[:-3]]
        kms_arn, sm_host, ssm_host = resolved[-3:]
        sm = sorted({secret_resource_arn(r) for r in refs if ":ssm:" not in r})
        ssm = sorted({r for r in refs if ":ssm:" in r})
        out: list[dict[str, Any]] = []
        if sm:
            out.append({"Sid": "ReadListedSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                        "Resource": sm})
        if ssm:
            out.append({"Sid": "ReadListedParameters", "Effect": "Allow", "Action": "ssm:GetParameters",
                        "Resource": ssm})
        if kms_arn:
            out.append({"Sid": "DecryptListedSecrets", "Effect": "Allow", "Action": "kms:Decrypt",
                        "Resource": kms_arn,
                        "Condition": {"StringEquals": {"kms:ViaService": [sm_host, ssm_host]}}})
        return out

    return pulumi.Output.all(
        *values, kms if kms is not None else "",
        pulumi.Output.concat("secretsmanager.", region, ".amazonaws.com"),
        pulumi.Output.concat("ssm.", region, ".amazonaws.com"),
    ).apply(read)


def ecs_task_roles(parent: pulumi.Resource, name: str, *, permissions_boundary: pulumi.Input[str] | None,
                   tags: Mapping[str, str], execution_policy: Any) -> tuple[aws.iam.Role, aws.iam.Role]:
    """The execution role (with its inline policy, built by ``execution_policy()``) and the task role of an ECS
    workload, both trusted by ECS tasks of this account only (the confused-deputy conditions)."""
    ctx = aws_context(parent)
    trust = service_principal_policy(
        "ecs-tasks.amazonaws.com", source_account=ctx.account_id,
        source_arn=pulumi.Output.concat("arn:", ctx.partition, ":ecs:", ctx.region, ":", ctx.account_id, ":*"))
    execution_role = aws.iam.Role(
        f"{name}-execution", description=f"ECS agent for {name}: pull the image, write logs, read secrets",
        assume_role_policy=trust, permissions_boundary=permissions_boundary,
        tags=tag_set(tags, f"{name}-execution"), opts=child_opts(parent))
    aws.iam.RolePolicy(f"{name}-execution", role=execution_role.id, policy=execution_policy(),
                       opts=child_opts(parent))
    task_role = aws.iam.Role(
        f"{name}-task", description=f"The {name} application; permissions come from grants only",
        assume_role_policy=trust, permissions_boundary=permissions_boundary,
        tags=tag_set(tags, f"{name}-task"), opts=child_opts(parent))
    return execution_role, task_role


def volume_name(path: str) -> str:
    """The task volume of a writable path (``/tmp`` -> ``scratch-tmp``)."""
    return "scratch" + re.sub(r"[^A-Za-z0-9]+", "-", path).rstrip("-")


def execution_policy(*, repository_arn: pulumi.Input[str], log_group: aws.cloudwatch.LogGroup,
                     secrets: Mapping[str, pulumi.Input[str]], secrets_kms_key_arn: pulumi.Input[str] | None,
                     region: pulumi.Output[str], pull_sid: str) -> pulumi.Output[str]:
    """An execution role's policy: ECR sign-in, pull from ``repository_arn`` only, write ``log_group`` only, read
    exactly the listed secrets (:func:`secret_statements`)."""
    static: list[dict[str, Any]] = [
        # GetAuthorizationToken has no resource-level permissions: "*" is the only valid resource.
        {"Sid": "EcrAuth", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": pull_sid, "Effect": "Allow",
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
         "Resource": repository_arn},
        {"Sid": "WriteOwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [log_group.arn, pulumi.Output.concat(log_group.arn, ":log-stream:*")]},
    ]
    secret_part = secret_statements(secrets, secrets_kms_key_arn, region)
    return pulumi.Output.all(pulumi.Output.from_input(static), secret_part).apply(
        lambda parts: json.dumps({"Version": "2012-10-17", "Statement": [*parts[0], *parts[1]]}))


def container_definitions(*, image: str, user: str, environment: Mapping[str, pulumi.Input[str]],
                          secrets: Mapping[str, pulumi.Input[str]], writable_paths: Sequence[str],
                          log_group: aws.cloudwatch.LogGroup, region: pulumi.Output[str],
                          command: Sequence[str] | None = None, port: int | None = None,
                          health_check: Sequence[str] | None = None) -> pulumi.Output[str]:
    """The one hardened container (``app``) of a task definition: non-root, read-only root filesystem with
    task-local scratch volumes, all capabilities dropped, secrets by reference, logs to ``log_group``."""
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": image,
        "essential": True,
        "user": user,
        "readonlyRootFilesystem": True,
        "privileged": False,
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())],
        "mountPoints": [{"sourceVolume": volume_name(p), "containerPath": p, "readOnly": False}
                        for p in writable_paths],
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        "stopTimeout": 30,
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group.name, "awslogs-region": region, "awslogs-stream-prefix": CONTAINER_NAME}},
    }
    if command:
        container["command"] = list(command)
    if port is not None:
        container["portMappings"] = [{"containerPort": port, "protocol": "tcp", "name": "http"}]
    if health_check:
        container["healthCheck"] = {"command": list(health_check), "interval": 30, "timeout": 5, "retries": 3,
                                    "startPeriod": 30}
    return pulumi.Output.json_dumps([container])


def fargate_service(parent: pulumi.Resource, name: str, *, cluster_arn: pulumi.Input[str],
                    task_definition_arn: pulumi.Input[str], desired_count: int,
                    network_configuration: Mapping[str, Any], tags: Mapping[str, str],
                    image_managed_externally: bool, depends_on: Sequence[pulumi.Resource] = (),
                    **extra: Any) -> aws.ecs.Service:
    """An ECS Fargate service with the house rules: circuit breaker with rollback, 100/200 % deployment bounds,
    managed and propagated tags, no ECS Exec; it ignores ``desiredCount`` (autoscaling owns it) and, when an
    external deployer owns revisions, ``taskDefinition``. ``extra``: load balancers, Service Connect, ..."""
    ignore = ["desiredCount"]
    if image_managed_externally:
        ignore.append("taskDefinition")
    return aws.ecs.Service(
        f"{name}-service", cluster=cluster_arn, task_definition=task_definition_arn, desired_count=desired_count,
        launch_type="FARGATE", platform_version="LATEST", network_configuration=network_configuration,
        deployment_circuit_breaker={"enable": True, "rollback": True},
        deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
        enable_ecs_managed_tags=True, propagate_tags="SERVICE", enable_execute_command=False,
        wait_for_steady_state=False, tags=tag_set(tags, f"{name}-service"),
        opts=child_opts(parent, depends_on=list(depends_on), ignore_changes=ignore), **extra)


def scaling_target(parent: pulumi.Resource, name: str, *, cluster_name: pulumi.Input[str],
                   service: aws.ecs.Service, min_count: int, max_count: int,
                   tags: Mapping[str, str]) -> aws.appautoscaling.Target:
    """The Application Auto Scaling target of an ECS service's desired count."""
    return aws.appautoscaling.Target(
        f"{name}-scaling", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
        resource_id=pulumi.Output.concat("service/", cluster_name, "/", service.name),
        min_capacity=min_count, max_capacity=max_count, tags=tag_set(tags, f"{name}-scaling"),
        opts=child_opts(parent))


def utilisation_policies(parent: pulumi.Resource, name: str, target: aws.appautoscaling.Target, *,
                         cpu_target: float, memory_target: float,
                         requests: tuple[float, pulumi.Input[str]] | None = None,
                         ) -> dict[str, aws.appautoscaling.Policy]:
    """Target tracking on average CPU and memory, and on ALB requests per target when ``requests`` gives the
    target value and the ``<lb arn suffix>/<target group arn suffix>`` label."""
    metrics: list[tuple[str, str, float, pulumi.Input[str] | None]] = [
        ("cpu", "ECSServiceAverageCPUUtilization", cpu_target, None),
        ("memory", "ECSServiceAverageMemoryUtilization", memory_target, None),
    ]
    if requests is not None:
        metrics.append(("requests", "ALBRequestCountPerTarget", requests[0], requests[1]))
    policies: dict[str, aws.appautoscaling.Policy] = {}
    for key, metric, value, label in metrics:
        predefined: dict[str, Any] = {"predefined_metric_type": metric}
        if label is not None:
            predefined["resource_label"] = label
        policies[key] = aws.appautoscaling.Policy(
            f"{name}-{key}", policy_type="TargetTrackingScaling", resource_id=target.resource_id,
            scalable_dimension=target.scalable_dimension, service_namespace=target.service_namespace,
            target_tracking_scaling_policy_configuration={
                "target_value": value, "predefined_metric_specification": predefined,
                "scale_in_cooldown": 300, "scale_out_cooldown": 60},
            opts=child_opts(parent))
    return policies


class TaskSpec(Protocol):
    """What :meth:`TaskComponent._task` reads from a workload's arguments (:class:`TaskArgs` and the standalone
    :class:`~components.aws.service.ServiceArgs` both have it)."""

    network: Network
    image: str
    command: Sequence[str] | None
    family: str | None
    cpu: int
    memory: int
    architecture: Literal["arm64", "x86_64"]
    environment: Mapping[str, pulumi.Input[str]]
    secrets: Mapping[str, pulumi.Input[str]]
    secrets_kms_key_arn: pulumi.Input[str] | None
    kms_key_arn: pulumi.Input[str] | None
    log_retention_days: int
    user: str
    writable_paths: Sequence[str]
    permissions_boundary: pulumi.Input[str] | None
    tags: Mapping[str, str]


@dataclass
class TaskArgs:
    """What every workload takes. Defaults: one small ARM task, no secrets, 7-day logs, non-root, read-only root
    filesystem."""

    cluster: Cluster
    """The shared ECS cluster (and its image repository, which the execution role may pull from)."""
    network: Network
    """Tasks run in its private subnets, or in its public subnets with a public IP when it has no NAT."""
    image: str = "public.ecr.aws/nginx/nginx:stable-alpine"
    """Container image."""
    command: Sequence[str] | None = None
    """Command overriding the image's (None: the image's own)."""
    family: str | None = None
    """Task-definition family; None: the component's name (stacks sharing an account need distinct ones)."""
    cpu: int = 256
    """Task CPU units (a Fargate size: 256, 512, 1024, ...)."""
    memory: int = 512
    """Task memory, MiB (must fit ``cpu`` on Fargate)."""
    architecture: Literal["arm64", "x86_64"] = "arm64"
    """CPU architecture of the task (Graviton is ~20% cheaper)."""
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Plain environment variables; values may be Outputs (no secrets: see ``secrets``)."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment variables injected by ECS: NAME -> Secrets Manager (optionally ``:json-key::``) or SSM ARN.
    Only the execution role may read them."""
    secrets_kms_key_arn: pulumi.Input[str] | None = None
    """Customer-managed key of those secrets; the execution role may decrypt with it via Secrets Manager/SSM."""
    kms_key_arn: pulumi.Input[str] | None = None
    """Key encrypting the log group; None: CloudWatch Logs' own encryption."""
    log_retention_days: int = 7
    """Retention of the container log group, days."""
    user: str = "1000:1000"
    """User (uid:gid) the container runs as: never root."""
    writable_paths: Sequence[str] = ("/tmp",)
    """Task-local scratch volumes mounted read-write; the root filesystem is read-only."""
    permissions_boundary: pulumi.Input[str] | None = None
    """Managed policy ARN set as the permissions boundary of both roles; None: no boundary."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on every resource that takes them."""

    def _check(self, what: str) -> None:
        check_container_inputs(what, self.environment, self.secrets)


class TaskComponent(pulumi.ComponentResource):
    """Base of the cluster's workloads: :meth:`_task` creates the log group, roles, security group and task
    definition; subclasses add the ECS service or the schedule."""

    log_group: aws.cloudwatch.LogGroup
    execution_role: aws.iam.Role
    task_role: aws.iam.Role
    security_group: aws.ec2.SecurityGroup
    task_definition: aws.ecs.TaskDefinition

    def _task(self, name: str, args: TaskSpec, *, port: int | None = None,
              health_check: Sequence[str] | None = None) -> None:
        tags = args.tags
        net = args.network
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=args.log_retention_days, kms_key_id=args.kms_key_arn,
            tags=tag_set(tags, f"{name}-logs"), opts=child_opts(self))

        self.execution_role, self.task_role = ecs_task_roles(
            self, name, permissions_boundary=args.permissions_boundary, tags=tags,
            execution_policy=lambda: self._execution_policy(args, region))

        # 443 out (AWS APIs, the image registry); data stores and internal services add their exact paths.
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-tasks", vpc_id=net.vpc_id, description=f"Tasks of {name}: ingress only from wired peers",
            tags=tag_set(tags, f"{name}-tasks"), opts=child_opts(self))
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-tasks-https", security_group_id=self.security_group.id, ip_protocol="tcp", from_port=443,
            to_port=443, cidr_ipv4="0.0.0.0/0", description="HTTPS to AWS APIs and the internet",
            tags=tag_set(tags, f"{name}-tasks-https"), opts=child_opts(self))

        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task", family=args.family or name, requires_compatibilities=["FARGATE"], network_mode="awsvpc",
            cpu=str(args.cpu), memory=str(args.memory),
            runtime_platform={"operating_system_family": "LINUX",
                              "cpu_architecture": "ARM64" if args.architecture == "arm64" else "X86_64"},
            execution_role_arn=self.execution_role.arn, task_role_arn=self.task_role.arn,
            volumes=[{"name": volume_name(p)} for p in args.writable_paths],
            container_definitions=self._container_definitions(args, region, port, health_check),
            tags=tag_set(tags, f"{name}-task"), opts=child_opts(self))

    def _network_configuration(self, args: TaskSpec) -> dict[str, Any]:
        net = args.network
        return {"subnets": net.app_subnet_ids, "security_groups": [self.security_group.id],
                "assign_public_ip": net.app_subnets_public}

    # -- execution role and container ------------------------------------------------------------------------
    _pull_sid = "PullClusterImages"

    def _repository_arn(self, args: TaskSpec) -> pulumi.Input[str]:
        """The repository the execution role may pull from: the shared cluster's."""
        assert isinstance(args, TaskArgs)
        return args.cluster.repository.arn

    def _execution_policy(self, args: TaskSpec, region: pulumi.Output[str]) -> pulumi.Output[str]:
        """Pull from the workload's repository, write the own log group, read exactly the listed secrets."""
        return execution_policy(repository_arn=self._repository_arn(args), log_group=self.log_group,
                                secrets=args.secrets, secrets_kms_key_arn=args.secrets_kms_key_arn, region=region,
                                pull_sid=self._pull_sid)

    def _container_definitions(self, args: TaskSpec, region: pulumi.Output[str], port: int | None,
                               health_check: Sequence[str] | None) -> pulumi.Output[str]:
        return container_definitions(image=args.image, user=args.user, environment=args.environment,
                                     secrets=args.secrets, writable_paths=args.writable_paths,
                                     log_group=self.log_group, region=region, command=args.command, port=port,
                                     health_check=health_check)
