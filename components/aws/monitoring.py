"""Monitoring: KMS-encrypted alarm topics with email subscriptions, alarms, a dashboard and a monthly budget.

The stack composer says what to watch in the arguments, with plain values (ARN suffixes, names, identifiers),
so it does not depend on the other components' classes; the constructor creates every alarm and the dashboard,
then registers its outputs (nothing is created after)::

    mon = Monitoring("app-prod-mon", MonitoringArgs(
        alert_emails=[...], alarms_to_pager=True, budget_monthly_usd=4000, dashboard=True,
        watch=[LoadBalancerWatch(alb.arn_suffix, {"v1": tg_v1.arn_suffix}),
               ServiceWatch(cluster.name, service.name),
               DatabaseWatch(db.identifier),
               CacheWatch(cache.replication_group_id, node_count=3)]))
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import pulumi
import pulumi_aws as aws

from .common import KeyLike, aws_context, child_opts, data_key, key_arn, policy_json, tag_set

_GIB = 1024**3


@dataclass
class AlarmThresholds:
    """When each alarm fires. Every alarm fires on ``datapoints_to_alarm`` of ``evaluation_periods`` periods."""

    alb_5xx_percent: float = 5.0
    """Target 5xx responses as a percentage of requests."""
    alb_min_requests: int = 20
    """Requests per period below which the 5xx rate counts as 0 (no paging on three requests and one error)."""
    p95_latency_seconds: float = 1.0
    """p95 of ``TargetResponseTime``, seconds."""
    unhealthy_hosts: int = 1
    """Unhealthy targets in any target group (maximum over the period)."""
    ecs_cpu_percent: float = 85.0
    """Average CPU utilisation of the service's tasks."""
    ecs_memory_percent: float = 85.0
    """Average memory utilisation of the service's tasks."""
    rds_cpu_percent: float = 80.0
    """Database CPU utilisation."""
    rds_free_storage_gb: float = 5.0
    """Free storage below this many GiB (RDS only; Aurora storage grows by itself)."""
    rds_connections: int = 100
    """Database connections (size it to the instance class's ``max_connections``)."""
    cache_cpu_percent: float = 80.0
    """``EngineCPUUtilization`` of the busiest node."""
    cache_memory_percent: float = 80.0
    """``DatabaseMemoryUsagePercentage`` of the fullest node."""
    cache_evictions: int = 100
    """Evictions per period over all nodes."""
    queue_oldest_message_seconds: int = 900
    """Age of the oldest message of a worker's queue, seconds (the worker is stuck or too slow)."""
    dead_letter_messages: int = 1
    """Messages in a dead-letter queue (any message there failed ``max_receives`` times)."""
    job_failed_runs: int = 1
    """Failed runs of a job per period (non-zero exit code, or a run the scheduler could not start)."""


@dataclass(frozen=True)
class LoadBalancerWatch:
    """Watch an Application Load Balancer: 5xx rate, target p95 latency, unhealthy hosts per target group."""

    arn_suffix: pulumi.Input[str]
    """The load balancer's ``arn_suffix``."""
    target_groups: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """A short key (e.g. ``v1``) -> a target group's ``arn_suffix``."""
    label: str = "alb"
    """Prefix of the alarm keys (another label watches a second load balancer)."""


@dataclass(frozen=True)
class ServiceWatch:
    """Watch an ECS service: average CPU and memory utilisation."""

    cluster_name: pulumi.Input[str]
    """The ECS cluster's name."""
    service_name: pulumi.Input[str]
    """The ECS service's name."""
    label: str = "service"
    """Prefix of the alarm keys."""


@dataclass(frozen=True)
class DatabaseWatch:
    """Watch an RDS instance or Aurora cluster: CPU, connections, free storage (RDS only)."""

    identifier: pulumi.Input[str]
    """The DB instance identifier, or with ``aurora`` the cluster identifier (``Database.identifier``)."""
    aurora: bool = False
    """Cluster metrics (``DBClusterIdentifier``) and no free-storage alarm (``AuroraDatabase.aurora``)."""
    label: str = "db"
    """Prefix of the alarm keys."""


@dataclass(frozen=True)
class CacheWatch:
    """Watch a replication group: the busiest node's engine CPU and memory, evictions over all nodes."""

    replication_group_id: pulumi.Input[str]
    """``Cache.replication_group_id``; node metrics are per member cluster ``<id>-001``..."""
    node_count: int = 1
    """``Cache.num_nodes`` (1-6)."""
    label: str = "cache"
    """Prefix of the alarm keys."""


