"""Job: a task definition of the shared cluster run on a schedule (EventBridge Scheduler -> ECS RunTask) or on
demand (``aws ecs run-task``, e.g. migrations), with an EventBridge rule matching its failed runs.

The scheduler's role may run only this task definition's family, in this cluster, pass only this task's two
roles to ECS tasks, and send failed invocations to the job's own dead-letter queue.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .common import aws_context, child_opts, policy_json, service_principal_policy, tag_set
from .queue import tls_only_statement
from .task import TaskArgs, TaskComponent


@dataclass
class JobArgs(TaskArgs):
    """Arguments of :class:`Job` (plus every :class:`~components.aws.task.TaskArgs` field). Defaults: on demand
    (no schedule), UTC, 2 retries within an hour."""

    schedule_expression: str | None = None
    """EventBridge Scheduler expression, ``cron(0 3 * * ? *)`` or ``rate(1 hour)`` (``Schedule.aws_expression()``);
    None: on demand only."""
    schedule_timezone: str = "UTC"
    """IANA time zone the cron expression is read in."""
    schedule_enabled: bool = True
    """``ENABLED`` or ``DISABLED`` (pause the job without deleting it; see docs/runbook.md)."""
    timeout_seconds: int = 3600
    """Longest a run may take; passed to the container as ``JOB_TIMEOUT_SECONDS`` (ECS has no task timeout: the
    command must stop itself, e.g. ``timeout`` in the entrypoint)."""
    retry_attempts: int = 2
    """Scheduler retries of a failed RunTask call (0-185), e.g. when Fargate capacity is short."""
    max_event_age_seconds: int = 3600
    """How long the scheduler keeps retrying one invocation (60-86400), after which it goes to the DLQ."""

    def __post_init__(self) -> None:
        self._check("JobArgs")
        if self.schedule_expression is not None and not self.schedule_expression.startswith(("cron(", "rate(", "at(")):
            raise ValueError("JobArgs.schedule_expression must be cron(...), rate(...) or at(...)")
        if not 0 <= self.retry_attempts <= 185:
            raise ValueError("JobArgs.retry_attempts must be 0-185")
        if not 60 <= self.max_event_age_seconds <= 86_400:
            raise ValueError("JobArgs.max_event_age_seconds must be 60-86400")
        if not 60 <= self.timeout_seconds <= 86_400 * 14:
            raise ValueError("JobArgs.timeout_seconds must be 60 s to 14 days")


class Job(TaskComponent):
    """A one-off ECS task: roles, logs, task definition, failed-run rule, and with a schedule the scheduler role,
    the schedule and its dead-letter queue."""

    schedule: aws.scheduler.Schedule | None
    scheduler_role: aws.iam.Role | None
    scheduler_dlq: aws.sqs.Queue | None
    failed_rule: aws.cloudwatch.EventRule
    family: str

    def __init__(self, name: str, args: JobArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:Job", name, None, opts)
        args = dataclasses.replace(args, environment={**args.environment,
                                                      "JOB_TIMEOUT_SECONDS": str(args.timeout_seconds)})
        self.args = args
        tags = args.tags
        self.family = args.family or name
        self._task(name, args)
        ctx = aws_context(self)

        # Failed runs: the task stopped with a non-zero exit code, or failed to start (no exit code then).
        self.failed_rule = aws.cloudwatch.EventRule(
            f"{name}-failed", description=f"{name}: a run stopped with a non-zero exit code or failed to start",
            event_pattern=args.cluster.arn.apply(lambda arn: json.dumps({
                "source": ["aws.ecs"], "detail-type": ["ECS Task State Change"],
                "detail": {"clusterArn": [arn], "group": [f"family:{self.family}"], "lastStatus": ["STOPPED"],
                           "$or": [{"containers": {"exitCode": [{"anything-but": 0}]}},
                                   {"stopCode": ["TaskFailedToStart"]}]}})),
            tags=tag_set(tags, f"{name}-failed"), opts=child_opts(self))

        self.schedule = self.scheduler_role = self.scheduler_dlq = None
        if args.schedule_expression is not None:
            self.scheduler_dlq = aws.sqs.Queue(
                f"{name}-schedule-dlq", sqs_managed_sse_enabled=True, message_retention_seconds=14 * 86_400,
                tags=tag_set(tags, f"{name}-schedule-dlq"), opts=child_opts(self))
            aws.sqs.QueuePolicy(f"{name}-schedule-dlq", queue_url=self.scheduler_dlq.id,
                                policy=policy_json([tls_only_statement(self.scheduler_dlq.arn)]), opts=child_opts(self))
            self.scheduler_role = aws.iam.Role(
                f"{name}-scheduler", description=f"EventBridge Scheduler: run {self.family} only",
                assume_role_policy=service_principal_policy(
                    "scheduler.amazonaws.com", source_account=ctx.account_id,
                    source_arn=pulumi.Output.concat("arn:", ctx.partition, ":scheduler:", ctx.region, ":",
                                                    ctx.account_id, ":schedule/default/*")),
                permissions_boundary=args.permissions_boundary, tags=tag_set(tags, f"{name}-scheduler"),
                opts=child_opts(self))
            family_arn = pulumi.Output.concat("arn:", ctx.partition, ":ecs:", ctx.region, ":", ctx.account_id,
                                              ":task-definition/", self.family, ":*")
            aws.iam.RolePolicy(f"{name}-scheduler", role=self.scheduler_role.id, policy=policy_json([
                {"Sid": "RunThisTaskDefinition", "Effect": "Allow", "Action": "ecs:RunTask", "Resource": family_arn,
                 "Condition": {"ArnEquals": {"ecs:cluster": args.cluster.arn}}},
                {"Sid": "PassThisTasksRoles", "Effect": "Allow", "Action": "iam:PassRole",
                 "Resource": [self.execution_role.arn, self.task_role.arn],
                 "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
                {"Sid": "DeadLetterFailedInvocations", "Effect": "Allow", "Action": "sqs:SendMessage",
                 "Resource": self.scheduler_dlq.arn},
            ]), opts=child_opts(self))
            net = args.network
            self.schedule = aws.scheduler.Schedule(
                f"{name}-schedule", description=f"Run {self.family}",
                schedule_expression=args.schedule_expression, schedule_expression_timezone=args.schedule_timezone,
                flexible_time_window={"mode": "OFF"}, state="ENABLED" if args.schedule_enabled else "DISABLED",
                target={
                    "arn": args.cluster.arn, "role_arn": self.scheduler_role.arn,
                    "ecs_parameters": {
                        "task_definition_arn": self.task_definition.arn, "launch_type": "FARGATE",
                        "platform_version": "LATEST", "task_count": 1,
                        "network_configuration": {"subnets": net.app_subnet_ids,
                                                  "security_groups": [self.security_group.id],
                                                  "assign_public_ip": net.app_subnets_public}},
                    "retry_policy": {"maximum_retry_attempts": args.retry_attempts,
                                     "maximum_event_age_in_seconds": args.max_event_age_seconds},
                    "dead_letter_config": {"arn": self.scheduler_dlq.arn}},
                opts=child_opts(self))

        self.register_outputs({
            "task_definition_arn": self.task_definition.arn, "family": self.family,
            "security_group_id": self.security_group.id, "task_role_arn": self.task_role.arn,
            "execution_role_arn": self.execution_role.arn, "log_group_name": self.log_group.name,
            "schedule_name": self.schedule.name if self.schedule else None,
            "failed_rule_name": self.failed_rule.name,
        })
