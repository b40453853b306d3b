"""Worker: an ECS service of the shared cluster that consumes queues and scales on its backlog per task.

Target tracking keeps ``visible messages / running tasks`` at ``messages_per_task`` (metric math over the SQS
queues and Container Insights' ``RunningTaskCount``). Target tracking cannot leave zero tasks by itself (with no
task there is no ratio to track), so with ``min_count`` 0 a step-scaling policy adds one task when messages are
visible and no task runs; target tracking takes over from there and scales back to zero when the queues are empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .common import child_opts, tag_set
from .task import TaskArgs, TaskComponent, fargate_service, scaling_target


@dataclass
class WorkerArgs(TaskArgs):
    """Arguments of :class:`Worker` (plus every :class:`~components.aws.task.TaskArgs` field). Defaults: 0-2
    tasks, 100 visible messages per task."""

    queue_names: Sequence[pulumi.Input[str]] = field(default_factory=list)
    """Names of the SQS queues it consumes (their backlog drives scaling; access comes from
    ``Queue.grant_consume``)."""
    min_count: int = 0
    """Fewest tasks (0: none while the queues are empty)."""
    max_count: int = 2
    """Most tasks."""
    messages_per_task: int = 100
    """Target visible messages per running task."""
    desired_count: int | None = None
    """Tasks at creation (autoscaling owns the count afterwards); None: ``min_count``."""
    image_managed_externally: bool = False
    """An external deployer registers task-definition revisions; Pulumi ignores the service's ``taskDefinition``."""
    uses_service_connect: bool = False
    """Join the cluster's Service Connect namespace as a client (set when it calls an internal service)."""
    scale_in_cooldown_seconds: int = 300
    """Seconds between scale-in steps (a drained queue ends at zero after this)."""
    scale_out_cooldown_seconds: int = 60
    """Seconds between scale-out steps."""

    def __post_init__(self) -> None:
        self._check("WorkerArgs")
        if not self.queue_names:
            raise ValueError("WorkerArgs.queue_names: a worker consumes at least one queue")
        if not 0 <= self.min_count <= self.max_count or self.max_count < 1:
            raise ValueError(f"WorkerArgs: need 0 <= min_count ({self.min_count}) <= max_count ({self.max_count}), "
                             "max_count >= 1")
        if self.messages_per_task < 1:
            raise ValueError("WorkerArgs.messages_per_task must be at least 1")


class Worker(TaskComponent):
    """A queue consumer: no ingress at all, scaling on backlog per task, down to zero when ``min_count`` is 0."""

    service: aws.ecs.Service
    scaling_target: aws.appautoscaling.Target
    scaling_policies: dict[str, aws.appautoscaling.Policy]
    wake_alarm: aws.cloudwatch.MetricAlarm | None

    def __init__(self, name: str, args: WorkerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:Worker", name, None, opts)
        self.args = args
        tags = args.tags
        self._task(name, args)
        namespace = args.cluster.namespace
        if args.uses_service_connect and namespace is None:
            raise ValueError(f"Worker {name}: Service Connect needs the cluster's service_connect_namespace")
        self.service = fargate_service(
            self, name, cluster_arn=args.cluster.arn, task_definition_arn=self.task_definition.arn,
            desired_count=args.desired_count if args.desired_count is not None else args.min_count,
            network_configuration=self._network_configuration(args), tags=tags,
            image_managed_externally=args.image_managed_externally,
            service_connect_configuration={"enabled": True, "namespace": namespace.arn}
            if args.uses_service_connect and namespace is not None else None)
        self.scaling_target = scaling_target(self, name, cluster_name=args.cluster.name, service=self.service,
                                             min_count=args.min_count, max_count=args.max_count, tags=tags)
        target = {"resource_id": self.scaling_target.resource_id,
                  "scalable_dimension": self.scaling_target.scalable_dimension,
                  "service_namespace": self.scaling_target.service_namespace}

        visible = [{"id": f"q{i}", "return_data": False, "metric_stat": {"stat": "Sum", "metric": {
            "namespace": "AWS/SQS", "metric_name": "ApproximateNumberOfMessagesVisible",
            "dimensions": [{"name": "QueueName", "value": q}]}}} for i, q in enumerate(args.queue_names)]
        backlog = " + ".join(f"q{i}" for i in range(len(args.queue_names)))
        running = {"id": "tasks", "return_data": False, "metric_stat": {"stat": "Average", "metric": {
            "namespace": "ECS/ContainerInsights", "metric_name": "RunningTaskCount",
            "dimensions": [{"name": "ClusterName", "value": args.cluster.name},
                           {"name": "ServiceName", "value": self.service.name}]}}}
        self.scaling_policies = {"backlog": aws.appautoscaling.Policy(
            f"{name}-backlog", policy_type="TargetTrackingScaling", **target,
            target_tracking_scaling_policy_configuration={
                "target_value": float(args.messages_per_task),
                "customized_metric_specification": {"metrics": [
                    *visible, running,
                    {"id": "perTask", "label": "visible messages per running task", "return_data": True,
                     "expression": f"({backlog}) / IF(FILL(tasks, 0) > 1, FILL(tasks, 0), 1)"}]},
                "scale_in_cooldown": args.scale_in_cooldown_seconds,
                "scale_out_cooldown": args.scale_out_cooldown_seconds},
            opts=child_opts(self))}

        self.wake_alarm = None
        if args.min_count == 0:
            wake = aws.appautoscaling.Policy(
                f"{name}-wake", policy_type="StepScaling", **target,
                step_scaling_policy_configuration={
                    "adjustment_type": "ChangeInCapacity", "cooldown": args.scale_out_cooldown_seconds,
                    "metric_aggregation_type": "Maximum",
                    "step_adjustments": [{"metric_interval_lower_bound": 0, "scaling_adjustment": 1}]},
                opts=child_opts(self))
            self.scaling_policies["wake"] = wake
            # metric math: 1 while messages wait and no task runs (then target tracking takes over)
            self.wake_alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-wake", name=pulumi.Output.concat(self.service.name, "-wake"),
                alarm_description=f"{name}: messages are waiting and no task runs: start one (scale from zero)",
                comparison_operator="GreaterThanOrEqualToThreshold", threshold=1, evaluation_periods=1,
                datapoints_to_alarm=1, treat_missing_data="notBreaching",
                metric_queries=[
                    *[{"id": v["id"], "return_data": False, "metric": {
                        "namespace": "AWS/SQS", "metric_name": "ApproximateNumberOfMessagesVisible",
                        "dimensions": {"QueueName": q}, "period": 60, "stat": "Sum"}}
                      for v, q in zip(visible, args.queue_names, strict=True)],
                    {"id": "tasks", "return_data": False, "metric": {
                        "namespace": "ECS/ContainerInsights", "metric_name": "RunningTaskCount",
                        "dimensions": {"ClusterName": args.cluster.name, "ServiceName": self.service.name},
                        "period": 60, "stat": "Average"}},
                    {"id": "wake", "label": "messages waiting with no task", "return_data": True,
                     "expression": f"IF(({backlog}) > 0 AND FILL(tasks, 0) < 1, 1, 0)"}],
                alarm_actions=[wake.arn], tags=tag_set(tags, f"{name}-wake"), opts=child_opts(self))

        self.register_outputs({
            "service_name": self.service.name, "security_group_id": self.security_group.id,
            "task_role_arn": self.task_role.arn, "execution_role_arn": self.execution_role.arn,
            "log_group_name": self.log_group.name, "task_definition_arn": self.task_definition.arn,
        })