@dataclass(frozen=True)
class ServerlessCacheWatch:
    """Watch an ElastiCache Serverless cache: data stored near its cap, throttled commands, evictions."""

    cache_name: pulumi.Input[str]
    """``ServerlessCache.cache_name`` (the ``clusterId`` dimension)."""
    max_data_storage_gb: float
    """The cache's data cap, GB (the data-stored alarm fires at ``cache_memory_percent`` of it)."""
    label: str = "cache"
    """Prefix of the alarm keys."""


@dataclass(frozen=True)
class WebServiceWatch:
    """Watch one web service: 5xx rate and p95 latency of its target group, unhealthy targets (public
    services), and its tasks' CPU and memory."""

    label: str
    """Prefix of the alarm keys: the service's name (``api`` -> ``api-5xx-rate``, ``api-cpu``...)."""
    cluster_name: pulumi.Input[str]
    """The ECS cluster's name."""
    service_name: pulumi.Input[str]
    """The ECS service's name."""
    load_balancer_arn_suffix: pulumi.Input[str] | None = None
    """The shared load balancer's ``arn_suffix``; None for an internal service (CPU and memory only)."""
    target_group_arn_suffix: pulumi.Input[str] | None = None
    """The service's primary target group's ``arn_suffix``."""


@dataclass(frozen=True)
class WorkerWatch:
    """Watch one worker: age of the oldest message of each queue it consumes, their dead-letter queues' depth,
    and its tasks' CPU and memory."""

    label: str
    """Prefix of the alarm keys: the worker's name."""
    cluster_name: pulumi.Input[str]
    """The ECS cluster's name."""
    service_name: pulumi.Input[str]
    """The ECS service's name."""
    queues: Mapping[str, tuple[pulumi.Input[str], pulumi.Input[str]]] = field(default_factory=dict)
    """Queue key -> (queue name, dead-letter queue name)."""
    utilization: bool = True
    """Also alarm on CPU and memory. The stack turns it off for a worker that scales to zero (dev): it has no
    steady utilisation, and its backlog age and dead letters already say when it is too slow or failing."""


@dataclass(frozen=True)
class JobWatch:
    """Watch one job: failed runs (its EventBridge failed-run rule's matches) and, when scheduled, invocations
    the scheduler could not deliver (its dead-letter queue's depth)."""

    label: str
    """Prefix of the alarm keys: the job's name."""
    failed_rule_name: pulumi.Input[str]
    """``Job.failed_rule.name``."""
    scheduler_dlq_name: pulumi.Input[str] | None = None
    """``Job.scheduler_dlq.name`` (scheduled jobs): charted next to the failed runs."""
    alarm: bool = True
    """Alarm on failed runs. The stack turns it off for on-demand jobs: whoever runs one (the deploy workflow,
    an operator following docs/runbook.md) waits for it and sees its exit code."""


Watch: TypeAlias = (LoadBalancerWatch | ServiceWatch | DatabaseWatch | CacheWatch | ServerlessCacheWatch
                    | WebServiceWatch | WorkerWatch | JobWatch)
"""What :class:`MonitoringArgs` ``watch`` takes."""


@dataclass
class MonitoringArgs:
    """Arguments of :class:`Monitoring`."""

    alert_emails: Sequence[str] = ()
    """Emails subscribed to the alert topic (alarms, unless ``alarms_to_pager``, and budget notifications)."""
    pager_emails: Sequence[str] = ()
    """Pager integration emails, subscribed to the pager topic (only with ``alarms_to_pager``)."""
    alarms_to_pager: bool = False
    """Create the pager topic and send alarms (alarm and OK) to it instead of the alert topic (prod)."""
    budget_monthly_usd: float | None = None
    """Monthly cost budget in USD (``budget.monthlyUsd``); ``None`` = no budget."""
    budget_warn_fraction: float = 0.8
    """Also notify when actual cost passes this fraction of the budget."""
    watch: Sequence[Watch] = ()
    """What to alarm on (and chart): ``LoadBalancerWatch``, ``ServiceWatch``, ``DatabaseWatch``, ``CacheWatch``,
    ``ServerlessCacheWatch``; a second resource of a kind needs another ``label``."""
    dashboard: bool = False
    """A CloudWatch dashboard of everything watched (``monitoring.dashboard``); off by default, as a dashboard
    beyond the account's first three costs 3 USD a month."""
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)
    """Alarm thresholds."""
    period_seconds: int = 60
    """Period of load-balancer and service alarms (database and cache alarms use 300 s, their metric rate)."""
    evaluation_periods: int = 5
    """Periods each alarm looks at."""
    datapoints_to_alarm: int = 3
    """Breaching periods among those that fire the alarm."""
    name_prefix: str | None = None
    """Prefix of physical names (topics, alarms, dashboard, budget); defaults to the component name."""
    kms_key: KeyLike | None = None
    """Topic key: an ``EncryptionKey`` allowing ``cloudwatch`` and ``budgets``, or an ARN; ``None`` creates one."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for every taggable child."""
    protect: bool = False
    """Pulumi ``protect`` on the key this component creates (prod)."""


