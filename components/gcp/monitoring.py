"""Monitoring: email (and pager) notification channels, alert policies, a dashboard, log retention and a
billing budget.

The stack composer says what to watch in the arguments, with plain values (names and ids), so it does not
depend on the other components' classes; the constructor creates every alert policy and the dashboard, then
registers its outputs (nothing is created after)::

    mon = Monitoring("app-mon", MonitoringArgs(
        alert_emails=[...], budget_monthly_usd=100, billing_account=..., dashboard=True,
        watch=[LoadBalancerWatch(lb.url_map.name), ServiceWatch(svc.name), DatabaseWatch(db.database_id),
               CacheWatch(cache.instance_id)]))
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import pulumi
import pulumi_gcp as gcp

from components.gcp.common import child_opts, gcp_labels, invoke_opts, label_value, remember_deps


@dataclass
class AlertThresholds:
    """When each alert policy fires (each condition must hold for ``duration_seconds``)."""

    lb_5xx_ratio: float = 0.05
    """5xx responses as a fraction of all load-balancer responses."""
    p95_latency_ms: float = 1000.0
    """p95 of the load balancer's total latency, ms."""
    run_cpu_utilization: float = 0.85
    """p95 CPU utilisation of the Cloud Run instances (0-1)."""
    run_memory_utilization: float = 0.85
    """p95 memory utilisation of the Cloud Run instances (0-1)."""
    sql_cpu_utilization: float = 0.8
    """Cloud SQL CPU utilisation (0-1)."""
    sql_disk_utilization: float = 0.85
    """Cloud SQL disk utilisation (0-1)."""
    sql_connections: int = 80
    """PostgreSQL backends (size it to the tier's ``max_connections``: 25 on db-f1-micro, 50 on db-g1-small)."""
    redis_memory_ratio: float = 0.8
    """Memorystore memory usage ratio (0-1)."""
    redis_evictions: int = 100
    """Evicted keys per alignment period (5 minutes)."""
    run_5xx_ratio: float = 0.05
    """Cloud Run (``ServiceWatch(requests=True)``): 5xx responses as a fraction of all its responses."""
    run_p95_latency_ms: float = 1000.0
    """Cloud Run (``ServiceWatch(requests=True)``): p95 request latency, ms."""
    queue_oldest_message_age_seconds: int = 900
    """Pub/Sub: age of the oldest unacknowledged message of a subscription (the backlog is stuck or growing)."""


@dataclass(frozen=True)
class LoadBalancerWatch:
    """Watch the HTTPS load balancer: 5xx ratio and p95 total latency."""

    url_map_name: pulumi.Input[str]
    """The URL map's name (``LoadBalancer.url_map.name``)."""
    label: str = "lb"
    """Prefix of the alert keys (another label watches a second load balancer)."""


@dataclass(frozen=True)
class ServiceWatch:
    """Watch a Cloud Run service: p95 CPU and memory utilisation of its instances (and, with ``requests``, its
    5xx ratio and p95 request latency)."""

    service_name: pulumi.Input[str]
    """The Cloud Run service's name (``Service.name``)."""
    label: str = "run"
    """Prefix of the alert keys (one per service, e.g. ``run-api``)."""
    requests: bool = False
    """Also alert on the service's own 5xx ratio and p95 request latency (``run.googleapis.com/request_count``,
    ``request_latencies``): every service that answers requests, behind the load balancer or not."""


@dataclass(frozen=True)
class QueueWatch:
    """Watch a Pub/Sub queue: backlog age (``subscription/oldest_unacked_message_age``) of its subscription and
    messages forwarded to its dead-letter topic (``subscription/dead_letter_message_count`` > 0)."""

    subscription_name: pulumi.Input[str]
    """The consumer's subscription id (``Queue.subscription.name``)."""
    label: str = "queue"
    """Prefix of the alert keys (one per queue, e.g. ``queue-jobs``)."""