class Monitoring(pulumi.ComponentResource):
    """Alarm topics, alarms on what ``watch`` names (load balancer, service, database, cache), a dashboard of
    the same metrics (``dashboard``) and a budget. Everything is created in the constructor."""

    topic: aws.sns.Topic
    pager_topic: aws.sns.Topic | None
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    dashboard: aws.cloudwatch.Dashboard | None
    dashboard_url: pulumi.Output[str] | None
    budget: aws.budgets.Budget | None

    def __init__(self, name: str, args: MonitoringArgs | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:aws:Monitoring", name, None, opts)
        args = args or MonitoringArgs()
        self.args = args
        self._cname = name
        self.prefix = args.name_prefix or name
        self._validate(name, args)
        self._ctx = aws_context(self)
        self.alarms = {}
        self._widgets: list[dict[str, Any]] = []
        self.dashboard = None
        self.dashboard_url = None
        tags = args.tags

        key = data_key(self, name, args.kms_key, description=f"{name}: alarm topics",
                       via_services=("sns",), needs=("cloudwatch", "budgets"), tags=tags, protect=args.protect)
        self.kms_key = key
        self.kms_key_arn = key_arn(key)

        self.topic, alert_policy = self._topic("alerts", args.alert_emails)
        self.pager_topic = None
        policies = [alert_policy]
        if args.alarms_to_pager:
            self.pager_topic, pager_policy = self._topic("pager", args.pager_emails)
            policies.append(pager_policy)
        elif args.pager_emails:
            pulumi.log.warn(f"{name}: pager_emails are ignored without alarms_to_pager", resource=self)
        self._alarm_topic = self.pager_topic or self.topic
        self._alarm_deps = policies

        self.budget = None
        if args.budget_monthly_usd:
            def note(kind: str, percent: float) -> dict[str, Any]:
                return {"comparison_operator": "GREATER_THAN", "notification_type": kind, "threshold": percent,
                        "threshold_type": "PERCENTAGE", "subscriber_sns_topic_arns": [self.topic.arn]}

            self.budget = aws.budgets.Budget(
                f"{name}-budget", name=f"{self.prefix}-monthly", budget_type="COST", time_unit="MONTHLY",
                limit_amount=f"{args.budget_monthly_usd:.2f}", limit_unit="USD",
                notifications=[note("ACTUAL", round(args.budget_warn_fraction * 100, 2)), note("ACTUAL", 100.0),
                               note("FORECASTED", 100.0)],
                tags=tag_set(tags, f"{self.prefix}-monthly"),
                opts=child_opts(self, depends_on=[alert_policy]))

        for target in args.watch:
            self._watch(target)
        if args.dashboard:
            self._dashboard()
        self.register_outputs({
            "topic_arn": self.topic.arn, "pager_topic_arn": self.pager_topic.arn if self.pager_topic else None,
            "budget": self.budget.name if self.budget else None,
            "dashboard_url": self.dashboard_url,
        })

    @staticmethod
    def _validate(name: str, args: MonitoringArgs) -> None:
        for e in [*args.alert_emails, *args.pager_emails]:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", e):
                raise ValueError(f"{name}: {e!r} is not an email address")
        if args.budget_monthly_usd is not None and args.budget_monthly_usd <= 0:
            raise ValueError(f"{name}: budget_monthly_usd must be positive")
        if not 0 < args.budget_warn_fraction <= 1:
            raise ValueError(f"{name}: budget_warn_fraction must be in (0, 1]")
        if args.period_seconds not in (10, 30) and args.period_seconds % 60:
            raise ValueError(f"{name}: period_seconds must be 10, 30 or a multiple of 60")
        if not 1 <= args.datapoints_to_alarm <= args.evaluation_periods:
            raise ValueError(f"{name}: datapoints_to_alarm must be 1..evaluation_periods")

    def _topic(self, kind: str, emails: Sequence[str]) -> tuple[aws.sns.Topic, aws.sns.TopicPolicy]:
        name, ctx = self._cname, self._ctx
        topic = aws.sns.Topic(
            f"{name}-{kind}", name=f"{self.prefix}-{kind}", kms_master_key_id=self.kms_key_arn,
            tags=tag_set(self.args.tags, f"{self.prefix}-{kind}"), opts=child_opts(self))
        root = pulumi.Output.concat("arn:", ctx.partition, ":iam::", ctx.account_id, ":root")
        policy = aws.sns.TopicPolicy(f"{name}-{kind}", arn=topic.arn, policy=policy_json([
            {"Sid": "AccountManagesTopic", "Effect": "Allow", "Principal": {"AWS": root},
             "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission",
                        "sns:RemovePermission", "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic",
                        "sns:Publish"],
             "Resource": topic.arn,
             # Only this account's principals (the condition Checkov CKV_AWS_385 looks for): no cross-account use.
             "Condition": {"StringEquals": {"aws:PrincipalAccount": ctx.account_id}}},
            {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
             "Action": "sns:Publish", "Resource": topic.arn,
             "Condition": {
                 "StringEquals": {"aws:SourceAccount": ctx.account_id},
                 "ArnLike": {"aws:SourceArn": pulumi.Output.concat(
                     "arn:", ctx.partition, ":cloudwatch:", ctx.region, ":", ctx.account_id, ":alarm:*")}}},
            {"Sid": "BudgetsPublish", "Effect": "Allow", "Principal": {"Service": "budgets.amazonaws.com"},
             "Action": "sns:Publish", "Resource": topic.arn,
             "Condition": {
                 "StringEquals": {"aws:SourceAccount": ctx.account_id},
                 "ArnLike": {"aws:SourceArn": pulumi.Output.concat(
                     "arn:", ctx.partition, ":budgets::", ctx.account_id, ":*")}}},
        ]), opts=child_opts(self))
        for email in emails:
            slug = re.sub(r"[^a-z0-9]+", "-", email.lower()).strip("-")
            aws.sns.TopicSubscription(f"{name}-{kind}-{slug}", topic=topic.arn, protocol="email", endpoint=email,
                                      opts=child_opts(self))
        return topic, policy

    # -- alarms -----------------------------------------------------------------------------------------
    def _alarm(self, key: str, description: str, *, threshold: float, comparison: str, period: int,
               missing: str = "notBreaching", **metric: Any) -> aws.cloudwatch.MetricAlarm:
        if key in self.alarms:
            raise ValueError(f"{self._cname}: alarm {key!r} already exists (use another label)")
        a = self.args
        if "metric_queries" not in metric:
            metric["period"] = period
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._cname}-{key}", name=f"{self.prefix}-{key}", alarm_description=description,
            comparison_operator=comparison, threshold=threshold, evaluation_periods=a.evaluation_periods,
            datapoints_to_alarm=a.datapoints_to_alarm, treat_missing_data=missing,
            alarm_actions=[self._alarm_topic.arn], ok_actions=[self._alarm_topic.arn],
            tags=tag_set(a.tags, f"{self.prefix}-{key}"), opts=child_opts(self, depends_on=self._alarm_deps),
            **metric)
        self.alarms[key] = alarm
        return alarm

    def _widget(self, title: str, metrics: list[Any], *, stat: str, period: int,
                threshold: float | None = None, label: str | None = None) -> None:
        props: dict[str, Any] = {"title": title, "view": "timeSeries", "region": self._ctx.region,
                                 "metrics": metrics, "stat": stat, "period": period}
        if threshold is not None:
            props["annotations"] = {"horizontal": [{"label": label or "alarm", "value": threshold}]}
        self._widgets.append(props)

    def _watch(self, target: Watch) -> None:
        if isinstance(target, LoadBalancerWatch):
            self._watch_load_balancer(target.arn_suffix, target.target_groups, label=target.label)
        elif isinstance(target, ServiceWatch):
            self._watch_service(target.cluster_name, target.service_name, label=target.label)
        elif isinstance(target, DatabaseWatch):
            self._watch_database(target.identifier, aurora=target.aurora, label=target.label)
        elif isinstance(target, CacheWatch):
            self._watch_cache(target.replication_group_id, target.node_count, label=target.label)
        elif isinstance(target, ServerlessCacheWatch):
            self._watch_serverless_cache(target.cache_name, target.max_data_storage_gb, label=target.label)
        elif isinstance(target, WebServiceWatch):
            self._watch_web_service(target)
        elif isinstance(target, WorkerWatch):
            self._watch_worker(target)
        elif isinstance(target, JobWatch):
            self._watch_job(target)
        else:
            raise TypeError(f"{self._cname}: watch takes LoadBalancerWatch, ServiceWatch, DatabaseWatch, "
                            f"CacheWatch, ServerlessCacheWatch, WebServiceWatch, WorkerWatch or JobWatch, "
                            f"got {target!r}")

    def _watch_load_balancer(self, lb_arn_suffix: pulumi.Input[str],
                             target_groups: Mapping[str, pulumi.Input[str]], *, label: str) -> None:
        """Alarm on the 5xx rate (target 5xx / requests), target p95 latency and unhealthy hosts per target group."""
        t, period = self.args.thresholds, self.args.period_seconds
        ns, lb = "AWS/ApplicationELB", {"LoadBalancer": lb_arn_suffix}
        expr = f"IF(m2 >= {t.alb_min_requests}, 100 * FILL(m1, 0) / m2, 0)"

        def q(qid: str, metric_name: str) -> dict[str, Any]:
            return {"id": qid, "return_data": False, "metric": {
                "namespace": ns, "metric_name": metric_name, "dimensions": lb, "period": period, "stat": "Sum"}}

        self._alarm(f"{label}-5xx-rate", f"Target 5xx responses above {t.alb_5xx_percent}% of requests",
                        threshold=t.alb_5xx_percent, comparison="GreaterThanThreshold", period=period,
                        metric_queries=[q("m1", "HTTPCode_Target_5XX_Count"), q("m2", "RequestCount"),
                                        {"id": "e1", "expression": expr, "label": "5xx rate (%)",
                                         "return_data": True}])
        self._alarm(f"{label}-p95-latency", f"Target p95 response time above {t.p95_latency_seconds}s",
                    threshold=t.p95_latency_seconds, comparison="GreaterThanThreshold", period=period,
                    namespace=ns, metric_name="TargetResponseTime", dimensions=lb, extended_statistic="p95")
        for key, tg in target_groups.items():
            self._alarm(
                f"{label}-{key}-unhealthy", f"Unhealthy targets in target group {key}",
                threshold=t.unhealthy_hosts, comparison="GreaterThanOrEqualToThreshold", period=period,
                namespace=ns, metric_name="UnHealthyHostCount", dimensions={"TargetGroup": tg, **lb},
                statistic="Maximum")
        self._widget("Load balancer: 5xx rate (%)", [
            [{"expression": expr, "label": "5xx rate (%)", "id": "e1"}],
            [ns, "HTTPCode_Target_5XX_Count", "LoadBalancer", lb_arn_suffix, {"id": "m1", "visible": False}],
            [ns, "RequestCount", "LoadBalancer", lb_arn_suffix, {"id": "m2", "visible": False}],
        ], stat="Sum", period=period, threshold=t.alb_5xx_percent)
        self._widget("Load balancer: target p95 latency (s)",
                     [[ns, "TargetResponseTime", "LoadBalancer", lb_arn_suffix]],
                     stat="p95", period=period, threshold=t.p95_latency_seconds)
        if target_groups:
            self._widget("Load balancer: unhealthy hosts", [
                [ns, "UnHealthyHostCount", "TargetGroup", tg, "LoadBalancer", lb_arn_suffix, {"label": key}]
                for key, tg in target_groups.items()
            ], stat="Maximum", period=period, threshold=t.unhealthy_hosts)

    def _watch_service(self, cluster_name: pulumi.Input[str], service_name: pulumi.Input[str], *,
                       label: str = "service") -> list[aws.cloudwatch.MetricAlarm]:
        """Alarm on the ECS service's average CPU and memory utilisation."""
        t, period = self.args.thresholds, self.args.period_seconds
        dims = {"ClusterName": cluster_name, "ServiceName": service_name}
        out = [
            self._alarm(f"{label}-{m.lower()}", f"Service {m} above {limit}%", threshold=limit,
                        comparison="GreaterThanThreshold", period=period, namespace="AWS/ECS",
                        metric_name=f"{m}Utilization", dimensions=dims, statistic="Average", missing="missing")
            for m, limit in (("CPU", t.ecs_cpu_percent), ("Memory", t.ecs_memory_percent))
        ]
        self._widget("Service: CPU and memory (%)", [
            ["AWS/ECS", f"{m}Utilization", "ClusterName", cluster_name, "ServiceName", service_name]
            for m in ("CPU", "Memory")
        ], stat="Average", period=period, threshold=max(t.ecs_cpu_percent, t.ecs_memory_percent))
        return out

    def _watch_web_service(self, w: WebServiceWatch) -> None:
        """Per web service: 5xx rate, p95 latency and unhealthy targets of its target group; CPU and memory."""
        t, period = self.args.thresholds, self.args.period_seconds
        ns = "AWS/ApplicationELB"
        if w.load_balancer_arn_suffix is not None and w.target_group_arn_suffix is not None:
            dims = {"LoadBalancer": w.load_balancer_arn_suffix, "TargetGroup": w.target_group_arn_suffix}
            expr = f"IF(m2 >= {t.alb_min_requests}, 100 * FILL(m1, 0) / m2, 0)"

            def q(qid: str, metric_name: str) -> dict[str, Any]:
                return {"id": qid, "return_data": False, "metric": {
                    "namespace": ns, "metric_name": metric_name, "dimensions": dims, "period": period, "stat": "Sum"}}

            self._alarm(f"{w.label}-5xx-rate", f"{w.label}: target 5xx responses above {t.alb_5xx_percent}% of "
                        "requests", threshold=t.alb_5xx_percent, comparison="GreaterThanThreshold", period=period,
                        metric_queries=[q("m1", "HTTPCode_Target_5XX_Count"), q("m2", "RequestCount"),
                                        {"id": "e1", "expression": expr, "label": "5xx rate (%)",
                                         "return_data": True}])
            self._alarm(f"{w.label}-p95-latency", f"{w.label}: p95 response time above {t.p95_latency_seconds}s",
                        threshold=t.p95_latency_seconds, comparison="GreaterThanThreshold", period=period,
                        namespace=ns, metric_name="TargetResponseTime", dimensions=dims, extended_statistic="p95")
            self._alarm(f"{w.label}-unhealthy", f"{w.label}: unhealthy targets", threshold=t.unhealthy_hosts,
                        comparison="GreaterThanOrEqualToThreshold", period=period, namespace=ns,
                        metric_name="UnHealthyHostCount", dimensions=dims, statistic="Maximum")
            self._widget(f"{w.label}: requests, 5xx and p95 latency", [
                [ns, "RequestCount", "TargetGroup", w.target_group_arn_suffix, "LoadBalancer",
                 w.load_balancer_arn_suffix, {"stat": "Sum"}],
                [ns, "HTTPCode_Target_5XX_Count", "TargetGroup", w.target_group_arn_suffix, "LoadBalancer",
                 w.load_balancer_arn_suffix, {"stat": "Sum"}],
                [ns, "TargetResponseTime", "TargetGroup", w.target_group_arn_suffix, "LoadBalancer",
                 w.load_balancer_arn_suffix, {"stat": "p95", "yAxis": "right"}],
            ], stat="Sum", period=period)
        self._watch_service(w.cluster_name, w.service_name, label=w.label)

    def _watch_worker(self, w: WorkerWatch) -> None:
        """Per worker: oldest message age and dead-letter depth of each queue it consumes; CPU and memory."""
        t, period = self.args.thresholds, self.args.period_seconds
        for key, (queue, dlq) in w.queues.items():
            self._alarm(f"{w.label}-{key}-oldest-message", f"{w.label}: a message of {key} waited over "
                        f"{t.queue_oldest_message_seconds}s", threshold=t.queue_oldest_message_seconds,
                        comparison="GreaterThanThreshold", period=period, namespace="AWS/SQS",
                        metric_name="ApproximateAgeOfOldestMessage", dimensions={"QueueName": queue},
                        statistic="Maximum")
            self._alarm(f"{w.label}-{key}-dead-letters", f"{w.label}: messages of {key} in its dead-letter queue "
                        "(see docs/runbook.md, drain a dead-letter queue)", threshold=t.dead_letter_messages,
                        comparison="GreaterThanOrEqualToThreshold", period=period, namespace="AWS/SQS",
                        metric_name="ApproximateNumberOfMessagesVisible", dimensions={"QueueName": dlq},
                        statistic="Maximum")
            self._widget(f"{w.label}: {key} backlog and dead letters", [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue, {"label": "visible"}],
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq, {"label": "dead letters"}],
                ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue, {"yAxis": "right"}],
            ], stat="Maximum", period=period)
        if w.utilization:
            self._watch_service(w.cluster_name, w.service_name, label=w.label)

    def _watch_job(self, w: JobWatch) -> None:
        """Per job: failed runs (the failed-run rule's matches); the scheduler's undelivered invocations are
        charted."""
        t, period = self.args.thresholds, self.args.period_seconds
        if w.alarm:
            self._alarm(f"{w.label}-failed-runs", f"{w.label}: a run stopped with a non-zero exit code or failed to "
                        "start", threshold=t.job_failed_runs, comparison="GreaterThanOrEqualToThreshold",
                        period=period, namespace="AWS/Events", metric_name="MatchedEvents",
                        dimensions={"RuleName": w.failed_rule_name}, statistic="Sum")
        metrics: list[Any] = [["AWS/Events", "MatchedEvents", "RuleName", w.failed_rule_name, {"label": "failed runs"}]]
        if w.scheduler_dlq_name is not None:
            metrics.append(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", w.scheduler_dlq_name,
                            {"label": "undelivered invocations"}])
        self._widget(f"{w.label}: failed runs", metrics, stat="Sum", period=period)

    def _watch_database(self, identifier: pulumi.Input[str], *, aurora: bool = False,
                        label: str = "db") -> list[aws.cloudwatch.MetricAlarm]:
        """Alarm on RDS CPU, free storage (RDS only) and connections.

        ``identifier`` is the DB instance identifier, or with ``aurora`` the cluster identifier.
        """
        t, period = self.args.thresholds, 300
        dim = "DBClusterIdentifier" if aurora else "DBInstanceIdentifier"
        dims = {dim: identifier}
        common = {"namespace": "AWS/RDS", "dimensions": dims, "period": period, "missing": "missing"}
        out = [
            self._alarm(f"{label}-cpu", f"Database CPU above {t.rds_cpu_percent}%", threshold=t.rds_cpu_percent,
                        comparison="GreaterThanThreshold", metric_name="CPUUtilization", statistic="Average",
                        **common),
            self._alarm(f"{label}-connections", f"Database connections above {t.rds_connections}",
                        threshold=t.rds_connections, comparison="GreaterThanThreshold",
                        metric_name="DatabaseConnections", statistic="Maximum", **common),
        ]
        if not aurora:
            out.append(self._alarm(
                f"{label}-free-storage", f"Database free storage below {t.rds_free_storage_gb} GiB",
                threshold=t.rds_free_storage_gb * _GIB, comparison="LessThanThreshold",
                metric_name="FreeStorageSpace", statistic="Minimum", **common))
        self._widget("Database: CPU (%)", [["AWS/RDS", "CPUUtilization", dim, identifier]], stat="Average",
                     period=period, threshold=t.rds_cpu_percent)
        self._widget("Database: connections", [["AWS/RDS", "DatabaseConnections", dim, identifier]],
                     stat="Maximum", period=period, threshold=t.rds_connections)
        if not aurora:
            self._widget("Database: free storage (bytes)", [["AWS/RDS", "FreeStorageSpace", dim, identifier]],
                         stat="Minimum", period=period, threshold=t.rds_free_storage_gb * _GIB)
        return out

    def _watch_cache(self, replication_group_id: pulumi.Input[str], node_count: int = 1, *,
                     label: str = "cache") -> list[aws.cloudwatch.MetricAlarm]:
        """Alarm on the busiest node's engine CPU and memory use and on evictions over all nodes.

        Node metrics are per member cluster (``<replication group id>-001``...), combined with metric math.
        """
        if not 1 <= node_count <= 6:
            raise ValueError(f"{self._cname}: node_count must be 1-6")
        t, period = self.args.thresholds, 300
        nodes = [pulumi.Output.concat(replication_group_id, f"-{i:03d}") for i in range(1, node_count + 1)]
        ids = [f"m{i}" for i in range(1, node_count + 1)]

        def queries(metric_name: str, stat: str, combine: str, what: str) -> list[dict[str, Any]]:
            qs: list[dict[str, Any]] = [{"id": qid, "return_data": False, "metric": {
                "namespace": "AWS/ElastiCache", "metric_name": metric_name, "dimensions": {"CacheClusterId": node},
                "period": period, "stat": stat}} for qid, node in zip(ids, nodes, strict=True)]
            qs.append({"id": "e1", "expression": f"{combine}([{', '.join(ids)}])", "label": what,
                       "return_data": True})
            return qs

        out = [
            self._alarm(f"{label}-cpu", f"Cache engine CPU above {t.cache_cpu_percent}% on a node",
                        threshold=t.cache_cpu_percent, comparison="GreaterThanThreshold", period=period,
                        metric_queries=queries("EngineCPUUtilization", "Average", "MAX", "busiest node CPU (%)")),
            self._alarm(f"{label}-memory", f"Cache memory use above {t.cache_memory_percent}% on a node",
                        threshold=t.cache_memory_percent, comparison="GreaterThanThreshold", period=period,
                        metric_queries=queries("DatabaseMemoryUsagePercentage", "Maximum", "MAX",
                                               "fullest node memory (%)")),
            self._alarm(f"{label}-evictions", f"Cache evictions above {t.cache_evictions} per {period}s",
                        threshold=t.cache_evictions, comparison="GreaterThanThreshold", period=period,
                        metric_queries=queries("Evictions", "Sum", "SUM", "evictions")),
        ]
        for title, metric_name, stat, limit in (
                ("Cache: engine CPU (%)", "EngineCPUUtilization", "Average", t.cache_cpu_percent),
                ("Cache: memory use (%)", "DatabaseMemoryUsagePercentage", "Maximum", t.cache_memory_percent),
                ("Cache: evictions", "Evictions", "Sum", t.cache_evictions)):
            self._widget(title, [["AWS/ElastiCache", metric_name, "CacheClusterId", node] for node in nodes],
                         stat=stat, period=period, threshold=limit)
        return out

    def _watch_serverless_cache(self, cache_name: pulumi.Input[str], max_data_storage_gb: float, *,
                                label: str = "cache") -> list[aws.cloudwatch.MetricAlarm]:
        """Alarm on an ElastiCache Serverless cache: data stored near its cap, throttled commands (the ECPU cap
        was hit), and evictions. Serverless metrics carry the ``clusterId`` dimension."""
        if max_data_storage_gb <= 0:
            raise ValueError(f"{self._cname}: max_data_storage_gb must be positive")
        t, period = self.args.thresholds, 300
        dims = {"clusterId": cache_name}
        limit_bytes = max_data_storage_gb * 1e9 * t.cache_memory_percent / 100

        def metric(name: str, stat: str) -> dict[str, Any]:
            return {"namespace": "AWS/ElastiCache", "metric_name": name, "dimensions": dims, "statistic": stat}

        out = [
            self._alarm(f"{label}-data-stored",
                        f"Cache data stored above {t.cache_memory_percent}% of its {max_data_storage_gb:g} GB cap",
                        threshold=limit_bytes, comparison="GreaterThanThreshold", period=period,
                        **metric("BytesUsedForCache", "Maximum")),
            self._alarm(f"{label}-throttled", "Cache commands throttled: the processing-unit (ECPU) cap was hit",
                        threshold=0, comparison="GreaterThanThreshold", period=period,
                        **metric("ThrottledCmds", "Sum")),
            self._alarm(f"{label}-evictions", f"Cache evictions above {t.cache_evictions} per {period}s",
                        threshold=t.cache_evictions, comparison="GreaterThanThreshold", period=period,
                        **metric("Evictions", "Sum")),
        ]
        for title, name, stat, limit in (
                ("Cache: data stored (bytes)", "BytesUsedForCache", "Maximum", limit_bytes),
                ("Cache: processing units (ECPU)", "ElastiCacheProcessingUnits", "Sum", None),
                ("Cache: throttled commands", "ThrottledCmds", "Sum", 0)):
            self._widget(title, [["AWS/ElastiCache", name, "clusterId", cache_name]], stat=stat, period=period,
                         threshold=limit)
        return out

    # -- dashboard --------------------------------------------------------------------------------------
    def _dashboard(self) -> None:
        """The dashboard of everything watched (none if nothing is watched)."""
        if not self._widgets:
            return
        widgets = [{"type": "metric", "x": (i % 2) * 12, "y": (i // 2) * 6, "width": 12, "height": 6,
                    "properties": props} for i, props in enumerate(self._widgets)]
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{self._cname}-dashboard", dashboard_name=self.prefix,
            dashboard_body=pulumi.Output.json_dumps({"widgets": widgets}), opts=child_opts(self))
        region = self._ctx.region
        self.dashboard_url = pulumi.Output.concat(
            "https://", region, ".console.aws.amazon.com/cloudwatch/home?region=", region,
            "#dashboards/dashboard/", self.dashboard.dashboard_name)