@dataclass(frozen=True)
class JobWatch:
    """Watch a Cloud Run job: any failed execution (``job/completed_execution_count`` with ``result=failed``)."""

    job_name: pulumi.Input[str]
    """The Cloud Run job's name (``Job.name``)."""
    label: str = "job"
    """Prefix of the alert keys (one per job, e.g. ``job-nightly``)."""


@dataclass(frozen=True)
class DatabaseWatch:
    """Watch a Cloud SQL instance: CPU, disk utilisation, connections."""

    database_id: pulumi.Input[str]
    """``<project>:<instance>`` (``Database.database_id``)."""
    label: str = "sql"
    """Prefix of the alert keys."""


@dataclass(frozen=True)
class CacheWatch:
    """Watch a Memorystore instance: memory usage ratio and evictions."""

    instance_id: pulumi.Input[str]
    """``projects/P/locations/R/instances/N`` (``Cache.instance_id``)."""
    label: str = "redis"
    """Prefix of the alert keys."""


Watch: TypeAlias = LoadBalancerWatch | ServiceWatch | DatabaseWatch | CacheWatch | QueueWatch | JobWatch
"""What :class:`MonitoringArgs` ``watch`` takes."""


@dataclass
class MonitoringArgs:
    """Arguments of :class:`Monitoring`. Defaults: no channels, 7-day logs, no budget."""

    alert_emails: Sequence[str] = ()
    """Email notification channels (alerts unless ``alarms_to_pager``, and budget notifications)."""
    pager_emails: Sequence[str] = ()
    """Pager integration emails, as email channels (only with ``alarms_to_pager``)."""
    alarms_to_pager: bool = False
    """Send alert policies to the pager channels instead of the email channels (prod)."""
    log_retention_days: int = 7
    """Retention of the project's ``_Default`` log bucket (application, flow and firewall logs), days."""
    budget_monthly_usd: float | None = None
    """Monthly budget in USD (``budget.monthlyUsd``); needs ``billing_account``."""
    budget_warn_fraction: float = 0.8
    """Also notify when actual spend passes this fraction of the budget."""
    billing_account: str | None = None
    """Billing account id (``gcpBillingAccount``); None: no budget (the caller needs billing permissions)."""
    watch: Sequence[Watch] = ()
    """What to alert on (and chart): ``LoadBalancerWatch``, ``ServiceWatch``, ``DatabaseWatch``, ``CacheWatch``,
    ``QueueWatch``, ``JobWatch``; a second resource of a kind needs another ``label``."""
    dashboard: bool = True
    """A Cloud Monitoring dashboard of everything watched (``monitoring.dashboard``; dashboards are free)."""
    thresholds: AlertThresholds = field(default_factory=AlertThresholds)
    """Alert thresholds."""
    duration_seconds: int = 300
    """How long a condition must hold before the policy fires."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """User labels of channels, policies and the dashboard (the standard set)."""


class Monitoring(pulumi.ComponentResource):
    """Notification channels, alert policies on the load balancer, Cloud Run, Cloud SQL and Memorystore, a
    dashboard of the same metrics (``dashboard``), the ``_Default`` log bucket's retention and a billing budget.
    Everything is created in the constructor."""

    email_channels: list[gcp.monitoring.NotificationChannel]
    pager_channels: list[gcp.monitoring.NotificationChannel]
    alerts: dict[str, gcp.monitoring.AlertPolicy]
    log_bucket: gcp.logging.ProjectBucketConfig
    budget: gcp.billing.Budget | None
    dashboard: gcp.monitoring.Dashboard | None
    dashboard_url: pulumi.Output[str] | None

    def __init__(self, name: str, args: MonitoringArgs | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("backend:gcp:Monitoring", name, None, opts)
        remember_deps(self, opts)
        args = args or MonitoringArgs()
        self.args = args
        self._cname = name
        self._validate(name, args)
        self._labels = gcp_labels(args.labels)
        self._tiles: list[dict[str, Any]] = []
        self.alerts = {}
        self.dashboard = None
        self.dashboard_url = None
        project = gcp.organizations.get_project_output(opts=invoke_opts(self))
        self._project_id = project.project_id

        self.email_channels = [self._channel("email", e) for e in args.alert_emails]
        self.pager_channels = [self._channel("pager", e) for e in args.pager_emails] if args.alarms_to_pager \
            else []
        if args.pager_emails and not args.alarms_to_pager:
            pulumi.log.warn(f"{name}: pager_emails are ignored without alarms_to_pager", resource=self)
        targets = self.pager_channels or self.email_channels
        self._alert_channels = [c.id for c in targets]

        self.log_bucket = gcp.logging.ProjectBucketConfig(
            f"{name}-default-logs", project=self._project_id, location="global", bucket_id="_Default",
            retention_days=args.log_retention_days,
            description=f"Default log bucket: {args.log_retention_days} days", opts=child_opts(self))

        self.budget = None
        if args.budget_monthly_usd and args.billing_account:
            units = f"{args.budget_monthly_usd:.2f}"
            whole, _, cents = units.partition(".")
            self.budget = gcp.billing.Budget(
                f"{name}-budget", billing_account=args.billing_account, display_name=f"{name} monthly",
                budget_filter={"projects": [pulumi.Output.concat("projects/", project.number)],
                               "calendar_period": "MONTH", "credit_types_treatment": "INCLUDE_ALL_CREDITS"},
                amount={"specified_amount": {"currency_code": "USD", "units": whole,
                                             "nanos": int(cents) * 10_000_000}},
                threshold_rules=[
                    {"threshold_percent": args.budget_warn_fraction, "spend_basis": "CURRENT_SPEND"},
                    {"threshold_percent": 1.0, "spend_basis": "CURRENT_SPEND"},
                    {"threshold_percent": 1.0, "spend_basis": "FORECASTED_SPEND"},
                ],
                all_updates_rule={"monitoring_notification_channels": [c.id for c in self.email_channels[:5]],
                                  "disable_default_iam_recipients": False},
                opts=child_opts(self))
        elif args.budget_monthly_usd:
            pulumi.log.info(f"{name}: no billing account, so no budget resource (the review still prices the "
                            f"stack against budget.monthlyUsd)", resource=self)

        for target in args.watch:
            self._watch(target)
        if args.dashboard:
            self._dashboard()
        self.register_outputs({
            "email_channels": [c.id for c in self.email_channels],
            "pager_channels": [c.id for c in self.pager_channels],
            "budget": self.budget.id if self.budget else None,
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
        if not 1 <= args.log_retention_days <= 3650:
            raise ValueError(f"{name}: log_retention_days must be 1 to 3650")

    def _channel(self, kind: str, email: str) -> gcp.monitoring.NotificationChannel:
        slug = re.sub(r"[^a-z0-9]+", "-", email.lower()).strip("-")
        return gcp.monitoring.NotificationChannel(
            f"{self._cname}-{kind}-{slug}", type="email", display_name=f"{self._cname} {kind}: {email}",
            labels={"email_address": email}, user_labels={**self._labels, "channel": kind},
            opts=child_opts(self))

    # -- alert policies -------------------------------------------------------------------------------------
    def _alert(self, key: str, title: str, condition: dict[str, Any], *, severity: str = "WARNING",
               doc: str = "", duration: int | None = None) -> gcp.monitoring.AlertPolicy:
        if key in self.alerts:
            raise ValueError(f"{self._cname}: alert {key!r} already exists (use another label)")
        policy = gcp.monitoring.AlertPolicy(
            f"{self._cname}-{key}", display_name=f"{self._cname}: {title}", combiner="OR", severity=severity,
            conditions=[{"display_name": title, "condition_threshold": {
                "comparison": "COMPARISON_GT",
                "duration": f"{self.args.duration_seconds if duration is None else duration}s",
                "trigger": {"count": 1}, **condition}}],
            notification_channels=self._alert_channels,
            alert_strategy={"auto_close": "1800s"},
            documentation={"content": doc or title, "mime_type": "text/markdown"},
            user_labels={**self._labels, "alert": label_value(key)}, opts=child_opts(self))
        self.alerts[key] = policy
        return policy

    @staticmethod
    def _agg(aligner: str, reducer: str, group_by: Sequence[str], period: int = 60) -> dict[str, Any]:
        return {"alignment_period": f"{period}s", "per_series_aligner": aligner, "cross_series_reducer": reducer,
                "group_by_fields": list(group_by)}

    def _tile(self, title: str, flt: pulumi.Input[str], agg: dict[str, Any], threshold: float) -> None:
        self._tiles.append({"title": title, "filter": flt, "aggregation": {
            "alignmentPeriod": agg["alignment_period"], "perSeriesAligner": agg["per_series_aligner"],
            "crossSeriesReducer": agg["cross_series_reducer"], "groupByFields": agg["group_by_fields"]},
            "threshold": threshold})

    def _metric(self, key: str, title: str, metric: str, resource_type: str, label: str,
                value: pulumi.Input[str], threshold: float, agg: dict[str, Any], *, severity: str = "WARNING",
                extra: str = "", duration: int | None = None) -> gcp.monitoring.AlertPolicy:
        flt = pulumi.Output.concat(f'metric.type="{metric}" AND resource.type="{resource_type}" AND '
                                   f'resource.label.{label}="', value, f'"{extra}')
        self._tile(title, flt, agg, threshold)
        return self._alert(key, title, {"filter": flt, "threshold_value": threshold, "aggregations": [agg]},
                           severity=severity, duration=duration)

    def _watch(self, target: Watch) -> None:
        if isinstance(target, LoadBalancerWatch):
            self._watch_load_balancer(target.url_map_name, label=target.label)
        elif isinstance(target, ServiceWatch):
            self._watch_service(target.service_name, label=target.label)
            if target.requests:
                self._watch_requests(target.service_name, label=target.label)
        elif isinstance(target, QueueWatch):
            self._watch_queue(target.subscription_name, label=target.label)
        elif isinstance(target, JobWatch):
            self._watch_job(target.job_name, label=target.label)
        elif isinstance(target, DatabaseWatch):
            self._watch_database(target.database_id, label=target.label)
        elif isinstance(target, CacheWatch):
            self._watch_cache(target.instance_id, label=target.label)
        else:
            raise TypeError(f"{self._cname}: watch takes LoadBalancerWatch, ServiceWatch, DatabaseWatch, "
                            f"CacheWatch, QueueWatch or JobWatch, got {target!r}")

    def _watch_load_balancer(self, url_map_name: pulumi.Input[str], *, label: str = "lb"
                             ) -> list[gcp.monitoring.AlertPolicy]:
        """5xx ratio (5xx / all responses) and p95 total latency of the HTTPS load balancer's URL map."""
        t = self.args.thresholds
        base = pulumi.Output.concat(
            'metric.type="loadbalancing.googleapis.com/https/request_count" AND resource.type="https_lb_rule" '
            'AND resource.label.url_map_name="', url_map_name, '"')
        errors = pulumi.Output.concat(base, ' AND metric.label.response_code_class="500"')
        agg = self._agg("ALIGN_RATE", "REDUCE_SUM", ["resource.label.url_map_name"])
        self._tile("Load balancer: 5xx per second", errors, agg, 0)
        ratio = self._alert(f"{label}-5xx", "Load balancer 5xx ratio", {
            "filter": errors, "aggregations": [agg], "denominator_filter": base,
            "denominator_aggregations": [agg], "threshold_value": t.lb_5xx_ratio}, severity="CRITICAL")
        latency = self._metric(
            f"{label}-p95", "Load balancer p95 latency (ms)", "loadbalancing.googleapis.com/https/total_latencies",
            "https_lb_rule", "url_map_name", url_map_name, t.p95_latency_ms,
            self._agg("ALIGN_DELTA", "REDUCE_PERCENTILE_95", ["resource.label.url_map_name"]))
        return [ratio, latency]

    def _watch_service(self, service_name: pulumi.Input[str], *, label: str = "run"
                       ) -> list[gcp.monitoring.AlertPolicy]:
        """p95 CPU and memory utilisation of the Cloud Run service's instances."""
        t = self.args.thresholds
        agg = self._agg("ALIGN_DELTA", "REDUCE_PERCENTILE_95", ["resource.label.service_name"])
        who = "" if label == "run" else f"{label}: "
        return [
            self._metric(f"{label}-cpu", f"{who}Cloud Run CPU utilisation (p95)",
                         "run.googleapis.com/container/cpu/utilizations", "cloud_run_revision", "service_name",
                         service_name, t.run_cpu_utilization, agg),
            self._metric(f"{label}-memory", f"{who}Cloud Run memory utilisation (p95)",
                         "run.googleapis.com/container/memory/utilizations", "cloud_run_revision", "service_name",
                         service_name, t.run_memory_utilization, agg),
        ]

    def _watch_requests(self, service_name: pulumi.Input[str], *, label: str) -> list[gcp.monitoring.AlertPolicy]:
        """5xx ratio and p95 request latency of one Cloud Run service."""
        t = self.args.thresholds
        base = pulumi.Output.concat(
            'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" '
            'AND resource.label.service_name="', service_name, '"')
        errors = pulumi.Output.concat(base, ' AND metric.label.response_code_class="5xx"')
        agg = self._agg("ALIGN_RATE", "REDUCE_SUM", ["resource.label.service_name"])
        self._tile(f"{label}: 5xx per second", errors, agg, 0)
        ratio = self._alert(f"{label}-5xx", f"{label}: Cloud Run 5xx ratio", {
            "filter": errors, "aggregations": [agg], "denominator_filter": base,
            "denominator_aggregations": [agg], "threshold_value": t.run_5xx_ratio}, severity="CRITICAL")
        latency = self._metric(
            f"{label}-p95", f"{label}: Cloud Run p95 request latency (ms)", "run.googleapis.com/request_latencies",
            "cloud_run_revision", "service_name", service_name, t.run_p95_latency_ms,
            self._agg("ALIGN_DELTA", "REDUCE_PERCENTILE_95", ["resource.label.service_name"]))
        return [ratio, latency]

    def _watch_queue(self, subscription: pulumi.Input[str], *, label: str) -> list[gcp.monitoring.AlertPolicy]:
        """Backlog age of a Pub/Sub subscription and any message it forwarded to its dead-letter topic."""
        t = self.args.thresholds
        return [
            self._metric(f"{label}-age", f"{label}: oldest unacked message age (s)",
                         "pubsub.googleapis.com/subscription/oldest_unacked_message_age", "pubsub_subscription",
                         "subscription_id", subscription, float(t.queue_oldest_message_age_seconds),
                         self._agg("ALIGN_MAX", "REDUCE_MAX", ["resource.label.subscription_id"])),
            self._metric(f"{label}-dead-letters", f"{label}: messages dead-lettered",
                         "pubsub.googleapis.com/subscription/dead_letter_message_count", "pubsub_subscription",
                         "subscription_id", subscription, 0.0,
                         self._agg("ALIGN_DELTA", "REDUCE_SUM", ["resource.label.subscription_id"], 300),
                         severity="ERROR", duration=0),
        ]

    def _watch_job(self, job_name: pulumi.Input[str], *, label: str) -> list[gcp.monitoring.AlertPolicy]:
        """Any failed execution of a Cloud Run job."""
        return [self._metric(
            f"{label}-failed", f"{label}: failed Cloud Run job executions",
            "run.googleapis.com/job/completed_execution_count", "cloud_run_job", "job_name", job_name, 0.0,
            self._agg("ALIGN_DELTA", "REDUCE_SUM", ["resource.label.job_name"], 300), severity="ERROR",
            extra=' AND metric.label.result="failed"', duration=0)]

    def _watch_database(self, database_id: pulumi.Input[str], *, label: str = "sql"
                        ) -> list[gcp.monitoring.AlertPolicy]:
        """CPU, disk utilisation and connections of a Cloud SQL instance (``database_id`` is
        ``<project>:<instance>``, :attr:`Database.database_id`)."""
        t = self.args.thresholds
        mean = self._agg("ALIGN_MEAN", "REDUCE_MAX", ["resource.label.database_id"], 300)
        return [
            self._metric(f"{label}-cpu", "Cloud SQL CPU utilisation",
                         "cloudsql.googleapis.com/database/cpu/utilization", "cloudsql_database", "database_id",
                         database_id, t.sql_cpu_utilization, mean),
            self._metric(f"{label}-disk", "Cloud SQL disk utilisation",
                         "cloudsql.googleapis.com/database/disk/utilization", "cloudsql_database", "database_id",
                         database_id, t.sql_disk_utilization, mean, severity="CRITICAL"),
            self._metric(f"{label}-connections", "Cloud SQL connections",
                         "cloudsql.googleapis.com/database/postgresql/num_backends", "cloudsql_database",
                         "database_id", database_id, float(t.sql_connections),
                         self._agg("ALIGN_MEAN", "REDUCE_SUM", ["resource.label.database_id"], 300)),
        ]

    def _watch_cache(self, instance_id: pulumi.Input[str], *, label: str = "redis"
                     ) -> list[gcp.monitoring.AlertPolicy]:
        """Memory usage ratio and evictions of a Memorystore instance (``instance_id`` is
        ``projects/P/locations/R/instances/N``, :attr:`Cache.instance_id`)."""
        t = self.args.thresholds
        return [
            self._metric(f"{label}-memory", "Memorystore memory usage", "redis.googleapis.com/stats/memory/usage_ratio",
                         "redis_instance", "instance_id", instance_id, t.redis_memory_ratio,
                         self._agg("ALIGN_MEAN", "REDUCE_MAX", ["resource.label.instance_id"], 300)),
            self._metric(f"{label}-evictions", "Memorystore evicted keys", "redis.googleapis.com/stats/evicted_keys",
                         "redis_instance", "instance_id", instance_id, float(t.redis_evictions),
                         self._agg("ALIGN_DELTA", "REDUCE_SUM", ["resource.label.instance_id"], 300)),
        ]

    # -- dashboard ------------------------------------------------------------------------------------------
    def _dashboard(self) -> None:
        """The dashboard of everything watched (none if nothing is watched)."""
        if not self._tiles:
            return
        tiles = [{
            "xPos": (i % 2) * 24, "yPos": (i // 2) * 16, "width": 24, "height": 16,
            "widget": {"title": t["title"], "xyChart": {
                "dataSets": [{"plotType": "LINE", "timeSeriesQuery": {"timeSeriesFilter": {
                    "filter": t["filter"], "aggregation": t["aggregation"]}}}],
                "thresholds": [{"value": t["threshold"]}] if t["threshold"] else [],
            }},
        } for i, t in enumerate(self._tiles)]
        body = {"displayName": self._cname, "mosaicLayout": {"columns": 48, "tiles": tiles},
                "labels": dict(self._labels)}
        self.dashboard = gcp.monitoring.Dashboard(
            f"{self._cname}-dashboard", dashboard_json=pulumi.Output.json_dumps(body), opts=child_opts(self))
        self.dashboard_url = pulumi.Output.all(self.dashboard.id, self._project_id).apply(
            lambda a: f"https://console.cloud.google.com/monitoring/dashboards/custom/{str(a[0]).rsplit('/', 1)[-1]}"
                      f"?project={a[1]}")
